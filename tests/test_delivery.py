"""The kernel half of the delivery protocol, with an injected clock (no sleeping)."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pytest

from nbstream.delivery import Coalescer, DeltaChannel, utf16_len
from tests.recording import rebuild_text


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_coalescer_first_text_is_ready_at_once() -> None:
    clock = FakeClock()
    c = Coalescer(0.1, clock)
    assert not c.pending
    assert c.delay() is None
    c.add("a")
    assert c.ready()
    assert c.delay() == 0
    assert c.take() == "a"


def test_coalescer_holds_text_until_the_window_ends() -> None:
    clock = FakeClock()
    c = Coalescer(0.1, clock)
    c.add("a")
    c.take()
    c.add("b")
    c.add("c")
    assert not c.ready()
    assert c.delay() == pytest.approx(0.1)
    clock.now += 0.06
    assert not c.ready()
    assert c.delay() == pytest.approx(0.04)
    clock.now += 0.04
    assert c.ready()
    assert c.take() == "bc"
    assert not c.pending


def test_coalescer_rejects_negative_interval() -> None:
    with pytest.raises(ValueError, match="interval"):
        Coalescer(-1)


@pytest.mark.parametrize(("text", "units"), [("abc", 3), ("é", 1), ("🚀", 2), ("a🚀é", 4), ("", 0)])
def test_utf16_len_counts_like_javascript(text: str, units: int) -> None:
    assert utf16_len(text) == units


def make_channel(clock: FakeClock, interval: float = 0.1) -> tuple[DeltaChannel, list[Any]]:
    sent: list[Any] = []
    return DeltaChannel(sent.append, interval=interval, clock=clock, background=False), sent


def test_deltas_are_coalesced_and_numbered_by_offset() -> None:
    clock = FakeClock()
    channel, sent = make_channel(clock)
    channel.begin(7)
    channel.push("Hello")  # leaves at once: no time-to-first-token penalty
    channel.push(", ")  # held
    channel.push("wörld 🚀")  # held
    assert [m["text"] for m in sent] == ["Hello"]
    clock.now += 0.1
    assert channel.flush_due()
    channel.push("!")
    assert sent[1] == {"kind": "delta", "stream": 7, "offset": 5, "text": ", wörld 🚀"}
    assert channel.text() == "Hello, wörld 🚀!"
    full = channel.end(None)
    assert full == "Hello, wörld 🚀!"
    # 5 + 2 + 6 + 2 (the rocket is two UTF-16 units)
    assert sent[-1] == {
        "kind": "end",
        "stream": 7,
        "offset": 15,
        "text": "!",
        "length": 16,
        "error": None,
    }
    assert rebuild_text(sent) == full
    assert not channel.active


def test_message_rate_is_bounded_for_any_token_rate() -> None:
    clock = FakeClock()
    channel, sent = make_channel(clock, interval=1 / 30)
    channel.begin(1)
    for i in range(10_000):  # 10,000 tokens over 2 seconds
        clock.now += 0.0002
        channel.push(f"t{i} ")
        channel.flush_due()
    channel.end(None)
    deltas = [m for m in sent if m["kind"] == "delta"]
    assert len(deltas) <= 2 * 30 + 1
    assert rebuild_text(sent) == "".join(f"t{i} " for i in range(10_000))


def test_end_reports_the_error_with_the_text_kept() -> None:
    clock = FakeClock()
    channel, sent = make_channel(clock)
    channel.begin(1)
    channel.push("partial")
    channel.push(" text")
    assert channel.end("ValueError: boom") == "partial text"
    assert sent[-1]["error"] == "ValueError: boom"
    assert rebuild_text(sent) == "partial text"


def test_resync_mid_stream_returns_everything_and_later_deltas_continue() -> None:
    clock = FakeClock()
    channel, sent = make_channel(clock)
    channel.begin(3)
    channel.push("abc")
    channel.push("def")  # pending
    reply = channel.sync_message(lambda: ("", True, None))
    assert reply == {
        "kind": "sync",
        "stream": 3,
        "content": "abcdef",
        "is_streaming": True,
        "error": None,
    }
    # The pending text went out in the sync reply; the next delta starts after it.
    clock.now += 1
    channel.push("g")
    assert sent[-1]["offset"] == 6
    assert sent[-1]["text"] == "g"
    channel.end(None)
    assert sent[-1]["offset"] == 7
    assert sent[-1]["length"] == 7


def test_resync_when_idle_returns_the_stored_content() -> None:
    channel, _ = make_channel(FakeClock())
    reply = channel.sync_message(lambda: ("stored", False, "E: x"))
    assert reply["content"] == "stored"
    assert reply["is_streaming"] is False
    assert reply["error"] == "E: x"


def test_background_flusher_sends_held_text_when_the_source_goes_quiet() -> None:
    sent: list[Any] = []
    arrived = threading.Event()

    def send(msg: Any) -> None:
        sent.append(msg)
        if len(sent) == 2:
            arrived.set()

    channel = DeltaChannel(send, interval=0.05)
    channel.begin(1)
    channel.push("first")  # at once
    channel.push("second")  # held; nothing else will come for a while
    assert arrived.wait(2), "held text was never flushed"
    assert sent[1]["text"] == "second"
    channel.end(None)
    assert sent[-1] == {
        "kind": "end",
        "stream": 1,
        "offset": 11,
        "text": "",
        "length": 11,
        "error": None,
    }


def test_background_flusher_respects_the_window() -> None:
    sent: list[tuple[float, Any]] = []
    channel = DeltaChannel(lambda m: sent.append((time.monotonic(), m)), interval=0.05)
    channel.begin(1)
    deadline = time.monotonic() + 0.5
    i = 0
    while time.monotonic() < deadline:
        channel.push(f"{i},")
        i += 1
        time.sleep(0.0005)
    channel.end(None)
    times = [t for t, m in sent if m["kind"] == "delta"]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.045, gaps
    assert rebuild_text([m for _, m in sent]) == "".join(f"{n}," for n in range(i))


def test_a_lane_tags_every_message_so_two_texts_share_one_widget() -> None:
    clock = FakeClock()
    sent: list[Any] = []
    channel = DeltaChannel(
        sent.append, interval=0.1, clock=clock, background=False, lane="reasoning"
    )
    channel.begin(2)
    channel.push("Think")
    channel.push("ing")
    sync = channel.sync_message(lambda: ("", True, None))
    channel.push(" more")
    channel.end(None)
    assert [m["kind"] for m in sent] == ["delta", "end"]
    assert all(m["lane"] == "reasoning" for m in [*sent, sync])
    assert sync["content"] == "Thinking"
    assert sent[-1]["offset"] == len("Thinking")
