"""An :class:`Attachment`: one image, table or text, ready to send; what the browser
shows of it (:meth:`Attachment.view`), and the line copies show (:func:`placeholder`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from nbstream.attachments.headers import cut_note, fenced, header_line, lines_detail
from nbstream.attachments.limits import AttachmentLimits, human_size

__all__ = ["Attachment", "AttachmentKind", "AttachmentView", "placeholder"]

AttachmentKind = Literal["image", "table", "text"]

AttachmentView = dict[str, Any]
"""What the browser gets of an attachment: ``kind``, ``name``, ``size``, ``detail`` and
``thumbnail`` (a small ``data:`` URL, or "") — never the full image."""

_ICONS = {"image": "🖼", "table": "📊", "text": "📄"}
# Fence languages that would only be noise: the text is prose, or JSON of a notebook.
_NO_LANGUAGE = ("md", "txt", "ipynb")


@dataclass(frozen=True)
class Attachment:
    """One attachment of a question, converted: what the model gets, and what shows.

    Make one with :func:`~nbstream.attachments.attach` (from a DataFrame, an image, a
    path, ...), or from text of your own with :meth:`from_text`.

    Attributes:
        kind: ``"image"``, ``"table"`` or ``"text"``.
        name: Shown on its chip and told to the model.
        size: Bytes of the original (a file's, an image's, or the text's UTF-8).
        detail: Its shape in words: ``"640 × 480 px PNG"``, ``"3 rows × 2 columns"``.
        text: What the model reads: a table's or a text's whole text, an image's
            header line.
        url: The image as sent (a ``data:`` URL), for images.
        thumbnail: A small ``data:`` URL of an image, or "".

    Example:
        >>> note = Attachment.from_text("line one\\nline two\\n", name="notes.md")
        >>> note.kind, note.detail
        ('text', '2 lines')
        >>> print(note.parts()[0]["text"])
        Attached text `notes.md` (2 lines):
        ```
        line one
        line two
        ```
    """

    kind: AttachmentKind
    name: str
    size: int
    detail: str
    text: str = ""
    url: str = ""
    thumbnail: str = ""

    @classmethod
    def from_text(
        cls,
        text: str,
        *,
        name: str,
        limits: AttachmentLimits | None = None,
        noun: Literal["text", "file"] = "text",
    ) -> Attachment:
        """Attach ``text`` under ``name`` (e.g. ``"notes.md"``); long texts are cut.

        ``noun`` is what the model is told it is: ``"file"`` for a file's contents.

        Raises:
            TypeError: ``text`` or ``name`` is not a str.

        Example::

            notes = Attachment.from_text(open("notes.txt").read(), name="notes.txt")
            chat.ask("Summarise my notes", attachments=[notes])
        """
        if not isinstance(text, str) or not isinstance(name, str):
            raise TypeError("Attachment.from_text(text, name=...) takes two str")
        limits = limits or AttachmentLimits()
        detail = lines_detail(text)
        body = text[: limits.text_chars]
        language = name.rsplit(".", 1)[-1] if "." in name else ""
        if language in _NO_LANGUAGE:
            language = ""
        block = f"{header_line(noun, name, detail)}\n{fenced(body, language)}"
        if len(body) < len(text):
            block += "\n" + cut_note(len(body), len(text))
        return cls("text", name, len(text.encode("utf-8", "surrogatepass")), detail, text=block)

    def parts(self) -> list[dict[str, Any]]:
        """The chat-completions content parts: ``text``, or an image's header line and
        its ``image_url`` (so the model knows the image's name).

        >>> header = "Attached image `a.gif` (1 × 1 px GIF):"
        >>> gif = Attachment("image", "a.gif", 3, "", header, url="data:image/gif;base64,R0lG")
        >>> gif.parts()[1]
        {'type': 'image_url', 'image_url': {'url': 'data:image/gif;base64,R0lG'}}
        """
        parts: list[dict[str, Any]] = [{"type": "text", "text": self.text}]
        if self.kind == "image":
            parts.append({"type": "image_url", "image_url": {"url": self.url}})
        return parts

    def responses_parts(self) -> list[dict[str, Any]]:
        """The Responses API content parts: ``input_text``, and ``input_image`` for an image.

        >>> Attachment("image", "a.gif", 3, "", "Attached image `a.gif` ():",
        ...            url="data:image/gif;base64,R0lG").responses_parts()[1]
        {'type': 'input_image', 'image_url': 'data:image/gif;base64,R0lG'}
        """
        parts: list[dict[str, Any]] = [{"type": "input_text", "text": self.text}]
        if self.kind == "image":
            parts.append({"type": "input_image", "image_url": self.url})
        return parts

    def view(self) -> AttachmentView:
        """What the browser shows: kind, name, size, detail, thumbnail; never the image.

        >>> Attachment.from_text("hi", name="a.txt").view()
        {'kind': 'text', 'name': 'a.txt', 'size': 2, 'detail': '1 line', 'thumbnail': ''}
        """
        return {
            "kind": self.kind,
            "name": self.name,
            "size": self.size,
            "detail": self.detail,
            "thumbnail": self.thumbnail,
        }


def placeholder(view: AttachmentView, *, markdown: bool = True) -> str:
    """The line a copy shows for an attachment: markdown for an export, or plain text
    (``markdown=False``) where the user's words are shown as typed (the static HTML).

    >>> placeholder({"kind": "table", "name": "df", "size": 0, "detail": "3 rows × 2 columns"})
    '📊 *table* `df` (3 rows × 2 columns)'
    >>> placeholder({"kind": "image", "name": "fig.png", "size": 23456, "detail": "64 × 48 px PNG"})
    '🖼 *image* `fig.png` (64 × 48 px PNG, 23.5 kB)'
    >>> placeholder({"kind": "text", "name": "a.md", "detail": "2 lines"}, markdown=False)
    '📄 text a.md (2 lines)'
    """
    kind = str(view.get("kind", "text"))
    name = " ".join(str(view.get("name", "")).split()).replace("`", "'")
    facts = [str(view.get("detail", ""))]
    if kind == "image" and view.get("size"):
        facts.append(human_size(int(view["size"])))
    details = ", ".join(fact for fact in facts if fact)
    label = f"*{kind}* `{name}`" if markdown else f"{kind} {name}"
    return f"{_ICONS.get(kind, '📎')} {label}" + (f" ({details})" if details else "")
