"""``nbstream serve``: the local model's API and the relay on one port, as a real process.

Also ``--upstream``: the relay asks another OpenAI-compatible server (here, a local
model started by the test), with the key read from the environment on the server side
only: never printed, never in what the browser gets.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from nbstream.local import API_KEY, MODEL, LocalServer
from nbstream.local.model import answer, tokenize

pytestmark = pytest.mark.timeout(90)

ROOT = Path(__file__).resolve().parent.parent
QUESTION: Any = [{"role": "user", "content": "How do I stream with the async client?"}]


def _read_line(stream: Any, timeout: float) -> str:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        pytest.fail(f"no output within {timeout} s")


@contextmanager
def serve(
    *argv: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[str], str]]:
    """Run ``nbstream serve argv``; yields the URL of its first line, the process, and
    the first three lines it printed (what a person reads)."""
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), environment.get("PYTHONPATH")])
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "nbstream", "serve", *argv],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = _read_line(process.stdout, timeout=30)
        match = re.fullmatch(
            r"nbstream (?:local model|relay) at (http://127\.0\.0\.1:\d+)\S*\n", line
        )
        assert match, line
        # Read here: communicate() would miss what the text wrapper already buffered.
        shown = line + _read_line(process.stdout, 10) + _read_line(process.stdout, 10)
        yield match.group(1), process, shown
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def relay_events(url: str, body: object) -> list[dict[str, Any]]:
    reply = httpx.post(f"{url}/api/chat/stream", json=body, timeout=30)
    assert reply.status_code == 200, reply.text
    return [json.loads(b[6:]) for b in reply.text.split("\n\n") if b.startswith("data: ")]


def test_serve_runs_the_local_model_and_the_relay_on_one_port() -> None:
    with serve("--tokens-per-second", "0", "--first-token-delay", "0") as (base, process, shown):
        # The OpenAI-compatible API, streamed through to the SDK as before.
        client = openai.OpenAI(base_url=f"{base}/v1", api_key=API_KEY, max_retries=0)
        chunks = client.chat.completions.create(model=MODEL, messages=QUESTION, stream=True)
        text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
        assert text == answer(QUESTION)
        # A fault still reaches the SDK as the local model sent it.
        broken = client.chat.completions.create(
            model=MODEL,
            messages=QUESTION,
            stream=True,
            extra_body={"nbstream": {"fault": "error", "fault_after": 3}},
        )
        with pytest.raises(openai.APIError):
            for _ in broken:
                pass
        # The relay, on the same port.
        events = relay_events(base, {"messages": QUESTION})
        assert "".join(e.get("content", "") for e in events) == answer(QUESTION)
        assert events[-1]["done"] is True
        page = httpx.get(f"{base}/", timeout=10)
        assert "nbstream chat" in page.text
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert f"relay: POST {base}/api/chat/stream   chat page: {base}/" in shown
    assert f'OpenAI(base_url="{base}/v1"' in shown
    assert "stopped" in out
    assert "Traceback" not in err


def test_serve_relays_to_an_upstream_with_a_server_side_key() -> None:
    secret = "sk-upstream-secret-987654"
    with LocalServer(tokens_per_second=0, first_token_delay=0) as upstream:
        argv = ["--upstream", upstream.base_url, "--model", MODEL, "--models", f"{MODEL},other"]
        argv += ["--api-key-env", "NBSTREAM_TEST_KEY"]
        with serve(*argv, env={"NBSTREAM_TEST_KEY": secret}) as (base, process, shown):
            events = relay_events(base, {"messages": QUESTION, "model": "other"})
            assert "".join(e.get("content", "") for e in events) == answer(QUESTION)
            refused = httpx.post(
                f"{base}/api/chat/stream", json={"messages": QUESTION, "model": "gpt-5"}, timeout=10
            )
            assert refused.status_code == 400
            # No local model here: /v1 is not served.
            assert httpx.get(f"{base}/v1/models", timeout=10).status_code == 404
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert secret not in shown + out + err
    assert "Traceback" not in err


def test_serve_refuses_options_that_do_not_go_together() -> None:
    from nbstream.cli import main

    assert main(["serve", "--upstream", "http://127.0.0.1:9/v1"]) == 2  # no --model
    assert main(["serve", "--api-key-env", "X"]) == 2  # no --upstream


def test_the_partial_text_of_a_proxied_fault_is_the_models() -> None:
    with serve("--tokens-per-second", "0", "--first-token-delay", "0") as (base, _, _shown):
        reply = httpx.post(
            f"{base}/v1/chat/completions",
            json={
                "model": MODEL,
                "messages": QUESTION,
                "stream": True,
                "nbstream": {"fault": "error", "fault_after": 4},
            },
            timeout=30,
        )
    chunks = [json.loads(b[6:]) for b in reply.text.split("\n\n") if b.startswith("data: {")]
    text = "".join(
        c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices")
    )
    assert text == "".join(tokenize(answer(QUESTION))[:4])
    assert chunks[-1]["error"]["code"] == "nbstream_injected"
