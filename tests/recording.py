"""A real ``comm`` implementation that records what a widget puts on the wire.

The ``comm`` package is designed to have ``create_comm`` replaced by the host (marimo and
other non-Jupyter frontends do this); we install one that keeps the messages so unit
tests can assert on the exact protocol traffic without a kernel.
"""

from __future__ import annotations

import threading
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm


class RecordingComm(BaseComm):
    """Keeps every published message as ``(msg_type, data)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []
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

    def from_browser(self, content: dict[str, Any]) -> None:
        """Deliver a custom message as if the browser had sent it."""
        self.handle_msg(
            {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
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
