"""Sources → events: every kind of source, through the sync and the async twin."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from openai._models import construct_type
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from nbstream.errors import SourceError
from nbstream.sources import (
    ChunkParser,
    Finish,
    ReasoningDelta,
    TextDelta,
    Usage,
    aiter_events,
    check_async_source,
    check_sync_source,
    iter_events,
)


def chunk(
    content: str | None = None,
    *,
    choices: bool = True,
    finish: str | None = None,
    usage: dict[str, int] | None = None,
    delta: bool = True,
    **delta_extra: Any,
) -> ChatCompletionChunk:
    """A real ChatCompletionChunk, built the way the SDK builds streamed chunks.

    The SDK constructs without validating, which is how a chunk with no ``delta`` (Azure
    annotation chunks) reaches user code.
    """
    choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
    if delta:
        choice["delta"] = {"content": content, **delta_extra}
    built = construct_type(
        type_=ChatCompletionChunk,
        value={
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [choice] if choices else [],
            "usage": usage,
        },
    )
    assert isinstance(built, ChatCompletionChunk)
    return built


def collect(source: object, mode: str) -> list[Any]:
    """Run a source through the sync or the async twin."""
    if mode == "sync":
        return list(iter_events(check_sync_source(source)))

    async def run() -> list[Any]:
        return [e async for e in aiter_events(check_async_source(source))]

    return asyncio.run(run())


def as_async(items: list[Any]) -> AsyncIterator[Any]:
    async def gen() -> AsyncIterator[Any]:
        for item in items:
            await asyncio.sleep(0)
            yield item

    return gen()


MODES = ["sync", "async"]


@pytest.mark.parametrize("mode", MODES)
def test_plain_text_iterable(mode: str) -> None:
    events = collect(iter(["Hel", "lo", " wörld 🚀"]), mode)
    assert events == [TextDelta("Hel"), TextDelta("lo"), TextDelta(" wörld 🚀")]


def test_async_iterable_of_text() -> None:
    async def run() -> list[Any]:
        return [e async for e in aiter_events(check_async_source(as_async(["a", "b"])))]

    assert asyncio.run(run()) == [TextDelta("a"), TextDelta("b")]


@pytest.mark.parametrize("mode", MODES)
def test_chunks_that_carry_no_text_are_skipped(mode: str) -> None:
    chunks = [
        chunk(choices=False),  # Azure's first chunk: empty choices
        chunk("", role="assistant"),  # role-only first delta
        chunk(None),  # content None
        chunk(delta=False),  # delta missing altogether
        chunk("Hi"),
        chunk(None, finish="stop"),
        chunk(choices=False, usage={"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}),
    ]
    events = collect(chunks, mode)
    assert events == [TextDelta("Hi"), Finish("stop"), Usage(3, 1, 4)]


@pytest.mark.parametrize("mode", MODES)
def test_reasoning_is_kept_apart_from_text(mode: str) -> None:
    chunks = [
        chunk(None, reasoning_content="think "),
        chunk(None, reasoning="more"),
        chunk("answer"),
    ]
    assert collect(chunks, mode) == [
        ReasoningDelta("think "),
        ReasoningDelta("more"),
        TextDelta("answer"),
    ]


@pytest.mark.parametrize("mode", MODES)
def test_raw_json_chunks_work_like_sdk_objects(mode: str) -> None:
    raw = [c.model_dump() for c in [chunk("a"), chunk("b", finish="stop")]]
    assert collect(raw, mode) == [TextDelta("a"), TextDelta("b"), Finish("stop")]


@pytest.mark.parametrize("mode", MODES)
def test_whole_completion_is_one_delta(mode: str) -> None:
    completion = ChatCompletion.model_validate(
        {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "whole answer"},
                }
            ],
        }
    )
    assert collect(completion, mode) == [TextDelta("whole answer"), Finish("stop")]


@pytest.mark.parametrize("mode", MODES)
def test_surrogate_halves_split_across_deltas_are_joined(mode: str) -> None:
    events = collect(["go \ud83d", "\ude80 now", "\ud83d"], mode)
    text = "".join(e.text for e in events)
    # The pair becomes one rocket; the dangling half at the end becomes U+FFFD.
    assert text == "go 🚀 now\ufffd"
    text.encode("utf-8")  # everything is sendable


def test_lone_low_surrogate_is_replaced() -> None:
    parser = ChunkParser()
    assert parser.feed("a\ude80b") == [TextDelta("a\ufffdb")]


@pytest.mark.parametrize("mode", MODES)
def test_bad_item_mid_stream_raises_specific_error(mode: str) -> None:
    with pytest.raises(SourceError, match="yielded int"):
        collect(["ok", 42], mode)


@pytest.mark.parametrize(
    ("source", "check", "message"),
    [
        ("text", check_sync_source, "one character at a time"),
        (b"bytes", check_sync_source, "one character at a time"),
        (42, check_sync_source, "cannot stream a int"),
        ({"not": "a chunk"}, check_sync_source, "cannot stream a dict"),
        (as_async(["a"]), check_sync_source, "astream"),
    ],
)
def test_unstreamable_sources_get_clear_errors(
    source: object, check: Callable[[object], object], message: str
) -> None:
    with pytest.raises(SourceError, match=message):
        check(source)


@pytest.mark.parametrize("check", [check_sync_source, check_async_source])
def test_forgotten_await_is_explained(check: Callable[[object], object]) -> None:
    async def create() -> list[str]:
        return ["never"]

    with pytest.raises(SourceError, match="coroutine"):
        check(create())


def test_sync_iterables_are_accepted_by_the_async_twin() -> None:
    def gen() -> Iterator[str]:
        yield "x"

    assert collect(gen(), "async") == [TextDelta("x")]
