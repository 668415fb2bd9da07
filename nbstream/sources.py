"""Turn anything that streams text into one sequence of typed events.

A source is an OpenAI ``Stream``/``AsyncStream`` of ``ChatCompletionChunk`` or of
Responses API events, a ``ChatCompletion`` (not streamed), chunks as plain dicts (raw
JSON), or any iterable / async iterable of ``str``. Provider quirks are handled here, in
one place, so everything downstream sees only :data:`~nbstream.events.Event` values:

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
- failures the SDK does not raise become :class:`~nbstream.errors.StreamError`: an
  ``error`` chunk in raw JSON, a Responses API ``error`` / ``response.failed`` event, a
  JSON error body sent with status 200, and an SDK stream that ends before the model
  finished (:class:`~nbstream.errors.IncompleteStreamError`).

:class:`ChunkParser` is pure (no I/O); :func:`iter_events` and :func:`aiter_events` are
the sync and async twins that drive it.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import Any, Literal

import openai

from nbstream.errors import IncompleteStreamError, SourceError, StreamError
from nbstream.events import (
    Event,
    Finish,
    ReasoningDelta,
    RefusalDelta,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from nbstream.responses_api import ENDING_EVENTS, field, is_responses_event, responses_events

__all__ = [
    "ChunkParser",
    "Event",
    "Finish",
    "ReasoningDelta",
    "RefusalDelta",
    "TextDelta",
    "ThinkSplitter",
    "ToolCallDelta",
    "Usage",
    "aiter_events",
    "check_async_source",
    "check_sync_source",
    "iter_events",
]


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


_field = field


class ChunkParser:
    """Pure accumulator: feed it source items, get :data:`Event` values back.

    One parser per stream; it holds the surrogate state between deltas and remembers
    whether the model said it had finished.
    """

    def __init__(self) -> None:
        self._text = _SurrogateJoiner()
        self._reasoning = _SurrogateJoiner()
        self._refusal = _SurrogateJoiner()
        self._structured = False  # chunks or events seen, not just text
        self._finished = False

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
        if _field(item, "choices") is not None:
            return self._feed_chunk(item)
        if is_responses_event(item):
            if _field(item, "type") in ENDING_EVENTS:
                self._finished = True
            return self._joined(responses_events(item))
        error = _field(item, "error")
        if error is not None:
            # Raw JSON sources see the in-band error the SDK would have raised.
            raise StreamError(_error_message(error))
        raise SourceError(
            f"the source yielded {type(item).__name__!s}, which is neither text (str) nor "
            "an OpenAI chat completion chunk or Responses API event"
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
        for choice in _field(chunk, "choices") or ():
            if _field(choice, "index") not in (None, 0):
                continue  # n > 1: only the first choice is shown
            # `delta` for streamed chunks, `message` for a whole (non-streamed) completion.
            delta = _field(choice, "delta") or _field(choice, "message")
            if delta is not None:
                events.extend(self._delta_events(delta))
            reason = _field(choice, "finish_reason")
            if isinstance(reason, str) and reason:
                self._finished = True
                events.append(Finish(reason))
        usage = _field(chunk, "usage") or _field(_field(chunk, "x_groq"), "usage")
        if usage is not None:
            events.append(
                Usage(
                    prompt_tokens=_field(usage, "prompt_tokens"),
                    completion_tokens=_field(usage, "completion_tokens"),
                    total_tokens=_field(usage, "total_tokens"),
                )
            )
        return events

    def _delta_events(self, delta: object) -> list[Event]:
        events: list[Event] = []
        reasoning = _reasoning_of(delta)
        content = _field(delta, "content")
        if isinstance(content, list):  # Mistral: typed parts, thinking among them
            thinking, content = _split_parts(content)
            reasoning = (reasoning or "") + thinking
        if reasoning and (text := self._reasoning.push(reasoning)):
            events.append(ReasoningDelta(text))
        if isinstance(content, str) and (text := self._text.push(content)):
            events.append(TextDelta(text))
        refusal = _field(delta, "refusal")
        if isinstance(refusal, str) and (text := self._refusal.push(refusal)):
            events.append(RefusalDelta(text))
        events.extend(_tool_call_deltas(_field(delta, "tool_calls")))
        return events


def _reasoning_of(delta: object) -> str:
    """The reasoning in a delta, from whichever field this provider uses (never twice)."""
    for name in ("reasoning_content", "reasoning"):
        value = _field(delta, name)
        if isinstance(value, str):
            return value
    # OpenRouter's structured form; it duplicates `reasoning` when both are sent.
    details = _field(delta, "reasoning_details")
    if not isinstance(details, list):
        return ""
    pieces = (_field(d, "text") or _field(d, "summary") for d in details)
    return "".join(p for p in pieces if isinstance(p, str))


def _split_parts(parts: list[Any]) -> tuple[str, str]:
    """(thinking, text) of Mistral-style content parts; other part types are skipped."""
    thinking, text = [], []
    for part in parts:
        kind = _field(part, "type")
        if kind == "text" and isinstance(value := _field(part, "text"), str):
            text.append(value)
        elif kind == "thinking":
            inner = _field(part, "thinking")
            if isinstance(inner, str):
                thinking.append(inner)
            elif isinstance(inner, list):
                thinking.extend(_field(p, "text") or "" for p in inner)
    return "".join(thinking), "".join(text)


def _error_message(error: object) -> str:
    message = _field(error, "message") if not isinstance(error, str) else error
    if not isinstance(message, str) or not message:
        message = "the server reported an error mid-stream"
    code = _field(error, "code")
    return f"{message} ({code})" if isinstance(code, (str, int)) and code else message


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
        # Text that never became a tag is the answer's, whitespace included.
        return [TextDelta(held)]

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
    _refuse_if_consumed(source)
    if isinstance(source, Iterable) and not isinstance(source, Mapping):
        return source
    if isinstance(source, AsyncIterable):
        raise SourceError(
            f"got an async iterable ({type(source).__name__}); use `await view.astream(...)`"
        )
    raise SourceError(
        f"cannot stream {_article(type(source).__name__)}: pass an OpenAI stream "
        "(create(..., stream=True)) or an iterable of str"
    )


def check_async_source(source: object) -> AsyncIterable[object] | Iterable[object]:
    """Like :func:`check_sync_source`, but async iterables are welcome too."""
    if isinstance(source, AsyncIterable):
        _refuse_if_consumed(source)
        return source
    if inspect.iscoroutine(source):
        source.close()
        raise SourceError(
            "got a coroutine: await the create() call first, e.g. "
            "`await view.astream(await client.chat.completions.create(..., stream=True))`"
        )
    return check_sync_source(source)


def _article(noun: str) -> str:
    """``"an int"``, ``"a float"``: for error messages that name a type."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _refuse_if_consumed(source: object) -> None:
    """Raise if ``source`` is a one-shot stream that was already read.

    Reading it again would yield nothing, and an empty answer with no error is the most
    confusing outcome there is.
    """
    if isinstance(source, (openai.Stream, openai.AsyncStream)):
        response = source.response
        if response.is_stream_consumed or response.is_closed:
            raise SourceError(
                "this OpenAI stream has already been read (by an earlier stream() or a "
                "loop); a stream can be read once: call create(..., stream=True) again"
            )
    elif inspect.isgenerator(source):
        if inspect.getgeneratorstate(source) == inspect.GEN_CLOSED:
            raise SourceError(
                "this generator has already finished (it was read before); "
                "call the generator function again for a new one"
            )
    elif inspect.isasyncgen(source) and source.ag_frame is None:
        raise SourceError(
            "this async generator has already finished (it was read before); "
            "call the generator function again for a new one"
        )


def iter_events(source: Iterable[object]) -> Iterator[Event]:
    """Events from a checked sync source (see :func:`check_sync_source`)."""
    response = source.response if isinstance(source, openai.Stream) else None
    if response is not None:
        _raise_if_json_error(response.headers, response.read)
    parser = ChunkParser()
    for item in source:
        yield from parser.feed(item)
    yield from parser.close()
    if response is not None:
        _raise_if_incomplete(parser)


async def aiter_events(source: AsyncIterable[object] | Iterable[object]) -> AsyncIterator[Event]:
    """Events from a checked source, async twin of :func:`iter_events`."""
    response = source.response if isinstance(source, openai.AsyncStream) else None
    if response is not None and _is_json(response.headers):
        body = await response.aread()
        _raise_if_json_error(response.headers, lambda: body)
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
    if response is not None:
        _raise_if_incomplete(parser)


def _is_json(headers: Mapping[str, str]) -> bool:
    content_type = headers.get("content-type", "")
    return "json" in content_type and "event-stream" not in content_type


def _raise_if_json_error(headers: Mapping[str, str], read: Callable[[], bytes]) -> None:
    """Raise the error of a streaming request answered with JSON instead of events.

    Some servers (proxies, misconfigured gateways) answer ``stream=True`` with status 200
    and a JSON error body. The SDK finds no events in it and the stream looks empty.
    """
    if not _is_json(headers):
        return
    body = read()
    if not body:
        return
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    error = _field(data, "error") if isinstance(data, Mapping) else None
    detail = _error_message(error) if error is not None else body[:200].decode(errors="replace")
    raise StreamError(f"the server answered with JSON instead of a stream: {detail}")


def _raise_if_incomplete(parser: ChunkParser) -> None:
    if not parser.finished:
        raise IncompleteStreamError(
            "the stream ended before the model finished (no finish reason): the "
            "connection was closed early or the server sent an error the openai SDK "
            "does not report (llama.cpp sends `error:` lines)"
        )
