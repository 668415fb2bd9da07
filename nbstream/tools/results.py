"""What a tool call gives back to the model: its return value, or its failure, as text.

The model only reads text, so a return value becomes what a person would expect to
read: a ``str`` as it is, JSON-serialisable values (and dataclasses, pydantic models) as
JSON, other objects through ``_repr_markdown_`` or ``str()``. A failure is told by its
exception's type, message and the frame it was raised in, so the model can fix its
arguments and try again.
"""

from __future__ import annotations

import dataclasses
import json
import os
import traceback
from typing import Any

__all__ = ["DEFAULT_RESULT_LIMIT", "cut", "error_text", "result_text"]

DEFAULT_RESULT_LIMIT = 20_000
"""Characters of a tool's result the model gets (``Chat(tool_result_limit=...)``).

>>> DEFAULT_RESULT_LIMIT
20000
"""


def result_text(value: object, limit: int = DEFAULT_RESULT_LIMIT) -> str:
    """``value`` as the text the model reads, cut to ``limit`` characters (with a note).

    >>> result_text("Sunny, 21 °C")
    'Sunny, 21 °C'
    >>> result_text({"temperature": 21, "sky": "clear"})
    '{"temperature": 21, "sky": "clear"}'
    >>> result_text("x" * 30, limit=10)
    'xxxxxxxxxx\\n\\n[cut: the result has 30 characters; the first 10 were sent]'
    """
    return cut(_as_text(value), limit)


def cut(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` characters and a note saying it was cut.

    >>> cut("abcdef", 3)
    'abc\\n\\n[cut: the result has 6 characters; the first 3 were sent]'
    """
    if len(text) <= limit:
        return text
    note = f"[cut: the result has {len(text):,} characters; the first {limit:,} were sent]"
    return f"{text[:limit]}\n\n{note}"


def error_text(exc: BaseException) -> str:
    """The failure of a tool as the model reads it: type, message, and where it was raised.

    >>> def divide(a: float, b: float) -> float:
    ...     return a / b
    >>> try:
    ...     divide(1, 0)
    ... except ZeroDivisionError as exc:
    ...     print(error_text(exc))  # doctest: +ELLIPSIS
    ZeroDivisionError: division by zero (raised in divide, ...:2)
    """
    message = str(exc).strip()
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        text += f" (raised in {last.name}, {os.path.basename(last.filename)}:{last.lineno})"
    return text


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    as_json = _json(value)
    if as_json is not None:
        return as_json
    markdown = getattr(value, "_repr_markdown_", None)
    if callable(markdown):
        try:
            shown = markdown()
        except Exception:  # a broken repr must not hide the value: fall back to str()
            shown = None
        if isinstance(shown, tuple):  # (markdown, metadata), as IPython allows
            shown = shown[0]
        if isinstance(shown, str):
            return shown
    return str(value)


def _json(value: object) -> str | None:
    data: Any = value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = dataclasses.asdict(value)
    else:
        dump = getattr(value, "model_dump", None)  # pydantic models
        if callable(dump):
            try:
                data = dump(mode="json")
            except Exception:
                return None
    if not isinstance(data, (dict, list, tuple, int, float, bool, type(None))):
        return None
    try:
        return json.dumps(data, ensure_ascii=False)
    except (TypeError, ValueError):
        return None
