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


Event: TypeAlias = TextDelta | ReasoningDelta | Usage | Finish

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
