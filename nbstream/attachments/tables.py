"""pandas and polars tables as text the model reads: shape, columns and dtypes, and the
first rows as a markdown table. Neither library is imported here: an object is
recognised by the module its type comes from, so only a user who has one needs it.
"""

from __future__ import annotations

from typing import Any

from nbstream.attachments.headers import column_lines, header_line, table_detail

__all__ = ["is_table", "table_text"]

_CELL_CHARS = 200  # one cell's text in the markdown table, at most


def _library(obj: object) -> str:
    return type(obj).__module__.split(".", 1)[0]


def is_table(obj: object) -> bool:
    """Whether ``obj`` is a pandas or polars DataFrame or Series.

    >>> is_table([1, 2]), is_table("a,b")
    (False, False)
    """
    if _library(obj) not in ("pandas", "polars"):
        return False
    return type(obj).__name__ in ("DataFrame", "Series")


def table_text(obj: Any, name: str, rows: int) -> str:
    """The text the model gets for a DataFrame or Series: header, columns, first rows.

    Example::

        >>> import pandas as pd                                     # doctest: +SKIP
        >>> print(table_text(pd.DataFrame({"a": [1, 2]}), "df", 5))  # doctest: +SKIP
        Attached table `df` (2 rows × 1 column):
        Columns:
        - `a`: int64
        <BLANKLINE>
        All 2 rows:
        <BLANKLINE>
        | a |
        | --- |
        | 1 |
        | 2 |
    """
    if type(obj).__name__ == "Series":
        obj = obj.to_frame()
    height, width = (int(n) for n in obj.shape)
    names = [str(column) for column in obj.columns]
    if _library(obj) == "polars":
        dtypes = [str(dtype) for dtype in obj.dtypes]
        head = [list(row) for row in obj.head(rows).rows()]
    else:
        dtypes = [str(dtype) for dtype in obj.dtypes]
        head = [list(row) for row in obj.head(rows).itertuples(index=False, name=None)]
    columns = list(zip(names, dtypes, strict=True))
    lines = [header_line("table", name, table_detail(height, width)), *column_lines(columns)]
    if head and names:
        which = "All" if len(head) == height else "First"
        lines += ["", f"{which} {len(head)} rows:", ""]
        lines.append("| " + " | ".join(_cell(n) for n in names) + " |")
        lines.append("|" + " --- |" * len(names))
        lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in head]
    return "\n".join(lines)


def _cell(value: object) -> str:
    text = " ".join(str(value).splitlines())
    if len(text) > _CELL_CHARS:
        text = text[: _CELL_CHARS - 1] + "…"
    # A pipe would end the cell early.
    return text.replace("|", "\\|")
