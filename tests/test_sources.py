"""Sources → events: every kind of source, through the sync and the async twin."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from openai._models import construct_type
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent

from nbstream.errors import SourceError, StreamError
from nbstream.events import (
    Finish,
    ReasoningDelta,
    RefusalDelta,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from nbstream.sources import (
    ChunkParser,
    ThinkSplitter,
    aiter_events,
    check_async_source,
    check_sync_source,
    iter_events,
)


def chunk(
    content: str | list[Any] | None = None,
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
        (42, check_sync_source, "cannot stream an int"),
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


# -- the <think> stage of the pipeline: every consumer gets the same split -----------


def until_failure(pieces: list[str], mode: str) -> tuple[list[Any], BaseException]:
    """The events a source of ``pieces`` gives before it raises, and what it raised."""
    failure = ValueError("the model fell over")

    def sync_source() -> Iterator[str]:
        yield from pieces
        raise failure

    async def async_source() -> AsyncIterator[str]:
        for piece in pieces:
            yield piece
        raise failure

    seen: list[Any] = []

    async def drain() -> None:
        async for event in aiter_events(check_async_source(async_source())):
            seen.append(event)

    def run() -> None:
        if mode == "sync":
            for event in iter_events(check_sync_source(sync_source())):
                seen.append(event)
        else:
            asyncio.run(drain())

    with pytest.raises(ValueError, match="fell over") as raised:
        run()
    return seen, raised.value


@pytest.mark.parametrize("mode", MODES)
def test_the_pipeline_splits_a_leading_think_block(mode: str) -> None:
    events = collect(["<thi", "nk>Let me see.</th", "ink>\n\nThe answer."], mode)
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Let me see."
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "The answer."


@pytest.mark.parametrize("mode", MODES)
def test_what_the_think_stage_holds_back_comes_out_before_a_failure(mode: str) -> None:
    # "</thi" could still be the closing tag, so it is held back; the failure must not
    # take it with it.
    events, error = until_failure(["<think>still going </thi"], mode)
    assert str(error) == "the model fell over"
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "still going </thi"
    # Text that could still have been the opening tag is the answer's once it fails.
    events, _ = until_failure(["  <thi"], mode)
    assert events == [TextDelta("  <thi")]


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


# -- provider quirks --------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_mistral_typed_parts_split_into_thinking_and_text(mode: str) -> None:
    parts = [
        {"type": "thinking", "thinking": [{"type": "text", "text": "Let me see. "}]},
        {"type": "text", "text": "Paris"},
    ]
    events = collect([chunk(parts), chunk([{"type": "text", "text": "."}], finish="stop")], mode)
    assert events == [
        ReasoningDelta("Let me see. "),
        TextDelta("Paris"),
        TextDelta("."),
        Finish("stop"),
    ]


@pytest.mark.parametrize("mode", MODES)
def test_reasoning_details_count_once_and_stand_in_when_alone(mode: str) -> None:
    details = [{"type": "reasoning.text", "text": "hmm"}]
    duplicated = chunk(None, reasoning="hmm", reasoning_details=details)
    alone = chunk(None, reasoning_details=[{"type": "reasoning.summary", "summary": " ok"}])
    assert collect([duplicated, alone], mode) == [ReasoningDelta("hmm"), ReasoningDelta(" ok")]


@pytest.mark.parametrize("mode", MODES)
def test_usage_from_x_groq_and_on_every_chunk(mode: str) -> None:
    groq = chunk("", finish="stop").model_dump()
    groq["x_groq"] = {"usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}}
    continuous = chunk("a", usage={"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4})
    events = collect([continuous, groq], mode)
    assert [e for e in events if isinstance(e, Usage)] == [Usage(3, 1, 4), Usage(3, 5, 8)]


@pytest.mark.parametrize("mode", MODES)
def test_refusal_deltas_are_their_own_events(mode: str) -> None:
    events = collect([chunk(None, refusal="I can't "), chunk(None, refusal="help.")], mode)
    assert events == [RefusalDelta("I can't "), RefusalDelta("help.")]


@pytest.mark.parametrize("mode", MODES)
def test_error_chunk_in_raw_json_raises_after_the_text(mode: str) -> None:
    error = {"error": {"message": "overloaded", "code": "server_error"}}
    seen: list[Any] = []

    def run_sync() -> None:
        seen.extend(iter_events(check_sync_source([chunk("partial"), error])))

    async def run_async() -> None:
        async for event in aiter_events(check_async_source(as_async([chunk("ab"), error]))):
            seen.append(event)

    with pytest.raises(StreamError, match=r"overloaded \(server_error\)"):
        run_sync() if mode == "sync" else asyncio.run(run_async())
    assert [type(e) for e in seen] == [TextDelta]


def responses_event(kind: str, **fields: Any) -> Any:
    """A real Responses API stream event, built the way the SDK builds them."""
    return construct_type(type_=ResponseStreamEvent, value={"type": kind, **fields})


@pytest.mark.parametrize("mode", MODES)
def test_responses_api_events(mode: str) -> None:
    usage = {"input_tokens": 4, "output_tokens": 6, "total_tokens": 10}
    events = collect(
        [
            responses_event("response.created", response={"id": "r"}),
            responses_event("response.reasoning_summary_text.delta", delta="think", output_index=0),
            responses_event("response.output_text.delta", delta="Hi \ud83d", output_index=1),
            responses_event("response.output_text.delta", delta="\ude80!", output_index=1),
            responses_event("response.output_text.done", text="Hi 🚀!", output_index=1),
            responses_event("response.completed", response={"id": "r", "usage": usage}),
        ],
        mode,
    )
    assert events == [
        ReasoningDelta("think"),
        TextDelta("Hi "),
        TextDelta("🚀!"),
        Usage(4, 6, 10),
        Finish("stop"),
    ]


@pytest.mark.parametrize("mode", MODES)
def test_responses_api_incomplete_and_function_calls(mode: str) -> None:
    events = collect(
        [
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {"type": "function_call", "call_id": "c9", "name": "f", "arguments": ""},
            },
            {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": "{}"},
            {
                "type": "response.incomplete",
                "response": {"incomplete_details": {"reason": "max_output_tokens"}},
            },
        ],
        mode,
    )
    assert events == [
        ToolCallDelta(0, "c9", "f", ""),
        ToolCallDelta(0, None, None, "{}"),
        Finish("length"),
    ]


@pytest.mark.parametrize(
    "event",
    [
        {"type": "error", "code": "rate_limit", "message": "slow down"},
        {"type": "response.failed", "response": {"error": {"message": "slow down"}}},
    ],
)
def test_responses_api_errors_raise_with_the_providers_message(event: dict[str, Any]) -> None:
    source = [{"type": "response.output_text.delta", "delta": "so far"}, event]
    seen: list[Any] = []
    with pytest.raises(StreamError, match="slow down"):
        seen.extend(iter_events(check_sync_source(source)))
    assert seen == [TextDelta("so far")]


def test_a_finished_generator_is_refused_with_a_clear_error() -> None:
    def gen() -> Iterator[str]:
        yield "a"

    source = gen()
    assert list(iter_events(check_sync_source(source))) == [TextDelta("a")]
    with pytest.raises(SourceError, match="already finished"):
        check_sync_source(source)


def test_a_finished_async_generator_is_refused_with_a_clear_error() -> None:
    source = as_async(["a"])

    async def run() -> list[Any]:
        return [e async for e in aiter_events(check_async_source(source))]

    assert asyncio.run(run()) == [TextDelta("a")]
    with pytest.raises(SourceError, match="already finished"):
        check_async_source(source)


def test_responses_api_summary_parts_are_separated() -> None:
    events = collect(
        [
            {"type": "response.reasoning_summary_part.added", "summary_index": 0},
            {"type": "response.reasoning_summary_text.delta", "delta": "First."},
            {"type": "response.reasoning_summary_part.added", "summary_index": 1},
            {"type": "response.reasoning_summary_text.delta", "delta": "**Next**"},
        ],
        "sync",
    )
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "First.\n\n**Next**"
