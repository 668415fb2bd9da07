"""Static, sanitized HTML of a finished answer or conversation, for saved notebooks.

A widget needs its JavaScript and a trusted notebook to show anything. This HTML needs
neither: it is what nbconvert, GitHub, nbviewer and an untrusted notebook can show. It
follows the same rules as the live renderer (js/src/markdown.ts and sanitize.ts):

- raw HTML in model output is shown as the text it is, never as markup;
- links are kept only for http, https, mailto, relative URLs and fragments, and open in
  a new tab with ``rel="noopener noreferrer"``;
- images are never fetched unless the caller allows them, and then only http(s) and
  raster ``data:`` images (PNG, GIF, JPEG, WebP), lazily and without a Referer;
- no ``style`` anywhere, no scripts, no event handlers: only plain semantic elements,
  so it looks native under JupyterLab's and GitHub's own stylesheets.

>>> markdown_to_html("**Hi** <script>")
'<div class="nbstream-static"><p><strong>Hi</strong> &lt;script&gt;</p>\\n</div>'
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

__all__ = ["conversation_to_html", "markdown_to_html"]

# -- URL rules (the same as js/src/url.ts) ---------------------------------------------

_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
# Browsers drop these anywhere in a URL before reading its scheme ("java\tscript:"), so
# we drop them too before judging it; C1 controls and invisible spaces go as well.
_IGNORED = re.compile("[\u0000-\u0020\u007f-\u009f\u00ad\u200b-\u200f\u2028\u2029\ufeff]")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):")
# Images are fetched as soon as they are shown, so their rule allowlists whole URLs:
# absolute http(s) with nothing a URL parser would strip or reinterpret, or an inline
# raster image (never SVG, which can carry script).
_IMAGE_HTTP = re.compile(r"^https?://[^\u0000-\u0020\u007f-\u009f\"'<>\\`]+$", re.IGNORECASE)
_IMAGE_DATA = re.compile(
    r"^data:image/(?:png|gif|jpeg|webp)(?:;base64)?,[a-z0-9+/=%._~-]*$", re.IGNORECASE
)
# Code-fence languages become a class; anything else is dropped.
_LANGUAGE = re.compile(r"^[\w+#.-]{1,40}$")
_ALIGN = re.compile(r"text-align:(left|center|right)")


def _is_safe_link(url: str) -> bool:
    """http(s), mailto, or relative / a fragment. A colon before the first ``/``, ``?``
    or ``#`` must follow an allowed scheme, so an unparseable scheme is refused."""
    bare = _IGNORED.sub("", url).lower()
    scheme = _SCHEME.match(bare)
    if scheme:
        return scheme.group(1) in _SAFE_SCHEMES
    colon = bare.find(":")
    if colon < 0:
        return True
    path_start = min((i for i in (bare.find(c) for c in "/?#") if i >= 0), default=-1)
    return 0 <= path_start < colon


def _is_loadable_image(url: str) -> bool:
    return bool(_IMAGE_HTTP.match(url) or _IMAGE_DATA.match(url))


def _attr(value: str) -> str:
    """Escape for a double-quoted attribute value."""
    return html.escape(value, quote=True)


# -- the markdown renderer ----------------------------------------------------------------


def _link_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    href = str(token.attrGet("href") or "")
    # Unsafe links keep their text and lose the link, as in the live view; the matching
    # link_close must know (links cannot nest, so one flag is enough).
    if not _is_safe_link(href):
        env["nbstream_dropped_link"] = True
        return ""
    title = token.attrGet("title")
    title_attr = f' title="{_attr(str(title))}"' if title else ""
    return f'<a href="{_attr(href)}"{title_attr} target="_blank" rel="noopener noreferrer">'


def _link_close(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    if env.pop("nbstream_dropped_link", False):
        return ""
    return "</a>"


def _image(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = self.renderInlineAsText(token.children or [], options, env)
    if env.get("nbstream_allow_images") and _is_loadable_image(src):
        return (
            f'<img src="{_attr(src)}" alt="{_attr(alt)}" loading="lazy" '
            'referrerpolicy="no-referrer" decoding="async">'
        )
    # Never fetched: a remote image tells its server the notebook was opened, and model
    # output chose the URL.
    title = f' title="{_attr("image: " + src)}"' if src else ""
    return f'<span class="nbstream-image"{title}>🖼\u00a0{html.escape(alt or "image")}</span>'


def _fence(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    language = token.info.strip().split(maxsplit=1)[0] if token.info.strip() else ""
    cls = f' class="language-{language}"' if _LANGUAGE.match(language) else ""
    return f"<pre><code{cls}>{html.escape(token.content, quote=False)}</code></pre>\n"


def _cell_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # Alignment as the `align` attribute, not inline style: GitHub keeps it, and the
    # output carries no style at all.
    token = tokens[idx]
    align = _ALIGN.search(str(token.attrGet("style") or ""))
    align_attr = f' align="{align.group(1)}"' if align else ""
    return f"<{token.tag}{align_attr}>"


def _make_renderer() -> MarkdownIt:
    # CommonMark with raw HTML off: markup in model output is escaped text.
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    # Every destination reaches the render rules, which decide (and keep the text of a
    # refused link, as the live view does, instead of the markdown source).
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("link_close", _link_close)
    md.add_render_rule("image", _image)
    md.add_render_rule("fence", _fence)
    md.add_render_rule("th_open", _cell_open)
    md.add_render_rule("td_open", _cell_open)
    return md


_MD = _make_renderer()


def _render(text: str, allow_images: bool) -> str:
    env: dict[str, Any] = {"nbstream_allow_images": allow_images}
    rendered: str = _MD.render(text, env)
    return rendered


def markdown_to_html(text: str, *, allow_images: bool = False) -> str:
    """Render a finished answer's markdown as sanitized, self-contained HTML.

    Args:
        text: The markdown (untrusted model output).
        allow_images: Load images with an http(s) or raster ``data:`` URL. Off, every
            image is shown as a placeholder with its alt text and address.

    Returns:
        ``<div class="nbstream-static">…</div>``: no scripts, styles, event handlers or
        unsafe URLs, whatever ``text`` holds.
    """
    return f'<div class="nbstream-static">{_render(text, allow_images)}</div>'


# -- conversations --------------------------------------------------------------------

_LABELS = {
    "system": "System prompt",
    "user": "You",
    "assistant": "Assistant",
    "tool": "Tool result",
}


def _plain(text: str) -> str:
    """Text shown as typed: paragraphs at blank lines, line breaks kept, nothing parsed."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join(
        "<p>" + "<br>\n".join(html.escape(line) for line in p.split("\n")) + "</p>\n"
        for p in paragraphs
    )


def _content_text(content: object) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts: list[str] = []
        for part in content:
            if isinstance(part, Mapping):
                value = part.get("text")
                if isinstance(value, str):
                    texts.append(value)
                elif part.get("type") in ("image_url", "input_image", "image"):
                    texts.append("[image]")
        return "\n\n".join(texts)
    return ""


def _tool_calls(calls: object) -> str:
    if not isinstance(calls, list):
        return ""
    names: list[str] = []
    for call in calls:
        function = call.get("function") if isinstance(call, Mapping) else None
        name = function.get("name") if isinstance(function, Mapping) else None
        names.append(name if isinstance(name, str) and name else "(unnamed)")
    if not names:
        return ""
    items = "".join(f"<li>Tool call: <code>{html.escape(n)}</code></li>\n" for n in names)
    return f"<ul>\n{items}</ul>\n"


def _message(message: Mapping[str, Any], allow_images: bool) -> str:
    role = message.get("role")
    role = role if isinstance(role, str) else "unknown"
    label = _LABELS.get(role, role.capitalize() or "Message")
    text = _content_text(message.get("content"))
    if role == "assistant":
        # Answers are markdown (model output); everything else is shown as typed.
        body = _render(text, allow_images) + _tool_calls(message.get("tool_calls"))
    elif role == "tool":
        body = f"<pre><code>{html.escape(text, quote=False)}</code></pre>\n" if text else ""
    else:
        body = _plain(text)
    return (
        f'<div class="nbstream-static-message">\n'
        f"<p><strong>{html.escape(label)}</strong></p>\n{body}</div>\n"
    )


def conversation_to_html(
    messages: Sequence[Mapping[str, Any]], *, allow_images: bool = False
) -> str:
    """Render a chat transcript (OpenAI-format messages) as sanitized, self-contained HTML.

    Each message gets a role label ("System prompt", "You", "Assistant", "Tool result").
    Assistant text is rendered as markdown, like :func:`markdown_to_html`, with its tool
    calls listed by name; user, system and tool text is shown as typed.

    Args:
        messages: ``{"role": ..., "content": ...}`` dicts, as ``Chat.messages`` returns.
            Content may be a string, None, or a list of content parts (their text is shown).
        allow_images: As for :func:`markdown_to_html`, for images in answers.

    Returns:
        ``<div class="nbstream-static nbstream-static-chat">…</div>``, messages separated by
        horizontal rules.
    """
    parts = [_message(m, allow_images) for m in messages if isinstance(m, Mapping)]
    inner = "<hr>\n".join(parts)
    return f'<div class="nbstream-static nbstream-static-chat">\n{inner}</div>'
