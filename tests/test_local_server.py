"""The embedded local model, driven over HTTP by the real ``openai`` SDK (no mocks).

Behaviours shared by ``OpenAI`` and ``AsyncOpenAI`` run through the ``api`` fixture, which
is parametrised over both and gives them one async-shaped interface.
"""

from __future__ import annotations

import json
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
from typing import Any, get_args

import httpx
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessageParam
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import BaseModel

import nbstream.local
from nbstream.local import (
    API_KEY,
    MODEL,
    LocalServer,
    ServerError,
    answer,
    default_reasoning,
    long_answer,
    tokenize,
    wire,
)
from nbstream.local.chat_chunks import ChunkBuilder
from nbstream.local.faults import INJECTED_CODE, SLOW_FIRST_TOKEN_DELAY
from nbstream.local.knowledge import DEFAULT, TOPICS
from nbstream.local.model import Token, choose_topic, prompt_tokens
from nbstream.local.options import ChatRequest, LocalOptions
from nbstream.local.plan import make_plan
from nbstream.local.responses import ResponseBuilder, response_usage

pytestmark = pytest.mark.timeout(60)

QUESTION_TEXT = "What is nbstream?"
QUESTION: list[ChatCompletionMessageParam] = [{"role": "user", "content": QUESTION_TEXT}]
ROOT = Path(__file__).resolve().parents[1]


# -- fixtures and the sync/async twin helper ---------------------------------------------


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

    @property
    def deltas(self) -> list[dict[str, Any]]:
        """Every choice delta as sent, without the fields the SDK fills with None."""
        return [c.choices[0].delta.model_dump(exclude_none=True) for c in self.chunks if c.choices]

    def reasoning(self, name: str) -> str:
        """The reasoning streamed in delta field ``name`` (not an SDK field: an extra)."""
        return "".join(delta.get(name, "") for delta in self.deltas)

    @property
    def finish_reason(self) -> str | None:
        return next((c.choices[0].finish_reason for c in reversed(self.chunks) if c.choices), None)

    def tool_calls(self) -> dict[int, dict[str, str]]:
        """The streamed tool calls put back together by index: id, type, name, arguments."""
        calls: dict[int, dict[str, str]] = {}
        for chunk in self.chunks:
            for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                whole = calls.setdefault(call.index, {"arguments": ""})
                if call.id is not None:
                    assert "id" not in whole, "only a call's first delta carries its id"
                    whole["id"] = call.id
                if call.type is not None:
                    whole["type"] = call.type
                if call.function is not None:
                    if call.function.name is not None:
                        whole["name"] = call.function.name
                    whole["arguments"] += call.function.arguments or ""
        return calls

    def see(self, chunk: ChatCompletionChunk) -> None:
        self.chunks.append(chunk)
        if self.first_content_at is None and chunk.choices and chunk.choices[0].delta.content:
            self.first_content_at = time.monotonic()


@dataclass
class ResponseOutcome:
    """What a client saw of one streamed Responses API call."""

    events: list[Any] = field(default_factory=list)
    error: Exception | None = None

    @property
    def types(self) -> list[str]:
        return [event.type for event in self.events]

    def deltas(self, event_type: str) -> str:
        return "".join(event.delta for event in self.events if event.type == event_type)

    @property
    def text(self) -> str:
        return self.deltas("response.output_text.delta")

    @property
    def reasoning(self) -> str:
        return self.deltas("response.reasoning_summary_text.delta")

    @property
    def last(self) -> Any:
        return self.events[-1]


class Api:
    """The local server through a real openai client; sync and async twins share this shape."""

    kind: str

    async def stream(self, *, close_after: int | None = None, **kwargs: Any) -> Outcome:
        raise NotImplementedError

    async def create(self, **kwargs: Any) -> ChatCompletion:
        raise NotImplementedError

    async def stream_response(self, **kwargs: Any) -> ResponseOutcome:
        """A streamed ``responses.create``; an exception is kept, not raised."""
        raise NotImplementedError

    async def create_response(self, **kwargs: Any) -> Response:
        raise NotImplementedError

    async def model_ids(self) -> list[str]:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError


def _request(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {"model": MODEL, "messages": QUESTION, **kwargs}


def _response_request(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {"model": MODEL, "input": QUESTION_TEXT, **kwargs}


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

    async def stream_response(self, **kwargs: Any) -> ResponseOutcome:
        outcome = ResponseOutcome()
        try:
            stream = self.client.responses.create(stream=True, **_response_request(kwargs))
            outcome.events.extend(stream)
        except Exception as exc:
            outcome.error = exc
        return outcome

    async def create_response(self, **kwargs: Any) -> Response:
        response: Response = self.client.responses.create(**_response_request(kwargs))
        return response

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

    async def stream_response(self, **kwargs: Any) -> ResponseOutcome:
        outcome = ResponseOutcome()
        try:
            stream = await self.client.responses.create(stream=True, **_response_request(kwargs))
            async for event in stream:
                outcome.events.append(event)
        except Exception as exc:
            outcome.error = exc
        return outcome

    async def create_response(self, **kwargs: Any) -> Response:
        response: Response = await self.client.responses.create(**_response_request(kwargs))
        return response

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


@settings(deadline=None)  # the unit tests run beside the browser tests in CI
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
        message=wire.message([Token("h"), Token("i")], reasoning_field=None),
        finish_reason="stop",
        usage=wire.usage(1, 1),
    )
    assert ChatCompletion.model_validate(whole).choices[0].message.content == "hi"


def test_wire_tool_call_shapes_validate_as_openai_types() -> None:
    tokens = [
        Token("think", "reasoning"),
        Token("get_weather", "tool_call", call=0, call_id="call_1"),
        Token('{"city"', "arguments", call=0),
        Token(': "Paris"}', "arguments", call=0),
    ]
    deltas = [wire.delta(token, reasoning_field="reasoning_content") for token in tokens]
    assert deltas[0] == {"reasoning_content": "think"}
    head = ChatCompletionChunk.model_validate(
        wire.chunk(completion_id="c", created=1, model=MODEL, delta=deltas[1])
    )
    assert head.choices[0].delta.tool_calls is not None
    call = head.choices[0].delta.tool_calls[0]
    assert (call.index, call.id, call.type) == (0, "call_1", "function")
    assert call.function is not None
    assert (call.function.name, call.function.arguments) == ("get_weather", "")
    assert deltas[2] == {"tool_calls": [{"index": 0, "function": {"arguments": '{"city"'}}]}
    message = wire.message(tokens, reasoning_field="reasoning", null_content=True)
    whole = ChatCompletion.model_validate(
        wire.completion(
            completion_id="c",
            created=1,
            model=MODEL,
            message=message,
            finish_reason="tool_calls",
            usage=wire.usage(1, 4, reasoning_tokens=1),
        )
    )
    reply = whole.choices[0].message
    assert reply.content is None
    assert (reply.model_extra or {})["reasoning"] == "think"
    assert reply.tool_calls is not None
    assert reply.tool_calls[0].model_dump() == {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    assert whole.usage is not None
    assert whole.usage.completion_tokens_details is not None
    assert whole.usage.completion_tokens_details.reasoning_tokens == 1


def test_default_reasoning_is_stable_and_about_the_question() -> None:
    reasoning = default_reasoning(QUESTION)
    assert reasoning == default_reasoning([dict(m) for m in QUESTION])
    assert "What is nbstream?" in reasoning
    assert reasoning.count(". ") >= 2, "a few sentences"
    other = default_reasoning([{"role": "user", "content": "Tell me about async"}])
    assert other != reasoning
    assert "Async streaming" in other, "it names the topic the answer picks"
    long = default_reasoning([{"role": "user", "content": "why " * 100}])
    assert "why why" in long
    assert len(long) < len(reasoning) + 100, "a long question is cut"
    assert default_reasoning([{"role": "system", "content": "no user"}])


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


# -- reasoning, tool calls and finish reasons ----------------------------------------------

REASONING = "Let me think — **two** steps: read, then answer. Déjà vu 🚀"
TOOL_CALLS: list[dict[str, Any]] = [
    {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius", "days": [1, 2]}},
    {"name": "search_docs", "arguments": '{"query": "stream"}'},
]


@pytest.mark.parametrize("fmt", [None, "reasoning_content", "reasoning"])
async def test_reasoning_streams_before_the_answer_in_its_field(api: Api, fmt: str | None) -> None:
    options = local(reasoning=True) if fmt is None else local(reasoning=True, reasoning_format=fmt)
    field_name = fmt or "reasoning_content"
    other = "reasoning" if field_name == "reasoning_content" else "reasoning_content"
    outcome = await api.stream(**options)
    assert outcome.error is None
    expected = default_reasoning(QUESTION)
    assert outcome.reasoning(field_name) == expected
    assert outcome.reasoning(other) == ""
    assert outcome.text == answer(QUESTION)
    # One token per chunk, every reasoning token before the first answer token.
    kinds = [next(iter(d)) for d in outcome.deltas[1:-1]]
    assert kinds == [field_name] * len(tokenize(expected)) + ["content"] * len(outcome.contents)
    completion = await api.create(**options)
    message = completion.choices[0].message
    assert (message.model_extra or {}).get(field_name) == expected
    assert other not in (message.model_extra or {})
    assert message.content == answer(QUESTION)


async def test_think_format_streams_reasoning_inside_the_content(api: Api) -> None:
    outcome = await api.stream(**local(reasoning=True, reasoning_format="think"))
    assert outcome.error is None
    text = outcome.text
    assert text.startswith("<think>")
    thought, after = text.removeprefix("<think>").split("</think>", 1)
    assert thought == default_reasoning(QUESTION)
    assert after == "\n\n" + answer(QUESTION)
    # The tags are split across chunks, as a real tokenizer splits them.
    assert not {"<think>", "</think>"} & set(outcome.contents)
    assert "".join(outcome.contents[:3]) == "<think>"
    assert outcome.reasoning("reasoning_content") == outcome.reasoning("reasoning") == ""
    completion = await api.create(**local(reasoning=True, reasoning_format="think"))
    assert completion.choices[0].message.content == text
    assert "reasoning_content" not in (completion.choices[0].message.model_extra or {})


@pytest.mark.parametrize("fmt", ["reasoning_content", "reasoning", "think"])
async def test_reasoning_tokens_count_in_usage(api: Api, fmt: str) -> None:
    options = local(reasoning=REASONING, reasoning_format=fmt, text="Short answer.")
    outcome = await api.stream(stream_options={"include_usage": True}, **options)
    usage = outcome.chunks[-1].usage
    assert usage is not None
    if fmt == "think":
        assert outcome.text == f"<think>{REASONING}</think>\n\nShort answer."
        reasoning = tokenize(f"<think>{REASONING}</think>\n\n")
    else:
        assert outcome.reasoning(fmt) == REASONING
        assert outcome.text == "Short answer."
        reasoning = tokenize(REASONING)
    assert usage.completion_tokens == len(reasoning) + len(tokenize("Short answer.")) > 10
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == len(reasoning)
    completion = await api.create(**options)
    assert completion.usage is not None
    assert completion.usage.completion_tokens == usage.completion_tokens


async def test_faults_and_max_tokens_count_reasoning_tokens_too(api: Api) -> None:
    reasoning = tokenize(REASONING)
    failed = await api.stream(**local(reasoning=REASONING, fault="error", fault_after=3))
    assert type(failed.error) is openai.APIError
    assert failed.reasoning("reasoning_content") == "".join(reasoning[:3])
    assert failed.text == ""
    cut = await api.stream(max_tokens=len(reasoning) + 2, **local(reasoning=REASONING))
    assert cut.reasoning("reasoning_content") == REASONING
    assert cut.text == "".join(tokenize(answer(QUESTION))[:2])
    assert cut.finish_reason == "length"


async def test_pacing_counts_reasoning_tokens(api: Api) -> None:
    reasoning = " ".join(["think"] * 40)  # 40 tokens at 100/s before the first answer token
    outcome = await api.stream(
        **local(reasoning=reasoning, text="Done.", tokens_per_second=100, first_token_delay=0)
    )
    assert outcome.first_content_at is not None
    assert outcome.first_content_at - outcome.started >= 0.35
    assert outcome.text == "Done."


async def test_tool_calls_stream_in_openai_shape(api: Api) -> None:
    outcome = await api.stream(
        stream_options={"include_usage": True}, **local(tool_calls=TOOL_CALLS)
    )
    assert outcome.error is None
    assert outcome.text == ""
    assert outcome.deltas[0] == {"role": "assistant"}, "content is null, as OpenAI sends it"
    calls = outcome.tool_calls()
    assert sorted(calls) == [0, 1]
    assert [calls[i]["id"] for i in (0, 1)] == ["call_1", "call_2"]
    assert {calls[i]["type"] for i in (0, 1)} == {"function"}
    assert [calls[i]["name"] for i in (0, 1)] == ["get_weather", "search_docs"]
    assert json.loads(calls[0]["arguments"]) == TOOL_CALLS[0]["arguments"]
    assert calls[1]["arguments"] == TOOL_CALLS[1]["arguments"]
    # Each call: one delta with id, type and name (empty arguments), then argument pieces.
    pieces = [d["tool_calls"][0] for d in outcome.deltas if "tool_calls" in d]
    heads = [i for i, piece in enumerate(pieces) if "id" in piece]
    assert [pieces[i]["function"]["arguments"] for i in heads] == ["", ""]
    first_call = pieces[heads[0] + 1 : heads[1]]
    assert len(first_call) > 3, "the arguments arrive in pieces"
    assert all(set(piece) == {"index", "function"} for piece in first_call)
    assert all(0 < len(piece["function"]["arguments"]) <= 6 for piece in first_call)
    assert outcome.finish_reason == "tool_calls"
    usage = outcome.chunks[-1].usage
    assert usage is not None
    assert usage.completion_tokens == len(pieces)
    assert usage.completion_tokens_details is None, "no reasoning was asked for"

    # The SDK's own accumulator agrees, and so does the reply without streaming.
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for chunk in outcome.chunks:
        state.handle_chunk(chunk)
    accumulated = state.get_final_completion().choices[0].message.tool_calls or []
    completion = await api.create(**local(tool_calls=TOOL_CALLS))
    assert completion.choices[0].finish_reason == "tool_calls"
    message = completion.choices[0].message
    assert message.content is None
    streamed = [(calls[i]["id"], calls[i]["name"], calls[i]["arguments"]) for i in (0, 1)]
    assert _summary(message.tool_calls) == streamed
    assert _summary(accumulated) == streamed


def _summary(tool_calls: list[Any] | None) -> list[tuple[str, str, str]]:
    """(id, name, arguments) of whole tool calls as the SDK parsed them."""
    dumped = [call.model_dump() for call in tool_calls or []]
    assert {call["type"] for call in dumped} == {"function"}
    return [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in dumped]


async def test_tool_calls_follow_text_and_reasoning_when_asked(api: Api) -> None:
    options = local(reasoning=True, text="Let me check.", tool_calls=TOOL_CALLS[:1])
    outcome = await api.stream(**options)
    kinds = [next(iter(d)) for d in outcome.deltas[1:-1]]
    first_content, first_call = kinds.index("content"), kinds.index("tool_calls")
    assert set(kinds[:first_content]) == {"reasoning_content"}
    assert set(kinds[first_content:first_call]) == {"content"}
    assert set(kinds[first_call:]) == {"tool_calls"}
    assert outcome.text == "Let me check."
    assert outcome.reasoning("reasoning_content") == default_reasoning(QUESTION)
    assert outcome.tool_calls()[0]["name"] == "get_weather"
    assert outcome.finish_reason == "tool_calls"
    completion = await api.create(**options)
    assert completion.choices[0].message.content == "Let me check."
    assert completion.choices[0].finish_reason == "tool_calls"


async def test_tool_call_ids_are_new_in_each_turn(api: Api) -> None:
    earlier: list[ChatCompletionMessageParam] = [
        *QUESTION,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny"},
    ]
    again = await api.stream(messages=earlier, **local(tool_calls=TOOL_CALLS))
    assert [call["id"] for call in again.tool_calls().values()] == ["call_2", "call_3"]
    first = await api.stream(**local(tool_calls=TOOL_CALLS))
    assert [call["id"] for call in first.tool_calls().values()] == ["call_1", "call_2"]


@pytest.mark.parametrize("tools", [False, True], ids=["text", "tools"])
@pytest.mark.parametrize("reason", ["stop", "length", "content_filter"])
async def test_finish_reason_override(api: Api, reason: str, tools: bool) -> None:
    options = local(finish_reason=reason, **({"tool_calls": TOOL_CALLS} if tools else {}))
    outcome = await api.stream(**options)
    assert outcome.error is None
    assert outcome.finish_reason == reason
    assert [c.choices[0].finish_reason for c in outcome.chunks[:-1]] == [None] * (
        len(outcome.chunks) - 1
    )
    # Only the finish reason changes: the reply is whole.
    if tools:
        assert len(outcome.tool_calls()) == len(TOOL_CALLS)
    else:
        assert outcome.text == answer(QUESTION)
    completion = await api.create(**options)
    assert completion.choices[0].finish_reason == reason


async def test_finish_reason_override_wins_over_max_tokens(api: Api) -> None:
    outcome = await api.stream(max_tokens=3, **local(finish_reason="content_filter"))
    assert outcome.contents == tokenize(answer(QUESTION))[:3]
    assert outcome.finish_reason == "content_filter"


async def test_stats_count_reasoning_and_tool_call_tokens(
    fresh_api: Api, fresh_server: LocalServer
) -> None:
    outcome = await fresh_api.stream(
        stream_options={"include_usage": True},
        **local(reasoning=REASONING, tool_calls=TOOL_CALLS),
    )
    usage = outcome.chunks[-1].usage
    assert usage is not None
    # The client has read [DONE] before the server's thread counts the stream completed.
    assert fresh_server.stats.wait_until_idle(timeout=5)
    assert fresh_server.stats.tokens_sent == usage.completion_tokens == len(outcome.deltas) - 2
    assert fresh_server.stats.streams_completed == 1


@pytest.mark.parametrize("reasoning_field", ["reasoning_content", "reasoning", None])
def test_chunk_builder_streams_what_the_whole_completion_holds(reasoning_field: str | None) -> None:
    tokens = [
        *(Token(piece, "reasoning") for piece in tokenize("Think first.")),
        *(Token(piece) for piece in tokenize("Then answer.")),
        Token("get_weather", "tool_call", call=0, call_id="call_1"),
        *(Token(piece, "arguments", call=0) for piece in tokenize('{"city": "Paris"}')),
    ]
    usage = wire.usage(3, len(tokens), reasoning_tokens=3)
    builder = ChunkBuilder(
        completion_id="c", created=1, model=MODEL, reasoning_field=reasoning_field
    )
    chunks = [*builder.start(), *(c for t in tokens for c in builder.token(t))]
    chunks.extend(builder.finish(finish_reason="tool_calls", usage=usage))
    # Strict validation (not the SDK's lenient construction): every field is right.
    validated = [ChatCompletionChunk.model_validate(chunk) for chunk in chunks]
    assert len(validated) == 1 + len(tokens) + 2, "the role, one per token, finish, usage"
    assert validated[0].choices[0].delta.role == "assistant"
    assert validated[-1].choices == []
    assert builder.finish(finish_reason="stop")[-1]["choices"], "no usage: no usage chunk"
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for chunk in validated:
        state.handle_chunk(chunk)
    streamed = state.get_final_completion().choices[0]
    whole = ChatCompletion.model_validate(
        builder.whole(tokens, finish_reason="tool_calls", usage=usage)
    )
    reply = whole.choices[0]
    assert reply.finish_reason == streamed.finish_reason == "tool_calls"
    assert reply.message.content == streamed.message.content
    in_text = "Think first." if reasoning_field is None else ""
    assert reply.message.content == in_text + "Then answer."
    if reasoning_field is not None:
        assert (reply.message.model_extra or {})[reasoning_field] == "Think first."
    assert _summary(reply.message.tool_calls) == _summary(streamed.message.tool_calls)
    assert _summary(reply.message.tool_calls) == [("call_1", "get_weather", '{"city": "Paris"}')]


# -- the Responses API ----------------------------------------------------------------------

# The SDK's class for each Responses API event type, to validate events strictly.
_EVENT_TYPES: dict[str, type[BaseModel]] = {
    get_args(cls.model_fields["type"].annotation)[0]: cls
    for cls in get_args(get_args(ResponseStreamEvent)[0])
}


def _validate_event(event: dict[str, Any]) -> Any:
    return _EVENT_TYPES[event["type"]].model_validate(event)


def test_responses_shapes_validate_as_openai_types() -> None:
    tokens = [
        *(Token(piece, "reasoning") for piece in tokenize("Think first.")),
        *(Token(piece) for piece in tokenize("Then answer.")),
        Token("get_weather", "tool_call", call=0, call_id="call_1"),
        Token('{"city": "Paris"}', "arguments", call=0),
    ]
    builder = ResponseBuilder(response_id="resp_1", created=1, model=MODEL)
    events = builder.start()
    for token in tokens:
        events.extend(builder.token(token))
    events.extend(builder.finish(usage=response_usage(3, len(tokens), 3)))
    # Strict validation (not the SDK's lenient construction): every field is right.
    validated = [_validate_event(event) for event in events]
    assert [event.sequence_number for event in validated] == list(range(len(events)))
    final = validated[-1].response
    assert final.output_text == "Then answer."
    assert [item.type for item in final.output] == ["reasoning", "message", "function_call"]
    assert final.output[2].arguments == '{"city": "Paris"}'
    assert final.usage.total_tokens == 3 + len(tokens)
    # What an item looked like when it was announced, not what it became.
    added = [e for e in validated if e.type == "response.output_item.added"]
    assert added[0].item.summary == []
    assert added[1].item.content == []
    whole = ResponseBuilder(response_id="resp_1", created=1, model=MODEL).whole(
        tokens, status="completed", usage=response_usage(3, len(tokens), 3)
    )
    assert Response.model_validate(whole).model_dump() == final.model_dump()
    error = _validate_event(builder.error(message="boom", code="server_error"))
    assert (error.type, error.message, error.sequence_number) == ("error", "boom", len(events))


async def test_responses_stream_the_answer(api: Api) -> None:
    outcome = await api.stream_response()
    assert outcome.error is None
    assert outcome.text == answer(QUESTION)
    assert outcome.types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert outcome.types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = [e.delta for e in outcome.events if e.type == "response.output_text.delta"]
    assert deltas == tokenize(answer(QUESTION)), "one token per event"
    assert [e.sequence_number for e in outcome.events] == list(range(len(outcome.events)))
    final = outcome.last.response
    assert final.status == "completed"
    assert final.output_text == answer(QUESTION)
    assert final.usage.input_tokens == prompt_tokens(QUESTION) > 0
    assert final.usage.output_tokens == len(deltas)
    assert final.usage.total_tokens == final.usage.input_tokens + final.usage.output_tokens


def test_responses_stream_ends_without_done(server: LocalServer) -> None:
    body = {"model": MODEL, "input": QUESTION_TEXT, "stream": True}
    with httpx.Client(base_url=server.url, timeout=10) as http:
        response = http.post("/v1/responses", json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.startswith("event: response.created\ndata: {")
    assert response.text.endswith("}\n\n")
    assert "[DONE]" not in response.text
    assert response.text.rsplit("event: ", 1)[1].startswith("response.completed\n")


async def test_responses_reasoning_streams_as_a_summary(api: Api) -> None:
    outcome = await api.stream_response(**local(reasoning=REASONING, text="Short answer."))
    assert outcome.reasoning == REASONING
    assert outcome.text == "Short answer."
    first_text = outcome.types.index("response.output_text.delta")
    assert outcome.types.index("response.reasoning_summary_text.done") < first_text
    final = outcome.last.response
    assert [item.type for item in final.output] == ["reasoning", "message"]
    assert final.output[0].summary[0].text == REASONING
    assert final.usage.output_tokens_details.reasoning_tokens == len(tokenize(REASONING))
    think = await api.stream_response(
        **local(reasoning="Hmm.", reasoning_format="think", text="Yes.")
    )
    assert think.reasoning == ""
    assert think.text == "<think>Hmm.</think>\n\nYes."


async def test_responses_max_output_tokens_is_incomplete(api: Api) -> None:
    outcome = await api.stream_response(max_output_tokens=16)
    assert outcome.error is None
    assert outcome.text == "".join(tokenize(answer(QUESTION))[:16])
    assert outcome.types[-1] == "response.incomplete"
    final = outcome.last.response
    assert final.status == "incomplete"
    assert final.incomplete_details.reason == "max_output_tokens"
    assert final.output[0].status == "incomplete"
    assert final.usage.output_tokens == 16
    filtered = await api.stream_response(**local(finish_reason="content_filter"))
    assert filtered.last.response.incomplete_details.reason == "content_filter"
    whole = await api.create_response(max_output_tokens=16)
    assert whole.status == "incomplete"
    assert whole.output_text == outcome.text


async def test_responses_tool_calls_are_function_call_items(api: Api) -> None:
    outcome = await api.stream_response(**local(text="Checking.", tool_calls=TOOL_CALLS))
    assert outcome.text == "Checking."
    calls = [item for item in outcome.last.response.output if item.type == "function_call"]
    assert [(c.call_id, c.name) for c in calls] == [
        ("call_1", "get_weather"),
        ("call_2", "search_docs"),
    ]
    assert json.loads(calls[0].arguments) == TOOL_CALLS[0]["arguments"]
    assert calls[1].arguments == TOOL_CALLS[1]["arguments"]
    assert outcome.deltas("response.function_call_arguments.delta") == "".join(
        c.arguments for c in calls
    )
    assert outcome.last.response.status == "completed"


async def test_responses_without_streaming(api: Api) -> None:
    response = await api.create_response(**local(reasoning=True))
    assert response.object == "response"
    assert response.status == "completed"
    assert response.output_text == answer(QUESTION)
    assert response.output[0].type == "reasoning"
    assert response.output[0].summary[0].text == default_reasoning(QUESTION)
    assert response.usage is not None
    assert response.usage.output_tokens == len(tokenize(default_reasoning(QUESTION))) + len(
        tokenize(answer(QUESTION))
    )
    # Instructions and input items become the conversation the model answers.
    items = await api.create_response(
        instructions="Be brief.",
        input=[{"role": "user", "content": [{"type": "input_text", "text": QUESTION_TEXT}]}],
    )
    assert items.output_text == answer(QUESTION)


@pytest.mark.parametrize("fault_after", [None, 5, 0])
async def test_responses_error_fault_is_an_error_event(api: Api, fault_after: int | None) -> None:
    outcome = await api.stream_response(**local(fault="error", fault_after=fault_after))
    assert outcome.error is None, "an error event is an event, not an exception"
    tokens = tokenize(answer(QUESTION))
    expected = len(tokens) // 3 if fault_after is None else fault_after
    assert outcome.text == "".join(tokens[:expected])
    assert outcome.last.type == "error"
    assert outcome.last.code == INJECTED_CODE
    assert "fault 'error'" in outcome.last.message


async def test_responses_other_faults(api: Api) -> None:
    tokens = tokenize(answer(QUESTION))
    dropped = await api.stream_response(**local(fault="drop", fault_after=6))
    assert type(dropped.error) is openai.APIConnectionError
    assert dropped.text == "".join(tokens[:6])
    broken = await api.stream_response(**local(fault="malformed_json", fault_after=6))
    assert isinstance(broken.error, json.JSONDecodeError)
    assert broken.text == "".join(tokens[:6])
    for fault, error_type in [
        ("http_401", openai.AuthenticationError),
        ("http_429", openai.RateLimitError),
        ("http_500", openai.InternalServerError),
    ]:
        assert type((await api.stream_response(**local(fault=fault))).error) is error_type
        with pytest.raises(error_type):
            await api.create_response(**local(fault=fault))


def test_responses_bad_requests_are_refused(server: LocalServer) -> None:
    with httpx.Client(base_url=server.url, timeout=5) as http:
        for body, mentions in [
            ({"model": MODEL}, "'input' is required"),
            ({"input": ""}, "'input' is required"),
            ({"input": []}, "'input' is required"),
            ({"input": ["hi"]}, "input[0]"),
            ({"input": "hi", "instructions": 3}, "'instructions'"),
            ({"input": "hi", "max_output_tokens": 0}, "max_output_tokens"),
            ({"input": "hi", "nbstream": {"fault": "nope"}}, "Unknown fault"),
        ]:
            response = http.post("/v1/responses", json=body)
            assert response.status_code == 400, body
            assert mentions in response.json()["error"]["message"]


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


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
async def test_http_401_fault_is_openais_invalid_api_key(api: Api, stream: bool) -> None:
    if stream:
        error = (await api.stream(**local(fault="http_401"))).error
    else:
        with pytest.raises(openai.AuthenticationError) as caught:
            await api.create(**local(fault="http_401"))
        error = caught.value
    assert type(error) is openai.AuthenticationError
    assert error.status_code == 401
    assert error.code == "invalid_api_key"
    assert error.type == "invalid_request_error"
    assert "fault 'http_401'" in error.message
    assert API_KEY not in error.message, "the key is never echoed"


@pytest.mark.parametrize("fault_after", [None, 4, 0])
async def test_malformed_json_fault_breaks_the_stream_after_partial_text(
    api: Api, fault_after: int | None
) -> None:
    tokens = tokenize(answer(QUESTION))
    outcome = await api.stream(**local(fault="malformed_json", fault_after=fault_after))
    assert isinstance(outcome.error, json.JSONDecodeError)
    expected = len(tokens) // 3 if fault_after is None else fault_after
    assert outcome.text == "".join(tokens[:expected])


def test_malformed_json_fault_on_the_wire(server: LocalServer) -> None:
    body = {
        "model": MODEL,
        "messages": QUESTION,
        "stream": True,
        "nbstream": {"fault": "malformed_json", "fault_after": 2},
    }
    with httpx.Client(base_url=server.url, timeout=10) as http:
        streamed = http.post("/v1/chat/completions", json=body)
        whole = http.post("/v1/chat/completions", json={**body, "stream": False})
    assert streamed.status_code == 200
    assert streamed.content.endswith(b"\n\ndata: {not json\n\n"), "and no [DONE]"
    assert streamed.content.count(b"data: ") == 1 + 2 + 1  # role, 2 tokens, the bad one
    assert (whole.status_code, whole.content) == (200, b"{not json")
    assert whole.headers["content-type"] == "application/json"


async def test_malformed_json_fault_without_streaming(api: Api) -> None:
    with pytest.raises(json.JSONDecodeError):
        await api.create(**local(fault="malformed_json"))


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


# -- replaying transcripts --------------------------------------------------------------------

# A small transcript with what the local model never sends: CRLF line endings, a comment,
# a surrogate pair as JSON escapes, and multi-byte UTF-8 to cut in the middle of.
REPLAYED = (
    'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m",'
    '"choices":[{"index":0,"delta":{"role":"assistant","content":"Déjà "},'
    '"finish_reason":null}]}\r\n\r\n'
    ": keep-alive\n\n"
    'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m",'
    '"choices":[{"index":0,"delta":{"content":"vu \\ud83d\\ude80 🇫🇷"},"finish_reason":"stop"}]}\n\n'
    "data: [DONE]\n\n"
)
REPLAYED_TEXT = "Déjà vu 🚀 🇫🇷"


def replay(body: str, **fields: Any) -> dict[str, Any]:
    """``extra_body`` asking the server to replay ``body``."""
    return local(replay={"body": body, **fields})


def _raw_replay(
    server: LocalServer, path: str, **fields: Any
) -> tuple[httpx.Response, list[bytes]]:
    """POST a replay request with httpx; the response and the pieces its parser saw."""
    body: dict[str, Any] = {"model": MODEL, "nbstream": {"replay": fields}}
    body.update({"input": QUESTION_TEXT} if path == "/v1/responses" else {"messages": QUESTION})
    with (
        httpx.Client(base_url=server.url, timeout=10) as http,
        http.stream("POST", path, json=body) as response,
    ):
        pieces = list(response.iter_raw())
    return response, pieces


def _boundaries(pieces: list[bytes]) -> set[int]:
    offsets, at = set(), 0
    for piece in pieces[:-1]:
        at += len(piece)
        offsets.add(at)
    return offsets


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/responses"])
def test_replay_sends_the_exact_bytes_in_the_given_pieces(server: LocalServer, path: str) -> None:
    raw = REPLAYED.encode()
    inside_utf8 = raw.index("é".encode()) + 1
    splits = [3, inside_utf8, raw.index(b"\r\n") + 1, len(raw) - 4, 0, len(raw), 3]
    response, pieces = _raw_replay(server, path, body=REPLAYED, splits=splits)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["transfer-encoding"] == "chunked"
    assert b"".join(pieces) == raw
    # Each piece is its own HTTP chunk, so the client's parser sees every cut.
    assert _boundaries(pieces) >= {3, inside_utf8, raw.index(b"\r\n") + 1, len(raw) - 4}


async def test_replay_through_the_sdk_at_every_byte(api: Api) -> None:
    everywhere = list(range(len(REPLAYED.encode())))
    outcome = await api.stream(**replay(REPLAYED, splits=everywhere))
    assert outcome.error is None
    assert len(outcome.chunks) == 2, "the comment is no chunk"
    assert outcome.text == REPLAYED_TEXT
    assert outcome.finish_reason == "stop"


async def test_replay_without_done_just_ends(api: Api) -> None:
    cut = REPLAYED[: REPLAYED.index("data: [DONE]")]
    outcome = await api.stream(**replay(cut, splits=[10, 20]))
    assert outcome.error is None
    assert outcome.text == REPLAYED_TEXT
    half = REPLAYED[: REPLAYED.index(": keep-alive")]
    assert (await api.stream(**replay(half))).text == "Déjà "


async def test_replay_with_an_error_status(api: Api, server: LocalServer) -> None:
    error = json.dumps({"error": {"message": "Overloaded", "type": "server_error", "code": None}})
    headers = {"content-type": "application/json", "retry-after": "7", "x-request-id": "req_1"}
    outcome = await api.stream(**replay(error, status=503, headers=headers))
    assert type(outcome.error) is openai.InternalServerError
    assert outcome.error.status_code == 503
    assert outcome.error.body == json.loads(error)["error"]
    assert outcome.error.response.headers["retry-after"] == "7"
    response, _ = _raw_replay(server, "/v1/chat/completions", body="{}", headers={"X-Test": "1"})
    assert response.headers["x-test"] == "1"
    assert response.headers["content-type"] == "text/event-stream", "the default"
    assert "cache-control" not in response.headers, "only the transcript's headers"


def test_replay_split_delay_spaces_the_pieces(server: LocalServer) -> None:
    started = time.monotonic()
    _, pieces = _raw_replay(
        server, "/v1/chat/completions", body="abcd", splits=[1, 2, 3], split_delay=0.05
    )
    assert time.monotonic() - started >= 0.15
    assert pieces == [b"a", b"b", b"c", b"d"]


async def test_replay_counts_in_stats(fresh_api: Api, fresh_server: LocalServer) -> None:
    await fresh_api.stream(**replay(REPLAYED))
    # The client can read the body's end before the server counts the replay as done.
    assert fresh_server.stats.wait_until_idle(timeout=5)
    snapshot = fresh_server.stats.snapshot()
    assert (snapshot.requests, snapshot.replays, snapshot.active_streams) == (1, 1, 0)
    assert snapshot.streams_started == snapshot.tokens_sent == snapshot.faults_injected == 0


def test_stop_ends_a_replay_in_progress() -> None:
    local_server = LocalServer(tokens_per_second=0, first_token_delay=0).start()
    client = openai.OpenAI(base_url=local_server.base_url, api_key=API_KEY, max_retries=0)
    stream = client.chat.completions.create(
        model=MODEL,
        messages=QUESTION,
        stream=True,
        **replay(REPLAYED, splits=[REPLAYED.encode().index(b": keep")], split_delay=8),
    )
    assert next(iter(stream)).choices[0].delta.content == "Déjà "
    started = time.monotonic()
    local_server.stop()
    assert time.monotonic() - started < 2
    with pytest.raises(openai.APIConnectionError):
        for _ in stream:
            pass
    client.close()


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
        ({"reasoning": 42}, "'nbstream.reasoning'"),
        ({"reasoning": ""}, "'nbstream.reasoning'"),
        ({"reasoning": False}, "'nbstream.reasoning'"),
        ({"reasoning": True, "reasoning_format": "xml"}, "'nbstream.reasoning_format'"),
        ({"reasoning": "x", "reasoning_format": True}, "'nbstream.reasoning_format'"),
        ({"reasoning_format": "think"}, "'nbstream.reasoning_format' needs"),
        ({"tool_calls": []}, "'nbstream.tool_calls'"),
        ({"tool_calls": {"name": "f"}}, "'nbstream.tool_calls'"),
        ({"tool_calls": ["f"]}, "'nbstream.tool_calls[0]'"),
        ({"tool_calls": [{"arguments": {}}]}, "'nbstream.tool_calls[0].name'"),
        ({"tool_calls": [{"name": ""}]}, "'nbstream.tool_calls[0].name'"),
        ({"tool_calls": [{"name": 7}]}, "'nbstream.tool_calls[0].name'"),
        ({"tool_calls": [{"name": "get weather"}]}, "'nbstream.tool_calls[0].name'"),
        ({"tool_calls": [{"name": "1st"}]}, "'nbstream.tool_calls[0].name'"),
        ({"tool_calls": [{"name": "f", "arguments": [1]}]}, "'nbstream.tool_calls[0].arguments'"),
        (
            {"tool_calls": [{"name": "f"}, {"name": "g", "arguments": None}]},
            "'nbstream.tool_calls[1].arguments'",
        ),
        ({"tool_calls": [{"name": "f", "args": {}}]}, "Unknown key 'args'"),
        ({"finish_reason": "tool_calls"}, "'nbstream.finish_reason'"),
        ({"finish_reason": "STOP"}, "'nbstream.finish_reason'"),
        ({"finish_reason": 1}, "'nbstream.finish_reason'"),
        ({"replay": "data: x"}, "'nbstream.replay' must be an object"),
        ({"replay": {}}, "'nbstream.replay.body' is required"),
        ({"replay": {"body": 1}}, "'nbstream.replay.body' is required"),
        ({"replay": {"body": "x", "bdy": "y"}}, "Unknown key 'bdy'"),
        ({"replay": {"body": "x", "status": 101}}, "'nbstream.replay.status'"),
        ({"replay": {"body": "x", "status": True}}, "'nbstream.replay.status'"),
        ({"replay": {"body": "x", "status": "200"}}, "'nbstream.replay.status'"),
        ({"replay": {"body": "x", "headers": []}}, "'nbstream.replay.headers'"),
        ({"replay": {"body": "x", "headers": {"a b": "1"}}}, "invalid header name"),
        ({"replay": {"body": "x", "headers": {"Content-Length": "1"}}}, "frames the body"),
        ({"replay": {"body": "x", "headers": {"x-a": "1\r\nx-b: 2"}}}, "no CR or LF"),
        ({"replay": {"body": "x", "headers": {"x-a": 1}}}, "'nbstream.replay.headers.x-a'"),
        ({"replay": {"body": "x", "splits": 1}}, "'nbstream.replay.splits'"),
        ({"replay": {"body": "é", "splits": [3]}}, "from 0 to 2"),
        ({"replay": {"body": "x", "splits": [-1]}}, "'nbstream.replay.splits[0]'"),
        ({"replay": {"body": "x", "splits": [0.5]}}, "'nbstream.replay.splits[0]'"),
        ({"replay": {"body": "x", "split_delay": -1}}, "'nbstream.replay.split_delay'"),
        ({"replay": {"body": "x", "split_delay": 60}}, "'nbstream.replay.split_delay'"),
        ({"replay": {"body": "x"}, "fault": "drop"}, "cannot be combined"),
    ],
)
async def test_bad_options_are_refused_with_400(
    api: Api, options: dict[str, Any], mentions: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await api.create(extra_body={"nbstream": options})
    assert mentions in caught.value.message
    assert caught.value.param is not None
    assert caught.value.param.startswith("nbstream")


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


@pytest.mark.parametrize(
    ("path", "conversation", "streams"),
    [
        ("/v1/chat/completions", "messages", True),
        ("/v1/messages", "messages", True),
        ("/api/chat", "messages", True),
        (f"/v1beta/models/{MODEL}:streamGenerateContent", "contents", False),
    ],
)
def test_every_wire_format_refuses_a_field_in_the_same_words(
    server: LocalServer, path: str, conversation: str, streams: bool
) -> None:
    # One home for these checks (nbstream.local.validation): the same fault reads the
    # same whichever SDK sent it, in that API's own error shape.
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, f"'{conversation}' is required: a non-empty list of"),
        ({conversation: []}, f"'{conversation}' is required: a non-empty list of"),
        ({conversation: "hi"}, f"'{conversation}' is required: a non-empty list of"),
    ]
    if streams:  # Gemini says whether it streams in the URL, not the body
        cases.append(
            (
                {conversation: [{"role": "user", "content": "hi"}], "stream": "yes"},
                "'stream' must be a boolean.",
            )
        )
    with httpx.Client(base_url=server.url, timeout=5) as http:
        for body, mentions in cases:
            response = http.post(path, json=body)
            assert response.status_code == 400, body
            assert mentions in response.text, response.text


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
        "assert local.running_server() is None\n"  # asking starts nothing either
        "assert not [t for t in threading.enumerate() if t.name.startswith('nbstream-local')]\n"
        "shared = local.server()\n"
        "assert local.running_server() is shared\n"
        "shared.stop()\n"
        "assert local.running_server() is None\n"
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
    assert "must be a port number in 0..65535" in capsys.readouterr().err
