"""The first line of every attachment's text part, and the rest of a table's: written
by :mod:`~nbstream.attachments.convert` and read back by
:mod:`~nbstream.attachments.read_back` (a history loaded from messages, the local model).

Both sides use this module only, so the format is defined once::

    Attached table `df` (3 rows × 2 columns):
    Columns:
    - `a`: int64
    - `b`: object

The model reads it as plain prose; the local model (and tests) parse it back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "Header",
    "column_lines",
    "cut",
    "cut_note",
    "fenced",
    "header_line",
    "line_count",
    "lines_detail",
    "parse_columns",
    "parse_header",
    "parse_table_detail",
    "plural",
    "table_detail",
]

_HEADER = re.compile(r"\AAttached (image|table|file|text) `(.*)` \(([^()\n]*)\):$", re.MULTILINE)
_TABLE_DETAIL = re.compile(r"\A(\d+) rows? × (\d+) columns?\Z")
_COLUMNS_HEADING = "Columns:"
_COLUMN = re.compile(r"^- `(.*)`: (.*)$")


@dataclass(frozen=True)
class Header:
    """What the first line of an attached table or text says.

    Attributes:
        noun: ``"image"``, ``"table"``, ``"file"`` or ``"text"``.
        name: The attachment's name.
        detail: Its shape in words: ``"3 rows × 2 columns"``, ``"12 lines"``, ``"4 cells"``.

    Example:
        >>> parse_header("Attached file `notes.txt` (2 lines):\\n...")
        Header(noun='file', name='notes.txt', detail='2 lines')
    """

    noun: str
    name: str
    detail: str


def _one_line(text: str) -> str:
    # A name or dtype with a line break would end the header line early.
    return " ".join(text.splitlines()) if text else text


def plural(count: int, noun: str) -> str:
    """``"1 row"``, ``"2 rows"``: a count and its noun.

    >>> plural(1, "row"), plural(3, "column")
    ('1 row', '3 columns')
    """
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def header_line(noun: str, name: str, detail: str) -> str:
    """The first line of an attachment: ``noun`` is ``"image"``, ``"table"``, ``"file"``
    or ``"text"``.

    >>> header_line("table", "df", table_detail(3, 2))
    'Attached table `df` (3 rows × 2 columns):'
    """
    return f"Attached {noun} `{_one_line(name)}` ({detail}):"


def parse_header(text: str) -> Header | None:
    """The :class:`Header` that ``text`` starts with, or None if it is not an attachment's.

    >>> parse_header("Attached table `df` (3 rows × 2 columns):\\nColumns:")
    Header(noun='table', name='df', detail='3 rows × 2 columns')
    >>> parse_header("What is in this table?") is None
    True
    """
    first = text.split("\n", 1)[0]
    match = _HEADER.match(first)
    if match is None:
        return None
    return Header(match[1], match[2], match[3])


def table_detail(rows: int, columns: int) -> str:
    """A table's shape in words, as its header says it.

    >>> table_detail(1, 3)
    '1 row × 3 columns'
    """
    return f"{plural(rows, 'row')} × {plural(columns, 'column')}"


def parse_table_detail(detail: str) -> tuple[int, int] | None:
    """``(rows, columns)`` from :func:`table_detail`'s words, or None.

    >>> parse_table_detail("3 rows × 2 columns")
    (3, 2)
    """
    match = _TABLE_DETAIL.match(detail)
    return None if match is None else (int(match[1]), int(match[2]))


def line_count(text: str) -> int:
    """How many lines ``text`` has: a last line without its line break counts too.

    >>> line_count(""), line_count("a"), line_count("a\\nb\\n"), line_count("a\\nb")
    (0, 1, 2, 2)
    """
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def lines_detail(text: str) -> str:
    """A text's size in words, as its header says it.

    >>> lines_detail("one\\ntwo\\n")
    '2 lines'
    """
    return plural(line_count(text), "line")


def column_lines(columns: list[tuple[str, str]]) -> list[str]:
    """The ``Columns:`` block of a table: one ``- `name`: dtype`` line per column.

    >>> column_lines([("a", "int64"), ("b", "object")])
    ['Columns:', '- `a`: int64', '- `b`: object']
    """
    return [_COLUMNS_HEADING] + [f"- `{_one_line(n)}`: {_one_line(t)}" for n, t in columns]


def parse_columns(text: str) -> list[str]:
    """The column names of the ``Columns:`` block in ``text`` (an attached table's text).

    >>> parse_columns("Attached table `t` (0 rows × 2 columns):\\nColumns:\\n- `a`: i64\\n- `b`: s")
    ['a', 'b']
    """
    names: list[str] = []
    lines = iter(text.splitlines())
    for line in lines:
        if line == _COLUMNS_HEADING:
            break
    for line in lines:
        # Greedy: a name may contain "`: " itself; a dtype never does.
        match = _COLUMN.match(line)
        if match is None:
            break
        names.append(match[1])
    return names


def fenced(text: str, language: str = "") -> str:
    """``text`` in a code fence longer than any run of backticks inside it.

    A file with a markdown code block of its own must not end the fence early.

    >>> print(fenced("x = 1", "python"))
    ```python
    x = 1
    ```
    >>> fenced("```inner```").splitlines()[0]
    '````'
    """
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"{fence}{language}\n{body}{fence}"


def cut(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` characters and a :func:`cut_note` saying so.

    >>> cut("abcdef", 4)
    'abcd\\n[cut: only the first 4 of 6 characters are shown; 2 characters were left out]'
    """
    if len(text) <= limit:
        return text
    return text[:limit] + "\n" + cut_note(limit, len(text))


def cut_note(shown: int, total: int) -> str:
    """The note after a text cut to its first ``shown`` characters of ``total``.

    >>> cut_note(100, 250)
    '[cut: only the first 100 of 250 characters are shown; 150 characters were left out]'
    """
    return (
        f"[cut: only the first {shown} of {total} characters are shown; "
        f"{total - shown} characters were left out]"
    )
