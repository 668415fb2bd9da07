"""``Chat``: a whole conversation in one widget, answers streaming in the background."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal, cast

import traitlets

from nbstream.attachments import Attachment, AttachmentLimits, attach_all, attach_file
from nbstream.backends import resolve_backend
from nbstream.chat.answer import Answer
from nbstream.chat.rounds import ChatRounds, RoundSettings, running_loop, user_text
from nbstream.chat.turns import (
    TurnStatus,
    copy_messages,
    export_json,
    export_markdown,
    to_messages,
    turns_from_messages,
)
from nbstream.errors import StreamInProgressError
from nbstream.saved_output import StaticCopy
from nbstream.sources.idle import check_idle_timeout
from nbstream.static_html import conversation_to_html
from nbstream.tools import DEFAULT_RESULT_LIMIT, Tool, tools_from
from nbstream.tools.calls import Approve

__all__ = ["Chat"]

# What `attachments=` takes: a list of objects, or {name: object}.
_Attachments = list[Any] | tuple[Any, ...] | dict[str, Any] | None
_log = logging.getLogger("nbstream")


class Chat(StaticCopy, ChatRounds):
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
        tools: Python functions the model may call (sync or ``async def``; their
            schema comes from the signature, type hints and docstring), ``(OpenAI tool
            dict, function)`` pairs, or :class:`nbstream.tools.Tool` objects. A call
            runs in the kernel, so it sees the notebook's variables; its result, or its
            failure, goes back to the model, and the answer goes on.
        approve: False runs every call; True waits for Allow / Deny in the widget;
            a function ``(name, arguments) -> bool`` decides in Python (scripts, ``ask``).
            A denied call tells the model "denied by the user".
        max_tool_rounds: At most this many rounds of tool calls per question; then
            the answer ends with a note saying so.
        tool_result_limit: Characters of a tool's result the model gets (the rest is
            cut, with a note).
        attachment_limits: What ``attachments=`` may carry: image size (larger images
            are downscaled), bytes, count, table rows and text length shown
            (:class:`nbstream.attachments.AttachmentLimits`).
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

    model_name = traitlets.Unicode("").tag(sync=True)
    backend = traitlets.Unicode("").tag(sync=True)
    allow_images = traitlets.Bool(False).tag(sync=True)

    def __init__(
        self,
        client: object = None,
        model: str | None = None,
        *,
        system: str | None = None,
        allow_images: bool = False,
        idle_timeout: float | None = None,
        static_copy: bool = True,
        tools: list[Any] | None = None,
        approve: bool | Approve = False,
        max_tool_rounds: int = 8,
        tool_result_limit: int = DEFAULT_RESULT_LIMIT,
        attachment_limits: AttachmentLimits | None = None,
        **params: Any,
    ) -> None:
        if system is not None and not isinstance(system, str):
            raise TypeError(f"system must be a str or None, got {type(system).__name__}")
        check_idle_timeout(idle_timeout)
        if not (isinstance(approve, bool) or callable(approve)):
            raise TypeError(
                "approve must be True (ask in the widget), False (run every call), or a "
                f"function (name, arguments) -> bool; got {type(approve).__name__}"
            )
        limits = {"max_tool_rounds": max_tool_rounds, "tool_result_limit": tool_result_limit}
        for name, value in limits.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
        if attachment_limits is not None and not isinstance(attachment_limits, AttachmentLimits):
            raise TypeError(
                "attachment_limits must be an nbstream.attachments.AttachmentLimits, "
                f"got {type(attachment_limits).__name__}"
            )
        self._attachment_limits = attachment_limits or AttachmentLimits()
        self._static_copy = static_copy
        backend = resolve_backend(client, model, params)
        super().__init__(
            RoundSettings(
                backend=backend,
                tools=tools_from(tools),
                approve=approve,
                max_tool_rounds=max_tool_rounds,
                tool_result_limit=tool_result_limit,
                idle_timeout=idle_timeout,
            ),
            system=system,
            model_name=backend.model_name,
            backend=backend.label,
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
                    status=cast(TurnStatus, turn.get("status", "done")),
                    reasoning=self._live_reasoning if streaming else turn.get("reasoning", ""),
                    tool_calls=list(turn.get("tool_calls") or []),
                    error=turn.get("error"),
                    stats=turn.get("stats"),
                    note=turn.get("note"),
                )
        return None

    def send(self, text: str, attachments: _Attachments = None) -> None:
        """Ask ``text`` and return at once; the answer streams in the background.

        ``attachments`` go with the question: DataFrames and Series (as text: shape,
        columns, first rows), images (PIL, matplotlib figures, PNG/JPEG/GIF/WebP bytes
        or paths, anything with ``_repr_png_``), text files' paths, objects with
        ``_repr_markdown_``; a list, or ``{name: object}`` to name them. They are
        checked before anything is sent (:class:`nbstream.attachments.AttachmentError`
        says what is wrong); the model gets them as content parts, and the chat shows
        each as a chip with a thumbnail.

        (This replaces ipywidgets' ``Widget.send`` for custom messages, which the Chat
        does not offer: its messages to the browser are its own protocol's.)

        Raises:
            StreamInProgressError: An answer is streaming already.
            ValueError: ``text`` is empty and nothing is attached.
            AttachmentError: An attachment cannot be attached (a ``ValueError``).

        Example::

            chat.send("What is nbstream?")  # returns at once
            chat.is_streaming  # True until the answer ends; chat.last_answer grows
            chat.send("What stands out?", attachments=[df, fig])
        """
        question, converted = self._question(text, attachments)
        self._start(question, attachments=converted)

    def _question(self, text: object, attachments: _Attachments) -> tuple[str, list[Attachment]]:
        """The checked text and converted attachments of a question, before anything runs."""
        converted = attach_all(attachments, self._attachment_limits)
        return user_text(text, attached=bool(converted)), converted

    def ask(self, text: str, attachments: _Attachments = None) -> str:
        """Ask ``text`` and wait for the answer; return its text (for scripts and tests).

        ``attachments`` are as :meth:`send` takes them.

        If the answer fails, its exception is raised (the partial answer stays in the
        chat); if it is stopped, the text so far is returned. In a notebook with an async
        client, use ``await chat.asend(text)``: waiting here would block the very event
        loop the answer needs.

        Example:
            >>> chat = Chat(lambda messages: ["You said: ", messages[-1]["content"]])
            >>> chat.ask("Hello")
            'You said: Hello'
            >>> from nbstream.attachments import Attachment
            >>> chat = Chat(lambda messages: [f"{len(messages[-1]['content'])} parts"])
            >>> chat.ask("Read this", attachments=[Attachment.from_text("x", name="a.txt")])
            '2 parts'
        """
        text, converted = self._question(text, attachments)
        if self._backend.is_async and running_loop() is self._answer_loop():
            raise RuntimeError(
                "chat.ask() would block the event loop this async client's answer runs on; "
                "use `await chat.asend(text)` instead"
            )
        if self._tools and self._settings.approve is True:
            raise RuntimeError(
                "chat.ask() waits in this cell, so it cannot also take the widget's Allow / "
                "Deny: use chat.send(text), or approve=a function (name, arguments) -> bool"
            )
        exchange = self._start(text, attachments=converted, blocking=True)
        try:
            return exchange.future.result()
        except KeyboardInterrupt:
            self.stop()  # an interrupted wait stops the answer too
            raise

    async def asend(self, text: str, attachments: _Attachments = None) -> str:
        """Ask ``text`` and await the answer; return its text. Async twin of :meth:`ask`.

        ``attachments`` are as :meth:`send` takes them. Cancelling the await (e.g.
        interrupting the kernel) stops the answer.

        Example::

            chat = Chat(openai.AsyncOpenAI(), model="gpt-4o-mini")
            text = await chat.asend("What is nbstream?")
            text = await chat.asend("And this table?", attachments=[df])
        """
        text, converted = self._question(text, attachments)
        exchange = self._start(text, attachments=converted)
        try:
            return await asyncio.wrap_future(exchange.future)
        except asyncio.CancelledError:
            self.stop()
            raise

    def stop(self) -> bool:
        """Stop the streaming answer, keeping its text; False if none was streaming.

        Takes effect at once: the answer is marked stopped, then its producer is
        cancelled, which closes the upstream HTTP stream (so the provider stops
        generating). During tool calls, nothing more runs: waiting approvals end,
        async tools are cancelled, and a sync tool still running (it cannot be killed)
        has its result dropped; each call's card says which.

        Example::

            chat.send("Write a long story")
            chat.stop()  # True: the story so far stays, marked as stopped
        """
        with self._lock:
            exchange = self._exchange
            if exchange is None or exchange.done:
                return False
            exchange.stopped = True
            tools, run = exchange.tools, exchange.run
        if tools is None:
            return run is not None and run.stop()
        tools.stop()  # its cards show at once (through _show_tools)
        with self._lock:
            self._end_exchange(exchange, self._stopped_turns())
            exchange.settle(self._last_reply())
        self._update_static_copy()
        return True

    @property
    def tools(self) -> list[Tool]:
        """The tools the model may call; settable (as ``Chat(tools=...)`` takes them).

        A change applies from the next request on.

        Example:
            >>> def add(a: int, b: int) -> int:
            ...     "Add two integers."
            ...     return a + b
            >>> chat = Chat(lambda messages: ["Hi"])
            >>> chat.tools = [add]
            >>> [tool.name for tool in chat.tools]
            ['add']
        """
        with self._lock:
            return list(self._tools.values())

    @tools.setter
    def tools(self, tools: list[Any] | None) -> None:
        checked = {tool.name: tool for tool in tools_from(tools)}
        with self._lock:
            self._tools = checked

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
            messages = copy_messages(self.system, self._current_turns())
        return conversation_to_html(messages, allow_images=self.allow_images)

    # -- the browser --------------------------------------------------------------------

    def _dropped_files(self, headers: object, buffers: object) -> list[Attachment]:
        """The files attached in the browser (one buffer each, their bytes sent once),
        converted and checked as ``attachments=`` files are."""
        if not isinstance(headers, list) or not headers:
            return []
        data = list(buffers) if isinstance(buffers, (list, tuple)) else []
        if len(data) != len(headers):
            raise ValueError(f"{len(headers)} files were attached but {len(data)} arrived")
        names = [str(h.get("name", "")) if isinstance(h, dict) else "" for h in headers]
        return [
            attach_file(bytes(buffer), name or "file", self._attachment_limits)
            for name, buffer in zip(names, data, strict=True)
        ]

    def _on_browser_msg(self, _widget: object, content: Any, buffers: object) -> None:
        # With kernel subshells (ipykernel 7 + JupyterLab 4.4+) this runs on another
        # thread, at once, even while a cell is busy: that is what makes Stop immediate.
        if not isinstance(content, dict):
            return
        kind = content.get("kind")
        try:
            if kind == "resync":
                self._resync(content.get("lane"))
            elif kind == "send":
                files = self._dropped_files(content.get("files"), buffers)
                self.send(str(content.get("text", "")), attachments=files or None)
            elif kind == "stop":
                self.stop()
            elif kind == "regenerate":
                self.regenerate()
            elif kind == "edit":
                text = user_text(str(content.get("text", "")), attached=True)
                self._start(text, edit=content.get("id"))
            elif kind == "clear":
                self.clear()
            elif kind == "approve":
                self._answer_approval(str(content.get("call_id", "")), content.get("allow") is True)
        except (StreamInProgressError, ValueError) as exc:
            notice = {"kind": "notice", "text": str(exc)}
            if kind == "send":
                # The box was emptied on sending: give the words back, nothing is lost.
                notice["draft"] = str(content.get("text", ""))
            self._send_custom(notice)
        except Exception as exc:
            _log.exception("nbstream Chat could not handle %r from the browser", kind)
            self._send_custom({"kind": "notice", "text": f"{type(exc).__name__}: {exc}"})
