"""Voilà in Debian's Chromium: the quickstart notebook as an app shows live StreamViews.

Voilà runs the whole notebook in a fresh kernel when the page is requested, sends the
page with the outputs, and only then does the browser's widget manager connect and
render the widgets from the kernel's state. So the reader sees each answer complete (no
streaming to watch), and it must be the live widget with the whole text, not the
static ``text/html`` copy that outputs also carry (nbstream/saved_output.py).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.app_servers import AppServer, ask_in_chat, local_model_text, voila_app, watched_page
from tests.browser_harness import CHROMIUM
from tests.test_browser import visible_letters

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium"),
]

QUICKSTART = Path(__file__).parent.parent / "notebooks" / "01-quickstart.ipynb"


@pytest.fixture(scope="module")
def voila(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    pytest.importorskip("voila")
    home = tmp_path_factory.mktemp("voila")
    notebook = home / "app" / QUICKSTART.name
    notebook.parent.mkdir()
    shutil.copy(QUICKSTART, notebook)
    server = voila_app(notebook, home)
    yield server
    server.stop()


@pytest.fixture
def page(browser: Any, voila: AppServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    with watched_page(browser, voila, request.node.name, request) as pg:
        yield pg


def expected_views() -> list[tuple[str, str | None]]:
    """What each StreamView of the quickstart shows, in order: (markdown, error or None).

    Read from the notebook's own cells, so the test follows the tutorial: each view
    streams either the local model's answer to a request (asked here, in-process) or
    the words of a generator.
    """
    cells = json.loads(QUICKSTART.read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    question = re.search(r'question = "(.+?)"', "\n".join(sources))
    assert question, 'the quickstart defines `question = "..."`'
    views: list[tuple[str, str | None]] = []
    for source in (s for s in sources if "StreamView()" in s):
        content = re.search(r'"content": (question|"(.+?)")', source)
        words = re.search(r'for word in "(.+?)"\.split\(" "\)', source)
        if content:
            text = question.group(1) if content.group(1) == "question" else content.group(2)
            fault = re.search(r'"fault": "(\w+)"', source)
            options = {"fault": fault.group(1)} if fault else None
            views.append(local_model_text([{"role": "user", "content": text}], options))
        else:
            assert words, f"a StreamView cell the test does not know: {source!r}"
            views.append(("".join(w + " " for w in words.group(1).split(" ")), None))
    return views


def test_the_quickstart_shows_its_answers_in_live_stream_views_in_voila(
    page: Any, voila: AppServer
) -> None:
    with ThreadPoolExecutor(1) as pool:  # the model answers here while Voilà runs there
        asked = pool.submit(expected_views)
        page.goto(voila.url, timeout=120_000)  # the page arrives once the notebook has run
        expected = asked.result()
    assert len(expected) == 4
    assert [error is not None for _, error in expected] == [False, False, False, True]
    views = page.locator(".nbstream-view")
    views.nth(len(expected) - 1).wait_for(timeout=60_000)
    assert views.count() == len(expected)
    # The live widgets, not the static copies the outputs carry for widget-less readers.
    assert page.locator(".nbstream-static").count() == 0

    for i, (text, error) in enumerate(expected):
        view = views.nth(i)
        assert view.get_attribute("data-streaming") == "false"
        shown = view.locator(".nbstream-body").inner_text()
        assert visible_letters(shown) == visible_letters(text), f"view {i}"
        assert view.locator(".nbstream-cursor").count() == 0
        if error is None:
            assert view.locator(".nbstream-error").count() == 0
        else:
            # The text that arrived stays, and the view says why the stream stopped.
            assert error in view.locator(".nbstream-error").inner_text()


@pytest.fixture(scope="module")
def chat_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """A chat app: one cell that shows a Chat with the local model."""
    pytest.importorskip("voila")
    import nbformat

    home = tmp_path_factory.mktemp("voila-chat")
    (home / "app").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from nbstream import Chat\nChat()")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook = home / "app" / "chat.ipynb"
    nbformat.write(nb, notebook)
    server = voila_app(notebook, home)
    yield server
    server.stop()


def test_a_chat_app_in_voila_streams_the_answer_to_a_typed_message(
    browser: Any, chat_app: AppServer
) -> None:
    # Voilà shows a finished notebook, but a Chat answers in the background, after the
    # notebook ran: in a Voilà app, the reader watches each answer stream.
    question = "How do I use async and await?"
    with watched_page(browser, chat_app, "chat") as page:
        with ThreadPoolExecutor(1) as pool:
            asked = pool.submit(local_model_text, [{"role": "user", "content": question}])
            page.goto(chat_app.url, timeout=120_000)
            page.locator(".nbstream-chat-input").wait_for(timeout=60_000)
            expected, error = asked.result()
        assert error is None
        ask_in_chat(page, question, expected)
