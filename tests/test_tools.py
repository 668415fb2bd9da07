"""Tools: schemas from signatures, validation, results as text, one round of calls (its
state machine: parallel, raising, denied, Stop in each phase), and the Chat's loop
driven by a scripted backend, sync and async."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from typing import Any, Literal

import pydantic
import pytest

from nbstream import Chat
from nbstream.chat.run import event_loop_thread
from nbstream.tool_calls import ToolCall
from nbstream.tools import Tool, ToolArgumentsError, error_text, result_text, tools_from
from nbstream.tools.calls import DENIED, DROPPED_NOTE, ToolRound

# -- schemas ------------------------------------------------------------------------------


@dataclasses.dataclass
class Point:
    x: float
    y: float


class Filters(pydantic.BaseModel):
    min_price: float = 0
    tags: list[str] = []


def search(  # noqa: PLR0917 - a model passes them by name; the signature is the test
    query: str,
    order: Literal["newest", "oldest"] = "newest",
    limit: int | None = None,
    near: Point | None = None,
    filters: Filters | None = None,
    words: list[str] | None = None,
) -> str:
    """Search the catalogue.

    Finds items whose name or description matches.

    Args:
        query: What to look for.
        order: Which come first.
        limit (int): At most this many,
            or all of them.
        near: Close to this point.
        filters: Narrow it down.
        words: Extra words.
    """
    return query


def test_the_schema_comes_from_the_signature_hints_and_docstring() -> None:
    tool = Tool.from_function(search)
    assert tool.name == "search"
    assert (
        tool.description
        == "Search the catalogue.\n\nFinds items whose name or description matches."
    )
    schema = tool.parameters
    assert schema["type"] == "object"
    assert schema["required"] == ["query"]
    props = schema["properties"]
    assert props["query"] == {"type": "string", "description": "What to look for."}
    assert props["order"]["enum"] == ["newest", "oldest"]
    assert props["order"]["default"] == "newest"
    assert props["limit"]["description"] == "At most this many, or all of them."
    assert {"type": "integer"} in props["limit"]["anyOf"]
    assert props["words"]["anyOf"][0] == {"type": "array", "items": {"type": "string"}}
    # Dataclasses and pydantic models become object schemas, no "title" noise anywhere.
    assert schema["$defs"]["Point"]["properties"] == {
        "x": {"type": "number"},
        "y": {"type": "number"},
    }
    assert "title" not in json.dumps(schema).replace('"title": {', "")
    assert tool.schema() == {
        "type": "function",
        "function": {"name": "search", "description": tool.description, "parameters": schema},
    }


def test_arguments_are_validated_and_converted() -> None:
    tool = Tool.from_function(search)
    args = tool.arguments('{"query": "lamp", "near": {"x": 1, "y": 2}, "filters": {"tags": ["a"]}}')
    assert args["near"] == Point(1.0, 2.0)
    assert args["filters"] == Filters(tags=["a"])
    assert args["order"] == "newest"  # the default
    assert tool.call(args) == "lamp"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            '{"query": 3}',
            "invalid arguments for search: query: Input should be a valid string (got 3)",
        ),
        ('{"query": "x", "order": "random"}', "order: Input should be 'newest' or 'oldest'"),
        ("{}", "query: Field required"),
        ('{"query": ', "the arguments for search are not valid JSON"),
        ("[1, 2]", "the arguments for search must be a JSON object, got list"),
    ],
)
def test_bad_arguments_say_what_is_wrong(raw: str, message: str) -> None:
    with pytest.raises(ToolArgumentsError) as raised:
        Tool.from_function(search).arguments(raw)
    assert message in str(raised.value)


def test_a_ready_schema_and_function_are_a_tool() -> None:
    schema = {"type": "function", "function": {"name": "now", "parameters": {"type": "object"}}}
    [tool] = tools_from([(schema, lambda: "noon")])
    assert (tool.name, tool.schema()["function"]["parameters"]) == ("now", {"type": "object"})
    assert tool.call(tool.arguments("")) == "noon"


@pytest.mark.parametrize(
    ("tools", "error", "message"),
    [
        (["search"], TypeError, "tools[0] is a str; tools=[...] takes functions"),
        ([42], TypeError, "tools[0] is an int"),
        ("search", TypeError, "tools must be a list of functions"),
        ([lambda q: q], TypeError, "a lambda has none"),
        ([search, search], ValueError, "two tools are named search"),
        ([({"function": {}}, search)], TypeError, "a tool dict is {'type': 'function'"),
    ],
)
def test_anything_else_is_refused_naming_what_is_accepted(
    tools: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message.replace("[", r"\[").replace("(", r"\(")):
        tools_from(tools)


def test_star_args_have_no_schema() -> None:
    def anything(*values: int) -> int:
        return sum(values)

    with pytest.raises(TypeError, match=r"takes \*values"):
        Tool.from_function(anything)


# -- results as text ------------------------------------------------------------------


class Table:
    def _repr_markdown_(self) -> str:
        return "| a |\n|---|\n| 1 |"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain", "plain"),
        ({"a": [1, 2], "é": None}, '{"a": [1, 2], "é": null}'),
        (3.5, "3.5"),
        (None, "null"),
        (Point(1, 2), '{"x": 1, "y": 2}'),
        (Filters(min_price=2), '{"min_price": 2.0, "tags": []}'),
        (Table(), "| a |\n|---|\n| 1 |"),
        ({1, 2}, "{1, 2}"),  # not JSON: str()
    ],
)
def test_a_return_value_becomes_the_text_a_person_expects(value: object, text: str) -> None:
    assert result_text(value) == text


def test_long_results_are_cut_with_a_note() -> None:
    text = result_text("x" * 25_000)
    assert text.startswith("x" * 20_000 + "\n\n[cut: the result has 25,000 characters")
    assert len(result_text("y" * 50, limit=10).split("\n")[0]) == 10


def test_a_failure_says_type_message_and_where() -> None:
    def lookup(key: str) -> str:
        raise KeyError(key)

    try:
        lookup("missing")
    except KeyError as exc:
        text = error_text(exc)
    assert text.startswith("KeyError: 'missing' (raised in lookup, test_tools.py:")


# -- one round of calls ---------------------------------------------------------------


def call(id: str, name: str, **arguments: Any) -> ToolCall:
    return ToolCall(id=id, name=name, arguments=json.dumps(arguments))


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def fails(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(reason)


async def slow_double(x: int) -> int:
    """Double x, slowly."""
    await asyncio.sleep(0.3)
    return 2 * x


TOOLS = {tool.name: tool for tool in tools_from([add, fails, slow_double])}


@pytest.fixture(scope="module")
def loop() -> asyncio.AbstractEventLoop:
    return event_loop_thread()


def test_each_call_gets_its_result_or_its_error(loop: asyncio.AbstractEventLoop) -> None:
    round_ = ToolRound(
        [
            call("1", "add", a=2, b=3),
            call("2", "fails", reason="no disk"),
            call("3", "nope"),
            ToolCall(id="4", name="add", arguments='{"a": "x"}'),
            ToolCall(id="5", name="add", arguments="{oops"),
        ],
        TOOLS,
        loop=loop,
    )
    round_.run()
    got = [(s.status, s.content.split(" (raised")[0]) for s in round_.states]
    assert got[0] == ("done", "5")
    assert got[1] == ("error", "RuntimeError: no disk")
    assert got[2] == (
        "error",
        "there is no tool named 'nope'; the tools are: add, fails, slow_double",
    )
    assert got[3][0] == "error"
    assert got[3][1].startswith("invalid arguments for add: a: Input")
    assert got[4][0] == "error"
    assert "not valid JSON" in got[4][1]
    assert round_.states[0].duration is not None


def test_async_calls_of_a_round_run_together(loop: asyncio.AbstractEventLoop) -> None:
    calls = [call(str(i), "slow_double", x=i) for i in range(4)]
    round_ = ToolRound(calls, TOOLS, loop=loop)
    started = time.monotonic()
    round_.run()
    elapsed = time.monotonic() - started
    assert [s.content for s in round_.states] == ["0", "2", "4", "6"]
    assert elapsed < 0.9, f"4 x 0.3 s took {elapsed:.2f} s: not concurrent"


def test_a_function_decides_approval(loop: asyncio.AbstractEventLoop) -> None:
    asked: list[tuple[str, dict[str, Any]]] = []

    def only_small(name: str, arguments: dict[str, Any]) -> bool:
        asked.append((name, arguments))
        return bool(arguments["a"] < 10)

    round_ = ToolRound(
        [call("1", "add", a=1, b=1), call("2", "add", a=99, b=1)],
        TOOLS,
        approve=only_small,
        loop=loop,
    )
    round_.run()
    assert [(s.status, s.content) for s in round_.states] == [("done", "2"), ("denied", DENIED)]
    assert asked == [("add", {"a": 1, "b": 1}), ("add", {"a": 99, "b": 1})]


def test_clicks_approve_each_call(loop: asyncio.AbstractEventLoop) -> None:
    round_ = ToolRound(
        [call("1", "add", a=1, b=1), call("2", "add", a=5, b=5)], TOOLS, approve=True, loop=loop
    )
    worker = threading.Thread(target=round_.run)
    worker.start()
    wait_until(lambda: all(s.status == "waiting" for s in round_.states))
    assert round_.answer("2", False)
    assert not round_.answer("nope", True)
    assert round_.answer("1", True)
    worker.join(5)
    assert [(s.status, s.content) for s in round_.states] == [("done", "2"), ("denied", DENIED)]


def test_stop_while_waiting_for_approval(loop: asyncio.AbstractEventLoop) -> None:
    round_ = ToolRound([call("1", "add", a=1, b=1)], TOOLS, approve=True, loop=loop)
    worker = threading.Thread(target=round_.run)
    worker.start()
    wait_until(lambda: round_.states[0].status == "waiting")
    stopped = time.monotonic()
    round_.stop()
    worker.join(5)
    assert time.monotonic() - stopped < 0.1
    assert round_.states[0].status == "cancelled"
    assert not round_.answer("1", True)  # too late


def test_stop_while_a_sync_tool_runs_drops_its_result(loop: asyncio.AbstractEventLoop) -> None:
    release = threading.Event()

    def blocks() -> str:
        """Waits."""
        release.wait(5)
        return "late"

    tools = {tool.name: tool for tool in tools_from([blocks, add])}
    round_ = ToolRound([call("1", "blocks"), call("2", "add", a=1, b=2)], tools, loop=loop)
    worker = threading.Thread(target=round_.run)
    worker.start()
    wait_until(lambda: round_.states[0].status == "running")
    round_.stop()
    assert [s.status for s in round_.states] == ["cancelled", "cancelled"]
    assert round_.states[0].note == DROPPED_NOTE
    release.set()
    worker.join(5)
    # Its result came, and was dropped; the next call never ran.
    assert "late" not in round_.states[0].content
    assert round_.states[1].content.startswith("cancelled: the answer was stopped before")


def test_stop_cancels_running_async_tools(loop: asyncio.AbstractEventLoop) -> None:
    cancelled = threading.Event()

    async def forever() -> str:
        """Never ends."""
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    round_ = ToolRound([call("1", "forever")], {"forever": Tool.from_function(forever)}, loop=loop)
    worker = threading.Thread(target=round_.run)
    worker.start()
    wait_until(lambda: round_.states[0].status == "running")
    round_.stop()
    worker.join(5)
    assert not worker.is_alive()
    assert cancelled.wait(2)
    assert round_.states[0].status == "cancelled"


# -- the Chat's loop, with a scripted model -------------------------------------------


def chunk(**delta: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}


def finish(reason: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}


def calls_chunks(*calls: tuple[str, str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Chunks for tool calls, arguments split in two pieces as providers stream them."""
    chunks = []
    for index, (call_id, name, arguments) in enumerate(calls):
        text = json.dumps(arguments)
        head = {"index": index, "id": call_id, "function": {"name": name, "arguments": text[:3]}}
        chunks.append(chunk(tool_calls=[head]))
        chunks.append(chunk(tool_calls=[{"index": index, "function": {"arguments": text[3:]}}]))
    return [*chunks, finish("tool_calls")]


class Script:
    """A model that calls tools by script, then answers with the results it got."""

    def __init__(self, *rounds: list[tuple[str, str, dict[str, Any]]]) -> None:
        self.rounds = list(rounds)
        self.requests: list[tuple[list[dict[str, Any]], list[dict[str, Any]] | None]] = []

    def __call__(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        self.requests.append((messages, tools))
        if self.rounds:
            return calls_chunks(*self.rounds.pop(0))
        results = [m["content"] for m in messages if m["role"] == "tool"]
        return [chunk(content="Got: " + " | ".join(results)), finish("stop")]


def test_the_chat_runs_the_calls_and_answers_with_the_results() -> None:
    model = Script([("c1", "add", {"a": 2, "b": 2}), ("c2", "fails", {"reason": "boom"})])
    chat = Chat(model, tools=[add, fails])
    reply = chat.ask("Add 2 and 2, and fail")
    assert reply.startswith("Got: 4 | RuntimeError: boom (raised in fails")
    # The model was offered the tools' schemas.
    assert [t["function"]["name"] for t in model.requests[0][1] or []] == ["add", "fails"]
    roles = [m["role"] for m in chat.messages]
    assert roles == ["user", "assistant", "tool", "tool", "assistant"]
    assistant = chat.messages[1]
    assert [c["function"]["arguments"] for c in assistant["tool_calls"]] == [
        '{"a": 2, "b": 2}',
        '{"reason": "boom"}',
    ]
    assert chat.messages[2] == {"role": "tool", "content": "4", "tool_call_id": "c1"}
    # The second request carried the whole exchange so far.
    assert [m["role"] for m in model.requests[1][0]] == ["user", "assistant", "tool", "tool"]
    stats = chat.last_answer.stats if chat.last_answer else None
    assert stats is not None
    assert (stats["rounds"], stats["tool_calls"]) == (2, 2)
    cards = [t for t in chat._turns if t["role"] == "tool"]
    assert [(c["name"], c["status"]) for c in cards] == [("add", "done"), ("fails", "error")]
    assert chat.is_streaming is False


def test_asend_runs_the_same_loop() -> None:
    async def main() -> str:
        chat = Chat(Script([("c1", "slow_double", {"x": 21})]), tools=[slow_double])
        return await chat.asend("Double 21")

    assert asyncio.run(main()) == "Got: 42"


def test_the_round_limit_ends_with_a_note_and_a_consistent_history() -> None:
    forever = [("c", "add", {"a": 1, "b": 1})]
    chat = Chat(Script(*[forever] * 5), tools=[add], max_tool_rounds=2)
    chat.ask("Keep adding")
    roles = [m["role"] for m in chat.messages]
    assert roles == ["user", "assistant", "tool", "assistant", "tool", "assistant", "tool"]
    last = chat._turns[-2]
    assert last["note"] == (
        "Stopped after 2 rounds of tool calls (max_tool_rounds=2); the last calls were not run."
    )
    assert chat.messages[-1]["content"].startswith("not run: Stopped after 2 rounds")
    assert "Stopped after 2 rounds" in chat.export()
    answer = chat.last_answer
    assert answer is not None
    assert answer.note == last["note"]
    assert [call["name"] for call in answer.tool_calls] == ["add"]
    # An answer that was the model's last word has no note.
    chat.tools = []
    chat.ask("Now just answer")
    assert chat.last_answer is not None
    assert chat.last_answer.note is None


def test_stop_during_a_tool_ends_everything_at_once_and_keeps_the_history_whole() -> None:
    release = threading.Event()

    def blocks() -> str:
        """Waits."""
        release.wait(5)
        return "late"

    chat = Chat(Script([("c1", "blocks", {})]), tools=[blocks])
    chat.send("Block")
    wait_until(lambda: any(t.get("status") == "running" for t in chat._turns))
    started = time.monotonic()
    assert chat.stop() is True
    assert time.monotonic() - started < 0.1
    assert chat.is_streaming is False
    [card] = [t for t in chat._turns if t["role"] == "tool"]
    assert (card["status"], card["note"]) == ("cancelled", DROPPED_NOTE)
    # The answer that asked for the call shows that the exchange was stopped there.
    [asked] = [t for t in chat._turns if t["role"] == "assistant"]
    assert asked["status"] == "stopped"
    assert "*(stopped)*" in chat.export()
    release.set()
    time.sleep(0.2)
    # No tool_calls message without its tool message; the late result was dropped.
    assert [m["role"] for m in chat.messages] == ["user", "assistant", "tool"]
    assert "late" not in chat.messages[-1]["content"]
    chat.tools = []
    assert chat.ask("And now?").startswith("Got:")  # usable again


def test_a_denied_call_tells_the_model() -> None:
    chat = Chat(Script([("c1", "add", {"a": 1, "b": 2})]), tools=[add], approve=lambda n, a: False)
    assert chat.ask("Add") == f"Got: {DENIED}"
    assert [t["status"] for t in chat._turns if t["role"] == "tool"] == ["denied"]


def test_the_widgets_allow_and_deny_buttons_answer_a_waiting_call() -> None:
    chat = Chat(
        Script([("c1", "add", {"a": 1, "b": 2}), ("c2", "add", {"a": 3, "b": 4})]),
        tools=[add],
        approve=True,
    )
    with pytest.raises(RuntimeError, match="cannot also take the widget's Allow / Deny"):
        chat.ask("Add")
    chat.send("Add")
    wait_until(lambda: sum(t.get("status") == "waiting" for t in chat._turns) == 2)
    chat._on_browser_msg(chat, {"kind": "approve", "call_id": "c1", "allow": True}, None)
    chat._on_browser_msg(chat, {"kind": "approve", "call_id": "c2", "allow": False}, None)
    wait_until(lambda: not chat.is_streaming)
    assert chat.last_answer is not None
    assert chat.last_answer.text == f"Got: 3 | {DENIED}"


def test_setting_messages_with_tool_results_shows_them_as_cards() -> None:
    chat = Chat(lambda messages: ["ok"])
    chat.messages = [
        {"role": "user", "content": "Add"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "3"},
        {"role": "assistant", "content": "It is 3."},
    ]
    [card] = [t for t in chat._turns if t["role"] == "tool"]
    assert (card["name"], card["status"], card["content"]) == ("add", "done", "3")
    assert json.loads(chat.export("json")) == chat.messages


def test_regenerate_drops_the_rounds_that_followed() -> None:
    model = Script([("c1", "add", {"a": 1, "b": 1})])
    chat = Chat(model, tools=[add])
    chat.ask("Add")
    chat.regenerate()
    wait_until(lambda: not chat.is_streaming)
    assert [m["role"] for m in chat.messages] == [
        "user",
        "assistant",
    ]  # no rounds left in the script


def wait_until(condition: Any, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.005)
