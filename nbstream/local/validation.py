"""How the local server refuses a request: :class:`RequestError`, and the checks it shares.

Used by :mod:`nbstream.local.options` (the chat and Responses requests and their
``"nbstream"`` options), :mod:`nbstream.local.tools` (the tools a request offers) and
:mod:`nbstream.local.replay` (the ``"replay"`` option).
"""

from __future__ import annotations

import re

__all__ = ["RequestError", "is_int", "matching"]


class RequestError(ValueError):
    """A request the server refuses with HTTP 400; ``param`` names the field at fault."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def is_int(value: object) -> bool:
    """Whether ``value`` is an int, and not a bool (``true`` is never a sensible count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def matching(value: object, pattern: re.Pattern[str], *, param: str, rule: str) -> str:
    """``value``, if it is a string that ``pattern`` matches whole (a name, say).

    Raises:
        RequestError: It is not; the message says ``param`` must be ``rule``.

    Example:
        >>> import re
        >>> from nbstream.local.validation import matching
        >>> matching("add", re.compile(r"[a-z]+"), param="tools[0].name", rule="lower case")
        'add'
    """
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise RequestError(f"'{param}' must be {rule}; got {value!r}.", param=param)
    return value
