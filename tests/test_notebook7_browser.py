"""Jupyter Notebook 7 in Debian's Chromium: StreamView and Chat work there as in JupyterLab.

Notebook 7 is built from JupyterLab's components, but its shell, widget manager wiring
and page differ; this runs the user-facing paths once there: the quickstart streams
with a cursor and ends exact, and the chat answers, stops and shows its stats.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbstream.local.model import answer
from tests.browser_fixtures import RECORDER, open_and_run_all, wait_all_cells_done
from tests.browser_harness import (
    CHROMIUM,
    KNOWN_PAGE_ERRORS,
    JupyterServer,
    copy_notebook,
    write_notebook,
)
from tests.test_browser import visible_letters
from tests.test_chat_browser import ask, assistant, wait_done

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium"),
]

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    root = tmp_path_factory.mktemp("nb7") / "root"
    root.mkdir()
    server = JupyterServer(root, "notebook")
    yield server
    server.stop()


@pytest.fixture
def page(browser: Any, notebook7: JupyterServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.add_init_script(RECORDER)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    notebook7.shutdown_kernels()
    unexpected = [e for e in errors if not any(k in e for k in KNOWN_PAGE_ERRORS)]
    assert not unexpected, unexpected


def test_the_quickstart_streams_in_notebook_7(page: Any, notebook7: JupyterServer) -> None:
    name = copy_notebook(NOTEBOOKS / "01-quickstart.ipynb", notebook7.root)
    source = (NOTEBOOKS / "01-quickstart.ipynb").read_text()
    question = re.search(r'question = \\"(.+?)\\"', source)
    assert question, 'the quickstart defines `question = "..."`'
    expected = answer([{"role": "user", "content": question.group(1)}])

    open_and_run_all(page, notebook7, name)
    page.wait_for_selector('.nbstream-view[data-streaming="true"] .nbstream-cursor', timeout=60_000)
    wait_all_cells_done(page)
    first = page.locator(".nbstream-view").first
    page.wait_for_function(
        "el => el.dataset.streaming === 'false'", arg=first.element_handle(), timeout=30_000
    )
    assert visible_letters(first.locator(".nbstream-body").inner_text()) == visible_letters(
        expected
    )
    assert first.locator(".nbstream-cursor").count() == 0
    states = page.evaluate("() => window.__nbstream")
    grew = {s["letters"] for s in states if s["view"] == 0 and s["streaming"] == "true"}
    assert len(grew) >= 5, f"the text did not visibly grow: {sorted(grew)}"


def test_the_chat_answers_and_stops_in_notebook_7(page: Any, notebook7: JupyterServer) -> None:
    name = write_notebook(
        notebook7.root,
        "chat.ipynb",
        [
            "from nbstream import Chat\n"
            "chat = Chat(stream_options={'include_usage': True},\n"
            "            extra_body={'nbstream': {'tokens_per_second': 40}})\n"
            "chat"
        ],
    )
    open_and_run_all(page, notebook7, name)
    page.wait_for_selector(".nbstream-chat", timeout=60_000)
    wait_all_cells_done(page)

    # Stop mid-answer: the partial answer stays, marked stopped.
    ask(page, "What is nbstream?")
    page.wait_for_function(
        """() => {
          const all = document.querySelectorAll('.nbstream-msg[data-role="assistant"]');
          const last = all[all.length - 1];
          return last && last.querySelector('.nbstream-body')?.textContent.length > 40;
        }""",
        timeout=20_000,
    )
    page.get_by_role("button", name="Stop answer").click()
    page.wait_for_selector(
        '.nbstream-msg[data-role="assistant"][data-status="stopped"]', timeout=2_000
    )
    stopped = assistant(page).locator(".nbstream-body").first.inner_text()
    full = answer([{"role": "user", "content": "What is nbstream?"}])
    assert visible_letters(full).startswith(visible_letters(stopped))

    # Regenerate: the whole answer, with its stats in the footer.
    page.get_by_role("button", name="Regenerate answer").click()
    page.wait_for_selector(
        '.nbstream-msg[data-role="assistant"][data-status="streaming"]', timeout=10_000
    )
    wait_done(page, timeout=60_000)
    last = assistant(page)
    assert last.get_attribute("data-status") == "done"
    shown = last.locator(".nbstream-body").first.evaluate(
        "el => { const c = el.cloneNode(true); c.querySelectorAll('button').forEach(b =>"
        " b.remove()); return c.textContent; }"
    )
    assert visible_letters(shown) == visible_letters(full)
    assert "tok" in last.locator(".nbstream-msg-footer").inner_text()


def test_a_headless_run_of_many_chat_cells_reopens_live_in_notebook_7(
    page: Any, notebook7: JupyterServer
) -> None:
    from tests.test_saved_notebooks import assert_reopened_live, run_headless_and_trust

    answers = run_headless_and_trust(notebook7, "many.ipynb", 10)
    page.goto(notebook7.url("many.ipynb"))
    assert_reopened_live(page, answers)
