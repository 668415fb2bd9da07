"""A question and its attachments as the content of a user message, for chat
completions (:func:`user_content`) and for the Responses API (:func:`responses_content`).

The question's text comes first, then each attachment's parts, in the order given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nbstream.attachments.attachment import Attachment

__all__ = ["responses_content", "user_content"]


def user_content(text: str, attachments: Sequence[Attachment]) -> str | list[dict[str, Any]]:
    """A chat-completions user message's ``content``: ``text`` alone when nothing is
    attached, else a list of ``text`` and ``image_url`` parts.

    Example:
        >>> from nbstream.attachments import Attachment
        >>> user_content("Hi", [])
        'Hi'
        >>> note = Attachment.from_text("x", name="a.txt")
        >>> [part["type"] for part in user_content("Read this", [note])]
        ['text', 'text']
    """
    if not attachments:
        return text
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    for attachment in attachments:
        parts.extend(attachment.parts())
    return parts


def responses_content(text: str, attachments: Sequence[Attachment]) -> list[dict[str, Any]]:
    """A Responses API input message's ``content``: ``input_text`` and ``input_image`` parts.

    Example::

        from nbstream.attachments import attach, responses_content
        stream = client.responses.create(
            model="gpt-4o-mini",
            input=[{"role": "user", "content": responses_content("Describe it", [attach(fig)])}],
            stream=True,
        )
        StreamView(stream)
    """
    parts: list[dict[str, Any]] = [{"type": "input_text", "text": text}] if text else []
    for attachment in attachments:
        parts.extend(attachment.responses_parts())
    return parts
