"""``Chat``: a whole conversation in one widget, answers streaming in the background."""

from __future__ import annotations

import asyncio
import itertools
import logging
import pathlib
import threading
from typing import Any, Literal, cast

import traitlets

from nbstream.answer import AnswerAccumulator
from nbstream.backends import Backend, resolve_backend
from nbstream.chat.answer import Answer
from nbstream.chat.run import AnswerRun, Outcome, event_loop_thread, start
from nbstream.chat.turns import (
    Turn,
    export_json,
    export_markdown,
    request_messages,
    to_messages,
    turns_from_messages,
)
from nbstream.delivery import DeltaChannel, Message
from nbstream.errors import StreamInProgressError
from nbstream.saved_output import StaticCopy
from nbstream.sources.idle import check_idle_timeout
from nbstream.static_html import conversation_to_html
from nbstream.tool_calls import ToolCall
from nbstream.widget_sync import ChannelText, ProtocolWidget

__all__ = ["Chat"]

_STATIC = pathlib.Path(__file__).parent.parent / "static"
_log = logging.getLogger("nbstream")

# What a turn's start and end set, in one state message each (docs/chat-protocol.md).
_TURN_KEYS = ("_turns", "is_streaming", "_stream", "_live_text", "_live_reasoning", "_live_tools")
_BUSY = "an answer is already streaming: wait for it, or stop it first (chat.stop())"


class Chat(StaticCopy, ProtocolWidget):
    """A chat with a model, in one cell: history, input, stop, regenerate, and stats.

    Example::

        from nbstream import Chat

        chat = Chat()  # the embedded local model: no key, no network
        chat  # shows the widget; type below, or drive it from Python:
        chat.send("What is nbstream?")  # returns at once; the answer streams

    ``client`` may be an ``openai.OpenAI`` or ``openai.AsyncOpenAI`` (any ``base_url``:
    Azure, Ollama, vLLM, llama.cpp, OpenRouter…) together with ``model``, or a function
    taking the OpenAI-format message list and returning text chunks, an async iterable,
    or an OpenAI stream. Other keyword arguments (``temperature``, ``max_tokens``, …) go
    to ``chat.completions.create``.

    Answers stream in the background, so other cells can run meanwhile: sync clients in
    a worker thread, async clients as a task on the kernel's event loop. One answer
    streams at a time; sending while one streams raises :class:`StreamInProgressError`
    (in the widget, Send turns into Stop until the answer ends).

    Args:
        client: Where answers come from; None for the embedded local model.
        model: The model to ask (required with an OpenAI client).
        system: A system prompt, sent first with every request.
        allow_images: Load markdown images in answers. Off by default: the model
            chooses the URL, and a remote image tells its server the notebook was opened.
        idle_timeout: Seconds without anything from the model after which an answer
            ends with an error (the text so far is kept). None waits as long as the
            client does.
        static_copy: After each answer, also put the conversation, rendered and
            sanitized, into the outputs that show the chat (``text/html``), so it stays
            readable where widgets are not (nbconvert, GitHub, an untrusted notebook).
        **params: Passed to ``chat.completions.create``. ``stream_options`` defaults to
            ``{"include_usage": True}`` so the footer can show token usage; pass
            ``stream_options=None`` for a server that rejects it.

    Attributes:
        system: The system prompt, or None.
        model_name: The model shown in the header.
        backend: Where it runs, as shown in the header ("local model", a host, a function).
        is_streaming: Whether an answer is streaming.
        allow_images: Whether markdown images in answers are loaded.
    """

    _esm = _STATIC / "widget.js"  # one bundle for both widgets (js/src/index.ts)
    _css = _STATIC / "widget.css"

    system = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    model_name = traitlets.Unicode("").tag(sync=True)
    backend = traitlets.Unicode("").tag(sync=True)
    is_streaming = traitlets.Bool(False).tag(sync=True)
    allow_images = traitlets.Bool(False).tag(sync=True)
    _turns = traitlets.List(traitlets.Dict()).tag(sync=True)
    _stream = traitlets.Int(0).tag(sync=True)
    _live_text = ChannelText("", channel="_text_channel").tag(sync=True)
    _live_reasoning = ChannelText("", channel="_reasoning_channel").tag(sync=True)
    _live_tools = traitlets.List(traitlets.Dict()).tag(sync=True)

    def __init__(
        self,
        client: object = None,
        model: str | None = None,
        *,
        system: str | None = None,
        allow_images: bool = False,
        idle_timeout: float | None = None,
        static_copy: bool = True,
        **params: Any,
    ) -> None:
        if system is not None and not isinstance(system, str):
            raise TypeError(f"system must be a str or None, got {type(system).__name__}")
        check_idle_timeout(idle_timeout)
        self._idle_timeout = idle_timeout
        self._static_copy = static_copy
        self._backend: Backend = resolve_backend(client, model, params)
        self._lock = threading.RLock()  # guards _turns and _run; never taken inside a run's lock
        self._ids = itertools.count(1)
        self._run: AnswerRun | None = None
        self._answer_id = 0  # the turn the running (or last) answer fills
        self._busy = False  # from a turn's start until its end is fully written
        self._text_channel = DeltaChannel(self._send_custom, lane="text")
        self._reasoning_channel = DeltaChannel(self._send_custom, lane="reasoning")
        # The kernel's event loop (cells run on it): where AsyncOpenAI clients live.
        self._loop = _running_loop()
        super().__init__(
            system=system,
            model_name=self._backend.model_name,
            backend=self._backend.label,
            allow_images=allow_images,
        )
        self.on_msg(self._on_browser_msg)

    def __repr__(self) -> str:
        # Cheap and deterministic: it is the output's text/plain.
        state = "streaming" if self.is_streaming else "idle"
        count = len(self._stored("_turns") or ())
        return f"Chat({self.model_name} via {self.backend}, {count} messages, {state})"

    # -- public API ---------------------------------------------------------------------

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The conversation in OpenAI format: the system prompt, then user and assistant
        messages (tool calls included, reasoning never). Settable, to load a history.

        Example:
            >>> chat = Chat(lambda messages: ["Hello!"], system="Be brief.")
            >>> chat.ask("Hi")
            'Hello!'
            >>> [(m["role"], m["content"]) for m in chat.messages]
            [('system', 'Be brief.'), ('user', 'Hi'), ('assistant', 'Hello!')]
            >>> chat.messages = [{"role": "user", "content": "Hi"}]  # load a history
            >>> chat.system is None  # the system prompt comes from the messages too
            True
        """
        with self._lock:
            return to_messages(self.system, self._current_turns())

    @messages.setter
    def messages(self, messages: list[dict[str, Any]]) -> None:
        system, turns = turns_from_messages(messages, self._ids)
        with self._lock:
            self._refuse_if_streaming()
            with self.hold_sync():
                self.system = system
                self._turns = cast(list[dict[str, Any]], turns)
        self._update_static_copy()

    @property
    def last_answer(self) -> Answer | None:
        """The latest assistant answer (the streaming one included), or None.

        Example:
            >>> chat = Chat(lambda messages: ["Hello", "!"])
            >>> chat.ask("Hi")
            'Hello!'
            >>> chat.last_answer.text, chat.last_answer.status
            ('Hello!', 'done')
        """
        with self._lock:
            for turn in reversed(self._current_turns()):
                if turn["role"] != "assistant":
                    continue
                streaming = turn.get("status") == "streaming"
                return Answer(
                    text=self._live_text if streaming else turn["content"],
                    status=turn.get("status", "done"),
                    reasoning=self._live_reasoning if streaming else turn.get("reasoning", ""),
                    tool_calls=list(turn.get("tool_calls") or []),
                    error=turn.get("error"),
                    stats=turn.get("stats"),
                )
        return None

    def send(self, text: str) -> None:
        """Ask ``text`` and return at once; the answer streams in the background.

        (This replaces ipywidgets' ``Widget.send`` for custom messages, which the Chat
        does not offer: its messages to the browser are its own protocol's.)

        Raises:
            StreamInProgressError: An answer is streaming already.
            ValueError: ``text`` is empty.

        Example::

            chat.send("What is nbstream?")  # returns at once
            chat.is_streaming  # True until the answer ends; chat.last_answer grows
        """
        self._start(_user_text(text))

    def ask(self, text: str) -> str:
        """Ask ``text`` and wait for the answer; return its text (for scripts and tests).

        If the answer fails, its exception is raised (the partial answer stays in the
        chat); if it is stopped, the text so far is returned. In a notebook with an async
        client, use ``await chat.asend(text)``: waiting here would block the very event
        loop the answer needs.

        Example:
            >>> chat = Chat(lambda messages: ["You said: ", messages[-1]["content"]])
            >>> chat.ask("Hello")
            'You said: Hello'
        """
        text = _user_text(text)
        if self._backend.is_async and _running_loop() is self._answer_loop():
            raise RuntimeError(
                "chat.ask() would block the event loop this async client's answer runs on; "
                "use `await chat.asend(text)` instead"
            )
        run = self._start(text, blocking=True)
        try:
            return run.future.result()
        except KeyboardInterrupt:
            run.stop()  # an interrupted wait stops the answer too
            raise

    async def asend(self, text: str) -> str:
        """Ask ``text`` and await the answer; return its text. Async twin of :meth:`ask`.

        Cancelling the await (e.g. interrupting the kernel) stops the answer.

        Example::

            chat = Chat(openai.AsyncOpenAI(), model="gpt-4o-mini")
            text = await chat.asend("What is nbstream?")
        """
        run = self._start(_user_text(text))
        try:
            return await asyncio.wrap_future(run.future)
        except asyncio.CancelledError:
            run.stop()
            raise

    def stop(self) -> bool:
        """Stop the streaming answer, keeping its text; False if none was streaming.

        Takes effect at once: the answer is marked stopped, then its producer is
        cancelled, which closes the upstream HTTP stream (so the provider stops
        generating).

        Example::

            chat.send("Write a long story")
            chat.stop()  # True: the story so far stays, marked as stopped
        """
        with self._lock:
            run = self._run
        return run is not None and run.stop()

    def regenerate(self) -> None:
        """Answer the last user message again, replacing the answer after it.

        Returns at once, as :meth:`send` does.

        Example::

            chat.ask("Suggest a name for a cat")
            chat.regenerate()  # another answer to the same question replaces it
        """
        self._start(None)

    def clear(self) -> None:
        """Forget the conversation (the system prompt stays); stops a streaming answer.

        Example:
            >>> chat = Chat(lambda messages: ["Hello!"], system="Be brief.")
            >>> chat.ask("Hi")
            'Hello!'
            >>> chat.clear()
            >>> chat.messages
            [{'role': 'system', 'content': 'Be brief.'}]
        """
        self.stop()
        with self._lock:
            self._turns = []
        self._update_static_copy()

    def close(self) -> None:
        """Close the widget; a streaming answer is stopped (its text is kept).

        Example::

            chat.close()  # no more widget: its views stop working
            chat.messages  # the conversation is still there, in Python
        """
        if "_lock" in self.__dict__:  # not when __init__ failed before setting up
            self.stop()
        super().close()

    def export(self, format: Literal["markdown", "json"] = "markdown") -> str:
        """The conversation as Markdown (to read or paste) or JSON (OpenAI messages).

        Raises:
            ValueError: Another ``format``.

        Example:
            >>> chat = Chat(lambda messages: ["Hello!"])
            >>> chat.ask("Hi")
            'Hello!'
            >>> chat.export().splitlines()
            ['## User', '', 'Hi', '', '## Assistant', '', 'Hello!']
            >>> import json
            >>> json.loads(chat.export("json")) == chat.messages
            True
        """
        with self._lock:
            turns = self._current_turns()
            if format == "markdown":
                return export_markdown(self.system, turns)
            if format == "json":
                return export_json(self.system, turns)
        raise ValueError(f"format must be 'markdown' or 'json', got {format!r}")

    # -- turns --------------------------------------------------------------------------

    def _start(
        self, text: str | None, *, edit: int | None = None, blocking: bool = False
    ) -> AnswerRun:
        """Begin an answer: to new user ``text``, to an edit of user turn ``edit``, or
        (``text`` None) again to the last user message."""
        with self._lock:
            self._refuse_if_streaming()
            turns = self._current_turns()
            if edit is not None:
                turns = _replace_user_turn(turns, edit, cast(str, text), next(self._ids))
            elif text is not None:
                turns.append(Turn(id=next(self._ids), role="user", content=text))
            else:
                turns = _up_to_last_user_turn(turns)
            request = request_messages(to_messages(self.system, turns))
            answer = Turn(
                id=next(self._ids),
                role="assistant",
                content="",
                status="streaming",
                reasoning="",
                tool_calls=[],
                error=None,
                stats=None,
            )
            run = AnswerRun(AnswerAccumulator(), _Sink(self), self._idle_timeout)
            self._run = run
            self._answer_id = answer["id"]
            self._busy = True
            stream = self._stream + 1
            # One state message starts the turn (docs/chat-protocol.md).
            with self._delivered(_TURN_KEYS):
                self._turns = cast(list[dict[str, Any]], [*turns, answer])
                self.is_streaming = True
                self._stream = stream
                self._live_text = ""
                self._live_reasoning = ""
                self._live_tools = []
            # Channels first: a resync may be answered on another thread at any moment.
            self._text_channel.begin(stream)
            self._reasoning_channel.begin(stream)
            self.send_state(list(_TURN_KEYS))
        loop = self._answer_loop()
        if blocking and _running_loop() is loop:
            # ask() blocks this loop: a function that turns out to be async must not
            # need it.
            loop = event_loop_thread()
        start(run, self._backend, request, loop)
        return run

    def _refuse_if_streaming(self) -> None:
        # `_busy` (not the run's own state) so that a new turn never starts while the
        # last one's end is still being written.
        if self._busy:
            raise StreamInProgressError(_BUSY)

    def _current_turns(self) -> list[Turn]:
        return [cast(Turn, dict(turn)) for turn in self._stored("_turns") or ()]

    def _answer_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop if self._loop is not None else event_loop_thread()

    # -- what the running answer reports (through _Sink, under the run's lock) ---------

    def _finish(self, run: AnswerRun, outcome: Outcome, error: str | None) -> None:
        answer = run.answer
        with self._lock:
            # Store the final texts before the channels let go of them, so a resync
            # answered meanwhile on another thread never sees a blank answer.
            with self._delivered(("_live_text", "_live_reasoning")):
                self._live_text = answer.reply
                self._live_reasoning = answer.reasoning
            self._text_channel.end(error)
            self._reasoning_channel.end(None)
            turns = [
                Turn(
                    id=turn["id"],
                    role="assistant",
                    content=answer.reply,
                    status="done" if outcome == "done" else outcome,
                    reasoning=answer.reasoning,
                    tool_calls=answer.tool_calls,
                    error=error,
                    stats=answer.stats(self._backend.model_name),
                )
                if turn["id"] == self._answer_id
                else turn
                for turn in self._current_turns()
            ]
            with self._delivered(_TURN_KEYS):
                self._turns = cast(list[dict[str, Any]], turns)
                self.is_streaming = False
                self._live_text = ""
                self._live_reasoning = ""
                self._live_tools = []
            self.send_state(list(_TURN_KEYS))
            self._busy = False
        self._update_static_copy()

    # -- the static copy in saved outputs (see nbstream.saved_output) -------------------

    def _static_markdown(self) -> str | None:
        with self._lock:
            if self._busy:
                return None  # mid-answer: the copy is sent when it ends
            turns = self._current_turns()
            return export_markdown(self.system, turns) if turns else None

    def _static_html(self) -> str | None:
        with self._lock:
            if self._busy or not self._stored("_turns"):
                return None
            messages = to_messages(self.system, self._current_turns())
        return conversation_to_html(messages, allow_images=self.allow_images)

    # -- the browser --------------------------------------------------------------------

    def _send_custom(self, message: Message) -> None:
        # `send` is the chat's own (send a message to the model); ipywidgets' custom
        # message send is the parent's.
        super().send(message)

    def _on_browser_msg(self, _widget: object, content: Any, _buffers: object) -> None:
        # With kernel subshells (ipykernel 7 + JupyterLab 4.4+) this runs on another
        # thread, at once, even while a cell is busy: that is what makes Stop immediate.
        if not isinstance(content, dict):
            return
        kind = content.get("kind")
        try:
            if kind == "resync":
                self._resync(content.get("lane"))
            elif kind == "send":
                self.send(str(content.get("text", "")))
            elif kind == "stop":
                self.stop()
            elif kind == "regenerate":
                self.regenerate()
            elif kind == "edit":
                self._start(_user_text(str(content.get("text", ""))), edit=content.get("id"))
            elif kind == "clear":
                self.clear()
        except (StreamInProgressError, ValueError) as exc:
            self._send_custom({"kind": "notice", "text": str(exc)})
        except Exception as exc:
            _log.exception("nbstream Chat could not handle %r from the browser", kind)
            self._send_custom({"kind": "notice", "text": f"{type(exc).__name__}: {exc}"})

    def _resync(self, lane: object) -> None:
        channel, key = (
            (self._reasoning_channel, "_live_reasoning")
            if lane == "reasoning"
            else (self._text_channel, "_live_text")
        )

        def stored() -> tuple[str, bool, str | None]:
            return self._stored(key) or "", bool(self._stored("is_streaming")), None

        self._send_custom(channel.sync_message(stored))


class _Sink:
    """The Chat as seen by its running answer (:class:`~nbstream.chat.run.AnswerSink`)."""

    def __init__(self, chat: Chat) -> None:
        self._chat = chat

    def text(self, text: str) -> None:
        self._chat._text_channel.push(text)

    def reasoning(self, text: str) -> None:
        self._chat._reasoning_channel.push(text)

    def tools(self, calls: list[ToolCall]) -> None:
        self._chat._live_tools = cast(list[dict[str, Any]], calls)

    def finish(self, run: AnswerRun, outcome: Outcome, error: str | None) -> None:
        self._chat._finish(run, outcome, error)


def _user_text(text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"the message must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ValueError("nothing to send: the message is empty")
    return text


def _up_to_last_user_turn(turns: list[Turn]) -> list[Turn]:
    for index in range(len(turns) - 1, -1, -1):
        if turns[index]["role"] == "user":
            return turns[: index + 1]
    raise ValueError("nothing to regenerate: the conversation has no user message yet")


def _replace_user_turn(turns: list[Turn], turn_id: object, text: str, new_id: int) -> list[Turn]:
    for index, turn in enumerate(turns):
        if turn["id"] == turn_id and turn["role"] == "user":
            # A new id: the browser keys its DOM by id, and this is a new message.
            return [*turns[:index], Turn(id=new_id, role="user", content=text)]
    raise ValueError(f"cannot edit message {turn_id!r}: no such user message")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
