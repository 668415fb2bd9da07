"""Hostile model output in real JupyterLab and Debian's Chromium: nothing runs, nothing
is fetched, nothing leaves the widget's box.

The whole XSS corpus (tests/xss_corpus.json, shared with the Vitest suite) is streamed
as one answer: fast with every split payload's parts as separate deltas, and one
character at a time. A page-wide guard records any dialog, any `window.__pwned`, and
every forbidden element or attribute that enters a widget at any moment mid-stream.
Every request the page makes is recorded, and any that leaves 127.0.0.1 is answered
by the test (a 1x1 PNG for images, an abort for anything else), so the run is offline.
"""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from nbstream.static_html import conversation_to_html, markdown_to_html
from tests.browser_fixtures import open_and_run_all
from tests.browser_harness import CHROMIUM, JupyterServer, write_notebook

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium"),
]
pytest.importorskip("playwright.sync_api")

CORPUS_PATH = Path(__file__).parent / "xss_corpus.json"
CORPUS: list[list[str]] = [
    [entry] if isinstance(entry, str) else entry for entry in json.loads(CORPUS_PATH.read_text())
]
# What the answer is: every payload, whole, a blank line after each.
ANSWER = "".join("".join(parts) + "\n\n" for parts in CORPUS)

# A 1x1 transparent PNG: what an allowed remote image gets, so the test runs offline.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)

# The view with allow_images=True streams the corpus with every https host renamed
# ("https://img.example.com/..."), so its requests are told apart from a leak by the
# views that must fetch nothing.
IMAGE_PREFIX = "https://img."

# Installed before the page's own scripts. Dialogs and window.__pwned are how a payload
# that ran would show; the observer checks every node and attribute a widget ever
# receives, so a forbidden element that was in the page for one frame is caught too.
GUARD = r"""
(() => {
  window.__calls = [];
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    window[name] = (...args) => report("call", [name + "(" + args.join(",") + ")"]);
  }
  window.__violations = [];
  // Kept in the page and also sent to the test at once: a payload that navigated the
  // page would take the page's copy with it.
  function report(kind, items) {
    if (!items.length) return;
    (kind === "call" ? window.__calls : window.__violations).push(...items);
    window.__nbstreamReport?.(kind, items, window === window.top);
  }
  window.__nbstreamReport?.("load", [location.href], window === window.top);
  // The widgets' roots, and the static fallback's (nbstream.static_html).
  const ROOTS = ".nbstream-view, .nbstream-static";
  const DESCENDANTS = ".nbstream-view *, .nbstream-static *";
  const TAGS = new Set(["script", "iframe", "frame", "frameset", "object", "embed", "applet",
    "style", "link", "meta", "base", "form", "svg", "math", "video", "audio", "source",
    "picture", "marquee", "body", "html", "head", "template", "noscript", "xmp", "isindex"]);
  const URL_ATTRIBUTES = new Set(["href", "src", "action", "formaction", "xlink:href",
    "poster", "background", "data", "srcset", "srcdoc"]);
  const BAD_URL = /^[\s\u0000-\u001f]*(javascript|vbscript|data|file|blob):/i;
  const RASTER = /^data:image\/(png|gif|jpeg|webp)(;base64)?,/i;
  const IMAGE_ATTRIBUTES = "alt,decoding,loading,referrerpolicy,src";
  // Set by the page (the chat's textarea grows through its style); nothing else may be.
  const ours = (el, name) => name === "style" && el.matches("textarea.nbstream-chat-input");
  // The composer's own hidden file picker (the Attach button opens it); model output
  // can never place an element there, only the composer builds it.
  const picker = (el) =>
    el.matches(".nbstream-chat-compose > input.nbstream-file-picker[type=file]");

  // The code of the notebook cell an element is in: it tells which view made it (a view
  // is rendered again when its output is updated, so marks on its root do not last).
  const source = (el) =>
    el.closest(".jp-CodeCell")?.querySelector(".jp-InputArea")?.textContent ?? "page";

  window.__check = (el) => {
    const found = [];
    const tag = el.localName;
    const where = () => source(el).slice(0, 40) + ": <" + tag + ">";
    if (TAGS.has(tag) || el.namespaceURI !== "http://www.w3.org/1999/xhtml") found.push(where());
    if (tag === "input" && el.getAttribute("type") !== "checkbox" && !picker(el))
      found.push(where() + " type");
    if (tag === "img") {
      const allowed = el.closest("[data-test-images=true]") !== null ||
        source(el).includes("allow_images=True");
      const names = el.getAttributeNames().sort().join(",");
      const src = el.getAttribute("src") ?? "";
      if (!allowed || names !== IMAGE_ATTRIBUTES || el.getAttribute("loading") !== "lazy" ||
          el.getAttribute("referrerpolicy") !== "no-referrer" ||
          !(src.startsWith("https://") || src.startsWith("http://") || RASTER.test(src)))
        found.push(where() + " " + el.outerHTML);
    }
    for (const name of el.getAttributeNames()) {
      const value = el.getAttribute(name) ?? "";
      const lower = name.toLowerCase();
      if (lower.startsWith("on") || ["style", "srcdoc", "srcset", "autofocus", "formaction",
          "action", "background", "poster"].includes(lower)) {
        if (!ours(el, lower)) found.push(where() + " " + name + "=" + value);
      }
      const raster = tag === "img" && RASTER.test(value);
      if (URL_ATTRIBUTES.has(lower) && BAD_URL.test(value) && !raster)
        found.push(where() + " " + name + "=" + value);
    }
    return found;
  };
  const scan = (node) => {
    if (node.nodeType !== 1) return;
    const inside = node.closest(ROOTS) ? [node] : [];
    for (const el of [...inside, ...node.querySelectorAll(DESCENDANTS)])
      report("violation", window.__check(el));
  };
  new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === "attributes") {
        if (record.target.closest?.(ROOTS))
          report("violation", window.__check(record.target));
      } else {
        record.addedNodes.forEach(scan);
      }
    }
  }).observe(document, { subtree: true, childList: true, attributes: true });
})();
"""

# After the stream: does anything stick out of the widget's box, or float above the page?
# Each rectangle is first clipped by the scroll containers it sits in (a long code line
# scrolls inside its <pre>: that is not escaping). Text is measured too, with a Range.
ESCAPES = r"""
(root) => {
  const box = root.getBoundingClientRect();
  const TOLERANCE = 1;
  const out = [];
  const describe = (node) => {
    const el = node.nodeType === 1 ? node : node.parentElement;
    const classes = el.className ? "." + String(el.className).split(" ").join(".") : "";
    const text = JSON.stringify((node.textContent ?? "").slice(0, 40));
    return "<" + el.localName + classes + "> " + text;
  };
  const clipped = (node, rect) => {
    let { left, top, right, bottom } = rect;
    for (let a = node.parentElement; a && a !== root; a = a.parentElement) {
      const style = getComputedStyle(a);
      const r = a.getBoundingClientRect();
      if (style.overflowX !== "visible") {
        left = Math.max(left, r.left);
        right = Math.min(right, r.right);
      }
      if (style.overflowY !== "visible") {
        top = Math.max(top, r.top);
        bottom = Math.min(bottom, r.bottom);
      }
    }
    return { left, top, right, bottom };
  };
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    let rect;
    if (node.nodeType === 3) {
      if (!node.data.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      rect = range.getBoundingClientRect();
    } else {
      const position = getComputedStyle(node).position;
      if (position === "fixed" || position === "sticky") out.push(position + ": " + describe(node));
      rect = node.getBoundingClientRect();
    }
    if (rect.width === 0 && rect.height === 0) continue;
    const v = clipped(node, rect);
    if (v.right <= v.left || v.bottom <= v.top) continue; // wholly hidden by a scroller
    if (v.left < box.left - TOLERANCE || v.top < box.top - TOLERANCE ||
        v.right > box.right + TOLERANCE || v.bottom > box.bottom + TOLERANCE)
      out.push(describe(node) + " at " + JSON.stringify(v) + " outside " + JSON.stringify(box));
  }
  return out;
}
"""

# Links the renderer kept: each must open in a new tab without an opener or referrer,
# and lead somewhere harmless: the scheme the browser itself resolves the link to.
LINKS = r"""
(root) => [...root.querySelectorAll(".nbstream-body a, .nbstream-reasoning-body a")].map(a => ({
  href: a.getAttribute("href"), protocol: a.protocol, rel: a.getAttribute("rel"),
  target: a.getAttribute("target"),
}))
"""
SAFE_PROTOCOLS = ("http:", "https:", "mailto:")

# Pointer and focus events on every element, in case a handler survived somewhere.
PROVOKE = r"""
(root) => {
  for (const el of root.querySelectorAll("*")) {
    for (const type of ["mouseover", "mouseenter", "pointerover", "pointerenter", "focus"])
      el.dispatchEvent(new Event(type, { bubbles: true }));
  }
}
"""


class Guard:
    """What the page's guard reports, and every request that leaves 127.0.0.1 (answered
    here: the run is offline)."""

    # A pattern, not a Python predicate: Playwright matches it in the browser, so the
    # page's own requests to 127.0.0.1 never wait for this (sync, single-threaded) test.
    REMOTE = re.compile(r"^(?:https?|wss?)://(?!127\.0\.0\.1(?::\d+)?/)", re.IGNORECASE)

    def __init__(self, page: Any, pages: dict[str, str] | None = None) -> None:
        self.remote: list[str] = []
        self.referers: dict[str, str | None] = {}
        # Documents the test itself serves (on a made-up host, so relative links resolve
        # to http: as they would on nbviewer); not counted as remote requests.
        self.pages = pages or {}
        self.calls: list[str] = []
        self.violations: list[str] = []
        self.loads: list[str] = []
        page.expose_function("__nbstreamReport", self._report)
        page.add_init_script(GUARD)
        page.context.route(self.REMOTE, self._answer)

    def _report(self, kind: str, items: list[str], top: bool) -> None:
        if kind == "load":
            if top and items != ["about:blank"]:
                self.loads += items
        elif kind == "call":
            self.calls += items
        else:
            self.violations += items

    def _answer(self, route: Any) -> None:
        request = route.request
        if request.url in self.pages:
            route.fulfill(status=200, content_type="text/html", body=self.pages[request.url])
            return
        self.remote.append(request.url)
        self.referers[request.url] = request.headers.get("referer")
        if request.resource_type == "image" and request.url.startswith(IMAGE_PREFIX):
            route.fulfill(status=200, content_type="image/png", body=PIXEL)
        else:
            route.abort()


def renamed(text: str) -> str:
    """The answer as the allow_images view gets it: every https host renamed."""
    return text.replace("https://", IMAGE_PREFIX)


def image_sources(markup: str) -> set[str]:
    return {html.unescape(src) for src in re.findall(r'<img src="([^"]*)"', markup)}


def guard(page: Any, pages: dict[str, str] | None = None) -> Guard:
    return Guard(page, pages)


STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'


def wait_cells(page: Any, timeout_ms: int = 120_000) -> None:
    """Until every cell has run, or one failed (then fail with its traceback)."""
    page.wait_for_function(
        f"""() => {{
          if (document.querySelector('{STDERR}')) return true;
          const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
          return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }}""",
        timeout=timeout_ms,
    )
    errors = page.locator(STDERR)
    assert errors.count() == 0, errors.first.inner_text()


def views(page: Any, count: int) -> list[Any]:
    """The first `count` widget roots, in page order, once they are all there."""
    page.wait_for_function(
        f"() => document.querySelectorAll('.nbstream-view').length >= {count}", timeout=60_000
    )
    # Locators, not handles: a view's root is replaced when its output is updated.
    return [page.locator(".nbstream-view").nth(i) for i in range(count)]


def assert_nothing_ran(page: Any, guard: Guard) -> None:
    assert page.evaluate("() => window.__pwned") is None
    assert guard.calls == []
    assert guard.violations == [], guard.violations[:20]
    # One document all along: nothing refreshed, redirected or replaced the page.
    assert len(guard.loads) == 1, guard.loads
    assert page.evaluate("() => [window.__calls, window.__violations]") == [[], []]


def assert_clean(root: Any, links: str = LINKS) -> None:
    """The final DOM holds nothing forbidden, and every link is safe."""
    found = root.evaluate(
        "root => [...root.querySelectorAll('*')].flatMap(el => window.__check(el))"
    )
    assert found == [], found[:20]
    kept = root.evaluate(links)
    assert kept, "the corpus has safe links; the renderer should keep them"
    for link in kept:
        assert link["rel"] == "noopener noreferrer", link
        assert link["target"] == "_blank", link
        assert link["protocol"] in SAFE_PROTOCOLS, link


def assert_contained(view: Any) -> None:
    """The final DOM is clean, links are safe, and nothing leaves the widget's box."""
    assert_clean(view)
    view.scroll_into_view_if_needed()
    escapes = view.evaluate(ESCAPES)
    assert escapes == [], escapes[:20]


# The kernel side: the corpus as a generator of deltas, either one per corpus part (split
# payloads' parts apart, with a pause so the browser renders each prefix) or one
# character at a time. Plain Python generators are model output as far as the widget knows.
SETUP = f"""
import json, time
from IPython.display import display
from nbstream import StreamView

CORPUS = [[e] if isinstance(e, str) else e for e in json.load(open({str(CORPUS_PATH)!r}))]
ANSWER = "".join("".join(parts) + "\\n\\n" for parts in CORPUS)

def parts(corpus, pause=0.12):
    for entry in corpus:
        for i, part in enumerate(entry):
            if i:
                time.sleep(pause)
            yield part
        yield "\\n\\n"

def characters(text, per_second=1500):
    for char in text:
        yield char
        time.sleep(1 / per_second)

def renamed(corpus):
    return [[part.replace("https://", {IMAGE_PREFIX!r}) for part in entry] for entry in corpus]
"""


def test_streamed_corpus_runs_nothing_fetches_nothing_and_stays_in_its_box(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    lab = lab_notebooks
    watch = guard(page)
    name = write_notebook(
        lab.root,
        "security-stream.ipynb",
        [
            SETUP,
            "whole = StreamView()\ndisplay(whole)",
            # Several deltas per frame would hide prefixes: let the browser see more of them.
            "one_char = StreamView(max_messages_per_second=200)\ndisplay(one_char)",
            "images = StreamView(allow_images=True)\ndisplay(images)",
            "assert whole.stream(parts(CORPUS)) == ANSWER",
            "assert one_char.stream(characters(ANSWER)) == ANSWER",
            "images_answer = ''.join(''.join(p) + '\\n\\n' for p in renamed(CORPUS))\n"
            "assert images.stream(parts(renamed(CORPUS))) == images_answer",
        ],
    )
    open_and_run_all(page, lab, name)
    whole, one_char, images = views(page, 3)
    wait_cells(page)
    for view in (whole, one_char, images):
        assert view.get_attribute("data-streaming") == "false"
        view.evaluate(PROVOKE)
    page.wait_for_timeout(300)
    assert_nothing_ran(page, watch)
    for view in (whole, one_char, images):
        assert_contained(view)
    # Off (the default), not one image element, and nothing left 127.0.0.1.
    for view in (whole, one_char):
        assert view.locator("img").count() == 0
        assert view.locator(".nbstream-image").count() > 0

    # On: exactly the markdown images with an https URL load, lazily, without a Referer;
    # HTML <img>, srcset, CSS and SVG never do.
    sources = images.evaluate("root => [...root.querySelectorAll('img')].map(i => i.src)")
    assert sources, "allow_images=True should load the corpus's https markdown images"
    # The live renderer and the static fallback agree on which images load.
    assert set(sources) == image_sources(markdown_to_html(renamed(ANSWER), allow_images=True))
    for img in images.locator("img").all():
        img.scroll_into_view_if_needed()
    # Loaded: every one got the 1x1 pixel this test serves.
    page.wait_for_function(
        "root => [...root.querySelectorAll('img')].every(i => i.complete && i.naturalWidth === 1)",
        arg=images.element_handle(),
        timeout=10_000,
    )
    assert set(watch.remote) == set(sources), watch.remote
    assert all(watch.referers[src] is None for src in sources), watch.referers


def test_chat_answers_with_the_corpus_and_nothing_runs(
    page: Any, lab_notebooks: JupyterServer
) -> None:
    lab = lab_notebooks
    watch = guard(page)
    # The first question gets the corpus in parts, the second one character at a time.
    setup = (
        SETUP + "from nbstream import Chat\n"
        "def hostile(messages):\n"
        "    asked = sum(m['role'] == 'user' for m in messages)\n"
        "    return parts(CORPUS) if asked == 1 else characters(ANSWER)\n"
        "chat = Chat(hostile)\ndisplay(chat)"
    )
    name = write_notebook(lab.root, "security-chat.ipynb", [setup])
    open_and_run_all(page, lab, name)
    page.wait_for_selector(".nbstream-chat", timeout=60_000)
    (chat,) = views(page, 1)
    box = page.locator(".nbstream-chat-input")
    for question, count in (("Say something hostile.", 1), ("Again, slowly.", 2)):
        box.click()
        box.fill(question)
        box.press("Enter")
        page.wait_for_function(
            f"""() => {{
              const answers = document.querySelectorAll('.nbstream-msg[data-role="assistant"]');
              return answers.length === {count} && answers[{count - 1}].dataset.status === 'done';
            }}""",
            timeout=60_000,
        )
    chat.evaluate(PROVOKE)
    page.wait_for_timeout(300)
    assert_nothing_ran(page, watch)
    answers = chat.locator('.nbstream-msg[data-role="assistant"] > .nbstream-body')
    # The payloads are shown, as text.
    for i in range(2):
        assert "<script>alert(1)</script>" in answers.nth(i).inner_text()
    assert chat.locator("img").count() == 0
    assert_contained(chat)
    assert watch.remote == []


STATIC_URL = "http://nbstream.test/saved-notebook.html"
# In the static page, links are read the same way, from every root.
STATIC_LINKS = LINKS.replace(".nbstream-body a, .nbstream-reasoning-body a", ".nbstream-static a")


@pytest.mark.parametrize("allow_images", [False, True], ids=["images-off", "images-on"])
def test_static_fallback_of_the_corpus_runs_nothing(browser: Any, allow_images: bool) -> None:
    """The saved-notebook HTML (nbstream.static_html), opened as nbviewer would show it."""
    answer = renamed(ANSWER) if allow_images else ANSWER
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": answer},
        {"role": "user", "content": answer},
        {
            "role": "assistant",
            "content": answer,
            "tool_calls": [{"id": "1", "function": {"name": answer, "arguments": answer}}],
        },
        {"role": "tool", "tool_call_id": "1", "content": answer},
    ]
    body = markdown_to_html(answer, allow_images=allow_images) + conversation_to_html(
        messages, allow_images=allow_images
    )
    document = (
        "<!doctype html><html><head><meta charset='utf-8'><title>saved</title></head><body>"
        f'<div data-test-images="{str(allow_images).lower()}">{body}</div></body></html>'
    )
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        dialogs: list[str] = []

        def on_dialog(dialog: Any) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        watch = guard(page, {STATIC_URL: document})
        page.goto(STATIC_URL)
        root = page.locator("body")
        root.evaluate(PROVOKE)
        page.wait_for_timeout(300)
        assert_nothing_ran(page, watch)
        assert errors == []
        assert dialogs == []
        for static in page.locator(".nbstream-static").all():
            assert_clean(static, STATIC_LINKS)
        expected = image_sources(body)
        if allow_images:
            # The answer's https images, in the answer and again in the conversation.
            assert expected
            for img in page.locator("img").all():
                img.scroll_into_view_if_needed()
            page.wait_for_function(
                "() => [...document.images].every(i => i.complete && i.naturalWidth === 1)"
            )
        else:
            assert expected == set()
        assert set(watch.remote) == expected, watch.remote
    finally:
        context.close()
