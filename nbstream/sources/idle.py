"""End a stream that has gone quiet: the one idle timeout, for every consumer.

A stalled source (a server that keeps the connection open but sends nothing) would
otherwise keep the cell busy until the HTTP client's own timeout, ten minutes with the
``openai`` defaults. The timeout counts from the request (:func:`open_within`), then
from the last item (:func:`iter_with_idle_timeout`), not from the start, so a long
answer that keeps flowing is never cut.

The sync twin reads the source in a helper thread, because a thread blocked inside
``next()`` (in a socket read, or a ``time.sleep`` in a generator) cannot be woken from
outside; the consumer waits on a queue it can time out. When the timeout strikes, the
helper is abandoned: it stops at its next item without reading further.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TypeVar, cast

from nbstream.errors import IdleTimeoutError

__all__ = [
    "aiter_with_idle_timeout",
    "aopen_within",
    "check_idle_timeout",
    "iter_with_idle_timeout",
    "open_within",
]

_T = TypeVar("_T")
_END = object()


def check_idle_timeout(idle_timeout: float | None) -> None:
    """Raise ``ValueError`` unless ``idle_timeout`` is None or a positive number of seconds."""
    if idle_timeout is None:
        return
    if isinstance(idle_timeout, bool) or not isinstance(idle_timeout, (int, float)):
        raise TypeError(f"idle_timeout must be seconds (a number) or None, got {idle_timeout!r}")
    if not idle_timeout > 0:
        raise ValueError(f"idle_timeout must be > 0 seconds, got {idle_timeout!r}")


def _message(idle_timeout: float) -> str:
    return (
        f"nothing arrived from the model for {idle_timeout:g} s (idle_timeout); "
        "the stream was stopped"
    )


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def iter_with_idle_timeout(
    items: Iterator[_T], idle_timeout: float, on_abandoned: Callable[[], object] | None = None
) -> Iterator[_T]:
    """Yield from ``items``; raise :class:`IdleTimeoutError` after ``idle_timeout`` s of quiet.

    Exceptions from ``items`` reach the consumer unchanged. ``on_abandoned`` runs in the
    reader thread when it wakes up to find the consumer gone: closing an HTTP response
    from the thread blocked reading it is what really closes the connection (a close
    from another thread leaves the blocked read, and the socket, as they were).
    """
    handoff: queue.SimpleQueue[object] = queue.SimpleQueue()
    abandoned = threading.Event()

    def read() -> None:
        try:
            for item in items:
                if abandoned.is_set():
                    if on_abandoned is not None:
                        on_abandoned()
                    return
                handoff.put(item)
        except BaseException as exc:  # handed to the consumer, who raises it
            handoff.put(_Failure(exc))
        else:
            handoff.put(_END)

    reader = threading.Thread(target=read, name="nbstream-idle-reader", daemon=True)
    reader.start()
    try:
        while True:
            try:
                item = handoff.get(timeout=idle_timeout)
            except queue.Empty:
                raise IdleTimeoutError(_message(idle_timeout)) from None
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield cast(_T, item)  # everything else came from `items`
    finally:
        abandoned.set()


async def aiter_with_idle_timeout(
    items: AsyncIterator[_T], idle_timeout: float
) -> AsyncIterator[_T]:
    """Async twin of :func:`iter_with_idle_timeout` (no thread: the wait is cancelled)."""
    while True:
        try:
            item = await asyncio.wait_for(anext(items), idle_timeout)
        except StopAsyncIteration:
            return
        except asyncio.TimeoutError:
            raise IdleTimeoutError(_message(idle_timeout)) from None
        yield item


def open_within(
    opener: Callable[[], _T], idle_timeout: float | None, discard: Callable[[_T], object]
) -> _T:
    """``opener()``, or :class:`IdleTimeoutError` if it has not returned within the timeout.

    Opening a stream blocks until the server answers with its headers, which a stalled
    server may never do. The opener then runs in a helper thread that cannot be woken;
    when it does return, late, nobody wants its stream and ``discard`` closes it there.
    Its exceptions reach the caller unchanged.
    """
    if idle_timeout is None:
        return opener()
    handoff: queue.SimpleQueue[object] = queue.SimpleQueue()
    abandoned = threading.Event()
    lock = threading.Lock()  # so a result is either handed over or discarded, never both

    def run() -> None:
        try:
            result: object = opener()
        except BaseException as exc:  # handed to the caller, who raises it
            result = _Failure(exc)
        with lock:
            late = abandoned.is_set()
            if not late:
                handoff.put(result)
        if late and not isinstance(result, _Failure):
            discard(cast(_T, result))

    threading.Thread(target=run, name="nbstream-idle-opener", daemon=True).start()
    try:
        item = handoff.get(timeout=idle_timeout)
    except queue.Empty:
        with lock:
            abandoned.set()
        try:  # it may have come in between the timeout and the lock
            item = handoff.get_nowait()
        except queue.Empty:
            raise IdleTimeoutError(_message(idle_timeout)) from None
    if isinstance(item, _Failure):
        raise item.error
    return cast(_T, item)


async def aopen_within(opened: Awaitable[_T], idle_timeout: float | None) -> _T:
    """Async twin of :func:`open_within`: the wait is cancelled, and the request with it."""
    if idle_timeout is None:
        return await opened
    try:
        return await asyncio.wait_for(opened, idle_timeout)
    except asyncio.TimeoutError:
        raise IdleTimeoutError(_message(idle_timeout)) from None
