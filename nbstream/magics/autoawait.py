"""``%%chat`` cells with an async client: awaited on the kernel's event loop.

A cell magic is called synchronously, from inside the event loop an ``AsyncOpenAI``
client lives on: it can neither block on that loop nor start another (the client's
pooled connections belong to the first). Awaiting the answer in the cell itself is the
one way that stays on the kernel's loop and still ends the cell when the answer ends,
so while an async client is configured, :class:`AwaitChatCells` rewrites each
``%%chat`` cell into a top-level ``await`` (IPython's autoawait). When a cell cannot be
awaited, :func:`why_not_awaited` says why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from IPython.core.interactiveshell import InteractiveShell

from nbstream.backends import is_async_client

if TYPE_CHECKING:  # the magics use this module, so it cannot import them at run time
    from nbstream.magics.cell_magics import NbstreamMagics

__all__ = ["AwaitChatCells", "awaits_on_asyncio", "why_not_awaited"]


def awaits_on_asyncio(shell: InteractiveShell) -> bool:
    """Whether ``shell`` runs top-level ``await`` cells on asyncio, the loop the kernel
    and ``AsyncOpenAI`` share (IPython's autoawait is on by default; trio is possible).

    Example:
        >>> from types import SimpleNamespace
        >>> awaits_on_asyncio(SimpleNamespace(autoawait=False))  # after %autoawait off
        False
    """
    return bool(shell.autoawait) and shell.loop_runner is _asyncio_runner()


def why_not_awaited(shell: InteractiveShell, client_name: str | None) -> str:
    """Why a ``%%chat`` cell of ``shell`` could not await the async client
    ``client_name``: the ``UsageError`` the magic raises, with the fix.

    Example:
        >>> from types import SimpleNamespace
        >>> print(why_not_awaited(SimpleNamespace(autoawait=False), "client"))
        client is async, so its answer streams on the kernel's event loop, and this cell
        cannot await it: IPython's autoawait is off (%autoawait on turns it back on). Or
        configure a sync client (openai.OpenAI).
    """
    if not shell.autoawait:
        reason = "IPython's autoawait is off (%autoawait on turns it back on)"
    elif not awaits_on_asyncio(shell):
        reason = "IPython's autoawait runs on another event loop library than asyncio"
    else:
        reason = "the magic was called directly (run_cell_magic), not as a %%chat cell"
    return (
        f"{client_name or 'the client'} is async, so its answer streams on the kernel's "
        f"event loop, and this cell cannot await it: {reason}. "
        "Or configure a sync client (openai.OpenAI)."
    )


class AwaitChatCells:
    """Rewrites a ``%%chat`` cell into a top-level ``await`` of ``chat_async`` while the
    configured client is async, so that IPython runs the cell on the kernel's event loop.

    Sync clients keep the plain magic: in an awaited cell ipykernel turns an interrupt
    into a cancellation, which a blocking stream would never see. It sits at the end of
    IPython's cleanup transforms (``load_ipython_extension`` puts it there), so the
    cell's indentation and prompts are already gone and ``%%chat`` is never handed to
    IPython's own cell-magic transform.

    Example::

        # With %chat_config --client my_async_client, this cell:
        %%chat --new
        Hi
        # runs as:
        await get_ipython().magics_manager.registry['NbstreamMagics'].chat_async('--new', 'Hi\\n')
    """

    # Tells IPython's check_complete to skip it: a terminal must keep reading a
    # `%%chat` cell's lines until the blank line, as for any cell magic.
    has_side_effects = True

    def __init__(self, shell: InteractiveShell, magics: NbstreamMagics) -> None:
        self._shell = shell
        self._magics = magics
        # IPython registers magics under their class's name.
        self._key = type(magics).__name__

    def __call__(self, lines: list[str]) -> list[str]:
        if not lines or not self._applies(lines[0]):
            return lines
        # Split the way IPython's own cell-magic transform does.
        _, _, line = lines[0][2:].rstrip().partition(" ")
        cell = "".join(lines[1:])
        return [
            f"await get_ipython().magics_manager.registry[{self._key!r}]"
            f".chat_async({line!r}, {cell!r})\n"
        ]

    def _applies(self, first: str) -> bool:
        if not first.startswith("%%") or first[2:].rstrip().partition(" ")[0] != "chat":
            return False
        if not awaits_on_asyncio(self._shell):
            return False  # the plain magic explains why it cannot await
        # Only when this shell's magics are still the registered ones (not unloaded).
        if self._shell.magics_manager.registry.get(self._key) is not self._magics:
            return False
        return is_async_client(self._magics.session.settings.client)


def _asyncio_runner() -> object:
    """IPython's asyncio runner: what ``shell.loop_runner`` is when autoawait uses asyncio.

    Private to IPython, but the only way to tell (ipykernel checks it the same way).
    """
    try:
        from IPython.core.async_helpers import _asyncio_runner as runner  # noqa: PLC0415
    except ImportError:  # pragma: no cover - an IPython without it never runs cells async
        return None
    return runner
