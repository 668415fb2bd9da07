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

Async clients (``openai.AsyncOpenAI``, ``async def`` functions) stream on the kernel's
event loop: while one is configured, ``%%chat`` cells run as top-level ``await`` cells
(IPython's autoawait, on by default), so the cell ends when the answer does, exactly as
with a sync client.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NoReturn

import openai
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.display import display

import nbstream.local
from nbstream.arguments import number
from nbstream.backends import (
    Backend,
    BackendError,
    backend_label,
    is_async_client,
    resolve_backend,
)
from nbstream.stream_view import StreamView

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

ANSWER_VARIABLE = "_chat"
"""The user-namespace variable that holds the text of the last complete ``%%chat`` answer.

Example::

    %%chat
    Name three prime numbers.

    # then, in the next cell:
    print(_chat)
"""


def _asyncio_runner() -> object:
    """IPython's asyncio runner: what ``shell.loop_runner`` is when autoawait uses asyncio.

    Private to IPython, but the only way to tell (ipykernel checks it the same way).
    """
    try:
        from IPython.core.async_helpers import _asyncio_runner as runner  # noqa: PLC0415
    except ImportError:  # pragma: no cover - an IPython without it never runs cells async
        return None
    return runner


# -- settings and options ---------------------------------------------------------------


@dataclass(frozen=True)
class ChatSettings:
    """Where ``%%chat`` answers come from and how they are asked for.

    ``%chat_config`` changes them for every later cell; a cell's own options override
    them for that cell only.

    >>> ChatSettings().model is None  # the local model's own name is used
    True
    >>> replace(ChatSettings(), temperature=0.2).request_params()
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

    Example:
        >>> parse_cell_options("--new --model gpt-4o")
        CellOptions(overrides={'model': 'gpt-4o'}, new=True)
    """

    overrides: dict[str, Any] = field(default_factory=dict)
    new: bool = False


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


def _cell_parser() -> _Parser:
    parser = _Parser(prog="%%chat", add_help=False, allow_abbrev=False)
    _add_request_options(parser)
    parser.add_argument("--new", action="store_true", help="start a new conversation")
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
        for name in ("model", "system", "temperature", "max_tokens", "idle_timeout")
        if getattr(namespace, name) is not None
    }
    if overrides.get("model") == "":
        raise UsageError("--model needs a name, e.g. --model gpt-4o-mini")
    if overrides.get("system") == "":
        overrides["system"] = None  # --system '' clears it: a blank system prompt is noise
    return overrides


def parse_cell_options(line: str) -> CellOptions:
    """Parse the options after ``%%chat``; raise ``UsageError`` on anything else.

    >>> parse_cell_options("--new --temperature 0.2")
    CellOptions(overrides={'temperature': 0.2}, new=True)
    """
    namespace = _parse(_cell_parser(), line, "the prompt goes in the cell, below the %%chat line")
    return CellOptions(overrides=_overrides(namespace), new=namespace.new)


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


# -- clients ----------------------------------------------------------------------------

_CLIENT_KINDS = (
    "an openai.OpenAI or openai.AsyncOpenAI client, or a function of the message list as Chat takes"
)


def check_client(value: object, name: str) -> object:
    """``value`` if ``%chat_config --client NAME`` can use it; a ``UsageError`` saying
    what is wrong otherwise.

    Example:
        >>> reply = lambda messages: ["Hi"]
        >>> check_client(reply, "reply") is reply
        True
        >>> check_client("gpt-4o", "model")
        Traceback (most recent call last):
          ...
        IPython.core.error.UsageError: --client model: model is a str; it takes an openai.OpenAI ...
    """
    if isinstance(value, (openai.OpenAI, openai.AsyncOpenAI)):
        return value
    if isinstance(value, type):
        raise UsageError(
            f"--client {name}: {name} is a class; create the client first, "
            f"e.g. `my_client = {value.__name__}()`, then --client my_client"
        )
    if callable(value):
        return value
    raise UsageError(
        f"--client {name}: {name} is {_a(type(value).__name__)}; it takes {_CLIENT_KINDS}"
    )


def _public_url(client: openai.OpenAI | openai.AsyncOpenAI) -> str:
    # Credentials can ride in a URL's userinfo or query (Azure's ?api-key=); show neither.
    return str(client.base_url.copy_with(userinfo=b"", query=None, fragment=None))


def _is_local(client: openai.OpenAI | openai.AsyncOpenAI) -> bool:
    return backend_label(client) == "local model"


# -- the conversation -------------------------------------------------------------------


class ChatSession:
    """The ``%%chat`` state of one IPython shell: settings and conversation.

    Get it with :func:`session`.

    Example::

        import nbstream.magics

        chat = nbstream.magics.session()
        chat.history  # the user and assistant messages sent with the next %%chat
        chat.view  # the StreamView of the last %%chat cell
        chat.reset()  # forget the conversation (what %%chat --new does)

    Attributes:
        settings: What ``%chat_config`` set (:class:`ChatSettings`).
        history: The conversation so far in OpenAI format, user and assistant messages
            only (the system prompt is added to each request). Only complete answers
            are kept: a failed or interrupted cell leaves the history as it was.
        view: The :class:`~nbstream.StreamView` of the last ``%%chat`` cell, or None.

    A cell run again takes its own turn's place: the conversation goes back to just
    before that turn (later turns built on the old answer) and the new answer follows.
    Cells are told apart by the id the notebook sends with each execution (JupyterLab,
    Notebook 7 and VS Code send one); without it, every run is a new turn.
    """

    def __init__(self) -> None:
        self.settings = ChatSettings()
        self.history: list[dict[str, Any]] = []
        self.view: StreamView | None = None
        self._local: openai.OpenAI | None = None  # one client for every local answer
        # The cell that asked each turn of `history` (a user and an assistant message),
        # or None; see _known_cells.
        self._turn_cells: list[str | None] = []

    def reset(self) -> None:
        """Forget the conversation; the settings stay.

        Example:
            >>> chat = ChatSession()
            >>> chat.history = [{"role": "user", "content": "Hi"}]
            >>> chat.reset()
            >>> chat.history
            []
        """
        self.history = []
        self._turn_cells = []

    def turns_before(self, cell_id: str | None) -> int:
        """How many turns of the history a cell's prompt follows: all of them, or, for a
        cell that asked one of them before, those before its own.

        >>> chat = ChatSession()
        >>> chat.record(0, "cell-a", "Hi", "Hello!")
        >>> chat.record(1, "cell-b", "And?", "More.")
        >>> chat.turns_before("cell-a"), chat.turns_before("cell-b"), chat.turns_before("new")
        (0, 1, 2)
        """
        turns = len(self.history) // 2
        cells = self._known_cells()
        if cell_id is not None and cell_id in cells:
            return cells.index(cell_id)
        return turns

    def _known_cells(self) -> list[str | None]:
        # Trusted only while they match the history turn for turn (users may set history).
        return self._turn_cells if len(self._turn_cells) * 2 == len(self.history) else []

    def record(self, kept: int, cell_id: str | None, prompt: str, answer: str) -> None:
        """Keep the first ``kept`` turns, then this cell's prompt and answer.

        >>> chat = ChatSession()
        >>> chat.record(0, None, "Hi", "Hello!")
        >>> chat.history
        [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello!'}]
        """
        kept = min(kept, len(self.history) // 2)
        cells = self._known_cells()
        cells = cells[:kept] + [None] * (kept - len(cells[:kept]))
        self.history = [
            *self.history[: 2 * kept],
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": answer},
        ]
        self._turn_cells = [*cells, cell_id]

    def messages_for(
        self, prompt: str, settings: ChatSettings, turns: int | None = None
    ) -> list[dict[str, Any]]:
        """The messages a cell sends: the system prompt, the history (its first
        ``turns`` turns, if given), then ``prompt``.

        >>> chat = ChatSession()
        >>> chat.history = [{"role": "user", "content": "Hi"},
        ...                 {"role": "assistant", "content": "Hello!"}]
        >>> [m["role"] for m in chat.messages_for("And?", ChatSettings(system="Be brief."))]
        ['system', 'user', 'assistant', 'user']
        """
        system = [{"role": "system", "content": settings.system}] if settings.system else []
        history = self.history if turns is None else self.history[: 2 * turns]
        return [*system, *history, {"role": "user", "content": prompt}]

    def backend_for(self, settings: ChatSettings) -> Backend:
        """Where this cell's answer comes from; ``UsageError`` if the settings cannot work.

        Example:
            >>> backend = ChatSession().backend_for(ChatSettings())  # the local model
            >>> backend.model_name, backend.label
            ('nbstream-local', 'local model')
        """
        client = settings.client
        if client is None:
            if self._local is None:
                self._local = nbstream.local.client()
            client = self._local
        try:
            return resolve_backend(client, settings.model, settings.request_params())
        except BackendError as exc:
            raise UsageError(_usage_error(exc, settings.client_name or "the client")) from None

    def describe(self) -> str:
        """The configuration as ``%chat_config`` prints it (never an API key).

        Example:
            >>> chat = ChatSession()
            >>> chat.settings = ChatSettings(client=lambda messages: ["Hi"], client_name="reply")
            >>> print(chat.describe())
            client        reply: a function of the message list
            model         (the function's own)
            system        none
            temperature   the provider's default
            max tokens    the provider's default
            idle timeout  none (waits for the client)
            conversation  new (no messages yet)
        """
        s = self.settings
        if s.client is None:
            client = "the local model (nbstream.local, the default)"
            running = nbstream.local.running_server()  # showing it must not start it
            if running is not None:
                client = f"the local model at {running.base_url} (the default)"
            model = s.model or nbstream.local.MODEL
        elif isinstance(s.client, (openai.OpenAI, openai.AsyncOpenAI)):
            kind = type(s.client).__name__
            client = f"{s.client_name}: {kind} at {_public_url(s.client)}"
            default = nbstream.local.MODEL if _is_local(s.client) else None
            model = s.model or default or "(not set: %chat_config --model NAME)"
        else:
            sort = "an async function" if is_async_client(s.client) else "a function"
            client = f"{s.client_name}: {sort} of the message list"
            model = s.model or "(the function's own)"
        count = len(self.history)
        conversation = (
            f"{count} message{'' if count == 1 else 's'}; %%chat --new starts a new one"
            if count
            else "new (no messages yet)"
        )
        rows = [
            ("client", client),
            ("model", model),
            ("system", _shorten(s.system) if s.system else "none"),
            ("temperature", _or_default(s.temperature)),
            ("max tokens", _or_default(s.max_tokens)),
            (
                "idle timeout",
                f"{s.idle_timeout:g} s" if s.idle_timeout else "none (waits for the client)",
            ),
            ("conversation", conversation),
        ]
        return "\n".join(f"{label:<13} {value}" for label, value in rows)


def _usage_error(exc: BackendError, name: str) -> str:
    """The backend rule ``exc`` reports, in the magics' own terms (their options)."""
    if exc.problem == "model":
        return (
            f"{name} needs a model to ask: %chat_config --model NAME "
            "(or %%chat --model NAME for one cell)"
        )
    if exc.problem == "params":
        return (
            f"--temperature and --max-tokens would be ignored: {name} is a function, "
            "which builds its own request (set them inside it)"
        )
    return str(exc)


def _shorten(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def _or_default(value: float | None) -> str:
    return "the provider's default" if value is None else f"{value:g}"


@dataclass
class _Turn:
    """One ``%%chat`` cell, ready to stream."""

    prompt: str
    messages: list[dict[str, Any]]
    backend: Backend
    settings: ChatSettings
    view: StreamView
    cell_id: str | None  # the notebook's id of the cell, when it sends one
    kept: int  # the turns of the history this one follows

    def opener(self) -> Any:
        # Handed to the view uncalled, so a failing request (401, 429, server down)
        # shows in the view, not only in the traceback.
        return self.backend.open(self.messages)


# -- the magics -------------------------------------------------------------------------


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
                   [--max-tokens N] [--idle-timeout S]
            Your prompt, on as many lines as you like.

        Consecutive ``%%chat`` cells are one conversation: each sends the earlier
        prompts and answers too. ``--new`` starts a new one. The other options override
        ``%chat_config`` for this cell only. A failed or interrupted answer keeps its
        text in the view and is left out of the conversation; rerun the cell to retry.

        Example::

            %%chat --new --temperature 0.2
            Explain streaming markdown in two sentences.
        """
        __tracebackhide__ = True  # the user's error is the stream's, not our frames'
        turn = self._begin(line, cell, awaitable=False)
        text = turn.view.stream(turn.opener, idle_timeout=turn.settings.idle_timeout)
        self._finish(turn, text)

    async def chat_async(self, line: str, cell: str) -> None:
        """``%%chat`` for async clients: what a ``%%chat`` cell runs as while one is
        configured, awaited on the kernel's event loop (see :class:`_AwaitChatCells`).

        Example::

            # What a "%%chat --new" cell asking "Hi" becomes, with an AsyncOpenAI client:
            await get_ipython().magics_manager.registry["NbstreamMagics"].chat_async("--new", "Hi")
        """
        __tracebackhide__ = True
        turn = self._begin(line, cell, awaitable=True)
        if turn.backend.is_async:
            text = await turn.view.astream(turn.opener, idle_timeout=turn.settings.idle_timeout)
        else:  # the client was changed between transforming the cell and running it
            text = turn.view.stream(turn.opener, idle_timeout=turn.settings.idle_timeout)
        self._finish(turn, text)

    @line_magic
    def chat_config(self, line: str) -> None:
        """Show or change where ``%%chat`` answers come from; prints the configuration.

        Examples::

            %chat_config                                 # show it (never the API key)
            %chat_config --client my_client --model gpt-4o-mini
            %chat_config --local                         # the embedded local model
            %chat_config --system "Answer in one paragraph." --temperature 0.2
            %chat_config --max-tokens 500 --idle-timeout 30
            %chat_config --reset                         # all back to the defaults

        ``--client`` takes the name of a notebook variable holding an ``openai.OpenAI``
        or ``openai.AsyncOpenAI`` client (then ``--model`` is needed too) or a function
        of the message list, as ``Chat`` takes. ``--system ''`` removes the system
        prompt. The conversation is kept whatever changes; ``%%chat --new`` starts a
        new one.
        """
        options = parse_config_options(line)
        settings = ChatSettings() if options.reset else self.session.settings
        if options.local:
            settings = replace(settings, client=None, client_name=None, model=None)
        if options.client_name is not None:
            client = check_client(self._variable(options.client_name), options.client_name)
            settings = replace(settings, client=client, client_name=options.client_name)
        self.session.settings = replace(settings, **options.overrides)
        print(self.session.describe())

    # -- shared by both cell magics -----------------------------------------------------

    @property
    def _ip(self) -> InteractiveShell:
        shell = self.shell
        assert shell is not None, "registered magics always have a shell"
        return shell

    def _begin(self, line: str, cell: str, *, awaitable: bool) -> _Turn:
        options = parse_cell_options(line)
        prompt = (cell or "").strip()
        if not prompt:
            raise UsageError("%%chat: the cell is empty; write the prompt below the %%chat line")
        settings = replace(self.session.settings, **options.overrides)
        backend = self.session.backend_for(settings)
        if backend.is_async and not awaitable:
            raise UsageError(self._why_not_awaited(settings))
        if options.new:
            self.session.reset()
        cell_id = self._cell_id()
        kept = self.session.turns_before(cell_id)
        view = StreamView()
        self.session.view = view
        display(view)  # type: ignore[no-untyped-call]
        messages = self.session.messages_for(prompt, settings, kept)
        return _Turn(prompt, messages, backend, settings, view, cell_id, kept)

    def _finish(self, turn: _Turn, text: str) -> None:
        # Only a complete answer joins the conversation; errors have raised by now.
        answer = text or turn.view.refusal or ""
        self.session.record(turn.kept, turn.cell_id, turn.prompt, answer)
        self._ip.user_ns[ANSWER_VARIABLE] = text

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

    def _variable(self, name: str) -> object:
        parts = name.split(".")
        if not all(part.isidentifier() for part in parts):
            raise UsageError(
                f"--client takes a variable's name, e.g. --client my_client; got {name!r}"
            )
        namespace = self._ip.user_ns
        if parts[0] not in namespace:
            raise UsageError(
                f"--client {name}: no variable named {parts[0]!r} in the notebook; "
                f"create it first (it takes {_CLIENT_KINDS})"
            )
        value = namespace[parts[0]]
        for i, part in enumerate(parts[1:], start=1):
            if not hasattr(value, part):
                raise UsageError(
                    f"--client {name}: {'.'.join(parts[:i])} has no attribute {part!r}"
                )
            value = getattr(value, part)
        return value

    def _why_not_awaited(self, settings: ChatSettings) -> str:
        name = settings.client_name or "the client"
        if not self._ip.autoawait:
            reason = "IPython's autoawait is off (%autoawait on turns it back on)"
        elif self._ip.loop_runner is not _asyncio_runner():
            reason = "IPython's autoawait runs on another event loop library than asyncio"
        else:
            reason = "the magic was called directly (run_cell_magic), not as a %%chat cell"
        return (
            f"{name} is async, so its answer streams on the kernel's event loop, and this "
            f"cell cannot await it: {reason}. Or configure a sync client (openai.OpenAI)."
        )


class _AwaitChatCells:
    """Rewrites a ``%%chat`` cell into a top-level ``await`` while the configured client
    is async, so that IPython runs the cell on the kernel's event loop (autoawait).

    A cell magic is called synchronously, from inside the event loop an ``AsyncOpenAI``
    client lives on: it can neither block on that loop nor start another (the client's
    pooled connections belong to the first). Awaiting the answer in the cell itself is
    the one way that stays on the kernel's loop and still ends the cell when the answer
    ends. Sync clients keep the plain magic: in an awaited cell ipykernel turns an
    interrupt into a cancellation, which a blocking stream would never see.

    It sits at the end of IPython's cleanup transforms, so the cell's indentation and
    prompts are already gone and ``%%chat`` is never handed to IPython's own cell-magic
    transform.
    """

    # Tells IPython's check_complete to skip it: a terminal must keep reading a
    # `%%chat` cell's lines until the blank line, as for any cell magic.
    has_side_effects = True

    def __init__(self, shell: InteractiveShell, magics: NbstreamMagics) -> None:
        self._shell = shell
        self._magics = magics

    def __call__(self, lines: list[str]) -> list[str]:
        if not lines or not self._applies(lines[0]):
            return lines
        # Split the way IPython's own cell-magic transform does.
        _, _, line = lines[0][2:].rstrip().partition(" ")
        cell = "".join(lines[1:])
        return [
            f"await get_ipython().magics_manager.registry[{NbstreamMagics.__name__!r}]"
            f".chat_async({line!r}, {cell!r})\n"
        ]

    def _applies(self, first: str) -> bool:
        if not first.startswith("%%") or first[2:].rstrip().partition(" ")[0] != "chat":
            return False
        shell = self._shell
        if not (shell.autoawait and shell.loop_runner is _asyncio_runner()):
            return False  # the plain magic explains why it cannot await
        # Only when this shell's magics are still the registered ones (not unloaded).
        if shell.magics_manager.registry.get(NbstreamMagics.__name__) is not self._magics:
            return False
        return is_async_client(self._magics.session.settings.client)


# -- the extension ----------------------------------------------------------------------


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Register ``%%chat`` and ``%chat_config`` (what ``%load_ext nbstream`` calls).

    Example::

        %load_ext nbstream
    """
    if NbstreamMagics.__name__ in ipython.magics_manager.registry:
        return  # loaded already: keep the conversation
    magics = NbstreamMagics(ipython)
    ipython.register_magics(magics)
    ipython.input_transformers_cleanup.append(_AwaitChatCells(ipython, magics))


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
    transforms[:] = [t for t in transforms if not isinstance(t, _AwaitChatCells)]


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


def _a(noun: str) -> str:
    """``noun`` with its indefinite article: "an int", "a list"."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"
