"""A real JupyterLab / Notebook 7 server on 127.0.0.1 and Debian's Chromium via Playwright.

Recipe from shared/TESTING.md: an isolated server (own config/data/runtime dirs, no
token from the environment, news and update checks off), readiness by polling
/api/status, teardown by deleting kernels and signalling the server's process group.
Never `playwright install`: Chromium comes from Debian at /usr/bin/chromium.
"""

from __future__ import annotations

import contextlib
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
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Notebook 7.6 logs this on every page load, widgets or not (shared/TESTING.md).
KNOWN_PAGE_ERRORS = ("Cannot read properties of undefined (reading 'schema')",)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class JupyterServer:
    """``jupyter lab`` or ``jupyter notebook`` serving ``root`` on a free loopback port."""

    def __init__(self, root: Path, app: str = "lab") -> None:
        self.root = root
        self.app = app
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        home = root.parent / f".jupyter-{app}"
        dirs = {
            name: home / name
            for name in ("config", "data", "runtime", "ipython", "settings", "workspaces")
        }
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        quiet = (
            "c.LabApp.news_url = None\n"
            "c.LabApp.check_for_updates_class = 'jupyterlab.NeverCheckForUpdate'\n"
        )
        # LabApp reads its own config file; the server's covers Notebook 7.
        for config in ("jupyter_server_config.py", "jupyter_lab_config.py"):
            (dirs["config"] / config).write_text(quiet)
        # User settings: every cell stays in the DOM (JupyterLab 4 hides off-screen cells
        # by default, which would hide the streams under test), no news prompt, and
        # widget state saved in notebooks.
        settings = {
            "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
            # Save widget state with the notebook, as users who want saved chats do.
            "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings": {"saveState": True},
            "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
                "fetchNews": "false",
                "checkForUpdates": False,
            },
        }
        for rel, value in settings.items():
            path = dirs["settings"] / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        self.env = {k: v for k, v in os.environ.items() if k != "JUPYTER_TOKEN"}
        self.env.update(
            JUPYTER_CONFIG_DIR=str(dirs["config"]),
            JUPYTER_DATA_DIR=str(dirs["data"]),
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
            IPYTHONDIR=str(dirs["ipython"]),
            JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
            JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
        )
        self.log = (home / "server.log").open("wb")
        cmd = [
            sys.executable,
            "-m",
            "jupyter",
            app,
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.terminals_enabled=False",
            "--expose-app-in-browser",
        ]
        self.proc = subprocess.Popen(
            cmd, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._wait_ready()

    def api(self, path: str, method: str = "GET") -> Any:
        req = urllib.request.Request(
            f"{self.base}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter {self.app} exited: see {self.log.name}")
            try:
                self.api("/api/status")
                return
            except OSError:
                time.sleep(0.3)
        raise TimeoutError(f"jupyter {self.app} not ready: see {self.log.name}")

    def url(self, notebook: str) -> str:
        if self.app == "lab":
            # `reset`: start from an empty workspace, not the tabs of the previous test.
            return f"{self.base}/lab/tree/{notebook}?reset&token={self.token}"
        return f"{self.base}/notebooks/{notebook}?token={self.token}"

    def kernels(self) -> list[dict[str, Any]]:
        kernels: list[dict[str, Any]] = self.api("/api/kernels")
        return kernels

    def wait_kernel_connected(self, timeout: float = 60) -> None:
        """Wait until a kernel is idle with a browser connected to it.

        The page's execution indicator says "idle" before any kernel exists, and a
        command issued then is lost; the server's view of the kernel is the reliable one.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                kernels = self.kernels()
            except urllib.error.HTTPError as exc:
                # jupyter_server answers 500 while a kernel is half-started
                # (its `last_activity` is still None); that is transient.
                if exc.code < 500:
                    raise
                kernels = []
            if any(k["execution_state"] == "idle" and k["connections"] >= 1 for k in kernels):
                return
            time.sleep(0.2)
        raise TimeoutError(f"no kernel connected within {timeout} s: {self.kernels()}")

    def shutdown_kernels(self) -> None:
        """Delete every kernel (and so every session's kernel) on the server."""
        with contextlib.suppress(OSError):
            for kernel in self.kernels():
                self.api(f"/api/kernels/{kernel['id']}", method="DELETE")
        # Wait until they are gone: listing kernels mid-shutdown can fail (HTTP 500).
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if not self.kernels():
                    return
            time.sleep(0.2)

    def stop(self) -> None:
        self.shutdown_kernels()
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def copy_notebook(src: Path, root: Path) -> str:
    shutil.copy(src, root / src.name)
    return src.name


def write_notebook(root: Path, name: str, cells: list[str]) -> str:
    """A notebook of code cells, for tests that need their own."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, root / name)
    return name
