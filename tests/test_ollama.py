"""The real ``ollama`` SDK over HTTP against the local model's ``POST /api/chat`` (NDJSON).

``client.chat(..., stream=True)`` on ``ollama.Client`` and ``ollama.AsyncClient``, and a
whole reply, into StreamView and the answer accumulator: text, thinking as reasoning,
``prompt_eval_count`` / ``eval_count`` as usage, ``done_reason``, tool calls, and an
error line mid-stream with the partial text kept.
"""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import ollama
import pytest
from PIL import Image

import nbstream.local
from nbstream import Chat, StreamView
from nbstream.answer import AnswerAccumulator
from nbstream.errors import SourceError
from nbstream.local import LocalServer
from nbstream.local.model import answer, default_reasoning, prompt_tokens, tokenize
from nbstream.ollama_history import ollama_messages
from nbstream.sources import aiter_events, check_async_source, check_sync_source, iter_events
from tests.local_fixtures import local_usage

QUESTION: Any = [{"role": "user", "content": "How do I stream with the async client?"}]
WEATHER: Any = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


def stream_into_view(server: LocalServer, twin: str, **request: Any) -> StreamView:
    request = {"model": nbstream.local.MODEL, "messages": QUESTION, "stream": True, **request}
    view = StreamView()
    if twin == "sync":
        view.stream(ollama.Client(host=server.url).chat(**request))
    else:

        async def main() -> None:
            await view.astream(await ollama.AsyncClient(host=server.url).chat(**request))

        asyncio.run(main())
    return view


def test_text_usage_and_done_reason(server: LocalServer, twin: str) -> None:
    view = stream_into_view(server, twin)
    expected = answer(QUESTION)
    assert view.content == expected
    assert view.error is None
    assert view.finish_reason == "stop"
    assert view.usage == local_usage(QUESTION, expected)


def test_thinking_is_reasoning_and_never_text(server: LocalServer, twin: str) -> None:
    view = stream_into_view(server, twin, think=True)
    assert view.reasoning == default_reasoning(QUESTION)
    assert view.content == answer(QUESTION)


def test_num_predict_cuts_the_answer_and_reads_as_length(server: LocalServer, twin: str) -> None:
    view = stream_into_view(server, twin, options={"num_predict": 5})
    assert view.finish_reason == "length"
    assert view.content == "".join(tokenize(answer(QUESTION))[:5])


def test_an_error_line_mid_stream_keeps_the_partial_text(server: LocalServer, twin: str) -> None:
    options = {"nbstream": {"fault": "error", "fault_after": 7}}
    with pytest.raises(ollama.ResponseError) as raised:
        stream_into_view(server, twin, options=options)
    assert "failed mid-stream" in str(raised.value)
    view = StreamView()
    client = ollama.Client(host=server.url)
    with pytest.raises(ollama.ResponseError):
        view.stream(client.chat(model="m", messages=QUESTION, stream=True, options=options))
    assert view.content == "".join(tokenize(answer(QUESTION))[:7])
    assert view.error is not None
    assert "failed mid-stream, as requested" in view.error


def test_tool_calls_arrive_whole(server: LocalServer, twin: str) -> None:
    question = [{"role": "user", "content": "Call get_weather for 'Paris', please."}]
    request: dict[str, Any] = {"model": "m", "messages": question, "tools": WEATHER, "stream": True}
    accumulator = AnswerAccumulator()
    if twin == "sync":
        for event in iter_events(check_sync_source(ollama.Client(host=server.url).chat(**request))):
            accumulator.add(event)
    else:

        async def main() -> None:
            stream = await ollama.AsyncClient(host=server.url).chat(**request)
            async for event in aiter_events(check_async_source(stream)):
                accumulator.add(event)

        asyncio.run(main())
    assert accumulator.finish_reason == "tool_calls"  # Ollama says "stop"; the calls say more
    [call] = accumulator.tool_calls
    assert call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "Paris"}
    assert call["id"]


def test_a_whole_reply_streams_too(server: LocalServer) -> None:
    reply = ollama.Client(host=server.url).chat(model="m", messages=QUESTION, think=True)
    view = StreamView()
    assert view.stream(reply) == answer(QUESTION)
    assert view.reasoning == default_reasoning(QUESTION)
    assert view.finish_reason == "stop"
    assert view.usage is not None
    assert view.usage["completion_tokens"] == reply.eval_count


def test_the_client_itself_is_refused_with_the_method_to_call(server: LocalServer) -> None:
    with pytest.raises(SourceError, match=r"ollama\.Client.*client\.chat\(\.\.\., stream=True\)"):
        StreamView().stream(ollama.Client(host=server.url))


def test_the_local_constructors_point_at_the_shared_server() -> None:
    client = nbstream.local.ollama_client()
    reply = client.chat(model="m", messages=QUESTION, options={"nbstream": {"text": "Hi!"}})
    assert reply.message.content == "Hi!"
    assert isinstance(nbstream.local.async_ollama_client(), ollama.AsyncClient)


# -- Chat(ollama client) -------------------------------------------------------------------


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def chat_client(server: LocalServer, twin: str) -> Any:
    return ollama.Client(host=server.url) if twin == "sync" else ollama.AsyncClient(host=server.url)


def test_chat_holds_a_conversation_with_thinking(server: LocalServer, twin: str) -> None:
    chat = Chat(chat_client(server, twin), model="qwen-test", system="Be brief.", think=True)
    question = "How do I stream with the async client?"
    reply = chat.ask(question) if twin == "sync" else asyncio.run(chat.asend(question))
    assert reply == answer([{"role": "user", "content": question}])
    assert [m["role"] for m in chat.messages] == ["system", "user", "assistant"]
    assert chat.backend.startswith("Ollama · 127.0.0.1:")
    last = chat.last_answer
    assert last is not None
    assert last.reasoning == default_reasoning([{"role": "user", "content": question}])
    assert last.stats is not None
    assert last.stats["prompt_tokens"] == prompt_tokens(chat.messages[:2])


def test_chat_max_tokens_goes_in_options(server: LocalServer, twin: str) -> None:
    chat = Chat(chat_client(server, twin), model="qwen-test", max_tokens=5)
    question = "How do I stream with the async client?"
    reply = chat.ask(question) if twin == "sync" else asyncio.run(chat.asend(question))
    assert reply == "".join(tokenize(answer([{"role": "user", "content": question}]))[:5])


def test_chat_runs_tools_by_name(server: LocalServer, twin: str) -> None:
    chat = Chat(chat_client(server, twin), model="qwen-test", tools=[add])
    question = "Call add with 3 and 4"
    reply = chat.ask(question) if twin == "sync" else asyncio.run(chat.asend(question))
    assert [m["role"] for m in chat.messages] == ["user", "assistant", "tool", "assistant"]
    call = chat.messages[1]["tool_calls"][0]
    assert call["function"]["name"] == "add"
    assert json.loads(call["function"]["arguments"]) == {"a": 3, "b": 4}
    assert chat.messages[2]["content"] == "7"
    assert "**add** returned" in reply  # the result reached the model, named


def test_chat_sends_attached_images_as_base64(server: LocalServer, twin: str) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), (0, 255, 0)).save(buffer, format="PNG")
    chat = Chat(chat_client(server, twin), model="qwen-test")
    attachments = {"green.png": buffer.getvalue()}
    if twin == "sync":
        reply = chat.ask("What is this?", attachments)
    else:
        reply = asyncio.run(chat.asend("What is this?", attachments))
    assert reply.startswith("You attached 1 thing:")
    assert "30 × 20 px, mean colour #00ff00" in reply


def test_history_translation_names_tool_results_and_moves_images() -> None:
    history: list[dict[str, Any]] = [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a": 1}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "1"},
    ]
    assert ollama_messages(history) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is this?", "images": ["iVBO"]},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "add", "arguments": {"a": 1}}}],
        },
        {"role": "tool", "content": "1", "tool_name": "add"},
    ]
    link = [
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": "https://x/a.png"}}],
        }
    ]
    with pytest.raises(ValueError, match="Ollama takes images as data, not links"):
        ollama_messages(link)


def test_a_bad_request_gets_ollamas_own_error_shape(server: LocalServer) -> None:
    view = StreamView()
    with pytest.raises(ollama.ResponseError) as raised:
        view.stream(ollama.Client(host=server.url).chat(model="m", messages=[], stream=True))
    assert raised.value.status_code == 400
    assert raised.value.error == (
        "'messages' is required: a non-empty list of {role, content} objects."
    )
    assert view.error == (
        "ResponseError: HTTP 400: 'messages' is required: a non-empty list of"
        " {role, content} objects."
    )
