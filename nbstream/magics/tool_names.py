"""``--tools f,g``: the notebook's functions that ``%%chat`` offers the model, by name.

Names are looked up each time a cell runs, so a function redefined in the notebook is
the one the next ``%%chat`` cell calls; ``%chat_config --tools`` checks them at once,
so that a typo is reported where it was made.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from IPython.core.error import UsageError

from nbstream.magics.names import lookup
from nbstream.tools import Tool, tools_from

__all__ = ["find_tools", "tool_names"]


def tool_names(value: str) -> tuple[str, ...]:
    """The argparse type of ``--tools``: comma-separated names (``''`` for none).

    >>> tool_names("get_weather, add")
    ('get_weather', 'add')
    >>> tool_names("")
    ()
    >>> tool_names("add,add(1)")
    Traceback (most recent call last):
      ...
    argparse.ArgumentTypeError: 'add(1)' is not a name: --tools takes the names of ...
    """
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    for name in names:
        if not all(part.isidentifier() for part in name.split(".")):
            raise argparse.ArgumentTypeError(
                f"{name!r} is not a name: --tools takes the names of the notebook's "
                "functions, separated by commas, e.g. --tools get_weather,add"
            )
    if len(set(names)) < len(names):
        raise argparse.ArgumentTypeError(f"a name is repeated in {value!r}")
    return names


def find_tools(namespace: Mapping[str, object], names: tuple[str, ...]) -> list[Tool]:
    """The functions ``names`` name in ``namespace`` (the notebook's), as tools.

    Raises:
        UsageError: A name that is not defined (all such names are listed), or that
            is not a function a model can call.

    Example:
        >>> def add(a: int, b: int) -> int:
        ...     return a + b
        >>> [tool.name for tool in find_tools({"add": add}, ("add",))]
        ['add']
        >>> find_tools({"add": add}, ("add", "mul", "div"))
        Traceback (most recent call last):
          ...
        IPython.core.error.UsageError: --tools: no function named 'mul' or 'div' in the ...
    """
    missing = [name for name in names if lookup(namespace, name) is None]
    if missing:
        listed = " or ".join(repr(name) for name in missing)
        raise UsageError(
            f"--tools: no function named {listed} in the notebook; define "
            f"{'it' if len(missing) == 1 else 'them'} first (def or async def)"
        )
    tools: list[Tool] = []
    for name in names:
        value = lookup(namespace, name)
        try:
            [tool] = tools_from([value])
        except TypeError as exc:
            raise UsageError(f"--tools: {name} cannot be a tool: {exc}") from None
        tools.append(tool)
    return tools
