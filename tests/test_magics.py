"""``%%chat`` and ``%chat_config``: option parsing in-process, everything else in a real
ipykernel, where the answer must stream (many deltas on iopub, not one blob), the
conversation must reach the server, and async clients must stream on the kernel's loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from IPython.core.error import UsageError

from nbstream.local import MODEL, answer, tokenize
from nbstream.local.model import prompt_tokens
from nbstream.magics import (
    ChatSession,
    ChatSettings,
    check_client,
    is_async_client,
    parse_cell_options,
    parse_config_options,
)
from tests.kernel_harness import Kernel, Traffic
from tests.recording import rebuild_text

Q1 = "What is nbstream?"
Q2 = "And markdown?"


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


# -- in-process: options and the session ------------------------------------------------


def test_cell_options_parse() -> None:
    options = parse_cell_options(
        "--new --model gpt-4o --system 'Be brief.' --temperature 0.2 "
        "--max-tokens 400 --idle-timeout 30"
    )
    assert options.new
    assert options.overrides == {
        "model": "gpt-4o",
        "system": "Be brief.",
        "temperature": 0.2,
        "max_tokens": 400,
        "idle_timeout": 30.0,
    }
    assert parse_cell_options("") == parse_cell_options("   ")
    assert parse_cell_options("").overrides == {}
    assert parse_cell_options("--system ''").overrides == {"system": None}  # '' clears it


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "--bogus",
            "%%chat: unknown option --bogus (it takes --attach, --idle-timeout, --max-tokens",
        ),
        ("--new What is it?", "%%chat: unexpected 'What is it?'; the prompt goes in the cell"),
        ("--temperature hot", "argument --temperature: must be a number >= 0, got 'hot'"),
        ("--temperature -1", "argument --temperature: must be a number >= 0, got '-1'"),
        ("--temperature nan", "must be a number >= 0, got 'nan'"),
        ("--max-tokens 0", "argument --max-tokens: must be a whole number >= 1, got '0'"),
        ("--max-tokens 1.5", "must be a whole number >= 1, got '1.5'"),
        ("--idle-timeout 0", "argument --idle-timeout: must be a number of seconds > 0"),
        ("--model", "argument --model: expected one argument"),
        ("--model ''", "--model needs a name"),
        ("--system 'unclosed", "%%chat: No closing quotation"),
        ("--client c", "%%chat: unknown option --client"),  # a cell cannot switch clients
        ("--temp 0.2", "unknown option --temp"),  # no guessing at abbreviations
    ],
)
def test_bad_cell_options_are_usage_errors(line: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_cell_options(line)
    assert type(caught.value) is UsageError  # IPython shows exactly UsageError briefly
    assert message in str(caught.value)


def test_config_options_parse() -> None:
    options = parse_config_options("--client my.client --model m --temperature 0")
    assert (options.client_name, options.overrides) == (
        "my.client",
        {"model": "m", "temperature": 0.0},
    )
    assert parse_config_options("") == parse_config_options("  ")
    assert parse_config_options("--local").local
    assert parse_config_options("--reset").reset
    with pytest.raises(UsageError, match="use --local or --client, not both"):
        parse_config_options("--local --client c")
    with pytest.raises(UsageError, match="unknown option --new"):
        parse_config_options("--new")


def test_clients_are_checked() -> None:
    sync = openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1")
    asyn = openai.AsyncOpenAI(api_key="k", base_url="http://127.0.0.1:9/v1")

    async def agen(messages: list[Any]) -> Any:
        yield "x"

    async def coro(messages: list[Any]) -> Any:
        return ["x"]

    def words(messages: list[Any]) -> list[str]:
        return ["x"]

    for client in (sync, asyn, agen, coro, words):
        assert check_client(client, "c") is client
    assert [is_async_client(c) for c in (sync, asyn, agen, coro, words)] == [
        False,
        True,
        True,
        True,
        False,
    ]
    with pytest.raises(UsageError, match=r"--client c: c is an int; it takes an openai.OpenAI"):
        check_client(3, "c")
    with pytest.raises(UsageError, match=r"c is a class; create the client first"):
        check_client(openai.OpenAI, "c")


def test_messages_carry_the_system_prompt_and_the_history() -> None:
    chat = ChatSession()
    assert chat.messages_for("Hi", ChatSettings()) == [user("Hi")]
    chat.history = [user("Hi"), assistant("Hello")]
    settings = ChatSettings(system="Be brief.")
    assert chat.messages_for("And?", settings) == [
        {"role": "system", "content": "Be brief."},
        user("Hi"),
        assistant("Hello"),
        user("And?"),
    ]
    chat.reset()
    assert chat.messages_for("And?", ChatSettings()) == [user("And?")]


def test_the_configuration_never_shows_a_key() -> None:
    chat = ChatSession()
    client = openai.OpenAI(api_key="sk-SECRET", base_url="https://user:PASSWORD@llm.example/v1")
    chat.settings = ChatSettings(client=client, client_name="mine", temperature=0.2)
    shown = chat.describe()
    assert "mine: OpenAI at https://llm.example/v1" in shown
    assert "model         (not set: %chat_config --model NAME)" in shown
    assert "temperature   0.2" in shown
    assert "SECRET" not in shown
    assert "PASSWORD" not in shown
    with pytest.raises(UsageError, match=r"mine needs a model to ask: %chat_config --model NAME"):
        chat.backend_for(chat.settings)


def test_a_function_client_refuses_request_parameters() -> None:
    chat = ChatSession()
    chat.settings = ChatSettings(client=lambda m: ["x"], client_name="fn", max_tokens=5)
    with pytest.raises(UsageError, match="would be ignored: fn is a function"):
        chat.backend_for(chat.settings)
    assert "fn: a function of the message list" in chat.describe()


# -- in a real kernel -------------------------------------------------------------------

SETUP = """
import asyncio, json, threading
import openai
import nbstream.local, nbstream.magics
from nbstream.local import MODEL
from IPython.display import display

server = nbstream.local.server()
# Fast enough to keep the tests short, slow enough to stream in many deltas (30/s).
server.tokens_per_second = 300
server.first_token_delay = 0
kernel_loop = asyncio.get_running_loop()  # cells run inside the kernel's event loop

sent = []  # the JSON bodies the recording clients sent, as the server received them
def _record(request):
    sent.append(json.loads(request.content))
async def _arecord(request):
    sent.append(json.loads(request.content))
rec = nbstream.local.client(
    http_client=openai.DefaultHttpxClient(event_hooks={"request": [_record]}))
arec = nbstream.local.async_client(
    http_client=openai.DefaultAsyncHttpxClient(event_hooks={"request": [_arecord]}))

def ask_local(messages, **options):
    return rec.chat.completions.create(
        model=MODEL, messages=messages, stream=True, extra_body={"nbstream": options})

%load_ext nbstream
"""

kernel_test = pytest.mark.kernel


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    k = Kernel()
    k.check(SETUP)
    yield k
    k.shutdown()


@pytest.fixture
def fresh(kernel: Kernel) -> Kernel:
    """The kernel with the default configuration, an empty conversation, nothing sent."""
    kernel.check("%chat_config --reset\nnbstream.magics.session().reset()\nsent.clear()")
    return kernel


def chat_cell(kernel: Kernel, code: str, cell_id: str | None = None) -> Traffic:
    traffic = kernel.check(code, cell_id=cell_id)
    assert "Error" not in traffic.stdout, traffic.stdout
    return traffic


def usage_error(kernel: Kernel, code: str) -> str:
    """Run ``code``; it must fail with a one-line UsageError (no traceback). Its text."""
    traffic = kernel.run(code)
    assert traffic.error is None, traffic.error  # a UsageError is shown without traceback
    lines = [line for line in traffic.stdout.splitlines() if line.startswith("UsageError: ")]
    assert len(lines) == 1, traffic.stdout
    assert kernel.check("print(6 * 7)").stdout == "42\n"  # the kernel carries on
    return lines[0].removeprefix("UsageError: ")


def value(kernel: Kernel, expression: str) -> Any:
    return eval(kernel.check(f"print(repr(({expression})))").stdout)


def deltas(traffic: Traffic) -> list[dict[str, Any]]:
    return [m for m in traffic.custom() if m["kind"] == "delta"]


@kernel_test
def test_a_chat_cell_streams_the_answer_into_a_view(fresh: Kernel) -> None:
    traffic = chat_cell(fresh, f"%%chat\n{Q1}\n")
    expected = answer([user(Q1)])
    # It streams: the text arrives in many deltas, rebuilt exactly, then one `end`.
    assert len(deltas(traffic)) >= 10, len(deltas(traffic))
    assert rebuild_text(traffic.custom()) == expected
    assert traffic.custom()[-1]["kind"] == "end"
    kinds = [m["header"]["msg_type"] for m in traffic.messages]
    assert kinds.count("display_data") == 1  # the view
    assert kinds.count("update_display_data") == 1  # its static copy, for saved notebooks
    assert "execute_result" not in kinds  # no Out[]
    # The answer is kept in `_chat`, and the conversation in the session.
    assert value(fresh, "_chat") == expected
    assert value(fresh, "nbstream.magics.session().history") == [user(Q1), assistant(expected)]
    assert value(fresh, "nbstream.magics.session().view.content") == expected


@kernel_test
def test_consecutive_cells_are_one_conversation_and_new_starts_another(fresh: Kernel) -> None:
    # The default local model: the server counts the whole conversation in its usage.
    chat_cell(fresh, f"%%chat\n{Q1}")
    first = answer([user(Q1)])
    traffic = chat_cell(fresh, f"%%chat\n{Q2}")
    history = [user(Q1), assistant(first), user(Q2)]
    second = answer(history)
    assert rebuild_text(traffic.custom()) == second
    assert len(deltas(traffic)) >= 10
    usage = value(fresh, "nbstream.magics.session().view.usage")
    assert usage["prompt_tokens"] == prompt_tokens(history)
    # --new: only the new prompt is sent.
    chat_cell(fresh, f"%%chat --new\n{Q2}")
    usage = value(fresh, "nbstream.magics.session().view.usage")
    assert usage["prompt_tokens"] == prompt_tokens([user(Q2)])
    assert value(fresh, "nbstream.magics.session().history") == [user(Q2), assistant(second)]


@kernel_test
def test_a_cell_run_again_takes_its_own_turns_place(fresh: Kernel) -> None:
    # JupyterLab sends each cell's id with its execution; a rerun is that cell again.
    chat_cell(fresh, f"%%chat\n{Q1}", cell_id="cell-1")
    first = answer([user(Q1)])
    chat_cell(fresh, f"%%chat\n{Q2}", cell_id="cell-2")
    second = answer([user(Q1), assistant(first), user(Q2)])
    # The last cell again, with another prompt: it replaces its turn, it does not add one.
    q3 = "How do I stop an answer?"
    traffic = chat_cell(fresh, f"%%chat\n{q3}", cell_id="cell-2")
    retried = answer([user(Q1), assistant(first), user(q3)])
    assert rebuild_text(traffic.custom()) == retried
    history = [user(Q1), assistant(first), user(q3), assistant(retried)]
    assert value(fresh, "nbstream.magics.session().history") == history
    usage = value(fresh, "nbstream.magics.session().view.usage")
    assert usage["prompt_tokens"] == prompt_tokens([user(Q1), assistant(first), user(q3)])
    assert second != retried
    # The first cell again: the conversation goes back to before it (the later turn was
    # built on the old answer), then the new answer follows.
    chat_cell(fresh, f"%%chat\n{Q2}", cell_id="cell-1")
    assert value(fresh, "nbstream.magics.session().history") == [
        user(Q2),
        assistant(answer([user(Q2)])),
    ]
    # Without cell ids (nbclient, a console), every run is a new turn.
    chat_cell(fresh, f"%%chat\n{Q1}")
    chat_cell(fresh, f"%%chat\n{Q1}")
    assert len(value(fresh, "nbstream.magics.session().history")) == 6


@kernel_test
def test_a_failed_rerun_leaves_the_conversation_as_it_was(fresh: Kernel) -> None:
    chat_cell(fresh, f"%%chat\n{Q1}", cell_id="cell-1")
    before = value(fresh, "nbstream.magics.session().history")
    fresh.check("def broken(messages):\n    yield 'Half'\n    raise ValueError('boom')")
    fresh.check("%chat_config --client broken")
    traffic = fresh.run(f"%%chat\n{Q2}", cell_id="cell-1")
    assert traffic.error is not None
    assert "boom" in traffic.error
    assert value(fresh, "nbstream.magics.session().history") == before


@kernel_test
def test_a_refusal_is_the_assistants_turn(fresh: Kernel) -> None:
    fresh.check(
        "def refusing(messages):\n"
        "    delta = {'refusal': \"I can't help with that.\"}\n"
        "    return [{'choices': [{'delta': delta, 'finish_reason': 'stop'}]}]\n"
        "%chat_config --client refusing"
    )
    chat_cell(fresh, f"%%chat\n{Q1}")
    refusal = "I can't help with that."
    assert value(fresh, "nbstream.magics.session().history") == [user(Q1), assistant(refusal)]
    assert value(fresh, "_chat") == ""  # the answer's text: there is none


@kernel_test
def test_what_the_server_receives(fresh: Kernel) -> None:
    out = chat_cell(fresh, "%chat_config --client rec --system 'Be brief.' --temperature 0.5")
    assert "rec: OpenAI at http://127.0.0.1:" in out.stdout
    chat_cell(fresh, f"%%chat\n{Q1}")
    chat_cell(fresh, f"%%chat --model other --max-tokens 7 --system 'Be kind.'\n{Q2}")
    # The local model stops at --max-tokens, and the view says the answer was cut.
    assert value(fresh, "_chat") == "".join(tokenize(answer([user(Q2)]))[:7])
    assert value(fresh, "nbstream.magics.session().view.finish_reason") == "length"
    chat_cell(fresh, f"%%chat --new\n{Q1}")
    first = answer([user(Q1)])
    system = {"role": "system", "content": "Be brief."}
    assert value(fresh, "sent") == [
        {
            "model": MODEL,  # a client of the local server defaults to its model
            "messages": [system, user(Q1)],
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": 0.5,
        },
        {
            "model": "other",
            "messages": [
                {"role": "system", "content": "Be kind."},  # for this cell only
                user(Q1),
                assistant(first),
                user(Q2),
            ],
            "stream": True,
            "max_tokens": 7,
            "stream_options": {"include_usage": True},
            "temperature": 0.5,
        },
        {
            "model": MODEL,
            "messages": [system, user(Q1)],
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": 0.5,
        },
    ]
    assert value(fresh, "nbstream.magics.session().history") == [user(Q1), assistant(first)]


@kernel_test
def test_chat_config_shows_where_answers_come_from_but_never_the_key(fresh: Kernel) -> None:
    out = fresh.check("%chat_config").stdout
    assert out.splitlines()[:2] == [
        f"client        the local model at {value(fresh, 'server.base_url')} (the default)",
        f"model         {MODEL}",
    ]
    assert "conversation  new (no messages yet)" in out
    fresh.check(
        "secret = openai.AsyncOpenAI(api_key='sk-test-SECRET-1234',"
        " base_url='https://api.example.com/v1')"
    )
    out = fresh.check("%chat_config --client secret --model gpt-4o-mini --max-tokens 50").stdout
    assert "client        secret: AsyncOpenAI at https://api.example.com/v1" in out
    assert "model         gpt-4o-mini" in out
    assert "max tokens    50" in out
    assert "SECRET" not in out
    assert "SECRET" not in fresh.check("%chat_config").stdout
    out = fresh.check("%chat_config --local").stdout
    assert out.startswith("client        the local model at http://127.0.0.1:")
    assert f"model         {MODEL}" in out
    assert "max tokens    50" in out  # --local changes the client, not the rest


@kernel_test
@pytest.mark.parametrize("client", ["rec", "arec"])
def test_a_configured_client_streams_sync_or_async(fresh: Kernel, client: str) -> None:
    if client == "arec":
        # Use the client on the kernel's loop first: its pooled connection belongs to
        # that loop, so only streaming on that same loop can reuse it.
        fresh.check(
            "_s = await arec.chat.completions.create(model=MODEL, stream=True,"
            " messages=[{'role': 'user', 'content': 'warm up'}])\n"
            "async for _ in _s: pass\n"
            "sent.clear()"
        )
    fresh.check(f"%chat_config --client {client}")
    first = chat_cell(fresh, f"%%chat\n{Q1}")
    second = chat_cell(fresh, f"%%chat\n{Q2}")
    assert rebuild_text(first.custom()) == answer([user(Q1)])
    assert rebuild_text(second.custom()) == answer([user(Q2)])
    assert len(deltas(first)) >= 10
    assert len(deltas(second)) >= 10
    sent = value(fresh, "[s['messages'] for s in sent]")
    assert sent == [[user(Q1)], [user(Q1), assistant(answer([user(Q1)])), user(Q2)]]
    # A sync client's cell is a plain magic; an async one's is awaited on the kernel's loop.
    transformed = value(fresh, "get_ipython().transform_cell('%%chat --new\\nHi')")
    if client == "arec":
        assert transformed.startswith("await get_ipython().magics_manager.registry[")
        assert transformed.endswith(".chat_async('--new', 'Hi\\n')\n")
    else:
        assert transformed == "get_ipython().run_cell_magic('chat', '--new', 'Hi\\n')\n"


@kernel_test
def test_async_functions_answer_on_the_kernels_own_loop(fresh: Kernel) -> None:
    fresh.check(
        "seen = []\n"
        "async def words(messages):\n"
        "    seen.append((asyncio.get_running_loop() is kernel_loop,\n"
        "                 threading.current_thread() is threading.main_thread()))\n"
        "    stream = await arec.chat.completions.create(\n"
        "        model=MODEL, messages=messages, stream=True)\n"
        "    async for chunk in stream:\n"
        "        if chunk.choices and chunk.choices[0].delta.content:\n"
        "            yield chunk.choices[0].delta.content\n"
        "%chat_config --client words"
    )
    traffic = chat_cell(fresh, f"%%chat\n{Q1}")
    assert rebuild_text(traffic.custom()) == answer([user(Q1)])
    assert len(deltas(traffic)) >= 10
    assert value(fresh, "seen") == [(True, True)]
    assert value(fresh, "_chat") == answer([user(Q1)])


@kernel_test
def test_mistakes_are_one_line_usage_errors(fresh: Kernel) -> None:
    fresh.check(
        "number = 3\n"
        "sync_client = openai.OpenAI(api_key='sk-x', base_url='https://api.example.com/v1')"
    )
    errors = {
        "%%chat --bogus\nHi": "%%chat: unknown option --bogus",
        "%%chat What is it?\nMore": "%%chat: unexpected 'What is it?'; the prompt goes in the cell",
        "%%chat --temperature warm\nHi": "%%chat: argument --temperature: must be a number",
        "%%chat\n  \n": "%%chat: the cell is empty; write the prompt below the %%chat line",
        "%chat_config --client nowhere": "--client nowhere: no variable named 'nowhere'",
        "%chat_config --client number": "--client number: number is an int; it takes",
        "%chat_config --client openai.OpenAI": "openai.OpenAI is a class; create the client",
        "%chat_config --client 'a b'": "--client takes a variable's name",
        "%chat_config --client openai.nothing": "openai has no attribute 'nothing'",
        "%chat_config --wat": "%chat_config: unknown option --wat",
    }
    for code, message in errors.items():
        assert message in usage_error(fresh, code), code
    # A client without a model is refused when a cell would ask it, before any request.
    fresh.check("%chat_config --client sync_client")
    assert usage_error(fresh, "%%chat\nHi").startswith(
        "sync_client needs a model to ask: %chat_config --model NAME"
    )
    # Nothing was sent, shown or kept by any of them.
    assert value(fresh, "nbstream.magics.session().history") == []
    assert value(fresh, "sent") == []


FAILURES = {
    # options of the local model, %%chat's options: the start of the view's error
    "401": ("fault='http_401'", "", "AuthenticationError: HTTP 401"),
    "stall": ("first_token_delay=3", "--idle-timeout 0.3", "IdleTimeoutError: nothing arrived"),
}


@kernel_test
@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_failing_answer_shows_in_the_view(fresh: Kernel, failure: str) -> None:
    options, cell_options, error = FAILURES[failure]
    fresh.check(
        "def failing(messages):\n"
        f"    return ask_local(messages, {options})\n"
        "%chat_config --client failing"
    )
    traffic = fresh.run(f"%%chat {cell_options}\n{Q1}")
    assert traffic.error is not None
    assert error.split(":")[0] in traffic.error  # the exception reached the cell
    end = traffic.custom()[-1]
    assert end["kind"] == "end"
    assert end["error"].startswith(error)
    # Left out of the conversation; the next cell works.
    assert value(fresh, "nbstream.magics.session().history") == []
    fresh.check("%chat_config --local")
    chat_cell(fresh, f"%%chat\n{Q1}")
    assert value(fresh, "len(nbstream.magics.session().history)") == 2


@kernel_test
@pytest.mark.parametrize("client", ["sync", "async"])
def test_interrupting_a_chat_cell_keeps_the_text(fresh: Kernel, client: str) -> None:
    fresh.check(
        "def slow(messages):\n"
        "    return ask_local(messages, tokens_per_second=20)\n"
        "async def aslow(messages):\n"
        "    return await arec.chat.completions.create(model=MODEL, messages=messages,\n"
        "        stream=True, extra_body={'nbstream': {'tokens_per_second': 20}})\n"
        f"%chat_config --client {'slow' if client == 'sync' else 'aslow'}"
    )
    reply = fresh.interrupt_during(f"%%chat\n{Q1}", after=1.5)
    assert reply["content"]["status"] == "error"
    # A sync stream is interrupted; ipykernel cancels an awaited cell instead.
    expected = "KeyboardInterrupt" if client == "sync" else "CancelledError"
    assert reply["content"]["ename"] == expected
    view = "nbstream.magics.session().view"
    text, streaming, error = value(fresh, f"{view}.content, {view}.is_streaming, {view}.error")
    assert 0 < len(text) < len(answer([user(Q1)]))
    assert answer([user(Q1)]).startswith(text)
    assert not streaming
    assert error.startswith(expected)
    assert value(fresh, "nbstream.magics.session().history") == []


@kernel_test
def test_async_clients_need_autoawait(fresh: Kernel) -> None:
    fresh.check("%autoawait off\n%chat_config --client arec")
    try:
        assert "autoawait is off (%autoawait on turns it back on)" in usage_error(
            fresh, f"%%chat\n{Q1}"
        )
        fresh.check("%chat_config --client rec")  # a sync client needs no loop
        traffic = chat_cell(fresh, f"%%chat\n{Q1}")
        assert rebuild_text(traffic.custom()) == answer([user(Q1)])
    finally:
        fresh.check("%autoawait on")


@kernel_test
def test_unload_and_load_again(fresh: Kernel) -> None:
    fresh.check("%chat_config --client arec")
    fresh.check("%unload_ext nbstream")
    try:
        assert value(fresh, "get_ipython().transform_cell('%%chat\\nHi')") == (
            "get_ipython().run_cell_magic('chat', '', 'Hi\\n')\n"
        )
        assert "Cell magic `%%chat` not found" in fresh.run("%%chat\nHi").stdout
        assert "not found" in fresh.run("%chat_config").stdout
    finally:
        fresh.check("%load_ext nbstream")
    # A fresh session: the default local model and an empty conversation.
    assert "the local model at" in fresh.check("%chat_config").stdout
    traffic = chat_cell(fresh, f"%%chat\n{Q1}")
    assert rebuild_text(traffic.custom()) == answer([user(Q1)])


# -- %%chat --tools: the notebook's functions, run between rounds ------------------------

TOOLS = """
calls = []  # what the tools were called with, and on which loop and thread
def add(a: int, b: int) -> int:
    "Add two integers."
    calls.append(("add", a, b, threading.current_thread() is threading.main_thread()))
    return a + b
async def shout(text: str) -> str:
    "Upper-case a text."
    calls.append(("shout", text, asyncio.get_running_loop() is kernel_loop))
    return text.upper()
def broken(path: str) -> str:
    "Read a file."
    raise FileNotFoundError(f"no such file: {path}")
"""
BOTH = 'Use add and shout on 3, 4 and "hello"'


def roles(kernel: Kernel) -> list[str]:
    history = value(kernel, "nbstream.magics.session().history")
    return [m["role"] + ("+calls" if m.get("tool_calls") else "") for m in history]


@kernel_test
@pytest.mark.parametrize("client", ["local", "arec"])
def test_chat_cells_run_the_notebooks_functions_as_tools(fresh: Kernel, client: str) -> None:
    fresh.check(TOOLS)
    if client == "arec":  # its pooled connection must belong to the kernel's loop
        fresh.check(
            "_s = await arec.chat.completions.create(model=MODEL, stream=True,"
            " messages=[{'role': 'user', 'content': 'warm up'}])\n"
            "async for _ in _s: pass\n"
            "%chat_config --client arec"
        )
    traffic = chat_cell(fresh, f"%%chat --tools add,shout\n{BOTH}", cell_id="cell-t")
    # The sync tool ran off the kernel's main thread only for the async client (in a
    # worker thread); the async one on the kernel's loop for the async client, and on
    # a loop of its own when the cell holds the kernel's (a sync client). With the async
    # client the two run at the same time, so which one starts first is not fixed.
    assert sorted(value(fresh, "calls")) == [
        ("add", 3, 4, client == "local"),
        ("shout", "hello", client == "arec"),
    ]
    text = value(fresh, "_chat")  # the final answer, built on both results
    assert "7" in text
    assert "HELLO" in text
    # The view streamed every round as deltas, and shows each call with its result.
    shown = rebuild_text(traffic.custom())
    assert shown == value(fresh, "nbstream.magics.session().view.content")
    assert '🔧 **add** `{"a": 3, "b": 4}` · done in' in shown
    assert "```text\nHELLO\n```" in shown
    assert shown.startswith("🔧 **add**")  # the first round said nothing but the calls
    assert shown.endswith(text)
    assert len(deltas(traffic)) >= 2  # each round as it came, not one blob at the end
    # The conversation holds the whole exchange, in OpenAI format.
    assert roles(fresh) == ["user", "assistant+calls", "tool", "tool", "assistant"]
    history = value(fresh, "nbstream.magics.session().history")
    ids = [call["id"] for call in history[1]["tool_calls"]]
    assert [(m["tool_call_id"], m["content"]) for m in history[2:4]] == list(
        zip(ids, ["7", "HELLO"], strict=True)
    )
    # Run again, the cell takes its own turn's place, tool messages and all.
    chat_cell(fresh, f"%%chat --tools add,shout\n{BOTH}", cell_id="cell-t")
    assert roles(fresh) == ["user", "assistant+calls", "tool", "tool", "assistant"]
    chat_cell(fresh, f"%%chat\n{Q1}", cell_id="cell-u")  # no tools: a plain turn follows
    assert roles(fresh)[5:] == ["user", "assistant"]


@kernel_test
def test_chat_config_tools_serve_every_later_cell(fresh: Kernel) -> None:
    fresh.check(TOOLS)
    out = chat_cell(fresh, "%chat_config --tools add,broken").stdout
    assert "tools         add, broken" in out
    # A tool that raises: its failure goes back to the model, which answers with it.
    chat_cell(fresh, "%%chat\nCall broken on 'notes.txt'")
    history = value(fresh, "nbstream.magics.session().history")
    assert history[2]["content"].startswith("FileNotFoundError: no such file: notes.txt")
    assert "FileNotFoundError" in value(fresh, "_chat")
    # The notebook redefines a tool: the next cell calls the new one.
    fresh.check("def add(a: int, b: int) -> int:\n    'Add.'\n    return 10 * (a + b)")
    chat_cell(fresh, "%%chat --new\nadd 1 and 2")
    assert value(fresh, "nbstream.magics.session().history")[2]["content"] == "30"
    # --tools '' turns them off for one cell, and for all with %chat_config.
    chat_cell(fresh, "%%chat --new --tools ''\nadd 1 and 2")
    assert roles(fresh) == ["user", "assistant"]
    assert "tools         none" in chat_cell(fresh, "%chat_config --tools ''").stdout


@kernel_test
def test_unknown_tool_names_are_usage_errors(fresh: Kernel) -> None:
    fresh.check(TOOLS + "\nnumber = 3")
    assert usage_error(fresh, "%%chat --tools add,nope,gone\nHi") == (
        "--tools: no function named 'nope' or 'gone' in the notebook; "
        "define them first (def or async def)"
    )
    assert "no function named 'nope'" in usage_error(fresh, "%chat_config --tools nope")
    assert "--tools: number cannot be a tool: " in usage_error(fresh, "%chat_config --tools number")
    assert "'add(1)' is not a name" in usage_error(fresh, "%%chat --tools 'add(1)'\nHi")
    # Nothing was configured, sent or kept.
    assert "tools         none" in fresh.check("%chat_config").stdout
    assert value(fresh, "nbstream.magics.session().history") == []
    assert value(fresh, "sent") == []


# -- %%chat --attach: the notebook's objects go with the prompt --------------------------

ATTACHED = """
import pandas as pd
from PIL import Image
df = pd.DataFrame({"city": ["Oslo", "Rome"], "rain": [7, 2]})
pic = Image.new("RGB", (12, 8), (255, 0, 0))
import tempfile
notes_path = tempfile.mkdtemp() + "/attach-notes.txt"
with open(notes_path, "w") as f:
    f.write("one\\ntwo\\n")
"""


@kernel_test
def test_chat_cells_attach_the_notebooks_objects(fresh: Kernel) -> None:
    fresh.check(ATTACHED + "\n%chat_config --client rec")
    notes = value(fresh, "notes_path")
    chat_cell(fresh, f"%%chat --attach df,pic,{notes}\nWhat are these?")
    assert value(fresh, "_chat") == (
        "You attached 3 things:\n\n"
        "- Table `df`: 2 rows × 2 columns; columns `city`, `rain`.\n"
        "- Image `pic`: PNG, 12 × 8 px, mean colour #ff0000.\n"
        "- File `attach-notes.txt`: 2 lines."
    )
    # The conversation keeps the parts; a follow-up without attachments is plain text.
    chat_cell(fresh, "%%chat\nWhat is nbstream?")
    history = value(fresh, "nbstream.magics.session().history")
    first = history[0]["content"]
    assert [part["type"] for part in first] == ["text", "text", "text", "image_url", "text"]
    assert first[0] == {"type": "text", "text": "What are these?"}
    assert history[2] == {"role": "user", "content": "What is nbstream?"}
    # The request carried them too (what the local server received).
    assert value(fresh, "sent[0]['messages'][0]['content'][3]['type']") == "image_url"


@kernel_test
def test_attach_names_that_are_wrong_are_usage_errors(fresh: Kernel) -> None:
    fresh.check(ATTACHED + "\nnumber = 3.5")
    assert usage_error(fresh, "%%chat --attach df,nope,gone\nHi") == (
        "--attach: no variable (nor file) named 'nope' or 'gone' in the notebook; define them first"
    )
    assert usage_error(fresh, "%%chat --attach number\nHi").startswith(
        "--attach number: cannot attach a float: attach an image"
    )
    assert "--attach takes names" in usage_error(fresh, "%%chat --attach ,\nHi")
    assert value(fresh, "nbstream.magics.session().history") == []
    assert value(fresh, "sent") == []
