"""What one assistant answer has produced so far, and the statistics shown under it.

Pure bookkeeping with an injectable clock: no widget, no threads, no I/O, so the
footer's figures can be tested exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypedDict

from nbstream.chat.tools import ToolCall, ToolCallAssembler
from nbstream.sources import Event, Finish, ReasoningDelta, TextDelta, ToolCallDelta, Usage

__all__ = ["Answer", "AnswerRecorder", "AnswerStats"]

Clock = Callable[[], float]

# Below this much generation time a rate is noise (one chunk, or a cached answer).
_MIN_RATE_SECONDS = 0.05


class AnswerStats(TypedDict):
    """The per-answer footer: timing, speed, usage and why the model stopped.

    Keys:
        model: The model that answered.
        ttft: Seconds from the request to the first piece of output (time to first
            token), or None if none came.
        duration: Seconds from the request to the end of the answer.
        tokens_per_second: Output tokens per second from the first one to the end, or
            None when that was too short to tell (under 0.05 s).
        tokens_estimated: True when the provider sent no usage, so streamed pieces were
            counted as tokens.
        prompt_tokens: The provider's count, or None.
        completion_tokens: The provider's count, or None.
        finish_reason: Why the model stopped (``"stop"``, ``"length"``…), or None.

    Example:
        >>> from nbstream import Chat
        >>> chat = Chat(lambda messages: ["Hello!"])  # a function: no usage, no finish
        >>> chat.ask("Hi")
        'Hello!'
        >>> stats = chat.last_answer.stats
        >>> stats["tokens_estimated"], stats["completion_tokens"], stats["finish_reason"]
        (True, None, None)
    """

    model: str
    ttft: float | None
    duration: float
    tokens_per_second: float | None
    tokens_estimated: bool
    prompt_tokens: int | None
    completion_tokens: int | None
    finish_reason: str | None


@dataclass(frozen=True)
class Answer:
    """One assistant answer as the chat shows it (see :attr:`nbstream.Chat.last_answer`).

    Attributes:
        text: The answer (markdown); while streaming, the text so far.
        status: ``"streaming"``, ``"done"``, ``"stopped"`` or ``"error"``.
        reasoning: The model's reasoning, kept apart from the text ("" if none).
        tool_calls: The tool calls the model made: ``{"id", "name", "arguments"}``.
        error: Why it failed (``"Type: message"``), or None.
        stats: The footer's figures once it ended (None while streaming).

    Example:
        >>> from nbstream import Chat
        >>> chat = Chat(lambda messages: ["Hello!"])
        >>> chat.ask("Hi")
        'Hello!'
        >>> answer = chat.last_answer
        >>> answer.text, answer.status, answer.error
        ('Hello!', 'done', None)
    """

    text: str
    status: Literal["streaming", "done", "stopped", "error"]
    reasoning: str
    tool_calls: list[ToolCall]
    error: str | None
    stats: AnswerStats | None


class AnswerRecorder:
    """Accumulate one answer's events; say which of them the browser must hear about.

    Args:
        model: The model name shown in the footer.
        clock: Seconds, monotonic; started when the request is made.
    """

    def __init__(self, model: str, clock: Clock = time.monotonic) -> None:
        self._model = model
        self._clock = clock
        self._started = clock()
        self._first: float | None = None
        self._ended: float | None = None
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._tools = ToolCallAssembler()
        self._chunks = 0  # pieces of output: the token count when no usage comes
        self._usage: Usage | None = None
        self._finish: str | None = None

    @property
    def text(self) -> str:
        """The answer text so far."""
        if len(self._text) > 1:
            self._text = ["".join(self._text)]
        return self._text[0] if self._text else ""

    @property
    def reasoning(self) -> str:
        """The reasoning so far."""
        if len(self._reasoning) > 1:
            self._reasoning = ["".join(self._reasoning)]
        return self._reasoning[0] if self._reasoning else ""

    @property
    def tool_calls(self) -> list[ToolCall]:
        """The tool calls so far."""
        return self._tools.calls()

    def record(self, event: Event) -> bool:
        """Take one event. Returns True when a tool call newly appeared (a state change)."""
        if isinstance(event, (TextDelta, ReasoningDelta, ToolCallDelta)):
            if self._first is None:
                self._first = self._clock()
            self._chunks += 1
        if isinstance(event, TextDelta):
            self._text.append(event.text)
        elif isinstance(event, ReasoningDelta):
            self._reasoning.append(event.text)
        elif isinstance(event, ToolCallDelta):
            return self._tools.add(event)
        elif isinstance(event, Usage):
            self._usage = event
        elif isinstance(event, Finish):
            self._finish = event.reason
        return False

    def end(self) -> None:
        """Mark the answer finished (idempotent: the first end counts)."""
        if self._ended is None:
            self._ended = self._clock()

    def stats(self) -> AnswerStats:
        """The footer's figures; call after :meth:`end`."""
        ended = self._ended if self._ended is not None else self._clock()
        usage = self._usage
        completion = usage.completion_tokens if usage is not None else None
        tokens = completion if completion is not None else self._chunks
        rate: float | None = None
        if self._first is not None and ended - self._first >= _MIN_RATE_SECONDS and tokens:
            rate = round(tokens / (ended - self._first), 1)
        return AnswerStats(
            model=self._model,
            ttft=None if self._first is None else round(self._first - self._started, 3),
            duration=round(ended - self._started, 3),
            tokens_per_second=rate,
            tokens_estimated=completion is None,
            prompt_tokens=usage.prompt_tokens if usage is not None else None,
            completion_tokens=completion,
            finish_reason=self._finish,
        )
