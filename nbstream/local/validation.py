"""How the local server refuses a request: :class:`RequestError`, and the checks it shares.

Used by :mod:`nbstream.local.options` (the chat and Responses requests and their
``"nbstream"`` options) and :mod:`nbstream.local.replay` (the ``"replay"`` option).
"""

from __future__ import annotations

__all__ = ["RequestError", "is_int"]


class RequestError(ValueError):
    """A request the server refuses with HTTP 400; ``param`` names the field at fault."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def is_int(value: object) -> bool:
    """Whether ``value`` is an int, and not a bool (``true`` is never a sensible count)."""
    return isinstance(value, int) and not isinstance(value, bool)
