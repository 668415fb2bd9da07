"""What the local server has done: a thread-safe record that tests can wait on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

__all__ = ["ServerStats", "StatsSnapshot"]


@dataclass(frozen=True)
class StatsSnapshot:
    """The counts at one moment. All fields count since the server was created (or reset).

    Example::

        before = server.stats.snapshot()
        text = view.stream(client.chat.completions.create(..., stream=True))
        after = server.stats.snapshot()
        assert after.tokens_sent - before.tokens_sent == len(nbstream.local.tokenize(text))
    """

    requests: int = 0
    """HTTP requests received, whatever their outcome."""
    streams_started: int = 0
    """Streamed completions whose response headers were sent."""
    streams_completed: int = 0
    """Streams that ran to their end: ``data: [DONE]`` (chat completions), or
    ``response.completed`` / ``response.incomplete`` (the Responses API)."""
    streams_disconnected: int = 0
    """Streams (or replays) abandoned because the client went away (a write failed)."""
    faults_injected: int = 0
    """Requests that got the fault they asked for."""
    replays: int = 0
    """Requests answered with a replayed transcript (see :mod:`nbstream.local.replay`)."""
    tokens_sent: int = 0
    """Completion tokens written to clients, streamed or not."""
    active_streams: int = 0
    """Streams being generated (or replays being sent) right now."""


class ServerStats:
    """Live counters of a :class:`~nbstream.local.LocalServer`, safe to read from any thread.

    Read a field (``stats.streams_disconnected``) or take a consistent :meth:`snapshot`;
    wait for a condition with :meth:`wait_for` rather than sleeping.

    Example:
        >>> import openai
        >>> from nbstream.local import MODEL, LocalServer
        >>> with LocalServer(tokens_per_second=0) as server:
        ...     client = openai.OpenAI(base_url=server.base_url, api_key="nbstream-local")
        ...     stream = client.chat.completions.create(
        ...         model=MODEL, messages=[{"role": "user", "content": "Hi"}], stream=True
        ...     )
        ...     stream.close()  # the client goes away before the end
        ...     server.stats.wait_for_disconnects(1, timeout=5)
        True
    """

    def __init__(self) -> None:
        """Start from zero."""
        self._changed = threading.Condition()
        self._now = StatsSnapshot()

    def __repr__(self) -> str:
        return f"ServerStats({self.snapshot()})"

    def snapshot(self) -> StatsSnapshot:
        """All counts at once, consistent with each other.

        Example::

            now = server.stats.snapshot()
            print(now.streams_started, now.streams_completed, now.active_streams)
        """
        with self._changed:
            return self._now

    @property
    def requests(self) -> int:
        """HTTP requests received.

        Example::

            assert server.stats.requests == 1  # the client did not retry
        """
        return self.snapshot().requests

    @property
    def streams_started(self) -> int:
        """Streamed completions started.

        Example::

            stream = client.chat.completions.create(model=MODEL, messages=messages, stream=True)
            assert server.stats.streams_started == 1  # counted once the headers are sent
        """
        return self.snapshot().streams_started

    @property
    def streams_completed(self) -> int:
        """Streams that ran to their end (``data: [DONE]``, or ``response.completed``).

        Example::

            assert server.stats.wait_for(lambda s: s.streams_completed == 1, timeout=5)
            assert server.stats.streams_completed == 1
        """
        return self.snapshot().streams_completed

    @property
    def streams_disconnected(self) -> int:
        """Streams the client abandoned mid-way.

        Example::

            assert server.stats.streams_disconnected == 0  # nothing was cut short
        """
        return self.snapshot().streams_disconnected

    @property
    def faults_injected(self) -> int:
        """Requests that got the fault they asked for.

        Example::

            client = openai.OpenAI(base_url=server.base_url, api_key="-", max_retries=0)
            with contextlib.suppress(openai.InternalServerError):
                client.chat.completions.create(..., extra_body={"nbstream": {"fault": "http_500"}})
            assert server.stats.faults_injected == 1
        """
        return self.snapshot().faults_injected

    @property
    def replays(self) -> int:
        """Requests answered with a replayed transcript.

        Example::

            assert server.stats.replays == 1  # one request asked for a "replay"
        """
        return self.snapshot().replays

    @property
    def tokens_sent(self) -> int:
        """Completion tokens written to clients.

        Example::

            assert server.stats.tokens_sent == len(nbstream.local.tokenize(text))
        """
        return self.snapshot().tokens_sent

    @property
    def active_streams(self) -> int:
        """Streams being generated (or replays being sent) right now.

        Example::

            assert server.stats.active_streams == 0  # or wait: wait_until_idle(timeout=5)
        """
        return self.snapshot().active_streams

    def wait_for(self, predicate: Callable[[StatsSnapshot], bool], timeout: float) -> bool:
        """Block until ``predicate(snapshot)`` holds; return False if ``timeout`` passes first.

        Example::

            assert server.stats.wait_for(lambda s: s.streams_completed >= 2, timeout=5)
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self._now):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def wait_for_disconnects(self, n: int, timeout: float) -> bool:
        """Block until at least ``n`` streams were abandoned by their client.

        Example::

            stream.close()  # mid-stream
            assert server.stats.wait_for_disconnects(1, timeout=5)
        """
        return self.wait_for(lambda s: s.streams_disconnected >= n, timeout)

    def wait_until_idle(self, timeout: float) -> bool:
        """Block until no stream is being generated.

        Example::

            assert server.stats.wait_until_idle(timeout=5)
        """
        return self.wait_for(lambda s: s.active_streams == 0, timeout)

    def reset(self) -> None:
        """Set every count back to zero (streams still running stay counted as active).

        Example:
            >>> from nbstream.local import ServerStats
            >>> stats = ServerStats()
            >>> stats.add(requests=2)
            >>> stats.reset()
            >>> stats.requests
            0
        """
        with self._changed:
            self._now = StatsSnapshot(active_streams=self._now.active_streams)
            self._changed.notify_all()

    def add(self, **deltas: int) -> None:
        """Add to counts by name (``stats.add(tokens_sent=1)``); used by the server.

        Example:
            >>> from nbstream.local import ServerStats
            >>> stats = ServerStats()
            >>> stats.add(requests=1, tokens_sent=3)
            >>> stats.requests, stats.tokens_sent
            (1, 3)
        """
        with self._changed:
            now = self._now
            self._now = replace(now, **{k: getattr(now, k) + v for k, v in deltas.items()})
            self._changed.notify_all()
