"""Sending a reply over time: the one paced loop that streams both APIs, and its kin.

:meth:`Pacer.stream` sends any wire format's events (:class:`Events`): the opening ones
at once, the rest after the first-token delay, one token's events at each tick of the
plan's schedule, then the end, or the fault the plan asks for. It counts what it sends in
:class:`~nbstream.local.stats.ServerStats`, and a client that goes away (a write fails)
or the server stopping ends it quietly, whichever part was being sent.
:meth:`Pacer.whole` waits as long as the stream would have taken before a non-streamed
reply, and :meth:`Pacer.replay` sends a recorded transcript piece by piece.

The schedule is fixed from one start time (first token at ``first_token_delay``, then one
every ``1 / tokens_per_second``) rather than made by sleeping per token, so pacing does
not drift with the cost of writes. Every wait wakes at once when the server stops.

Nothing here knows HTTP: the pacer writes to a :class:`Connection`, which the handler
(:mod:`nbstream.local.http_server`) frames as HTTP.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from nbstream.local.faults import MALFORMED_BODY, MALFORMED_EVENT
from nbstream.local.model import Token
from nbstream.local.plan import Plan
from nbstream.local.replay import Replay
from nbstream.local.stats import ServerStats

__all__ = ["ClientGone", "Connection", "Events", "Pacer", "Stopping"]

_log = logging.getLogger(__name__)


class ClientGone(Exception):
    """A write failed: the client closed the connection."""


class Stopping(Exception):
    """The server is shutting down; abandon the response."""


class Connection(Protocol):
    """One response on one connection, as the pacer writes it; the HTTP layer frames it.

    A chunked body is :meth:`start_body`, :meth:`send_piece`\\ s and :meth:`end_body`;
    each of them raises :class:`ClientGone` when the client has gone.
    """

    def start_body(self) -> None:
        """Send the response's head (its status and headers are already set)."""

    def send_piece(self, piece: bytes) -> None:
        """Send one piece of the body, whole and at once."""

    def end_body(self) -> None:
        """End the body normally."""

    def cut(self) -> None:
        """Cut the connection without ending the response."""

    def send_whole(self, body: bytes) -> None:
        """Send a whole ``200`` JSON response (a non-streamed reply); never raises."""


class Events(Protocol):
    """The encoded events of one streamed reply, in one wire format, moment by moment."""

    def opening(self) -> Iterable[bytes]:
        """Sent as soon as the head is, before the first-token delay."""

    def start(self) -> Iterable[bytes]:
        """Sent when the first-token delay is over, before the first token."""

    def token(self, token: Token) -> Iterable[bytes]:
        """Sent for one token of the plan."""

    def error(self) -> bytes:
        """The ``"error"`` fault's event, which ends the stream."""

    def finish(self) -> Iterable[bytes]:
        """Sent when the stream ran its course."""


class Pacer:
    """Sends replies on ``connection`` on the plan's schedule, counting in ``stats``.

    Args:
        connection: Where the response goes.
        stopping: Set when the server stops: every wait then ends at once.
        stats: The server's counters.
    """

    def __init__(
        self, connection: Connection, *, stopping: threading.Event, stats: ServerStats
    ) -> None:
        self._connection = connection
        self._stopping = stopping
        self._stats = stats

    def stream(self, plan: Plan, events: Events) -> None:
        """Stream one reply: headers, the events paced by ``plan``, then its end or fault."""
        out, stats = self._connection, self._stats
        stats.add(streams_started=1)
        with self._body("stream"):
            for piece in events.opening():
                out.send_piece(piece)
            first = time.monotonic() + plan.first_token_delay
            self._wait_until(first)
            for piece in events.start():
                out.send_piece(piece)
            for index in self._paced_tokens(plan, first):
                for piece in events.token(plan.tokens[index]):
                    out.send_piece(piece)
                stats.add(tokens_sent=1)
            if plan.fault == "drop":
                out.cut()
                return
            if plan.fault in ("error", "malformed_json"):
                out.send_piece(events.error() if plan.fault == "error" else MALFORMED_EVENT)
                out.end_body()
                return
            for piece in events.finish():
                out.send_piece(piece)
            out.end_body()
            stats.add(streams_completed=1)

    def whole(self, plan: Plan, build: Callable[[], bytes]) -> None:
        """Answer without streaming: wait as long as the stream would take, then send
        ``build()`` (or the fault the plan asks for)."""
        out = self._connection
        try:
            # A real model takes as long to answer without streaming as with it.
            duration = plan.first_token_delay
            if plan.tokens_per_second > 0:
                duration += len(plan.tokens) / plan.tokens_per_second
            self._wait_until(time.monotonic() + duration)
        except Stopping:
            out.cut()
            return
        if plan.fault == "drop":
            out.cut()
            return
        if plan.fault == "malformed_json":
            out.send_whole(MALFORMED_BODY)
            return
        out.send_whole(build())
        self._stats.add(tokens_sent=len(plan.tokens))

    def replay(self, replay: Replay) -> None:
        """Send a transcript's exact bytes, one piece at a time, then end the body."""
        out = self._connection
        self._stats.add(replays=1)
        with self._body("replay"):
            for index, piece in enumerate(replay.pieces()):
                if index and replay.split_delay > 0:
                    self._wait_until(time.monotonic() + replay.split_delay)
                elif self._stopping.is_set():
                    raise Stopping
                out.send_piece(piece)
            out.end_body()

    @contextlib.contextmanager
    def _body(self, what: str) -> Iterator[None]:
        """Start the body, then run its writes; a client that leaves, or the server
        stopping, ends it quietly (counted), whichever part was being written."""
        stats = self._stats
        stats.add(active_streams=1)
        try:
            self._connection.start_body()
            yield
        except ClientGone:
            stats.add(streams_disconnected=1)
            _log.debug("client disconnected mid-%s", what)
        except Stopping:
            self._connection.cut()
        finally:
            stats.add(active_streams=-1)

    def _wait_until(self, deadline: float) -> None:
        """Sleep until ``deadline`` (monotonic), waking early if the server stops."""
        if self._stopping.wait(max(0.0, deadline - time.monotonic())):
            raise Stopping

    def _paced_tokens(self, plan: Plan, first: float) -> Iterator[int]:
        """Indexes of the tokens to send before any fault, each at its scheduled time."""
        rate = plan.tokens_per_second
        for index in range(plan.fault_after):
            if rate > 0:
                self._wait_until(first + index / rate)
            elif self._stopping.is_set():
                raise Stopping
            yield index
