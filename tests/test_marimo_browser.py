"""marimo in Debian's Chromium: StreamView and Chat work in ``mo.ui.anywidget``.

marimo runs anywidgets without Jupyter: its own comm in the kernel, and in the browser
its own model, whose ``set`` takes only ``(key, value)`` (Backbone's object form, which
the delivery protocol uses in Jupyter, is not there), with each widget in a shadow root.
``marimo run`` serves the example app notebooks/marimo/quickstart.py; each page load is
a fresh session that runs every cell. Playwright's CSS selectors pierce open shadow
roots, ``document.querySelector`` does not: the checks here go through locators.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.app_servers import AppServer, ask_in_chat, local_model_text, marimo_app, watched_page
from tests.browser_harness import CHROMIUM
from tests.test_browser import brightness, visible_letters

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium"),
]

APP = Path(__file__).parent.parent / "notebooks" / "marimo" / "quickstart.py"

# Each change to a view, recorded from inside its shadow root (a MutationObserver on
# the document does not see in there): did the text grow with the cursor showing.
RECORD = """el => {
  const states = (window.__views = window.__views || []);
  const record = () => {
    const body = el.querySelector('.nbstream-body');
    states.push({
      streaming: el.dataset.streaming,
      cursor: !!el.querySelector('.nbstream-cursor'),
      letters: body ? body.textContent.replace(/[^\\p{L}\\p{N}]+/gu, '').length : 0,
    });
  };
  record();
  new MutationObserver(record).observe(el, {
    subtree: true, childList: true, characterData: true, attributes: true,
  });
}"""


@pytest.fixture(scope="module")
def marimo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    pytest.importorskip("marimo")
    server = marimo_app(APP, tmp_path_factory.mktemp("marimo"))
    yield server
    server.stop()


@pytest.fixture
def page(browser: Any, marimo: AppServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    with watched_page(browser, marimo, request.node.name, request) as pg:
        yield pg


def app_question() -> str:
    found = re.search(r'question = "(.+?)"', APP.read_text())
    assert found, 'the app defines `question = "..."`'
    return found.group(1)


def test_the_answer_streams_into_a_stream_view_in_marimo(page: Any, marimo: AppServer) -> None:
    with ThreadPoolExecutor(1) as pool:  # the model answers here while the app runs there
        asked = pool.submit(local_model_text, [{"role": "user", "content": app_question()}])
        page.goto(marimo.url)
        # The chat's root is a `.nbstream-view` too.
        view = page.locator(".nbstream-view:not(.nbstream-chat)")
        view.wait_for(timeout=60_000)
        view.evaluate(RECORD)
        # Mid-stream: the text so far, with the cursor after it.
        streaming = view.and_(page.locator('[data-streaming="true"]'))
        streaming.locator(".nbstream-cursor").wait_for(timeout=30_000)
        view.and_(page.locator('[data-streaming="false"]')).wait_for(timeout=60_000)
        expected, error = asked.result()
    assert error is None

    assert visible_letters(view.locator(".nbstream-body").inner_text()) == visible_letters(expected)
    assert view.locator(".nbstream-cursor").count() == 0
    assert view.locator(".nbstream-error").count() == 0
    # Lists keep their markers under marimo's CSS reset (a numbered list, its numbers).
    marker = view.locator("ul").first.evaluate("el => getComputedStyle(el).listStyleType")
    assert marker == "disc"
    # The cell after the stream shows what `view.stream()` returned: the same text.
    page.get_by_text(f"The answer has {len(expected)} characters.").wait_for(timeout=30_000)
    states = page.evaluate("() => window.__views")
    grew = [s["letters"] for s in states if s["streaming"] == "true" and s["cursor"]]
    assert len(set(grew)) >= 5, f"the text did not visibly grow: {grew}"
    assert grew == sorted(grew), "the text shrank while streaming"


def test_the_chat_answers_a_message_typed_in_marimo(page: Any, marimo: AppServer) -> None:
    question = "How do I use async and await?"
    with ThreadPoolExecutor(1) as pool:
        asked = pool.submit(local_model_text, [{"role": "user", "content": question}])
        page.goto(marimo.url)
        page.locator(".nbstream-chat-input").wait_for(timeout=60_000)
        expected, error = asked.result()
    assert error is None
    ask_in_chat(page, question, expected)


# A view streamed to its end in the cell that shows it: marimo runs the widget's
# `initialize` only when the cell's output appears, after every message of the stream.
FINISHED_APP = """import marimo

app = marimo.App()


@app.cell
def _():
    import marimo as mo
    import nbstream

    view = nbstream.StreamView()
    view.stream(["A *finished* answer, ", "with a [link](https://example.com)."])
    mo.ui.anywidget(view)
    return
"""


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_stream_finished_before_it_shows_appears_in_marimos_theme(
    browser: Any, tmp_path: Path, theme: str
) -> None:
    pytest.importorskip("marimo")
    home = tmp_path / "home"
    (home / "config" / "marimo").mkdir(parents=True)
    (home / "config" / "marimo" / "marimo.toml").write_text(f'[display]\ntheme = "{theme}"\n')
    app = tmp_path / "finished.py"
    app.write_text(FINISHED_APP)
    server = marimo_app(app, home)
    # The browser's own preference is the opposite, so the colours must come from marimo.
    scheme = "light" if theme == "dark" else "dark"
    try:
        with watched_page(browser, server, f"finished-{theme}", color_scheme=scheme) as page:
            page.goto(server.url)
            view = page.locator(".nbstream-view")
            view.and_(page.locator('[data-streaming="false"]')).wait_for(timeout=60_000)
            body = view.locator(".nbstream-body")
            assert body.inner_text().strip() == "A finished answer, with a link."
            assert view.locator(".nbstream-waiting").count() == 0
            colours = view.evaluate("""v => {
              const host = getComputedStyle(v.getRootNode().host);
              const probe = (value) => {
                const el = document.createElement('span');
                el.style.color = value;
                v.append(el);
                const c = getComputedStyle(el).color;
                el.remove();
                return c;
              };
              return {
                text: getComputedStyle(v.querySelector('p')).color,
                link: getComputedStyle(v.querySelector('a')).color,
                foreground: probe(host.getPropertyValue('--foreground')),
                marimoLink: probe(host.getPropertyValue('--link')),
              };
            }""")
            assert colours["text"] == colours["foreground"], colours
            assert colours["link"] == colours["marimoLink"], colours
            assert (brightness(colours["text"]) > 128) == (theme == "dark"), colours
    finally:
        server.stop()
