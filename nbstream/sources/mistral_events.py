"""Mistral's streams (``client.chat.stream(...)`` / ``stream_async``) → chat chunks.

Pure, and no ``mistralai`` import. Each item of an ``EventStream`` is a
``CompletionEvent`` whose ``data`` is a ``CompletionChunk`` in the OpenAI shape
(``choices[].delta``, ``finish_reason``, ``usage``), so unwrapped it is read as any chat
chunk is (:class:`~nbstream.sources.ChunkParser`): ``delta.content`` as a list of typed
parts, Magistral's ``thinking`` among them, becomes reasoning there; fields Mistral did
not send are its ``Unset`` sentinel, which :func:`~nbstream.sources.fields.field` reads as
missing.
"""

from __future__ import annotations

from nbstream.sources.sdk_objects import package_of

__all__ = ["is_mistral_event", "unwrap_mistral_event"]


def is_mistral_event(item: object) -> bool:
    """Whether ``item`` is a ``mistralai`` ``CompletionEvent``."""
    return type(item).__name__ == "CompletionEvent" and package_of(item) == "mistralai"


def unwrap_mistral_event(item: object) -> object:
    """The chunk a ``CompletionEvent`` carries; any other item as it is.

    >>> unwrap_mistral_event({"choices": []})
    {'choices': []}
    """
    return getattr(item, "data", item) if is_mistral_event(item) else item
