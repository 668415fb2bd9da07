"""LiteLLM, LangChain, Mistral and pydantic-ai, for real, over HTTP to the local model.

Each SDK is driven as its users drive it, pointed at the local server on 127.0.0.1:
``litellm.completion(..., stream=True)`` / ``acompletion``, LangChain's ``ChatOpenAI`` and
``ChatAnthropic`` ``.stream`` / ``.astream`` (and ``invoke``), Mistral's
``client.chat.stream`` / ``stream_async``, and pydantic-ai's ``agent.run_stream`` /
``run_stream_sync``. Each stream goes into a StreamView, sync and async twins alike: the
text, reasoning where the SDK passes it on, usage, finish reason, tool calls, and an
error mid-stream with the partial text kept.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

# LiteLLM would fetch its model price list from the network at import without this.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx
import litellm
from langchain_anthropic import ChatAnthropic
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from mistralai.client import Mistral
from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from nbstream import StreamView
from nbstream.answer import AnswerAccumulator
from nbstream.errors import SourceError
from nbstream.local import LocalServer
from nbstream.local.model import answer, default_reasoning, prompt_tokens, tokenize
from nbstream.sources import check_sync_source, iter_events
from tests.local_fixtures import local_usage

pytestmark = pytest.mark.timeout(60)
litellm.suppress_debug_info = True  # its "Give Feedback" banner on every error

QUESTION = "How do I stream with the async client?"
ASKED: Any = [{"role": "user", "content": QUESTION}]
WEATHER = "Call get_weather for 'Paris', please."
FAULT = {"fault": "error", "fault_after": 7}
TRANSCRIPTS = Path(__file__).with_name("transcripts")


def into_view(twin: str, sync: Any, make_async: Any) -> StreamView:
    """Stream ``sync`` (a source) or what awaiting ``make_async()`` gives into a new view."""
    view = StreamView()
    if twin == "sync":
        view.stream(sync())
    else:

        async def main() -> None:
            await view.astream(await make_async())

        asyncio.run(main())
    return view


# -- LiteLLM ---------------------------------------------------------------------------------


def litellm_request(server: LocalServer, **extra: Any) -> dict[str, Any]:
    return {
        "model": "openai/nbstream-local",  # LiteLLM's OpenAI-compatible route
        "api_base": server.base_url,
        "api_key": "sk-litellm-test-123456",
        "messages": ASKED,
        "stream": True,
        "stream_options": {"include_usage": True},
        **extra,
    }


def test_litellm_text_reasoning_usage_and_finish(server: LocalServer, twin: str) -> None:
    request = litellm_request(server, extra_body={"nbstream": {"reasoning": True}})

    async def acompletion() -> Any:
        return await litellm.acompletion(**request)

    view = into_view(twin, lambda: litellm.completion(**request), acompletion)
    assert view.reasoning == default_reasoning(ASKED)
    assert view.content == answer(ASKED)
    assert view.finish_reason == "stop"
    assert view.usage == local_usage(ASKED, default_reasoning(ASKED), answer(ASKED))


def test_litellm_error_mid_stream_keeps_the_partial_text(server: LocalServer, twin: str) -> None:
    request = litellm_request(server, extra_body={"nbstream": FAULT})

    async def acompletion() -> Any:
        return await litellm.acompletion(**request)

    view = StreamView()

    def run() -> None:
        if twin == "sync":
            view.stream(litellm.completion(**request))
        else:

            async def main() -> None:
                await view.astream(await acompletion())

            asyncio.run(main())

    with pytest.raises(Exception, match="failed mid-stream") as raised:
        run()
    assert type(raised.value).__module__.startswith("litellm")
    assert view.content == "".join(tokenize(answer(ASKED))[:7])
    assert view.error is not None
    assert "sk-litellm-test-123456" not in view.error


def test_litellm_tool_calls(server: LocalServer) -> None:
    weather = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    request = litellm_request(server, tools=[weather])
    request["messages"] = [{"role": "user", "content": WEATHER}]
    accumulator = AnswerAccumulator()
    for event in iter_events(check_sync_source(litellm.completion(**request))):
        accumulator.add(event)
    assert accumulator.finish_reason == "tool_calls"
    [call] = accumulator.tool_calls
    assert call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "Paris"}


# -- LangChain ------------------------------------------------------------------------------


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return "sunny"


def chat_openai(server: LocalServer, **extra: Any) -> ChatOpenAI:
    return ChatOpenAI(
        model="nbstream-local",
        base_url=server.base_url,
        api_key="sk-langchain-test-123456",  # type: ignore[arg-type]
        stream_usage=True,
        max_retries=0,
        # Its own: LangChain shares one async HTTP client per base URL, and each test's
        # asyncio.run() closes the loop that client was bound to.
        http_async_client=httpx.AsyncClient(timeout=30),
        **extra,
    )


def chat_anthropic(server: LocalServer, **extra: Any) -> ChatAnthropic:
    return ChatAnthropic(  # type: ignore[call-arg]
        model="claude-test",
        base_url=server.url,
        api_key="sk-ant-test-123456",  # type: ignore[arg-type]
        max_tokens=4096,
        max_retries=0,
        **extra,
    )


def test_langchain_openai_text_usage_and_finish(server: LocalServer, twin: str) -> None:
    model = chat_openai(server)

    async def astream() -> Any:
        return model.astream(QUESTION)

    view = into_view(twin, lambda: model.stream(QUESTION), astream)
    assert view.content == answer(ASKED)
    assert view.finish_reason == "stop"
    assert view.usage == local_usage(ASKED, answer(ASKED))


def test_langchain_anthropic_thinking_blocks_are_reasoning(server: LocalServer, twin: str) -> None:
    model = chat_anthropic(server, thinking={"type": "enabled", "budget_tokens": 1024})

    async def astream() -> Any:
        return model.astream(QUESTION)

    view = into_view(twin, lambda: model.stream(QUESTION), astream)
    assert view.reasoning == default_reasoning(ASKED)
    assert view.content == answer(ASKED)
    assert view.finish_reason == "stop"
    assert view.usage is not None
    assert view.usage["prompt_tokens"] == prompt_tokens(ASKED)


@pytest.mark.parametrize("integration", ["openai", "anthropic"])
def test_langchain_tool_call_chunks(server: LocalServer, integration: str) -> None:
    model = chat_openai(server) if integration == "openai" else chat_anthropic(server)
    accumulator = AnswerAccumulator()
    stream = model.bind_tools([get_weather]).stream(WEATHER)
    for event in iter_events(check_sync_source(stream)):
        accumulator.add(event)
    assert accumulator.finish_reason == "tool_calls"
    [call] = accumulator.tool_calls
    assert call["name"] == "get_weather"
    assert call["id"]
    assert json.loads(call["arguments"]) == {"city": "Paris"}


def test_langchain_invoke_gives_a_whole_message(server: LocalServer) -> None:
    message = chat_openai(server).invoke(QUESTION)
    view = StreamView()
    assert view.stream(message) == answer(ASKED)
    assert view.finish_reason == "stop"
    assert view.usage == local_usage(ASKED, answer(ASKED))


def test_langchain_error_mid_stream_keeps_the_partial_text(server: LocalServer, twin: str) -> None:
    model = chat_openai(server, extra_body={"nbstream": FAULT})

    async def astream() -> Any:
        return model.astream(QUESTION)

    with pytest.raises(Exception, match="failed mid-stream"):
        into_view(twin, lambda: model.stream(QUESTION), astream)
    view = StreamView()
    with pytest.raises(Exception, match="failed mid-stream"):
        view.stream(model.stream(QUESTION))
    assert view.content == "".join(tokenize(answer(ASKED))[:7])
    assert view.error is not None
    assert "sk-langchain-test-123456" not in view.error


def test_langchain_model_itself_is_refused_with_the_method_to_call(server: LocalServer) -> None:
    with pytest.raises(SourceError, match=r"ChatOpenAI.*model\.stream\(messages\)"):
        StreamView().stream(chat_openai(server))


# -- Mistral ---------------------------------------------------------------------------------


def mistral(server: LocalServer) -> Mistral:
    return Mistral(api_key="mistral-test-key-123456", server_url=server.url)


def test_mistral_text_and_finish(server: LocalServer, twin: str) -> None:
    client = mistral(server)
    request: dict[str, Any] = {"model": "mistral-small", "messages": ASKED, "max_tokens": 5}

    async def astream() -> Any:
        return await client.chat.stream_async(**request)

    view = into_view(twin, lambda: client.chat.stream(**request), astream)
    assert view.content == "".join(tokenize(answer(ASKED))[:5])
    assert view.finish_reason == "length"


def test_mistral_typed_thinking_parts_and_usage_through_the_sdk(
    server: LocalServer, twin: str
) -> None:
    # Magistral's stream (thinking parts, then text) replayed byte for byte; the SDK
    # sends no extra body, so the nbstream options ride in `metadata`.
    body = (TRANSCRIPTS / "mistral_typed_parts.sse").read_text("utf-8")
    replay = {"body": body, "splits": list(range(1, len(body), 5))}
    client = mistral(server)
    request: dict[str, Any] = {
        "model": "magistral-small",
        "messages": ASKED,
        "metadata": {"nbstream": {"replay": replay}},
    }

    async def astream() -> Any:
        return await client.chat.stream_async(**request)

    view = into_view(twin, lambda: client.chat.stream(**request), astream)
    assert view.reasoning == "The user asks for the capital of France."
    assert view.content == "The capital of France is **Paris**."
    assert view.finish_reason == "stop"
    assert view.usage == {"prompt_tokens": 14, "completion_tokens": 18, "total_tokens": 32}


def test_mistral_error_mid_stream_keeps_the_partial_text(server: LocalServer, twin: str) -> None:
    client = mistral(server)
    request: dict[str, Any] = {"model": "m", "messages": ASKED, "metadata": {"nbstream": FAULT}}
    view = StreamView()

    def run() -> None:
        if twin == "sync":
            view.stream(client.chat.stream(**request))
        else:

            async def main() -> None:
                await view.astream(await client.chat.stream_async(**request))

            asyncio.run(main())

    with pytest.raises(Exception, match="Response validation failed"):
        run()
    assert view.content == "".join(tokenize(answer(ASKED))[:7])
    # The SDK's validation dump is replaced by the error the server sent.
    assert view.error == (
        "ResponseValidationError: server_error mid-stream: The nbstream local model failed"
        " mid-stream, as requested (fault 'error')."
    )


def test_mistral_client_itself_is_refused(server: LocalServer) -> None:
    with pytest.raises(SourceError, match=r"mistralai\.Mistral.*chat\.stream"):
        StreamView().stream(mistral(server))


# -- pydantic-ai -----------------------------------------------------------------------------


def agent(server: LocalServer) -> Agent[None, str]:
    provider = OpenAIProvider(base_url=server.base_url, api_key="sk-pydantic-test-123456")
    return Agent(OpenAIChatModel("nbstream-local", provider=provider))


@pytest.mark.parametrize("how", ["sync", "manager", "entered"])
def test_pydantic_ai_run_streams_text_usage_and_finish(server: LocalServer, how: str) -> None:
    runner = agent(server)
    view = StreamView()
    if how == "sync":
        view.stream(runner.run_stream_sync(QUESTION))
    else:

        async def main() -> None:
            if how == "manager":
                await view.astream(runner.run_stream(QUESTION))
            else:
                async with runner.run_stream(QUESTION) as result:
                    await view.astream(result)  # type: ignore[arg-type]

        asyncio.run(main())
    assert view.content == answer(ASKED)
    assert view.finish_reason == "stop"
    assert view.usage == local_usage(ASKED, answer(ASKED))


def test_pydantic_ai_async_run_in_the_sync_twin_says_to_await(server: LocalServer) -> None:
    with pytest.raises(SourceError, match="astream"):
        StreamView().stream(agent(server).run_stream(QUESTION))  # type: ignore[arg-type]
    with pytest.raises(SourceError, match=r"pydantic_ai\.Agent.*run_stream_sync"):
        StreamView().stream(agent(server))  # type: ignore[arg-type]
