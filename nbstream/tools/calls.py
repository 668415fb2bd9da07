"""One round of tool calls: checked, approved, run, and stoppable at any point.

A round is the calls of one assistant message. Each call becomes a :class:`CallState`
that the chat shows as a card and sends back to the model as a ``tool`` message:

``pending`` → (``waiting`` for approval) → ``running`` → ``done`` | ``error``, or
``denied`` (not approved) or ``cancelled`` (stopped, or not run at all).

A call the model got wrong (an unknown tool, arguments that are not JSON or do not fit
the parameters) ends as ``error`` with a message the model can act on, without running.
Sync tools run one after another in the thread that runs the round (a worker thread,
never the kernel's main one); async tools run together, on the event loop their
clients live on. :meth:`ToolRound.stop` acts at once from any thread: approvals stop
waiting, async tools are cancelled, and a sync tool that is still running (it cannot be
killed) is marked cancelled, its result dropped when it comes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from nbstream.tool_calls import ToolCall
from nbstream.tools.results import error_text, result_text
from nbstream.tools.spec import Tool, ToolArgumentsError

__all__ = ["Approve", "CallState", "CallStatus", "ToolRound"]

CallStatus = Literal["pending", "waiting", "running", "done", "error", "denied", "cancelled"]

Approve = Callable[[str, dict[str, Any]], bool]
"""Decides in Python whether a call may run: ``approve(name, arguments) -> bool``."""

DENIED = "denied by the user"
STOPPED_BEFORE = "cancelled: the answer was stopped before this tool ran"
STOPPED_DURING = "cancelled: the answer was stopped while this tool was running"
DROPPED_NOTE = "still running when the answer was stopped; its result will be dropped"


@dataclass
class CallState:
    """One call as the card shows it and the model gets it back.

    Attributes:
        call: The call as the model made it (id, name, raw arguments).
        status: Where it is (see the module docstring).
        content: The result as the model reads it ("" until it ends).
        duration: Seconds it ran, once it ended, or None.
        note: Why it ended as it did, for the card (a dropped result...), or None.

    Example:
        >>> state = CallState(ToolCall(id="c1", name="add", arguments="{}"))
        >>> state.status, state.ended
        ('pending', False)
    """

    call: ToolCall
    status: CallStatus = "pending"
    content: str = ""
    duration: float | None = None
    note: str | None = None

    @property
    def ended(self) -> bool:
        """Whether it has a final status (its ``content`` is what the model gets)."""
        return self.status in ("done", "error", "denied", "cancelled")


class ToolRound:
    """Check, approve and run the calls of one assistant message.

    Args:
        calls: The calls, in the model's order.
        tools: The tools by name.
        approve: None to run every call; a function deciding each call in Python; or
            True to wait for :meth:`answer` (the widget's Allow / Deny).
        report: Called (from the round's thread, or the stopping one) after every
            change of a call's status, to show it.
        loop: The event loop async tools run on.
        result_limit: Characters of a result the model gets.

    Example:
        >>> def add(a: int, b: int) -> int:
        ...     return a + b
        >>> calls = [ToolCall(id="c1", name="add", arguments='{"a": 1, "b": 2}'),
        ...          ToolCall(id="c2", name="nope", arguments="{}")]
        >>> round = ToolRound(calls, {"add": Tool.from_function(add)}, loop=None)
        >>> round.run()
        >>> [(s.status, s.content) for s in round.states]  # doctest: +ELLIPSIS
        [('done', '3'), ('error', "there is no tool named 'nope'; ...")]
    """

    def __init__(
        self,
        calls: list[ToolCall],
        tools: Mapping[str, Tool],
        *,
        approve: Approve | bool | None = None,
        report: Callable[[], None] = lambda: None,
        loop: asyncio.AbstractEventLoop | None,
        result_limit: int = 20_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.states = [CallState(call) for call in calls]
        self._tools = tools
        self._approve = approve
        self._report = report
        self._loop = loop
        self._limit = result_limit
        self._clock = clock
        self._lock = threading.Condition()
        self._stopped = False
        self._answers: dict[str, bool] = {}
        self._async: concurrent.futures.Future[Any] | None = None

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stopped

    # -- from other threads -------------------------------------------------------------

    def answer(self, call_id: str, allow: bool) -> bool:
        """The user allowed or denied a waiting call; False if none was waiting for it."""
        with self._lock:
            waiting = any(s.call["id"] == call_id and s.status == "waiting" for s in self.states)
            if waiting and not self._stopped:
                self._answers[call_id] = allow
                self._lock.notify_all()
            return waiting

    def stop(self) -> None:
        """End the round now: nothing more runs, and every call has its final status."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            for state in self.states:
                if state.status == "running":
                    self._end(state, "cancelled", STOPPED_DURING)
                    if not self._tools[state.call["name"]].is_async:
                        state.note = DROPPED_NOTE
                elif not state.ended:
                    self._end(state, "cancelled", STOPPED_BEFORE)
            self._lock.notify_all()
            pending = self._async
        if pending is not None:
            pending.cancel()  # cancels the asyncio task, which cancels the tools' awaits
        self._report()

    # -- the round itself ---------------------------------------------------------------

    def run(self) -> None:
        """Check, approve and run every call; returns when all ended or the round stopped."""
        ready = [
            (state, arguments)
            for state in self.states
            if (arguments := self._check(state)) is not None
        ]
        ready = self._approved(ready)
        asynchronous = [(s, a) for s, a in ready if self._tools[s.call["name"]].is_async]
        if asynchronous:
            self._start_async(asynchronous)
        for state, arguments in ready:
            if self._tools[state.call["name"]].is_async:
                continue
            if not self._set_running(state):
                break
            started = self._clock()
            try:
                value = self._tools[state.call["name"]].call(arguments)
            except Exception as exc:
                self._finish(state, "error", error_text(exc), started)
            else:
                self._finish(state, "done", result_text(value, self._limit), started)
        pending = self._async
        if pending is not None:
            # Each call's own outcome is in its state already; this only waits.
            with contextlib.suppress(concurrent.futures.CancelledError, Exception):
                pending.result()

    def _check(self, state: CallState) -> dict[str, Any] | None:
        name = state.call["name"]
        tool = self._tools.get(name)
        if tool is None:
            known = ", ".join(sorted(self._tools)) or "none"
            self._finish(state, "error", f"there is no tool named {name!r}; the tools are: {known}")
            return None
        try:
            return tool.arguments(state.call["arguments"])
        except ToolArgumentsError as exc:
            self._finish(state, "error", str(exc))
            return None

    def _approved(
        self, ready: list[tuple[CallState, dict[str, Any]]]
    ) -> list[tuple[CallState, dict[str, Any]]]:
        approve = self._approve
        if approve is None or approve is False:
            return ready
        verdicts = self._ask(approve, ready) if callable(approve) else self._wait_for_clicks(ready)
        allowed = []
        for (state, arguments), verdict in zip(ready, verdicts, strict=True):
            if verdict is True:
                with self._lock:
                    if state.status == "waiting":
                        state.status = "pending"
                allowed.append((state, arguments))
            elif isinstance(verdict, str):
                self._finish(state, "denied", verdict)
        return allowed

    def _ask(
        self, approve: Approve, ready: list[tuple[CallState, dict[str, Any]]]
    ) -> list[bool | str]:
        verdicts: list[bool | str] = []
        for state, arguments in ready:
            try:
                verdicts.append(bool(approve(state.call["name"], dict(arguments))) or DENIED)
            except Exception as exc:
                verdicts.append(f"{DENIED} (the approval check failed: {error_text(exc)})")
        return verdicts

    def _wait_for_clicks(self, ready: list[tuple[CallState, dict[str, Any]]]) -> list[bool | str]:
        # Every call of the round asks at once, and each is answered on its own (Allow /
        # Deny), in any order. Stopped meanwhile: nothing runs (stop() set the states).
        with self._lock:
            for state, _ in ready:
                if not self._stopped:
                    state.status = "waiting"
        self._report()
        with self._lock:
            while not self._stopped and any(s.call["id"] not in self._answers for s, _ in ready):
                self._lock.wait()
            if self._stopped:
                return [False] * len(ready)
            return [self._answers[s.call["id"]] or DENIED for s, _ in ready]

    def _start_async(self, calls: list[tuple[CallState, dict[str, Any]]]) -> None:
        loop = self._loop
        if loop is None:
            for state, _ in calls:
                self._finish(state, "error", "async tools need an event loop, and none is running")
            return

        async def one(state: CallState, arguments: dict[str, Any]) -> None:
            if not self._set_running(state):
                return
            started = self._clock()
            try:
                value = await self._tools[state.call["name"]].call(arguments)
            except asyncio.CancelledError:
                raise  # stop() has set its state already
            except Exception as exc:
                self._finish(state, "error", error_text(exc), started)
            else:
                self._finish(state, "done", result_text(value, self._limit), started)

        async def together() -> None:
            await asyncio.gather(*(one(state, arguments) for state, arguments in calls))

        with self._lock:
            if self._stopped:
                return
            self._async = asyncio.run_coroutine_threadsafe(together(), loop)

    def _set_running(self, state: CallState) -> bool:
        with self._lock:
            if self._stopped:
                return False
            state.status = "running"
        self._report()
        return True

    def _finish(
        self, state: CallState, status: CallStatus, content: str, started: float | None = None
    ) -> None:
        with self._lock:
            if state.ended:
                return  # stopped meanwhile: the stop's outcome stands, the result is dropped
            self._end(state, status, content)
            if started is not None:
                state.duration = round(self._clock() - started, 3)
        self._report()

    def _end(self, state: CallState, status: CallStatus, content: str) -> None:
        state.status = status
        state.content = content
