"""The text of a chat message's ``content``, in the OpenAI format the history is kept in.

A message's content is a string, or a list of parts (``text``, ``image_url``...): every
translation of the history (to Anthropic, Gemini...) and the local model read its text
here.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["content_text"]


def content_text(content: object) -> str:
    """The text of ``content``: the string itself, or its text parts joined.

    >>> content_text([{"type": "text", "text": "Hi "}, {"type": "image_url"}, {"text": "there"}])
    'Hi there'
    >>> content_text(None)
    ''
    """
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else ()
    return "".join(
        part["text"]
        for part in parts
        if isinstance(part, Mapping) and isinstance(part.get("text"), str)
    )
