"""The ``%%chat`` state of one shell: :class:`ChatSession`, settings and conversation.

Besides the history, a session keeps the cell that asked each turn, so that a cell run
again takes its own turn's place (:meth:`ChatSession.turns_before` says where,
:meth:`ChatSession.record` puts it there); :meth:`ChatSession.describe` words the
settings as ``%chat_config`` prints them.
"""

from __future__ import annotations

from typing import Any

import openai
from IPython.core.error import UsageError

import nbstream.local
from nbstream.backends import Backend, BackendError, is_async_client, resolve_backend
from nbstream.magics.clients import is_local, public_url
from nbstream.magics.options import ChatSettings
from nbstream.stream_view import StreamView

__all__ = ["ChatSession"]


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
        history: The conversation so far in OpenAI format: each cell's user message,
            then its answer (with ``--tools``, the assistant ``tool_calls`` and
            ``tool`` messages that led to it first). The system prompt is added to each
            request. Only complete answers are kept: a failed or interrupted cell
            leaves the history as it was.
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
        cells = self._known_cells()
        if cell_id is not None and cell_id in cells:
            return cells.index(cell_id)
        return len(self._turn_starts())

    def _turn_starts(self) -> list[int]:
        # A turn starts at its user message; tool rounds make some turns longer than two.
        return [i for i, message in enumerate(self.history) if message.get("role") == "user"]

    def _known_cells(self) -> list[str | None]:
        # Trusted only while they match the history turn for turn (users may set history).
        return self._turn_cells if len(self._turn_cells) == len(self._turn_starts()) else []

    def record(
        self,
        kept: int,
        cell_id: str | None,
        prompt: str | list[dict[str, Any]],
        answer: str | list[dict[str, Any]],
    ) -> None:
        """Keep the first ``kept`` turns, then this cell's prompt (its text, or content
        parts with attachments) and answer: its text, or the messages that answered it
        (tool rounds, then the final answer).

        >>> chat = ChatSession()
        >>> chat.record(0, None, "Hi", "Hello!")
        >>> chat.history
        [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello!'}]
        """
        starts = self._turn_starts()
        kept = min(kept, len(starts))
        cells = self._known_cells()
        cells = cells[:kept] + [None] * (kept - len(cells[:kept]))
        answered = [{"role": "assistant", "content": answer}] if isinstance(answer, str) else answer
        self.history = [
            *self.history[: self._start_of(kept, starts)],
            {"role": "user", "content": prompt},
            *answered,
        ]
        self._turn_cells = [*cells, cell_id]

    def _start_of(self, turn: int, starts: list[int]) -> int:
        """Where turn ``turn`` starts in the history (its end, past the last turn)."""
        return starts[turn] if turn < len(starts) else len(self.history)

    def messages_for(
        self, prompt: str | list[dict[str, Any]], settings: ChatSettings, turns: int | None = None
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
        history = (
            self.history
            if turns is None
            else self.history[: self._start_of(turns, self._turn_starts())]
        )
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
            tools         none
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
            client = f"{s.client_name}: {kind} at {public_url(s.client)}"
            default = nbstream.local.MODEL if is_local(s.client) else None
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
            ("tools", ", ".join(s.tools) if s.tools else "none"),
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
