"""``%%chat`` in JupyterLab, in Chromium: the answer streams into the cell's output, and a
cell run again takes its own turn's place (JupyterLab sends each cell's id)."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from nbstream.local.model import answer
from tests.browser_fixtures import open_and_run_all, wait_all_cells_done
from tests.browser_harness import CHROMIUM, JupyterServer, write_notebook
from tests.test_browser import visible_letters
from tests.test_magics import Q1, assistant, user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium"),
]

Q2 = "How does streaming markdown work?"


def test_chat_cells_stream_their_answers_and_a_rerun_replaces_its_turn(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    lab = lab_notebooks
    name = write_notebook(
        lab.root,
        "magics.ipynb",
        [
            "%load_ext nbstream",
            f"%%chat\n{Q1}",
            f"%%chat\n{Q2}",
            "import nbstream.magics\nprint('turns:', len(nbstream.magics.session().history) // 2)",
        ],
    )
    open_and_run_all(page, lab, name)
    wait_all_cells_done(page)
    first = answer([user(Q1)])
    second = answer([user(Q1), assistant(first), user(Q2)])
    views = page.locator(".nbstream-view")
    assert views.count() == 2
    for view, expected in zip(views.all(), [first, second], strict=True):
        assert view.get_attribute("data-streaming") == "false"
        shown = view.locator(".nbstream-body").inner_text()
        assert visible_letters(shown) == visible_letters(expected)
    # Each answer streamed: the recorder saw the cursor with a part of the text.
    states = page.evaluate("() => window.__nbstream")
    assert any(s["cursor"] and s["letters"] > 0 for s in states)
    cells = page.locator(".jp-Notebook .jp-Cell")
    assert "turns: 2" in cells.nth(3).locator(".jp-OutputArea").inner_text()

    # Run the second %%chat cell again, then the count: still two turns, and the rerun
    # answered the same conversation as before (so the same text).
    for index in (2, 3):
        prompt = cells.nth(index).locator(".jp-InputPrompt")
        before = prompt.inner_text()
        prompt.click()
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-cell')")
        # Done when its execution count has moved on (not merely "not running yet").
        page.wait_for_function(
            """([el, before]) => /\\[\\d+\\]/.test(el.textContent) && el.textContent !== before""",
            arg=[prompt.element_handle(), before],
            timeout=60_000,
        )
    assert "turns: 2" in cells.nth(3).locator(".jp-OutputArea").inner_text()
    rerun = cells.nth(2).locator(".nbstream-view")
    rerun.and_(page.locator('[data-streaming="false"]')).wait_for(timeout=30_000)
    assert visible_letters(rerun.locator(".nbstream-body").inner_text()) == visible_letters(second)
