"""``%%chat`` and ``%chat_config``: the magics, from a cell's line and text to its answer.

The options are read by :mod:`~nbstream.magics.options`, the conversation kept by
:mod:`~nbstream.magics.session`; the magics join them to a ``StreamView`` in the
cell's output. Sync clients stream from :meth:`NbstreamMagics.chat`; async ones from
:meth:`NbstreamMagics.chat_async`, which :mod:`~nbstream.magics.autoawait` makes the
cell await.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.display import display

from nbstream.attachments import user_content
from nbstream.backends import Backend
from nbstream.chat.run import event_loop_thread
from nbstream.magics.attach_names import find_attachments
from nbstream.magics.autoawait import why_not_awaited
from nbstream.magics.clients import find_client
from nbstream.magics.options import ChatSettings, parse_cell_options, parse_config_options
from nbstream.magics.session import ChatSession
from nbstream.magics.tool_names import find_tools
from nbstream.stream_view import StreamView
from nbstream.tools.rounds import ToolRounds

__all__ = ["ANSWER_VARIABLE", "NbstreamMagics"]

ANSWER_VARIABLE = "_chat"
"""The user-namespace variable that holds the text of the last complete ``%%chat`` answer.

Example::

    %%chat
    Name three prime numbers.

    # then, in the next cell:
    print(_chat)
"""


@dataclass
class _PendingCell:
    """A ``%%chat`` cell between its request and its answer: what ``_begin`` prepared
    and ``_finish`` records (a turn of the conversation once the answer is complete)."""

    prompt: str | list[dict[str, Any]]  # the user message's content (parts, with --attach)
    messages: list[dict[str, Any]]
    backend: Backend
    settings: ChatSettings
    view: StreamView
    cell_id: str | None  # the notebook's id of the cell, when it sends one
    kept: int  # the turns of the history this one follows
    rounds: ToolRounds | None  # with --tools: the rounds, calls run between them

    def opener(self) -> Any:
        # Handed to the view uncalled, so a failing request (401, 429, server down)
        # shows in the view, not only in the traceback. ToolRounds opens each round
        # itself, as it is read.
        return self.rounds if self.rounds is not None else self.backend.open(self.messages)

    @property
    def idle_timeout(self) -> float | None:
        # With tools, each round's stream has the timeout; time spent in tools is not
        # the model being quiet.
        return None if self.rounds is not None else self.settings.idle_timeout


@magics_class
class NbstreamMagics(Magics):
    """``%%chat`` and ``%chat_config``; registered by ``%load_ext nbstream``.

    Its ``session`` is the shell's :class:`ChatSession` (see :func:`session`).

    Example::

        %load_ext nbstream
        %chat_config --client client --model gpt-4o-mini
    """

    def __init__(self, shell: InteractiveShell) -> None:
        super().__init__(shell)
        self.session = ChatSession()

    @cell_magic
    def chat(self, line: str, cell: str) -> None:
        """Send the cell to the model; the answer streams below it (text kept in ``_chat``).

        ::

            %%chat [--new] [--model NAME] [--system TEXT] [--temperature X]
                   [--max-tokens N] [--idle-timeout S] [--tools F,G] [--attach X,Y]
            Your prompt, on as many lines as you like.

        Consecutive ``%%chat`` cells are one conversation: each sends the earlier
        prompts and answers too. ``--new`` starts a new one. The other options override
        ``%chat_config`` for this cell only. A failed or interrupted answer keeps its
        text in the view and is left out of the conversation; rerun the cell to retry.

        ``--tools f,g`` lets the model call the notebook's functions ``f`` and ``g``
        (looked up when the cell runs): each call runs in the kernel between rounds of
        the answer, and shows in the view with its result; the conversation keeps the
        calls, their results and the final answer, and ``_chat`` the final answer.
        Interrupt the kernel to stop.

        ``--attach df,fig`` sends the notebook's objects ``df`` and ``fig`` with the
        prompt (DataFrames as text, figures and images as images, file paths' contents;
        see :mod:`nbstream.attachments`); the conversation keeps them.

        Examples::

            %%chat --new --temperature 0.2
            Explain streaming markdown in two sentences.

            %%chat --tools total_sales
            What are the total sales in the south?

            %%chat --attach df,fig
            What stands out in this table and this plot?
        """
        __tracebackhide__ = True  # the user's error is the stream's, not our frames'
        pending = self._begin(line, cell, awaitable=False)
        text = pending.view.stream(pending.opener, idle_timeout=pending.idle_timeout)
        self._finish(pending, text)

    async def chat_async(self, line: str, cell: str) -> None:
        """``%%chat`` for async clients: what a ``%%chat`` cell runs as while one is
        configured, awaited on the kernel's event loop (see
        :class:`~nbstream.magics.autoawait.AwaitChatCells`).

        Example::

            # What a "%%chat --new" cell asking "Hi" becomes, with an AsyncOpenAI client:
            await get_ipython().magics_manager.registry["NbstreamMagics"].chat_async("--new", "Hi")
        """
        __tracebackhide__ = True
        pending = self._begin(line, cell, awaitable=True)
        if pending.backend.is_async:
            text = await pending.view.astream(pending.opener, idle_timeout=pending.idle_timeout)
        else:  # the client was changed between transforming the cell and running it
            text = pending.view.stream(pending.opener, idle_timeout=pending.idle_timeout)
        self._finish(pending, text)

    @line_magic
    def chat_config(self, line: str) -> None:
        """Show or change where ``%%chat`` answers come from; prints the configuration.

        Examples::

            %chat_config                                 # show it (never the API key)
            %chat_config --client my_client --model gpt-4o-mini
            %chat_config --local                         # the embedded local model
            %chat_config --system "Answer in one paragraph." --temperature 0.2
            %chat_config --max-tokens 500 --idle-timeout 30
            %chat_config --tools total_sales,top_products  # functions the model may call
            %chat_config --reset                         # all back to the defaults

        ``--client`` takes the name of a notebook variable holding an ``openai.OpenAI``
        or ``openai.AsyncOpenAI`` client (then ``--model`` is needed too) or a function
        of the message list, as ``Chat`` takes. ``--system ''`` removes the system
        prompt, and ``--tools ''`` the tools. The conversation is kept whatever
        changes; ``%%chat --new`` starts a new one.
        """
        options = parse_config_options(line)
        settings = ChatSettings() if options.reset else self.session.settings
        if options.local:
            settings = replace(settings, client=None, client_name=None, model=None)
        if options.client_name is not None:
            client = find_client(self._ip.user_ns, options.client_name)
            settings = replace(settings, client=client, client_name=options.client_name)
        find_tools(self._ip.user_ns, options.overrides.get("tools", ()))  # a typo, now
        self.session.settings = replace(settings, **options.overrides)
        print(self.session.describe())

    # -- shared by both cell magics -----------------------------------------------------

    @property
    def _ip(self) -> InteractiveShell:
        shell = self.shell
        assert shell is not None, "registered magics always have a shell"
        return shell

    def _begin(self, line: str, cell: str, *, awaitable: bool) -> _PendingCell:
        options = parse_cell_options(line)
        prompt = (cell or "").strip()
        if not prompt:
            raise UsageError("%%chat: the cell is empty; write the prompt below the %%chat line")
        settings = replace(self.session.settings, **options.overrides)
        backend = self.session.backend_for(settings)
        if backend.is_async and not awaitable:
            raise UsageError(why_not_awaited(self._ip, settings.client_name))
        tools = find_tools(self._ip.user_ns, settings.tools)
        # Before anything shows or is sent: a typo in a name is one UsageError line.
        attachments = find_attachments(self._ip.user_ns, options.attach)
        if options.new:
            self.session.reset()
        cell_id = self._cell_id()
        kept = self.session.turns_before(cell_id)
        view = StreamView()
        self.session.view = view
        display(view)  # type: ignore[no-untyped-call]
        content = user_content(prompt, attachments)
        messages = self.session.messages_for(content, settings, kept)
        rounds = None
        if tools:
            rounds = ToolRounds(
                backend,
                messages,
                {tool.name: tool for tool in tools},
                # Read synchronously, the cell holds the kernel's loop: async tools
                # run on a loop of their own (an async client's cell runs them on the
                # kernel's, which ToolRounds finds itself).
                loop=None if backend.is_async else event_loop_thread(),
                idle_timeout=settings.idle_timeout,
            )
        return _PendingCell(content, messages, backend, settings, view, cell_id, kept, rounds)

    def _finish(self, pending: _PendingCell, text: str) -> None:
        # Only a complete answer joins the conversation; errors have raised by now. Its
        # reply, not `text`: when the model refuses, the refusal is what it said.
        rounds = pending.rounds
        if rounds is None:
            self.session.record(pending.kept, pending.cell_id, pending.prompt, pending.view.reply)
            self._ip.user_ns[ANSWER_VARIABLE] = text
        else:  # the tool rounds join it too; `_chat` is the final answer
            self.session.record(pending.kept, pending.cell_id, pending.prompt, rounds.added)
            self._ip.user_ns[ANSWER_VARIABLE] = rounds.reply

    def _cell_id(self) -> str | None:
        """The id of the running cell, from the execute request's metadata (``cellId``,
        sent by JupyterLab, Notebook 7 and VS Code); None from other clients."""
        kernel = getattr(self._ip, "kernel", None)
        try:
            parent = kernel.get_parent() if kernel is not None else None
        except Exception:  # an older or different kernel: no id, so a new turn
            return None
        metadata = parent.get("metadata") if isinstance(parent, dict) else None
        cell_id = metadata.get("cellId") if isinstance(metadata, dict) else None
        return cell_id if isinstance(cell_id, str) and cell_id else None
