"""``ToolRounds``: an answer with tools as one stream of events, for ``%%chat --tools``.

A scripted backend (a function of the message list, as ``Chat`` takes) plays the model:
it calls the tools its question names and answers with the results it gets back. Every
test runs through the sync and the async twin alike, and the last ones through a real
``StreamView``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from nbstream import StreamView
from nbstream.backends import resolve_backend
from nbstream.chat.run import event_loop_thread
from nbstream.events import Event, Finish, TextDelta, Usage
from nbstream.tool_calls import ToolCall
from nbstream.tools import Tool
from nbstream.tools.calls import CallState
from nbstream.tools.rounds import PREVIEW_LIMIT, ToolRounds, call_markdown, limit_note

MODES = ["sync", "async"]


def scripted(messages: list[dict[str, Any]], tools: Any = None) -> list[dict[str, Any]]:
    """Calls each tool named in the question, with the arguments the question gives as
    JSON (``{"add": {"a": 1, "b": 2}}``); then answers with what came back."""
    usage = {"prompt_tokens": len(messages), "completion_tokens": 1, "total_tokens": 0}
    if messages[-1]["role"] == "tool":
        got = [m["content"] for m in messages if m["role"] == "tool"]
        content = {"content": "Got " + ", ".join(got)}
        return [
            {"choices": [{"index": 0, "delta": content, "finish_reason": "stop"}]},
            {"choices": [], "usage": usage},
        ]
    asked = json.loads(messages[-1]["content"])
    calls = [
        {"index": i, "id": f"c{i}", "function": {"name": name, "arguments": json.dumps(args)}}
        for i, (name, args) in enumerate(asked.items())
    ]
    return [
        {"choices": [{"index": 0, "delta": {"content": "Let me see."}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": calls}, "finish_reason": "tool_calls"}]},
        {"choices": [], "usage": usage},
    ]


async def ascripted(messages: list[dict[str, Any]], tools: Any = None) -> Any:
    for chunk in scripted(messages, tools):
        yield chunk


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


async def shout(text: str) -> str:
    """Upper-case a text."""
    await asyncio.sleep(0)
    return text.upper()


def rounds_for(mode: str, question: dict[str, Any], *functions: Any, **options: Any) -> ToolRounds:
    backend = resolve_backend(scripted if mode == "sync" else ascripted, None, {})
    tools = {tool.name: tool for tool in map(Tool.from_function, functions)}
    loop = event_loop_thread() if mode == "sync" else None
    messages = [{"role": "user", "content": json.dumps(question)}]
    return ToolRounds(backend, messages, tools, loop=loop, **options)


def read(mode: str, rounds: ToolRounds) -> list[Event]:
    if mode == "sync":
        return list(rounds)

    async def collect() -> list[Event]:
        return [event async for event in rounds]

    return asyncio.run(collect())


def text_of(events: list[Event]) -> str:
    return "".join(event.text for event in events if isinstance(event, TextDelta))


@pytest.mark.parametrize("mode", MODES)
def test_calls_run_between_rounds_and_the_exchange_is_kept(mode: str) -> None:
    rounds = rounds_for(mode, {"add": {"a": 2, "b": 3}, "shout": {"text": "hi"}}, add, shout)
    events = read(mode, rounds)
    text = text_of(events)
    # The first round's text, each call with its result, then the answer built on them.
    assert text.startswith('Let me see.\n\n🔧 **add** `{"a": 2, "b": 3}` · done in ')
    assert '```text\n5\n```\n\n🔧 **shout** `{"text": "hi"}` · done in ' in text
    assert text.endswith("```text\nHI\n```\n\nGot 5, HI")
    assert rounds.reply == "Got 5, HI"
    assert (rounds.rounds, rounds.calls) == (2, 2)
    assert rounds.added == [
        {
            "role": "assistant",
            "content": "Let me see.",
            "tool_calls": [
                {
                    "id": "c0",
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'},
                },
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "shout", "arguments": '{"text": "hi"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "c0", "content": "5"},
        {"role": "tool", "tool_call_id": "c1", "content": "HI"},
        {"role": "assistant", "content": "Got 5, HI"},
    ]
    # One finish, the last round's, and the rounds' usage summed (1, then 4 messages sent).
    assert [e for e in events if isinstance(e, Finish)] == [Finish("stop")]
    assert [e for e in events if isinstance(e, Usage)] == [Usage(1 + 4, 2, 0)]


@pytest.mark.parametrize("mode", MODES)
def test_failures_and_denials_go_back_to_the_model(mode: str) -> None:
    def broken(path: str) -> str:
        """Read a file."""
        raise FileNotFoundError(path)

    asked: list[tuple[str, dict[str, Any]]] = []

    def approve(name: str, arguments: dict[str, Any]) -> bool:
        asked.append((name, arguments))
        return name != "add"

    question = {"broken": {"path": "a.txt"}, "add": {"a": 1, "b": 1}, "nope": {}}
    rounds = rounds_for(mode, question, broken, add, approve=approve)
    text = text_of(read(mode, rounds))
    contents = [m["content"] for m in rounds.added if m["role"] == "tool"]
    assert contents[0].startswith("FileNotFoundError: a.txt")
    assert contents[1] == "denied by the user"
    assert contents[2].startswith("there is no tool named 'nope'")
    assert asked == [("broken", {"path": "a.txt"}), ("add", {"a": 1, "b": 1})]
    assert '🔧 **broken** `{"path": "a.txt"}` · error' in text
    assert '🔧 **add** `{"a": 1, "b": 1}` · denied' in text
    assert rounds.reply.startswith("Got FileNotFoundError")


@pytest.mark.parametrize("mode", MODES)
def test_the_round_limit_ends_with_a_note_and_a_valid_history(mode: str) -> None:
    def again(messages: list[dict[str, Any]], tools: Any = None) -> list[dict[str, Any]]:
        call = {
            "index": 0,
            "id": f"c{len(messages)}",
            "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
        }
        return [
            {
                "choices": [
                    {"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": "tool_calls"}
                ]
            }
        ]

    async def aagain(messages: list[dict[str, Any]], tools: Any = None) -> Any:
        for chunk in again(messages, tools):
            yield chunk

    backend = resolve_backend(again if mode == "sync" else aagain, None, {})
    rounds = ToolRounds(
        backend,
        [{"role": "user", "content": "Loop"}],
        {"add": Tool.from_function(add)},
        loop=event_loop_thread(),
        max_tool_rounds=2,
    )
    text = text_of(read(mode, rounds))
    assert text.endswith(f"*{limit_note(2)}*")
    assert (rounds.rounds, rounds.calls) == (3, 2)
    # Every tool_calls message is answered; the last calls, not run, are not in it.
    roles = [m["role"] + ("+calls" if "tool_calls" in m else "") for m in rounds.added]
    assert roles == ["assistant+calls", "tool", "assistant+calls", "tool", "assistant"]


def test_an_interrupt_in_a_tool_stops_the_round_and_keeps_nothing() -> None:
    started = threading.Event()
    cancelled = threading.Event()

    async def waits() -> str:
        """Wait."""
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "late"

    def interrupted() -> str:
        """Be interrupted."""
        assert started.wait(5)
        raise KeyboardInterrupt

    rounds = rounds_for("sync", {"waits": {}, "interrupted": {}}, waits, interrupted)
    with pytest.raises(KeyboardInterrupt):
        list(rounds)
    assert cancelled.wait(5)  # the async sibling was cancelled, not left running
    assert rounds.added == []


@pytest.mark.parametrize("mode", MODES)
def test_a_view_streams_every_round(mode: str) -> None:
    rounds = rounds_for(mode, {"add": {"a": 20, "b": 22}}, add)
    view = StreamView()
    text = view.stream(rounds) if mode == "sync" else asyncio.run(view.astream(rounds))
    assert text == view.content
    assert text.startswith("Let me see.\n\n🔧 **add**")
    assert text.endswith("Got 42")
    assert (view.finish_reason, view.error) == ("stop", None)
    assert view.usage == {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 0}


def state(content: str, name: str = "add", arguments: str = '{"a":1}') -> CallState:
    return CallState(ToolCall(id="c1", name=name, arguments=arguments), "done", content, 2.5)


@pytest.mark.parametrize(
    ("shown", "check"),
    [
        # A result with a fence of its own cannot close the preview's.
        (call_markdown(state("```\nx\n```")), lambda s: "\n````text\n```\nx\n```\n````" in s),
        # Backticks in the arguments get a longer inline fence.
        (call_markdown(state("1", arguments='{"q": "`a`"}')), lambda s: '``{"q": "`a`"}``' in s),
        # Arguments that are not JSON show as they came.
        (call_markdown(state("1", arguments="{oops")), lambda s: "`{oops`" in s),
        # Markdown in a name is shown, not applied.
        (call_markdown(state("1", name="my_tool_*x*")), lambda s: r"**my\_tool\_\*x\***" in s),
        (call_markdown(state("1")), lambda s: "· done in 2.5 s" in s),
    ],
)
def test_a_call_shows_as_markdown_that_stays_in_its_place(
    shown: str, check: Callable[[str], bool]
) -> None:
    assert check(shown), shown


def test_a_long_result_is_cut_in_the_preview_only() -> None:
    long = state("x" * (PREVIEW_LIMIT + 50))
    shown = call_markdown(long)
    assert f"{'x' * PREVIEW_LIMIT}… ({PREVIEW_LIMIT + 50:,} characters in all)" in shown
    assert long.content == "x" * (PREVIEW_LIMIT + 50)  # what the model gets is whole
