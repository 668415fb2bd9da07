"""StreamView in-process: the exact wire traffic, error paths and closing, sync and async."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from nbstream import SourceError, StreamInProgressError, StreamView
from tests.recording import BrowserModel, Recorder, rebuild_text

MODES = ["sync", "async"]


def run(view: StreamView, source: Any, mode: str) -> str:
    if mode == "sync":
        return view.stream(source)
    return asyncio.run(view.astream(source))


class Upstream:
    """A source shaped like an OpenAI stream: iterable, closable, with a client."""

    def __init__(
        self,
        items: list[Any],
        fail: BaseException | None = None,
        api_key: str = "sk-test-secret-0123456789",
    ) -> None:
        self.items, self.fail = items, fail
        self.closed = 0
        self._client = type("Client", (), {"api_key": api_key})()

    def _gen(self) -> Iterator[Any]:
        yield from self.items
        if self.fail is not None:
            raise self.fail

    def __iter__(self) -> Iterator[Any]:
        return self._gen()

    def close(self) -> None:
        self.closed += 1


class AsyncUpstream(Upstream):
    def __iter__(self) -> Iterator[Any]:  # only async iteration, like openai.AsyncStream
        raise TypeError("async only")

    async def __aiter__(self) -> AsyncIterator[Any]:
        for item in self._gen():
            await asyncio.sleep(0)
            yield item

    async def close(self) -> None:  # type: ignore[override]
        self.closed += 1


def upstream(mode: str, items: list[Any], fail: BaseException | None = None) -> Upstream:
    return (Upstream if mode == "sync" else AsyncUpstream)(items, fail)


@pytest.mark.parametrize("mode", MODES)
def test_stream_sends_text_once_and_ends_with_one_message(recorder: Recorder, mode: str) -> None:
    view = StreamView()
    wire = recorder.comm_of(view)
    tokens = [f"tok{i} " for i in range(500)] + ["🚀", " é"]
    src = upstream(mode, tokens)
    assert run(view, src, mode) == "".join(tokens)

    assert view.content == "".join(tokens)
    assert view.is_streaming is False
    assert view.error is None
    updates = wire.state_updates()
    # The reset at the start, and the final state once at the end (widget state saved
    # headless has only state messages); the text streams only as deltas.
    assert updates == [
        {"content": "", "is_streaming": True, "error": None, "_stream": 1},
        {"content": "".join(tokens), "is_streaming": False, "error": None},
    ]
    custom = wire.custom_messages()
    assert custom[-1]["kind"] == "end"
    assert custom[-1]["error"] is None
    assert all(m["kind"] == "delta" for m in custom[:-1])
    assert rebuild_text(custom) == "".join(tokens)
    assert src.closed == 1


@pytest.mark.parametrize("mode", MODES)
def test_content_read_mid_stream_is_the_text_so_far(recorder: Recorder, mode: str) -> None:
    view = StreamView()
    seen: list[tuple[str, str]] = []

    def tokens() -> Iterator[str]:
        so_far = ""
        for t in ["a", "bc", "d", "ef"]:
            seen.append((view.content, so_far))
            so_far += t
            yield t

    run(view, tokens(), mode)
    assert all(content == expected for content, expected in seen)
    assert seen[-1] == ("abcd", "abcd")


@pytest.mark.parametrize("mode", MODES)
def test_error_keeps_partial_text_and_propagates(recorder: Recorder, mode: str) -> None:
    view = StreamView()
    wire = recorder.comm_of(view)
    src = upstream(mode, ["partial ", "answer"], fail=ConnectionError("peer went away"))
    with pytest.raises(ConnectionError, match="peer went away"):
        run(view, src, mode)
    assert view.content == "partial answer"
    assert view.is_streaming is False
    assert view.error == "ConnectionError: peer went away"
    end = wire.custom_messages()[-1]
    assert end["kind"] == "end"
    assert end["error"] == view.error
    assert rebuild_text(wire.custom_messages()) == "partial answer"
    assert src.closed == 1


@pytest.mark.parametrize("mode", MODES)
def test_keyboard_interrupt_is_an_error_too(recorder: Recorder, mode: str) -> None:
    view = StreamView()
    src = upstream(mode, ["so far"], fail=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        run(view, src, mode)
    assert view.content == "so far"
    assert view.error is not None
    assert view.error.startswith("KeyboardInterrupt")
    assert view.is_streaming is False
    assert src.closed == 1


@pytest.mark.parametrize("mode", MODES)
def test_api_key_never_reaches_the_view(recorder: Recorder, mode: str) -> None:
    view = StreamView()
    src = upstream(mode, ["x"])
    key = src._client.api_key
    src.fail = PermissionError(f"401 Incorrect API key provided: {key} (Bearer {key})")
    with pytest.raises(PermissionError):
        run(view, src, mode)
    assert view.error is not None
    assert key not in view.error
    assert "0123456789" not in view.error
    assert view.error.startswith("PermissionError: 401 Incorrect API key provided")


@pytest.mark.parametrize("mode", MODES)
def test_generator_source_is_closed_when_the_stream_fails(recorder: Recorder, mode: str) -> None:
    closed: list[bool] = []

    def gen() -> Iterator[Any]:
        try:
            yield "a"
            yield 3.14  # not text: the stream fails here
            yield "never"
        finally:
            closed.append(True)

    view = StreamView()
    with pytest.raises(SourceError, match="yielded float"):
        run(view, gen(), mode)
    assert closed == [True]
    assert view.content == "a"
    assert view.error is not None
    assert "float" in view.error


def test_async_generator_source_is_closed_early(recorder: Recorder) -> None:
    closed: list[bool] = []

    async def agen() -> AsyncIterator[str]:
        try:
            yield "a"
            raise RuntimeError("upstream broke")
        finally:
            closed.append(True)

    view = StreamView()
    with pytest.raises(RuntimeError):
        asyncio.run(view.astream(agen()))
    assert closed == [True]


@pytest.mark.parametrize("mode", MODES)
def test_bad_source_is_reported_before_streaming(recorder: Recorder, mode: str) -> None:
    view = StreamView("kept")
    with pytest.raises(SourceError, match="one character at a time"):
        run(view, "a plain string", mode)
    assert view.content == "kept"
    assert view.is_streaming is False
    assert view.error is not None
    assert view.error.startswith("SourceError:")


def test_without_the_static_copy_the_final_state_is_not_sent_again(recorder: Recorder) -> None:
    view = StreamView(static_copy=False)
    wire = recorder.comm_of(view)
    assert view.stream(["a ", "b"]) == "a b"
    assert view.content == "a b"
    # The browser has it from the deltas and the end message; nothing else is sent.
    assert wire.state_updates() == [
        {"content": "", "is_streaming": True, "error": None, "_stream": 1}
    ]


def test_a_second_stream_resets_and_gets_a_new_id(recorder: Recorder) -> None:
    view = StreamView()
    wire = recorder.comm_of(view)
    view.stream(["one"])
    view.stream(["two"])
    assert view.content == "two"
    ends = [m for m in wire.custom_messages() if m["kind"] == "end"]
    assert [e["stream"] for e in ends] == [1, 2]
    assert [u["_stream"] for u in wire.state_updates() if "_stream" in u] == [1, 2]


def test_streaming_while_streaming_is_refused(recorder: Recorder) -> None:
    view = StreamView()
    errors: list[Exception] = []

    def tokens() -> Iterator[str]:
        yield "outer"
        try:
            view.stream(["inner"])
        except StreamInProgressError as exc:
            errors.append(exc)
        yield " done"

    assert view.stream(tokens()) == "outer done"
    assert len(errors) == 1
    assert "already streaming" in str(errors[0])


def test_resync_from_the_browser_gets_the_full_state(recorder: Recorder) -> None:
    view = StreamView()
    wire = recorder.comm_of(view)
    replies: list[dict[str, Any]] = []

    def tokens() -> Iterator[str]:
        yield "abc"
        yield "def"
        wire.from_browser({"kind": "resync", "stream": 1})
        replies.extend(m for m in wire.custom_messages() if m["kind"] == "sync")
        yield "ghi"

    view.stream(tokens())
    assert replies == [
        {"kind": "sync", "stream": 1, "content": "abcdef", "is_streaming": True, "error": None}
    ]
    wire.from_browser({"kind": "resync", "stream": 1})
    assert wire.custom_messages()[-1] == {
        "kind": "sync",
        "stream": 1,
        "content": "abcdefghi",
        "is_streaming": False,
        "error": None,
    }


def test_observers_see_the_final_content(recorder: Recorder) -> None:
    view = StreamView()
    changes: list[tuple[str, Any]] = []
    view.observe(lambda c: changes.append((c["name"], c["new"])), names=["content", "is_streaming"])
    view.stream(["a", "b"])
    assert changes[-2:] == [("content", "ab"), ("is_streaming", False)]


def test_repr_is_cheap_and_deterministic(recorder: Recorder) -> None:
    view = StreamView()
    assert repr(view) == "StreamView(idle, 0 characters)"
    view.stream(["abc"])
    assert repr(view) == "StreamView(idle, 3 characters)"


def test_invalid_rate_is_rejected() -> None:
    with pytest.raises(ValueError, match="max_messages_per_second"):
        StreamView(max_messages_per_second=0)


@pytest.mark.parametrize("mode", MODES)
def test_resyncs_answered_on_another_thread_never_corrupt_the_view(
    recorder: Recorder, mode: str
) -> None:
    # Under kernel subshells, browser messages are handled on another thread while the
    # stream runs; hammer that path across the whole stream, including its end.
    view = StreamView(max_messages_per_second=500)
    wire = recorder.comm_of(view)
    tokens = [f"t{i} é🚀 " for i in range(3000)]
    done = threading.Event()

    def browser() -> None:
        while not done.is_set():
            wire.from_browser({"kind": "resync", "stream": 1})

    hammer = threading.Thread(target=browser)
    hammer.start()
    try:
        text = run(view, iter(tokens), mode)
    finally:
        done.set()
        hammer.join()
    wire.from_browser({"kind": "resync", "stream": 1})  # one after the end, too

    expected = "".join(tokens)
    assert text == expected
    assert sum(m["kind"] == "sync" for m in wire.custom_messages()) > 10
    seen = BrowserModel().replay(wire.published)
    assert seen.gaps == 0
    assert seen.text == expected
    assert seen.is_streaming is False
    assert seen.error is None
    # What the view showed only ever grew towards the answer.
    assert all(expected.startswith(shown) for shown in seen.shown)


def test_a_resync_racing_the_end_of_a_stream_gets_the_final_text(recorder: Recorder) -> None:
    view = StreamView()
    wire = recorder.comm_of(view)
    racers: list[threading.Thread] = []

    def on_publish(msg_type: str, data: dict[str, Any]) -> None:
        content = data.get("content") or {}
        if content.get("kind") == "end" and not racers:
            # The browser's resync arrives, on another thread, just as the stream ends.
            racer = threading.Thread(
                target=wire.from_browser, args=({"kind": "resync", "stream": 1},)
            )
            racers.append(racer)
            racer.start()
            time.sleep(0.2)  # let it read whatever state it reads at this moment

    wire.on_publish = on_publish
    view.stream(["final ", "text"])
    racers[0].join()
    syncs = [m for m in wire.custom_messages() if m["kind"] == "sync"]
    assert syncs == [
        {"kind": "sync", "stream": 1, "content": "final text", "is_streaming": False, "error": None}
    ]
    seen = BrowserModel().replay(wire.published)
    assert seen.text == "final text"
    assert seen.is_streaming is False
