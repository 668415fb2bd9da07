"""What a function's docstring says about it: a description, and one line per argument.

Google style (``Args:`` then ``name: text`` or ``name (type): text``, continued on
more-indented lines) and Sphinx style (``:param name: text``) are read; the description
is what comes before the first section.
"""

from __future__ import annotations

import inspect
import re

__all__ = ["DocstringParts", "parse_docstring"]

_SECTION = re.compile(r"^\s*([A-Z][A-Za-z ]*):\s*$")
_ARGS_SECTIONS = {"Args", "Arguments", "Parameters", "Params", "Keyword Args", "Keyword Arguments"}
_GOOGLE_ARG = re.compile(r"^(\s*)\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_PARAM = re.compile(r"^\s*:param\s+(?:[^:\s]+\s+)?(\w+)\s*:\s*(.*)$")


class DocstringParts:
    """A docstring's description and its arguments' descriptions.

    >>> parts = parse_docstring('''Add two numbers.
    ...
    ... Args:
    ...     a: The first.
    ...     b (int): The second,
    ...         which may be negative.
    ... ''')
    >>> parts.description, parts.arguments["b"]
    ('Add two numbers.', 'The second, which may be negative.')
    """

    def __init__(self, description: str, arguments: dict[str, str]) -> None:
        self.description = description
        self.arguments = arguments


def parse_docstring(doc: str | None) -> DocstringParts:
    """Split ``doc`` into the description and the per-argument descriptions."""
    lines = inspect.cleandoc(doc or "").splitlines()
    description: list[str] = []
    arguments: dict[str, list[str]] = {}
    section: str | None = None
    current: str | None = None
    indent = 0
    for line in lines:
        sphinx = _SPHINX_PARAM.match(line)
        if sphinx:
            current, section = sphinx.group(1), "sphinx"
            arguments[current] = [sphinx.group(2).strip()]
            continue
        heading = _SECTION.match(line)
        if heading and not line.startswith((" ", "\t")):
            section, current = heading.group(1), None
            continue
        if section is None:
            description.append(line)
        elif section in _ARGS_SECTIONS:
            match = _GOOGLE_ARG.match(line)
            if match and (current is None or len(match.group(1)) <= indent):
                indent, current = len(match.group(1)), match.group(2)
                arguments[current] = [match.group(3).strip()]
            elif current is not None and line.strip():
                arguments[current].append(line.strip())  # a continuation line
        elif section == "sphinx" and current is not None and line.startswith((" ", "\t")):
            arguments[current].append(line.strip())
        elif section == "sphinx" and line.strip():
            section, current = "other", None
    text = "\n".join(description).strip()
    # Paragraphs are kept; lines inside one are joined (the model needs no hard wraps).
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
    return DocstringParts(
        "\n\n".join(paragraphs),
        {name: " ".join(" ".join(parts).split()) for name, parts in arguments.items()},
    )
