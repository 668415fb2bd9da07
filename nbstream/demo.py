"""``nbstream demo``: JupyterLab on 127.0.0.1, opened on the chat tutorial.

The tutorials ship inside the wheel (``nbstream/tutorials``, copied there from the
repository's ``notebooks/`` at build time; a source checkout uses ``notebooks/`` itself).
They are copied into a folder of the user's (default ``~/nbstream-demo``), so running and
editing them never writes into site-packages.

JupyterLab runs as a child process in a session of its own. Ctrl-C in the terminal then
reaches only this process, which stops JupyterLab (and so its kernels) with SIGTERM,
rather than JupyterLab asking "Shutdown this Jupyter server?" half-way through a Ctrl-C.

The user's Jupyter configuration is left alone: what the demo needs is passed on
JupyterLab's command line and in its environment, for this run only.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

__all__ = [
    "START_NOTEBOOK",
    "DemoError",
    "Lab",
    "choose_port",
    "default_directory",
    "kernel_warning",
    "prepare_directory",
    "require_jupyterlab",
    "tutorials_source",
]

# The issue asks for "a working chat": open the chat tutorial, not the quickstart.
START_NOTEBOOK = "02-chat.ipynb"
# A workspace of the demo's own, so the demo's tabs never replace the user's default
# JupyterLab workspace (and that workspace's tabs never open in the demo).
WORKSPACE = "nbstream-demo"
# Hidden (a leading dot), so JupyterLab's file browser does not list it.
LOG_NAME = ".nbstream-demo.log"
# JupyterLab's app settings for the demo (see JupyterLab.app_settings); a dot folder, so
# the file browser does not show it.
SETTINGS_NAME = ".nbstream-demo-settings"
# Setting defaults the demo adds to the environment's own: no "Would you like to get
# notified about official Jupyter news?" prompt over the chat on a first visit (the news
# feed itself is off, news_url=None, but the prompt is not). A user's own setting wins.
SETTING_OVERRIDES = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}}
READY_TIMEOUT = 120.0  # a first start on a slow machine takes a while
STOP_TIMEOUT = 30.0  # JupyterLab shuts its kernels down before it exits
# Never ask for loopback URLs through a proxy: a machine with HTTP(S)_PROXY set and no
# NO_PROXY for 127.0.0.1 would otherwise send the token to the proxy and fail.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class DemoError(Exception):
    """The demo cannot start; the message says why and what to do."""


def require_jupyterlab() -> None:
    """Raise :class:`DemoError` naming the extra to install if JupyterLab is missing."""
    if importlib.util.find_spec("jupyterlab") is None:
        raise DemoError(
            "JupyterLab is not installed in this Python environment "
            f"({sys.executable}). Install it with nbstream's `lab` extra:\n"
            '    pip install "nbstream[lab]"'
        )


def default_directory() -> Path:
    """Where the tutorials are copied unless ``--dir`` says otherwise."""
    return Path.home() / "nbstream-demo"


def tutorials_source() -> Path:
    """The folder holding the tutorials this installation of nbstream ships."""
    package = Path(__file__).resolve().parent
    # A wheel install has package data; an editable install or checkout has notebooks/.
    for candidate in (package / "tutorials", package.parent / "notebooks"):
        if (candidate / START_NOTEBOOK).is_file():
            return candidate
    raise DemoError(
        f"the tutorials are missing from this installation of nbstream ({package}); "
        'reinstall it: pip install --force-reinstall "nbstream[lab]"'
    )


def prepare_directory(directory: Path, *, reset: bool = False) -> list[str]:
    """Copy the tutorials into ``directory`` (created if need be); return notes for the user.

    A tutorial already there that differs from this version's is kept, because it holds
    the user's edits and outputs, unless ``reset`` is true.
    """
    source = tutorials_source()
    if directory.exists() and not directory.is_dir():
        raise DemoError(f"{directory} is not a folder; choose another with --dir")
    copied: list[str] = []
    kept: list[str] = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for tutorial in sorted(source.glob("*.ipynb")):
            target = directory / tutorial.name
            if target.exists():
                # --dir pointing at the checkout's own notebooks/: nothing to copy.
                if target.samefile(tutorial):
                    continue
                if not reset:
                    if target.read_bytes() != tutorial.read_bytes():
                        kept.append(tutorial.name)
                    continue
            # copyfile, not copy: the copy must be writable even when site-packages is not.
            shutil.copyfile(tutorial, target)
            copied.append(tutorial.name)
    except OSError as exc:
        raise DemoError(f"cannot copy the tutorials into {directory}: {exc}") from exc
    notes = []
    if copied:
        count = f"{len(copied)} tutorial{'' if len(copied) == 1 else 's'}"
        notes.append(f"copied {count} into {directory}")
    if kept:
        notes.append(
            f"kept your copies of {', '.join(kept)} in {directory}, which differ from this"
            " version's; --reset replaces them"
        )
    return notes


def choose_port(port: int) -> int:
    """``port`` if it is free on 127.0.0.1, or a free port if it is 0.

    Checked here so that a busy port is a clear error rather than JupyterLab's traceback.
    """
    with socket.socket() as sock:
        if sys.platform != "win32":
            # As tornado binds: a port whose old connections linger in TIME_WAIT is free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise DemoError(
                f"cannot use port {port} on 127.0.0.1 ({exc.strerror}); choose another"
                " with --port, or leave --port out for a free one"
            ) from exc
        chosen: int = sock.getsockname()[1]
        return chosen


def kernel_warning() -> str | None:
    """Why the tutorials' ``python3`` kernel may not import nbstream, or None if it will.

    A ``python3`` kernel spec the user installed for another Python wins over this
    environment's, and the tutorials would then fail at ``import nbstream``.
    """
    # Imported here: jupyter_client comes with the `lab` extra, checked for before this.
    from jupyter_client.kernelspec import (  # noqa: PLC0415
        KernelSpecManager,
        NoSuchKernel,
    )

    try:
        spec = KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        return 'there is no python3 kernel to run the tutorials: pip install "nbstream[lab]"'
    executable = str(spec.argv[0]) if spec.argv else ""
    # jupyter_client runs a spec's bare "python" with the server's own interpreter.
    major, minor = sys.version_info[:2]
    if executable in {"python", f"python{major}", f"python{major}.{minor}"}:
        return None
    found = shutil.which(executable) or executable
    if os.path.abspath(found) == os.path.abspath(sys.executable):
        return None
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        probe = subprocess.run(
            [found, "-c", "import nbstream"], capture_output=True, timeout=60, check=False
        )
        if probe.returncode == 0:
            return None
    return (
        f"the tutorials' python3 kernel ({spec.resource_dir}) runs {executable}, which"
        f" cannot import nbstream; install nbstream for it ({found} -m pip install nbstream)"
        " or remove that kernel spec"
    )


class Lab:
    """JupyterLab serving ``directory`` on ``127.0.0.1:port``, behind a fresh token.

    A context manager: leaving it stops JupyterLab. ``start``/``stop`` are idempotent.
    """

    def __init__(self, directory: Path, port: int, *, open_browser: bool) -> None:
        self.directory = directory
        self.port = port
        self.open_browser = open_browser
        self.token = secrets.token_hex(24)
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = directory / LOG_NAME
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def start_path(self) -> str:
        """The path JupyterLab opens (and the printed URL points at): the chat tutorial."""
        return f"/lab/workspaces/{WORKSPACE}/tree/{START_NOTEBOOK}"

    @property
    def url(self) -> str:
        """The URL to open, token included."""
        return f"{self.base_url}{self.start_path}?token={self.token}"

    def command(self) -> list[str]:
        """The JupyterLab command line, run with this very interpreter."""
        command = [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--ServerApp.ip=127.0.0.1",  # this machine only
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",  # the port checked and printed, or fail
            f"--ServerApp.root_dir={self.directory}",
            f"--LabApp.default_url={self.start_path}",
            f"--ServerApp.open_browser={self.open_browser}",
            # Works offline and stays quiet: no news feed, no update check against PyPI.
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            f"--LabApp.app_settings_dir={self.app_settings()}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # containers and CI often run as root
        return command

    def app_settings(self) -> Path:
        """A copy of the environment's JupyterLab app settings, plus SETTING_OVERRIDES.

        The environment's folder (page_config.json, overrides.json…) is copied rather
        than changed: the demo must not change JupyterLab for anything else.
        """
        lab_dir = os.environ.get("JUPYTERLAB_DIR") or str(
            Path(sys.prefix, "share", "jupyter", "lab")
        )
        original = Path(lab_dir) / "settings"
        target = self.directory / SETTINGS_NAME
        target.mkdir(exist_ok=True)
        for path in original.glob("*.json") if original.is_dir() else []:
            shutil.copyfile(path, target / path.name)
        overrides_path = target / "overrides.json"
        try:
            overrides = json.loads(overrides_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            overrides = {}
        if not isinstance(overrides, dict):
            overrides = {}
        for plugin, values in SETTING_OVERRIDES.items():
            # The environment's own overrides win: the demo only fills in what is unset.
            overrides[plugin] = {**values, **overrides.get(plugin, {})}
        overrides_path.write_text(json.dumps(overrides, indent=2), encoding="utf-8")
        return target

    def start(self) -> None:
        """Start JupyterLab; its log goes to :attr:`log_path`."""
        if self._process is not None:
            return
        env = dict(os.environ)
        # The token goes in the environment, not on the command line, where every user
        # of the machine could read it (ps). JUPYTER_TOKEN wins over JUPYTER_TOKEN_FILE.
        env["JUPYTER_TOKEN"] = self.token
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self.command(),
                cwd=self.directory,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: see the module docstring.
                start_new_session=True,
            )

    def status(self) -> int | None:
        """The HTTP status of ``GET /api/status`` with the token; None if nothing answers."""
        request = urllib.request.Request(
            f"{self.base_url}/api/status", headers={"Authorization": f"token {self.token}"}
        )
        try:
            with _OPENER.open(request, timeout=5) as response:
                code: int = response.status
                return code
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return None

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Return once JupyterLab answers with the token; raise :class:`DemoError` if not."""
        process = self._require_process()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise DemoError(
                    f"JupyterLab exited with code {process.returncode} before it was ready."
                    f" The end of its log ({self.log_path}):\n{self.log_tail()}"
                )
            code = self.status()
            if code == 200:
                return
            if code in (401, 403):
                raise DemoError(
                    "JupyterLab refused the demo's token: your Jupyter configuration sets"
                    " a token of its own (c.IdentityProvider.token). Remove it, or start"
                    " JupyterLab yourself in the tutorials folder."
                )
            time.sleep(0.25)
        raise DemoError(
            f"JupyterLab did not answer within {timeout:g} s. The end of its log"
            f" ({self.log_path}):\n{self.log_tail()}"
        )

    def wait(self) -> int:
        """Block until JupyterLab exits by itself (File > Shut Down); its exit code."""
        return self._require_process().wait()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop JupyterLab: SIGTERM to its process group, SIGKILL after ``timeout``."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        _end_group(process, force=False)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        finally:
            # Timed out, or interrupted by a second Ctrl-C: the user wants it gone now.
            if process.poll() is None:
                _end_group(process, force=True)
                process.wait()

    def log_tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of JupyterLab's log, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"

    def _require_process(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise RuntimeError("JupyterLab has not been started")
        return self._process

    def __enter__(self) -> Lab:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _end_group(process: subprocess.Popen[bytes], *, force: bool) -> None:
    """SIGTERM (SIGKILL if ``force``) to the process group ``process`` leads."""
    if sys.platform == "win32":  # no process groups to signal there
        process.terminate()
        return
    with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
        os.killpg(process.pid, signal.SIGKILL if force else signal.SIGTERM)
