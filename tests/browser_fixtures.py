"""Browser fixtures shared by the browser tests: Chromium, a JupyterLab server, a page.

Registered as a plugin in ``conftest.py``; the page fails its test on unexpected page
errors or dialogs, and leaves a screenshot and the server log tail when a test fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser_harness import CHROMIUM, CHROMIUM_ARGS, KNOWN_PAGE_ERRORS, JupyterServer

# Recorded in the page before any widget exists: every change to every StreamView root,
# so the test can look back at the stream (did the cursor show, did the text only grow).
RECORDER = """
window.__nbstream = [];
new MutationObserver(() => {
  document.querySelectorAll('.nbstream-view').forEach((el, i) => {
    const body = el.querySelector('.nbstream-body');
    window.__nbstream.push({
      view: i,
      streaming: el.getAttribute('data-streaming'),
      cursor: !!el.querySelector('.nbstream-cursor'),
      // Letters and digits only: markup that completes (`**b**` becoming bold) shortens
      // textContent while streaming, but never removes letters.
      letters: body ? body.textContent.replace(/[^\\p{L}\\p{N}]+/gu, '').length : 0,
      t: performance.now(),
    });
  });
}).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright_sync = pytest.importorskip("playwright.sync_api")
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        assert "Chrom" in b.browser_type.name.title() or b.version
        yield b
        b.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    root = tmp_path_factory.mktemp("lab") / "root"
    root.mkdir()
    server = JupyterServer(root, "lab")
    yield server
    server.stop()


@pytest.fixture
def lab_notebooks(lab: JupyterServer) -> Iterator[JupyterServer]:
    """The shared server, with every kernel shut down after each test."""
    yield lab
    lab.shutdown_kernels()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest, lab: JupyterServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.add_init_script(RECORDER)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    yield pg
    call = getattr(request.node, "rep_call", None)
    if call is not None and call.failed:
        # Leave enough behind to explain a failure seen only in CI.
        shot = lab.root.parent / f"failure-{request.node.name}.png"
        pg.screenshot(path=str(shot), full_page=True)
        log = Path(lab.log.name).read_text(errors="replace").splitlines()[-40:]
        print(f"screenshot: {shot}\npage errors: {errors}\nserver log tail:\n" + "\n".join(log))
    context.close()
    unexpected = [e for e in errors if not any(k in e for k in KNOWN_PAGE_ERRORS)]
    assert not unexpected, unexpected
    assert not dialogs, f"a script ran and opened a dialog: {dialogs}"


def open_and_run_all(page: Any, server: JupyterServer, name: str) -> None:
    page.goto(server.url(name))
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    server.wait_kernel_connected()
    # The server's kernel state is not enough: run-all acts on the current notebook panel
    # and is silently dropped until that panel's own session is connected and idle.
    page.wait_for_function(
        """async () => {
          const panel = window.jupyterapp?.shell?.currentWidget;
          if (!panel?.sessionContext) return false;
          await panel.sessionContext.ready;
          const kernel = panel.sessionContext.session?.kernel;
          return kernel?.connectionStatus === "connected" && kernel.status === "idle";
        }""",
        timeout=60_000,
    )
    # Not awaited: the command's promise settles only when every cell has run.
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                   .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))""",
        timeout=15_000,
    )


def wait_all_cells_done(page: Any, timeout_ms: int = 90_000) -> None:
    page.wait_for_function(
        """() => {
          const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
          return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""",
        timeout=timeout_ms,
    )
