"""The ``/api/chat/stream`` relay protocol: its events, written and read, in one place.

A relay answers ``POST /api/chat/stream`` (``{"messages": [...], "model": "..."}``) with
``text/event-stream``; each event is one ``data:`` line of JSON (see ``docs/relay.md``)::

    data: {"reasoning": "..."}        the model's thinking, when it streams any
    data: {"content": "..."}          the answer, delta by delta
    data: {"done": true, "finish_reason": "stop", "usage": {...}}
    data: {"error": "..."}            instead of done: why the answer ended early
    : keep-alive                      a comment while the model is silent

The seed's minimal relays send only ``content``, ``done`` and ``error``; a reader takes
those too. :class:`RelayReader` is the reading side, pure: bytes in any pieces (cut
inside a line, or inside a UTF-8 sequence) → nbstream's events.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator, Mapping
from typing import Any

from nbstream.errors import IncompleteStreamError, StreamError
from nbstream.events import Event, Finish, ReasoningDelta, TextDelta, Usage

__all__ = [
    "HEARTBEAT",
    "RelayReader",
    "content_event",
    "done_event",
    "error_event",
    "reasoning_event",
]

HEARTBEAT = b": keep-alive\n\n"
"""The comment a relay sends while the model is silent, so proxies keep the line open."""

_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")


def _event(data: Mapping[str, Any]) -> bytes:
    return b"data: " + json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n\n"


def content_event(text: str) -> bytes:
    """``data: {"content": text}``.

    >>> content_event("Hi")
    b'data: {"content": "Hi"}\\n\\n'
    """
    return _event({"content": text})


def reasoning_event(text: str) -> bytes:
    """``data: {"reasoning": text}``."""
    return _event({"reasoning": text})


def done_event(finish_reason: str | None, usage: Mapping[str, int | None] | None) -> bytes:
    """The last event of an answer that ended well.

    >>> done_event("stop", None)
    b'data: {"done": true, "finish_reason": "stop", "usage": null}\\n\\n'
    """
    return _event({"done": True, "finish_reason": finish_reason, "usage": usage})


def error_event(message: str) -> bytes:
    """The last event of an answer that ended early, after its partial content."""
    return _event({"error": message})


class RelayReader:
    """A relay's response body, in whatever pieces it arrives → events.

    Lines are buffered across reads and UTF-8 is decoded incrementally, so an event cut
    anywhere (even inside a character) reads the same as one read whole.

    >>> reader = RelayReader()
    >>> list(reader.feed(b'data: {"content": "h\\xc3'))
    []
    >>> list(reader.feed(b'\\xa9"}\\n\\ndata: {"done": true}\\n\\n'))
    [TextDelta(text='hé', type='text'), Finish(reason='stop', type='finish')]
    >>> reader.done
    True
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""  # text after the last line ending
        self._data: list[str] = []  # the current event's data lines
        self._cr = False  # the last piece ended with "\r": a "\n" may follow it
        self.done = False

    def feed(self, data: bytes) -> Iterator[Event]:
        """The events ``data`` completes, in order (a generator: an error event raises
        where it stands, after the events before it).

        Raises:
            StreamError: The relay sent an ``error`` event, or a line that is not JSON.
        """
        return self._text(self._decoder.decode(data))

    def close(self) -> None:
        """The body ended: raise :class:`IncompleteStreamError` unless ``done`` came."""
        for _ in self._text(self._decoder.decode(b"", final=True)):
            pass  # an event needs its blank line: one cut off at the end does not count
        if not self.done:
            raise IncompleteStreamError(
                "the relay's stream ended before its done event: the answer may be cut short"
            )

    def _text(self, text: str) -> Iterator[Event]:
        if self._cr and text.startswith("\n"):
            text = text[1:]  # the second half of a CRLF cut between reads
        self._cr = text.endswith("\r")
        lines = (self._pending + text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self._pending = lines.pop()
        for line in lines:
            yield from self._line(line)

    def _line(self, line: str) -> list[Event]:
        if line == "":  # the end of an event
            data, self._data = "\n".join(self._data), []
            return self._payload(data) if data else []
        field, _, value = line.partition(":")
        if field == "data":
            self._data.append(value[1:] if value.startswith(" ") else value)
        return []  # comments (heartbeats), event:, id:, retry:

    def _payload(self, data: str) -> list[Event]:
        if self.done:
            return []  # nothing counts after done
        try:
            payload = json.loads(data)
        except ValueError:
            raise StreamError(f"the relay sent an event that is not JSON: {data[:80]!r}") from None
        if not isinstance(payload, dict):
            return []
        error = payload.get("error")
        if error:
            text = error if isinstance(error, str) else json.dumps(error)
            raise StreamError(f"the relay reported an error: {text}")
        events: list[Event] = []
        reasoning = payload.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            events.append(ReasoningDelta(reasoning))
        content = payload.get("content")
        if isinstance(content, str) and content:
            events.append(TextDelta(content))
        if payload.get("done") is True:
            self.done = True
            events.extend(_ending(payload))
        return events


def _ending(payload: Mapping[str, Any]) -> list[Event]:
    events: list[Event] = []
    usage = payload.get("usage")
    if isinstance(usage, dict):
        counts = [usage.get(key) for key in _USAGE_KEYS]
        prompt, completion, total = (n if isinstance(n, int) else None for n in counts)
        if prompt is not None or completion is not None:
            events.append(Usage(prompt, completion, total))
    reason = payload.get("finish_reason")
    events.append(Finish(reason if isinstance(reason, str) and reason else "stop"))
    return events
