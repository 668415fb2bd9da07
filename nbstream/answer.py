"""One answer, folded from its events: the only place that decides what an answer is.

:class:`AnswerAccumulator` is pure bookkeeping with an injectable clock (no widget, no
threads, no I/O), shared by every consumer: :class:`~nbstream.StreamView`,
:class:`~nbstream.Chat` and ``%%chat``. It keeps the text, the reasoning, a refusal,
the tool calls, usage, the finish reason and the timings, so the footer's figures can
be tested exactly, and it holds the refusal rule (:attr:`AnswerAccumulator.reply`).

>>> from nbstream.events import Finish, TextDelta
>>> answer = AnswerAccumulator()
>>> answer.add(TextDelta("Hello")), answer.add(Finish("stop"))
(False, False)
>>> answer.text, answer.finish_reason
('Hello', 'stop')
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypedDict

from nbstream.events import Event, Finish, ReasoningDelta, RefusalDelta, TextDelta, ToolCallDelta
from nbstream.events import Usage as UsageEvent
from nbstream.tool_calls import ToolCall, ToolCallAssembler

__all__ = ["AnswerAccumulator", "AnswerStats", "Clock", "UsageCounts"]

Clock = Callable[[], float]
"""Seconds, monotonic (``time.monotonic`` by default; tests pass their own).

>>> AnswerAccumulator(clock=lambda: 0.0).duration
0.0
"""

# Below this much generation time a rate is noise (one chunk, or a cached answer).
_MIN_RATE_SECONDS = 0.05


class UsageCounts(TypedDict):
    """Token counts as the provider sent them (any may be None).

    Keys:
        prompt_tokens: Tokens of the request.
        completion_tokens: Tokens of the answer (reasoning included, for most providers).
        total_tokens: Both.

    >>> UsageCounts(prompt_tokens=12, completion_tokens=345, total_tokens=357)["total_tokens"]
    357
    """

    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None


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
        rounds: How many answers the model streamed for this question: 1, plus one
            after each round of tool calls.
        tool_calls: How many tool calls it made in all.

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
    rounds: int
    tool_calls: int


class _Text:
    """Pieces of text, joined only when read (appending stays O(1) per token)."""

    __slots__ = ("_pieces",)

    def __init__(self) -> None:
        self._pieces: list[str] = []

    def add(self, text: str) -> None:
        self._pieces.append(text)

    def __str__(self) -> str:
        if len(self._pieces) > 1:
            self._pieces = ["".join(self._pieces)]
        return self._pieces[0] if self._pieces else ""


class AnswerAccumulator:
    """Fold one answer's events into its text, reasoning, refusal, tool calls, usage,
    finish reason and timings.

    Create it when the request is made: the time to first token counts from then.

    Args:
        clock: Seconds, monotonic; read at creation, at the first piece of output and
            at :meth:`end`.

    Example:
        >>> from nbstream.events import ReasoningDelta, TextDelta, Usage
        >>> ticks = iter([0.0, 0.5, 2.5])  # created, first token, end
        >>> answer = AnswerAccumulator(clock=lambda: next(ticks))
        >>> for event in [ReasoningDelta("Easy."), TextDelta("4"), Usage(10, 40, 50)]:
        ...     _ = answer.add(event)
        >>> answer.end()
        >>> answer.reasoning, answer.text, answer.ttft, answer.tokens_per_second
        ('Easy.', '4', 0.5, 20.0)
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._started = clock()
        self._first: float | None = None
        self._ended: float | None = None
        self._text = _Text()
        self._reasoning = _Text()
        self._refusal = _Text()
        # Text and refusal in the order they came, once a refusal has come (see `reply`).
        self._reply: _Text | None = None
        self._tools = ToolCallAssembler()
        self._pieces = 0  # pieces of output: the token count when no usage comes
        self._usage: UsageEvent | None = None
        self._finish: str | None = None

    # -- taking events ------------------------------------------------------------------

    def add(self, event: Event) -> bool:
        """Take one event. Returns True when a tool call newly appeared (worth showing).

        Example:
            >>> from nbstream.events import ToolCallDelta
            >>> answer = AnswerAccumulator()
            >>> answer.add(ToolCallDelta(index=0, id="c1", name="add", arguments="{}"))
            True
        """
        if isinstance(event, TextDelta):
            self._output()
            self._text.add(event.text)
            if self._reply is not None:
                self._reply.add(event.text)
        elif isinstance(event, ReasoningDelta):
            self._output()
            self._reasoning.add(event.text)
        elif isinstance(event, RefusalDelta):
            self._output()
            if self._reply is None:
                self._reply = _Text()
                self._reply.add(str(self._text))
            self._refusal.add(event.text)
            self._reply.add(event.text)
        elif isinstance(event, ToolCallDelta):
            self._output()
            return self._tools.add(event)
        elif isinstance(event, UsageEvent):
            self._usage = event  # providers that send it on every chunk: the last wins
        elif isinstance(event, Finish):
            self._finish = event.reason
        return False

    def end(self) -> None:
        """Mark the answer finished (idempotent: the first end counts).

        Example:
            >>> ticks = iter([0.0, 1.0, 9.0])
            >>> answer = AnswerAccumulator(clock=lambda: next(ticks))
            >>> answer.end(); answer.end()
            >>> answer.duration
            1.0
        """
        if self._ended is None:
            self._ended = self._clock()

    def _output(self) -> None:
        if self._first is None:
            self._first = self._clock()
        self._pieces += 1

    # -- what the answer is -------------------------------------------------------------

    @property
    def text(self) -> str:
        """The answer text so far (markdown), refusals not included.

        >>> answer = AnswerAccumulator()
        >>> _ = answer.add(TextDelta("# Hi"))
        >>> answer.text
        '# Hi'
        """
        return str(self._text)

    @property
    def reasoning(self) -> str:
        """The reasoning so far, kept apart from the text ("" if none).

        >>> answer = AnswerAccumulator()
        >>> _ = answer.add(ReasoningDelta("Let me think."))
        >>> answer.reasoning, answer.text
        ('Let me think.', '')
        """
        return str(self._reasoning)

    @property
    def refusal(self) -> str:
        """What the model said instead of answering (OpenAI's ``refusal``), or "".

        >>> answer = AnswerAccumulator()
        >>> _ = answer.add(RefusalDelta("No."))
        >>> answer.refusal
        'No.'
        """
        return str(self._refusal)

    @property
    def reply(self) -> str:
        """What the model said, as a conversation keeps it: the text, and a refusal in
        the place it came (a refusal is the model's reply when it will not answer).

        Example:
            >>> from nbstream.events import RefusalDelta
            >>> answer = AnswerAccumulator()
            >>> _ = answer.add(RefusalDelta("I can't help with that."))
            >>> answer.text, answer.reply
            ('', "I can't help with that.")
        """
        return str(self._reply) if self._reply is not None else self.text

    @property
    def tool_calls(self) -> list[ToolCall]:
        """The tool calls so far, in the order the model numbered them (copies).

        >>> answer = AnswerAccumulator()
        >>> _ = answer.add(ToolCallDelta(index=0, id="c1", name="now", arguments="{}"))
        >>> answer.tool_calls
        [{'id': 'c1', 'name': 'now', 'arguments': '{}'}]
        """
        return self._tools.calls()

    @property
    def usage(self) -> UsageCounts | None:
        """The provider's token counts (the last it sent), or None.

        >>> answer = AnswerAccumulator()
        >>> _ = answer.add(UsageEvent(prompt_tokens=3, completion_tokens=5, total_tokens=8))
        >>> answer.usage
        {'prompt_tokens': 3, 'completion_tokens': 5, 'total_tokens': 8}
        """
        usage = self._usage
        if usage is None:
            return None
        return UsageCounts(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=usage.total_tokens,
        )

    @property
    def finish_reason(self) -> str | None:
        """Why the model stopped (``"stop"``, ``"length"``, ``"tool_calls"``…), or None.

        >>> answer = AnswerAccumulator()
        >>> _ = answer.add(Finish("length"))
        >>> answer.finish_reason
        'length'
        """
        return self._finish

    # -- timings ------------------------------------------------------------------------

    @property
    def ttft(self) -> float | None:
        """Seconds from creation to the first piece of output, or None if none came.

        >>> ticks = iter([0.0, 0.3])
        >>> answer = AnswerAccumulator(clock=lambda: next(ticks))
        >>> _ = answer.add(TextDelta("Hi"))
        >>> answer.ttft
        0.3
        """
        return None if self._first is None else round(self._first - self._started, 3)

    @property
    def duration(self) -> float:
        """Seconds from creation to :meth:`end` (or to now, before it).

        >>> ticks = iter([0.0, 2.0])
        >>> answer = AnswerAccumulator(clock=lambda: next(ticks))
        >>> answer.end()
        >>> answer.duration
        2.0
        """
        return round(self._end_time() - self._started, 3)

    @property
    def tokens_estimated(self) -> bool:
        """Whether the token count is the number of pieces streamed (no usage came).

        >>> answer = AnswerAccumulator()
        >>> _ = answer.add(TextDelta("Hi"))
        >>> answer.tokens_estimated
        True
        """
        return self._completion_tokens() is None

    @property
    def tokens_per_second(self) -> float | None:
        """Output tokens per second from the first piece to the end, or None when that
        was too short to tell (under 0.05 s).

        >>> ticks = iter([0.0, 1.0, 3.0])  # created, first piece, end
        >>> answer = AnswerAccumulator(clock=lambda: next(ticks))
        >>> for piece in ["a", "b", "c", "d"]:
        ...     _ = answer.add(TextDelta(piece))
        >>> answer.end()
        >>> answer.tokens_per_second  # 4 pieces (no usage came) in 2 s
        2.0
        """
        completion = self._completion_tokens()
        tokens = completion if completion is not None else self._pieces
        elapsed = None if self._first is None else self._end_time() - self._first
        if elapsed is None or elapsed < _MIN_RATE_SECONDS or not tokens:
            return None
        return round(tokens / elapsed, 1)

    def stats(self, model: str, *, rounds: int = 1, tool_calls: int = 0) -> AnswerStats:
        """The footer's figures for an answer from ``model``; call after :meth:`end`.

        ``rounds`` and ``tool_calls`` count the whole exchange this answer ends (a chat
        running tools streams several answers to one question).

        Example:
            >>> answer = AnswerAccumulator()
            >>> answer.end()
            >>> answer.stats("nbstream-local")["model"]
            'nbstream-local'
        """
        usage = self._usage
        return AnswerStats(
            model=model,
            ttft=self.ttft,
            duration=self.duration,
            tokens_per_second=self.tokens_per_second,
            tokens_estimated=self.tokens_estimated,
            prompt_tokens=usage.prompt_tokens if usage is not None else None,
            completion_tokens=self._completion_tokens(),
            finish_reason=self._finish,
            rounds=rounds,
            tool_calls=tool_calls,
        )

    def _completion_tokens(self) -> int | None:
        return self._usage.completion_tokens if self._usage is not None else None

    def _end_time(self) -> float:
        return self._ended if self._ended is not None else self._clock()
