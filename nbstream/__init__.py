"""nbstream: stream LLM output into notebooks as live, safe markdown.

>>> from nbstream import StreamView
>>> view = StreamView()
>>> view.stream(["# Hello", ", world"])
'# Hello, world'
"""

import typing

from nbstream._version import __version__
from nbstream.attachments import AttachmentError
from nbstream.chat import Chat
from nbstream.errors import (
    IdleTimeoutError,
    IncompleteStreamError,
    SourceError,
    StreamClosedError,
    StreamError,
    StreamInProgressError,
)
from nbstream.stream_view import StreamView

# No `from __future__ import annotations`: it would add a public name to this module.
if typing.TYPE_CHECKING:  # `import nbstream` must not import IPython's shell
    from IPython.core.interactiveshell import InteractiveShell

__all__ = [
    "AttachmentError",
    "Chat",
    "IdleTimeoutError",
    "IncompleteStreamError",
    "SourceError",
    "StreamClosedError",
    "StreamError",
    "StreamInProgressError",
    "StreamView",
    "__version__",
    "load_ipython_extension",
    "unload_ipython_extension",
]


def load_ipython_extension(ipython: "InteractiveShell") -> None:
    """Add the ``%%chat`` and ``%chat_config`` magics: ``%load_ext nbstream``.

    Example::

        %load_ext nbstream

        %%chat
        What is nbstream?

    See :mod:`nbstream.magics`.
    """
    # Imported here so that `import nbstream` does not pull in IPython's magics machinery.
    from nbstream.magics import load_ipython_extension as load  # noqa: PLC0415

    load(ipython)


def unload_ipython_extension(ipython: "InteractiveShell") -> None:
    """Remove the ``%%chat`` and ``%chat_config`` magics: ``%unload_ext nbstream``.

    Example::

        %unload_ext nbstream
    """
    from nbstream.magics import unload_ipython_extension as unload  # noqa: PLC0415

    unload(ipython)
