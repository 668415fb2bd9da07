"""Loading the extension into a shell, unloading it, and finding its session.

One :class:`~nbstream.magics.cell_magics.NbstreamMagics` per shell, registered under
its class's name (IPython's registry key), which is how :func:`session` and the
autoawait transform find it again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from IPython.core.interactiveshell import InteractiveShell

from nbstream.magics.autoawait import AwaitChatCells
from nbstream.magics.cell_magics import NbstreamMagics
from nbstream.magics.session import ChatSession

__all__ = ["load_ipython_extension", "session", "unload_ipython_extension"]


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Register ``%%chat`` and ``%chat_config`` (what ``%load_ext nbstream`` calls).

    Example::

        %load_ext nbstream
    """
    if NbstreamMagics.__name__ in ipython.magics_manager.registry:
        return  # loaded already: keep the conversation
    magics = NbstreamMagics(ipython)
    ipython.register_magics(magics)
    ipython.input_transformers_cleanup.append(AwaitChatCells(ipython, magics))


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """Remove ``%%chat`` and ``%chat_config`` (``%unload_ext nbstream``).

    Example::

        %unload_ext nbstream
    """
    magics = ipython.magics_manager.registry.pop(NbstreamMagics.__name__, None)
    if magics is None:
        return
    ours: Sequence[tuple[str, str]] = (("cell", "chat"), ("line", "chat_config"))
    for kind, name in ours:
        registered: Callable[..., Any] | None = ipython.magics_manager.magics[kind].get(name)
        if getattr(registered, "__self__", None) is magics:
            del ipython.magics_manager.magics[kind][name]
    transforms = ipython.input_transformers_cleanup
    transforms[:] = [t for t in transforms if not isinstance(t, AwaitChatCells)]


def session(ipython: InteractiveShell | None = None) -> ChatSession:
    """The ``%%chat`` session of ``ipython`` (the running shell by default).

    >>> chat = session()  # doctest: +SKIP
    >>> chat.history[-1]["content"]  # doctest: +SKIP
    '# nbstream ...'

    Raises:
        RuntimeError: Not in IPython, or the extension is not loaded.
    """
    if ipython is None:
        if not InteractiveShell.initialized():
            raise RuntimeError("nbstream.magics.session() needs IPython with %load_ext nbstream")
        ipython = InteractiveShell.instance()
    magics = ipython.magics_manager.registry.get(NbstreamMagics.__name__)
    if not isinstance(magics, NbstreamMagics):
        raise RuntimeError("%%chat is not loaded in this shell: run %load_ext nbstream first")
    return magics.session
