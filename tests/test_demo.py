"""``nbstream demo``: the README's one command, tried as a new user would.

The demo runs as a real subprocess (``python -m nbstream demo``) with a fresh HOME and
no Jupyter settings from this machine, so what it does is what a first run does. The
printed URL is the contract: it must be loopback, carry a working token and open the
chat tutorial, where a typed question gets the local model's answer in Chromium.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbstream import demo
from nbstream.cli import main
from nbstream.local.model import answer
from tests.browser_harness import CHROMIUM, KNOWN_PAGE_ERRORS, free_port

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
URL_LINE = re.compile(r"nbstream demo: JupyterLab is running at (\S+)$")
# Set by scripts/test.sh to the `nbstream` command of a fresh venv that installed only the
# built wheel (with its `lab` extra) from PyPI: then the demo under test is the one a new
# user gets from `pip install "nbstream[lab]"`, not this checkout.
INSTALLED_COMMAND = os.environ.get("NBSTREAM_DEMO_COMMAND")
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# -- a demo process -------------------------------------------------------------------------


def fresh_user_env(home: Path) -> dict[str, str]:
    """This environment as a new user on a fresh machine has it: an empty HOME, and no
    Jupyter or XDG locations or token inherited from whoever runs the tests."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JUPYTER", "XDG_")) and key != "IPYTHONDIR"
    }
    home.mkdir(parents=True, exist_ok=True)
    env["HOME"] = str(home)
    if INSTALLED_COMMAND:
        env.pop("PYTHONPATH", None)
        env.pop("VIRTUAL_ENV", None)
        # Only the fresh venv and the system's own folders: nothing of this checkout's venv.
        env["PATH"] = os.pathsep.join(
            [str(Path(INSTALLED_COMMAND).parent), "/usr/local/bin", "/usr/bin", "/bin"]
        )
    else:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


class Demo:
    """``python -m nbstream demo`` as a subprocess, its stdout read line by line."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [INSTALLED_COMMAND, "demo", *args]
            if INSTALLED_COMMAND
            else [sys.executable, "-m", "nbstream", "demo", *args],
            env=env,
            cwd=env["HOME"],  # not this checkout, whose nbstream/ a Python here could import
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.out: list[str] = []
        self.err: list[str] = []
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        threading.Thread(target=self._pump, args=(self.process.stdout, True), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.process.stderr, False), daemon=True).start()

    def _pump(self, stream: Any, is_stdout: bool) -> None:
        for line in stream:
            (self.out if is_stdout else self.err).append(line)
            if is_stdout:
                self.lines.put(line)

    def url(self, timeout: float = 120) -> str:
        """The URL from the one line that announces it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None:
                    pytest.fail(f"demo exited ({self.process.returncode}): {''.join(self.err)}")
                continue
            match = URL_LINE.match(line.rstrip("\n"))
            if match:
                return match.group(1)
        pytest.fail(f"no URL within {timeout} s; stdout: {self.out}, stderr: {self.err}")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 60) -> int:
        self.process.send_signal(signum)
        code = self.process.wait(timeout)
        time.sleep(0.1)  # let the readers drain the pipes
        return code

    def kill(self) -> None:
        """Test cleanup only: the demo's own shutdown path is what the tests check."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def start_demo(tmp_path: Path) -> Iterator[Any]:
    started: list[Demo] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Demo:
        process = Demo(list(args), env or fresh_user_env(tmp_path / "home"))
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def http(url: str, token: str | None = None, method: str = "GET") -> tuple[int, Any]:
    """Status and JSON body of a request to the demo's server."""
    headers = {"Authorization": f"token {token}"} if token else {}
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with NO_PROXY.open(request, timeout=10) as response:
            body = response.read()
            return response.status, json.loads(body) if body else None
    except urllib.error.HTTPError as exc:
        return exc.code, None


def refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def pids_with(fragment: str) -> list[int]:
    """Processes whose command line contains ``fragment`` (Linux /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if fragment in cmdline:
                pids.append(int(entry.name))
    return pids


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s: {what}")
        time.sleep(0.2)


# -- (a) and (c): a headless start, the URL, the token, and a clean stop ----------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc, uses 127.0.0.2")
@pytest.mark.parametrize(
    ("opens_browser", "signum"),
    [(False, signal.SIGTERM), (True, signal.SIGINT)],
    ids=["no-browser-SIGTERM", "browser-Ctrl-C"],
)
def test_demo_serves_the_chat_tutorial_on_loopback_and_stops_cleanly(
    start_demo: Any, tmp_path: Path, opens_browser: bool, signum: int
) -> None:
    home = tmp_path / "home"
    env = fresh_user_env(home)
    opened = tmp_path / "opened.txt"
    args = ["--port", str(free_port())]
    if opens_browser:
        # Python's webbrowser (which JupyterLab uses) runs $BROWSER: record what it opens.
        recorder = tmp_path / "browser.sh"
        recorder.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> {opened}\n')
        recorder.chmod(0o755)
        env["BROWSER"] = f"{recorder} %s"
    else:
        args.append("--no-browser")
    process = start_demo(*args, env=env)
    url = process.url()

    parts = urllib.parse.urlsplit(url)
    assert parts.scheme == "http"
    assert parts.hostname == "127.0.0.1"
    assert parts.port == int(args[1])
    assert parts.path.endswith("/tree/02-chat.ipynb")
    token = urllib.parse.parse_qs(parts.query)["token"][0]
    assert len(token) >= 32
    base = f"http://127.0.0.1:{parts.port}"

    # The tutorials were copied into the default folder, unchanged.
    folder = home / "nbstream-demo"
    for tutorial in NOTEBOOKS.glob("*.ipynb"):
        assert (folder / tutorial.name).read_bytes() == tutorial.read_bytes()

    # JupyterLab answers with the token, and only with it.
    assert http(f"{base}/api/status", token)[0] == 200
    assert http(f"{base}/api/status")[0] == 403
    assert http(f"{base}/api/status", "wrong-token")[0] == 403
    status, model = http(f"{base}/api/contents/02-chat.ipynb?content=0", token)
    assert (status, model["type"]) == (200, "notebook")
    with NO_PROXY.open(url, timeout=10) as page:  # the printed URL itself
        assert page.status == 200
        assert "JupyterLab" in page.read().decode()
    # Bound to 127.0.0.1 alone: the rest of the loopback network (like any other
    # interface) is refused.
    assert refused("127.0.0.2", parts.port)

    if opens_browser:
        wait_until(opened.exists, 30, "JupyterLab opened a browser")
        target = opened.read_text().split()[0]
        assert target.startswith("file://")
        redirect = Path(urllib.parse.unquote(urllib.parse.urlsplit(target).path)).read_text()
        assert f"127.0.0.1:{parts.port}/lab/workspaces/" in redirect
        assert "/tree/02-chat.ipynb" in redirect
        assert f"token={token}" in redirect

    # A kernel, as running the tutorial starts one: stopping the demo must stop it too.
    status, kernel = http(f"{base}/api/kernels", token, method="POST")
    assert status == 201
    connection_file = f"kernel-{kernel['id']}.json"
    wait_until(lambda: pids_with(connection_file), 30, "the kernel process started")
    [kernel_pid] = pids_with(connection_file)

    assert process.stop(signum) == 0, process.err
    out, err = "".join(process.out), "".join(process.err)
    assert out.rstrip().endswith("nbstream demo: JupyterLab stopped."), out
    assert "Traceback" not in err, err
    assert refused("127.0.0.1", parts.port)  # the port is free again
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", parts.port))
    wait_until(lambda: not Path(f"/proc/{kernel_pid}").exists(), 15, "the kernel exited")
    assert not pids_with(str(folder / ".nbstream-demo.log")), "JupyterLab still runs"
    assert not pids_with(f"--ServerApp.port={parts.port}"), "JupyterLab still runs"


# -- (b): the printed URL in Chromium opens a working chat ------------------------------


def run_all_from_the_menu(page: Any, base: str, token: str) -> None:
    """Run every cell as a user does: Run > Run All Cells, once the kernel is ready.

    The demo's JupyterLab does not expose its app object to scripts, so this is the menu
    path; a click made before the notebook's session is connected is dropped, and then
    it is retried (after checking nothing started).
    """

    def kernel_ready() -> bool:
        status, kernels = http(f"{base}/api/kernels", token)
        return status == 200 and any(
            k["execution_state"] == "idle" and k["connections"] >= 1 for k in kernels
        )

    wait_until(kernel_ready, 60, "the notebook's kernel is idle and connected")
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=60_000)
    started = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                     .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""
    for _attempt in range(3):
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
        try:
            page.wait_for_function(started, timeout=10_000)
            return
        except Exception:
            page.keyboard.press("Escape")  # close a menu left open
    pytest.fail("Run All Cells never started")


@pytest.mark.browser
@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium")
def test_demo_url_opens_the_chat_tutorial_and_the_chat_answers(
    start_demo: Any, browser: Any, tmp_path: Path
) -> None:
    process = start_demo("--no-browser")
    url = process.url()
    parts = urllib.parse.urlsplit(url)
    token = urllib.parse.parse_qs(parts.query)["token"][0]
    base = f"http://127.0.0.1:{parts.port}"

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(url)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        # The chat tutorial is the document open in front.
        active = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
        assert "02-chat.ipynb" in active.inner_text()

        run_all_from_the_menu(page, base, token)
        page.wait_for_function(
            """() => {
              const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
              return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""",
            timeout=120_000,
        )
        # Every cell ran without an error (the tutorial catches its deliberate one).
        assert page.locator('[data-mime-type="application/vnd.jupyter.error"]').count() == 0

        # A new user types into the tutorial's first chat and presses Enter.
        chat = page.locator(".nbstream-chat").first
        answers = chat.locator('.nbstream-msg[data-role="assistant"]')
        before = answers.count()
        question = "What is markdown?"
        box = chat.locator("textarea.nbstream-chat-input")
        box.click()
        box.fill(question)
        box.press("Enter")
        page.wait_for_function(
            """([chat, n]) => {
              const all = chat.querySelectorAll('.nbstream-msg[data-role="assistant"]');
              return all.length > n && all[all.length - 1].dataset.status === 'done';
            }""",
            arg=[chat.element_handle(), before],
            timeout=60_000,
        )
        expected = answer([{"role": "user", "content": question}])
        assert expected.splitlines()[0].lstrip("# ") in answers.last.inner_text()
        users = chat.locator('.nbstream-msg[data-role="user"]')
        assert users.last.locator(".nbstream-body").inner_text().strip() == question
        # Nothing stood over the chat meanwhile: JupyterLab's first-visit news prompt is off.
        assert page.get_by_text("official Jupyter news").count() == 0
    except BaseException:
        page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        log = tmp_path / "home" / "nbstream-demo" / ".nbstream-demo.log"
        print(f"screenshot: {tmp_path / 'failure.png'}; JupyterLab's log: {log}")
        raise
    finally:
        context.close()
    unexpected = [e for e in errors if not any(k in e for k in KNOWN_PAGE_ERRORS)]
    assert not unexpected, unexpected
    assert process.stop() == 0


# -- the tutorials the package ships ---------------------------------------------------


def shipped_tutorials() -> dict[str, str]:
    """What the wheel's build hook (hatch_build.py) ships: source path -> wheel path."""
    hatch_build = pytest.importorskip("hatch_build")  # needs hatchling (the test extra)
    shipped: dict[str, str] = hatch_build.tutorials(ROOT)
    return shipped


def test_the_wheel_ships_every_tutorial_where_the_demo_looks() -> None:
    # scripts/test.sh builds the real wheel and checks these are in it.
    assert shipped_tutorials() == {
        str(p): f"nbstream/tutorials/{p.name}" for p in sorted(NOTEBOOKS.glob("*.ipynb"))
    }
    assert (NOTEBOOKS / demo.START_NOTEBOOK).is_file()


def test_an_installed_package_copies_its_own_tutorials(tmp_path: Path) -> None:
    """The package laid out as the wheel installs it (no notebooks/ next to it)."""
    site = tmp_path / "site"
    shutil.copytree(
        ROOT / "nbstream", site / "nbstream", ignore=shutil.ignore_patterns("__pycache__")
    )
    for source, target in shipped_tutorials().items():
        (site / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, site / target)
    folder = tmp_path / "demo"
    code = (
        "import pathlib, sys\nfrom nbstream import demo\n"
        "print(demo.tutorials_source())\n"
        "print(demo.prepare_directory(pathlib.Path(sys.argv[1])))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run(
        [sys.executable, "-c", code, str(folder)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines()[0] == str(site / "nbstream" / "tutorials")
    for tutorial in NOTEBOOKS.glob("*.ipynb"):
        assert (folder / tutorial.name).read_bytes() == tutorial.read_bytes()


def test_a_checkout_serves_its_notebooks_folder() -> None:
    assert demo.tutorials_source() == NOTEBOOKS


def test_copies_keep_the_users_edits_unless_reset(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "demo"
    notes = demo.prepare_directory(folder)
    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert sorted(p.name for p in folder.glob("*.ipynb")) == names
    assert notes == [f"copied {len(names)} tutorials into {folder}"]

    # Unchanged copies: nothing to say. An edited one is kept, and the note says so.
    assert demo.prepare_directory(folder) == []
    edited = folder / demo.START_NOTEBOOK
    edited.write_text("{}")
    (folder / names[0]).unlink()
    notes = demo.prepare_directory(folder)
    assert notes[0] == f"copied 1 tutorial into {folder}"
    assert "kept your copies of 02-chat.ipynb" in notes[1]
    assert "--reset" in notes[1]
    assert edited.read_text() == "{}"

    demo.prepare_directory(folder, reset=True)
    assert edited.read_bytes() == (NOTEBOOKS / demo.START_NOTEBOOK).read_bytes()
    # The checkout's own folder: nothing is copied onto itself.
    assert demo.prepare_directory(NOTEBOOKS, reset=True) == []


# -- (d): bad arguments and missing pieces: a clear error, no JupyterLab started ---------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--port", "70000"], "must be a port number in 0..65535, got '70000'"),
        (["demo", "--port", "eighty"], "must be a port number in 0..65535, got 'eighty'"),
        (["demo", "--browser"], "unrecognized arguments: --browser"),
        (["demo", "--dir"], "expected one argument"),
    ],
)
def test_bad_arguments_are_refused_with_usage(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "usage: nbstream demo" in err


def test_a_busy_port_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["demo", "--no-browser", "--port", str(port), "--dir", str(tmp_path)])
    assert code == 1
    err = capsys.readouterr().err
    assert f"nbstream demo: cannot use port {port} on 127.0.0.1" in err
    assert "--port" in err


def test_a_file_is_not_a_demo_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("mine")
    assert main(["demo", "--no-browser", "--dir", str(file)]) == 1
    assert f"{file} is not a folder; choose another with --dir" in capsys.readouterr().err
    assert file.read_text() == "mine"


def test_without_jupyterlab_it_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "jupyterlab", None)  # as if not installed
    assert main(["demo", "--dir", str(tmp_path / "demo")]) == 1
    err = capsys.readouterr().err
    assert "JupyterLab is not installed" in err
    assert 'pip install "nbstream[lab]"' in err
    assert not (tmp_path / "demo").exists()  # nothing done before the check


def test_a_python3_kernel_of_another_python_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user's own ``python3`` kernel spec that cannot import nbstream gets a warning."""
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "0")  # the user's specs first
    spec = tmp_path / "kernels" / "python3"
    spec.mkdir(parents=True)

    def kernel(executable: str) -> None:
        argv = [executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        (spec / "kernel.json").write_text(
            json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"})
        )

    other = tmp_path / "other-python"
    other.write_text("#!/bin/sh\nexit 1\n")  # a Python without nbstream
    other.chmod(0o755)
    kernel(str(other))
    warning = demo.kernel_warning()
    assert warning is not None
    assert f"runs {other}, which cannot import nbstream" in warning
    assert str(spec) in warning

    for fine in ("python", sys.executable):  # what jupyter_client runs as this Python
        kernel(fine)
        assert demo.kernel_warning() is None


def test_the_demos_lab_settings_add_the_news_default_and_keep_the_environments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab_dir = tmp_path / "lab"
    (lab_dir / "settings").mkdir(parents=True)
    page_config = {"disabledExtensions": {"some-extension": True}}
    (lab_dir / "settings" / "page_config.json").write_text(json.dumps(page_config))
    environment = {
        "@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
        "@jupyterlab/apputils-extension:notification": {"checkForUpdates": False},
    }
    (lab_dir / "settings" / "overrides.json").write_text(json.dumps(environment))
    monkeypatch.setenv("JUPYTERLAB_DIR", str(lab_dir))
    folder = tmp_path / "demo"
    folder.mkdir()

    settings = demo.Lab(folder, free_port(), open_browser=False).app_settings()

    assert (
        f"--LabApp.app_settings_dir={settings}"
        in demo.Lab(folder, free_port(), open_browser=False).command()
    )
    assert json.loads((settings / "page_config.json").read_text()) == page_config
    assert json.loads((settings / "overrides.json").read_text()) == {
        "@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
        "@jupyterlab/apputils-extension:notification": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    # The environment's own folder is left as it was.
    assert json.loads((lab_dir / "settings" / "overrides.json").read_text()) == environment
