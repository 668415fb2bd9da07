"""The ``/api/chat/stream`` relay, served by a real uvicorn, against the local model.

The server side (``nbstream.relay.create_app``): the content adds up to the model's
answer, ``done`` carries the finish reason and usage, a fault mid-stream gives ``error``
after the partial text, models and sizes are checked, heartbeats fill silences, a
client that goes away closes the upstream (seen at the upstream), and 20 streams at once
are all exact. The reading side (``relay.stream`` / ``astream`` / ``client``): a relay's
bytes in odd pieces (inside UTF-8 sequences, across CRLFs) read exactly, the seed's
minimal events too, and a stream without ``done`` is incomplete.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from nbstream import Chat, StreamView, relay
from nbstream.errors import IncompleteStreamError, StreamError
from nbstream.local import MODEL, LocalServer
from nbstream.local.model import answer, prompt_tokens, tokenize
from nbstream.relay import RelayHTTPError, RelayLimits
from tests.local_fixtures import local_usage
from tests.relay_servers import serving

pytestmark = pytest.mark.timeout(60)

QUESTION = [{"role": "user", "content": "How do I stream with the async client?"}]
KEY = "sk-relay-secret-123456"


@pytest.fixture(scope="module")
def model_server() -> Iterator[LocalServer]:
    with LocalServer(tokens_per_second=0, first_token_delay=0) as running:
        yield running


def upstream(server: LocalServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)


@pytest.fixture(scope="module")
def relay_url(model_server: LocalServer) -> Iterator[str]:
    app = relay.create_app(upstream(model_server), MODEL, models=[MODEL, "second-model"])
    with serving(app) as url:
        yield f"{url}/api/chat/stream"


def events_of(body: str) -> list[dict[str, Any]]:
    """The JSON of each ``data:`` event, read independently of nbstream's reader."""
    return [
        json.loads(block[len("data: ") :])
        for block in body.split("\n\n")
        if block.startswith("data: ")
    ]


def post(url: str, body: object, **options: Any) -> httpx.Response:
    return httpx.post(url, json=body, timeout=30, **options)


# -- the server side --------------------------------------------------------------------------


def test_the_content_adds_up_to_the_answer_and_done_says_how_it_ended(relay_url: str) -> None:
    reply = post(relay_url, {"messages": QUESTION})
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    events = events_of(reply.text)
    expected = answer(QUESTION)
    assert "".join(e.get("content", "") for e in events) == expected
    usage = local_usage(QUESTION, expected)
    assert events[-1] == {"done": True, "finish_reason": "stop", "usage": usage}
    # Coalesced: far fewer events than tokens, each carrying many.
    assert len(events) - 1 < usage["completion_tokens"] / 4


def test_reasoning_streams_apart_from_the_content(model_server: LocalServer) -> None:
    app = relay.create_app(
        upstream(model_server), MODEL, extra_body={"nbstream": {"reasoning": "Thinking hard."}}
    )
    with serving(app) as url:
        events = events_of(post(f"{url}/api/chat/stream", {"messages": QUESTION}).text)
    assert "".join(e.get("reasoning", "") for e in events) == "Thinking hard."
    assert "".join(e.get("content", "") for e in events) == answer(QUESTION)


def test_a_fault_mid_stream_gives_error_after_the_partial_text(model_server: LocalServer) -> None:
    app = relay.create_app(
        upstream(model_server), MODEL, extra_body={"nbstream": {"fault": "error", "fault_after": 7}}
    )
    with serving(app) as url:
        events = events_of(post(f"{url}/api/chat/stream", {"messages": QUESTION}).text)
    assert "".join(e.get("content", "") for e in events) == "".join(tokenize(answer(QUESTION))[:7])
    assert "done" not in events[-1]
    error = events[-1]["error"]
    assert error.startswith("APIError: The nbstream local model failed mid-stream")
    assert KEY not in error


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"messages": QUESTION, "model": "gpt-5"}, 400, "model 'gpt-5' is not offered here"),
        ({"messages": []}, 400, "'messages' must be a non-empty list"),
        ({"messages": [{"role": "system", "content": "Obey."}]}, 400, "the system prompt"),
        ({"messages": [{"role": "user", "content": 3}]}, 400, "content must be a string"),
        ({"messages": [{"role": "assistant", "content": "Hi"}]}, 400, "must be the user's"),
        ({"messages": [{"role": "user", "content": "x" * 100_001}]}, 413, "the limit is 100,000"),
        ({"messages": QUESTION * 201}, 413, "the limit is 200 per request"),
    ],
)
def test_bad_requests_get_a_clear_refusal(
    relay_url: str, body: object, status: int, message: str
) -> None:
    reply = post(relay_url, body)
    assert reply.status_code == status
    assert message in reply.json()["error"]


def test_a_body_over_the_limit_gets_a_413(model_server: LocalServer) -> None:
    app = relay.create_app(upstream(model_server), MODEL, limits=RelayLimits(max_body_bytes=500))
    with serving(app) as url:
        reply = post(
            f"{url}/api/chat/stream", {"messages": [{"role": "user", "content": "x" * 600}]}
        )
        assert reply.status_code == 413
        assert "the limit is 500" in reply.json()["error"]
        reply = httpx.post(f"{url}/api/chat/stream", content=b"{not json", timeout=10)
        assert (reply.status_code, reply.json()) == (
            400,
            {"error": "the request body must be JSON"},
        )


def test_a_model_from_the_list_is_asked(relay_url: str) -> None:
    reply = post(relay_url, {"messages": QUESTION, "model": "second-model"})
    assert reply.status_code == 200
    assert events_of(reply.text)[-1]["done"] is True
    models = httpx.get(relay_url.replace("/stream", "/models"), timeout=10).json()
    assert models == {"models": [MODEL, "second-model"], "default": MODEL}


def test_heartbeats_fill_the_models_silence() -> None:
    with LocalServer(tokens_per_second=0, first_token_delay=0.6) as slow:
        app = relay.create_app(upstream(slow), MODEL, heartbeat=0.1)
        with serving(app) as url:
            body = post(f"{url}/api/chat/stream", {"messages": QUESTION}).text
    before_first = body[: body.index("data: ")]
    assert before_first.count(": keep-alive\n\n") >= 3


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_a_client_that_goes_away_closes_the_upstream(kind: str) -> None:
    with LocalServer(tokens_per_second=40, first_token_delay=0) as paced:
        client: object = (
            upstream(paced)
            if kind == "async"
            else openai.OpenAI(base_url=paced.base_url, api_key=KEY, max_retries=0)
        )
        with serving(relay.create_app(client, MODEL)) as url:
            with httpx.stream(
                "POST", f"{url}/api/chat/stream", json={"messages": QUESTION}, timeout=30
            ) as reply:
                for line in reply.iter_lines():
                    if line.startswith("data: "):
                        break  # the answer has started...
                assert paced.stats.snapshot().active_streams == 1
            gone = time.monotonic()  # ...and the browser is gone
            while paced.stats.snapshot().active_streams:
                assert time.monotonic() - gone < 1.0, "the upstream is still streaming"
                time.sleep(0.02)
        stats = paced.stats.snapshot()
        assert stats.streams_disconnected == 1
        assert stats.streams_completed == 0


def test_twenty_streams_at_once_are_all_exact(relay_url: str) -> None:
    questions = [f"Question number {n}: what is nbstream?" for n in range(20)]

    async def one(question: str) -> str:
        view = StreamView()
        messages = [{"role": "user", "content": question}]
        return await view.astream(relay.astream(relay_url, messages))

    async def main() -> list[str]:
        return await asyncio.gather(*(one(q) for q in questions))

    replies = asyncio.run(main())
    assert replies == [answer([{"role": "user", "content": q}]) for q in questions]


def test_cors_is_off_unless_origins_are_given(model_server: LocalServer) -> None:
    preflight = {
        "Origin": "https://example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    with serving(relay.create_app(upstream(model_server), MODEL)) as url:
        reply = httpx.options(f"{url}/api/chat/stream", headers=preflight, timeout=10)
        assert "access-control-allow-origin" not in reply.headers
    app = relay.create_app(upstream(model_server), MODEL, cors_origins=["https://example.com"])
    with serving(app) as url:
        reply = httpx.options(f"{url}/api/chat/stream", headers=preflight, timeout=10)
        assert reply.headers["access-control-allow-origin"] == "https://example.com"


def test_the_page_and_its_files_are_served_with_a_strict_policy(relay_url: str) -> None:
    base = relay_url.removesuffix("api/chat/stream")
    page = httpx.get(base, timeout=10)
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script type="module" src="static/relay.js">' in page.text
    script = httpx.get(f"{base}static/relay.js", timeout=10)
    assert script.headers["content-type"].startswith("text/javascript")
    assert "api/chat/stream" in script.text
    assert httpx.get(f"{base}static/../cli.py", timeout=10).status_code == 404


# -- the reading side --------------------------------------------------------------------------


def test_stream_and_astream_read_the_relay_into_a_view(relay_url: str) -> None:
    view = StreamView()
    assert view.stream(relay.stream(relay_url, QUESTION)) == answer(QUESTION)
    assert view.finish_reason == "stop"
    assert view.usage is not None
    assert view.usage["prompt_tokens"] == prompt_tokens(QUESTION)
    other = StreamView()
    assert asyncio.run(other.astream(relay.astream(relay_url, QUESTION))) == answer(QUESTION)
    assert other.usage == view.usage


def test_a_refused_request_shows_in_the_view(relay_url: str) -> None:
    view = StreamView()
    with pytest.raises(RelayHTTPError) as raised:
        view.stream(relay.stream(relay_url, QUESTION, model="gpt-5"))
    assert raised.value.status_code == 400
    assert view.error == (
        "RelayHTTPError: HTTP 400: model 'gpt-5' is not offered here; choose one of"
        " 'nbstream-local', 'second-model'"
    )


def test_chat_holds_a_conversation_through_a_relay(relay_url: str) -> None:
    chat = Chat(relay.client(relay_url))
    first = chat.ask("What is nbstream?")
    assert first == answer([{"role": "user", "content": "What is nbstream?"}])
    second = chat.ask("How do I stream with the async client?")
    assert second == answer(QUESTION)
    assert [m["role"] for m in chat.messages] == ["user", "assistant", "user", "assistant"]
    assert chat.backend == f"relay · {relay_url.split('/')[2]}"


# A relay's reply written in odd pieces: multi-byte characters, CRLF line ends, a
# heartbeat, an event over two data lines, and usage. Served by a real uvicorn.
ODD_BODY = (
    ": keep-alive\r\n\r\n"
    'data: {"reasoning": "Denke 🤔 nach"}\r\n\r\n'
    'data: {"content": "Grüße — "}\r\n\r\n'
    'data: {"content": "👋🏽 und "}\r\n\r\n'
    'data: {"content":\r\ndata: "日本語"}\r\n\r\n'
    'data: {"done": true, "finish_reason": "length", '
    '"usage": {"prompt_tokens": 4, "completion_tokens": 9, "total_tokens": 13}}\r\n\r\n'
).encode()
SEED_BODY = (
    b'data: {"content": "Hello"}\n\n'
    b'data: {"content": ", world \xc3\xa9"}\n\n'
    b'data: {"done": true}\n\n'
)


def _odd_app() -> Starlette:
    """Writes the body a request names (``x-odd-body``), cut at the offsets it asks for
    (``x-odd-cuts``), one piece per write: the relay protocol itself sends only the
    messages and the model, so the test's wishes ride in headers."""
    bodies = {
        "odd": ODD_BODY,
        "seed": SEED_BODY,
        "cut": SEED_BODY[: SEED_BODY.index(b'data: {"done"')],
        "error": b'data: {"content": "Half"}\n\ndata: {"error": "upstream overloaded"}\n\n',
    }

    async def reply(request: Request) -> StreamingResponse:
        body = bodies[request.headers["x-odd-body"]]
        cuts = [0, *sorted(set(json.loads(request.headers["x-odd-cuts"]))), len(body)]

        async def pieces() -> AsyncIterator[bytes]:
            for start, end in itertools.pairwise(cuts):
                if end > start:
                    yield body[start:end]
                    await asyncio.sleep(0)  # each piece its own write

        return StreamingResponse(pieces(), media_type="text/event-stream")

    return Starlette(routes=[Route("/odd", reply, methods=["POST"])])


@pytest.fixture(scope="module")
def odd_url() -> Iterator[str]:
    with serving(_odd_app()) as url:
        yield f"{url}/odd"


def read_odd(
    odd_url: str, body: str, cuts: list[int], mode: str, view: StreamView | None = None
) -> StreamView:
    """Read the named body through relay.stream (sync) or relay.astream, into a view."""
    view = view or StreamView()
    headers = {"x-odd-body": body, "x-odd-cuts": json.dumps(cuts)}
    if mode == "sync":
        view.stream(relay.stream(odd_url, QUESTION, headers=headers))
    else:
        asyncio.run(view.astream(relay.astream(odd_url, QUESTION, headers=headers)))
    return view


def check_odd(view: StreamView) -> None:
    assert view.reasoning == "Denke 🤔 nach"
    assert view.content == "Grüße — 👋🏽 und 日本語"
    assert view.finish_reason == "length"
    assert view.usage == {"prompt_tokens": 4, "completion_tokens": 9, "total_tokens": 13}
    assert view.error is None


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_relay_cut_at_every_byte_reads_exactly(odd_url: str, mode: str) -> None:
    check_odd(read_odd(odd_url, "odd", list(range(1, len(ODD_BODY))), mode))


# Offsets most likely to hurt: inside UTF-8 sequences, and around the CRLFs.
_INSIDE = [i for i, byte in enumerate(ODD_BODY) if byte & 0xC0 == 0x80 or byte in b"\r\n"]


@pytest.mark.parametrize("mode", ["sync", "async"])
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cuts=st.lists(
        st.one_of(st.integers(1, len(ODD_BODY) - 1), st.sampled_from(_INSIDE)),
        max_size=40,
        unique=True,
    )
)
def test_a_relay_cut_anywhere_reads_exactly(odd_url: str, mode: str, cuts: list[int]) -> None:
    check_odd(read_odd(odd_url, "odd", cuts, mode))


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_seeds_minimal_events_are_read(odd_url: str, mode: str) -> None:
    view = read_odd(odd_url, "seed", [30, 31, 50], mode)
    assert view.content == "Hello, world é"
    assert view.finish_reason == "stop"
    assert view.error is None


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_relay_that_ends_without_done_is_incomplete(odd_url: str, mode: str) -> None:
    view = StreamView()
    with pytest.raises(IncompleteStreamError):
        read_odd(odd_url, "cut", [7], mode, view)
    assert view.content == "Hello, world é"  # kept
    assert view.error is not None
    assert "before its done event" in view.error


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_an_error_event_keeps_the_text_before_it(odd_url: str, mode: str) -> None:
    view = StreamView()
    with pytest.raises(StreamError, match="upstream overloaded"):
        read_odd(odd_url, "error", [5], mode, view)
    assert view.content == "Half"
    assert view.error == "StreamError: the relay reported an error: upstream overloaded"
