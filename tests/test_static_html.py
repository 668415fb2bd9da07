"""The static HTML fallback (nbstream.static_html): sanitized whatever the input.

Every output is parsed with html.parser and each tag and attribute checked against an
allowlist, for the whole XSS corpus (tests/xss_corpus.json, shared with Vitest and the
browser tests) and for arbitrary text from hypothesis.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbstream.static_html import conversation_to_html, markdown_to_html

CORPUS_PATH = Path(__file__).parent / "xss_corpus.json"
PAYLOADS: list[str] = [
    entry if isinstance(entry, str) else "".join(entry)
    for entry in json.loads(CORPUS_PATH.read_text())
]

# What the renderer may emit: element -> the attributes it may carry.
ALLOWED: dict[str, frozenset[str]] = {
    tag: frozenset(attrs)
    for tag, attrs in {
        "a": {"href", "title", "target", "rel"},
        "blockquote": set(),
        "br": set(),
        "code": {"class"},
        "div": {"class"},
        "em": set(),
        **{f"h{n}": set() for n in range(1, 7)},
        "hr": set(),
        "img": {"src", "alt", "loading", "referrerpolicy", "decoding"},
        "li": set(),
        "ol": {"start"},
        "p": set(),
        "pre": set(),
        "s": set(),
        "span": {"class", "title"},
        "strong": set(),
        "table": set(),
        "tbody": set(),
        "td": {"align"},
        "th": {"align"},
        "thead": set(),
        "tr": set(),
        "ul": set(),
    }.items()
}
CLASSES = re.compile(r"^(nbstream-[a-z-]+( nbstream-[a-z-]+)*|language-[\w+#.-]+)$")
SAFE_HREF = re.compile(r"^(https?:|mailto:|#|/|\.|[^:/?#]*([/?#]|$))", re.IGNORECASE)
IMAGE_SRC = re.compile(
    r"^(https?://[^\s\"'<>\\`]+|data:image/(png|gif|jpeg|webp)(;base64)?,[a-z0-9+/=%._~-]*)$",
    re.IGNORECASE,
)
# What browsers ignore inside a scheme ("java\tscript:"): removed before judging a URL.
IGNORED = re.compile("[\x00-\x20\x7f-\x9f\u00ad\u200b-\u200f\u2028\u2029\ufeff]")


class Checker(HTMLParser):
    """Collects every way the HTML breaks the allowlist; also its text, for content checks."""

    def __init__(self, images: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.images = images
        self.problems: list[str] = []
        self.text: list[str] = []
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.tags.append((tag, values))
        allowed = ALLOWED.get(tag)
        if allowed is None or (tag == "img" and not self.images):
            self.problems.append(f"<{tag}>")
            return
        for name, value in values.items():
            if name not in allowed:
                self.problems.append(f"<{tag} {name}={value!r}>")
        self._check_values(tag, values)

    handle_startendtag = handle_starttag

    def _check_values(self, tag: str, values: dict[str, str]) -> None:
        if "class" in values and not CLASSES.match(values["class"]):
            self.problems.append(f"<{tag} class={values['class']!r}>")
        if tag == "a":
            href = values.get("href", "")
            bare = IGNORED.sub("", href).lower()
            if not SAFE_HREF.match(href) or re.match(r"(javascript|vbscript|data|file):", bare):
                self.problems.append(f"<a href={href!r}>")
            if values.get("rel") != "noopener noreferrer" or values.get("target") != "_blank":
                self.problems.append(f"<a rel/target {values}>")
        if tag == "img":
            expected = {"loading": "lazy", "referrerpolicy": "no-referrer", "decoding": "async"}
            if not IMAGE_SRC.match(values.get("src", "")) or any(
                values.get(k) != v for k, v in expected.items()
            ):
                self.problems.append(f"<img {values}>")
        if tag in ("td", "th") and values.get("align", "left") not in ("left", "center", "right"):
            self.problems.append(f"<{tag} {values}>")
        if tag == "ol" and not re.fullmatch(r"\d{1,10}", values.get("start", "1")):
            self.problems.append(f"<ol {values}>")

    def handle_endtag(self, tag: str) -> None:
        if tag not in ALLOWED:
            self.problems.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.problems.append(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self.problems.append(f"<!{decl}>")

    def unknown_decl(self, data: str) -> None:
        self.problems.append(f"<![{data}]>")

    def handle_pi(self, data: str) -> None:
        self.problems.append(f"<?{data}>")


def check(html: str, images: bool = False) -> Checker:
    checker = Checker(images)
    checker.feed(html)
    checker.close()
    assert checker.problems == [], checker.problems
    assert "<" not in checker.rawdata, "unparsed markup left over"
    return checker


def text_of(html: str) -> str:
    return "".join(check(html, images=True).text)


# -- the corpus ---------------------------------------------------------------------------


@pytest.mark.parametrize("allow_images", [False, True])
@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_corpus_payload_renders_safely(payload: str, allow_images: bool) -> None:
    html = markdown_to_html(payload, allow_images=allow_images)
    checked = check(html, images=allow_images)
    # Nothing is lost: what was markup (or a refused link) is shown as text.
    assert "".join(checked.text).strip() or any(tag == "img" for tag, _ in checked.tags)


@pytest.mark.parametrize("allow_images", [False, True])
def test_the_whole_corpus_as_one_answer_renders_safely(allow_images: bool) -> None:
    answer = "".join(p + "\n\n" for p in PAYLOADS)
    checked = check(markdown_to_html(answer, allow_images=allow_images), images=allow_images)
    images = [attrs["src"] for tag, attrs in checked.tags if tag == "img"]
    if not allow_images:
        assert images == []
    else:
        # Only markdown images with an http(s) URL: never an HTML <img>, srcset or SVG.
        assert set(images) == {
            "https://example.com/a.png",
            "https://evil.example/pixel.gif?user=me",
            "https://evil.example/ref-pixel.png",
            "https://evil.example/split-pixel.png",
        }
    text = "".join(checked.text)
    for shown in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<svg onload"):
        assert shown in text


def test_raw_html_and_refused_links_show_as_text() -> None:
    text = text_of(markdown_to_html("a <b>bold</b> [x](javascript:alert(1)) <iframe src=x>"))
    assert text == "a <b>bold</b> x <iframe src=x>\n"


@pytest.mark.parametrize(
    "markdown",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](&#x6A;avascript&colon;alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html,hi)",
        "[x](<java\tscript:alert(1)>)",
        "[x](\u200bjavascript:alert(1))",
        "<javascript:alert(1)>",
        "[x][r]\n\n[r]: javascript:alert(1)",
        "[x](file:///etc/passwd)",
    ],
)
def test_unsafe_links_lose_their_link(markdown: str) -> None:
    checked = check(markdown_to_html(markdown))
    assert not [tag for tag, _ in checked.tags if tag == "a"]


# -- normal markdown ---------------------------------------------------------------------

NORMAL = """# Title

Some *emphasis*, **strong**, ~~struck~~ and `code`.

## Steps

1. one
2. two

- a
- b

> quoted

| left | right |
|:-----|------:|
| 1    | 2     |

```python
print("<hi>")
```

[site](https://example.com "The site") [mail](mailto:me@example.com) [part](#part) [doc](./doc.md)

---
"""


def test_normal_markdown_renders_as_expected() -> None:
    html = markdown_to_html(NORMAL)
    check(html)
    assert html.startswith('<div class="nbstream-static">')
    assert html.endswith("</div>")
    for fragment in (
        "<h1>Title</h1>",
        "<h2>Steps</h2>",
        "<em>emphasis</em>",
        "<strong>strong</strong>",
        "<s>struck</s>",
        "<code>code</code>",
        "<ol>\n<li>one</li>\n<li>two</li>\n</ol>",
        "<ul>\n<li>a</li>\n<li>b</li>\n</ul>",
        "<blockquote>\n<p>quoted</p>\n</blockquote>",
        '<th align="left">left</th>',
        '<td align="right">2</td>',
        '<pre><code class="language-python">print("&lt;hi&gt;")\n</code></pre>',
        '<a href="https://example.com" title="The site" target="_blank" '
        'rel="noopener noreferrer">site</a>',
        '<a href="mailto:me@example.com" target="_blank" rel="noopener noreferrer">mail</a>',
        '<a href="#part" target="_blank" rel="noopener noreferrer">part</a>',
        '<a href="./doc.md" target="_blank" rel="noopener noreferrer">doc</a>',
        "<hr",
    ):
        assert fragment in html
    assert "style" not in html


def test_images_are_placeholders_unless_allowed() -> None:
    markdown = "![a cat](https://example.com/cat.png) ![svg](data:image/svg+xml,x) ![rel](cat.png)"
    off = markdown_to_html(markdown)
    assert "<img" not in off
    assert off.count('class="nbstream-image"') == 3
    assert 'title="image: https://example.com/cat.png"' in off
    assert "a cat" in text_of(off)

    on = markdown_to_html(markdown, allow_images=True)
    check(on, images=True)
    assert (
        '<img src="https://example.com/cat.png" alt="a cat" loading="lazy" '
        'referrerpolicy="no-referrer" decoding="async">'
    ) in on
    # SVG and relative URLs stay placeholders even when images are allowed.
    assert on.count("<img") == 1
    assert on.count('class="nbstream-image"') == 2


def test_code_fence_languages_cannot_inject_attributes() -> None:
    html = markdown_to_html('```py" onclick="alert(1)\nx\n```\n\n```c++\ny\n```')
    check(html)
    assert "<pre><code>x\n</code></pre>" in html
    assert '<code class="language-c++">' in html


# -- conversations -----------------------------------------------------------------------


def test_conversation_labels_roles_and_renders_only_answers_as_markdown() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is **bold**?\nSecond line\n\nNew paragraph"},
        {
            "role": "assistant",
            "content": "It is **this**.",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": '{"answer": "<b>"}'},
        {"role": "user", "content": [{"type": "text", "text": "parts"}, {"type": "image_url"}]},
        {"role": "assistant", "content": None},
    ]
    html = conversation_to_html(messages)
    checked = check(html)
    assert html.startswith('<div class="nbstream-static nbstream-static-chat">')
    labels = re.findall(r"<p><strong>([^<]+)</strong></p>", html)
    assert labels == ["System prompt", "You", "Assistant", "Tool result", "You", "Assistant"]
    assert "<p>What is **bold**?<br>\nSecond line</p>\n<p>New paragraph</p>" in html
    assert "<p>It is <strong>this</strong>.</p>" in html
    assert "<li>Tool call: <code>lookup</code></li>" in html
    assert '<pre><code>{"answer": "&lt;b&gt;"}</code></pre>' in html
    text = "".join(checked.text)
    assert "parts" in text
    assert "[image]" in text
    assert html.count("<hr>") == len(messages) - 1


@pytest.mark.parametrize("allow_images", [False, True])
def test_the_corpus_in_every_role_of_a_conversation_renders_safely(allow_images: bool) -> None:
    messages: list[dict[str, Any]] = []
    for payload in PAYLOADS:
        messages += [
            {"role": "system", "content": payload},
            {"role": "user", "content": payload},
            {
                "role": "assistant",
                "content": payload,
                "tool_calls": [
                    {"id": payload, "function": {"name": payload, "arguments": payload}}
                ],
            },
            {"role": "tool", "tool_call_id": payload, "content": payload},
            {"role": payload, "content": [{"type": "text", "text": payload}]},
        ]
    check(conversation_to_html(messages, allow_images=allow_images), images=allow_images)


def test_malformed_messages_are_skipped_or_shown_empty() -> None:
    messages: list[Any] = [
        "not a message",
        {"content": "no role"},
        {"role": None, "content": 3},
        {"role": "assistant", "tool_calls": "nope"},
        {"role": "assistant", "tool_calls": [{"function": None}, 5]},
    ]
    html = conversation_to_html(messages)
    check(html)
    assert html.count("nbstream-static-message") == 4
    assert html.count("(unnamed)") == 2


# -- arbitrary input -----------------------------------------------------------------------

# Pieces that make markdown and HTML happen, so generated text often holds markup.
FRAGMENTS = [
    "<", ">", "/", "=", '"', "'", "`", "```", "[", "]", "(", ")", "!", "*", "_", "~~", "#",
    "|", "-", ":", "&", ";", "&#106;", "&#x6A;", "&colon;", "\n", "\n\n", " ", "\t", "    ",
    "javascript:", "data:", "vbscript:", "http://", "https://", "mailto:", "<script>",
    "</script>", "<img", " src=", " onerror=", "<a href=", "style=", "<!--", "-->", "<svg",
    "alert(1)", "1. ", "> ", "| a |", "|---|", "[r]: ", "\\", "\u200b", "\x00",
]  # fmt: skip
TEXT = st.one_of(
    st.text(),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=3)), max_size=40).map("".join),
)


@settings(max_examples=300, deadline=None)
@given(text=TEXT, allow_images=st.booleans())
def test_arbitrary_text_never_yields_markup_outside_the_allowlist(
    text: str, allow_images: bool
) -> None:
    check(markdown_to_html(text, allow_images=allow_images), images=allow_images)


@settings(max_examples=100, deadline=None)
@given(
    messages=st.lists(
        st.fixed_dictionaries(
            {"role": st.sampled_from(["system", "user", "assistant", "tool", "x"]), "content": TEXT}
        ),
        max_size=4,
    ),
    allow_images=st.booleans(),
)
def test_arbitrary_conversations_never_yield_markup_outside_the_allowlist(
    messages: list[dict[str, Any]], allow_images: bool
) -> None:
    check(conversation_to_html(messages, allow_images=allow_images), images=allow_images)
