"""Sources → events: every kind of source, through the sync and the async twin."""

from __future__ import annotations

import asyncio
import random
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
    ThinkSplitter,
    ToolCallDelta,
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


THINKING = "  <think>Let me think </thi about it.\n</think>\n\nThe answer </think> <think> is 42."


@pytest.mark.parametrize("seed", range(40))
def test_think_block_at_the_start_becomes_reasoning_at_any_split(seed: int) -> None:
    rng = random.Random(seed)
    text = THINKING
    cuts = sorted(rng.sample(range(1, len(text)), rng.randint(1, len(text) - 1)))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    splitter = ThinkSplitter()
    events = [e for piece in pieces for e in splitter.feed(TextDelta(piece))]
    events += splitter.flush()
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == (
        "Let me think </thi about it.\n"
    )
    # The quoted tags later on are the answer's, and the separating blank line is not.
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == (
        "The answer </think> <think> is 42."
    )


def test_think_splitter_one_character_at_a_time() -> None:
    splitter = ThinkSplitter()
    events = [e for ch in "<think>why</think>\n\nso" for e in splitter.feed(TextDelta(ch))]
    events += splitter.flush()
    kinds = {type(e).__name__ for e in events}
    assert kinds == {"ReasoningDelta", "TextDelta"}
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "why"
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "so"


@pytest.mark.parametrize(
    ("pieces", "answer"),
    [
        (["Plain ", "answer <think>"], "Plain answer <think>"),
        (["  ", "\n", "<thin", "g>"], "  \n<thing>"),
        (["<", "b>bold</b>"], "<b>bold</b>"),
    ],
)
def test_text_that_does_not_open_with_think_stays_text(pieces: list[str], answer: str) -> None:
    splitter = ThinkSplitter()
    events = [e for p in pieces for e in splitter.feed(TextDelta(p))] + splitter.flush()
    assert all(isinstance(e, TextDelta) for e in events)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == answer


def test_unclosed_think_is_all_reasoning() -> None:
    splitter = ThinkSplitter()
    events = splitter.feed(TextDelta("<think>still going </thi")) + splitter.flush()
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == ("still going </thi")
    assert not [e for e in events if isinstance(e, TextDelta)]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_tool_call_deltas_are_events(mode: str) -> None:
    source = [
        chunk(
            None,
            tool_calls=[
                {
                    "index": 0,
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ],
        ),
        chunk(None, tool_calls=[{"index": 0, "function": {"arguments": '{"city": '}}]),
        chunk(None, tool_calls=[{"index": 0, "function": {"arguments": '"Oslo"}'}}]),
        chunk(None, finish="tool_calls"),
    ]
    events = collect(source if mode == "sync" else as_async(source), mode)
    calls = [e for e in events if isinstance(e, ToolCallDelta)]
    assert [(c.index, c.id, c.name) for c in calls] == [
        (0, "call_a", "get_weather"),
        (0, None, None),
        (0, None, None),
    ]
    assert "".join(c.arguments for c in calls) == '{"city": "Oslo"}'
    assert events[-1] == Finish("tool_calls")
