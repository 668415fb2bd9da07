"""StreamView fed by the real openai SDK, over HTTP, from the local model: sync and async,
with every fault the local model can inject."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import openai
import pytest

from nbstream import StreamView
from nbstream.local import LocalServer, answer, tokenize
from tests.recording import Recorder, rebuild_text

MODES = ["sync", "async"]
QUESTION = [{"role": "user", "content": "What is nbstream?"}]
FULL = answer(QUESTION)


def stream_into(view: StreamView, server: LocalServer, mode: str, **options: Any) -> Any:
    """Create the completion and stream it into ``view``; return the SDK stream object."""
    kwargs: dict[str, Any] = {
        "model": "nbstream-local",
        "messages": QUESTION,
        "stream": True,
        "stream_options": {"include_usage": True},
        "extra_body": {"nbstream": options},
    }
    if mode == "sync":
        client = openai.OpenAI(
            base_url=server.base_url, api_key="sk-local-test-key-000000", max_retries=0
        )
        stream = client.chat.completions.create(**kwargs)
        try:
            view.stream(stream)
        finally:
            client.close()
        return stream

    async def run() -> Any:
        aclient = openai.AsyncOpenAI(
            base_url=server.base_url, api_key="sk-local-test-key-000000", max_retries=0
        )
        async with aclient:
            astream = await aclient.chat.completions.create(**kwargs)
            await view.astream(astream)
            return astream

    return asyncio.run(run())


@pytest.mark.parametrize("mode", MODES)
def test_answer_streams_exactly(recorder: Recorder, server: LocalServer, mode: str) -> None:
    view = StreamView()
    stream = stream_into(view, server, mode)
    assert view.content == FULL
    assert view.error is None
    assert view.is_streaming is False
    assert rebuild_text(recorder.comm_of(view).custom_messages()) == FULL
    assert stream.response.is_closed


@pytest.mark.parametrize("mode", MODES)
def test_error_event_mid_stream(recorder: Recorder, server: LocalServer, mode: str) -> None:
    view = StreamView()
    with pytest.raises(openai.APIError) as raised:
        stream_into(view, server, mode, fault="error", fault_after=25)
    partial = "".join(tokenize(FULL)[:25])
    assert view.content == partial
    assert view.error == f"APIError: {raised.value.message}"
    assert view.is_streaming is False
    end = recorder.comm_of(view).custom_messages()[-1]
    assert end["kind"] == "end"
    assert end["error"] == view.error


@pytest.mark.parametrize("mode", MODES)
def test_dropped_connection(recorder: Recorder, server: LocalServer, mode: str) -> None:
    view = StreamView()
    with pytest.raises(openai.APIConnectionError):
        stream_into(view, server, mode, fault="drop", fault_after=30)
    assert view.content == "".join(tokenize(FULL)[:30])
    assert view.error is not None
    assert view.error.startswith("APIConnectionError: ")
    assert view.is_streaming is False


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("fault", "error"),
    [("http_429", openai.RateLimitError), ("http_500", openai.InternalServerError)],
)
def test_http_errors_surface_before_any_stream(
    recorder: Recorder, server: LocalServer, mode: str, fault: str, error: type[Exception]
) -> None:
    # The request fails before a stream exists, so the cell gets the SDK's own error and
    # the view (never handed a stream) is left as it was.
    view = StreamView("previous answer")
    with pytest.raises(error):
        stream_into(view, server, mode, fault=fault)
    assert view.content == "previous answer"
    assert view.is_streaming is False


@pytest.mark.parametrize("mode", MODES)
def test_slow_first_token_shows_waiting_then_the_answer(
    recorder: Recorder, server: LocalServer, mode: str
) -> None:
    view = StreamView()
    seen: list[tuple[bool, str]] = []
    # Looked at from another thread while the stream waits for its first token.
    probe = threading.Timer(0.6, lambda: seen.append((view.is_streaming, view.content)))
    probe.start()
    stream_into(view, server, mode, fault="slow_first_token", first_token_delay=1.2)
    probe.join()
    assert seen == [(True, "")]
    assert view.content == FULL


@pytest.mark.parametrize("mode", MODES)
def test_api_key_never_reaches_the_view(recorder: Recorder, server: LocalServer, mode: str) -> None:
    view = StreamView()
    with pytest.raises(openai.APIError):
        stream_into(view, server, mode, fault="error", fault_after=3)
    assert view.error is not None
    assert "sk-local-test-key" not in view.error
