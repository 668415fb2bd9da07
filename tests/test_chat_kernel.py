"""Chat in a real ipykernel: answers stream while other cells run, and Stop is immediate.

The Stop test sends the widget message the way JupyterLab ≥ 4.4 does, on a kernel
subshell, while the main shell is busy in ``time.sleep``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from nbstream.local import answer
from tests.kernel_harness import Kernel

pytestmark = pytest.mark.kernel

QUESTION = "What is nbstream?"
EXPECTED = answer([{"role": "user", "content": QUESTION}])

SETUP = """
import asyncio, time
import openai
import nbstream.local
from nbstream import Chat
from nbstream.local import LocalServer, MODEL
server = LocalServer(tokens_per_second=40, first_token_delay=0).start()
fast = LocalServer(tokens_per_second=0, first_token_delay=0).start()

def make_chat(kind, srv):
    sync = openai.OpenAI(base_url=srv.base_url, api_key="x")
    asyn = openai.AsyncOpenAI(base_url=srv.base_url, api_key="x")
    if kind == "sync-client":
        return Chat(sync, model=MODEL)
    if kind == "async-client":
        return Chat(asyn, model=MODEL)
    if kind == "generator":
        def words(messages):
            for c in sync.chat.completions.create(model=MODEL, messages=messages, stream=True):
                if c.choices and c.choices[0].delta.content:
                    yield c.choices[0].delta.content
        return Chat(words)
    if kind == "async-generator":
        async def awords(messages):
            stream = await asyn.chat.completions.create(model=MODEL, messages=messages, stream=True)
            async for c in stream:
                if c.choices and c.choices[0].delta.content:
                    yield c.choices[0].delta.content
        return Chat(awords)
    raise ValueError(kind)
"""


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    k = Kernel()
    k.check(SETUP)
    yield k
    k.shutdown()


def printed(kernel: Kernel, expression: str) -> str:
    return kernel.check(f"print({expression})").stdout.strip()


@pytest.mark.parametrize("kind", ["sync-client", "async-client", "generator", "async-generator"])
def test_send_returns_at_once_and_other_cells_run_while_the_answer_streams(
    kernel: Kernel, kind: str
) -> None:
    kernel.check(f"chat = make_chat({kind!r}, server)")
    started = time.monotonic()
    kernel.check(f"chat.send({QUESTION!r})")
    assert time.monotonic() - started < 1.0
    # Another cell runs (and finishes) while the answer is still streaming.
    assert printed(kernel, "chat.is_streaming, 6 * 7") == "True 42"
    # Top-level await yields the kernel loop, where async answers run as tasks.
    kernel.check("while chat.is_streaming: await asyncio.sleep(0.05)", timeout=60)
    out = kernel.check("print(repr(chat._turns[-1]['status'])); print(chat._turns[-1]['content'])")
    status, content = out.stdout.split("\n", 1)
    assert status == "'done'"
    assert content == EXPECTED + "\n"


@pytest.mark.parametrize("kind", ["sync-client", "async-client", "generator", "async-generator"])
def test_asend_in_a_cell_returns_the_answer(kernel: Kernel, kind: str) -> None:
    kernel.check(f"chat = make_chat({kind!r}, fast)")
    out = kernel.check(
        f"text = await chat.asend({QUESTION!r}); print(text == chat.messages[-1]['content'])"
    )
    assert out.stdout.strip() == "True"
    assert printed(kernel, "text == nbstream.local.answer(chat.messages[:1])") == "True"


def wait_for_update(kernel: Kernel, comm_id: str, key: str, value: Any) -> dict[str, Any]:
    def matches(msg: dict[str, Any]) -> bool:
        if msg["header"]["msg_type"] != "comm_msg":
            return False
        data = msg["content"]["data"]
        return bool(
            msg["content"]["comm_id"] == comm_id
            and data.get("method") == "update"
            and data["state"].get(key) == value
        )

    return kernel.wait_iopub(matches)


def test_stop_from_the_browser_is_immediate_while_another_cell_sleeps(kernel: Kernel) -> None:
    kernel.check("server.stats.reset(); chat = make_chat('sync-client', server)")
    comm_id = printed(kernel, "chat.comm.comm_id")
    subshell = kernel.create_subshell()
    kernel.check(f"chat.send({QUESTION!r})")
    # The main shell is now busy for 3 s.
    busy = kernel.client.execute("time.sleep(3)")
    time.sleep(0.6)  # ~24 tokens at 40/s

    sent = time.monotonic()
    kernel.send_to_widget(comm_id, {"kind": "stop"}, subshell=subshell)
    update = wait_for_update(kernel, comm_id, "is_streaming", False)
    latency = time.monotonic() - sent
    print(f"kernel stop latency: {latency * 1000:.1f} ms")
    assert latency < 0.1, f"the stop took {latency * 1000:.0f} ms to reach the browser"
    final = update["content"]["data"]["state"]["_turns"][-1]
    assert final["status"] == "stopped"
    assert 10 < len(final["content"]) < len(EXPECTED)
    assert EXPECTED.startswith(final["content"])

    reply = kernel.client.get_shell_msg(timeout=10)
    assert reply["parent_header"]["msg_id"] == busy
    kernel.drain()
    # The local model saw the HTTP connection close and stopped generating.
    assert printed(kernel, "server.stats.wait_for_disconnects(1, timeout=5)") == "True"
    assert printed(kernel, "server.stats.streams_completed") == "0"
    assert printed(kernel, "chat.messages[-1]['content'] == chat._turns[-1]['content']") == "True"


def test_stop_of_an_async_answer_cancels_its_task_and_closes_the_upstream(kernel: Kernel) -> None:
    kernel.check("server.stats.reset(); chat = make_chat('async-client', server)")
    comm_id = printed(kernel, "chat.comm.comm_id")
    subshell = kernel.create_subshell()
    kernel.check(f"chat.send({QUESTION!r})")
    kernel.check("await asyncio.sleep(0.6)")  # the task streams while the loop is free
    kernel.send_to_widget(comm_id, {"kind": "stop"}, subshell=subshell)
    update = wait_for_update(kernel, comm_id, "is_streaming", False)
    assert update["content"]["data"]["state"]["_turns"][-1]["status"] == "stopped"
    kernel.drain()
    kernel.check("await asyncio.sleep(0.2)")  # let the cancelled task close its stream
    assert printed(kernel, "server.stats.wait_for_disconnects(1, timeout=5)") == "True"


def test_interrupting_ask_stops_the_answer_and_keeps_the_kernel(kernel: Kernel) -> None:
    kernel.check("server.stats.reset(); chat = make_chat('sync-client', server)")
    reply = kernel.interrupt_during(f"chat.ask({QUESTION!r})", after=1.0)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert printed(kernel, "chat.last_answer.status, chat.is_streaming") == "stopped False"
    assert printed(kernel, "len(chat.last_answer.text) > 10") == "True"
    assert printed(kernel, "server.stats.wait_for_disconnects(1, timeout=5)") == "True"
    # The chat is still usable.
    kernel.check("chat = make_chat('sync-client', fast)")
    assert (
        printed(kernel, f"chat.ask({QUESTION!r}) == nbstream.local.answer(chat.messages[:1])")
        == "True"
    )


TOOL_SETUP = """
import json, threading
totals = {"count": 0}
release = threading.Event()

def bump(by: int) -> int:
    '''Add to the notebook's counter.'''
    totals["count"] += by
    return totals["count"]

def waits() -> str:
    '''Wait until released.'''
    release.wait(20)
    return "released"

async def adouble(x: int) -> int:
    '''Double x.'''
    await asyncio.sleep(0.05)
    return 2 * x

def scripted(messages, tools=None):
    # Calls the tool the question names, then answers with what came back.
    if messages[-1]["role"] == "tool":
        got = [m["content"] for m in messages if m["role"] == "tool"]
        return [{"choices": [{"index": 0, "delta": {"content": "Got " + ", ".join(got)},
                              "finish_reason": "stop"}]}]
    name, args = json.loads(messages[-1]["content"])
    call = {"index": 0, "id": "c1", "function": {"name": name, "arguments": json.dumps(args)}}
    return [{"choices": [{"index": 0, "delta": {"tool_calls": [call]},
                          "finish_reason": "tool_calls"}]}]
"""


@pytest.mark.parametrize(
    ("tool", "args", "reply"), [("bump", {"by": 5}, "Got 5"), ("adouble", {"x": 4}, "Got 8")]
)
def test_a_tool_runs_in_the_kernel_on_the_notebooks_own_variables(
    kernel: Kernel, tool: str, args: dict[str, int], reply: str
) -> None:
    kernel.check(TOOL_SETUP)
    kernel.check("chat = Chat(scripted, tools=[bump, waits, adouble])")
    question = f'["{tool}", {json.dumps(args)}]'
    kernel.check(f"chat.send({question!r})")
    kernel.check("while chat.is_streaming: await asyncio.sleep(0.02)", timeout=30)
    assert printed(kernel, "chat.last_answer.text") == reply
    if tool == "bump":
        assert printed(kernel, "totals['count']") == "5"  # the notebook's own dict changed


def test_other_cells_run_while_a_tool_runs_in_the_background(kernel: Kernel) -> None:
    kernel.check(TOOL_SETUP)
    kernel.check("chat = Chat(scripted, tools=[waits])")
    kernel.check("""chat.send('["waits", {}]')""")
    kernel.check(
        "while not any(t.get('status') == 'running' for t in chat._turns): "
        "await asyncio.sleep(0.02)",
        timeout=30,
    )
    assert printed(kernel, "chat.is_streaming, 6 * 7") == "True 42"
    kernel.check("release.set()")
    kernel.check("while chat.is_streaming: await asyncio.sleep(0.02)", timeout=30)
    assert printed(kernel, "chat.last_answer.text") == "Got released"
