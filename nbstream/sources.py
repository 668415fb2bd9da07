"""Turn anything that streams text into one sequence of typed events.

A source is an OpenAI ``Stream``/``AsyncStream`` of ``ChatCompletionChunk``, a
``ChatCompletion`` (not streamed), chunks as plain dicts (raw JSON), or any iterable /
async iterable of ``str``. Provider quirks are handled here, in one place, so everything
downstream sees only :data:`Event` values:

- chunks with empty ``choices`` (Azure's first chunk, the usage chunk), a ``delta`` of
  ``None``, and ``content`` of ``None`` or ``""`` produce no text event;
- ``reasoning_content`` / ``reasoning`` deltas become :class:`ReasoningDelta`, never text;
- UTF-16 surrogate halves split across deltas are joined (a lone half becomes U+FFFD).

:class:`ChunkParser` is pure (no I/O); :func:`iter_events` and :func:`aiter_events` are
the sync and async twins that drive it.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from nbstream.errors import SourceError

__all__ = [
    "ChunkParser",
    "Event",
    "Finish",
    "ReasoningDelta",
    "TextDelta",
    "ThinkSplitter",
    "ToolCallDelta",
    "Usage",
    "aiter_events",
    "check_async_source",
    "check_sync_source",
    "iter_events",
]


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of answer text."""

    text: str
    type: Literal["text"] = "text"


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's reasoning, kept apart from the answer."""

    text: str
    type: Literal["reasoning"] = "reasoning"


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts, when the provider sends them."""

    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    type: Literal["usage"] = "usage"


@dataclass(frozen=True, slots=True)
class Finish:
    """Why the model stopped (``stop``, ``length``, ``content_filter``, ``tool_calls``…)."""

    reason: str
    type: Literal["finish"] = "finish"


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of a tool call: the call at ``index`` gets these fields (or more arguments).

    Providers send the id and name once, then the arguments in pieces; see
    :class:`nbstream.chat.tools.ToolCallAssembler` for putting them together.
    """

    index: int
    id: str | None
    name: str | None
    arguments: str
    type: Literal["tool_call"] = "tool_call"


Event: TypeAlias = TextDelta | ReasoningDelta | ToolCallDelta | Usage | Finish

_SURROGATE = re.compile("[\ud800-\udfff]")
_HIGH_SURROGATE_FIRST, _HIGH_SURROGATE_LAST = "\ud800", "\udbff"


class _SurrogateJoiner:
    """Join UTF-16 surrogate halves that arrive in different deltas.

    Providers that escape JSON as UTF-16 (``"\\ud83d"`` then ``"\\ude80"``) can split an
    emoji across two chunks; Python then holds two lone surrogates, which cannot even be
    encoded to send to the browser. A trailing high half is held back until the next
    piece; pairs are combined; a half that never pairs becomes U+FFFD.
    """

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held = ""

    def push(self, text: str) -> str:
        if self._held:
            text, self._held = self._held + text, ""
        if not _SURROGATE.search(text):  # the common case: one regex scan, no copies
            return text
        if _HIGH_SURROGATE_FIRST <= text[-1] <= _HIGH_SURROGATE_LAST:
            text, self._held = text[:-1], text[-1]
        return _combine_surrogates(text)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return _combine_surrogates(held)


def _combine_surrogates(text: str) -> str:
    # Round-tripping through UTF-16 pairs up valid halves; "replace" turns lone ones into
    # U+FFFD instead of failing later when the text is sent as UTF-8.
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _field(obj: object, name: str) -> Any:
    """Read ``name`` from a pydantic model (including provider extras) or a mapping."""
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


class ChunkParser:
    """Pure accumulator: feed it source items, get :data:`Event` values back.

    One parser per stream; it holds the surrogate state between deltas.
    """

    def __init__(self) -> None:
        self._text = _SurrogateJoiner()
        self._reasoning = _SurrogateJoiner()

    def feed(self, item: object) -> list[Event]:
        """Events for one item of the source (often none, usually one)."""
        if type(item) is str:  # the hot path for plain text sources
            text = self._text.push(item)
            return [TextDelta(text)] if text else []
        if isinstance(item, str):
            return self.feed(str(item))
        if _field(item, "choices") is not None:
            return self._feed_chunk(item)
        raise SourceError(
            f"the source yielded {type(item).__name__!s}, which is neither text (str) nor "
            "an OpenAI chat completion chunk"
        )

    def close(self) -> list[Event]:
        """Events still held back when the source ends (a dangling surrogate half)."""
        events: list[Event] = []
        if text := self._text.flush():
            events.append(TextDelta(text))
        if reasoning := self._reasoning.flush():
            events.append(ReasoningDelta(reasoning))
        return events

    def _feed_chunk(self, chunk: object) -> list[Event]:
        events: list[Event] = []
        for choice in _field(chunk, "choices") or ():
            if _field(choice, "index") not in (None, 0):
                continue  # n > 1: only the first choice is shown
            # `delta` for streamed chunks, `message` for a whole (non-streamed) completion.
            delta = _field(choice, "delta") or _field(choice, "message")
            if delta is not None:
                reasoning = _field(delta, "reasoning_content") or _field(delta, "reasoning")
                if isinstance(reasoning, str) and (text := self._reasoning.push(reasoning)):
                    events.append(ReasoningDelta(text))
                content = _field(delta, "content")
                if isinstance(content, str) and (text := self._text.push(content)):
                    events.append(TextDelta(text))
                events.extend(_tool_call_deltas(_field(delta, "tool_calls")))
            reason = _field(choice, "finish_reason")
            if isinstance(reason, str) and reason:
                events.append(Finish(reason))
        usage = _field(chunk, "usage")
        if usage is not None:
            events.append(
                Usage(
                    prompt_tokens=_field(usage, "prompt_tokens"),
                    completion_tokens=_field(usage, "completion_tokens"),
                    total_tokens=_field(usage, "total_tokens"),
                )
            )
        return events


def _tool_call_deltas(tool_calls: object) -> list[Event]:
    if not isinstance(tool_calls, (list, tuple)):
        return []
    events: list[Event] = []
    for position, call in enumerate(tool_calls):
        index = _field(call, "index")
        function = _field(call, "function")
        name = _field(function, "name") if function is not None else None
        arguments = _field(function, "arguments") if function is not None else None
        call_id = _field(call, "id")
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


class ThinkSplitter:
    """Move ``<think>…</think>`` at the start of an answer's text into reasoning events.

    Some servers (llama.cpp, Qwen and DeepSeek-R1 deployments) stream reasoning inside the
    content. Only a block that opens the answer counts: a model that writes about the tag
    later on is quoting it. Tags may be split across deltas, so text that could still
    turn out to be (part of) a tag is held back until it cannot.
    """

    OPEN, CLOSE = "<think>", "</think>"

    def __init__(self) -> None:
        self._state: Literal["start", "thinking", "after", "answer"] = "start"
        self._held = ""

    def feed(self, event: Event) -> list[Event]:
        """Events to emit for ``event`` (text may become reasoning, or wait)."""
        if self._state == "answer" or not isinstance(event, TextDelta):
            return [event]
        if self._state == "after":
            # The blank line that separates reasoning from the answer is not the answer's.
            text = event.text.lstrip()
            if not text:
                return []
            self._state = "answer"
            return [TextDelta(text)]
        self._held += event.text
        return self._split()

    def flush(self) -> list[Event]:
        """What is still held back when the source ends."""
        held, self._held = self._held, ""
        if not held:
            return []
        if self._state == "thinking":
            return [ReasoningDelta(held)]
        return [TextDelta(held)] if held.strip() else []

    def _split(self) -> list[Event]:
        events: list[Event] = []
        if self._state == "start":
            stripped = self._held.lstrip()
            if self.OPEN.startswith(stripped):
                return []  # could still be the opening tag (or only whitespace so far)
            if not stripped.startswith(self.OPEN):
                self._state = "answer"
                held, self._held = self._held, ""
                return [TextDelta(held)]
            self._state = "thinking"
            self._held = stripped[len(self.OPEN) :]
        if self._state == "thinking":
            end = self._held.find(self.CLOSE)
            if end < 0:
                # Emit all but a tail that could be the start of the closing tag.
                keep = _partial_suffix(self._held, self.CLOSE)
                ready = self._held[: len(self._held) - keep]
                self._held = self._held[len(self._held) - keep :]
                if ready:
                    events.append(ReasoningDelta(ready))
                return events
            if reasoning := self._held[:end]:
                events.append(ReasoningDelta(reasoning))
            self._state = "after"
            rest, self._held = self._held[end + len(self.CLOSE) :], ""
            if rest:
                events.extend(self.feed(TextDelta(rest)))
        return events


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


def _is_whole_completion(source: object) -> bool:
    # A ChatCompletion (or its dict form) has `choices`; streams and iterables do not.
    # Checked before iterability because pydantic models and dicts are iterable too.
    return _field(source, "choices") is not None


def check_sync_source(source: object) -> Iterable[object]:
    """Return ``source`` as an iterable for :func:`iter_events`, or raise :class:`SourceError`."""
    if isinstance(source, (str, bytes)):
        raise SourceError(
            f"got a {type(source).__name__}, which would stream one character at a time; "
            "pass an iterable of text chunks (e.g. a generator, or [text]) instead"
        )
    if inspect.iscoroutine(source):
        source.close()  # avoid "coroutine was never awaited" on top of our error
        raise SourceError(
            "got a coroutine: an async client's create() must be awaited, and async "
            "streams go through `await view.astream(...)`"
        )
    if _is_whole_completion(source):
        return [source]
    if isinstance(source, Iterable) and not isinstance(source, Mapping):
        return source
    if isinstance(source, AsyncIterable):
        raise SourceError(
            f"got an async iterable ({type(source).__name__}); use `await view.astream(...)`"
        )
    raise SourceError(
        f"cannot stream a {type(source).__name__}: pass an OpenAI stream "
        "(create(..., stream=True)) or an iterable of str"
    )


def check_async_source(source: object) -> AsyncIterable[object] | Iterable[object]:
    """Like :func:`check_sync_source`, but async iterables are welcome too."""
    if isinstance(source, AsyncIterable):
        return source
    if inspect.iscoroutine(source):
        source.close()
        raise SourceError(
            "got a coroutine: await the create() call first, e.g. "
            "`await view.astream(await client.chat.completions.create(..., stream=True))`"
        )
    return check_sync_source(source)


def iter_events(source: Iterable[object]) -> Iterator[Event]:
    """Events from a checked sync source (see :func:`check_sync_source`)."""
    parser = ChunkParser()
    for item in source:
        yield from parser.feed(item)
    yield from parser.close()


async def aiter_events(source: AsyncIterable[object] | Iterable[object]) -> AsyncIterator[Event]:
    """Events from a checked source, async twin of :func:`iter_events`."""
    parser = ChunkParser()
    if isinstance(source, AsyncIterable):
        async for item in source:
            for event in parser.feed(item):
                yield event
    else:
        for item in source:
            for event in parser.feed(item):
                yield event
    for event in parser.close():
        yield event
