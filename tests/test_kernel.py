"""StreamView in a real ipykernel: wire cost against print(), message rate, exact text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.kernel_harness import SAMPLE_TOKENS_CODE, Kernel, Traffic, sample_tokens
from tests.recording import rebuild_text

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    k = Kernel()
    k.check(
        SAMPLE_TOKENS_CODE
        + "\nfrom nbstream import StreamView\nfrom IPython.display import display"
    )
    yield k
    k.shutdown()


def seconds(msgs: list[dict[str, object]]) -> float:
    dates = [m["header"]["date"] for m in msgs]  # type: ignore[index]
    assert all(isinstance(d, datetime) for d in dates)
    return float((max(dates) - min(dates)).total_seconds())


def widget_rate_ok(traffic: Traffic, per_second: float) -> tuple[int, float]:
    """Widget messages while streaming, and the streaming time they span."""
    msgs = traffic.comm_msgs()
    return len(msgs), seconds(msgs)


@pytest.mark.parametrize("n", [20_000])
def test_fast_stream_costs_about_what_print_costs(kernel: Kernel, n: int) -> None:
    kernel.check(
        f"tokens = make_tokens({n}); view = StreamView(static_copy=False); display(view)\n"
        "copied = StreamView(); display(copied)"
    )
    streamed = kernel.check("text = view.stream(tokens)")
    with_copy = kernel.check("copied_text = copied.stream(tokens)")
    printed = kernel.check("for t in tokens: print(t, end='')\nprint()")

    # The static copy for saved notebooks is one update of the view's output at the end,
    # costing about one more copy of the text (HTML escaping and markup add a little).
    # Measured on that message alone: the difference of the two totals also holds the
    # timing noise of how many coalesced deltas each stream happened to send.
    copies = [m for m in with_copy.messages if m["header"]["msg_type"] == "update_display_data"]
    assert len(copies) == 1
    assert "nbstream-static" in copies[0]["content"]["data"]["text/html"]
    copy_bytes = with_copy.bytes_of("update_display_data")
    size = len("".join(sample_tokens(n)).encode())
    assert size < copy_bytes <= 1.5 * size, (copy_bytes, size)
    # And one state message with the final text, for widget state saved headless.
    assert with_copy.updates()[-1] == {
        "content": "".join(sample_tokens(n)),
        "is_streaming": False,
        "error": None,
    }

    expected = "".join(sample_tokens(n))
    assert rebuild_text(streamed.custom()) == expected
    assert printed.stdout == expected + "\n"
    ratio = streamed.nbytes / printed.nbytes
    assert ratio <= 1.3, f"StreamView {streamed.nbytes} B vs print {printed.nbytes} B"
    # The text is never synced whole: the only state update is the reset at the start.
    assert streamed.updates() == [
        {"content": "", "is_streaming": True, "error": None, "_stream": 1}
    ]
    count, span = widget_rate_ok(streamed, 30)
    # The first delta leaves at once, then one per 1/30 s, then the end message.
    assert count <= 30 * span + 3, (count, span)
    out = kernel.check(
        "print(view.content == text == ''.join(tokens), view.is_streaming, view.error)"
    )
    assert out.stdout.split() == ["True", "False", "None"]


def test_paced_stream_stays_under_30_messages_a_second(kernel: Kernel) -> None:
    kernel.check(
        "import time\n"
        "def paced(tokens, rate):\n"
        "    for t in tokens:\n"
        "        time.sleep(1 / rate)\n"
        "        yield t\n"
        "view = StreamView(); display(view)"
    )
    streamed = kernel.check("text = view.stream(paced(make_tokens(400), 400))")
    count, span = widget_rate_ok(streamed, 30)
    assert span >= 0.8  # ~1 s of streaming at 400 tokens/s (sleep overshoots, never under)
    # Not rate-limited: the reset at the start, the first delta, the end message, and the
    # final state for the saved notebook.
    assert count <= 30 * span + 4, (count, span)
    assert count >= 10 * span, "deltas should flow continuously, not only at the end"
    assert rebuild_text(streamed.custom()) == "".join(sample_tokens(400))


def test_failure_in_a_cell_keeps_text_and_kernel_alive(kernel: Kernel) -> None:
    kernel.check(
        "def failing():\n"
        "    yield 'kept '\n"
        "    yield 'text'\n"
        "    raise RuntimeError('the model fell over')\n"
        "view = StreamView(); display(view)"
    )
    traffic = kernel.run("view.stream(failing())")
    assert traffic.error is not None
    assert "RuntimeError" in traffic.error
    assert "the model fell over" in traffic.error
    end = traffic.custom()[-1]
    assert end["kind"] == "end"
    assert end["error"] == "RuntimeError: the model fell over"
    assert rebuild_text(traffic.custom()) == "kept text"
    out = kernel.check("print(repr(view.content), view.is_streaming)")
    assert out.stdout.strip() == "'kept text' False"
    assert kernel.is_alive()


def test_kernel_interrupt_mid_stream_keeps_text(kernel: Kernel) -> None:
    kernel.check(
        "import time\n"
        "def slow():\n"
        "    yield 'before interrupt'\n"
        "    time.sleep(60)\n"
        "    yield 'never'\n"
        "view = StreamView(); display(view)"
    )
    reply = kernel.interrupt_during("view.stream(slow())", after=1.0)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    out = kernel.check("print(repr(view.content), view.is_streaming, view.error)")
    assert out.stdout.strip() == (
        "'before interrupt' False KeyboardInterrupt: the stream was interrupted"
    )
    assert kernel.is_alive()


def test_interrupting_an_openai_stream_closes_the_http_stream(kernel: Kernel) -> None:
    kernel.check(
        "import nbstream.local\n"
        "server = nbstream.local.server()\n"
        "client = nbstream.local.client(max_retries=0)\n"
        "before = server.stats.snapshot().streams_disconnected\n"
        "view = StreamView(); display(view)"
    )
    reply = kernel.interrupt_during(
        "view.stream(client.chat.completions.create(\n"
        "    model=nbstream.local.MODEL, stream=True,\n"
        "    messages=[{'role': 'user', 'content': 'What is nbstream?'}],\n"
        "    extra_body={'nbstream': {'tokens_per_second': 20, 'first_token_delay': 0}}))",
        after=1.5,
    )
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    out = kernel.check(
        "from nbstream.local import answer\n"
        "full = answer([{'role': 'user', 'content': 'What is nbstream?'}])\n"
        "print(server.stats.wait_for_disconnects(before + 1, timeout=10))\n"
        "print(0 < len(view.content) < len(full), full.startswith(view.content))\n"
        "print(view.error)"
    )
    assert out.stdout.split("\n")[:3] == [
        "True",
        "True True",
        "KeyboardInterrupt: the stream was interrupted",
    ]


FAULTS_IN_A_KERNEL = {
    # fault: (code that streams into `view`, the start of the error the view must show)
    "drop": ("view.stream(open_stream(fault='drop', fault_after=20))", "APIConnectionError: "),
    "error event": ("view.stream(open_stream(fault='error', fault_after=20))", "APIError: "),
    "malformed JSON": (
        "view.stream(open_stream(fault='malformed_json', fault_after=20))",
        "JSONDecodeError: the server sent a line that is not valid JSON",
    ),
    "401": ("view.stream(lambda: open_stream(fault='http_401'))", "AuthenticationError: HTTP 401"),
    "429": ("view.stream(lambda: open_stream(fault='http_429'))", "RateLimitError: HTTP 429"),
    "stall": (
        "view.stream(open_stream(fault='slow_first_token', first_token_delay=3), idle_timeout=0.3)",
        "IdleTimeoutError: nothing arrived",
    ),
    "read twice": ("s = open_stream(); view.stream(s); view.stream(s)", "SourceError: "),
}


@pytest.mark.parametrize("fault", list(FAULTS_IN_A_KERNEL))
def test_every_fault_leaves_the_view_settled_and_the_kernel_alive(
    kernel: Kernel, fault: str
) -> None:
    code, message = FAULTS_IN_A_KERNEL[fault]
    kernel.check(
        "import nbstream.local\n"
        "client = nbstream.local.client(max_retries=0)\n"
        "def open_stream(**options):\n"
        "    options.setdefault('tokens_per_second', 0)\n"
        "    return client.chat.completions.create(model=nbstream.local.MODEL, stream=True,\n"
        "        messages=[{'role': 'user', 'content': 'What is nbstream?'}],\n"
        "        extra_body={'nbstream': options})\n"
        "view = StreamView(); display(view)"
    )
    traffic = kernel.run(code)
    assert traffic.error is not None  # the exception reached the cell
    error = kernel.check("print(view.error)").stdout.strip()
    assert error.startswith(message), error
    shown = rebuild_text(traffic.custom())
    if fault != "read twice":  # refused before it began: the first stream's end is last
        end = traffic.custom()[-1]
        assert (end["kind"], end["error"]) == ("end", error)
    out = kernel.check(
        "from nbstream.local import answer\n"
        "full = answer([{'role': 'user', 'content': 'What is nbstream?'}])\n"
        "print(view.is_streaming, view.content == '' or full.startswith(view.content),"
        " repr(view.content) == repr(view._stored_content()))"
    )
    assert out.stdout.split() == ["False", "True", "True"]
    # What the browser rebuilt is what the kernel kept.
    kept = kernel.check("print(len(view.content))")
    assert int(kept.stdout) == len(shown) or fault == "read twice"
    assert kernel.is_alive()
    assert kernel.check("print(6 * 7)").stdout.strip() == "42"
