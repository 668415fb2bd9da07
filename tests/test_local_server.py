"""The embedded local model, driven over HTTP by the real ``openai`` SDK (no mocks).

Behaviours shared by ``OpenAI`` and ``AsyncOpenAI`` run through the ``api`` fixture, which
is parametrised over both and gives them one async-shaped interface.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessageParam

import nbstream.local
from nbstream.local import (
    API_KEY,
    MODEL,
    LocalServer,
    ServerError,
    answer,
    long_answer,
    tokenize,
    wire,
)
from nbstream.local.faults import INJECTED_CODE, SLOW_FIRST_TOKEN_DELAY
from nbstream.local.knowledge import DEFAULT, TOPICS
from nbstream.local.model import choose_topic, prompt_tokens
from nbstream.local.options import ChatRequest, LocalOptions, make_plan

pytestmark = pytest.mark.timeout(60)

QUESTION: list[ChatCompletionMessageParam] = [{"role": "user", "content": "What is nbstream?"}]
ROOT = Path(__file__).resolve().parents[1]


# -- fixtures and the sync/async twin helper ---------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    """One unpaced server for the module: fast tests; pacing is asked for per request."""
    with LocalServer(tokens_per_second=0, first_token_delay=0) as running:
        yield running


@pytest.fixture
def fresh_server() -> Iterator[LocalServer]:
    """A server of the test's own, for tests that read its stats."""
    with LocalServer(tokens_per_second=0, first_token_delay=0) as running:
        yield running


@dataclass
class Outcome:
    """What a client saw of one streamed completion."""

    chunks: list[ChatCompletionChunk] = field(default_factory=list)
    error: Exception | None = None
    started: float = 0.0
    first_content_at: float | None = None
    ended: float = 0.0

    @property
    def text(self) -> str:
        return "".join(c.choices[0].delta.content or "" for c in self.chunks if c.choices)

    @property
    def contents(self) -> list[str]:
        return [
            c.choices[0].delta.content
            for c in self.chunks
            if c.choices and c.choices[0].delta.content
        ]

    def see(self, chunk: ChatCompletionChunk) -> None:
        self.chunks.append(chunk)
        if self.first_content_at is None and chunk.choices and chunk.choices[0].delta.content:
            self.first_content_at = time.monotonic()


class Api:
    """The local server through a real openai client; sync and async twins share this shape."""

    kind: str

    async def stream(self, *, close_after: int | None = None, **kwargs: Any) -> Outcome:
        raise NotImplementedError

    async def create(self, **kwargs: Any) -> ChatCompletion:
        raise NotImplementedError

    async def model_ids(self) -> list[str]:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError


def _request(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {"model": MODEL, "messages": QUESTION, **kwargs}


class SyncApi(Api):
    kind = "sync"

    def __init__(self, base_url: str) -> None:
        self.client = openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=0, timeout=10)

    async def stream(self, *, close_after: int | None = None, **kwargs: Any) -> Outcome:
        outcome = Outcome(started=time.monotonic())
        try:
            stream = self.client.chat.completions.create(stream=True, **_request(kwargs))
            for chunk in stream:
                outcome.see(chunk)
                if close_after is not None and len(outcome.chunks) >= close_after:
                    stream.close()
                    break
        except Exception as exc:
            outcome.error = exc
        outcome.ended = time.monotonic()
        return outcome

    async def create(self, **kwargs: Any) -> ChatCompletion:
        completion: ChatCompletion = self.client.chat.completions.create(**_request(kwargs))
        return completion

    async def model_ids(self) -> list[str]:
        return [m.id for m in self.client.models.list()]

    async def aclose(self) -> None:
        self.client.close()


class AsyncApi(Api):
    kind = "async"

    def __init__(self, base_url: str) -> None:
        self.client = openai.AsyncOpenAI(
            base_url=base_url, api_key=API_KEY, max_retries=0, timeout=10
        )

    async def stream(self, *, close_after: int | None = None, **kwargs: Any) -> Outcome:
        outcome = Outcome(started=time.monotonic())
        try:
            stream = await self.client.chat.completions.create(stream=True, **_request(kwargs))
            async for chunk in stream:
                outcome.see(chunk)
                if close_after is not None and len(outcome.chunks) >= close_after:
                    await stream.close()
                    break
        except Exception as exc:
            outcome.error = exc
        outcome.ended = time.monotonic()
        return outcome

    async def create(self, **kwargs: Any) -> ChatCompletion:
        completion: ChatCompletion = await self.client.chat.completions.create(**_request(kwargs))
        return completion

    async def model_ids(self) -> list[str]:
        return [m.id async for m in self.client.models.list()]

    async def aclose(self) -> None:
        await self.client.close()


def _make_api(kind: str, base_url: str) -> Api:
    return SyncApi(base_url) if kind == "sync" else AsyncApi(base_url)


@pytest.fixture(params=["sync", "async"])
async def api(request: pytest.FixtureRequest, server: LocalServer) -> AsyncIterator[Api]:
    client = _make_api(request.param, server.base_url)
    yield client
    await client.aclose()


@pytest.fixture(params=["sync", "async"])
async def fresh_api(
    request: pytest.FixtureRequest, fresh_server: LocalServer
) -> AsyncIterator[Api]:
    client = _make_api(request.param, fresh_server.base_url)
    yield client
    await client.aclose()


def local(**options: Any) -> dict[str, Any]:
    """``extra_body`` carrying per-request nbstream options."""
    return {"extra_body": {"nbstream": options}}


# -- the deterministic model -------------------------------------------------------------


@pytest.mark.parametrize("topic", [*TOPICS, DEFAULT], ids=lambda t: t.key)
def test_every_answer_is_rich_markdown(topic: Any) -> None:
    text = topic.to_markdown()
    assert re.search(r"^## \S", text, re.M), "a heading"
    assert re.search(r"^- \S", text, re.M), "a list"
    assert re.search(r"^\|.*\|\n\|(---\|)+\n\|", text, re.M), "a GFM table"
    assert "\n```python\n" in text, "a fenced python block"
    assert text.count("```") == 2, "only one"
    assert re.search(r"—.*[éèà].*🚀|[éèà].*—.*🚀", text, re.S), "some non-ASCII"


@pytest.mark.parametrize(
    ("question", "key"),
    [
        ("What is nbstream?", "overview"),
        ("How does the StreamView widget show markdown?", "streamview"),
        ("How do I stream from OpenAI?", "openai"),
        ("Can I use asyncio and await?", "async"),
        ("What happens on errors like a 429?", "errors"),
        ("Explain the delta protocol and resync", "protocol"),
        ("Tell me about the local server and its faults", "local"),
        ("Bonjour", "default"),
    ],
)
def test_the_question_picks_the_topic(question: str, key: str) -> None:
    assert choose_topic(question).key == key


def test_answer_uses_the_last_user_message() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are helpful. Talk about errors."},
        {"role": "user", "content": "What is nbstream?"},
        {"role": "assistant", "content": "..."},
        {"role": "user", "content": [{"type": "text", "text": "And async?"}]},
    ]
    assert answer(messages) == choose_topic("And async?").to_markdown()
    assert answer(messages) == answer([dict(m) for m in messages])


@given(st.text())
def test_tokens_concatenate_to_the_text(text: str) -> None:
    tokens = tokenize(text)
    assert "".join(tokens) == text
    assert all(tokens)


def test_tokens_are_subwords_with_leading_spaces() -> None:
    assert tokenize("Streaming markdown — déjà 🚀\n\n") == [
        "Stre",
        "aming",
        " mark",
        "down",
        " —",
        " déjà",
        " 🚀",
        "\n\n",
    ]
    text = answer(QUESTION)
    assert 3.0 <= len(text) / len(tokenize(text)) <= 5.0  # about four characters a token


@pytest.mark.parametrize("n", [0, 1, 3, 50, 237, 1000, 5000])
def test_long_answer_has_exactly_n_tokens(n: int) -> None:
    text = long_answer(n)
    assert len(tokenize(text)) == n
    assert long_answer(n) == text
    if n >= 1000:
        assert text.count("\n```python\n") >= 2
        assert text.count("```") % 2 == 0, "no fence left open"
        assert re.search(r"^\|---", text, re.M)


def test_slow_first_token_defaults_to_two_seconds() -> None:
    request = ChatRequest(
        messages=[{"role": "user", "content": "hi"}], options=LocalOptions(fault="slow_first_token")
    )
    plan = make_plan(request, tokens_per_second=0, first_token_delay=0)
    assert plan.first_token_delay == SLOW_FIRST_TOKEN_DELAY == 2.0


def test_wire_shapes_validate_as_openai_types() -> None:
    chunk = wire.chunk(completion_id="c", created=1, model=MODEL, delta={"content": "x"})
    assert ChatCompletionChunk.model_validate(chunk).choices[0].delta.content == "x"
    last = wire.chunk(completion_id="c", created=1, model=MODEL, usage=wire.usage(2, 3))
    validated = ChatCompletionChunk.model_validate(last)
    assert validated.choices == []
    assert validated.usage is not None
    assert validated.usage.total_tokens == 5
    whole = wire.completion(
        completion_id="c",
        created=1,
        model=MODEL,
        content="hi",
        finish_reason="stop",
        usage=wire.usage(1, 1),
    )
    assert ChatCompletion.model_validate(whole).choices[0].message.content == "hi"


# -- streaming over HTTP, sync and async --------------------------------------------------


async def test_streamed_text_is_the_answer_every_time(api: Api) -> None:
    first = await api.stream()
    second = await api.stream()
    assert first.error is None
    assert second.error is None
    assert first.text == answer(QUESTION)
    assert second.text == first.text
    # One token per chunk, exactly the model's tokens.
    assert first.contents == tokenize(answer(QUESTION))


async def test_chunks_have_openai_shape(api: Api) -> None:
    outcome = await api.stream()
    head, *body, tail = outcome.chunks
    assert head.choices[0].delta.role == "assistant"
    assert head.choices[0].delta.content == ""
    assert all(c.choices[0].delta.role is None for c in body)
    assert all(c.choices[0].finish_reason is None for c in [head, *body])
    assert tail.choices[0].finish_reason == "stop"
    assert {c.id for c in outcome.chunks} == {head.id}
    assert head.id.startswith("chatcmpl-")
    assert {c.object for c in outcome.chunks} == {"chat.completion.chunk"}
    assert {c.model for c in outcome.chunks} == {MODEL}
    assert all(c.usage is None for c in outcome.chunks)  # not asked for


async def test_include_usage_adds_a_final_usage_chunk(api: Api) -> None:
    outcome = await api.stream(stream_options={"include_usage": True})
    last = outcome.chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.completion_tokens == len(tokenize(outcome.text))
    assert last.usage.prompt_tokens == prompt_tokens(QUESTION) > 0
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    assert outcome.chunks[-2].choices[0].finish_reason == "stop"


async def test_non_streaming_completion(api: Api) -> None:
    completion = await api.create()
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == answer(QUESTION)
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == len(tokenize(answer(QUESTION)))


async def test_models_lists_the_local_model(api: Api) -> None:
    assert await api.model_ids() == [MODEL]


@pytest.mark.parametrize("name", ["max_tokens", "max_completion_tokens"])
async def test_max_tokens_stops_with_finish_reason_length(api: Api, name: str) -> None:
    outcome = await api.stream(**{name: 7}, stream_options={"include_usage": True})
    assert outcome.text == "".join(tokenize(answer(QUESTION))[:7])
    assert outcome.chunks[-2].choices[0].finish_reason == "length"
    assert outcome.chunks[-1].usage is not None
    assert outcome.chunks[-1].usage.completion_tokens == 7
    completion = await api.create(**{name: 7})
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == outcome.text


async def test_text_option_streams_exactly_that_text(api: Api) -> None:
    text = "# Title\n\n| a | b |\n|---|---|\n| é | 🚀 |\n\n```python\nprint('hi')\n```\n"
    outcome = await api.stream(**local(text=text))
    assert outcome.text == text
    assert outcome.contents == tokenize(text)


async def test_answer_tokens_option_streams_a_long_answer(api: Api) -> None:
    outcome = await api.stream(**local(answer_tokens=800), stream_options={"include_usage": True})
    assert outcome.text == long_answer(800)
    assert outcome.chunks[-1].usage is not None
    assert outcome.chunks[-1].usage.completion_tokens == 800


# -- faults -----------------------------------------------------------------------------


@pytest.mark.parametrize("fault_after", [None, 5, 0])
async def test_error_fault_raises_api_error_after_partial_text(
    api: Api, fault_after: int | None
) -> None:
    tokens = tokenize(answer(QUESTION))
    outcome = await api.stream(**local(fault="error", fault_after=fault_after))
    assert type(outcome.error) is openai.APIError
    assert outcome.error.code == INJECTED_CODE
    expected = len(tokens) // 3 if fault_after is None else fault_after
    assert outcome.text == "".join(tokens[:expected])
    assert answer(QUESTION).startswith(outcome.text)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
@pytest.mark.parametrize(
    ("fault", "error_type", "status"),
    [
        ("http_429", openai.RateLimitError, 429),
        ("http_500", openai.InternalServerError, 500),
    ],
)
async def test_http_faults_raise_status_errors(
    api: Api, stream: bool, fault: str, error_type: type[openai.APIStatusError], status: int
) -> None:
    if stream:
        error = (await api.stream(**local(fault=fault))).error
    else:
        with pytest.raises(error_type) as caught:
            await api.create(**local(fault=fault))
        error = caught.value
    assert type(error) is error_type
    assert error.status_code == status
    assert error.code == INJECTED_CODE
    if status == 429:
        assert error.response.headers["retry-after"] == "0"


async def test_error_fault_without_streaming_is_a_500(api: Api) -> None:
    with pytest.raises(openai.InternalServerError):
        await api.create(**local(fault="error"))


async def test_drop_fault_raises_connection_error_after_partial_text(api: Api) -> None:
    tokens = tokenize(answer(QUESTION))
    outcome = await api.stream(**local(fault="drop", fault_after=12))
    assert type(outcome.error) is openai.APIConnectionError
    assert outcome.text == "".join(tokens[:12])
    with pytest.raises(openai.APIConnectionError):
        await api.create(**local(fault="drop"))


async def test_slow_first_token_delays_the_first_content(api: Api) -> None:
    outcome = await api.stream(**local(fault="slow_first_token", first_token_delay=0.5))
    assert outcome.error is None
    assert outcome.first_content_at is not None
    assert outcome.first_content_at - outcome.started >= 0.5
    assert outcome.text == answer(QUESTION)


async def test_pacing_follows_tokens_per_second(api: Api) -> None:
    outcome = await api.stream(**local(answer_tokens=100, tokens_per_second=200))
    assert len(outcome.contents) == 100
    # 100 tokens at 200/s: 99 intervals of 5 ms after the first token.
    assert 0.45 <= outcome.ended - outcome.started < 5.0


async def test_closing_the_stream_early_is_seen_as_a_disconnect(
    fresh_api: Api, fresh_server: LocalServer
) -> None:
    total = 2000  # 10 s at 200 tokens/s: the test would time out if generation went on
    outcome = await fresh_api.stream(
        close_after=4, **local(answer_tokens=total, tokens_per_second=200)
    )
    assert outcome.error is None
    assert len(outcome.chunks) == 4
    stats = fresh_server.stats
    assert stats.wait_for_disconnects(1, timeout=5)
    assert stats.wait_until_idle(timeout=5)
    sent = stats.tokens_sent
    assert sent < total / 4
    time.sleep(0.1)
    assert stats.tokens_sent == sent, "generation stopped"
    snapshot = stats.snapshot()
    assert (snapshot.streams_started, snapshot.streams_completed) == (1, 0)


async def test_stats_count_requests_tokens_and_faults(
    fresh_api: Api, fresh_server: LocalServer
) -> None:
    await fresh_api.stream()
    await fresh_api.stream(**local(fault="error", fault_after=3))
    snapshot = fresh_server.stats.snapshot()
    assert snapshot.requests == 2
    assert snapshot.streams_started == 2
    assert snapshot.streams_completed == 1
    assert snapshot.faults_injected == 1
    assert snapshot.tokens_sent == len(tokenize(answer(QUESTION))) + 3
    fresh_server.stats.reset()
    assert fresh_server.stats.requests == 0


# -- refused requests ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "mentions"),
    [
        ({"fault": "explode"}, "Unknown fault 'explode'"),
        ({"faul": "error"}, "Unknown nbstream option 'faul'"),
        ({"fault_after": -1}, "fault_after"),
        ({"fault_after": "3"}, "fault_after"),
        ({"tokens_per_second": -5}, "tokens_per_second"),
        ({"tokens_per_second": True}, "tokens_per_second"),
        ({"first_token_delay": "slow"}, "first_token_delay"),
        ({"answer_tokens": 0}, "answer_tokens"),
        ({"text": 42}, "nbstream.text"),
        ({"text": "x", "answer_tokens": 3}, "not both"),
    ],
)
async def test_bad_options_are_refused_with_400(
    api: Api, options: dict[str, Any], mentions: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await api.create(extra_body={"nbstream": options})
    assert mentions in caught.value.message


def test_bad_requests_get_openai_shaped_errors(server: LocalServer) -> None:
    with httpx.Client(base_url=server.url, timeout=5) as http:
        for body, mentions in [
            (b"{not json", "not valid JSON"),
            (b"[1, 2]", "JSON object"),
            (b'{"model": "nbstream-local"}', "'messages' is required"),
            (b'{"messages": [], "model": "m"}', "'messages' is required"),
            (b'{"messages": ["hi"], "model": "m"}', "messages[0]"),
            (b'{"messages": [{"role": "user"}], "max_tokens": 0}', "max_tokens"),
            (b'{"messages": [{"role": "user"}], "nbstream": []}', "'nbstream' must be"),
        ]:
            response = http.post("/v1/chat/completions", content=body)
            assert response.status_code == 400, body
            error = response.json()["error"]
            assert mentions in error["message"]
            assert error["type"] == "invalid_request_error"
        response = http.get("/v1/nowhere")
        assert response.status_code == 404
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}
        assert http.post("/v2/chat", json={}).status_code == 404
        assert http.get(f"/v1/models/{MODEL}").json()["id"] == MODEL
        assert http.delete("/v1/models").status_code == 405


def test_api_keys_and_headers_are_never_logged(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-do-not-log-me-123"
    with caplog.at_level(logging.DEBUG, logger="nbstream.local"):
        client = openai.OpenAI(base_url=server.base_url, api_key=secret, max_retries=0)
        with client:
            client.chat.completions.create(model=MODEL, messages=QUESTION)
            with pytest.raises(openai.NotFoundError):
                client.models.retrieve("missing")
    assert "POST /v1/chat/completions" in caplog.text  # the request line is logged...
    assert secret not in caplog.text  # ...but no header
    assert "Authorization" not in caplog.text


# -- the server's life cycle --------------------------------------------------------------


def test_binds_to_loopback_only(server: LocalServer) -> None:
    host, port = server.address
    assert host == "127.0.0.1"
    assert re.fullmatch(rf"http://127\.0\.0\.1:{port}/v1", server.base_url)
    for host in ("0.0.0.0", "192.168.1.10", "::1", "example.com"):
        with pytest.raises(ValueError, match="loopback"):
            LocalServer(host=host)
    # If this machine has a non-loopback address, the port must be closed there.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent for UDP connect
            outside = probe.getsockname()[0]
        except OSError:
            outside = "127.0.0.1"
    if not outside.startswith("127."):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((outside, port), timeout=2).close()


def test_start_and_stop_are_idempotent() -> None:
    local_server = LocalServer(tokens_per_second=0, first_token_delay=0)
    assert not local_server.running
    with pytest.raises(ServerError):
        _ = local_server.base_url
    assert local_server.start() is local_server
    url = local_server.base_url
    local_server.start()
    assert local_server.base_url == url
    assert httpx.get(f"{url}/models", timeout=5).status_code == 200
    local_server.stop()
    local_server.stop()
    assert not local_server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/models", timeout=5)
    with local_server:  # and it can start again
        assert httpx.get(f"{local_server.base_url}/models", timeout=5).status_code == 200
        name = f"nbstream-local:{local_server.address[1]}"
        assert name in {t.name for t in threading.enumerate()}
    assert not local_server.running
    assert name not in {t.name for t in threading.enumerate()}, "the thread was joined"


def test_stop_ends_streams_in_progress() -> None:
    local_server = LocalServer(tokens_per_second=50, first_token_delay=0).start()
    client = openai.OpenAI(base_url=local_server.base_url, api_key=API_KEY, max_retries=0)
    stream = client.chat.completions.create(
        model=MODEL, messages=QUESTION, stream=True, **local(answer_tokens=5000)
    )
    next(iter(stream))
    started = time.monotonic()
    local_server.stop()
    assert time.monotonic() - started < 2
    with pytest.raises(openai.APIConnectionError):
        for _ in stream:
            pass
    client.close()


async def test_module_clients_use_the_shared_server() -> None:
    shared = nbstream.local.server()
    assert nbstream.local.server() is shared
    assert nbstream.local.base_url() == shared.base_url
    fast = local(tokens_per_second=0, first_token_delay=0)
    with nbstream.local.client(max_retries=0) as client:
        assert str(client.base_url).startswith(shared.base_url)
        reply = client.chat.completions.create(model=MODEL, messages=QUESTION, **fast)
        assert reply.choices[0].message.content == answer(QUESTION)
    async with nbstream.local.async_client(max_retries=0) as aclient:
        reply = await aclient.chat.completions.create(model=MODEL, messages=QUESTION, **fast)
        assert reply.choices[0].message.content == answer(QUESTION)
    other = nbstream.local.client(base_url="http://127.0.0.1:9/v1")
    assert str(other.base_url).startswith("http://127.0.0.1:9/v1")


def test_importing_starts_nothing() -> None:
    code = (
        "import threading, nbstream.local as local\n"
        "assert local._shared is None\n"
        "assert not [t for t in threading.enumerate() if t.name.startswith('nbstream-local')]\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# -- the command line ---------------------------------------------------------------------


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _read_line(stream: Any, timeout: float) -> str:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        pytest.fail(f"no output within {timeout} s")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_cli_serve_prints_a_working_url_and_stops_on_signal(signum: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "nbstream", "serve", "--tokens-per-second", "0"],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = _read_line(process.stdout, timeout=30)
        match = re.fullmatch(r"nbstream local model at (http://127\.0\.0\.1:\d+/v1)\n", line)
        assert match, line
        url = match.group(1)
        models = httpx.get(f"{url}/models", timeout=5).json()
        assert [m["id"] for m in models["data"]] == [MODEL]
        process.send_signal(signum)
        out, err = process.communicate(timeout=10)
        assert process.returncode == 0, err
        assert "stopped" in out
        assert "Traceback" not in err
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_cli_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    from nbstream.cli import main

    for argv in (["serve", "--port", "70000"], ["serve", "--tokens-per-second", "-1"], []):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
    assert "port must be in 0..65535" in capsys.readouterr().err
