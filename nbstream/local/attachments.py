"""The local model's answer to a question with attachments: what each one is, exactly.

When the last message of a conversation is the user's and carries attachments (as
:mod:`nbstream.attachments` writes them, or image parts of the user's own), the model
answers with one line per attachment, in their order::

    You attached 3 things:

    - Image `figure.png`: PNG, 640 × 480 px, mean colour #1f77b4.
    - Table `df`: 3 rows × 2 columns; columns `city`, `temperature`.
    - File `notes.txt`: 12 lines.

The image's format and pixel size are those of the bytes it was sent as (after any
downscaling); its mean colour is over all pixels, alpha ignored (it needs pillow; without
it the line says so). A table's size and columns come from its text's header and
``Columns:`` block, a file's line count from its header. An image given as a link rather
than data says it cannot be seen. Everything is derived from the request, so a test can
compare with what it attached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nbstream.attachments.errors import AttachmentError
from nbstream.attachments.headers import Header, parse_columns
from nbstream.attachments.images import mean_colour, sniff
from nbstream.attachments.read_back import read_back

__all__ = ["answer_attachments"]


def answer_attachments(messages: Sequence[Mapping[str, Any]]) -> str | None:
    """The answer describing the last message's attachments, or None if it has none.

    Example:
        >>> text = "Attached file `notes.txt` (2 lines):\\n```\\na\\nb\\n```"
        >>> message = {"role": "user", "content": [{"type": "text", "text": text}]}
        >>> print(answer_attachments([message]))
        You attached 1 thing:
        <BLANKLINE>
        - File `notes.txt`: 2 lines.
    """
    if not messages or messages[-1].get("role") != "user":
        return None
    found = read_back(messages[-1].get("content"))
    if not found.views:
        return None
    texts = iter(part.get("text", "") for part in found.parts if part.get("type") == "text")
    lines: list[str] = []
    for view, header, data in zip(found.views, found.headers, found.images, strict=True):
        name = str(view["name"])
        if view["kind"] == "image":
            if header is not None:
                next(texts, "")  # the image's header line
            lines.append(f"- Image `{name}`: {_image_facts(data)}.")
        else:
            lines.append(_text_line(header, next(texts, "")))
    count = len(lines)
    return f"You attached {count} thing{'s' if count != 1 else ''}:\n\n" + "\n".join(lines)


def _image_facts(data: bytes | None) -> str:
    if data is None:
        return "given as a link, not as data, so I cannot see it"
    try:
        info = sniff(data)
        colour = mean_colour(data)
    except AttachmentError as exc:
        return f"I cannot read it ({exc})"
    shade = f"mean colour {colour}" if colour else "mean colour unknown (pillow is not installed)"
    return f"{info.format.upper()}, {info.width} × {info.height} px, {shade}"


def _text_line(header: Header | None, text: str) -> str:
    assert header is not None  # read_back gives a header to every text attachment
    if header.noun == "table":
        columns = ", ".join(f"`{column}`" for column in parse_columns(text))
        return f"- Table `{header.name}`: {header.detail}; columns {columns or '(none)'}."
    return f"- {header.noun.capitalize()} `{header.name}`: {header.detail}."
