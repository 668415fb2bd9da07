"""The argparse types shared by ``nbstream``'s command line and the ``%%chat`` magics.

Both read numbers from words typed by a person, and both should refuse the same way:
one sentence with the rule and the word given, after argparse's own
``argument --option:`` prefix.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import overload

__all__ = ["number"]


@overload
def number(
    kind: type[int],
    *,
    minimum: int,
    maximum: int | None = ...,
    exclusive: bool = ...,
    what: str | None = ...,
) -> Callable[[str], int]: ...
@overload
def number(
    kind: type[float] = ...,
    *,
    minimum: float,
    maximum: float | None = ...,
    exclusive: bool = ...,
    what: str | None = ...,
) -> Callable[[str], float]: ...
def number(
    kind: type[int] | type[float] = float,
    *,
    minimum: float,
    maximum: float | None = None,
    exclusive: bool = False,
    what: str | None = None,
) -> Callable[[str], float]:
    """An argparse ``type=`` for a finite number of ``kind`` at least ``minimum``
    (above it, if ``exclusive``), and at most ``maximum`` when one is given.

    ``what`` names the number in the error ("a number of seconds"); by default "a whole
    number" for ``int``, "a number" for ``float``. NaN and infinities are refused: no
    option means them.

    Example:
        >>> seconds = number(minimum=0, exclusive=True, what="a number of seconds")
        >>> seconds("2.5")
        2.5
        >>> seconds("0")
        Traceback (most recent call last):
          ...
        argparse.ArgumentTypeError: must be a number of seconds > 0, got '0'
        >>> parser = argparse.ArgumentParser(prog="p", exit_on_error=False)
        >>> _ = parser.add_argument("--max-tokens", type=number(int, minimum=1))
        >>> parser.parse_args(["--max-tokens", "400"]).max_tokens
        400
        >>> parser.parse_args(["--max-tokens", "1.5"])
        Traceback (most recent call last):
          ...
        argparse.ArgumentError: argument --max-tokens: must be a whole number >= 1, got '1.5'
        >>> number(int, minimum=0, maximum=65535, what="a port number")("70000")
        Traceback (most recent call last):
          ...
        argparse.ArgumentTypeError: must be a port number in 0..65535, got '70000'
    """
    noun = what or ("a whole number" if kind is int else "a number")
    if maximum is None:
        rule = f"{noun} {'>' if exclusive else '>='} {minimum:g}"
    else:
        rule = f"{noun} in {minimum:g}..{maximum:g}"

    def parse(text: str) -> float:
        try:
            value: float = kind(text)
        except ValueError:
            value = math.nan  # refused below, with the rule, like any other wrong value
        allowed = value > minimum if exclusive else value >= minimum  # False for NaN
        if maximum is not None:
            allowed = allowed and value <= maximum
        if not (allowed and math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text!r}")
        return value

    return parse
