"""The local model calls tools itself, with no ``extra_body``: the real ``openai`` SDK
over HTTP to a :class:`LocalServer` on 127.0.0.1, every request with the sync and the
async client (the ``api`` fixture), and exact values, since the model is deterministic.

The rule under test is :mod:`nbstream.local.tool_calling`'s (which tools, which
arguments) and :mod:`nbstream.local.tool_results`'s (the answer to their results).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseFunctionToolCall

from nbstream.local import API_KEY, MODEL, LocalServer, answer, tokenize
from nbstream.local.tool_calling import calling_reasoning
from nbstream.local.tools import ToolCall

pytestmark = pytest.mark.timeout(60)


def schema(required: list[str] | None = None, **properties: Any) -> dict[str, Any]:
    """An ``object`` schema of ``properties``, all required unless ``required`` says."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


def tool(name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """A chat completions function tool."""
    return {"type": "function", "function": {"name": name, "parameters": parameters}}


NUMBERS = schema(a={"type": "number"}, b={"type": "number"})
UNITS = ["celsius", "fahrenheit"]
WEATHER = schema(
    ["city"],
    city={"type": "string"},
    unit={"type": "string", "enum": UNITS},
    days={"type": "integer"},
)
ARITHMETIC = [tool("add", NUMBERS), tool("multiply", NUMBERS)]


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


# -- the sync/async twins ------------------------------------------------------------------


class Api:
    """The server through a real openai client, sync or async, as one async-shaped API."""

    def __init__(self, kind: str, base_url: str) -> None:
        self.kind = kind
        options: dict[str, Any] = {"base_url": base_url, "api_key": API_KEY, "max_retries": 0}
        self.sync = openai.OpenAI(**options) if kind == "sync" else None
        self.async_ = openai.AsyncOpenAI(**options) if kind == "async" else None

    async def create(self, **kwargs: Any) -> ChatCompletion:
        """A whole chat completion."""
        if self.sync is not None:
            completion: ChatCompletion = self.sync.chat.completions.create(model=MODEL, **kwargs)
            return completion
        assert self.async_ is not None
        acompletion: ChatCompletion = await self.async_.chat.completions.create(
            model=MODEL, **kwargs
        )
        return acompletion

    async def chunks(self, **kwargs: Any) -> list[ChatCompletionChunk]:
        """The chunks of a streamed chat completion, as the SDK parsed them."""
        if self.sync is not None:
            return list(self.sync.chat.completions.create(model=MODEL, stream=True, **kwargs))
        assert self.async_ is not None
        stream = await self.async_.chat.completions.create(model=MODEL, stream=True, **kwargs)
        return [chunk async for chunk in stream]

    async def streamed(self, **kwargs: Any) -> ChatCompletion:
        """A streamed chat completion as the SDK's own stream helper assembles it."""
        if self.sync is not None:
            with self.sync.chat.completions.stream(model=MODEL, **kwargs) as stream:
                return stream.get_final_completion()
        assert self.async_ is not None
        async with self.async_.chat.completions.stream(model=MODEL, **kwargs) as astream:
            return await astream.get_final_completion()

    async def response_events(self, **kwargs: Any) -> list[Any]:
        """The events of a streamed Responses API call."""
        if self.sync is not None:
            return list(self.sync.responses.create(model=MODEL, stream=True, **kwargs))
        assert self.async_ is not None
        stream = await self.async_.responses.create(model=MODEL, stream=True, **kwargs)
        return [event async for event in stream]

    async def response(self, **kwargs: Any) -> Response:
        """A whole Responses API call."""
        if self.sync is not None:
            response: Response = self.sync.responses.create(model=MODEL, **kwargs)
            return response
        assert self.async_ is not None
        aresponse: Response = await self.async_.responses.create(model=MODEL, **kwargs)
        return aresponse

    async def aclose(self) -> None:
        if self.sync is not None:
            self.sync.close()
        if self.async_ is not None:
            await self.async_.close()


@pytest.fixture(params=["sync", "async"])
async def api(request: pytest.FixtureRequest, server: LocalServer) -> AsyncIterator[Api]:
    client = Api(request.param, server.base_url)
    yield client
    await client.aclose()


def calls_of(completion: ChatCompletion) -> list[tuple[str, str, str]]:
    """(id, name, arguments) of a completion's tool calls."""
    return [
        (call.id, call.function.name, call.function.arguments)
        for call in completion.choices[0].message.tool_calls or []
        if call.type == "function"
    ]


def assembled(chunks: list[ChatCompletionChunk]) -> list[tuple[str, str, str]]:
    """(id, name, arguments) of the calls the deltas make, put together by index by hand:
    a call's first delta carries its id, type and name, the others only arguments."""
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            assert delta.function is not None
            if delta.index not in calls:
                assert delta.id is not None
                assert delta.type == "function"
                assert delta.function.name is not None
                calls[delta.index] = {"id": delta.id, "name": delta.function.name}
                calls[delta.index]["arguments"] = delta.function.arguments or ""
            else:
                assert (delta.id, delta.function.name) == (None, None)
                calls[delta.index]["arguments"] += delta.function.arguments or ""
    return [(c["id"], c["name"], c["arguments"]) for _, c in sorted(calls.items())]


# -- which tools, which arguments ------------------------------------------------------------

INT, NUM, STR, BOOL = ({"type": kind} for kind in ("integer", "number", "string", "boolean"))


def fn(name: str, *optional: str, **properties: Any) -> dict[str, Any]:
    """A function tool of these parameters, all required but the ``optional`` ones."""
    return tool(name, schema([p for p in properties if p not in optional], **properties))


UNIT = {"type": "string", "enum": UNITS}
KM = {"enum": ["km", "mi"]}  # no type: an enum is enough
# What pydantic writes for `def lookup(unit: Unit, id: int | None = None)`.
LOOKUP = {
    "type": "object",
    "properties": {
        "unit": {"$ref": "#/$defs/Unit"},
        "id": {"anyOf": [INT, {"type": "null"}], "default": None},
    },
    "required": ["unit"],
    "$defs": {"Unit": {"enum": ["c", "f"], "type": "string"}},
}
CASES = [  # (the tool offered, the message, the arguments of the one call expected)
    (fn("add", a=INT, b=INT), "Use add on 3 and 4", {"a": 3, "b": 4}),
    (fn("add", a=NUM, b=NUM), "add 2.5 and -1, please", {"a": 2.5, "b": -1}),
    (fn("add", a=INT, b=INT), "add 2.5 and 3", {"a": 3, "b": 0}),  # ints only
    (tool("get_weather", WEATHER), "Use get_weather for New York", {"city": "New York"}),
    (
        tool("get_weather", WEATHER),
        "GET WEATHER in Paris, in fahrenheit, for 3 days",
        {"city": "Paris", "unit": "fahrenheit", "days": 3},
    ),
    (tool("get_weather", WEATHER), "get_weather please", {"city": ""}),
    (tool("getWeather", WEATHER), "get weather for Zürich", {"city": "Zürich"}),
    (
        fn("search", "limit", query=STR, limit=INT),
        'search for "machine learning" and show 5',
        {"query": "machine learning", "limit": 5},
    ),
    (
        fn("translate", text=STR, language=STR),
        "translate 'good morning' to French",
        {"text": "good morning", "language": "French"},
    ),
    (
        fn("set_alarm", time=STR, repeat=BOOL),
        "set alarm for “7:30”, repeat: yes",
        {"time": "7:30", "repeat": True},
    ),
    (fn("set_alarm", time=STR, repeat=BOOL), "set_alarm", {"time": "", "repeat": False}),
    (fn("convert", value=NUM, to=KM), "convert 12 to MI", {"value": 12, "to": "mi"}),
    (fn("convert", value=NUM, to=KM), "convert 12", {"value": 12, "to": "km"}),  # the first
    (
        fn("total", numbers={"type": "array", "items": NUM}),
        "total of 1, 2.5 and -3",
        {"numbers": [1, 2.5, -3]},
    ),
    (
        fn("tag", "tags", note=STR, tags={"type": "array"}),
        "tag 'report.pdf' with urgent, finance",
        {"note": "report.pdf", "tags": ["urgent", "finance"]},
    ),
    (tool("lookup", LOOKUP), "lookup 42 in F", {"unit": "f", "id": 42}),
]


@pytest.mark.parametrize(("offered", "message", "arguments"), CASES, ids=[c[1] for c in CASES])
async def test_a_named_tool_is_called_with_arguments_by_the_rule(
    api: Api, offered: dict[str, Any], message: str, arguments: dict[str, Any]
) -> None:
    name = offered["function"]["name"]
    call = ("call_1", name, json.dumps(arguments, ensure_ascii=False))
    whole = await api.create(messages=user(message), tools=[offered])
    assert whole.choices[0].finish_reason == "tool_calls"
    assert whole.choices[0].message.content is None
    assert calls_of(whole) == [call]
    chunks = await api.chunks(messages=user(message), tools=[offered])
    assert assembled(chunks) == [call]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


async def test_two_tools_named_are_two_calls_in_one_round(api: Api) -> None:
    message = user("Use multiply and add on 3 and 4")
    expected = [
        ("call_1", "multiply", '{"a": 3, "b": 4}'),
        ("call_2", "add", '{"a": 3, "b": 4}'),
    ]
    chunks = await api.chunks(
        messages=message, tools=ARITHMETIC, stream_options={"include_usage": True}
    )
    assert assembled(chunks) == expected
    pieces = [c for c in chunks if c.choices and c.choices[0].delta.tool_calls]
    assert len(pieces) == 2 + sum(len(tokenize(arguments)) for _, _, arguments in expected)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    usage = chunks[-1].usage
    assert usage is not None
    assert usage.completion_tokens == len(pieces)
    assert calls_of(await api.streamed(messages=message, tools=ARITHMETIC)) == expected
    assert calls_of(await api.create(messages=message, tools=ARITHMETIC)) == expected


async def test_only_the_first_named_without_parallel_tool_calls(api: Api) -> None:
    whole = await api.create(
        messages=user("add and multiply 3 and 4"), tools=ARITHMETIC, parallel_tool_calls=False
    )
    assert calls_of(whole) == [("call_1", "add", '{"a": 3, "b": 4}')]


async def test_no_tool_named_is_the_usual_answer(api: Api) -> None:
    message = user("What is nbstream?")
    whole = await api.create(messages=message, tools=ARITHMETIC)
    assert whole.choices[0].finish_reason == "stop"
    assert whole.choices[0].message.content == answer(message)
    assert whole.choices[0].message.tool_calls is None


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("none", []),
        ("auto", [("call_1", "add", '{"a": 3, "b": 4}')]),
        ("required", [("call_1", "add", '{"a": 3, "b": 4}')]),
        (
            {"type": "function", "function": {"name": "multiply"}},
            [("call_1", "multiply", '{"a": 3, "b": 4}')],
        ),
    ],
    ids=["none", "auto", "required", "named"],
)
async def test_tool_choice(api: Api, choice: Any, expected: list[tuple[str, str, str]]) -> None:
    message = user("add 3 and 4")
    whole = await api.create(messages=message, tools=ARITHMETIC, tool_choice=choice)
    assert calls_of(whole) == expected
    if not expected:
        assert whole.choices[0].message.content == answer(message)


async def test_required_with_no_tool_named_calls_the_first_one(api: Api) -> None:
    whole = await api.create(messages=user("Hello"), tools=ARITHMETIC, tool_choice="required")
    assert calls_of(whole) == [("call_1", "add", '{"a": 0, "b": 0}')]


async def test_the_tool_calls_option_comes_first(api: Api) -> None:
    option = {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}
    whole = await api.create(
        messages=user("add 3 and 4"), tools=ARITHMETIC, extra_body={"nbstream": option}
    )
    assert calls_of(whole) == [("call_1", "get_weather", '{"city": "Oslo"}')]


async def test_reasoning_before_a_call_is_about_the_call(api: Api) -> None:
    chunks = await api.chunks(
        messages=user("add 3 and 4"), tools=ARITHMETIC, extra_body={"nbstream": {"reasoning": True}}
    )
    reasoning = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning_content") or ""
        for c in chunks
        if c.choices
    )
    assert reasoning == calling_reasoning([ToolCall("add", '{"a": 3, "b": 4}')])
    assert assembled(chunks) == [("call_1", "add", '{"a": 3, "b": 4}')]


async def test_the_same_request_streams_the_same_deltas(api: Api) -> None:
    request = {"messages": user("Use multiply and add on 3 and 4"), "tools": ARITHMETIC}
    first, again = await api.chunks(**request), await api.chunks(**request)
    assert [c.choices[0].delta.model_dump() for c in first if c.choices] == [
        c.choices[0].delta.model_dump() for c in again if c.choices
    ]


# -- after the results ---------------------------------------------------------------------


def after(results: list[str], message: str = "Use add and multiply on 3 and 4") -> list[Any]:
    """The conversation after the model called add and multiply, with these results."""
    calls = [
        {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": "{}"}}
        for i, n in ((1, "add"), (2, "multiply"))
    ]
    return [
        *user(message),
        {"role": "assistant", "content": None, "tool_calls": calls[: len(results)]},
        *(
            {"role": "tool", "tool_call_id": f"call_{i}", "content": result}
            for i, result in enumerate(results, start=1)
        ),
    ]


async def test_results_are_answered_each_verbatim(api: Api) -> None:
    # The fence is longer than any run of backticks in the result.
    expected = (
        "**add** returned:\n\n```\n7\n```\n\n"
        '**multiply** returned:\n\n````\n{"product": 12, "note": "é ```"}\n````\n\n'
        "Those are the tools' results, word for word.\n"
    )
    messages = after(["7", '{"product": 12, "note": "é ```"}'])
    whole = await api.create(messages=messages, tools=ARITHMETIC)
    assert whole.choices[0].finish_reason == "stop"
    assert whole.choices[0].message.content == expected
    assert (await api.streamed(messages=messages, tools=ARITHMETIC)).choices[
        0
    ].message.content == expected


@pytest.mark.parametrize(
    ("result", "said"),
    [
        ("ValueError: unknown city 'Atlantis'", "ValueError: unknown city 'Atlantis'."),
        (
            "ZeroDivisionError: division by zero (raised in divide, tools.py:2)",
            "ZeroDivisionError: division by zero (raised in divide, tools.py:2).",
        ),
        (
            "Traceback (most recent call last):\n  File \"x.py\", line 1\nKeyError: 'x'\n",
            "KeyError: 'x'.",
        ),
        ("denied by the user", "denied by the user."),
    ],
    ids=["exception", "nbstream-error", "traceback", "denied"],
)
async def test_a_failed_result_is_said_and_not_called_again(
    api: Api, result: str, said: str
) -> None:
    fence = "```"
    expected = (
        f"**add** failed:\n\n{fence}\n{result.rstrip()}\n{fence}\n\n"
        f"The tool **add** failed: {said} I will answer without it.\n"
    )
    # The message still names the tools, and a call is required: after results the model
    # answers all the same, and calls nothing.
    whole = await api.create(messages=after([result]), tools=ARITHMETIC, tool_choice="required")
    assert whole.choices[0].finish_reason == "stop"
    assert whole.choices[0].message.content == expected
    assert whole.choices[0].message.tool_calls is None


async def test_a_whole_round_trip_through_the_sdk(api: Api) -> None:
    """The SDK's own assistant message, sent back with the results, as an agent loop does."""
    messages: list[Any] = user("Use add and multiply on 3 and 4")
    first = await api.create(messages=messages, tools=ARITHMETIC)
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages += [
        {"role": "tool", "tool_call_id": "call_1", "content": "7"},
        {"role": "tool", "tool_call_id": "call_2", "content": "12"},
    ]
    second = await api.create(messages=messages, tools=ARITHMETIC)
    assert second.choices[0].message.content == (
        "**add** returned:\n\n```\n7\n```\n\n**multiply** returned:\n\n```\n12\n```\n\n"
        "Those are the tools' results, word for word.\n"
    )
    # A new question names a tool again: the next calls' ids count on.
    messages += [
        {"role": "assistant", "content": second.choices[0].message.content},
        *user("now add 7 and 12"),
    ]
    third = await api.create(messages=messages, tools=ARITHMETIC)
    assert calls_of(third) == [("call_3", "add", '{"a": 7, "b": 12}')]


# -- the Responses API -----------------------------------------------------------------------

RESPONSE_TOOLS = [{"type": "function", "name": "add", "parameters": NUMBERS}]


def function_calls(response: Response) -> list[tuple[str, str, str, str]]:
    """(type, call id, name, arguments) of every output item, all function calls."""
    calls = [item for item in response.output if isinstance(item, ResponseFunctionToolCall)]
    assert len(calls) == len(response.output), response.output
    return [(c.type, c.call_id, c.name, c.arguments) for c in calls]


async def test_responses_calls_are_function_call_items(api: Api) -> None:
    events = await api.response_events(input="Use add on 3 and 4", tools=RESPONSE_TOOLS)
    arguments = '{"a": 3, "b": 4}'
    assert [e.type for e in events if "function_call_arguments" not in e.type] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert deltas == tokenize(arguments)
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert (done.name, done.arguments) == ("add", arguments)
    expected = [("function_call", "call_1", "add", arguments)]
    assert function_calls(events[-1].response) == expected
    whole = await api.response(input="Use add on 3 and 4", tools=RESPONSE_TOOLS)
    assert function_calls(whole) == expected


async def test_responses_answer_function_call_outputs(api: Api) -> None:
    items: list[Any] = [
        {"role": "user", "content": "Use add on 3 and 4"},
        {"type": "function_call", "call_id": "call_1", "name": "add", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "7"},
    ]
    expected = "**add** returned:\n\n```\n7\n```\n\nThat is the tool's result, word for word.\n"
    whole = await api.response(input=items, tools=RESPONSE_TOOLS)
    assert whole.output_text == expected
    events = await api.response_events(input=items, tools=RESPONSE_TOOLS)
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == expected


async def test_responses_tool_choice(api: Api) -> None:
    none = await api.response(input="add 3 and 4", tools=RESPONSE_TOOLS, tool_choice="none")
    assert none.output_text == answer(user("add 3 and 4"))
    named = await api.response(
        input="Hi", tools=RESPONSE_TOOLS, tool_choice={"type": "function", "name": "add"}
    )
    assert function_calls(named) == [("function_call", "call_1", "add", '{"a": 0, "b": 0}')]


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fields", "param"),
    [
        ("/v1/chat/completions", {"tools": {"add": {}}}, "tools"),
        ("/v1/chat/completions", {"tools": ["add"]}, "tools[0]"),
        ("/v1/chat/completions", {"tools": RESPONSE_TOOLS}, "tools[0].function"),
        ("/v1/chat/completions", {"tools": [tool("add sum", NUMBERS)]}, "tools[0].function.name"),
        (
            "/v1/chat/completions",
            {"tools": [tool("add", {"properties": []})]},
            "tools[0].function.parameters.properties",
        ),
        ("/v1/chat/completions", {"tools": [tool("add", {}), tool("add", {})]}, "tools[1]"),
        ("/v1/chat/completions", {"tools": ARITHMETIC, "tool_choice": "always"}, "tool_choice"),
        (
            "/v1/chat/completions",
            {"tools": ARITHMETIC, "tool_choice": {"type": "function", "name": "add"}},
            "tool_choice",
        ),
        (
            "/v1/chat/completions",
            {"tools": ARITHMETIC, "tool_choice": {"type": "function", "function": {"name": "x"}}},
            "tool_choice",
        ),
        ("/v1/chat/completions", {"tool_choice": "required"}, "tool_choice"),
        (
            "/v1/chat/completions",
            {"tools": ARITHMETIC, "parallel_tool_calls": "yes"},
            "parallel_tool_calls",
        ),
        ("/v1/responses", {"tools": ARITHMETIC}, "tools[0].name"),
        (
            "/v1/responses",
            {
                "tools": RESPONSE_TOOLS,
                "tool_choice": {"type": "function", "function": {"name": "add"}},
            },
            "tool_choice",
        ),
    ],
)
def test_malformed_tools_are_refused_with_400(
    server: LocalServer, path: str, fields: dict[str, Any], param: str
) -> None:
    body = {"messages": user("add 3 and 4"), "input": "add 3 and 4", **fields}
    if path == "/v1/responses":
        del body["messages"]
    else:
        del body["input"]
    response = httpx.post(server.url + path, json={"model": MODEL, **body}, timeout=5)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_built_in_tools_are_accepted_and_never_called(server: LocalServer) -> None:
    body = {"model": MODEL, "input": "search the web", "tools": [{"type": "web_search"}]}
    response = httpx.post(server.url + "/v1/responses", json=body, timeout=5)
    assert response.status_code == 200
    assert [item["type"] for item in response.json()["output"]] == ["message"]
