"""How the local server refuses a request: :class:`RequestError`, and the checks it shares.

Used by every wire format's request parser (:mod:`nbstream.local.options` for chat and
Responses, :mod:`nbstream.local.messages_request`, :mod:`nbstream.local.ollama_chat`,
:mod:`nbstream.local.gemini_generate`), by :mod:`nbstream.local.tools` (the tools a
request offers) and :mod:`nbstream.local.replay` (the ``"replay"`` option), so a field
of the same kind is refused in the same words whichever SDK sent it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["RequestError", "flag", "is_int", "matching", "non_empty_list"]


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


def non_empty_list(data: Mapping[str, Any], field: str, *, of: str) -> list[Any]:
    """``data[field]``, if it is a non-empty list (the conversation every format needs).

    Raises:
        RequestError: It is missing, empty or not a list; the message says what ``of``
            it should hold.

    Example:
        >>> from nbstream.local.validation import non_empty_list
        >>> non_empty_list({"messages": [{"role": "user"}]}, "messages", of="{role, content}")
        [{'role': 'user'}]
        >>> from nbstream.local.validation import RequestError
        >>> try:
        ...     non_empty_list({"contents": []}, "contents", of="{role, parts}")
        ... except RequestError as error:
        ...     print(error.param, "|", error)
        contents | 'contents' is required: a non-empty list of {role, parts} objects.
    """
    value = data.get(field)
    if not isinstance(value, list) or not value:
        raise RequestError(f"'{field}' is required: a non-empty list of {of} objects.", param=field)
    return value


def flag(data: Mapping[str, Any], field: str, *, default: bool, param: str | None = None) -> bool:
    """``data[field]`` if it is a boolean; ``default`` if it is missing or ``null``.

    Raises:
        RequestError: It is something else (``"yes"``, ``1``); it names ``param``, the
            field's whole path (``field`` when not given).

    Example:
        >>> from nbstream.local.validation import flag
        >>> flag({"stream": True}, "stream", default=False), flag({}, "stream", default=True)
        (True, True)
    """
    value = data.get(field)
    if value is None:
        return default
    if not isinstance(value, bool):
        where = param or field
        raise RequestError(f"'{where}' must be a boolean.", param=where)
    return value
