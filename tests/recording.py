"""A real ``comm`` implementation that records what a widget puts on the wire.

The ``comm`` package is designed to have ``create_comm`` replaced by the host (marimo and
other non-Jupyter frontends do this); we install one that keeps the messages so unit
tests can assert on the exact protocol traffic without a kernel.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm


class RecordingComm(BaseComm):
    """Keeps every published message as ``(msg_type, data)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []
        # Called after each message is recorded: lets a test act at an exact moment.
        self.on_publish: Callable[[str, dict[str, Any]], None] | None = None
        self._lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def publish_msg(
        self,
        msg_type: str,
        data: Any = None,
        metadata: Any = None,
        buffers: Any = None,
        **keys: Any,
    ) -> None:
        with self._lock:
            self.published.append((msg_type, dict(data or {})))
        if self.on_publish is not None:
            self.on_publish(msg_type, dict(data or {}))

    def custom_messages(self) -> list[dict[str, Any]]:
        """Custom (protocol) messages, in order."""
        with self._lock:
            return [
                d["content"]
                for t, d in self.published
                if t == "comm_msg" and d.get("method") == "custom"
            ]

    def state_updates(self) -> list[dict[str, Any]]:
        """ipywidgets state updates, in order."""
        with self._lock:
            return [
                d["state"]
                for t, d in self.published
                if t == "comm_msg" and d.get("method") == "update"
            ]

    def from_browser(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        """Deliver a custom message as if the browser had sent it (with binary buffers)."""
        self.handle_msg(
            {
                "content": {"data": {"method": "custom", "content": content}},
                "buffers": [memoryview(b) for b in buffers or []],
            }
        )


class Recorder:
    """The comms created while the fixture is active."""

    def __init__(self) -> None:
        self.comms: list[RecordingComm] = []

    def comm_of(self, widget: Any) -> RecordingComm:
        found: RecordingComm = widget.comm
        assert found in self.comms
        return found


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    rec = Recorder()

    def create(*args: Any, **kwargs: Any) -> RecordingComm:
        made = RecordingComm(*args, **kwargs)
        rec.comms.append(made)
        return made

    monkeypatch.setattr(comm, "create_comm", create)
    return rec


def rebuild_text(messages: list[dict[str, Any]]) -> str:
    """Apply delta/end messages the way the browser must (offsets in UTF-16 units)."""
    units = b""  # UTF-16-LE bytes: 2 per unit, so offsets map to byte positions
    for msg in messages:
        if msg["kind"] not in ("delta", "end"):
            continue
        data = msg["text"].encode("utf-16-le", "surrogatepass")
        assert msg["offset"] * 2 == len(units), f"gap or overlap at {msg['offset']}"
        units += data
        if msg["kind"] == "end":
            assert msg["length"] * 2 == len(units)
    return units.decode("utf-16-le", "surrogatepass")


class BrowserModel:
    """The browser's side of the protocol (js/src/live-text.ts), to replay recorded traffic.

    Tracks what a view would show; ``gaps`` counts the resyncs it would have asked for.
    """

    def __init__(self) -> None:
        self.units = b""  # the text as UTF-16-LE, so offsets index it directly
        self.stream = 0
        self.is_streaming = False
        self.error: str | None = None
        self.awaiting_sync = False
        self.gaps = 0
        self.shown: list[str] = []  # the text after every message

    @property
    def text(self) -> str:
        return self.units.decode("utf-16-le", "surrogatepass")

    def replay(self, published: list[tuple[str, dict[str, Any]]]) -> BrowserModel:
        for msg_type, data in published:
            if msg_type != "comm_msg":
                continue
            if data.get("method") == "update":
                self._update(data["state"])
            elif data.get("method") == "custom":
                self._custom(data["content"])
            self.shown.append(self.text)
        return self

    def _update(self, state: dict[str, Any]) -> None:
        for key in ("is_streaming", "error"):
            if key in state:
                setattr(self, key, state[key])
        if "_stream" in state:
            self.stream = state["_stream"]
        if "content" in state or "_stream" in state:
            self.units = state.get("content", self.text).encode("utf-16-le", "surrogatepass")
            self.awaiting_sync = False

    def _custom(self, msg: dict[str, Any]) -> None:
        if msg["stream"] != self.stream:
            return
        if msg["kind"] == "sync":
            self.units = msg["content"].encode("utf-16-le", "surrogatepass")
            self.is_streaming, self.error = msg["is_streaming"], msg["error"]
            self.awaiting_sync = False
            return
        if self.awaiting_sync:
            return
        held = len(self.units) // 2
        data = msg["text"].encode("utf-16-le", "surrogatepass")
        if msg["offset"] > held:
            self.gaps += 1
            self.awaiting_sync = True
            return
        self.units += data[(held - msg["offset"]) * 2 :]
        if msg["kind"] == "end":
            if len(self.units) // 2 != msg["length"]:
                self.gaps += 1
                self.awaiting_sync = True
                return
            self.is_streaming, self.error = False, msg["error"]
