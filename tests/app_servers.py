"""marimo and Voilà serving an app on 127.0.0.1, for the browser tests of those frontends.

Also what those tests share on the page: a watched page (:func:`watched_page`) and a
question typed into a Chat (:func:`ask_in_chat`).

The recipe of ``browser_harness.JupyterServer`` for any server command: a free loopback
port, a token, an isolated home (HOME, XDG and Jupyter dirs in a temp dir, so nothing is
read from or left in the user's), its own process group (``start_new_session``),
readiness by polling a URL, and teardown by signalling that group (never by name).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.browser_harness import free_port

__all__ = [
    "AppServer",
    "ask_in_chat",
    "isolated_env",
    "local_model_text",
    "marimo_app",
    "voila_app",
    "watched_page",
]


def isolated_env(home: Path) -> dict[str, str]:
    """The environment, with every per-user directory under ``home`` and no token."""
    dirs = {
        name: home / name
        for name in ("config", "cache", "state", "data", "jupyter", "jupyter-data", "runtime")
    }
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("JUPYTER_TOKEN", "MARIMO_TOKEN")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(dirs["config"]),
        XDG_CACHE_HOME=str(dirs["cache"]),
        XDG_STATE_HOME=str(dirs["state"]),
        XDG_DATA_HOME=str(dirs["data"]),
        JUPYTER_CONFIG_DIR=str(dirs["jupyter"]),
        JUPYTER_DATA_DIR=str(dirs["jupyter-data"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        IPYTHONDIR=str(home / "ipython"),
        MARIMO_SKIP_UPDATE_CHECK="1",
    )
    return env


class AppServer:
    """A server started from ``cmd`` in its own process group; ready once ``ready`` answers.

    ``url`` is the page to open (with its token). Any HTTP answer from ``ready`` (even a
    redirect to a login page) means the server is up.
    """

    def __init__(
        self, cmd: list[str], *, home: Path, url: str, ready: str, timeout: float = 90
    ) -> None:
        self.url = url
        self.log_path = home / "server.log"
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            cmd,
            env=isolated_env(home),
            cwd=home,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_ready(ready, timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, ready: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.proc.args!r} exited: see {self.log_path}")
            try:
                with urllib.request.urlopen(ready, timeout=10):
                    return
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"not answering within {timeout} s: {ready} (see {self.log_path})")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=15)
        self.log.close()


def marimo_app(app: Path, home: Path) -> AppServer:
    """``marimo run app``: the notebook as a read-only app; every page gets a fresh run."""
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable,
        "-m",
        "marimo",
        "run",
        str(app),
        "--headless",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--token-password={token}",
        "--no-sandbox",
    ]
    base = f"http://127.0.0.1:{port}"
    return AppServer(cmd, home=home, url=f"{base}/?access_token={token}", ready=f"{base}/health")


def voila_app(notebook: Path, home: Path) -> AppServer:
    """``voila notebook``: each page load runs the notebook in a fresh kernel.

    Unlike ``jupyter lab``, Voilà needs no ``--allow-root`` to run as root (as in CI).
    """
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        "--no-browser",
        "--Voila.ip=127.0.0.1",
        f"--port={port}",
        "--Voila.port_retries=0",
        f"--token={token}",
        # Its kernels' connection files, in the isolated home rather than /tmp.
        f"--Voila.connection_dir_root={home}",
    ]
    base = f"http://127.0.0.1:{port}"
    # Without the token `/` only redirects to the login page: up, and nothing executed.
    return AppServer(cmd, home=home, url=f"{base}/?token={token}", ready=f"{base}/")


def local_model_text(
    messages: list[Any], options: Mapping[str, Any] | None = None
) -> tuple[str, str | None]:
    """What the local model streams for a request, asked here as the app asks it there.

    Returns the text and, if the stream ended in an error, its message (else None).
    ``options`` are the request's ``extra_body={"nbstream": ...}``.
    """
    import openai

    import nbstream.local

    stream = nbstream.local.client().chat.completions.create(
        model=nbstream.local.MODEL,
        messages=messages,
        stream=True,
        extra_body={"nbstream": dict(options)} if options else None,
    )
    pieces: list[str] = []
    try:
        for chunk in stream:
            pieces.extend(c.delta.content for c in chunk.choices if c.delta.content)
    except openai.APIError as exc:
        return "".join(pieces), str(exc)
    finally:
        stream.close()
    return "".join(pieces), None


@contextlib.contextmanager
def watched_page(
    browser: Any,
    server: AppServer,
    name: str,
    request: Any = None,
    **context_options: Any,
) -> Iterator[Any]:
    """A fresh page; fails on page errors, and leaves a screenshot and the server's log
    tail when the block raises or, given a fixture's ``request``, when the test failed
    (conftest.py keeps each phase's report on the item)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **context_options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    def report() -> None:
        shot = server.log_path.parent / f"failure-{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}\npage errors: {errors}\nserver log tail:\n{server.log_tail()}")

    try:
        yield page
    except BaseException:
        report()
        raise
    else:
        call = getattr(request.node, "rep_call", None) if request is not None else None
        if call is not None and call.failed:
            report()
    finally:
        context.close()
    assert not errors, errors


def ask_in_chat(page: Any, question: str, expected: str) -> None:
    """Type ``question`` into the page's Chat and check its answer streams, then ends as
    ``expected`` (compared by letters and digits: markdown renders differently)."""
    from tests.test_browser import visible_letters

    box = page.locator(".nbstream-chat-input")
    box.click()
    box.fill(question)
    box.press("Enter")
    # Mid-answer: its first words already show, with the cursor after them.
    first_word = re.search(r"\w{4,}", expected)
    assert first_word
    streaming = page.locator('.nbstream-msg[data-role="assistant"][data-status="streaming"]')
    streaming.locator(".nbstream-body", has_text=first_word.group()).locator(
        ".nbstream-cursor"
    ).wait_for(timeout=30_000)
    answer = page.locator('.nbstream-msg[data-role="assistant"][data-status="done"]')
    answer.wait_for(timeout=60_000)
    user = page.locator('.nbstream-msg[data-role="user"] .nbstream-body')
    assert user.inner_text().strip() == question
    shown = answer.locator(".nbstream-body").first.evaluate(
        "el => { const c = el.cloneNode(true); c.querySelectorAll('button').forEach(b =>"
        " b.remove()); return c.textContent; }"
    )
    assert visible_letters(shown) == visible_letters(expected)
    assert answer.locator(".nbstream-cursor").count() == 0
