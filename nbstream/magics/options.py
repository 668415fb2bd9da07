"""What ``%%chat`` and ``%chat_config`` lines say: the settings, and their parsers.

Both magics share the request options (``--model``, ``--system``, ``--temperature``,
``--max-tokens``, ``--idle-timeout``, ``--tools``); a mistake is one ``UsageError`` line, never a
usage dump or a ``SystemExit`` that would stop the cell oddly.
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass, field
from typing import Any, NoReturn

from IPython.core.error import UsageError

from nbstream.arguments import number
from nbstream.magics.attach_names import attach_names
from nbstream.magics.tool_names import tool_names

__all__ = [
    "CellOptions",
    "ChatSettings",
    "ConfigOptions",
    "parse_cell_options",
    "parse_config_options",
]


@dataclass(frozen=True)
class ChatSettings:
    """Where ``%%chat`` answers come from and how they are asked for.

    ``%chat_config`` changes them for every later cell; a cell's own options override
    them for that cell only.

    >>> ChatSettings().model is None  # the local model's own name is used
    True
    >>> ChatSettings(temperature=0.2).request_params()
    {'temperature': 0.2}
    """

    client: object = None
    """An ``openai.OpenAI``/``AsyncOpenAI``, a function of the message list, or None for
    the embedded local model."""
    client_name: str | None = None
    """The notebook variable the client came from (what ``%chat_config`` shows)."""
    model: str | None = None
    """The model to ask; None for the local model's (or a function's own). An OpenAI client
    needs one."""
    system: str | None = None
    """The system prompt, sent first with every request (never stored in the history)."""
    temperature: float | None = None
    """Sent as ``temperature``; None for the provider's default."""
    max_tokens: int | None = None
    """Sent as ``max_tokens``; None for the provider's default."""
    idle_timeout: float | None = None
    """Seconds without anything from the model after which the answer ends; None waits."""
    tools: tuple[str, ...] = ()
    """The names of the notebook's functions the model may call (looked up per cell)."""

    def request_params(self) -> dict[str, Any]:
        """The extra ``chat.completions.create`` arguments these settings ask for.

        Example:
            >>> ChatSettings(temperature=0.2, max_tokens=100).request_params()
            {'temperature': 0.2, 'max_tokens': 100}
        """
        params: dict[str, Any] = {}
        if self.temperature is not None:
            params["temperature"] = self.temperature
        if self.max_tokens is not None:
            params["max_tokens"] = self.max_tokens
        return params


@dataclass(frozen=True)
class CellOptions:
    """What a ``%%chat`` line asks for: overrides of the settings, and ``--new``.

    Attributes:
        overrides: The :class:`ChatSettings` fields this cell changes, by name.
        new: Whether the cell starts a new conversation (``--new``).
        attach: The notebook's objects (or files) this prompt carries (``--attach``).

    Example:
        >>> parse_cell_options("--new --model gpt-4o")
        CellOptions(overrides={'model': 'gpt-4o'}, new=True, attach=())
    """

    overrides: dict[str, Any] = field(default_factory=dict)
    new: bool = False
    attach: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConfigOptions:
    """What a ``%chat_config`` line asks for.

    Attributes:
        overrides: The :class:`ChatSettings` fields to change, by name.
        client_name: The notebook variable ``--client`` names, or None.
        local: Whether to go back to the embedded local model (``--local``).
        reset: Whether to put every setting back to its default first (``--reset``).

    Example:
        >>> parse_config_options("--local --temperature 0")
        ConfigOptions(overrides={'temperature': 0.0}, client_name=None, local=True, reset=False)
    """

    overrides: dict[str, Any] = field(default_factory=dict)
    client_name: str | None = None
    local: bool = False
    reset: bool = False


class _Parser(argparse.ArgumentParser):
    """argparse that reports mistakes as IPython ``UsageError``s (no SystemExit, no usage
    dump), so a typo prints one line and the kernel carries on."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _add_request_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="NAME", help="the model to ask")
    parser.add_argument("--system", metavar="TEXT", help="the system prompt ('' for none)")
    # No upper bound on the temperature: providers differ (OpenAI takes up to 2, others more).
    parser.add_argument("--temperature", metavar="X", type=number(minimum=0))
    parser.add_argument("--max-tokens", metavar="N", type=number(int, minimum=1), dest="max_tokens")
    parser.add_argument(
        "--idle-timeout",
        metavar="S",
        type=number(minimum=0, exclusive=True, what="a number of seconds"),
        dest="idle_timeout",
        help="end the answer after S seconds without anything from the model",
    )
    parser.add_argument(
        "--tools",
        metavar="F,G",
        type=tool_names,
        help="the notebook's functions the model may call ('' for none)",
    )


def _cell_parser() -> _Parser:
    parser = _Parser(prog="%%chat", add_help=False, allow_abbrev=False)
    _add_request_options(parser)
    parser.add_argument("--new", action="store_true", help="start a new conversation")
    parser.add_argument(
        "--attach",
        metavar="X,Y",
        type=attach_names,
        default=(),
        help="the notebook's objects (DataFrames, figures, images, files) to attach",
    )
    return parser


def _config_parser() -> _Parser:
    parser = _Parser(prog="%chat_config", add_help=False, allow_abbrev=False)
    _add_request_options(parser)
    parser.add_argument("--client", metavar="VARIABLE", dest="client_name")
    parser.add_argument("--local", action="store_true", help="the embedded local model")
    parser.add_argument("--reset", action="store_true", help="back to the defaults")
    return parser


def _parse(parser: _Parser, line: str, where: str) -> argparse.Namespace:
    try:
        words = shlex.split(line)
    except ValueError as exc:  # an unclosed quote
        raise UsageError(f"{parser.prog}: {exc} in {line.strip()!r}") from None
    namespace, extra = parser.parse_known_args(words)
    options = [word for word in extra if word.startswith("-")]
    if options:
        known = ", ".join(sorted(parser._option_string_actions))
        raise UsageError(f"{parser.prog}: unknown option {' '.join(options)} (it takes {known})")
    if extra:
        raise UsageError(f"{parser.prog}: unexpected {' '.join(extra)!r}; {where}")
    return namespace


def _overrides(namespace: argparse.Namespace) -> dict[str, Any]:
    overrides = {
        name: getattr(namespace, name)
        for name in ("model", "system", "temperature", "max_tokens", "idle_timeout", "tools")
        if getattr(namespace, name) is not None
    }
    if overrides.get("model") == "":
        raise UsageError("--model needs a name, e.g. --model gpt-4o-mini")
    if overrides.get("system") == "":
        overrides["system"] = None  # --system '' clears it: a blank system prompt is noise
    return overrides


def parse_cell_options(line: str) -> CellOptions:
    """Parse the options after ``%%chat``; raise ``UsageError`` on anything else.

    >>> parse_cell_options("--new --temperature 0.2 --attach df,fig")
    CellOptions(overrides={'temperature': 0.2}, new=True, attach=('df', 'fig'))
    """
    namespace = _parse(_cell_parser(), line, "the prompt goes in the cell, below the %%chat line")
    return CellOptions(overrides=_overrides(namespace), new=namespace.new, attach=namespace.attach)


def parse_config_options(line: str) -> ConfigOptions:
    """Parse the options of ``%chat_config``; raise ``UsageError`` on anything else.

    >>> options = parse_config_options("--client my_client --model gpt-4o-mini")
    >>> options.client_name, options.overrides
    ('my_client', {'model': 'gpt-4o-mini'})
    """
    namespace = _parse(_config_parser(), line, "values follow their option, e.g. --model NAME")
    if namespace.local and namespace.client_name is not None:
        raise UsageError("%chat_config: use --local or --client, not both")
    return ConfigOptions(
        overrides=_overrides(namespace),
        client_name=namespace.client_name,
        local=namespace.local,
        reset=namespace.reset,
    )
