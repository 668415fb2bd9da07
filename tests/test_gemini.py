"""The real ``google-genai`` SDK over HTTP against the local model's Gemini endpoints.

``client.models.generate_content_stream(...)`` and its async twin on ``client.aio``, and a
whole ``generate_content(...)`` reply, into StreamView and into the answer accumulator:
text, ``thought`` parts as reasoning, usage, finish reasons (a safety stop among them),
function calls, an ``UNAVAILABLE`` error mid-stream with the partial text kept, a
blocked prompt shown as a refusal; and ``Chat(genai.Client())`` holding a conversation,
running tools and sending attachments.
"""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from PIL import Image

import nbstream.local
from nbstream import Chat, StreamView
from nbstream.answer import AnswerAccumulator
from nbstream.errors import SourceError
from nbstream.gemini_history import gemini_request
from nbstream.local import LocalServer
from nbstream.local.model import answer, default_reasoning, prompt_tokens, tokenize
from nbstream.sources import aiter_events, check_async_source, check_sync_source, iter_events
from tests.histories import ADD_TOOL, tool_round_history
from tests.local_fixtures import local_usage

pytestmark = pytest.mark.timeout(60)

QUESTION = "How do I stream with the async client?"
ASKED: Any = [{"role": "user", "content": QUESTION}]
KEY = "AIza-test-key-123456"


def client(server: LocalServer) -> genai.Client:
    options = types.HttpOptions(base_url=server.url, api_version="v1beta", timeout=30_000)
    return genai.Client(api_key=KEY, http_options=options)


def config(nbstream_options: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A request's ``config``: the nbstream options ride in the body, as extra_body."""
    if nbstream_options is not None:
        fields["http_options"] = {"extra_body": {"nbstream": nbstream_options}}
    return fields


def stream_into_view(server: LocalServer, twin: str, **fields: Any) -> StreamView:
    """Stream one request into a new view, with the sync client or ``client.aio``."""
    made = client(server)
    request: dict[str, Any] = {"model": nbstream.local.MODEL, "contents": QUESTION, **fields}
    view = StreamView()
    if twin == "sync":
        view.stream(made.models.generate_content_stream(**request))
    else:

        async def main() -> None:
            await view.astream(await made.aio.models.generate_content_stream(**request))

        asyncio.run(main())
    return view


def test_text_usage_and_finish_reason(server: LocalServer, twin: str) -> None:
    view = stream_into_view(server, twin)
    expected = answer(ASKED)
    assert view.content == expected
    assert view.error is None
    assert view.finish_reason == "stop"
    assert view.usage == local_usage(ASKED, expected)


def test_thought_parts_are_reasoning_and_never_text(server: LocalServer, twin: str) -> None:
    thinking = types.ThinkingConfig(include_thoughts=True)
    view = stream_into_view(server, twin, config=config(thinking_config=thinking))
    assert view.reasoning == default_reasoning(ASKED)
    assert view.content == answer(ASKED)
    assert view.usage is not None
    # Thoughts are completion tokens too (Gemini counts them apart, as thoughts).
    reasoning = len(tokenize(default_reasoning(ASKED)))
    assert view.usage["completion_tokens"] == reasoning + len(tokenize(answer(ASKED)))


def test_max_tokens_reads_as_length(server: LocalServer, twin: str) -> None:
    view = stream_into_view(server, twin, config=config(max_output_tokens=5))
    assert view.finish_reason == "length"
    assert view.content == "".join(tokenize(answer(ASKED))[:5])


def test_a_safety_stop_reads_as_content_filter(server: LocalServer, twin: str) -> None:
    view = stream_into_view(server, twin, config=config({"finish_reason": "content_filter"}))
    assert view.finish_reason == "content_filter"
    assert view.content == answer(ASKED)


def test_an_error_mid_stream_keeps_the_partial_text(server: LocalServer, twin: str) -> None:
    fault = config({"fault": "error", "fault_after": 7})
    with pytest.raises(genai_errors.ServerError) as raised:
        stream_into_view(server, twin, config=fault)
    assert raised.value.code == 503
    view = StreamView()
    made = client(server)
    request: dict[str, Any] = {"model": "m", "contents": QUESTION, "config": fault}

    def run() -> None:
        if twin == "sync":
            view.stream(made.models.generate_content_stream(**request))
        else:

            async def main() -> None:
                await view.astream(await made.aio.models.generate_content_stream(**request))

            asyncio.run(main())

    with pytest.raises(genai_errors.ServerError):
        run()
    assert view.content == "".join(tokenize(answer(ASKED))[:7])
    assert view.error is not None
    assert view.error.startswith("ServerError: 503 UNAVAILABLE: The model is overloaded.")
    assert KEY not in view.error


def test_function_calls_become_tool_calls(server: LocalServer, twin: str) -> None:
    made = client(server)
    declaration = {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "OBJECT",
            "properties": {"city": {"type": "STRING"}},
            "required": ["city"],
        },
    }
    request: dict[str, Any] = {
        "model": nbstream.local.MODEL,
        "contents": "Call get_weather for 'Paris', please.",
        "config": {"tools": [{"function_declarations": [declaration]}]},
    }
    accumulator = AnswerAccumulator()
    if twin == "sync":
        for event in iter_events(check_sync_source(made.models.generate_content_stream(**request))):
            accumulator.add(event)
    else:

        async def main() -> None:
            stream = await made.aio.models.generate_content_stream(**request)
            async for event in aiter_events(check_async_source(stream)):
                accumulator.add(event)

        asyncio.run(main())
    assert accumulator.finish_reason == "tool_calls"
    [call] = accumulator.tool_calls
    assert call["name"] == "get_weather"
    assert call["id"]
    assert json.loads(call["arguments"]) == {"city": "Paris"}


def test_a_whole_reply_streams_too(server: LocalServer) -> None:
    made = client(server)  # held: the SDK closes its HTTP client when the client goes
    reply = made.models.generate_content(model="m", contents=QUESTION)
    view = StreamView()
    assert view.stream(reply) == answer(ASKED)
    assert view.finish_reason == "stop"
    assert view.usage is not None
    assert reply.usage_metadata is not None
    assert view.usage["completion_tokens"] == reply.usage_metadata.candidates_token_count


def test_a_blocked_prompt_is_shown_as_a_refusal() -> None:
    # What Gemini sends instead of candidates when it blocks the prompt itself.
    blocked = types.GenerateContentResponse.model_validate(
        {
            "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
            "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
        }
    )
    view = StreamView()
    view.stream(iter([blocked]))
    assert view.content == ""
    assert view.refusal == "The prompt was blocked by Google's filters (prohibited content)."
    assert view.finish_reason == "content_filter"


def test_the_client_itself_is_refused_with_the_method_to_call(server: LocalServer) -> None:
    made = client(server)
    with pytest.raises(SourceError, match=r"google\.Client.*generate_content_stream"):
        StreamView().stream(made)
    with pytest.raises(SourceError, match=r"google\.AsyncClient.*aio\.models"):
        asyncio.run(StreamView().astream(made.aio))


def test_the_local_constructor_points_at_the_shared_server() -> None:
    made = nbstream.local.gemini_client()
    reply = made.models.generate_content(model=nbstream.local.MODEL, contents=QUESTION)
    assert reply.text == answer(ASKED)


# -- Chat(genai.Client()) ------------------------------------------------------------------


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def chat_client(server: LocalServer, twin: str) -> Any:
    made = client(server)
    return made if twin == "sync" else made.aio


def test_chat_holds_a_conversation(server: LocalServer, twin: str) -> None:
    chat = Chat(chat_client(server, twin), model="gemini-test", system="Be brief.")
    reply = chat.ask(QUESTION) if twin == "sync" else asyncio.run(chat.asend(QUESTION))
    assert reply == answer(ASKED)
    assert [m["role"] for m in chat.messages] == ["system", "user", "assistant"]
    assert chat.backend.startswith("Google Gen AI · 127.0.0.1:")
    last = chat.last_answer
    assert last is not None
    assert last.stats is not None
    assert last.stats["finish_reason"] == "stop"
    # The system instruction reached the model: it counts in the prompt.
    assert last.stats["prompt_tokens"] == prompt_tokens(chat.messages[:2])


def test_chat_runs_tools_through_function_calls(server: LocalServer, twin: str) -> None:
    chat = Chat(chat_client(server, twin), model="gemini-test", tools=[add])
    question = "Call add with 3 and 4"
    reply = chat.ask(question) if twin == "sync" else asyncio.run(chat.asend(question))
    assert [m["role"] for m in chat.messages] == ["user", "assistant", "tool", "assistant"]
    call = chat.messages[1]["tool_calls"][0]
    assert call["function"]["name"] == "add"
    assert json.loads(call["function"]["arguments"]) == {"a": 3, "b": 4}
    assert chat.messages[2]["content"] == "7"
    assert "7" in reply  # the model answered the function response it was sent


def test_chat_sends_attached_images_inline(server: LocalServer, twin: str) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), (0, 255, 0)).save(buffer, format="PNG")
    chat = Chat(chat_client(server, twin), model="gemini-test")
    attachments = {"green.png": buffer.getvalue()}
    if twin == "sync":
        reply = chat.ask("What is this?", attachments)
    else:
        reply = asyncio.run(chat.asend("What is this?", attachments))
    assert reply == (
        "You attached 1 thing:\n\n- Image `green.png`: PNG, 30 × 20 px, mean colour #00ff00."
    )


def test_chat_needs_a_model_for_a_remote_client() -> None:
    remote = genai.Client(api_key=KEY, http_options={"base_url": "http://example.com"})
    with pytest.raises(TypeError, match="gemini"):
        Chat(remote)


def test_history_translation_uses_model_turns_and_function_parts() -> None:
    history = tool_round_history("mul")
    tools = ADD_TOOL
    contents, settings = gemini_request(history, tools)
    assert settings == {
        "system_instruction": "Be brief.",
        "tools": [
            {
                "function_declarations": [
                    {"name": "add", "description": "", "parameters_json_schema": {"type": "object"}}
                ]
            }
        ],
    }
    assert contents == [
        {
            "role": "user",
            "parts": [
                {"text": "What is this?"},
                {"inline_data": {"mime_type": "image/png", "data": b"\x89PN"}},
            ],
        },
        {
            "role": "model",
            "parts": [
                {"text": "Let me add."},
                {"function_call": {"name": "add", "args": {"a": 1}, "id": "c1"}},
                {"function_call": {"name": "mul", "args": {}, "id": "c2"}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"function_response": {"name": "add", "response": {"output": "1"}, "id": "c1"}},
                {"function_response": {"name": "mul", "response": {"output": "0"}, "id": "c2"}},
                {"text": "Thanks"},
            ],
        },
    ]
    # The SDK takes the translation as it is.
    for content in contents:
        types.Content.model_validate(content)


def test_a_bad_request_gets_googles_own_error_shape(server: LocalServer) -> None:
    made = client(server)
    view = StreamView()
    with pytest.raises(genai_errors.ClientError) as raised:
        view.stream(
            made.models.generate_content_stream(
                model="m",
                contents=QUESTION,
                config=types.GenerateContentConfig(max_output_tokens=0),
            )
        )
    assert (raised.value.code, raised.value.status) == (400, "INVALID_ARGUMENT")
    message = "'generationConfig.maxOutputTokens' must be a positive integer."
    assert raised.value.message == message
    assert view.error == f"ClientError: 400 INVALID_ARGUMENT: {message}"
