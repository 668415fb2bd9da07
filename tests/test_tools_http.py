"""The Chat's tool loop over real HTTP: the real ``openai`` SDK, sync and async as twins,
speaking to the embedded deterministic :class:`~nbstream.local.LocalServer` on 127.0.0.1.

Part A: the local model calls the offered tools by itself (the rule of
:mod:`nbstream.local.tool_calling`) and answers their results word for word
(:mod:`nbstream.local.tool_results`). Each test shows that the user's Python function
really runs, with the arguments the model chose; that its result (or its failure, or a
denial) goes back as a ``role: tool`` message naming the call; and what the SDK sent over
HTTP, request by request, as an httpx2 event hook saw it: the tools' schemas from the
signatures, type hints and docstrings, then the assistant's calls and their results.

Part E: providers stream tool calls in different shapes. Each transcript in
``tests/transcripts/tools/`` is a response body in one provider's documented chunk shape
(Azure's prompt filter chunk, vLLM's and Groq's and Mistral's arguments in pieces,
Ollama's and llama.cpp's whole call in one delta, Ollama's ``finish_reason: "stop"``
with a call). The server replays it byte for byte for the first request; an httpx2
transport wrapper takes the replay out of every later request (those that carry tool
results), so the local model answers them from the results, still over real HTTP. The
calls must be reassembled exactly, run once each, and answered, also with the body cut
into one HTTP chunk per byte.

The SDK's own HTTP library here is ``httpx2`` (``openai.DefaultHttpxClient`` is an
``httpx2.Client``), so the hooks and the transport wrapper are httpx2's: the path every
request takes when nobody passes a client of the older ``httpx``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Literal

import httpx2
import openai
import pytest

from nbstream import Chat
from nbstream.local import API_KEY, MODEL, LocalServer

pytestmark = pytest.mark.timeout(60)

Mode = Literal["sync", "async"]
Json = dict[str, Any]
TRANSCRIPTS = Path(__file__).with_name("transcripts") / "tools"
DENIED = "denied by the user"  # what the model gets for a denied call (nbstream.tools.calls)


# -- the tools --------------------------------------------------------------------------------


class Toolbox:
    """The tools of one test. Each records ``(name, arguments, result)`` when it runs, and
    the event loop an async one ran on."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, Json, str]] = []
        self.loops: list[asyncio.AbstractEventLoop] = []
        self._lock = threading.Lock()

    def _record(self, name: str, arguments: Json, result: str) -> str:
        with self._lock:
            self.ran.append((name, arguments, result))
        return result

    @property
    def calls(self) -> list[tuple[str, Json]]:
        """The calls that ran: ``(name, arguments)``, in the order they ran."""
        return [(name, arguments) for name, arguments, _ in self.ran]

    def get_weather(self, city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> str:
        """The weather in a city, right now.

        Args:
            city: The city's name.
            unit: The temperature scale.
        """
        degrees = 21 if unit == "celsius" else 70
        return self._record(
            "get_weather",
            {"city": city, "unit": unit},
            f"{city}: sunny, {degrees} degrees {unit}",
        )

    def add(self, a: int, b: int) -> str:
        """Add two integers."""
        return self._record("add", {"a": a, "b": b}, str(a + b))

    def multiply(self, a: int, b: int) -> str:
        """Multiply two integers."""
        return self._record("multiply", {"a": a, "b": b}, str(a * b))

    def divide(self, a: float, b: float) -> float:
        """Divide a by b."""
        self._record("divide", {"a": a, "b": b}, "")
        if b == 0:
            raise ValueError(f"cannot divide {a} by zero")
        return a / b

    async def fetch_quote(self, symbol: str) -> str:
        """The latest price of a stock.

        Args:
            symbol: The ticker symbol.
        """
        await asyncio.sleep(0.01)  # a real await: the loop runs meanwhile
        self.loops.append(asyncio.get_running_loop())
        return self._record("fetch_quote", {"symbol": symbol}, f"{symbol}: 42.5 USD")


def raise_line(function: Callable[..., Any]) -> int:
    """The line number of the ``raise`` statement in ``function``'s source."""
    lines, first = inspect.getsourcelines(function)
    return first + next(i for i, line in enumerate(lines) if line.strip().startswith("raise "))


# -- what the local model answers to tool results (nbstream.local.tool_results) --------------


def answered(*results: tuple[str, str]) -> str:
    """The local model's answer to ``(tool name, result)`` pairs that all succeeded."""
    sections = [f"**{name}** returned:\n\n```\n{content}\n```\n" for name, content in results]
    closing = (
        "That is the tool's result, word for word."
        if len(results) == 1
        else "Those are the tools' results, word for word."
    )
    return "\n".join([*sections, closing]) + "\n"


def answered_failure(name: str, content: str) -> str:
    """The local model's answer to one result that tells of a failure."""
    sentence = content if content.endswith((".", "!", "?")) else content + "."
    return (
        f"**{name}** failed:\n\n```\n{content}\n```\n\n"
        f"The tool **{name}** failed: {sentence} I will answer without it.\n"
    )


def call(call_id: str, name: str, arguments: str) -> Json:
    """One call as an assistant message lists it (OpenAI format)."""
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }


def calls_message(*calls: Json) -> Json:
    return {"role": "assistant", "content": "", "tool_calls": list(calls)}


def tool_message(call_id: str, content: str) -> Json:
    return {"role": "tool", "content": content, "tool_call_id": call_id}


# -- the HTTP between the SDK and the server -------------------------------------------------


def _without_replay(body: Json) -> Json:
    """``body`` less its ``nbstream.replay`` option, when its messages hold a tool result."""
    if not any(m.get("role") == "tool" for m in body.get("messages", [])):
        return body
    options = {k: v for k, v in (body.get("nbstream") or {}).items() if k != "replay"}
    trimmed = {k: v for k, v in body.items() if k != "nbstream"}
    return {**trimmed, "nbstream": options} if options else trimmed


def _rebuilt(request: httpx2.Request, body: Json) -> httpx2.Request:
    headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"content-length"]
    return httpx2.Request(
        request.method,
        request.url,
        headers=headers,
        content=json.dumps(body).encode("utf-8"),
        extensions=request.extensions,
    )


class ReplayFirst(httpx2.BaseTransport):
    """Real HTTP, except that a request carrying tool results loses its replay: the
    server's model then answers the results. Records each body as the server got it."""

    def __init__(self, forwarded: list[Json]) -> None:
        self._inner = httpx2.HTTPTransport()
        self._forwarded = forwarded

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = _without_replay(json.loads(request.read()))
        self._forwarded.append(body)
        return self._inner.handle_request(_rebuilt(request, body))

    def close(self) -> None:
        self._inner.close()


class AsyncReplayFirst(httpx2.AsyncBaseTransport):
    """Async twin of :class:`ReplayFirst`."""

    def __init__(self, forwarded: list[Json]) -> None:
        self._inner = httpx2.AsyncHTTPTransport()
        self._forwarded = forwarded

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = _without_replay(json.loads(await request.aread()))
        self._forwarded.append(body)
        return await self._inner.handle_async_request(_rebuilt(request, body))

    async def aclose(self) -> None:
        await self._inner.aclose()


class Link:
    """Chats over one kind of client (sync or async) to the server, and the request
    bodies the SDK sent (``sent``, an event hook's view) and the server got
    (``forwarded``, with ``replay_first``)."""

    def __init__(self, mode: Mode, base_url: str) -> None:
        self.mode = mode
        self.base_url = base_url
        self.sent: list[Json] = []
        self.forwarded: list[Json] = []
        self._chats: list[Chat] = []
        self._clients: list[openai.OpenAI | openai.AsyncOpenAI] = []

    def client(self, *, replay_first: bool = False) -> openai.OpenAI | openai.AsyncOpenAI:
        options: Json = {"base_url": self.base_url, "api_key": API_KEY, "max_retries": 0}
        made: openai.OpenAI | openai.AsyncOpenAI
        if self.mode == "sync":

            def hook(request: httpx2.Request) -> None:
                self.sent.append(json.loads(request.read()))

            transport = ReplayFirst(self.forwarded) if replay_first else None
            http = openai.DefaultHttpxClient(event_hooks={"request": [hook]}, transport=transport)
            made = openai.OpenAI(**options, http_client=http)
        else:

            async def ahook(request: httpx2.Request) -> None:
                self.sent.append(json.loads(await request.aread()))

            atransport = AsyncReplayFirst(self.forwarded) if replay_first else None
            ahttp = openai.DefaultAsyncHttpxClient(
                event_hooks={"request": [ahook]}, transport=atransport
            )
            made = openai.AsyncOpenAI(**options, http_client=ahttp)
        self._clients.append(made)
        return made

    def chat(self, *, replay_first: bool = False, **options: Any) -> Chat:
        """A Chat on a new client of this link's kind (made on the running loop)."""
        chat = Chat(self.client(replay_first=replay_first), MODEL, **options)
        self._chats.append(chat)
        return chat

    async def ask(self, chat: Chat, question: str) -> str:
        """``chat.ask`` with the sync client, ``await chat.asend`` with the async one."""
        if self.mode == "sync":
            return chat.ask(question)
        return await chat.asend(question)

    async def aclose(self) -> None:
        for chat in self._chats:
            chat.close()
        for client in self._clients:
            if isinstance(client, openai.AsyncOpenAI):
                await client.close()
            else:
                client.close()


@pytest.fixture(params=["sync", "async"])
async def link(request: pytest.FixtureRequest, server: LocalServer) -> AsyncIterator[Link]:
    made = Link(request.param, server.base_url)
    yield made
    await made.aclose()


def done(chat: Chat) -> bool:
    answer = chat.last_answer
    return answer is not None and answer.status == "done" and not chat.is_streaming


# -- Part A: the tool loop, the local model choosing the calls ----------------------------------


WEATHER_SCHEMA: Json = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city, right now.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city's name."},
                "unit": {
                    "type": "string",
                    "enum": ["celsius", "fahrenheit"],
                    "default": "celsius",
                    "description": "The temperature scale.",
                },
            },
            "required": ["city"],
        },
    },
}
OSLO = "Use get_weather for Oslo in fahrenheit"


async def test_one_call_runs_the_function_and_the_answer_quotes_its_result(link: Link) -> None:
    box = Toolbox()
    chat = link.chat(tools=[box.get_weather])
    answer = await link.ask(chat, OSLO)

    assert box.calls == [("get_weather", {"city": "Oslo", "unit": "fahrenheit"})]
    [(_, _, result)] = box.ran
    assert answer == answered(("get_weather", result))
    assert chat.messages == [
        {"role": "user", "content": OSLO},
        calls_message(call("call_1", "get_weather", '{"city": "Oslo", "unit": "fahrenheit"}')),
        tool_message("call_1", result),
        {"role": "assistant", "content": answer},
    ]
    assert done(chat)


async def test_the_requests_carry_the_schema_then_the_calls_and_results(link: Link) -> None:
    box = Toolbox()
    chat = link.chat(tools=[box.get_weather])
    answer = await link.ask(chat, OSLO)

    first, second = link.sent
    assert first["model"] == MODEL
    assert first["stream"] is True
    assert first["tools"] == [WEATHER_SCHEMA]
    assert first["messages"] == [{"role": "user", "content": OSLO}]
    [(_, _, result)] = box.ran
    assert second["tools"] == [WEATHER_SCHEMA]
    assert second["messages"] == [
        {"role": "user", "content": OSLO},
        calls_message(call("call_1", "get_weather", '{"city": "Oslo", "unit": "fahrenheit"}')),
        tool_message("call_1", result),
    ]
    assert answer == answered(("get_weather", result))


async def test_two_calls_in_one_round_both_run_and_go_back_in_order(link: Link) -> None:
    box = Toolbox()
    chat = link.chat(tools=[box.add, box.multiply])
    question = "Use add and multiply on 3 and 4"
    answer = await link.ask(chat, question)

    assert box.calls == [("add", {"a": 3, "b": 4}), ("multiply", {"a": 3, "b": 4})]
    (_, _, added), (_, _, multiplied) = box.ran
    assert (added, multiplied) == (str(3 + 4), str(3 * 4))
    round_trip = [
        {"role": "user", "content": question},
        calls_message(
            call("call_1", "add", '{"a": 3, "b": 4}'),
            call("call_2", "multiply", '{"a": 3, "b": 4}'),
        ),
        tool_message("call_1", added),
        tool_message("call_2", multiplied),
    ]
    assert len(link.sent) == 2
    assert link.sent[1]["messages"] == round_trip
    assert chat.messages == [*round_trip, {"role": "assistant", "content": answer}]
    assert answer == answered(("add", added), ("multiply", multiplied))


async def test_a_tool_that_raises_sends_its_error_back_and_the_answer_goes_on(link: Link) -> None:
    box = Toolbox()
    chat = link.chat(tools=[box.divide])
    answer = await link.ask(chat, "Use divide on 1 and 0")

    assert box.calls == [("divide", {"a": 1.0, "b": 0.0})]
    error = f"ValueError: cannot divide 1.0 by zero (raised in divide, {Path(__file__).name}:"
    error += f"{raise_line(Toolbox.divide)})"
    assert link.sent[1]["messages"][-1] == tool_message("call_1", error)
    assert chat.messages[-2:] == [
        tool_message("call_1", error),
        {"role": "assistant", "content": answer},
    ]
    assert answer == answered_failure("divide", error)
    assert done(chat)
    assert "## Tool result (`divide`)" in chat.export()
    assert "*(error)*" in chat.export()


@pytest.mark.parametrize("allow", [False, True], ids=["denied", "allowed"])
async def test_a_python_approver_decides_each_call(link: Link, allow: bool) -> None:
    box = Toolbox()
    asked: list[tuple[str, Json]] = []

    def approve(name: str, arguments: dict[str, Any]) -> bool:
        asked.append((name, arguments))
        return allow

    chat = link.chat(tools=[box.add], approve=approve)
    answer = await link.ask(chat, "Use add on 3 and 4")

    assert asked == [("add", {"a": 3, "b": 4})]
    if allow:
        assert box.calls == [("add", {"a": 3, "b": 4})]
        content, expected = "7", answered(("add", "7"))
    else:
        assert box.calls == []
        content, expected = DENIED, answered_failure("add", DENIED)
    assert link.sent[1]["messages"][-1] == tool_message("call_1", content)
    assert chat.messages[-2] == tool_message("call_1", content)
    assert answer == expected
    assert done(chat)


async def test_an_async_tool_runs_on_an_event_loop_with_either_client(link: Link) -> None:
    box = Toolbox()
    chat = link.chat(tools=[box.fetch_quote])
    answer = await link.ask(chat, "Use fetch_quote for 'NBS'")

    assert box.calls == [("fetch_quote", {"symbol": "NBS"})]
    [(_, _, result)] = box.ran
    assert answer == answered(("fetch_quote", result))
    assert chat.messages[1:3] == [
        calls_message(call("call_1", "fetch_quote", '{"symbol": "NBS"}')),
        tool_message("call_1", result),
    ]
    [loop] = box.loops
    # The async client's answer and tools run on the notebook's loop (here, the test's);
    # ask() blocks that loop, so with the sync client they run on another one.
    assert (loop is asyncio.get_running_loop()) is (link.mode == "async")


@pytest.mark.parametrize("limit", [1, 2])
async def test_the_round_limit_ends_the_answer_with_a_note(link: Link, limit: int) -> None:
    # The tool_calls option makes the local model call add in every round, results or not.
    box = Toolbox()
    always = {"nbstream": {"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]}}
    chat = link.chat(tools=[box.add], max_tool_rounds=limit, extra_body=always)
    answer = await link.ask(chat, "Keep adding")

    assert box.calls == [("add", {"a": 1, "b": 2})] * limit
    assert len(link.sent) == limit + 1
    note = (
        f"Stopped after {limit} rounds of tool calls (max_tool_rounds={limit}); "
        "the last calls were not run."
    )
    expected: list[Json] = [{"role": "user", "content": "Keep adding"}]
    for number in range(1, limit + 1):
        expected += [
            calls_message(call(f"call_{number}", "add", '{"a": 1, "b": 2}')),
            tool_message(f"call_{number}", "3"),
        ]
    assert link.sent[-1]["messages"] == expected
    last = f"call_{limit + 1}"
    assert chat.messages == [
        *expected,
        calls_message(call(last, "add", '{"a": 1, "b": 2}')),
        tool_message(last, f"not run: {note}"),
    ]
    assert answer == ""  # the last round made calls only; the note says why they did not run
    assert chat.export().rstrip().endswith("*(cancelled)*")
    assert f"*({note})*" in chat.export()
    assert done(chat)


# -- Part E: provider wire shapes, replayed through the tool loop -------------------------------

# What each transcript calls: (call id, name, arguments exactly as streamed), in order.
PROVIDER_CALLS: dict[str, list[tuple[str, str, str]]] = {
    "azure_arguments_in_pieces.sse": [
        ("call_8kQz2RvT5mWn1XpL4bYc7dHs", "get_weather", '{"city":"Lisbon","unit":"celsius"}'),
    ],
    "vllm_two_calls_in_pieces.sse": [
        (
            "chatcmpl-tool-3f9b1c7e5a2d4b8c9e0f1a2b3c4d5e6f",
            "get_weather",
            '{"city": "Zürich", "unit": "celsius"}',
        ),
        (
            "chatcmpl-tool-8d4e2f6a0c1b4a3e9f7d5c3b1a0e2f4d",
            "get_weather",
            '{"city": "Paris", "unit": "fahrenheit"}',
        ),
    ],
    "groq_arguments_in_pieces.sse": [
        ("call_f3kq", "get_weather", '{"city":"Osaka","unit":"celsius"}'),
    ],
    "mistral_arguments_in_pieces.sse": [
        ("D681PevKs", "get_weather", '{"city": "Marseille", "unit": "fahrenheit"}'),
    ],
    "ollama_whole_call.sse": [
        ("call_x5e0l2ti", "get_weather", '{"city":"Toronto","unit":"celsius"}'),
    ],
    "ollama_whole_call_finish_stop.sse": [
        ("call_7hq2v9ck", "get_weather", '{"city":"Montréal","unit":"celsius"}'),
    ],
    "llamacpp_whole_call.sse": [
        (
            "Wq3nZ8xKp2mR7vTb5yLc1dFh9jGs4aEu",
            "get_weather",
            '{"city":"Reykjavik","unit":"celsius"}',
        ),
    ],
}
WHOLE_CALL = (
    "ollama_whole_call.sse",
    "ollama_whole_call_finish_stop.sse",
    "llamacpp_whole_call.sse",
)


def body_of(name: str) -> str:
    return (TRANSCRIPTS / name).read_bytes().decode("utf-8")


def chunks_of(body: str) -> list[Json]:
    """The JSON chunks of an SSE body (every event but ``[DONE]``)."""
    events = [event for event in body.split("\n\n") if event]
    assert events[-1] == "data: [DONE]"
    assert all(event.startswith("data: ") for event in events)
    return [json.loads(event.removeprefix("data: ")) for event in events[:-1]]


def test_the_folder_holds_exactly_the_transcripts_listed() -> None:
    assert sorted(p.name for p in TRANSCRIPTS.iterdir()) == sorted(PROVIDER_CALLS)


@pytest.mark.parametrize("name", sorted(PROVIDER_CALLS))
def test_each_transcript_streams_the_calls_listed_in_its_providers_shape(name: str) -> None:
    chunks = chunks_of(body_of(name))
    deltas = [
        delta
        for chunk in chunks
        for choice in chunk["choices"]
        for delta in choice["delta"].get("tool_calls") or []
    ]
    by_index: dict[int, list[str]] = {}
    for delta in deltas:
        by_index.setdefault(delta["index"], ["", "", ""])
        joined = by_index[delta["index"]]
        joined[0] = delta.get("id") or joined[0]
        joined[1] = delta["function"].get("name") or joined[1]
        joined[2] += delta["function"].get("arguments") or ""
    assert [tuple(by_index[i]) for i in sorted(by_index)] == PROVIDER_CALLS[name]
    finishes = [c["finish_reason"] for chunk in chunks for c in chunk["choices"]]
    assert [f for f in finishes if f] == ["stop" if "finish_stop" in name else "tool_calls"]
    if name in WHOLE_CALL:  # the whole call, id to arguments, in one delta
        assert len(deltas) == 1
    else:  # arguments in pieces over several chunks
        assert len(deltas) >= 2 * len(PROVIDER_CALLS[name]) + 2
        assert all(len(d["function"].get("arguments") or "") < 20 for d in deltas)
    if name.startswith("azure"):
        assert chunks[0]["choices"] == []
        assert "prompt_filter_results" in chunks[0]
        assert all("content_filter_results" in c for chunk in chunks for c in chunk["choices"])
    if name.startswith("groq"):
        assert "usage" in chunks[-1]["x_groq"]


CUTS = ["whole", "every_byte"]


@pytest.mark.parametrize("cut", CUTS)
@pytest.mark.parametrize("name", sorted(PROVIDER_CALLS))
async def test_a_providers_calls_run_once_and_are_answered(link: Link, name: str, cut: str) -> None:
    body = body_of(name)
    size = len(body.encode("utf-8"))
    replay: Json = {"body": body, "splits": list(range(1, size)) if cut == "every_byte" else []}
    box = Toolbox()
    chat = link.chat(
        replay_first=True, tools=[box.get_weather], extra_body={"nbstream": {"replay": replay}}
    )
    answer = await link.ask(chat, "What is the weather like?")

    expected = PROVIDER_CALLS[name]
    assert box.calls == [(n, json.loads(arguments)) for _, n, arguments in expected]
    results = [result for _, _, result in box.ran]
    round_trip = [
        {"role": "user", "content": "What is the weather like?"},
        calls_message(*(call(*c) for c in expected)),
        *(tool_message(c[0], result) for c, result in zip(expected, results, strict=True)),
    ]
    assert chat.messages == [*round_trip, {"role": "assistant", "content": answer}]
    assert answer == answered(*(("get_weather", result) for result in results))
    assert done(chat)
    # The first request was replayed; the second, with the results, went to the model.
    first, second = link.forwarded
    assert first["nbstream"] == {"replay": replay}
    assert "nbstream" not in second
    assert second["messages"] == round_trip
    assert link.sent[1]["nbstream"] == {"replay": replay}  # as the SDK sent it
