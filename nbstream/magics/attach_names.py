"""``--attach df,fig``: the notebook's objects (or files) that go with a ``%%chat`` prompt.

:func:`attach_names` is the argparse type of the option; :func:`find_attachments`
looks the names up in the notebook when the cell runs and converts the objects, so a
typo or an object that cannot be attached is a ``UsageError`` before anything is sent.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from IPython.core.error import UsageError

from nbstream.attachments import Attachment, AttachmentError, attach
from nbstream.magics.names import lookup

__all__ = ["attach_names", "find_attachments"]


def attach_names(value: str) -> tuple[str, ...]:
    """The argparse type of ``--attach``: comma-separated names (or file paths).

    >>> attach_names("df, fig")
    ('df', 'fig')
    >>> attach_names(" , ")
    Traceback (most recent call last):
      ...
    argparse.ArgumentTypeError: --attach takes names, separated by commas, e.g. --attach df,fig
    """
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    if not names:
        raise argparse.ArgumentTypeError(
            "--attach takes names, separated by commas, e.g. --attach df,fig"
        )
    if len(set(names)) < len(names):
        raise argparse.ArgumentTypeError(f"a name is repeated in {value!r}")
    return names


def find_attachments(namespace: Mapping[str, object], names: tuple[str, ...]) -> list[Attachment]:
    """The objects ``names`` name in ``namespace`` (the notebook's), attached under
    those names; a name that is no variable but an existing file's path attaches the file.

    Raises:
        UsageError: A name that is neither (all such names are listed), or an object
            that cannot be attached (the message says why).

    Example:
        >>> from nbstream.attachments import Attachment
        >>> notes = Attachment.from_text("hi", name="notes.txt")
        >>> [a.name for a in find_attachments({"notes": notes}, ("notes",))]
        ['notes.txt']
        >>> find_attachments({}, ("df",))
        Traceback (most recent call last):
          ...
        IPython.core.error.UsageError: --attach: no variable (nor file) named 'df' in the ...
    """
    found = {name: _lookup(namespace, name) for name in names}
    missing = [name for name, value in found.items() if value is None]
    if missing:
        listed = " or ".join(repr(name) for name in missing)
        raise UsageError(
            f"--attach: no variable (nor file) named {listed} in the notebook; define "
            f"{'it' if len(missing) == 1 else 'them'} first"
        )
    attachments: list[Attachment] = []
    for name, value in found.items():
        try:
            # A variable is attached under its own name; a file under the file's.
            attachments.append(attach(value, name=None if isinstance(value, Path) else name))
        except AttachmentError as exc:
            raise UsageError(f"--attach {name}: {exc}") from None
    return attachments


def _lookup(namespace: Mapping[str, object], name: str) -> object | None:
    value = lookup(namespace, name)
    if value is None and Path(name).is_file():
        return Path(name)
    return value
