"""The sync and async drivers: a checked source in, the pipeline's events out.

The pipeline, the same for every consumer (StreamView, Chat, ``%%chat``)::

    source items → ChunkParser (normalise) → idle timeout (optional) → <think> split

plus what only the HTTP response tells: a JSON error body sent with status 200, and an
SDK stream that ends before the model said it had finished.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping

from nbstream.errors import IncompleteStreamError, StreamError
from nbstream.events import Event
from nbstream.sources.chunks import ChunkParser, error_message
from nbstream.sources.closing import close_quietly
from nbstream.sources.fields import field
from nbstream.sources.idle import aiter_with_idle_timeout, iter_with_idle_timeout
from nbstream.sources.sdk_objects import stream_response
from nbstream.sources.think import asplit_think, split_think

__all__ = ["aiter_events", "iter_events"]


def iter_events(source: Iterable[object], *, idle_timeout: float | None = None) -> Iterator[Event]:
    """Events from a checked sync source (see :func:`~nbstream.sources.check_sync_source`).

    With ``idle_timeout``, the source is read in a helper thread and the events end with
    :class:`~nbstream.errors.IdleTimeoutError` after that many seconds of quiet.

    >>> list(iter_events(["<think>Hmm.</think>", "Hi"]))
    [ReasoningDelta(text='Hmm.', type='reasoning'), TextDelta(text='Hi', type='text')]
    """
    events = _normalised(source)
    if idle_timeout is not None:
        # Closing the response from the thread blocked reading it is what really closes
        # the connection; see iter_with_idle_timeout.
        events = iter_with_idle_timeout(
            events, idle_timeout, on_abandoned=lambda: close_quietly(source)
        )
    return split_think(events)


def aiter_events(
    source: AsyncIterable[object] | Iterable[object], *, idle_timeout: float | None = None
) -> AsyncIterator[Event]:
    """Events from a checked source, async twin of :func:`iter_events` (no thread: the
    idle wait is cancelled)."""
    events = _anormalised(source)
    if idle_timeout is not None:
        events = aiter_with_idle_timeout(events, idle_timeout)
    return asplit_think(events)


def _normalised(source: Iterable[object]) -> Iterator[Event]:
    response = stream_response(source)
    if response is not None:
        _raise_if_json_error(response.headers, response.read)
    parser = ChunkParser()
    for item in source:
        yield from parser.feed(item)
    yield from parser.close()
    if response is not None:
        _raise_if_incomplete(parser)


async def _anormalised(source: AsyncIterable[object] | Iterable[object]) -> AsyncIterator[Event]:
    response = stream_response(source)
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
    error = field(data, "error") if isinstance(data, Mapping) else None
    detail = error_message(error) if error is not None else body[:200].decode(errors="replace")
    raise StreamError(f"the server answered with JSON instead of a stream: {detail}")


def _raise_if_incomplete(parser: ChunkParser) -> None:
    if not parser.finished:
        raise IncompleteStreamError(
            "the stream ended before the model finished (no finish reason): the "
            "connection was closed early or the server sent an error the SDK does not "
            "report (llama.cpp sends `error:` lines)"
        )
