"""One answer from the relay's model, as async events, whichever kind of client it is.

Async backends (``AsyncOpenAI``, the local model's default) stream on the event loop.
Sync ones (``openai.OpenAI``, a plain function) are read in a worker thread that hands
each event to the loop. Either way, when the consumer stops (the browser went away),
the upstream stream is closed at once: nobody keeps paying for tokens no one reads.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import AsyncIterator
from typing import Any

from nbstream.backends import Backend
from nbstream.events import Event
from nbstream.sources import aiter_events, check_async_source, check_sync_source, iter_events
from nbstream.sources.closing import aclose_quietly, close_quietly

__all__ = ["answer_events"]

_END = object()


async def answer_events(backend: Backend, messages: list[dict[str, Any]]) -> AsyncIterator[Event]:
    """The events of one answer to ``messages``; the upstream is closed however it ends."""
    if backend.is_async:
        async for event in _async_events(backend, messages):
            yield event
    else:
        async for event in _threaded_events(backend, messages):
            yield event


async def _async_events(backend: Backend, messages: list[dict[str, Any]]) -> AsyncIterator[Event]:
    opened = backend.open(messages)
    source: object = None
    try:
        source = await opened if inspect.isawaitable(opened) else opened
        async for event in aiter_events(check_async_source(source)):
            yield event
    finally:
        if source is None and inspect.iscoroutine(opened):
            opened.close()  # cancelled before it was awaited: no "never awaited" warning
        await aclose_quietly(source)


async def _threaded_events(
    backend: Backend, messages: list[dict[str, Any]]
) -> AsyncIterator[Event]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()
    stopped = threading.Event()
    opened: list[object] = []  # the source, once the thread has it

    def hand(item: object) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, item)

    def produce() -> None:
        try:
            source = backend.open(messages)
            opened.append(source)
            if not stopped.is_set():
                for event in iter_events(check_sync_source(source)):
                    if stopped.is_set():
                        break
                    hand(event)
            hand(_END)
        except BaseException as exc:
            hand(exc)
        finally:
            close_quietly(opened[0] if opened else None)

    thread = threading.Thread(target=produce, name="nbstream-relay-answer", daemon=True)
    thread.start()
    try:
        while True:
            item = await queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stopped.set()
        if opened:
            # Closing the HTTP response wakes the thread blocked reading it.
            close_quietly(opened[0])
