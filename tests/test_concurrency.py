"""Many streams at once: 20 StreamViews from 20 threads or 20 asyncio tasks, and two Chats
answering at the same time. Each widget gets its own text, whole, in Python and on the
wire, and stopping one Chat leaves the other streaming.

Every source is the real openai SDK streaming from the local model over HTTP; each view
asks for its own text (``extra_body={"nbstream": {"text": ...}}``). What reached the
frontend is rebuilt from the widget messages (``docs/protocol.md``): per comm, the state
updates and the ``delta``/``end`` messages, applied by offset the way the browser does.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from nbstream import StreamView
from nbstream.local import MODEL, LocalServer, answer
from tests.kernel_harness import Kernel, sample_tokens
from tests.recording import BrowserModel, Recorder, RecordingComm, rebuild_text

N = 20
TOKENS_PER_SECOND = 100  # slow enough that all the streams overlap, fast enough to be quick


def view_text(i: int) -> str:
    """The answer view ``i`` asks for: its own, with multi-byte and astral characters."""
    return f"### Answer {i}\n\n" + "".join(sample_tokens(60 + 4 * i)) + f"\n\n— end of {i} ✓"


TEXTS = [view_text(i) for i in range(N)]
assert len(set(TEXTS)) == N


def request(i: int, text: str, tokens_per_second: float = TOKENS_PER_SECOND) -> dict[str, Any]:
    """The create() arguments with which view ``i`` asks for ``text``."""
    return {
        "model": MODEL,
        "stream": True,
        "messages": [{"role": "user", "content": f"Question number {i}?"}],
        "extra_body": {"nbstream": {"text": text, "tokens_per_second": tokens_per_second}},
    }


# -- rebuilding what a browser saw, from the widget messages --------------------------


def browser_view(published: list[tuple[str, dict[str, Any]]]) -> BrowserModel:
    """Replay one StreamView's messages as its browser model would; check the delta chain."""
    rebuilt = rebuild_text(
        [d["content"] for t, d in published if t == "comm_msg" and d.get("method") == "custom"]
    )
    model = BrowserModel().replay(published)
    assert model.text == rebuilt
    return model


Numbered = dict[str, list[tuple[int, tuple[str, dict[str, Any]]]]]


def check_streams_overlapped(published: Numbered) -> None:
    """Every stream started before any ended, in the one order the wire carried them."""
    starts, ends = [], []
    for messages in published.values():
        starts.append(
            next(
                i
                for i, (_, d) in messages
                if d.get("method") == "update" and d["state"].get("is_streaming") is True
            )
        )
        ends.append(
            next(
                i
                for i, (_, d) in messages
                if d.get("method") == "custom" and d["content"]["kind"] == "end"
            )
        )
    assert max(starts) < min(ends), "the streams did not run at the same time"


def check_view(view: StreamView, returned: str | None, expected: str) -> None:
    assert returned == expected
    assert (view.content, view.is_streaming, view.error) == (expected, False, None)
    wire = view.comm
    assert isinstance(wire, RecordingComm)
    browser = browser_view(wire.published)
    assert (browser.text, browser.is_streaming, browser.error, browser.gaps) == (
        expected,
        False,
        None,
        0,
    )


class Wire:
    """All widget messages in the order they were published, across comms (in-process)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.order: list[tuple[str, str, dict[str, Any]]] = []  # (comm id, type, data)

    def watch(self, comm: RecordingComm) -> None:
        def record(msg_type: str, data: dict[str, Any]) -> None:
            with self.lock:
                self.order.append((comm.comm_id, msg_type, data))

        comm.on_publish = record

    def numbered(self) -> Numbered:
        by_comm: Numbered = {}
        for i, (comm_id, msg_type, data) in enumerate(self.order):
            by_comm.setdefault(comm_id, []).append((i, (msg_type, data)))
        return by_comm


# -- in-process: the same concurrency without a kernel (fast) -------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(tokens_per_second=TOKENS_PER_SECOND, first_token_delay=0) as running:
        yield running


def test_twenty_views_from_twenty_threads_in_process(
    recorder: Recorder, server: LocalServer
) -> None:
    views = [StreamView() for _ in range(N)]
    wire = Wire()
    for view in views:
        wire.watch(recorder.comm_of(view))
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    results: list[str | None] = [None] * N
    errors: list[BaseException] = []
    barrier = threading.Barrier(N)

    def work(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = views[i].stream(client.chat.completions.create(**request(i, TEXTS[i])))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    client.close()
    assert errors == []
    for view, result, text in zip(views, results, TEXTS, strict=True):
        check_view(view, result, text)
    check_streams_overlapped(wire.numbered())


def test_twenty_views_from_twenty_tasks_in_process(recorder: Recorder, server: LocalServer) -> None:
    views = [StreamView() for _ in range(N)]
    wire = Wire()
    for view in views:
        wire.watch(recorder.comm_of(view))

    async def main() -> list[str | BaseException]:
        async with openai.AsyncOpenAI(
            base_url=server.base_url, api_key="x", max_retries=0
        ) as aclient:

            async def one(i: int) -> str:
                upstream = await aclient.chat.completions.create(**request(i, TEXTS[i]))
                return await views[i].astream(upstream)

            return await asyncio.gather(*(one(i) for i in range(N)), return_exceptions=True)

    results = asyncio.run(main())
    assert [r for r in results if isinstance(r, BaseException)] == []
    for view, result, text in zip(views, results, TEXTS, strict=True):
        assert isinstance(result, str)
        check_view(view, result, text)
    check_streams_overlapped(wire.numbered())


# -- in a real ipykernel ----------------------------------------------------------------

KERNEL_SETUP = (
    f"RATE = {TOKENS_PER_SECOND!r}\n"
    + """
import asyncio, json, threading
import openai
from IPython.display import display
from nbstream import Chat, StreamView
from nbstream.local import LocalServer, MODEL
server = LocalServer(tokens_per_second=RATE, first_token_delay=0).start()
client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
aclient = openai.AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=0)

def request(i, text):
    return dict(
        model=MODEL, stream=True,
        messages=[{"role": "user", "content": f"Question number {i}?"}],
        extra_body={"nbstream": {"text": text, "tokens_per_second": RATE}},
    )

def report(views, results, errors):
    print(json.dumps({
        "errors": errors,
        "results": results,
        "views": [[v.comm.comm_id, v.content, v.is_streaming, v.error] for v in views],
    }))
"""
)


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    k = Kernel()
    k.check(KERNEL_SETUP)
    yield k
    k.shutdown()


def by_comm(messages: list[dict[str, Any]]) -> Numbered:
    """The kernel's widget messages, numbered in iopub order, grouped by comm."""
    grouped: Numbered = {}
    for i, msg in enumerate(messages):
        if msg["header"]["msg_type"] == "comm_msg":
            content = msg["content"]
            grouped.setdefault(content["comm_id"], []).append((i, ("comm_msg", content["data"])))
    return grouped


def check_kernel_views(stdout: str, messages: list[dict[str, Any]]) -> None:
    """The kernel's report and the rebuilt frontend state of every view are its text."""
    report = json.loads(stdout)
    assert report["errors"] == []
    assert report["results"] == TEXTS
    wire = by_comm(messages)
    for (comm_id, content, is_streaming, error), text in zip(report["views"], TEXTS, strict=True):
        assert (content, is_streaming, error) == (text, False, None)
        browser = browser_view([m for _, m in wire[comm_id]])
        assert (browser.text, browser.is_streaming, browser.error, browser.gaps) == (
            text,
            False,
            None,
            0,
        )
    check_streams_overlapped({comm_id: wire[comm_id] for comm_id, *_ in report["views"]})


@pytest.mark.kernel
def test_twenty_views_from_twenty_threads_in_a_kernel(kernel: Kernel) -> None:
    traffic = kernel.check(
        f"texts = json.loads({json.dumps(TEXTS)!r})\n"
        "views = [StreamView() for _ in texts]\n"
        "for v in views: display(v)\n"
        "results, errors = [None] * len(texts), []\n"
        "barrier = threading.Barrier(len(texts))\n"
        "def work(i):\n"
        "    try:\n"
        "        barrier.wait(timeout=30)\n"
        "        upstream = client.chat.completions.create(**request(i, texts[i]))\n"
        "        results[i] = views[i].stream(upstream)\n"
        "    except BaseException as exc:\n"
        "        errors.append(repr(exc))\n"
        "threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]\n"
        "for t in threads: t.start()\n"
        "for t in threads: t.join()\n"
        "report(views, results, errors)",
        timeout=180,
    )
    check_kernel_views(traffic.stdout, traffic.messages)


@pytest.mark.kernel
def test_twenty_views_from_twenty_tasks_on_the_kernel_loop(kernel: Kernel) -> None:
    traffic = kernel.check(
        f"texts = json.loads({json.dumps(TEXTS)!r})\n"
        "views = [StreamView() for _ in texts]\n"
        "for v in views: display(v)\n"
        "async def one(i):\n"
        "    upstream = await aclient.chat.completions.create(**request(i, texts[i]))\n"
        "    return await views[i].astream(upstream)\n"
        "tasks = [one(i) for i in range(len(texts))]\n"
        "done = await asyncio.gather(*tasks, return_exceptions=True)\n"
        "report(views, [r for r in done if isinstance(r, str)],\n"
        "       [repr(r) for r in done if not isinstance(r, str)])",
        timeout=180,
    )
    check_kernel_views(traffic.stdout, traffic.messages)


# -- two Chats answering at the same time -----------------------------------------------

QUESTIONS = ["What is nbstream?", "How does the delivery protocol work?"]
ANSWERS = [answer([{"role": "user", "content": q}]) for q in QUESTIONS]
assert ANSWERS[0] != ANSWERS[1]
CHAT_PAIRS = [["sync", "async"], ["sync", "sync"], ["async", "async"]]
STOP_PAIRS = [*CHAT_PAIRS, ["async", "sync"]]  # the first one is stopped


class ChatSession:
    """Two Chats in the kernel, and every iopub message seen while they run."""

    def __init__(self, kernel: Kernel, kinds: list[str]) -> None:
        self.kernel = kernel
        self.messages: list[dict[str, Any]] = []
        self.run(
            "server.stats.reset()\n"
            f"chats = [Chat(client if k == 'sync' else aclient, model=MODEL) for k in {kinds!r}]\n"
            "for c in chats: display(c)"
        )
        self.comm_ids: list[str] = json.loads(
            self.run("print(json.dumps([c.comm.comm_id for c in chats]))")
        )

    def run(self, code: str, timeout: float = 60) -> str:
        traffic = self.kernel.check(code, timeout=timeout)
        self.messages += traffic.messages
        return traffic.stdout

    def value(self, expression: str) -> Any:
        return json.loads(self.run(f"print(json.dumps({expression}))"))

    def send_both(self) -> None:
        started = time.monotonic()
        streaming = self.value(
            f"[c.send(q) for c, q in zip(chats, {QUESTIONS!r})] and [c.is_streaming for c in chats]"
        )
        assert time.monotonic() - started < 2.0, "send() should return at once"
        assert streaming == [True, True]

    def wait_all_done(self) -> None:
        # Top-level await frees the kernel loop, where AsyncOpenAI answers run as tasks.
        self.run("while any(c.is_streaming for c in chats): await asyncio.sleep(0.05)")

    def final(self, i: int) -> tuple[str, str, list[dict[str, Any]]]:
        """Chat ``i``'s last status and answer text (kernel side), and its messages."""
        status, content, messages = self.value(
            f"[chats[{i}]._turns[-1]['status'], chats[{i}]._turns[-1]['content'], "
            f"chats[{i}].messages]"
        )
        return status, content, messages

    def frontend(self, i: int) -> tuple[str, list[dict[str, Any]]]:
        """What chat ``i``'s browser model holds: the answer's text rebuilt from the text
        lane of its last stream, and the turns of its last state update."""
        stream = 0
        lane: list[dict[str, Any]] = []
        turns: list[dict[str, Any]] = []
        for _, (_, data) in by_comm(self.messages)[self.comm_ids[i]]:
            if data.get("method") == "update":
                if "_stream" in data["state"] and data["state"]["_stream"] != stream:
                    stream, lane = data["state"]["_stream"], []
                if data["state"].get("is_streaming") is False:
                    turns = data["state"]["_turns"]
            elif data.get("method") == "custom":
                content = data["content"]
                if content.get("lane", "text") == "text" and content["stream"] == stream:
                    lane.append(content)
        assert lane[-1]["kind"] == "end"
        return rebuild_text(lane), turns

    def ran_together(self) -> None:
        """Each chat's turn started before the other's ended, in iopub order."""
        grouped = by_comm(self.messages)
        spans = []
        for comm_id in self.comm_ids:
            updates = [
                (i, d["state"]) for i, (_, d) in grouped[comm_id] if d.get("method") == "update"
            ]
            start = next(i for i, s in updates if s.get("is_streaming") is True)
            end = next(i for i, s in updates if s.get("is_streaming") is False and i > start)
            spans.append((start, end))
        assert max(s for s, _ in spans) < min(e for _, e in spans), spans


@pytest.mark.kernel
@pytest.mark.parametrize("kinds", CHAT_PAIRS, ids=["-".join(p) for p in CHAT_PAIRS])
def test_two_chats_answer_at_the_same_time_independently(kernel: Kernel, kinds: list[str]) -> None:
    session = ChatSession(kernel, kinds)
    session.send_both()
    session.wait_all_done()
    for i in range(2):
        status, content, messages = session.final(i)
        assert status == "done"
        assert content == ANSWERS[i]
        assert messages == [
            {"role": "user", "content": QUESTIONS[i]},
            {"role": "assistant", "content": ANSWERS[i]},
        ]
        text, turns = session.frontend(i)
        assert text == ANSWERS[i]
        assert [(t["role"], t["content"]) for t in turns] == [
            ("user", QUESTIONS[i]),
            ("assistant", ANSWERS[i]),
        ]
        assert turns[-1]["status"] == "done"
    session.ran_together()


@pytest.mark.kernel
@pytest.mark.parametrize("kinds", STOP_PAIRS, ids=["-".join(p) for p in STOP_PAIRS])
def test_stopping_one_chat_leaves_the_other_streaming(kernel: Kernel, kinds: list[str]) -> None:
    session = ChatSession(kernel, kinds)
    session.send_both()
    session.run("await asyncio.sleep(0.6)")  # both stream (async ones on the freed loop)
    stopped, first_streaming, second_streaming, second_length = session.value(
        "[chats[0].stop(), chats[0].is_streaming, chats[1].is_streaming, "
        "len(chats[1].last_answer.text)]"
    )
    assert (stopped, first_streaming, second_streaming) == (True, False, True)
    assert 0 < second_length < len(ANSWERS[1])
    # The other answer keeps growing after the stop.
    grown = session.value("await asyncio.sleep(0.4) or len(chats[1].last_answer.text)")
    assert grown > second_length
    session.wait_all_done()

    status, content, messages = session.final(0)
    assert status == "stopped"
    assert 0 < len(content) < len(ANSWERS[0])
    assert ANSWERS[0].startswith(content)
    assert messages == [
        {"role": "user", "content": QUESTIONS[0]},
        {"role": "assistant", "content": content},
    ]
    text, turns = session.frontend(0)
    assert text == content
    assert [(t["role"], t["content"], t.get("status")) for t in turns] == [
        ("user", QUESTIONS[0], None),
        ("assistant", content, "stopped"),
    ]

    status, content, messages = session.final(1)
    assert (status, content) == ("done", ANSWERS[1])
    assert messages[-1] == {"role": "assistant", "content": ANSWERS[1]}
    text, turns = session.frontend(1)
    assert text == ANSWERS[1]
    assert (turns[-1]["content"], turns[-1]["status"]) == (ANSWERS[1], "done")
    session.ran_together()
    # The stopped answer's HTTP stream was closed; the other one ran to its end.
    session.run("await asyncio.sleep(0.2)")  # a cancelled task closes its stream on the loop
    assert session.value("server.stats.wait_for_disconnects(1, timeout=5)") is True
    assert session.value("[server.stats.streams_disconnected, server.stats.streams_completed]") == [
        1,
        1,
    ]
