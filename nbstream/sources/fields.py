"""Reading one field of a provider's object, whatever form the SDK gave it.

Chunks and events arrive as pydantic models (the ``openai`` SDK, with provider extras
as attributes; ``mistralai``, with an ``Unset`` sentinel for a field not sent) or as
plain mappings (raw JSON); every normaliser reads them through :func:`field`, so a
missing field is ``None`` rather than an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["field"]


def field(obj: object, name: str) -> Any:
    """Read ``name`` from a pydantic model (including provider extras) or a mapping.

    >>> field({"delta": {"content": "Hi"}}, "delta")
    {'content': 'Hi'}
    >>> field(None, "delta") is None
    True
    """
    if isinstance(obj, Mapping):
        return obj.get(name)
    value = getattr(obj, name, None)
    # Mistral's models mark a field that was not sent with an `Unset` sentinel.
    return None if type(value).__name__ == "Unset" else value
