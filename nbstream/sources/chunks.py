"""Chat-completion chunks (and plain text) → typed events: the provider quirks, in one place.

A source item is a ``str``, an OpenAI ``ChatCompletionChunk`` or ``ChatCompletion``
(or its dict form, raw JSON), or a Responses API event (see :mod:`.responses_api`).
Quirks handled here, so that nothing downstream knows which provider sent a chunk:

- chunks with empty ``choices`` (Azure's first chunk with ``prompt_filter_results``, the
  usage chunk), a missing ``delta`` (Azure's annotation chunks), and ``content`` of
  ``None`` or ``""`` produce no text event; ``content_filter_results`` are ignored;
- reasoning in ``reasoning_content`` (vLLM, DeepSeek, LM Studio), ``reasoning`` (Ollama,
  OpenRouter) or only ``reasoning_details`` becomes :class:`ReasoningDelta`, once, and
  never text; ``delta.content`` as a list of typed parts (Mistral) is split into text
  and thinking;
- ``refusal`` deltas become :class:`RefusalDelta`;
- usage comes from ``usage`` on any chunk (vLLM sends it on every one: the last wins)
  or from Groq's ``x_groq.usage``;
- UTF-16 surrogate halves split across deltas are joined (a lone half becomes U+FFFD);
- an ``error`` chunk in raw JSON raises :class:`~nbstream.errors.StreamError`.
"""

from __future__ import annotations

import sys
from typing import Any

from nbstream.errors import SourceError, StreamError
from nbstream.events import (
    Event,
    Finish,
    ReasoningDelta,
    RefusalDelta,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from nbstream.sources.fields import field
from nbstream.sources.mistral_events import unwrap_mistral_event
from nbstream.sources.providers import ProviderParser, provider_parser_for
from nbstream.sources.responses_api import ENDING_EVENTS, is_responses_event, responses_events
from nbstream.sources.surrogates import SurrogateJoiner

__all__ = ["ChunkParser", "error_message"]

_EVENTS = (TextDelta, ReasoningDelta, RefusalDelta, ToolCallDelta, Usage, Finish)


class ChunkParser:
    """Normalise source items into :data:`~nbstream.events.Event` values (pure, no I/O).

    One parser per stream: it holds the surrogate halves waiting between deltas and
    remembers whether the model said it had finished; it keeps no answer (that is
    :class:`nbstream.answer.AnswerAccumulator`'s job).

    >>> parser = ChunkParser()
    >>> parser.feed({"choices": [{"index": 0, "delta": {"content": "Hi"}}]})
    [TextDelta(text='Hi', type='text')]
    >>> parser.feed({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    [Finish(reason='stop', type='finish')]
    >>> parser.finished
    True
    """

    def __init__(self) -> None:
        self._text = SurrogateJoiner()
        self._reasoning = SurrogateJoiner()
        self._refusal = SurrogateJoiner()
        self._structured = False  # chunks or events seen, not just text
        self._finished = False
        self._provider: ProviderParser | None = None  # another SDK's format, once seen

    @property
    def finished(self) -> bool:
        """Whether the stream said the answer is whole (a finish reason, or completed)."""
        return self._finished

    def feed(self, item: object) -> list[Event]:
        """Events for one item of the source (often none, usually one)."""
        if type(item) is str:  # the hot path for plain text sources
            text = self._text.push(item)
            return [TextDelta(text)] if text else []
        if isinstance(item, str):
            return self.feed(str(item))
        self._structured = True
        if isinstance(item, _EVENTS):
            # A source that made its events itself (tools.rounds.ToolRounds) passes them on.
            if isinstance(item, Finish):
                self._finished = True
            return [item]
        if self._provider is None:
            item = unwrap_mistral_event(item)  # its chunk, in the OpenAI shape
            if field(item, "choices") is not None:
                return self._feed_chunk(item)
            if is_responses_event(item):
                if field(item, "type") in ENDING_EVENTS:
                    self._finished = True
                return self._joined(responses_events(item))
            self._provider = provider_parser_for(item)
        if self._provider is not None:
            events = self._provider.feed(item)
            self._finished = self._provider.finished
            return self._joined(events)
        error = field(item, "error")
        if error is not None:
            # Raw JSON sources see the in-band error the SDK would have raised.
            raise StreamError(error_message(error))
        raise SourceError(
            f"the source yielded {_described(item)}, which is neither text (str) nor an "
            "OpenAI chat completion chunk or Responses API event, nor an event of a stream "
            "nbstream knows (Anthropic, Google Gen AI, Ollama, LangChain, Mistral)"
        )

    def close(self) -> list[Event]:
        """Events still held back when the source ends (a dangling surrogate half)."""
        events: list[Event] = []
        if text := self._text.flush():
            events.append(TextDelta(text))
        if reasoning := self._reasoning.flush():
            events.append(ReasoningDelta(reasoning))
        if refusal := self._refusal.flush():
            events.append(RefusalDelta(refusal))
        return events

    def _joined(self, events: list[Event]) -> list[Event]:
        # Responses API deltas can split surrogate pairs just like chat chunks.
        out: list[Event] = []
        for event in events:
            if isinstance(event, TextDelta):
                text = self._text.push(event.text)
                out.extend([TextDelta(text)] if text else [])
            elif isinstance(event, ReasoningDelta):
                text = self._reasoning.push(event.text)
                out.extend([ReasoningDelta(text)] if text else [])
            elif isinstance(event, RefusalDelta):
                text = self._refusal.push(event.text)
                out.extend([RefusalDelta(text)] if text else [])
            else:
                out.append(event)
        return out

    def _feed_chunk(self, chunk: object) -> list[Event]:
        events: list[Event] = []
        for choice in field(chunk, "choices") or ():
            if field(choice, "index") not in (None, 0):
                continue  # n > 1: only the first choice is shown
            # `delta` for streamed chunks, `message` for a whole (non-streamed) completion.
            delta = field(choice, "delta") or field(choice, "message")
            if delta is not None:
                events.extend(self._delta_events(delta))
            reason = field(choice, "finish_reason")
            if isinstance(reason, str) and reason:
                self._finished = True
                events.append(Finish(reason))
        usage = field(chunk, "usage") or field(field(chunk, "x_groq"), "usage")
        if usage is not None:
            events.append(
                Usage(
                    prompt_tokens=field(usage, "prompt_tokens"),
                    completion_tokens=field(usage, "completion_tokens"),
                    total_tokens=field(usage, "total_tokens"),
                )
            )
        return events

    def _delta_events(self, delta: object) -> list[Event]:
        events: list[Event] = []
        reasoning = _reasoning_of(delta)
        content = field(delta, "content")
        if isinstance(content, list):  # Mistral: typed parts, thinking among them
            thinking, content = _split_parts(content)
            reasoning = (reasoning or "") + thinking
        if reasoning and (text := self._reasoning.push(reasoning)):
            events.append(ReasoningDelta(text))
        if isinstance(content, str) and (text := self._text.push(content)):
            events.append(TextDelta(text))
        refusal = field(delta, "refusal")
        if isinstance(refusal, str) and (text := self._refusal.push(refusal)):
            events.append(RefusalDelta(text))
        events.extend(_tool_call_deltas(field(delta, "tool_calls")))
        return events


def _described(item: object) -> str:
    """``dict`` or ``anthropic.types.Foo (anthropic 2.17.0)``: the type, and the SDK's
    version when it is one, since an unknown event usually means a newer SDK."""
    kind = type(item)
    if kind.__module__ == "builtins":
        return kind.__name__
    package = kind.__module__.partition(".")[0]
    version = getattr(sys.modules.get(package), "__version__", None)
    where = f" ({package} {version})" if isinstance(version, str) else ""
    return f"{kind.__module__}.{kind.__qualname__}{where}"


def _reasoning_of(delta: object) -> str:
    """The reasoning in a delta, from whichever field this provider uses (never twice)."""
    for name in ("reasoning_content", "reasoning"):
        value = field(delta, name)
        if isinstance(value, str):
            return value
    # OpenRouter's structured form; it duplicates `reasoning` when both are sent.
    details = field(delta, "reasoning_details")
    if not isinstance(details, list):
        return ""
    pieces = (field(d, "text") or field(d, "summary") for d in details)
    return "".join(p for p in pieces if isinstance(p, str))


def _split_parts(parts: list[Any]) -> tuple[str, str]:
    """(thinking, text) of Mistral-style content parts; other part types are skipped."""
    thinking, text = [], []
    for part in parts:
        kind = field(part, "type")
        if kind == "text" and isinstance(value := field(part, "text"), str):
            text.append(value)
        elif kind == "thinking":
            inner = field(part, "thinking")
            if isinstance(inner, str):
                thinking.append(inner)
            elif isinstance(inner, list):
                thinking.extend(field(p, "text") or "" for p in inner)
    return "".join(thinking), "".join(text)


def error_message(error: object) -> str:
    """A provider's in-band error (``{"message", "code"}``, or a str) as one line."""
    message = field(error, "message") if not isinstance(error, str) else error
    if not isinstance(message, str) or not message:
        message = "the server reported an error mid-stream"
    code = field(error, "code")
    return f"{message} ({code})" if isinstance(code, (str, int)) and code else message


def _tool_call_deltas(tool_calls: object) -> list[Event]:
    if not isinstance(tool_calls, (list, tuple)):
        return []
    events: list[Event] = []
    for position, call in enumerate(tool_calls):
        index = field(call, "index")
        function = field(call, "function")
        name = field(function, "name") if function is not None else None
        arguments = field(function, "arguments") if function is not None else None
        call_id = field(call, "id")
        events.append(
            ToolCallDelta(
                # A whole (non-streamed) message's calls carry no index: use the position.
                index=index if isinstance(index, int) else position,
                id=call_id if isinstance(call_id, str) and call_id else None,
                name=name if isinstance(name, str) and name else None,
                arguments=arguments if isinstance(arguments, str) else "",
            )
        )
    return events
