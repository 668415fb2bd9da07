"""Chat in-process: backends, background answers, stop, history, stats and the wire.

Answers come from a real local server through the real openai SDK (sync and async
clients), or from plain functions; widget traffic is recorded by a real ``comm``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import openai
import pytest

from nbstream import Chat, StreamInProgressError
from nbstream.chat.turns import request_messages
from nbstream.local import MODEL, LocalServer, answer, tokenize
from tests.recording import Recorder, rebuild_text

QUESTION = "What is nbstream?"


def fast(**options: Any) -> dict[str, Any]:
    return {"extra_body": {"nbstream": options}} if options else {}


def make_chat(kind: str, server: LocalServer, **params: Any) -> Chat:
    """A Chat on one of the backends a user can give it."""
    sync = openai.OpenAI(base_url=server.base_url, api_key="sk-test-key-0123456789")
    asyn = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test-key-0123456789")

    def request(messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {"model": MODEL, "messages": messages, "stream": True, **params}

    if kind == "sync-client":
        return Chat(sync, model=MODEL, **params)
    if kind == "async-client":
        return Chat(asyn, model=MODEL, **params)
    if kind == "function-stream":  # a function returning an OpenAI Stream
        return Chat(lambda messages: sync.chat.completions.create(**request(messages)))
    if kind == "function-coroutine":  # a plain lambda around an AsyncOpenAI call
        return Chat(lambda messages: asyn.chat.completions.create(**request(messages)))
    if kind == "generator":

        def words(messages: list[dict[str, Any]]) -> Iterator[str]:
            for chunk in sync.chat.completions.create(**request(messages)):
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content

        return Chat(words)
    if kind == "async-generator":

        async def awords(messages: list[dict[str, Any]]) -> AsyncIterator[str]:
            async for chunk in await asyn.chat.completions.create(**request(messages)):
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content

        return Chat(awords)
    raise AssertionError(kind)


KINDS = [
    "sync-client",
    "async-client",
    "function-stream",
    "function-coroutine",
    "generator",
    "async-generator",
]


def wait_until(predicate: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def last_turn(chat: Chat) -> dict[str, Any]:
    turn: dict[str, Any] = chat._turns[-1]
    return turn


# -- every backend, sync and async twins ----------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_send_returns_at_once_and_the_answer_streams_in_the_background(
    server: LocalServer, recorder: Recorder, kind: str
) -> None:
    chat = make_chat(kind, server)
    if kind == "function-coroutine" or kind.startswith("async"):
        # No kernel loop here: async answers run on nbstream's own loop thread.
        assert chat._loop is None
    slow = LocalServer(tokens_per_second=200, first_token_delay=0.2)
    with slow:
        chat = make_chat(kind, slow)
        started = time.monotonic()
        chat.send(QUESTION)
        returned = time.monotonic() - started
        assert chat.is_streaming
        assert returned < 0.15, f"send() blocked for {returned:.3f} s"
        wait_until(lambda: not chat.is_streaming)
    expected = answer([{"role": "user", "content": QUESTION}])
    turn = last_turn(chat)
    assert turn["status"] == "done", turn.get("error")
    assert turn["content"] == expected
    assert chat.messages == [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": expected},
    ]
    # The text crossed the wire once, as deltas of lane "text".
    custom = recorder.comm_of(chat).custom_messages()
    lanes = [m for m in custom if m.get("lane") == "text"]
    assert rebuild_text(lanes) == expected


@pytest.mark.parametrize("kind", ["sync-client", "generator", "function-stream"])
def test_ask_waits_and_returns_the_answer(server: LocalServer, kind: str) -> None:
    chat = make_chat(kind, server)
    text = chat.ask(QUESTION)
    assert text == answer([{"role": "user", "content": QUESTION}])
    assert not chat.is_streaming


@pytest.mark.parametrize("kind", KINDS)
async def test_asend_awaits_the_answer_on_the_running_loop(server: LocalServer, kind: str) -> None:
    chat = make_chat(kind, server)
    assert chat._loop is asyncio.get_running_loop()
    text = await chat.asend(QUESTION)
    assert text == answer([{"role": "user", "content": QUESTION}])
    second = await chat.asend("Tell me about markdown")
    assert second == answer(chat.messages[:-1])
    assert [m["role"] for m in chat.messages] == ["user", "assistant", "user", "assistant"]


async def test_ask_refuses_to_block_the_loop_an_async_client_needs(server: LocalServer) -> None:
    chat = make_chat("async-client", server)
    with pytest.raises(RuntimeError, match="asend"):
        chat.ask(QUESTION)
    assert chat._turns == []


def test_history_is_sent_with_every_question(server: LocalServer) -> None:
    chat = Chat(
        openai.OpenAI(base_url=server.base_url, api_key="x"), model=MODEL, system="Be brief."
    )
    chat.ask("Hello")
    chat.ask("What is markdown?")
    # The local model answers from the whole message list: the same list gives the
    # same answer, so this proves what was sent.
    assert last_turn(chat)["content"] == answer(chat.messages[:-1])
    assert chat.messages[0] == {"role": "system", "content": "Be brief."}


# -- the wire --------------------------------------------------------------------------


def test_a_turn_costs_two_state_messages_whatever_its_length(
    server: LocalServer, recorder: Recorder
) -> None:
    chat = make_chat("sync-client", server, **fast(answer_tokens=3000))
    comm = recorder.comm_of(chat)
    before = len(comm.state_updates())
    text = chat.ask(QUESTION)
    updates = comm.state_updates()[before:]
    assert len(updates) == 2, [sorted(u) for u in updates]
    start, end = updates
    assert start["is_streaming"] is True
    assert start["_turns"][-1]["status"] == "streaming"
    assert start["_turns"][-1]["content"] == ""
    assert start["_live_text"] == ""
    assert end["is_streaming"] is False
    assert end["_turns"][-1]["content"] == text
    assert end["_live_text"] == ""
    deltas = [m for m in comm.custom_messages() if m["kind"] == "delta"]
    assert all(m["stream"] == start["_stream"] for m in deltas)
    assert len(text) > 10_000


def test_a_view_opened_mid_answer_gets_the_text_so_far(recorder: Recorder) -> None:
    release = threading.Event()

    def source(_messages: list[dict[str, Any]]) -> Iterator[str]:
        yield "first half, "
        release.wait(10)
        yield "second half"

    chat = Chat(source)
    chat.send("go")
    wait_until(lambda: chat._live_text == "first half, ")
    # What a new browser view asks for: the state, then a lane resync.
    state = chat.get_state()
    assert state["_live_text"] == "first half, "
    comm = recorder.comm_of(chat)
    comm.from_browser({"kind": "resync", "lane": "text", "stream": chat._stream})
    sync = comm.custom_messages()[-1]
    assert sync["kind"] == "sync"
    assert sync["lane"] == "text"
    assert sync["content"] == "first half, "
    release.set()
    wait_until(lambda: not chat.is_streaming)
    assert last_turn(chat)["content"] == "first half, second half"


# -- stop ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync-client", "async-client", "function-coroutine"])
def test_stop_keeps_the_partial_answer_and_closes_the_upstream(kind: str) -> None:
    with LocalServer(tokens_per_second=50, first_token_delay=0) as slow:
        chat = make_chat(kind, slow)
        chat.send(QUESTION)
        wait_until(lambda: len(chat._live_text) > 20)
        started = time.monotonic()
        assert chat.stop() is True
        took = time.monotonic() - started
        assert took < 0.1, f"stop took {took:.3f} s"
        turn = last_turn(chat)
        assert turn["status"] == "stopped"
        assert not chat.is_streaming
        partial = turn["content"]
        assert 20 < len(partial) < len(answer([{"role": "user", "content": QUESTION}]))
        # The local model sees the connection close and stops generating.
        assert slow.stats.wait_for_disconnects(1, timeout=5), slow.stats
        assert slow.stats.streams_completed == 0
        time.sleep(0.2)
        assert last_turn(chat)["content"] == partial  # nothing arrives after the stop
        assert chat.stop() is False
        assert chat.messages[-1] == {"role": "assistant", "content": partial}


async def test_asend_cancelled_stops_the_answer() -> None:
    with LocalServer(tokens_per_second=50, first_token_delay=0) as slow:
        chat = make_chat("async-client", slow)
        task = asyncio.ensure_future(chat.asend(QUESTION))
        while len(chat._live_text) < 10:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert last_turn(chat)["status"] == "stopped"
        await asyncio.to_thread(slow.stats.wait_for_disconnects, 1, 5)
        assert slow.stats.streams_disconnected == 1


def test_stop_from_the_browser_while_the_caller_is_busy(recorder: Recorder) -> None:
    with LocalServer(tokens_per_second=50, first_token_delay=0) as slow:
        chat = make_chat("sync-client", slow)
        chat.send(QUESTION)
        wait_until(lambda: len(chat._live_text) > 5)
        comm = recorder.comm_of(chat)
        comm.from_browser({"kind": "stop"})
        assert last_turn(chat)["status"] == "stopped"
        assert comm.state_updates()[-1]["is_streaming"] is False


# -- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync-client", "async-client"])
def test_an_error_keeps_the_text_shows_why_and_the_chat_stays_usable(
    server: LocalServer, kind: str
) -> None:
    chat = make_chat(kind, server, **fast(fault="error", fault_after=15))
    chat.send(QUESTION)
    wait_until(lambda: not chat.is_streaming)
    turn = last_turn(chat)
    assert turn["status"] == "error"
    assert turn["error"].startswith("APIError: ")
    assert "sk-test-key" not in turn["error"]
    # The local model is deterministic: the text is exactly the 15 tokens before the fault.
    asked = [{"role": "user", "content": QUESTION}]
    assert turn["content"] == "".join(tokenize(answer(asked))[:15])
    # Retry (regenerate) replaces the failed answer; the fault fires again, so count turns.
    chat.regenerate()
    wait_until(lambda: not chat.is_streaming)
    assert [t["role"] for t in chat._turns] == ["user", "assistant"]


def test_ask_raises_the_answers_exception(server: LocalServer) -> None:
    chat = make_chat("sync-client", server, **fast(fault="http_500"))
    with pytest.raises(openai.InternalServerError):
        chat.ask(QUESTION)
    assert last_turn(chat)["status"] == "error"
    assert "InternalServerError" in last_turn(chat)["error"]


def test_a_function_that_fails_is_reported_in_the_turn() -> None:
    def broken(_messages: list[dict[str, Any]]) -> Iterator[str]:
        yield "Half an answer"
        raise ValueError("the model fell over")

    chat = Chat(broken)
    with pytest.raises(ValueError, match="fell over"):
        chat.ask("hi")
    turn = last_turn(chat)
    assert (turn["status"], turn["content"], turn["error"]) == (
        "error",
        "Half an answer",
        "ValueError: the model fell over",
    )
    # A failed turn's partial text is still history: the next question goes out with it.
    chat.messages = [{"role": "user", "content": "again"}]
    assert chat.messages == [{"role": "user", "content": "again"}]


def test_a_bad_source_from_a_function_is_a_clear_error() -> None:
    chat = Chat(lambda _messages: "a string, not chunks")
    with pytest.raises(TypeError, match="one character at a time"):
        chat.ask("hi")
    assert "SourceError" in last_turn(chat)["error"]


# -- turns: busy, regenerate, edit, clear -----------------------------------------------


def test_sending_while_an_answer_streams_is_refused_clearly(recorder: Recorder) -> None:
    release = threading.Event()

    def source(_messages: list[dict[str, Any]]) -> Iterator[str]:
        yield "working"
        release.wait(10)

    chat = Chat(source)
    chat.send("one")
    with pytest.raises(StreamInProgressError, match="already streaming"):
        chat.send("two")
    comm = recorder.comm_of(chat)
    comm.from_browser({"kind": "send", "text": "two"})
    assert comm.custom_messages()[-1] == {
        "kind": "notice",
        "text": "an answer is already streaming: wait for it, or stop it first (chat.stop())",
        # The refused words go back to the message box, so nothing typed is lost.
        "draft": "two",
    }
    release.set()
    wait_until(lambda: not chat.is_streaming)
    assert [t["content"] for t in chat._turns] == ["one", "working"]


def test_regenerate_edit_and_clear_from_the_browser(
    server: LocalServer, recorder: Recorder
) -> None:
    chat = make_chat("sync-client", server)
    comm = recorder.comm_of(chat)
    chat.ask("Hello")
    chat.ask("What is markdown?")
    ids = [t["id"] for t in chat._turns]
    comm.from_browser({"kind": "regenerate"})
    wait_until(lambda: not chat.is_streaming)
    assert [t["id"] for t in chat._turns][:3] == ids[:3]
    assert chat._turns[3]["id"] not in ids
    assert len(chat._turns) == 4

    comm.from_browser({"kind": "edit", "id": ids[0], "text": "What is a cursor?"})
    wait_until(lambda: not chat.is_streaming)
    assert chat.messages[0]["content"] == "What is a cursor?"
    assert len(chat._turns) == 2
    assert chat._turns[1]["content"] == answer([{"role": "user", "content": "What is a cursor?"}])

    comm.from_browser({"kind": "edit", "id": 999, "text": "x"})
    assert comm.custom_messages()[-1]["kind"] == "notice"
    assert "no such user message" in comm.custom_messages()[-1]["text"]

    comm.from_browser({"kind": "clear"})
    assert chat._turns == []
    assert chat.messages == []


def test_regenerate_needs_a_user_message() -> None:
    with pytest.raises(ValueError, match="nothing to regenerate"):
        Chat(lambda _m: ["x"]).regenerate()


@pytest.mark.parametrize("text", ["", "   \n"])
def test_empty_messages_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        Chat(lambda _m: ["x"]).send(text)


# -- reasoning, tool calls, finish reasons, stats --------------------------------------


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning", "think"])
def test_reasoning_is_shown_apart_and_never_sent_back(field: str) -> None:
    def source(_messages: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        if field == "think":
            for piece in ["<thi", "nk>Consider ", "the question.</th", "ink>\n\n", "Answer."]:
                yield chunk({"content": piece})
        else:
            yield chunk({field: "Consider "})
            yield chunk({field: "the question."})
            yield chunk({"content": "Answer."}, finish="stop")

    chat = Chat(source)
    assert chat.ask("q") == "Answer."
    turn = last_turn(chat)
    assert turn["reasoning"] == "Consider the question."
    assert turn["content"] == "Answer."
    assert chat.messages[-1] == {"role": "assistant", "content": "Answer."}
    assert "Consider" not in chat.export("markdown")
    assert "Consider" not in chat.export("json")


def test_tool_calls_are_assembled_kept_in_history_and_not_sent_unanswered(
    recorder: Recorder,
) -> None:
    def source(_messages: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        yield chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_w",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            }
        )
        for piece in ['{"ci', 'ty": "Os', 'lo"}']:
            yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        yield chunk({}, finish="tool_calls")

    chat = Chat(source)
    chat.ask("weather?")
    turn = last_turn(chat)
    assert turn["tool_calls"] == [
        {"id": "call_w", "name": "get_weather", "arguments": '{"city": "Oslo"}'}
    ]
    assert turn["stats"]["finish_reason"] == "tool_calls"
    # While streaming, the card appeared once (a state update), not per argument piece.
    live = [
        u["_live_tools"] for u in recorder.comm_of(chat).state_updates() if u.get("_live_tools")
    ]
    assert live == [[{"id": "call_w", "name": "get_weather", "arguments": ""}]]
    assert chat.messages[-1]["tool_calls"] == [
        {
            "id": "call_w",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
        }
    ]
    # Unanswered calls would make providers reject the next request.
    assert request_messages(chat.messages) == [{"role": "user", "content": "weather?"}]


def test_footer_stats_come_from_usage(server: LocalServer) -> None:
    with LocalServer(tokens_per_second=100, first_token_delay=0.2) as paced:
        chat = make_chat("sync-client", paced)
        chat.ask(QUESTION)
    stats = last_turn(chat)["stats"]
    assert stats["model"] == MODEL
    assert 0.2 <= stats["ttft"] < 1.0
    assert stats["tokens_estimated"] is False
    assert stats["completion_tokens"] > 50
    assert stats["prompt_tokens"] > 0
    assert 50 < stats["tokens_per_second"] < 130
    assert stats["finish_reason"] == "stop"
    assert stats["duration"] >= stats["ttft"]


def test_length_finish_is_recorded(server: LocalServer) -> None:
    chat = make_chat("sync-client", server, max_tokens=5)
    chat.ask(QUESTION)
    assert last_turn(chat)["stats"]["finish_reason"] == "length"


def test_without_usage_tokens_are_estimated_from_chunks() -> None:
    def source(_messages: list[dict[str, Any]]) -> Iterator[str]:
        for word in ["one ", "two ", "three"]:
            time.sleep(0.03)
            yield word

    chat = Chat(source)
    chat.ask("count")
    stats = last_turn(chat)["stats"]
    assert stats["tokens_estimated"] is True
    assert stats["completion_tokens"] is None
    assert stats["tokens_per_second"] is not None
    assert 20 < stats["tokens_per_second"] < 100


# -- history in and out ----------------------------------------------------------------


def test_messages_can_be_set_and_exported(server: LocalServer) -> None:
    chat = make_chat("sync-client", server)
    history = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
    ]
    chat.messages = history
    assert chat.messages == history
    assert chat.system == "You are terse."
    chat.ask("What is markdown?")
    assert json.loads(chat.export("json")) == chat.messages
    markdown = chat.export("markdown")
    assert markdown.startswith("## System\n\nYou are terse.\n\n## User\n\nHi\n\n## Assistant")
    with pytest.raises(ValueError, match="format"):
        chat.export("html")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("messages", "error", "match"),
    [
        ("hello", TypeError, "list"),
        ([{"role": "robot", "content": "x"}], ValueError, r"messages\[0\]\['role'\]"),
        ([{"role": "user", "content": 3}], TypeError, r"messages\[0\]\['content'\]"),
        ([{"role": "user", "content": "a"}, "b"], TypeError, r"messages\[1\]"),
        (
            [{"role": "user", "content": "a"}, {"role": "system", "content": "b"}],
            ValueError,
            "system message must come first",
        ),
    ],
)
def test_setting_bad_messages_says_what_is_wrong(
    messages: Any, error: type[Exception], match: str
) -> None:
    chat = Chat(lambda _m: ["x"])
    with pytest.raises(error, match=match):
        chat.messages = messages


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((42,), {}, "got int"),
        ((openai.OpenAI(api_key="x", base_url="http://127.0.0.1:9/v1"),), {}, "needs the model"),
        ((), {"stream": False}, "sets 'stream' itself"),
        ((lambda m: ["x"],), {"temperature": 0.2}, "would be ignored"),
    ],
)
def test_unusable_arguments_are_refused_clearly(
    args: tuple[Any, ...], kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(TypeError, match=match):
        Chat(*args, **kwargs)


def test_header_names_model_and_backend(server: LocalServer) -> None:
    chat = make_chat("sync-client", server)
    assert chat.model_name == MODEL
    assert chat.backend == f"127.0.0.1:{server.address[1]}"
    assert Chat().backend == "local model"

    def my_model(_messages: list[dict[str, Any]]) -> list[str]:
        return ["x"]

    assert (Chat(my_model).model_name, Chat(my_model).backend) == ("my_model", "my_model()")
    assert repr(Chat(my_model)) == "Chat(my_model via my_model(), 0 messages, idle)"


def test_last_answer_is_public_and_live() -> None:
    release = threading.Event()

    def source(_messages: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        yield chunk({"reasoning_content": "Hmm."})
        yield chunk({"content": "So far"})
        release.wait(10)
        yield chunk({"content": ", done."}, finish="stop")

    chat = Chat(source)
    assert chat.last_answer is None
    chat.send("q")
    wait_until(lambda: chat._live_text == "So far")
    live = chat.last_answer
    assert live is not None
    assert (live.status, live.text, live.reasoning, live.stats) == (
        "streaming",
        "So far",
        "Hmm.",
        None,
    )
    release.set()
    wait_until(lambda: not chat.is_streaming)
    final = chat.last_answer
    assert final is not None
    assert (final.status, final.text, final.reasoning) == ("done", "So far, done.", "Hmm.")
    assert final.stats is not None
    assert final.stats["finish_reason"] == "stop"


# -- faults -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_an_answer_that_stalls_ends_after_the_idle_timeout(kind: str) -> None:
    release = threading.Event()

    def stalls(messages: list[dict[str, Any]]) -> Iterator[str]:
        yield "Started"
        release.wait(10)
        yield " and never finished"

    async def astalls(messages: list[dict[str, Any]]) -> AsyncIterator[str]:
        yield "Started"
        await asyncio.sleep(10)
        yield " and never finished"

    chat = Chat(stalls if kind == "sync" else astalls, idle_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"nothing arrived from the model for 0\.3 s"):
        chat.ask("Hello?")
    assert time.monotonic() - started < 2
    last = chat.last_answer
    assert last is not None
    assert last.text == "Started"
    assert last.status == "error"
    assert last.error is not None
    assert last.error.startswith("IdleTimeoutError: ")
    assert chat.is_streaming is False
    release.set()
    # The chat is usable again.
    chat.messages = []
    assert chat.is_streaming is False


def test_closing_the_chat_stops_its_answer(server: LocalServer) -> None:
    chat = make_chat("sync-client", server, **fast(tokens_per_second=50))
    chat.send(QUESTION)
    deadline = time.monotonic() + 5
    while not chat._live_text and time.monotonic() < deadline:
        time.sleep(0.01)
    chat.close()
    last = chat.last_answer
    assert last is not None
    assert last.status == "stopped"
    assert last.text
    assert answer([{"role": "user", "content": QUESTION}]).startswith(last.text)
    assert chat.is_streaming is False


def test_a_refusal_is_shown_as_the_answer() -> None:
    def refuses(messages: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for piece in ["I can't ", "help with that."]:
            yield {"choices": [{"index": 0, "delta": {"refusal": piece}}]}
        yield {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}

    chat = Chat(refuses)
    assert chat.ask("Something forbidden") == "I can't help with that."
    assert chat.messages[-1] == {"role": "assistant", "content": "I can't help with that."}
