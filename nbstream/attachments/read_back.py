"""Attachments read back from a message's content parts: for a history loaded with
``chat.messages = ...`` (its user turns show their chips again), and for the local
model, which answers about what was attached.

Each attachment's text part starts with its header line (:mod:`.headers`); an image's
is followed by its ``image_url`` part. An image part without one (a message written
by hand) is an image all the same; text parts without one are the question.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nbstream.attachments.attachment import AttachmentView
from nbstream.attachments.errors import AttachmentError
from nbstream.attachments.headers import Header, parse_header
from nbstream.attachments.images import parse_data_url, sniff, thumbnail

__all__ = ["ReadBack", "read_back"]

_KINDS = {"image": "image", "table": "table", "file": "text", "text": "text"}


@dataclass
class ReadBack:
    """A user message's content, split into the question and its attachments.

    Attributes:
        question: The text parts that are not an attachment's, joined by blank lines.
        parts: The attachments' parts, in chat-completions form (Responses API
            ``input_text`` / ``input_image`` parts become ``text`` / ``image_url``).
        views: One :data:`AttachmentView` per attachment (for the widget's chips).
        headers: Each attachment's header (None for an image part that had none).
        images: Each attachment's image bytes, or None (not an image, or not a ``data:`` URL).
    """

    question: str = ""
    parts: list[dict[str, Any]] = field(default_factory=list)
    views: list[AttachmentView] = field(default_factory=list)
    headers: list[Header | None] = field(default_factory=list)
    images: list[bytes | None] = field(default_factory=list)


def read_back(content: object) -> ReadBack:
    """Split chat-completions (or Responses API) ``content`` into question and attachments.

    Example:
        >>> content = [
        ...     {"type": "text", "text": "What is in it?"},
        ...     {"type": "text", "text": "Attached table `df` (2 rows × 1 column):\\n..."},
        ... ]
        >>> found = read_back(content)
        >>> found.question, [(v["kind"], v["name"], v["detail"]) for v in found.views]
        ('What is in it?', [('table', 'df', '2 rows × 1 column')])
    """
    found = ReadBack()
    if isinstance(content, str):
        found.question = content
        return found
    if not isinstance(content, Sequence):
        return found
    questions: list[str] = []
    pending: Header | None = None  # an image's header, waiting for its image part
    for part in content:
        if not isinstance(part, Mapping):
            continue
        text = part.get("text")
        url = _image_url(part)
        if isinstance(text, str):
            if pending is not None:  # a header whose image never came
                _add(found, pending, None, {})
                pending = None
            header = parse_header(text)
            if header is None:
                questions.append(text)
            elif header.noun == "image":
                pending = header
                found.parts.append({"type": "text", "text": text})
            else:
                found.parts.append({"type": "text", "text": text})
                _add(found, header, None, part)
        elif url is not None:
            found.parts.append(dict(part) if part.get("type") == "image_url" else _chat_image(url))
            _add(found, pending, url, part)
            pending = None
    if pending is not None:
        _add(found, pending, None, {})
    found.question = "\n\n".join(questions)
    return found


def _chat_image(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


def _image_url(part: Mapping[str, Any]) -> str | None:
    value = part.get("image_url")
    if isinstance(value, Mapping):  # chat completions: {"url": ...}
        value = value.get("url")
    return value if isinstance(value, str) else None


def _name_of(url: str | None) -> str:
    """A name for an image part that came without a header: its URL's last segment."""
    if not url or url.startswith("data:"):
        return "image"
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1][:80] or "image"


def _add(found: ReadBack, header: Header | None, url: str | None, part: Mapping[str, Any]) -> None:
    decoded = parse_data_url(url) if url else None
    data = decoded[1] if decoded else None
    view: AttachmentView = {
        "kind": _KINDS[header.noun] if header else "image",
        "name": header.name if header else _name_of(url),
        "size": len(data) if data is not None else len(str(part.get("text", "")).encode()),
        "detail": header.detail if header else "",
        "thumbnail": "",
    }
    if data is not None:
        try:
            info = sniff(data)
            view["thumbnail"] = thumbnail(data, info)
            view["detail"] = (
                view["detail"] or f"{info.width} × {info.height} px {info.format.upper()}"
            )
        except AttachmentError:
            data = None  # not an image after all: no thumbnail, and nothing to describe
    found.views.append(view)
    found.headers.append(header)
    found.images.append(data)
