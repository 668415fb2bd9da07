"""Every fault a stream can meet, through StreamView, sync and async.

After each one: ``is_streaming`` is false, ``error`` says what happened in words a user
can act on, the text streamed before it is intact, and the upstream is closed. The
kernel-level twins (interrupt, kernel alive afterwards) are in test_kernel.py and
test_faults_kernel.py; a kernel restart is seen in the browser (test_browser.py).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import openai
import pytest

from nbstream import Chat, StreamView
from nbstream.errors import IdleTimeoutError, SourceError, StreamClosedError
from nbstream.local import LocalServer, answer, tokenize
from tests.recording import Recorder

MODES = ["sync", "async"]
QUESTION = [{"role": "user", "content": "What is nbstream?"}]
FULL = answer(QUESTION)
KEY = "sk-local-test-key-000000"


def request(**options: Any) -> dict[str, Any]:
    return {
        "model": "nbstream-local",
        "messages": QUESTION,
        "stream": True,
        "extra_body": {"nbstream": options},
    }


def stream_opened_by_the_view(
    view: StreamView, server: LocalServer, mode: str, **options: Any
) -> list[Any]:
    """Let the view open the request itself; return the SDK streams it got (if any)."""
    opened: list[Any] = []
    if mode == "sync":
        with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as client:

            def open_sync() -> Any:
                opened.append(client.chat.completions.create(**request(**options)))
                return opened[-1]

            view.stream(open_sync)
        return opened

    async def run() -> None:
        async with openai.AsyncOpenAI(
            base_url=server.base_url, api_key=KEY, max_retries=0
        ) as client:

            async def open_async() -> Any:
                opened.append(await client.chat.completions.create(**request(**options)))
                return opened[-1]

            await view.astream(open_async)

    asyncio.run(run())
    return opened


def drive(
    mode: str, sync: Callable[[], object], asynchronous: Callable[[], Awaitable[object]]
) -> None:
    """Run the sync twin, or the async twin on a fresh event loop."""
    if mode == "sync":
        sync()
    else:
        asyncio.run(asynchronous())  # type: ignore[arg-type]


def wait_until_no_active_streams(server: LocalServer) -> None:
    """The server notices a client that went away at its next write (a few ms)."""
    deadline = time.monotonic() + 5
    while server.stats.snapshot().active_streams and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.stats.snapshot().active_streams == 0, "the upstream was left open"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "case",
    [
        ("http_401", openai.AuthenticationError, "AuthenticationError: HTTP 401: "),
        ("http_429", openai.RateLimitError, "RateLimitError: HTTP 429: "),
        ("http_500", openai.InternalServerError, "InternalServerError: HTTP 500: "),
    ],
)
def test_http_errors_show_in_the_view_when_it_opens_the_request(
    recorder: Recorder, server: LocalServer, mode: str, case: tuple[str, type[Exception], str]
) -> None:
    fault, exception, message = case
    view = StreamView("the previous answer")
    with pytest.raises(exception):
        stream_opened_by_the_view(view, server, mode, fault=fault)
    assert view.is_streaming is False
    assert view.error is not None
    assert view.error.startswith(message)
    # The provider's own words, not the SDK's dump of the response body.
    assert "{" not in view.error
    assert "as requested" in view.error
    assert KEY not in view.error
    assert view.content == ""
    if fault == "http_429":
        assert view.error.endswith("(retry after 0 s)")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "case",
    [
        ("drop", openai.APIConnectionError, "APIConnectionError: "),
        ("error", openai.APIError, "APIError: "),
        ("malformed_json", json.JSONDecodeError, "JSONDecodeError: the server sent a line"),
    ],
)
def test_faults_mid_stream_keep_the_text_and_close_the_upstream(
    recorder: Recorder, server: LocalServer, mode: str, case: tuple[str, type[Exception], str]
) -> None:
    fault, exception, message = case
    view = StreamView()
    with pytest.raises(exception):
        stream_opened_by_the_view(view, server, mode, fault=fault, fault_after=20)
    assert view.content == "".join(tokenize(FULL)[:20])
    assert view.is_streaming is False
    assert view.error is not None
    assert view.error.startswith(message)
    wait_until_no_active_streams(server)


def stalling_source(mode: str, first: str, stall: float) -> Any:
    """Yields ``first``, then goes quiet for ``stall`` seconds (and records its closing)."""
    closed: list[bool] = []

    def sync_gen() -> Iterator[str]:
        try:
            yield first
            time.sleep(stall)
            yield "never shown"
        finally:
            closed.append(True)

    async def async_gen() -> AsyncIterator[str]:
        try:
            yield first
            await asyncio.sleep(stall)
            yield "never shown"
        finally:
            closed.append(True)

    return (sync_gen() if mode == "sync" else async_gen()), closed


@pytest.mark.parametrize("mode", MODES)
def test_a_stalled_source_ends_after_the_idle_timeout(recorder: Recorder, mode: str) -> None:
    view = StreamView()
    source, closed = stalling_source(mode, "The start", stall=3.0)
    started = time.monotonic()
    with pytest.raises(IdleTimeoutError, match=r"nothing arrived from the model for 0\.4 s"):
        drive(
            mode,
            lambda: view.stream(source, idle_timeout=0.4),
            lambda: view.astream(source, idle_timeout=0.4),
        )
    elapsed = time.monotonic() - started
    assert 0.35 < elapsed < 1.5, f"the timeout struck after {elapsed:.2f} s"
    assert view.content == "The start"
    assert view.is_streaming is False
    assert view.error is not None
    assert view.error.startswith("IdleTimeoutError: nothing arrived from the model for 0.4 s")
    if mode == "async":
        assert closed == [True]  # the async generator was closed at once


@pytest.mark.parametrize("mode", MODES)
def test_a_stalled_server_ends_after_the_idle_timeout_and_is_disconnected(
    recorder: Recorder, server: LocalServer, mode: str
) -> None:
    view = StreamView()
    before = server.stats.snapshot().streams_disconnected
    started = time.monotonic()
    # Paced after the first token: the sync twin's reader thread, blocked until then,
    # closes the response when it wakes, while the server is still writing.
    slow = request(fault="slow_first_token", first_token_delay=1.5, tokens_per_second=50)

    def run_sync() -> None:
        with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as client:
            view.stream(client.chat.completions.create(**slow), idle_timeout=0.3)

    async def run_async() -> None:
        async with openai.AsyncOpenAI(
            base_url=server.base_url, api_key=KEY, max_retries=0
        ) as client:
            await view.astream(await client.chat.completions.create(**slow), idle_timeout=0.3)

    with pytest.raises(IdleTimeoutError):
        drive(mode, run_sync, run_async)
    assert time.monotonic() - started < 1.4
    assert view.is_streaming is False
    assert view.content == ""
    # The connection was closed, so the server stopped instead of answering into nothing.
    deadline = time.monotonic() + 5
    while server.stats.snapshot().streams_disconnected == before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.stats.snapshot().streams_disconnected == before + 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("widget", ["view", "chat"])
def test_a_request_that_never_opens_ends_after_the_idle_timeout(
    recorder: Recorder, mode: str, widget: str
) -> None:
    # A server that never sends its headers keeps create() blocked: the idle timeout
    # counts from the request, for the view (when it opens the request) and the chat.
    release = threading.Event()
    opened: list[str] = []

    def opens_late(*_messages: object) -> list[str]:
        release.wait(5)
        opened.append("late")
        return ["never shown"]

    async def aopens_late(*_messages: object) -> list[str]:
        await asyncio.sleep(5)
        return ["never shown"]

    started = time.monotonic()
    if widget == "view":
        view = StreamView()
        with pytest.raises(IdleTimeoutError, match=r"nothing arrived from the model for 0\.3 s"):
            drive(
                mode,
                lambda: view.stream(opens_late, idle_timeout=0.3),
                lambda: view.astream(aopens_late, idle_timeout=0.3),
            )
        error, text = view.error, view.content
    else:
        chat = Chat(opens_late if mode == "sync" else aopens_late, idle_timeout=0.3)
        with pytest.raises(IdleTimeoutError, match=r"nothing arrived from the model for 0\.3 s"):
            chat.ask("Hello?")
        last = chat.last_answer
        assert last is not None
        assert last.status == "error"
        error, text = last.error, last.text
    elapsed = time.monotonic() - started
    assert 0.25 < elapsed < 1.5, f"the timeout struck after {elapsed:.2f} s"
    assert text == ""
    assert error is not None
    assert error.startswith("IdleTimeoutError: nothing arrived from the model for 0.3 s")
    release.set()


@pytest.mark.parametrize("idle_timeout", [0, -1, float("nan"), "5", True])
def test_bad_idle_timeouts_are_refused_before_anything_streams(idle_timeout: Any) -> None:
    view = StreamView("kept")
    with pytest.raises((TypeError, ValueError), match="idle_timeout"):
        view.stream(["x"], idle_timeout=idle_timeout)
    assert view.content == "kept"
    assert view.is_streaming is False


@pytest.mark.parametrize("mode", MODES)
def test_a_source_that_raises_keeps_the_text(recorder: Recorder, mode: str) -> None:
    def sync_gen() -> Iterator[str]:
        yield "Some text"
        raise ValueError("the tokenizer broke")

    async def async_gen() -> AsyncIterator[str]:
        yield "Some text"
        raise ValueError("the tokenizer broke")

    view = StreamView()
    with pytest.raises(ValueError, match="tokenizer"):
        drive(mode, lambda: view.stream(sync_gen()), lambda: view.astream(async_gen()))
    assert view.content == "Some text"
    assert view.error == "ValueError: the tokenizer broke"
    assert view.is_streaming is False


@pytest.mark.parametrize("mode", MODES)
def test_keyboard_interrupt_keeps_the_text(recorder: Recorder, mode: str) -> None:
    def sync_gen() -> Iterator[str]:
        yield "Before the interrupt"
        raise KeyboardInterrupt

    async def async_gen() -> AsyncIterator[str]:
        yield "Before the interrupt"
        raise KeyboardInterrupt

    view = StreamView()
    with pytest.raises(KeyboardInterrupt):
        drive(mode, lambda: view.stream(sync_gen()), lambda: view.astream(async_gen()))
    assert view.content == "Before the interrupt"
    assert view.error == "KeyboardInterrupt: the stream was interrupted"
    assert view.is_streaming is False


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_read_twice_gets_a_clear_error(
    recorder: Recorder, server: LocalServer, mode: str
) -> None:
    first, second = StreamView(), StreamView()
    if mode == "sync":
        with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as client:
            stream = client.chat.completions.create(**request())
            first.stream(stream)
            with pytest.raises(SourceError, match="already been read"):
                second.stream(stream)
    else:

        async def run() -> None:
            async with openai.AsyncOpenAI(
                base_url=server.base_url, api_key=KEY, max_retries=0
            ) as client:
                stream = await client.chat.completions.create(**request())
                await first.astream(stream)
                with pytest.raises(SourceError, match="already been read"):
                    await second.astream(stream)

        asyncio.run(run())
    assert first.content == FULL
    assert second.error is not None
    assert "already been read" in second.error
    assert second.is_streaming is False


@pytest.mark.parametrize("mode", MODES)
def test_closing_the_widget_mid_stream_stops_the_stream(
    recorder: Recorder, server: LocalServer, mode: str
) -> None:
    view = StreamView()

    def closing_after(items: Iterator[Any], n: int) -> Iterator[Any]:
        for i, item in enumerate(items):
            if i == n:
                view.close()
            yield item

    async def aclosing_after(items: AsyncIterator[Any], n: int) -> AsyncIterator[Any]:
        i = 0
        async for item in items:
            if i == n:
                view.close()
            i += 1
            yield item

    def run_sync() -> None:
        with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as client:
            stream = client.chat.completions.create(**request())
            try:
                view.stream(closing_after(iter(stream), 10))
            finally:
                stream.close()

    async def run_async() -> None:
        async with openai.AsyncOpenAI(
            base_url=server.base_url, api_key=KEY, max_retries=0
        ) as client:
            stream = await client.chat.completions.create(**request())
            try:
                await view.astream(aclosing_after(stream.__aiter__(), 10))
            finally:
                await stream.close()

    with pytest.raises(StreamClosedError, match="closed while it was streaming"):
        drive(mode, run_sync, run_async)
    assert view.is_streaming is False
    assert view.error == "StreamClosedError: the view was closed while it was streaming"
    assert FULL.startswith(view.content)
    assert 0 < len(view.content) < len(FULL)
    wait_until_no_active_streams(server)


def test_a_think_block_opening_the_text_is_reasoning_in_a_stream_view(recorder: Recorder) -> None:
    view = StreamView()
    text = view.stream(["<thi", "nk>Let me see.</th", "ink>\n\nThe answer."])
    assert text == view.content == "The answer."
    assert view.reasoning == "Let me see."


def test_a_cancelled_astream_says_so(recorder: Recorder) -> None:
    async def forever() -> AsyncIterator[str]:
        yield "Some text"
        await asyncio.sleep(60)
        yield "never"

    view = StreamView()

    async def run() -> None:
        task = asyncio.ensure_future(view.astream(forever()))
        while not view.content:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    assert view.content == "Some text"
    assert view.error == "CancelledError: the stream was cancelled"
    assert view.is_streaming is False


def test_a_wrong_source_is_named_with_its_article() -> None:
    with pytest.raises(SourceError, match="cannot stream an int"):
        StreamView().stream(42)  # type: ignore[arg-type]
