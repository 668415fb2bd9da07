"""The real ``anthropic`` SDK over HTTP against the local model's ``POST /v1/messages``.

Every stream shape the SDK gives (``create(stream=True)``, the ``messages.stream(...)``
manager entered by nbstream or by the user, a whole ``Message``), sync and async twins,
into StreamView and into the answer accumulator: text, thinking as reasoning, usage,
stop reasons, tool use, and an ``overloaded_error`` mid-stream with the partial text kept.
"""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import anthropic
import pytest
from PIL import Image

import nbstream.local
from nbstream import Chat, StreamView
from nbstream.answer import AnswerAccumulator
from nbstream.anthropic_history import anthropic_request
from nbstream.errors import SourceError
from nbstream.local import LocalServer
from nbstream.local.model import answer, default_reasoning, prompt_tokens, tokenize
from nbstream.sources import aiter_events, check_async_source, check_sync_source, iter_events
from tests.histories import ADD_TOOL, tool_round_history
from tests.local_fixtures import local_usage

QUESTION: Any = [{"role": "user", "content": "How do I stream with the async client?"}]
TOOLS = [
    {
        "name": "get_weather",
        "description": "The weather in a city.",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
]


def clients(server: LocalServer) -> tuple[anthropic.Anthropic, anthropic.AsyncAnthropic]:
    options: dict[str, Any] = {"base_url": server.url, "api_key": "sk-ant-test", "max_retries": 0}
    return anthropic.Anthropic(**options), anthropic.AsyncAnthropic(**options)


def stream_into_view(server: LocalServer, twin: str, how: str, **request: Any) -> StreamView:
    """Stream one request into a new view, with the sync or the async SDK client."""
    request = {"model": nbstream.local.MODEL, "max_tokens": 4096, "messages": QUESTION, **request}
    sync, aclient = clients(server)
    view = StreamView()
    if twin == "sync":
        if how == "create":
            view.stream(sync.messages.create(stream=True, **request))
        elif how == "manager":
            view.stream(sync.messages.stream(**request))
        else:
            with sync.messages.stream(**request) as entered:
                view.stream(entered)
        return view

    async def main() -> None:
        async with aclient:
            if how == "create":
                await view.astream(await aclient.messages.create(stream=True, **request))
            elif how == "manager":
                await view.astream(aclient.messages.stream(**request))
            else:
                async with aclient.messages.stream(**request) as entered:
                    await view.astream(entered)

    asyncio.run(main())
    return view


@pytest.mark.parametrize("how", ["create", "manager", "entered"])
def test_text_usage_and_stop_reason(server: LocalServer, twin: str, how: str) -> None:
    view = stream_into_view(server, twin, how)
    expected = answer(QUESTION)
    assert view.content == expected
    assert view.error is None
    assert view.finish_reason == "stop"
    assert view.usage == local_usage(QUESTION, expected)


@pytest.mark.parametrize("how", ["create", "manager"])
def test_thinking_is_reasoning_and_never_text(server: LocalServer, twin: str, how: str) -> None:
    view = stream_into_view(server, twin, how, thinking={"type": "enabled", "budget_tokens": 1024})
    assert view.reasoning == default_reasoning(QUESTION)
    assert view.content == answer(QUESTION)


def test_max_tokens_reads_as_length(server: LocalServer, twin: str) -> None:
    view = stream_into_view(server, twin, "create", max_tokens=5)
    assert view.finish_reason == "length"
    assert view.content == "".join(tokenize(answer(QUESTION))[:5])


def test_refusal_stop_reason_reads_as_content_filter(server: LocalServer, twin: str) -> None:
    view = stream_into_view(
        server, twin, "create", extra_body={"nbstream": {"finish_reason": "content_filter"}}
    )
    assert view.finish_reason == "content_filter"


@pytest.mark.parametrize("how", ["create", "manager"])
def test_an_overloaded_error_mid_stream_keeps_the_partial_text(
    server: LocalServer, twin: str, how: str
) -> None:
    with pytest.raises(anthropic.APIStatusError):
        stream_into_view(
            server, twin, how, extra_body={"nbstream": {"fault": "error", "fault_after": 7}}
        )


def test_the_view_shows_the_error_and_the_text_before_it(server: LocalServer, twin: str) -> None:
    sync, aclient = clients(server)
    request: dict[str, Any] = {
        "model": nbstream.local.MODEL,
        "max_tokens": 4096,
        "messages": QUESTION,
        "extra_body": {"nbstream": {"fault": "error", "fault_after": 7}},
    }
    view = StreamView()

    def run() -> None:
        if twin == "sync":
            view.stream(sync.messages.stream(**request))
        else:
            asyncio.run(view.astream(aclient.messages.stream(**request)))

    with pytest.raises(anthropic.APIStatusError):
        run()
    assert view.content == "".join(tokenize(answer(QUESTION))[:7])
    assert view.error is not None
    assert "overloaded_error" in view.error
    assert "sk-ant-test" not in view.error


def test_tool_use_becomes_tool_calls(server: LocalServer, twin: str) -> None:
    sync, aclient = clients(server)
    question: Any = [{"role": "user", "content": "Call get_weather for 'Paris', please."}]
    request: dict[str, Any] = {
        "model": nbstream.local.MODEL,
        "max_tokens": 4096,
        "messages": question,
        "tools": TOOLS,
        "stream": True,
    }
    accumulator = AnswerAccumulator()
    if twin == "sync":
        for event in iter_events(check_sync_source(sync.messages.create(**request))):
            accumulator.add(event)
    else:

        async def main() -> None:
            async with aclient:
                source = check_async_source(await aclient.messages.create(**request))
                async for event in aiter_events(source):
                    accumulator.add(event)

        asyncio.run(main())
    assert accumulator.finish_reason == "tool_calls"
    [call] = accumulator.tool_calls
    assert call["name"] == "get_weather"
    assert call["id"].startswith("toolu_")
    assert json.loads(call["arguments"]) == {"city": "Paris"}


def test_a_whole_message_streams_too(server: LocalServer) -> None:
    sync, _ = clients(server)
    message = sync.messages.create(model="m", max_tokens=4096, messages=QUESTION)
    view = StreamView()
    assert view.stream(message) == answer(QUESTION)
    assert view.finish_reason == "stop"
    assert view.usage is not None
    assert view.usage["completion_tokens"] == message.usage.output_tokens


def test_the_client_itself_is_refused_with_the_method_to_call(server: LocalServer) -> None:
    sync, aclient = clients(server)
    with pytest.raises(SourceError, match=r"anthropic\.Anthropic.*messages\.create"):
        StreamView().stream(sync)
    with pytest.raises(SourceError, match=r"anthropic\.AsyncAnthropic.*messages\.stream"):
        asyncio.run(StreamView().astream(aclient))


def test_an_async_manager_in_the_sync_twin_says_to_await(server: LocalServer) -> None:
    _, aclient = clients(server)
    request: dict[str, Any] = {"model": "m", "max_tokens": 10, "messages": QUESTION}
    with pytest.raises(SourceError, match="astream"):
        StreamView().stream(aclient.messages.stream(**request))  # type: ignore[arg-type]


def test_a_stream_read_twice_is_refused(server: LocalServer) -> None:
    sync, _ = clients(server)
    stream = sync.messages.create(model="m", max_tokens=4096, messages=QUESTION, stream=True)
    StreamView().stream(stream)
    with pytest.raises(SourceError, match="already been read"):
        StreamView().stream(stream)


def test_the_manager_nbstream_entered_is_closed_when_the_view_ends(server: LocalServer) -> None:
    sync, _ = clients(server)
    manager = sync.messages.stream(model="m", max_tokens=4096, messages=QUESTION)
    StreamView().stream(manager)
    entered = manager._MessageStreamManager__stream  # type: ignore[attr-defined]
    assert entered.response.is_closed


def test_the_local_constructors_point_at_the_shared_server() -> None:
    client = nbstream.local.anthropic_client(max_retries=0)
    assert str(client.base_url).rstrip("/") == nbstream.local.server().url
    assert isinstance(nbstream.local.async_anthropic_client(), anthropic.AsyncAnthropic)


class FutureEvent:
    """An event of an SDK version nbstream does not know yet."""

    type = "content_block_teleport"


FutureEvent.__module__ = "anthropic.types.future_event"


def test_an_unknown_event_of_the_sdk_names_the_sdk_and_its_version() -> None:
    with pytest.raises(SourceError, match=rf"FutureEvent \(anthropic {anthropic.__version__}\)"):
        StreamView().stream([FutureEvent()])


# -- Chat(anthropic client) ----------------------------------------------------------------


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def test_chat_holds_a_conversation_in_the_messages_api(server: LocalServer, twin: str) -> None:
    sync, aclient = clients(server)
    chat = Chat(sync if twin == "sync" else aclient, model="claude-test", system="Be brief.")
    question = "How do I stream with the async client?"
    reply = chat.ask(question) if twin == "sync" else asyncio.run(chat.asend(question))
    assert reply == answer([{"role": "user", "content": question}])
    assert [m["role"] for m in chat.messages] == ["system", "user", "assistant"]
    assert chat.messages[-1]["content"] == reply
    assert chat.backend.startswith("Anthropic · 127.0.0.1:")
    last = chat.last_answer
    assert last is not None
    assert last.stats is not None
    assert last.stats["finish_reason"] == "stop"
    assert last.stats["prompt_tokens"] == prompt_tokens(chat.messages[:2])


def test_chat_runs_tools_through_tool_use_and_tool_result(server: LocalServer, twin: str) -> None:
    sync, aclient = clients(server)
    chat = Chat(sync if twin == "sync" else aclient, model="claude-test", tools=[add])
    question = "Call add with 3 and 4"
    reply = chat.ask(question) if twin == "sync" else asyncio.run(chat.asend(question))
    assert [m["role"] for m in chat.messages] == ["user", "assistant", "tool", "assistant"]
    call = chat.messages[1]["tool_calls"][0]
    assert call["function"]["name"] == "add"
    assert json.loads(call["function"]["arguments"]) == {"a": 3, "b": 4}
    assert chat.messages[2]["content"] == "7"
    assert "7" in reply  # the model answered the tool_result block it was sent


def test_chat_needs_a_model_for_a_remote_anthropic_client() -> None:
    client = anthropic.Anthropic(api_key="sk-ant-x", base_url="http://example.com")
    with pytest.raises(TypeError, match="claude"):
        Chat(client)


def test_history_translation_puts_system_apart_and_tool_results_in_user_turns() -> None:
    history = tool_round_history()
    tools = ADD_TOOL
    request = anthropic_request(history, tools)
    assert request["system"] == "Be brief."
    assert request["tools"] == [
        {"name": "add", "description": "", "input_schema": {"type": "object"}}
    ]
    assert request["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"},
                },
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me add."},
                {"type": "tool_use", "id": "c1", "name": "add", "input": {"a": 1}},
                {"type": "tool_use", "id": "c2", "name": "add", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "c1", "content": "1"},
                {"type": "tool_result", "tool_use_id": "c2", "content": "0"},
                {"type": "text", "text": "Thanks"},
            ],
        },
    ]


def test_chat_sends_attached_images_as_image_blocks(server: LocalServer, twin: str) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), (0, 255, 0)).save(buffer, format="PNG")
    sync, aclient = clients(server)
    chat = Chat(sync if twin == "sync" else aclient, model="claude-test")
    attachments = {"green.png": buffer.getvalue()}
    if twin == "sync":
        reply = chat.ask("What is this?", attachments)
    else:
        reply = asyncio.run(chat.asend("What is this?", attachments))
    # The local model read the very pixels from the base64 image block it was sent.
    assert reply == (
        "You attached 1 thing:\n\n- Image `green.png`: PNG, 30 × 20 px, mean colour #00ff00."
    )


def test_a_bad_request_gets_anthropics_own_error_shape(server: LocalServer) -> None:
    sync, _ = clients(server)
    view = StreamView()
    with pytest.raises(anthropic.BadRequestError) as raised:
        # An opener: the request is sent while the view streams, so its error shows there.
        view.stream(
            lambda: sync.messages.create(model="m", max_tokens=0, messages=QUESTION, stream=True)
        )
    assert raised.value.body == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "'max_tokens' must be a positive integer.",
        },
    }
    assert view.error == "BadRequestError: HTTP 400: 'max_tokens' must be a positive integer."
