"""IPython magics: ``%%chat`` sends the cell to a model and streams the answer below it.

::

    %load_ext nbstream

    %%chat
    What is nbstream?

The answer streams into a :class:`~nbstream.StreamView` in the cell's output, and its
text is kept in the variable ``_chat``. Consecutive ``%%chat`` cells are one
conversation (each sends the earlier prompts and answers); ``%%chat --new`` starts a new
one. ``%chat_config`` shows or changes where the answers come from: the embedded local
model by default (no key, no network), or any OpenAI client or function in the notebook::

    %chat_config --client my_client --model gpt-4o-mini

Per-cell options override the configuration for that cell only::

    %%chat --model gpt-4o --temperature 0.2 --max-tokens 400 --idle-timeout 30
    Explain it again, shorter.

``--tools f,g`` lets the model call the notebook's functions ``f`` and ``g``; each call
runs in the kernel and shows in the view, then the answer follows::

    %%chat --tools total_sales
    What are the total sales in the south?

Async clients (``openai.AsyncOpenAI``, ``async def`` functions) stream on the kernel's
event loop: while one is configured, ``%%chat`` cells run as top-level ``await`` cells
(IPython's autoawait, on by default), so the cell ends when the answer does, exactly as
with a sync client.

Where things live, one job a module:

- :mod:`~nbstream.magics.options`: the settings, and what a magic's line says
  (:class:`ChatSettings`, :func:`parse_cell_options`, :func:`parse_config_options`).
- :mod:`~nbstream.magics.clients`: the clients ``--client`` takes, found in the
  notebook and checked (:func:`check_client`), and their URLs without credentials.
- :mod:`~nbstream.magics.tool_names`: the functions ``--tools f,g`` names, found in
  the notebook (their rounds run in :class:`nbstream.tools.rounds.ToolRounds`).
- :mod:`~nbstream.magics.attach_names`: the objects (or files) ``--attach df,fig``
  names, found in the notebook and converted (:mod:`nbstream.attachments`).
- :mod:`~nbstream.magics.names`: a notebook variable by its (dotted) name, for both.
- :mod:`~nbstream.magics.session`: :class:`ChatSession`, the settings and the
  conversation of one shell, with the cell that asked each turn.
- :mod:`~nbstream.magics.cell_magics`: :class:`NbstreamMagics`, the magics themselves.
- :mod:`~nbstream.magics.autoawait`: the input transform that makes a ``%%chat`` cell
  with an async client a top-level ``await``.
- :mod:`~nbstream.magics.extension`: ``%load_ext`` / ``%unload_ext``, and
  :func:`session`.

What a client is and how to ask it lives in :mod:`nbstream.backends`, shared with
``Chat``.
"""

from __future__ import annotations

from nbstream.backends import is_async_client
from nbstream.magics.cell_magics import ANSWER_VARIABLE, NbstreamMagics
from nbstream.magics.clients import check_client
from nbstream.magics.extension import load_ipython_extension, session, unload_ipython_extension
from nbstream.magics.options import (
    CellOptions,
    ChatSettings,
    ConfigOptions,
    parse_cell_options,
    parse_config_options,
)
from nbstream.magics.session import ChatSession

__all__ = [
    "ANSWER_VARIABLE",
    "CellOptions",
    "ChatSession",
    "ChatSettings",
    "ConfigOptions",
    "NbstreamMagics",
    "check_client",
    "is_async_client",
    "load_ipython_extension",
    "parse_cell_options",
    "parse_config_options",
    "session",
    "unload_ipython_extension",
]
