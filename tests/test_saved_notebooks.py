"""A notebook outlives its kernel: what a saved notebook shows, and where.

Each output that shows a widget also carries a static, sanitized ``text/html`` copy of
the final answer (nbstream/saved_output.py). It must reach the saved file when a
notebook is executed headless (nbclient, as ``jupyter nbconvert --execute`` does) and
when it is saved from JupyterLab; nbconvert's HTML must show it; an untrusted notebook
in JupyterLab must show it; and with widget state saved, a trusted notebook reopened
without a kernel shows the live widget itself.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import nbclient
import nbformat
import pytest
from nbconvert import HTMLExporter

from nbstream.local.model import answer
from tests.browser_harness import CHROMIUM, JupyterServer, write_notebook

QUESTION = "What is nbstream?"
HOSTILE = "Here: <script>window.__pwned = 1</script> <img src=x onerror='window.__pwned=2'>"
ANSWER_CELL = (
    "import nbstream.local\nfrom nbstream import StreamView, Chat\n"
    "client = nbstream.local.client(max_retries=0)\n"
    "view = StreamView()\ndisplay(view)\n"
    "fast = {'nbstream': {'tokens_per_second': 0, 'first_token_delay': 0}}\n"
    "text = view.stream(client.chat.completions.create(model=nbstream.local.MODEL,\n"
    f"    messages=[{{'role': 'user', 'content': {QUESTION!r}}}], stream=True,"
    " extra_body=fast))"
)
HOSTILE_CELL = (
    "hostile = StreamView()\ndisplay(hostile)\n"
    f"_ = hostile.stream([{HOSTILE[:9]!r}, {HOSTILE[9:40]!r}, {HOSTILE[40:]!r}])"
)
# A layout set after display reaches the page, and is saved with the view.
STYLED_CELL = (
    "from nbstream import StreamView\nstyled = StreamView()\ndisplay(styled)\n"
    "styled.layout.border = '3px solid rgb(200, 0, 0)'\n_ = styled.stream(['styled'])"
)
CHAT_CELL = f"chat = Chat(extra_body=fast)\ndisplay(chat)\nreply = chat.ask({QUESTION!r})"
EXPECTED = answer([{"role": "user", "content": QUESTION}])


def words(html_or_text: str) -> list[str]:
    """The words a reader sees, for comparing HTML with the markdown it came from."""
    text = re.sub(r"<[^>]+>", " ", html_or_text)
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", text)
    return re.findall(r"[A-Za-z]{4,}", text)


@pytest.fixture(scope="module")
def executed() -> nbformat.NotebookNode:
    """The notebook run headless, as `jupyter nbconvert --execute` runs it."""
    nb: nbformat.NotebookNode = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in (ANSWER_CELL, HOSTILE_CELL, CHAT_CELL)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    return nb


def widget_outputs(nb: nbformat.NotebookNode) -> list[dict[str, Any]]:
    return [
        output["data"]
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in output.get("data", {})
    ]


def test_headless_runs_save_the_final_answer_as_sanitized_html(
    executed: nbformat.NotebookNode,
) -> None:
    view, hostile, chat = widget_outputs(executed)
    # The copy came with the update at the end of the stream, not with the first display.
    assert words(view["text/html"]) == words(_markdown_words(EXPECTED))
    assert "<table>" in view["text/html"]
    assert "<script" not in hostile["text/html"]
    assert "<img" not in hostile["text/html"]
    assert "&lt;script&gt;" in hostile["text/html"]  # shown as the text it is
    assert "&lt;img" in hostile["text/html"]
    assert QUESTION in chat["text/html"]
    # The whole answer follows the question (and the role labels), in order.
    answer_words = words(_markdown_words(EXPECTED))
    chat_words = words(chat["text/html"])
    assert answer_words[0] in chat_words
    start = len(chat_words) - len(answer_words)
    assert chat_words[start:] == answer_words


def test_headless_runs_save_widget_state_holding_the_final_answer(
    executed: nbformat.NotebookNode,
) -> None:
    # nbclient saves widget state from the kernel's comm messages alone (no browser ran
    # the deltas), so the final state must have been sent as state, not only as `end`.
    state = executed.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    view, hostile, chat = (
        state[o["application/vnd.jupyter.widget-view+json"]["model_id"]]
        for o in widget_outputs(executed)
    )
    assert view["state"]["content"] == EXPECTED
    assert view["state"]["is_streaming"] is False
    # No Layout model per view (nbstream/bundle.py): 1.2 kB each, all nulls.
    assert "LayoutModel" not in {model["model_name"] for model in state.values()}
    assert view["state"]["layout"] is None
    assert view["state"]["error"] is None
    assert hostile["state"]["content"] == HOSTILE
    assert hostile["state"]["is_streaming"] is False
    turns = chat["state"]["_turns"]
    assert [t["role"] for t in turns] == ["user", "assistant"]
    assert turns[1]["content"] == EXPECTED
    assert turns[1]["status"] == "done"


def _markdown_words(markdown: str) -> str:
    # Link targets and fence info strings are not shown as words.
    markdown = re.sub(r"\]\([^)]*\)", "]", markdown)
    return re.sub(r"^\s*(```|~~~)\S*", "", markdown, flags=re.MULTILINE)


def test_nbconvert_html_shows_the_answer(executed: nbformat.NotebookNode) -> None:
    # Saved from JupyterLab (without widget state), or executed without storing it.
    nb = nbformat.reads(nbformat.writes(executed), as_version=4)
    nb.metadata.pop("widgets", None)
    html, _ = HTMLExporter().from_notebook_node(nb)
    body = html[html.index("<body") :]
    assert len(re.findall(r'class="nbstream-static[" ]', body)) == 3
    assert "<script>window.__pwned" not in body
    assert EXPECTED.splitlines()[0].lstrip("# ") in body


@pytest.mark.browser
@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium")
def test_nbconvert_html_reads_in_a_browser_and_runs_nothing(
    executed: nbformat.NotebookNode, page: Any, tmp_path: Path
) -> None:
    nb = nbformat.reads(nbformat.writes(executed), as_version=4)
    nb.metadata.pop("widgets", None)
    html, _ = HTMLExporter().from_notebook_node(nb)
    target = tmp_path / "answer.html"
    target.write_text(html)
    page.route(re.compile(r"^https?://"), lambda route: route.abort())
    page.goto(target.as_uri())
    copies = page.locator(".nbstream-static")
    assert copies.count() == 3
    assert EXPECTED.splitlines()[0].lstrip("# ") in copies.nth(0).inner_text()
    assert copies.nth(0).locator("table").count() >= 1
    assert "<script>" in copies.nth(1).inner_text()  # the payload, as text
    assert page.evaluate("() => window.__pwned") is None


@pytest.mark.browser
@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium")
def test_an_untrusted_notebook_in_jupyterlab_shows_the_static_copy(
    executed: nbformat.NotebookNode, page: Any, lab_notebooks: JupyterServer
) -> None:
    lab = lab_notebooks
    # A notebook from elsewhere: never signed here, so untrusted; no kernel runs it.
    nb = nbformat.reads(nbformat.writes(executed), as_version=4)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, lab.root / "received.ipynb")
    page.goto(lab.url("received.ipynb"))
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    copies = page.locator(".jp-OutputArea-output .nbstream-static")
    copies.first.wait_for(timeout=30_000)
    assert copies.count() == 3
    assert EXPECTED.splitlines()[0].lstrip("# ") in copies.nth(0).inner_text()
    assert "<script>" in copies.nth(1).inner_text()
    assert QUESTION in copies.nth(2).inner_text()
    assert page.evaluate("() => window.__pwned") is None


@pytest.mark.browser
@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium")
def test_a_trusted_notebook_with_widget_state_reopens_without_a_kernel(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    from tests.browser_fixtures import open_and_run_all, wait_all_cells_done

    lab = lab_notebooks
    name = write_notebook(lab.root, "kept.ipynb", [ANSWER_CELL, STYLED_CELL])
    open_and_run_all(page, lab, name)
    wait_all_cells_done(page)
    view = page.locator(".nbstream-view").first
    page.wait_for_function(
        "el => el.dataset.streaming === 'false'", arg=view.element_handle(), timeout=30_000
    )
    assert border_around(page, 0) is None
    page.wait_for_function(f"() => ({BORDER_AROUND})(1) === 'rgb(200, 0, 0)'", timeout=30_000)
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    path = lab.root / name

    def saved() -> dict[str, Any]:
        notebook: dict[str, Any] = json.loads(path.read_text())
        return notebook

    page.wait_for_timeout(1_000)
    for _ in range(50):
        outputs = saved()["cells"][0].get("outputs", [])
        if any("text/html" in o.get("data", {}) for o in outputs) and saved()["metadata"].get(
            "widgets"
        ):
            break
        page.wait_for_timeout(200)
    outputs = saved()["cells"][0]["outputs"]
    html = ["".join(o.get("data", {}).get("text/html", "")) for o in outputs]
    assert any("nbstream-static" in h for h in html), outputs
    # The styled view's Layout is saved; the other view has none.
    models = saved()["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    layouts = [m["state"] for m in models.values() if m["model_name"] == "LayoutModel"]
    assert [layout["border_top"] for layout in layouts] == ["3px solid rgb(200, 0, 0)"]

    lab.shutdown_kernels()
    page.goto(lab.url(name))
    reopened = page.locator(".nbstream-view")
    reopened.first.wait_for(timeout=60_000)
    # The live widget, from the saved state (not the static copy): same text, its DOM.
    assert reopened.first.get_attribute("data-streaming") == "false"
    body = reopened.first.locator(".nbstream-body")
    assert EXPECTED.splitlines()[0].lstrip("# ") in body.inner_text()
    assert body.locator("table").count() >= 1
    page.wait_for_function(f"() => ({BORDER_AROUND})(1) === 'rgb(200, 0, 0)'", timeout=30_000)
    assert border_around(page, 0) is None


# The colour of a 3px border on the i-th view or the widget element around it, if any.
BORDER_AROUND = """(i) => {
  const view = document.querySelectorAll('.nbstream-view')[i];
  for (let el = view; el && !el.matches('.jp-OutputArea-output'); el = el.parentElement) {
    const style = getComputedStyle(el);
    if (style.borderTopWidth === '3px') return style.borderTopColor;
  }
  return null;
}"""


def border_around(page: Any, index: int) -> str | None:
    found: str | None = page.evaluate(BORDER_AROUND, index)
    return found


def run_headless_and_trust(server: JupyterServer, name: str, cells: int) -> list[str]:
    """A notebook of ``cells`` ``%%chat`` cells, run by nbclient into ``server``'s root and
    signed with its secret (trusted, as the user's own run would be); its answers."""
    import subprocess
    import sys

    from benchmarks.notebook_size import chat_notebook, execute

    nb = execute(chat_notebook(cells), inline=False)
    path = server.root / name
    nbformat.write(nb, path)
    subprocess.run(
        [sys.executable, "-m", "jupyter", "trust", str(path)],
        env=server.env,
        check=True,
        capture_output=True,
    )
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return [
        state[data["application/vnd.jupyter.widget-view+json"]["model_id"]]["state"]["content"]
        for data in widget_outputs(nb)
    ]


def assert_reopened_live(page: Any, answers: list[str]) -> None:
    """Every view reopened from saved widget state: live widgets, ended, each its answer."""
    views = page.locator(".nbstream-view")
    page.wait_for_function(
        f"() => document.querySelectorAll('.nbstream-view').length === {len(answers)}",
        timeout=60_000,
    )
    for i, answer_text in enumerate(answers):
        view = views.nth(i)
        assert view.get_attribute("data-streaming") == "false"
        shown = words(view.locator(".nbstream-body").inner_html())
        assert shown == words(_markdown_words(answer_text)), i


@pytest.mark.browser
@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium")
def test_a_headless_run_of_many_chat_cells_reopens_live_in_jupyterlab(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    answers = run_headless_and_trust(lab_notebooks, "many.ipynb", 10)
    assert len(answers) == 10
    assert all(answers)
    page.goto(lab_notebooks.url("many.ipynb"))
    assert_reopened_live(page, answers)
    # One bundle evaluated for all ten views: its styles are in the page once.
    assert page.locator("style[id^='nbstream-']").count() == 1
