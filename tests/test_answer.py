"""The answer accumulator's specification: what one answer is, from its events.

StreamView, Chat and %%chat all fold events with :class:`AnswerAccumulator`, so these
rules hold for each of them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nbstream.answer import AnswerAccumulator
from nbstream.events import (
    Event,
    Finish,
    ReasoningDelta,
    RefusalDelta,
    TextDelta,
    ToolCallDelta,
    Usage,
)


class FakeClock:
    """Seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def fold(events: list[Event], clock: FakeClock | None = None) -> AnswerAccumulator:
    answer = AnswerAccumulator(clock=clock or FakeClock())
    for event in events:
        answer.add(event)
    return answer


# -- text, reasoning, refusal -----------------------------------------------------------


def test_text_is_the_text_deltas_joined_in_order() -> None:
    answer = fold([TextDelta("Hel"), TextDelta("lo"), TextDelta(", world")])
    assert answer.text == "Hello, world"


def test_the_text_can_be_read_while_it_grows() -> None:
    answer = AnswerAccumulator()
    seen = []
    for piece in ["a", "b", "c"]:
        answer.add(TextDelta(piece))
        seen.append(answer.text)
    assert seen == ["a", "ab", "abc"]


def test_reasoning_is_kept_apart_from_the_text() -> None:
    answer = fold([ReasoningDelta("Think"), TextDelta("Hi"), ReasoningDelta(" more")])
    assert (answer.text, answer.reasoning) == ("Hi", "Think more")


def test_nothing_is_empty_everywhere() -> None:
    answer = AnswerAccumulator()
    assert (answer.text, answer.reasoning, answer.refusal, answer.reply) == ("", "", "", "")
    assert (answer.tool_calls, answer.usage, answer.finish_reason) == ([], None, None)


def test_a_refusal_is_kept_apart_from_the_text() -> None:
    answer = fold([RefusalDelta("I can't "), RefusalDelta("help with that.")])
    assert answer.text == ""
    assert answer.refusal == "I can't help with that."


# -- the reply: what a conversation keeps -----------------------------------------------


def test_the_reply_is_the_text_when_there_is_no_refusal() -> None:
    answer = fold([TextDelta("Paris"), ReasoningDelta("(capital)")])
    assert answer.reply == "Paris"


def test_the_reply_is_the_refusal_when_the_model_refused() -> None:
    answer = fold([RefusalDelta("I can't help with that.")])
    assert answer.reply == "I can't help with that."


def test_the_reply_keeps_text_and_refusal_in_the_order_they_came() -> None:
    answer = fold([TextDelta("Sure. "), RefusalDelta("Actually, no."), TextDelta(" Sorry.")])
    assert answer.reply == "Sure. Actually, no. Sorry."
    assert answer.text == "Sure.  Sorry."
    assert answer.refusal == "Actually, no."


# -- tool calls -------------------------------------------------------------------------


def test_tool_calls_assemble_from_pieces_and_say_when_one_appears() -> None:
    answer = AnswerAccumulator()
    appeared = [
        answer.add(ToolCallDelta(index=0, id="call_a", name="weather", arguments="")),
        answer.add(ToolCallDelta(index=0, id=None, name=None, arguments='{"city": ')),
        answer.add(ToolCallDelta(index=1, id="call_b", name="time", arguments="{}")),
        answer.add(ToolCallDelta(index=0, id=None, name=None, arguments='"Paris"}')),
    ]
    assert appeared == [True, False, True, False]
    assert answer.tool_calls == [
        {"id": "call_a", "name": "weather", "arguments": '{"city": "Paris"}'},
        {"id": "call_b", "name": "time", "arguments": "{}"},
    ]


def test_a_whole_tool_call_in_one_delta_is_one_call() -> None:
    # Ollama and llama.cpp send the call whole.
    answer = fold([ToolCallDelta(index=0, id="c1", name="add", arguments='{"a": 1, "b": 2}')])
    assert answer.tool_calls == [{"id": "c1", "name": "add", "arguments": '{"a": 1, "b": 2}'}]


def test_tool_calls_are_copies() -> None:
    answer = fold([ToolCallDelta(index=0, id="c1", name="add", arguments="{}")])
    answer.tool_calls[0]["name"] = "changed"
    assert answer.tool_calls[0]["name"] == "add"


def test_other_events_never_report_a_tool_call() -> None:
    answer = AnswerAccumulator()
    events: list[Event] = [TextDelta("x"), ReasoningDelta("y"), RefusalDelta("z")]
    events += [Usage(1, 2, 3), Finish("stop")]
    assert [answer.add(event) for event in events] == [False] * 5


# -- usage and finish -------------------------------------------------------------------


def test_the_last_usage_wins() -> None:
    # vLLM sends usage on every chunk, growing.
    answer = fold([Usage(10, 1, 11), TextDelta("a"), Usage(10, 2, 12)])
    assert answer.usage == {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}


def test_the_finish_reason_is_the_last_one_given() -> None:
    assert fold([TextDelta("a"), Finish("length")]).finish_reason == "length"


# -- timings ----------------------------------------------------------------------------


def test_time_to_first_token_counts_from_creation_to_the_first_output(clock: FakeClock) -> None:
    answer = AnswerAccumulator(clock=clock)
    clock.advance(0.25)
    answer.add(Usage(5, None, None))  # not output
    clock.advance(0.5)
    answer.add(ReasoningDelta("Hmm"))  # output: reasoning counts
    clock.advance(1)
    answer.add(TextDelta("Hi"))
    assert answer.ttft == 0.75


def test_no_output_means_no_time_to_first_token(clock: FakeClock) -> None:
    answer = AnswerAccumulator(clock=clock)
    clock.advance(1)
    answer.end()
    assert (answer.ttft, answer.tokens_per_second, answer.duration) == (None, None, 1.0)


def test_tokens_per_second_uses_the_providers_count_from_the_first_token(
    clock: FakeClock,
) -> None:
    answer = AnswerAccumulator(clock=clock)
    clock.advance(3)  # waiting for the first token does not count
    answer.add(TextDelta("a"))
    clock.advance(2)
    answer.add(Usage(10, 50, 60))
    answer.end()
    assert answer.tokens_per_second == 25.0
    assert answer.tokens_estimated is False


def test_without_usage_the_pieces_streamed_are_counted_as_tokens(clock: FakeClock) -> None:
    answer = AnswerAccumulator(clock=clock)
    for _ in range(10):
        answer.add(TextDelta("x"))
        clock.advance(0.1)
    answer.end()
    assert answer.tokens_estimated is True
    assert answer.tokens_per_second == 10.0


def test_a_rate_over_too_short_a_time_is_not_given(clock: FakeClock) -> None:
    answer = AnswerAccumulator(clock=clock)
    answer.add(TextDelta("cached"))
    clock.advance(0.04)
    answer.end()
    assert answer.tokens_per_second is None


def test_the_first_end_counts(clock: FakeClock) -> None:
    answer = AnswerAccumulator(clock=clock)
    clock.advance(1)
    answer.end()
    clock.advance(5)
    answer.end()
    assert answer.duration == 1.0


def test_before_the_end_the_duration_runs_on(clock: FakeClock) -> None:
    answer = AnswerAccumulator(clock=clock)
    clock.advance(2)
    assert answer.duration == 2.0
    clock.advance(1)
    assert answer.duration == 3.0


def test_stats_gather_the_footers_figures(clock: FakeClock) -> None:
    answer = AnswerAccumulator(clock=clock)
    clock.advance(0.5)
    answer.add(TextDelta("Hello"))
    clock.advance(1.5)
    answer.add(Usage(12, 30, 42))
    answer.add(Finish("stop"))
    answer.end()
    assert answer.stats("nbstream-local") == {
        "model": "nbstream-local",
        "ttft": 0.5,
        "duration": 2.0,
        "tokens_per_second": 20.0,
        "tokens_estimated": False,
        "prompt_tokens": 12,
        "completion_tokens": 30,
        "finish_reason": "stop",
        "rounds": 1,
        "tool_calls": 0,
    }


def test_the_clock_is_read_only_at_creation_first_output_and_end() -> None:
    reads: list[str] = []
    ticks: Iterator[float] = iter([0.0, 1.0, 4.0])

    def clock() -> float:
        reads.append("read")
        return next(ticks)

    answer = AnswerAccumulator(clock=clock)
    for piece in "many pieces":
        answer.add(TextDelta(piece))
    answer.end()
    assert len(reads) == 3  # not once per token
    assert (answer.ttft, answer.duration) == (1.0, 4.0)
