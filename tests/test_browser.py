"""Real JupyterLab in Debian's Chromium: what the user sees while and after a stream."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from nbstream.local.model import answer, long_answer
from tests.browser_fixtures import open_and_run_all, wait_all_cells_done
from tests.browser_harness import CHROMIUM, JupyterServer, copy_notebook, write_notebook

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium"),
]
playwright_sync = pytest.importorskip("playwright.sync_api")

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"

# The first cell of the tests' own notebooks: a client for the local model and a view.
SETUP_CELL = (
    "import nbstream.local\nfrom nbstream import StreamView\n"
    "from IPython.display import display\n"
    "client = nbstream.local.client(max_retries=0)\nview = StreamView()\ndisplay(view)"
)
QUESTION = "What is nbstream?"
DISCONNECTED = (
    "Disconnected from the kernel while streaming (it was restarted or stopped); "
    "the text so far is kept."
)


def local_completion(options: dict[str, Any], question: str = QUESTION) -> str:
    """Code for a streamed completion from the local model with per-request options."""
    return (
        "client.chat.completions.create(\n"
        "    model=nbstream.local.MODEL, stream=True,\n"
        f"    messages=[{{'role': 'user', 'content': {question!r}}}],\n"
        f"    extra_body={{'nbstream': {options!r}}})"
    )


def visible_letters(text: str) -> str:
    """Letters and digits a reader sees, for comparing rendered text with its markdown."""
    text = re.sub(r"^\s*(```|~~~).*$", "", text, flags=re.MULTILINE)  # fence lines
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets are not shown
    return re.sub(r"[\W_]+", "", text)


def view_states(page: Any) -> list[dict[str, Any]]:
    states: list[dict[str, Any]] = page.evaluate("() => window.__nbstream")
    return states


def test_quickstart_streams_live_markdown_with_a_cursor(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    lab = lab_notebooks
    name = copy_notebook(NOTEBOOKS / "01-quickstart.ipynb", lab.root)
    source = (NOTEBOOKS / "01-quickstart.ipynb").read_text()
    question = re.search(r'question = \\"(.+?)\\"', source)
    assert question, 'the quickstart defines `question = "..."`'
    expected = answer([{"role": "user", "content": question.group(1)}])

    open_and_run_all(page, lab, name)
    first = page.locator(".nbstream-view").first
    first.wait_for(timeout=60_000)
    # Mid-stream: the cursor shows while the text grows.
    page.wait_for_selector('.nbstream-view[data-streaming="true"] .nbstream-cursor', timeout=30_000)
    page.wait_for_timeout(1_500)
    first.screenshot(path=str(lab.root.parent / "mid-stream.png"), animations="disabled")
    wait_all_cells_done(page)

    history = [s for s in view_states(page) if s["view"] == 0]
    streaming = [s for s in history if s["streaming"] == "true"]
    assert streaming, "the first view was never seen streaming"
    assert all(s["cursor"] for s in streaming if s["letters"] > 0)
    letters = [s["letters"] for s in streaming]
    assert len(set(letters)) >= 5, f"text did not visibly grow: {sorted(set(letters))}"
    # Only an unfinished fence's info string ("```pyth") is shown as text and then hidden.
    running_max = 0
    for count in letters:
        assert count >= running_max - len("python"), f"text shrank: {letters}"
        running_max = max(running_max, count)

    # At the end: no cursor, not streaming, the model's whole answer, rendered.
    assert first.get_attribute("data-streaming") == "false"
    assert first.locator(".nbstream-cursor").count() == 0
    assert first.get_attribute("aria-busy") != "true"
    body = first.locator(".nbstream-body")
    assert visible_letters(body.inner_text()) == visible_letters(expected)
    assert body.locator("table th").count() >= 2
    assert body.locator("table td").count() >= 2
    assert body.locator("pre code").count() >= 1
    assert body.locator("h1, h2, h3").count() >= 1
    assert body.locator("ul li, ol li").count() >= 2
    first.scroll_into_view_if_needed()
    page.screenshot(path=str(lab.root.parent / "quickstart.png"), animations="disabled")


def test_error_mid_stream_keeps_the_partial_text(page: Any, lab_notebooks: JupyterServer) -> None:
    lab = lab_notebooks
    failing = local_completion({"fault": "error", "fault_after": 40, "tokens_per_second": 200})
    name = write_notebook(
        lab.root,
        "error.ipynb",
        [SETUP_CELL, f"try:\n    view.stream({failing})\nexcept Exception:\n    pass"],
    )
    open_and_run_all(page, lab, name)
    wait_all_cells_done(page)
    view = page.locator(".nbstream-view").first
    error = view.locator(".nbstream-error")
    error.wait_for(timeout=10_000)
    view.screenshot(path=str(lab.root.parent / "error.png"), animations="disabled")
    assert "APIError" in error.inner_text()
    assert view.get_attribute("data-streaming") == "false"
    assert view.locator(".nbstream-cursor").count() == 0
    partial = view.locator(".nbstream-body").inner_text()
    full = answer([{"role": "user", "content": QUESTION}])
    assert len(visible_letters(partial)) > 10
    assert visible_letters(full).startswith(visible_letters(partial))
    # The error banner comes after (below) the partial text.
    order = view.evaluate(
        "el => el.querySelector('.nbstream-body').compareDocumentPosition("
        "el.querySelector('.nbstream-error')) & Node.DOCUMENT_POSITION_FOLLOWING"
    )
    assert order


HOSTILE = (
    "# Totally normal answer\n\n"
    "<script>window.__pwned = 'script'; alert('script')</script>\n\n"
    "An image: <img src=x onerror=\"window.__pwned='img'; alert('img')\">\n\n"
    "<svg onload=\"window.__pwned='svg'\"></svg>\n\n"
    "[click me](javascript:window.__pwned='link') and [me too](JaVaScRiPt:alert('l2'))\n\n"
    "<a href=\"javascript:window.__pwned='a'\">raw anchor</a>\n\n"
    "![pixel](javascript:window.__pwned='imgsrc')\n\n"
    "<iframe src=\"javascript:window.__pwned='iframe'\"></iframe>\n\n"
    "End of answer.\n"
)


@pytest.mark.parametrize("split", ["whole", "one-char"])
def test_hostile_model_output_runs_nothing(
    page: Any, lab_notebooks: JupyterServer, split: str
) -> None:
    lab = lab_notebooks
    tokens_per_second = 0 if split == "whole" else 2000
    name = write_notebook(
        lab.root,
        f"hostile-{split}.ipynb",
        [
            SETUP_CELL,
            "text = view.stream("
            + local_completion({"text": HOSTILE, "tokens_per_second": tokens_per_second})
            + f")\nassert text == {HOSTILE!r}",
        ],
    )
    open_and_run_all(page, lab, name)
    wait_all_cells_done(page)
    view = page.locator(".nbstream-view").first
    body = view.locator(".nbstream-body")
    assert "End of answer." in body.inner_text()
    # Click every link the renderer left, in case one still carries a script URL.
    for link in body.locator("a").all():
        link.click(no_wait_after=True, timeout=2_000)
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__pwned") is None
    assert body.locator("script, img, svg, iframe, style, object, embed").count() == 0
    bad = body.evaluate("""b => [...b.querySelectorAll('*')].flatMap(el =>
        [...el.attributes].filter(a => a.name.startsWith('on') ||
          /^\\s*(javascript|vbscript|data):/i.test(a.value)).map(a => a.name + '=' + a.value))""")
    assert bad == []
    for link in body.locator("a").all():
        assert link.get_attribute("rel") == "noopener noreferrer"


def test_second_view_and_view_created_mid_stream_show_the_full_text(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    lab = lab_notebooks
    name = write_notebook(
        lab.root,
        "views.ipynb",
        [
            SETUP_CELL,
            "def late_view(stream):\n"
            "    for i, chunk in enumerate(stream):\n"
            "        if i == 60:\n"
            "            display(view)  # a second view of the same widget, mid-stream\n"
            "        yield chunk\n"
            f"text = view.stream(late_view({local_completion({'tokens_per_second': 100})}))",
        ],
    )
    open_and_run_all(page, lab, name)
    wait_all_cells_done(page)
    views = page.locator(".nbstream-view")
    assert views.count() == 2
    expected = visible_letters(answer([{"role": "user", "content": QUESTION}]))
    for i in range(2):
        assert views.nth(i).get_attribute("data-streaming") == "false"
        assert visible_letters(views.nth(i).locator(".nbstream-body").inner_text()) == expected
    # The late view joined mid-stream: it started with the text so far, not from empty.
    late = [s for s in view_states(page) if s["view"] == 1]
    assert late[0]["streaming"] == "true"
    assert late[0]["letters"] > 0


def test_waiting_state_before_the_first_token(page: Any, lab_notebooks: JupyterServer) -> None:
    lab = lab_notebooks
    name = write_notebook(
        lab.root,
        "waiting.ipynb",
        [
            SETUP_CELL,
            "view.stream("
            + local_completion(
                {"fault": "slow_first_token", "first_token_delay": 3, "tokens_per_second": 0}
            )
            + ")",
        ],
    )
    open_and_run_all(page, lab, name)
    view = page.locator(".nbstream-view").first
    waiting = view.locator(".nbstream-waiting")
    waiting.wait_for(state="visible", timeout=30_000)
    assert view.get_attribute("data-streaming") == "true"
    assert view.get_attribute("aria-busy") == "true"
    wait_all_cells_done(page)
    assert waiting.count() == 0
    assert view.locator(".nbstream-status").inner_text() == "Answer complete."
    assert view.locator(".nbstream-body table").count() == 1


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_colours_follow_the_jupyterlab_theme(
    page: Any, lab_notebooks: JupyterServer, theme: str
) -> None:
    lab = lab_notebooks
    name = write_notebook(
        lab.root,
        "theme.ipynb",
        [
            "from nbstream import StreamView\nview = StreamView()\nview",
            "view.stream(['# Title\\n\\nSome *text* and `code`.\\n\\n', '| a | b |\\n|---|---|\\n',"
            " '| 1 | 2 |\\n\\n```python\\nprint(1)\\n```\\n'])",
        ],
    )
    open_and_run_all(page, lab, name)
    wait_all_cells_done(page)
    page.evaluate(
        f"() => window.jupyterapp.commands.execute('apputils:change-theme', {{theme: '{theme}'}})"
    )
    page.wait_for_function(f"() => document.body.dataset.jpThemeName === '{theme}'", timeout=30_000)
    page.wait_for_timeout(500)  # theme CSS applied
    colours = page.evaluate("""() => {
      const probe = (value) => {
        const el = document.createElement('span');
        el.style.color = value;
        document.body.append(el);
        const c = getComputedStyle(el).color;
        el.remove();
        return c;
      };
      const body = document.querySelector('.nbstream-view .nbstream-body p');
      const th = document.querySelector('.nbstream-view th');
      return {
        text: getComputedStyle(body).color,
        expectedText: probe('var(--jp-content-font-color1)'),
        header: getComputedStyle(th).backgroundColor,
        dark: document.body.dataset.jpThemeLight === 'false',
      };
    }""")
    assert colours["dark"] == (theme == "JupyterLab Dark")
    assert colours["text"] == colours["expectedText"]
    r, g, b = (int(v) for v in re.findall(r"\d+", colours["text"])[:3])
    brightness = (r * 299 + g * 587 + b * 114) / 1000
    # Light text on the dark theme, dark text on the light one.
    assert (brightness > 128) == colours["dark"], colours
    view = page.locator(".nbstream-view").first
    view.scroll_into_view_if_needed()
    slug = theme.rsplit(maxsplit=1)[-1].lower()
    view.screenshot(path=str(lab.root.parent / f"theme-{slug}.png"), animations="disabled")


# Outside JupyterLab (VS Code, Colab, marimo) there are no --jp-* variables. Setting them to
# `initial` makes them invalid inside the outputs, so var() falls back exactly as it does
# there; the page's own JupyterLab theme stays light.
NO_JUPYTERLAB_VARIABLES = """
.jp-OutputArea-output {
  --jp-content-font-color1: initial; --jp-content-font-color2: initial;
  --jp-layout-color2: initial; --jp-cell-editor-background: initial;
  --jp-border-color1: initial; --jp-border-color2: initial;
  --jp-content-link-color: initial; --jp-brand-color1: initial;
  --jp-error-color1: initial; --jp-error-color3: initial;
}
"""
# A few of VS Code's Dark Modern theme colours, as its notebook outputs define them.
VSCODE_DARK = """
.jp-OutputArea-output {
  --vscode-editor-foreground: rgb(204, 204, 204);
  --vscode-textLink-foreground: rgb(76, 156, 255);
}
"""


def brightness(css_colour: str) -> float:
    r, g, b = (int(v) for v in re.findall(r"\d+", css_colour)[:3])
    return (r * 299 + g * 587 + b * 114) / 1000


@pytest.mark.parametrize("host", ["vscode-dark", "plain-light", "plain-dark"])
def test_without_jupyterlab_variables_colours_come_from_vscode_then_the_colour_scheme(
    page: Any, lab_notebooks: JupyterServer, host: str
) -> None:
    lab = lab_notebooks
    page.emulate_media(color_scheme="dark" if host.endswith("dark") else "light")
    name = write_notebook(
        lab.root,
        f"host-{host}.ipynb",
        [
            "from nbstream import Chat, StreamView\nview = StreamView()\nview",
            "view.stream(['Some *text* and a [link](https://example.com).'])",
            "chat = Chat(lambda messages: ['A *reply* with a [link](https://example.com).'])\n"
            "chat.ask('hi')\nchat",
        ],
    )
    open_and_run_all(page, lab, name)
    wait_all_cells_done(page)
    page.add_style_tag(
        content=NO_JUPYTERLAB_VARIABLES + (VSCODE_DARK if host == "vscode-dark" else "")
    )
    page.wait_for_timeout(200)  # styles applied
    colours = page.evaluate("""() => [...document.querySelectorAll('.nbstream-view')].map(v => {
      const p = v.querySelector('.nbstream-msg[data-role="assistant"] .nbstream-body p')
        || v.querySelector('.nbstream-body p');
      return {
        chat: v.classList.contains('nbstream-chat'),
        text: getComputedStyle(p).color,
        link: getComputedStyle(p.querySelector('a')).color,
        jupyterText: getComputedStyle(document.body).getPropertyValue('--jp-content-font-color1'),
      };
    })""")
    assert [c["chat"] for c in colours] == [False, True]
    for c in colours:
        assert c["jupyterText"].strip(), "the page itself keeps JupyterLab's variables"
        if host == "vscode-dark":
            assert c["text"] == "rgb(204, 204, 204)", c
            assert c["link"] == "rgb(76, 156, 255)", c
        else:
            # Dark text under a light colour scheme, light text under a dark one.
            assert (brightness(c["text"]) > 128) == (host == "plain-dark"), c
            assert c["link"] != c["text"], c


@pytest.mark.parametrize("motion", ["no-preference", "reduce"])
def test_cursor_blinks_unless_the_user_prefers_reduced_motion(
    page: Any, lab_notebooks: JupyterServer, motion: str
) -> None:
    lab = lab_notebooks
    page.emulate_media(reduced_motion=motion)
    name = write_notebook(
        lab.root,
        f"motion-{motion}.ipynb",
        [SETUP_CELL, f"view.stream({local_completion({'tokens_per_second': 40})})"],
    )
    open_and_run_all(page, lab, name)
    # Read the style in one step from a cursor that is in the page: the cursor element
    # is replaced as the text grows, and a detached one has no computed style.
    style = page.wait_for_function(
        """() => {
          const cursor = document.querySelector('.nbstream-view .nbstream-cursor');
          if (!cursor || !cursor.isConnected) return null;
          const cs = getComputedStyle(cursor);
          return {animation: cs.animationName, opacity: cs.opacity};
        }""",
        timeout=30_000,
    ).json_value()
    assert style["opacity"] != "0"
    if motion == "reduce":
        assert style["animation"] == "none"
    else:
        assert style["animation"] not in ("none", "")
    wait_all_cells_done(page)


IOPUB_LIMIT_WARNINGS = ("IOPub data rate exceeded", "IOPub message rate exceeded")


@pytest.mark.parametrize("late_view", [False, True], ids=["one-view", "second-view-mid-stream"])
def test_100k_tokens_as_fast_as_possible_arrive_whole_under_default_iopub_limits(
    page: Any, lab_notebooks: JupyterServer, late_view: bool
) -> None:
    lab = lab_notebooks
    n = 100_000
    late = (
        "def late_view(stream):\n"
        "    for i, chunk in enumerate(stream):\n"
        "        if i == 30_000:\n"
        "            display(view)  # a second view of the same widget, mid-stream\n"
        "        yield chunk\n"
        if late_view
        else "def late_view(stream):\n    return stream\n"
    )
    completion = local_completion({"answer_tokens": n, "tokens_per_second": 0})
    name = write_notebook(
        lab.root,
        f"volume-{late_view}.ipynb",
        [SETUP_CELL, late + f"text = view.stream(late_view({completion}))\nprint(len(text))"],
    )
    log_start = Path(lab.log.name).stat().st_size
    open_and_run_all(page, lab, name)
    wait_all_cells_done(page, timeout_ms=180_000)
    views = page.locator(".nbstream-view")
    assert views.count() == (2 if late_view else 1)
    expected = long_answer(n)
    # The kernel's own count, printed by the cell: the text was produced whole.
    outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
    assert str(len(expected)) in "\n".join(outputs)
    for i in range(views.count()):
        view = views.nth(i)
        page.wait_for_function(
            "el => el.getAttribute('data-streaming') === 'false'", arg=view.element_handle()
        )
        shown = view.locator(".nbstream-body").inner_text()
        assert visible_letters(shown) == visible_letters(expected), f"view {i} differs"
    # Jupyter's rate limiter never stepped in: no warning in the page or the server log.
    page_text = page.locator(".jp-Notebook").inner_text()
    server_log = Path(lab.log.name).read_text(errors="replace")[log_start:]
    for warning in IOPUB_LIMIT_WARNINGS:
        assert warning not in page_text
        assert warning not in server_log
    if late_view:
        joined = [s for s in view_states(page) if s["view"] == 1]
        assert joined[0]["streaming"] == "true"
        assert joined[0]["letters"] > 0


@pytest.mark.parametrize("where", ["cell", "thread"])
def test_a_kernel_restart_mid_stream_ends_the_stream_and_keeps_the_text(
    page: Any, lab_notebooks: JupyterServer, where: str
) -> None:
    lab = lab_notebooks
    completion = local_completion({"tokens_per_second": 40})
    run = (
        f"view.stream({completion})"
        if where == "cell"
        else f"import threading\nthreading.Thread(target=view.stream, args=({completion},)).start()"
    )
    name = write_notebook(lab.root, f"restart-{where}.ipynb", [SETUP_CELL, run])
    open_and_run_all(page, lab, name)
    view = page.locator(".nbstream-view").first
    page.wait_for_function(
        "el => el.dataset.streaming === 'true' && el.innerText.length > 80",
        arg=view.element_handle(),
        timeout=30_000,
    )
    # What Kernel > Restart does, without its confirmation dialog.
    page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()"
    )
    page.wait_for_function(
        "el => el.dataset.streaming === 'false'", arg=view.element_handle(), timeout=15_000
    )
    shown = view.locator(".nbstream-body").inner_text()
    expected = visible_letters(answer([{"role": "user", "content": QUESTION}]))
    assert len(visible_letters(shown)) > 40
    assert expected.startswith(visible_letters(shown))
    assert view.locator(".nbstream-cursor").count() == 0
    error = view.locator(".nbstream-error").inner_text()
    if where == "cell":
        # The restart interrupts the cell first; the kernel may still report that itself.
        assert error in ("KeyboardInterrupt: the stream was interrupted", DISCONNECTED)
    else:
        # A thread just dies with the kernel: the browser notices the kernel went away.
        assert error == DISCONNECTED
    # Nothing comes after: the text stays as it was.
    page.wait_for_timeout(1_000)
    assert view.locator(".nbstream-body").inner_text() == shown


def test_a_stalled_stream_shows_it_is_waiting_then_the_idle_timeout(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    lab = lab_notebooks
    name = write_notebook(
        lab.root,
        "stall.ipynb",
        [
            SETUP_CELL,
            "import time\n"
            "def stalls():\n"
            "    yield 'The model started, '\n"
            "    yield 'then went quiet.'\n"
            "    time.sleep(60)\n"
            "    yield 'never shown'\n"
            "view.stream(stalls(), idle_timeout=5)",
        ],
    )
    open_and_run_all(page, lab, name)
    view = page.locator(".nbstream-view").first
    page.wait_for_function(
        "el => el.innerText.includes('went quiet')", arg=view.element_handle(), timeout=30_000
    )
    # After a few quiet seconds the waiting dots come back, after the text.
    waiting = view.locator(".nbstream-body ~ .nbstream-waiting")
    waiting.wait_for(state="visible", timeout=4_500)
    assert view.get_attribute("data-streaming") == "true"
    # Then the idle timeout ends it, keeping the text.
    page.wait_for_function(
        "el => el.dataset.streaming === 'false'", arg=view.element_handle(), timeout=10_000
    )
    assert waiting.count() == 0
    assert view.locator(".nbstream-body").inner_text() == "The model started, then went quiet."
    error = view.locator(".nbstream-error").inner_text()
    assert error.startswith("IdleTimeoutError: nothing arrived from the model for 5 s")


MATH_AND_CODE = (
    "Euler: $e^{i\\pi} + 1 = 0$, and a price of $5 stays text.\n\n"
    "$$\n\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}\n$$\n\n"
    "```python\ndef area(r):\n    return 3.14 * r ** 2  # circle\n```\n"
)


def test_math_renders_as_mathml_and_code_is_highlighted(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    lab = lab_notebooks
    name = write_notebook(
        lab.root,
        "math.ipynb",
        [
            SETUP_CELL,
            "import time\n"
            f"text = {MATH_AND_CODE!r}\n"
            "def chars():\n"
            "    for i in range(0, len(text), 3):\n"
            "        time.sleep(0.01)\n"
            "        yield text[i:i + 3]\n"
            "view.stream(chars())",
        ],
    )
    open_and_run_all(page, lab, name)
    wait_all_cells_done(page)
    body = page.locator(".nbstream-view .nbstream-body").first
    formulas = body.locator("math")
    assert formulas.count() == 2
    assert formulas.nth(1).get_attribute("display") == "block"
    # Chromium lays MathML out itself: the fraction has a real box, taller than a line.
    box = body.locator("mfrac").bounding_box()
    assert box is not None
    assert box["height"] > 20
    assert "$5" in body.inner_text()
    # Highlighted tokens take the editor's colours, unlike plain code.
    colors = body.locator("pre code").evaluate(
        """code => ({
          keyword: getComputedStyle(code.querySelector('.nbstream-tok-keyword')).color,
          comment: getComputedStyle(code.querySelector('.nbstream-tok-comment')).color,
          plain: getComputedStyle(code).color,
        })"""
    )
    assert colors["keyword"] != colors["plain"]
    assert colors["comment"] != colors["plain"]


# Inline markup of every kind, cut anywhere: while it streams the open tail is shown
# formatted (js/src/tail-repair.ts), never as its raw markers.
MARKUP_ANSWER = (
    "Some *emphasis*, **strong text**, ~~struck~~ and `inline code`, with "
    "[a link](https://example.com/a/long/path) and ![a picture](https://example.com/p.png).\n\n"
    "| **Name** | `Job` |\n| --- | --- |\n| *view* | [shows](https://example.com) |\n\n"
    "- **Item** with `code`\n- and ~~more~~ *text*\n"
)
MARKUP = "*_~`[]|"
FRAME_RECORDER = """
window.__frames = [];
new MutationObserver(() => {
  const body = document.querySelector('.nbstream-view .nbstream-body');
  if (body) window.__frames.push(body.textContent);
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def test_streaming_markup_never_shows_the_markers_the_final_answer_hides(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    lab = lab_notebooks
    page.add_init_script(FRAME_RECORDER)
    name = write_notebook(
        lab.root,
        "markup.ipynb",
        [
            SETUP_CELL,
            "import time\n"
            "def by_char(text, rate):\n"
            "    for c in text:\n"
            "        time.sleep(1 / rate)\n"
            "        yield c\n"
            f"text = view.stream(by_char({MARKUP_ANSWER!r}, 120))",
        ],
    )
    open_and_run_all(page, lab, name)
    wait_all_cells_done(page)
    view = page.locator(".nbstream-view").first
    page.wait_for_function(
        "el => el.dataset.streaming === 'false'", arg=view.element_handle(), timeout=30_000
    )
    final = view.locator(".nbstream-body").inner_text()
    assert "strong text" in final
    assert view.locator(".nbstream-body table").count() == 1
    frames: list[str] = page.evaluate("() => window.__frames")
    assert len(frames) > 30, "the answer should have streamed in many frames"
    shown_final = frames[-1]
    for frame in frames:
        for char in MARKUP:
            assert frame.count(char) <= shown_final.count(char), (char, frame)
        assert "](" not in frame, frame
        assert "example.com" not in frame, frame
    # Formatted while streaming: a frame showed strong text before the answer ended.
    assert any("strong te" in f and "**" not in f for f in frames[:-5])
