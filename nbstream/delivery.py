"""The kernel half of the delivery protocol (see ``docs/protocol.md``).

Text leaves the kernel once, as coalesced deltas numbered by the UTF-16 offset they start
at. Measured on ipykernel 7.4: syncing a whole-text trait per token costs O(N²) bytes, and
a message per token costs ~640 B of envelope and is dropped by iopub rate limits. So:

- the first delta of a stream leaves at once (no added time-to-first-token);
- after that, at most one message per coalescing window (default 1/30 s);
- text that is waiting when the source goes quiet is sent by a background flusher when
  its window ends, so a pause upstream never hides text that has arrived;
- the stream ends with one ``end`` message carrying the tail and the final state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["Coalescer", "DeltaChannel", "Message", "utf16_len"]

Message = dict[str, Any]
Clock = Callable[[], float]


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of JavaScript's ``string.length``.

    Offsets are compared in the browser, where astral characters (emoji) count twice.
    """
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class Coalescer:
    """Decide when buffered text may leave: at most once per ``interval`` seconds.

    Pure bookkeeping with an injectable clock, so its timing is testable without sleeping.
    Text added when no send happened within the last ``interval`` is ready at once.
    """

    __slots__ = ("_clock", "_interval", "_next_send", "_pending")

    def __init__(self, interval: float, clock: Clock = time.monotonic) -> None:
        if interval < 0:
            raise ValueError(f"interval must be >= 0 seconds, got {interval!r}")
        self._interval = interval
        self._clock = clock
        self._pending: list[str] = []
        self._next_send = float("-inf")

    @property
    def pending(self) -> bool:
        """Whether text is waiting to be sent."""
        return bool(self._pending)

    def add(self, text: str) -> None:
        """Buffer ``text``."""
        self._pending.append(text)

    def ready(self) -> bool:
        """Whether buffered text may be sent now."""
        return bool(self._pending) and self._clock() >= self._next_send

    def delay(self) -> float | None:
        """Seconds until buffered text may be sent (0 if now), or None if nothing waits."""
        if not self._pending:
            return None
        return max(0.0, self._next_send - self._clock())

    def take(self) -> str:
        """Remove and return all buffered text, and start a new window."""
        text = "".join(self._pending)
        self._pending.clear()
        self._next_send = self._clock() + self._interval
        return text


class DeltaChannel:
    """Deliver one widget's streamed text as ``delta``/``end``/``sync`` messages.

    ``send`` puts one custom message on the wire (the widget's ``send``). All sends happen
    under one lock, in order, from the producer's thread or the background flusher.
    """

    def __init__(
        self,
        send: Callable[[Message], None],
        *,
        interval: float = 1 / 30,
        clock: Clock = time.monotonic,
        background: bool = True,
        lane: str | None = None,
    ) -> None:
        # A widget with several streamed texts (Chat: answer and reasoning) runs one
        # channel per text; `lane` tags each message with the text it belongs to.
        self._tag: Message = {} if lane is None else {"lane": lane}
        self._send = send
        self._interval = interval
        self._clock = clock
        self._background = background
        self._cond = threading.Condition(threading.Lock())
        self._pieces: list[str] = []
        self._coalescer = Coalescer(interval, clock)
        self._sent_units = 0  # UTF-16 units the browser has been sent
        self._stream = 0
        self._active = False
        self._flusher: threading.Thread | None = None

    @property
    def active(self) -> bool:
        """Whether a stream is running on this channel."""
        return self._active

    def text(self) -> str:
        """All text of the current (or last) stream so far, sent or still buffered."""
        with self._cond:
            return self._joined_locked()

    def begin(self, stream: int) -> None:
        """Start stream number ``stream`` with empty text."""
        with self._cond:
            self._stream = stream
            self._pieces = []
            self._coalescer = Coalescer(self._interval, self._clock)
            self._sent_units = 0
            self._active = True
        if self._background:
            self._flusher = threading.Thread(
                target=self._flush_when_due, name=f"nbstream-flush-{stream}", daemon=True
            )
            self._flusher.start()

    def push(self, text: str) -> None:
        """Add streamed text; send it now if the window allows, else when it ends."""
        with self._cond:
            was_idle = not self._coalescer.pending
            self._pieces.append(text)
            self._coalescer.add(text)
            if self._coalescer.ready():
                self._send_delta_locked()
            elif was_idle:
                # Only the idle → waiting transition needs to wake the flusher; notifying
                # per token would cost a syscall each.
                self._cond.notify()

    def flush_due(self) -> bool:
        """Send buffered text if its window has ended. For callers without a flusher."""
        with self._cond:
            if self._active and self._coalescer.ready():
                self._send_delta_locked()
                return True
            return False

    def end(self, error: str | None) -> str:
        """Finish the stream: send the tail and the final state in one ``end`` message.

        Returns the full text. The browser sets ``content``, ``is_streaming`` and ``error``
        together when it receives the message.
        """
        with self._cond:
            tail = self._coalescer.take() if self._coalescer.pending else ""
            offset = self._sent_units
            self._sent_units += utf16_len(tail)
            self._active = False
            self._cond.notify_all()
            text = self._joined_locked()
            self._send(
                {
                    "kind": "end",
                    **self._tag,
                    "stream": self._stream,
                    "offset": offset,
                    "text": tail,
                    "length": self._sent_units,
                    "error": error,
                }
            )
        flusher, self._flusher = self._flusher, None
        if flusher is not None and flusher is not threading.current_thread():
            flusher.join(timeout=1.0)
        return text

    def sync_message(self, stored: Callable[[], tuple[str, bool, str | None]]) -> Message:
        """The reply to a browser's ``resync``: the full state, as of now.

        ``stored`` gives the widget's stored ``(content, is_streaming, error)``; it is read
        under this channel's lock, so the reply never mixes two moments of a stream's end.
        While a stream runs, the text is this channel's (including buffered text, which is
        then no longer pending: the browser gets it here).
        """
        with self._cond:
            content, is_streaming, error = stored()
            if self._active:
                if self._coalescer.pending:
                    self._sent_units += utf16_len(self._coalescer.take())
                content = self._joined_locked()
            return {
                "kind": "sync",
                **self._tag,
                "stream": self._stream,
                "content": content,
                "is_streaming": is_streaming and self._active,
                "error": error,
            }

    def _joined_locked(self) -> str:
        # Join lazily and keep the result, so reads are O(new text), not O(all text).
        if len(self._pieces) > 1:
            self._pieces = ["".join(self._pieces)]
        return self._pieces[0] if self._pieces else ""

    def _send_delta_locked(self) -> None:
        text = self._coalescer.take()
        offset = self._sent_units
        self._sent_units += utf16_len(text)
        self._send(
            {"kind": "delta", **self._tag, "stream": self._stream, "offset": offset, "text": text}
        )

    def _flush_when_due(self) -> None:
        with self._cond:
            while self._active:
                delay = self._coalescer.delay()
                if delay is None:
                    self._cond.wait()
                elif delay > 0:
                    self._cond.wait(delay)
                else:
                    self._send_delta_locked()
