"""Run one answer in the background: a worker thread for sync sources, an asyncio task
for async ones, both feeding the same :class:`AnswerRun`.

Background, because the kernel handles messages from the browser (the Stop button) only
between cells unless the stream leaves the cell free; and so that the user can run
other cells while an answer streams.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
from collections.abc import AsyncIterable, Callable, Coroutine, Iterable
from typing import Any, Literal, Protocol

from nbstream.answer import AnswerAccumulator
from nbstream.backends import Backend
from nbstream.errors import describe_error
from nbstream.events import Event, ReasoningDelta, RefusalDelta, TextDelta
from nbstream.sources import (
    aiter_events,
    check_async_source,
    check_sync_source,
    iter_events,
)
from nbstream.sources.closing import aclose_quietly, close_quietly
from nbstream.sources.idle import aopen_within, open_within
from nbstream.tool_calls import ToolCall

__all__ = ["AnswerRun", "AnswerSink", "Outcome", "event_loop_thread", "start"]

Outcome = Literal["done", "stopped", "error"]


class AnswerSink(Protocol):
    """Where a running answer reports to (the Chat widget)."""

    def text(self, text: str) -> None:
        """More answer text."""

    def reasoning(self, text: str) -> None:
        """More reasoning text."""

    def tools(self, calls: list[ToolCall]) -> None:
        """A tool call appeared."""

    def finish(self, run: AnswerRun, outcome: Outcome, error: str | None) -> None:
        """The answer ended; called exactly once, under the run's lock."""


class AnswerRun:
    """One answer: its events, its end (exactly once), and how to cancel its producer.

    Whoever ends it first wins: the producer (done or error) or :meth:`stop`. After the
    end, further events are dropped and the producer is told to quit.
    """

    def __init__(
        self, answer: AnswerAccumulator, sink: AnswerSink, idle_timeout: float | None = None
    ) -> None:
        self.answer = answer
        self.idle_timeout = idle_timeout
        self._sink = sink
        self._lock = threading.Lock()
        self._outcome: Outcome | None = None
        self._cancel: Callable[[], None] | None = None
        self.future: concurrent.futures.Future[str] = concurrent.futures.Future()

    @property
    def ended(self) -> bool:
        """Whether the answer has ended (the producer should stop)."""
        return self._outcome is not None

    @property
    def outcome(self) -> Outcome | None:
        """How the answer ended, or None while it runs."""
        return self._outcome

    def apply(self, event: Event) -> bool:
        """Take one event from the producer; False means: stop producing."""
        with self._lock:
            if self._outcome is not None:
                return False
            appeared = self.answer.add(event)
            # A refusal is what the model said instead of an answer: it streams, and is
            # kept in the history, as the answer's reply (AnswerAccumulator.reply).
            if isinstance(event, (TextDelta, RefusalDelta)):
                self._sink.text(event.text)
            elif isinstance(event, ReasoningDelta):
                self._sink.reasoning(event.text)
            elif appeared:
                self._sink.tools(self.answer.tool_calls)
            return True

    def finish(
        self, outcome: Outcome, exc: BaseException | None = None, secrets: tuple[str, ...] = ()
    ) -> bool:
        """End the answer, unless it already ended. Returns whether this call ended it."""
        with self._lock:
            if self._outcome is not None:
                return False
            self._outcome = outcome
            self.answer.end()
            error = describe_error(exc, secrets) if exc is not None else None
            self._sink.finish(self, outcome, error)
        # A waiter that gave up (a cancelled `await chat.asend(...)`) cancels the future.
        if not self.future.cancelled():
            if exc is not None:
                self.future.set_exception(exc)
            else:
                self.future.set_result(self.answer.reply)
        return True

    def stop(self) -> bool:
        """End the answer as stopped and cancel its producer. False if it had ended."""
        if not self.finish("stopped"):
            return False
        self._cancel_producer()
        return True

    def _cancel_producer(self) -> None:
        with self._lock:
            cancel = self._cancel
        if cancel is not None:
            cancel()

    def set_cancel(self, cancel: Callable[[], None]) -> None:
        """How to interrupt the producer (an asyncio task); runs at once if already ended."""
        with self._lock:
            self._cancel = cancel
            ended = self._outcome is not None
        if ended:
            cancel()


def start(
    run: AnswerRun,
    backend: Backend,
    messages: list[dict[str, Any]],
    loop: asyncio.AbstractEventLoop,
    tools: list[dict[str, Any]] | None = None,
) -> None:
    """Start producing ``run`` in the background and return at once.

    Sync backends run in a worker thread; async ones as a task on ``loop`` (the kernel's
    event loop, where an ``AsyncOpenAI`` client's connections live).
    """
    if backend.is_async:
        _start_task(run, _produce_async(run, backend, backend.open(messages, tools)), loop)
    else:
        threading.Thread(
            target=_produce_sync,
            args=(run, backend, messages, loop, tools),
            name="nbstream-chat-answer",
            daemon=True,
        ).start()


def _produce_sync(
    run: AnswerRun,
    backend: Backend,
    messages: list[dict[str, Any]],
    loop: asyncio.AbstractEventLoop,
    tools: list[dict[str, Any]] | None,
) -> None:
    source: object = None
    try:
        source = open_within(lambda: backend.open(messages, tools), run.idle_timeout, close_quietly)
        if _is_async_result(source):
            # A plain function that returned a coroutine or an async iterable (e.g. a
            # lambda around an AsyncOpenAI call): the event loop takes over.
            _start_task(run, _produce_async(run, backend, source), loop)
            source = None
            return
        if run.ended:
            return
        events = iter_events(check_sync_source(source), idle_timeout=run.idle_timeout)
        for event in events:
            if not run.apply(event):
                break  # stopped: leaving the loop lets `finally` close the upstream
    except BaseException as exc:
        run.finish("error", exc, backend.secrets)
    else:
        run.finish("done")
    finally:
        close_quietly(source)


async def _produce_async(run: AnswerRun, backend: Backend, opened: object) -> None:
    source: object = None
    try:
        if run.ended:  # stopped before the loop got round to starting us
            _discard(opened)
            return
        source = (
            await aopen_within(opened, run.idle_timeout) if inspect.isawaitable(opened) else opened
        )
        events = aiter_events(check_async_source(source), idle_timeout=run.idle_timeout)
        async for event in events:
            if not run.apply(event):
                break
    except asyncio.CancelledError:
        if not run.finish("stopped"):
            return  # our own stop: the answer has already ended
        raise
    except BaseException as exc:
        run.finish("error", exc, backend.secrets)
    else:
        run.finish("done")
    finally:
        await aclose_quietly(source)


def _start_task(
    run: AnswerRun, coroutine: Coroutine[Any, Any, None], loop: asyncio.AbstractEventLoop
) -> None:
    def create() -> None:
        task = loop.create_task(coroutine)

        def cancel() -> None:
            loop.call_soon_threadsafe(task.cancel)  # stop() may come from any thread

        run.set_cancel(cancel)

    if _running_loop() is loop:
        create()
    else:
        loop.call_soon_threadsafe(create)


def _is_async_result(value: object) -> bool:
    if inspect.isawaitable(value):
        return True
    return isinstance(value, AsyncIterable) and not isinstance(value, Iterable)


def _discard(opened: object) -> None:
    if inspect.iscoroutine(opened):
        opened.close()  # never awaited on purpose: no warning


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


_private_loop: asyncio.AbstractEventLoop | None = None
_private_lock = threading.Lock()


def event_loop_thread() -> asyncio.AbstractEventLoop:
    """A loop running in a daemon thread, for async backends outside a kernel (scripts)."""
    global _private_loop  # noqa: PLW0603 - one shared background loop per process
    with _private_lock:
        if _private_loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(
                target=loop.run_forever, name="nbstream-chat-loop", daemon=True
            ).start()
            _private_loop = loop
        return _private_loop
