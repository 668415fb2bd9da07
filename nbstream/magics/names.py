"""A notebook variable by the name a magic's option gives: ``df``, or ``results.df``."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["lookup"]


def lookup(namespace: Mapping[str, object], name: str) -> object | None:
    """The value ``name`` (dotted for attributes) has in ``namespace``, or None.

    >>> class Results:
    ...     total = 3
    >>> lookup({"results": Results}, "results.total"), lookup({}, "missing")
    (3, None)
    """
    first, *rest = name.split(".")
    value = namespace.get(first)
    for part in rest:
        value = getattr(value, part, None)
    return value
