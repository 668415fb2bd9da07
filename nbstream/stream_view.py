"""``StreamView``: a widget that shows streamed LLM output as live markdown."""

from __future__ import annotations

import inspect
import threading
from collections.abc import AsyncIterable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, TypeVar

import traitlets

from nbstream.answer import AnswerAccumulator
from nbstream.delivery import DeltaChannel, Message
from nbstream.errors import (
    SourceError,
    StreamClosedError,
    StreamInProgressError,
    api_keys_of,
    describe_error,
)
from nbstream.events import Event, TextDelta
from nbstream.saved_output import StaticCopy
from nbstream.sources import aiter_events, check_async_source, check_sync_source, iter_events
from nbstream.sources.closing import aclose_quietly, client_of, close_quietly
from nbstream.sources.idle import aopen_within, check_idle_timeout, open_within
from nbstream.static_html import markdown_to_html
from nbstream.widget_sync import ChannelText, ProtocolWidget

__all__ = ["StreamView"]

_S = TypeVar("_S")


def _opener_of(source: object) -> Callable[[], Any] | None:
    """``source`` if it is a function that opens the stream (not a stream, nor a class)."""
    if not callable(source) or isinstance(source, (Iterable, AsyncIterable, type)):
        return None
    # Context managers made with contextlib are callable too (as decorators): a stream
    # manager such as pydantic-ai's run_stream(...), not an opener.
    if hasattr(source, "__enter__") or hasattr(source, "__aenter__"):
        return None
    return None if hasattr(source, "choices") else source


class StreamView(StaticCopy, ProtocolWidget):
    """Live, sanitized markdown for a streamed LLM answer, with a cursor while it streams.

    Display it, then stream into it from a sync or async source.

    Example::

        from nbstream import StreamView
        import nbstream.local

        client = nbstream.local.client()  # or openai.OpenAI(), any base_url
        view = StreamView()
        display(view)
        text = view.stream(
            client.chat.completions.create(
                model="nbstream-local",
                messages=[{"role": "user", "content": "What is nbstream?"}],
                stream=True,
            )
        )

    ``await view.astream(...)`` is the async twin (``AsyncOpenAI`` streams, async
    iterables). Any iterable of ``str`` works as a source too.

    Attributes:
        content: The text (markdown). Mid-stream it reads as the text so far.
        is_streaming: Whether a stream is running.
        error: Why the last stream failed (``"Type: message"``, never an API key), or None.
        finish_reason: Why the model stopped (``"stop"``, ``"length"``,
            ``"content_filter"``, ``"tool_calls"``…), when the source says; the view flags
            an answer cut short by the token limit or a content filter.
        usage: Token counts of the last stream (``prompt_tokens``, ``completion_tokens``,
            ``total_tokens``), when the provider sent them (for OpenAI, pass
            ``stream_options={"include_usage": True}``); shown under the answer.
        refusal: The model's refusal (OpenAI's ``refusal``), shown instead of an answer.
        reasoning: The model's reasoning (``reasoning_content``, ``reasoning``, or a
            ``<think>`` block opening the text), kept apart from ``content`` and not
            shown; :class:`~nbstream.Chat` shows it.
        allow_images: Whether markdown images are loaded. Off by default: the model
            chooses the URL, and a remote image tells its server that (and from where)
            the notebook was opened. Off, an image shows as its alt text and address.
    """

    content = ChannelText("", channel="_channel").tag(sync=True)
    is_streaming = traitlets.Bool(False).tag(sync=True)
    error = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    finish_reason = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    usage = traitlets.Instance(dict, allow_none=True).tag(sync=True)
    refusal = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    allow_images = traitlets.Bool(False).tag(sync=True)
    # Id of the current stream: lets the browser drop messages of an earlier stream.
    _stream = traitlets.Int(0).tag(sync=True)

    def __init__(
        self,
        content: str = "",
        *,
        allow_images: bool = False,
        static_copy: bool = True,
        max_messages_per_second: float = 30.0,
    ) -> None:
        """Create a view, optionally showing ``content`` already.

        Args:
            content: Initial markdown.
            allow_images: Load markdown images (http, https and data: images); see
                :attr:`allow_images`.
            static_copy: When a stream ends, keep the answer for the saved notebook:
                put the final text, rendered and sanitized, into the outputs that show
                the view (``text/html``), so it stays readable where widgets are not
                (nbconvert, GitHub, an untrusted notebook), and send the final state to
                the kernel's saved widget state, so a notebook run headless reopens
                showing it. It costs about 1.5 more copies of the text on the wire, once.
                Turn it off for streams nobody will save.
            max_messages_per_second: Upper bound on delta messages while streaming.
                Jupyter drops iopub messages past its rate limits, so keep it modest.
        """
        if not max_messages_per_second > 0:
            raise ValueError(
                f"max_messages_per_second must be > 0, got {max_messages_per_second!r}"
            )
        self._running = threading.Lock()  # held from _begin to _end
        self._static_copy = static_copy
        self._closed_while_streaming = False
        self._answer = AnswerAccumulator()
        self.reasoning = ""
        self._channel = DeltaChannel(self._send_custom, interval=1 / max_messages_per_second)
        super().__init__(content=content, allow_images=allow_images)
        self.on_msg(self._on_browser_msg)

    def __repr__(self) -> str:
        # Cheap and deterministic (it becomes the output's text/plain): no trait
        # serialisation and no memory address.
        state = "streaming" if self.is_streaming else "idle"
        return f"StreamView({state}, {len(self.content)} characters)"

    # -- public API ---------------------------------------------------------------------

    def stream(
        self,
        source: Iterable[Any] | AbstractContextManager[Any] | Callable[[], Any],
        *,
        idle_timeout: float | None = None,
    ) -> str:
        """Stream ``source`` into the view, blocking until it ends; return the full text.

        ``source`` is an OpenAI ``Stream`` (chat completion chunks, or Responses API
        events), a ``ChatCompletion``, or any iterable of ``str``. If the source raises
        (or the kernel is interrupted), the text so far stays, ``error`` says why, and the
        exception propagates. The source is closed however the stream ends.

        ``source`` may also be a function that opens the stream, so that a failing
        request (a 401, a 429, a server down) shows in the view too, not only in the
        traceback::

            view.stream(lambda: client.chat.completions.create(..., stream=True))

        Args:
            source: What to stream, or a function of no arguments that returns it.
            idle_timeout: Seconds without anything arriving (counted from the request,
                when the view opens it, then from each piece) after which the stream
                ends with :class:`~nbstream.errors.IdleTimeoutError` (the view shows it
                is waiting meanwhile). None waits as long as the source does.

        Returns:
            The whole text, as :attr:`content` holds it from then on.

        Raises:
            SourceError: ``source`` cannot be streamed (the message says what to pass).
            StreamInProgressError: The view is streaming already.

        Example:
            >>> view = StreamView()
            >>> view.stream(["# Hello", ", world"])
            '# Hello, world'
            >>> view.content, view.is_streaming, view.error
            ('# Hello, world', False, None)
        """
        check_idle_timeout(idle_timeout)
        opener = _opener_of(source)
        checked = None if opener else self._checked(check_sync_source, source)
        self._begin()
        try:
            if opener is not None:
                source = open_within(opener, idle_timeout, close_quietly)
                checked = check_sync_source(source)
            assert checked is not None
            for event in iter_events(checked, idle_timeout=idle_timeout):
                self._apply(event)
        except BaseException as exc:
            self._end(describe_error(exc, api_keys_of(client_of(source))))
            raise
        else:
            self._end(None)
        finally:
            close_quietly(source)
        return self._stored_content()

    async def astream(
        self,
        source: AsyncIterable[Any]
        | Iterable[Any]
        | AbstractAsyncContextManager[Any]
        | Callable[[], Any],
        *,
        idle_timeout: float | None = None,
    ) -> str:
        """Async twin of :meth:`stream`: also takes ``AsyncStream`` and async iterables.

        A function source may return the stream or an awaitable of it, e.g.
        ``lambda: aclient.chat.completions.create(..., stream=True)``.

        Example::

            aclient = nbstream.local.async_client()  # or openai.AsyncOpenAI()
            text = await view.astream(
                await aclient.chat.completions.create(
                    model=nbstream.local.MODEL,
                    messages=[{"role": "user", "content": "What is nbstream?"}],
                    stream=True,
                )
            )
        """
        check_idle_timeout(idle_timeout)
        opener = _opener_of(source)
        checked = None if opener else self._checked(check_async_source, source)
        self._begin()
        try:
            if opener is not None:
                source = opener()
                if inspect.isawaitable(source):
                    source = await aopen_within(source, idle_timeout)
                checked = check_async_source(source)
            assert checked is not None
            async for event in aiter_events(checked, idle_timeout=idle_timeout):
                self._apply(event)
        except BaseException as exc:
            self._end(describe_error(exc, api_keys_of(client_of(source))))
            raise
        else:
            self._end(None)
        finally:
            await aclose_quietly(source)
        return self._stored_content()

    # -- the shared core of both twins --------------------------------------------------

    def _checked(self, check: Callable[[Any], _S], source: Any) -> _S:
        # A source that cannot be streamed is reported in the view too, not only in the
        # traceback, since the view is where the user is looking.
        try:
            return check(source)
        except SourceError as exc:
            self.error = describe_error(exc)
            raise

    def _begin(self) -> None:
        if not self._running.acquire(blocking=False):
            raise StreamInProgressError(
                "this StreamView is already streaming; wait for it to finish or use another view"
            )
        stream = self._stream + 1
        self._closed_while_streaming = False
        self._answer = AnswerAccumulator()
        self.reasoning = ""
        # One state message resets the browser: set quietly, then send them together.
        # The footer's values are reset only when the last stream left some.
        footer = [k for k in ("finish_reason", "usage", "refusal") if getattr(self, k) is not None]
        keys = ["content", "is_streaming", "error", "_stream", *footer]
        with self._delivered(keys):
            self.content = ""
            self.error = None
            self.is_streaming = True
            self._stream = stream
            for key in footer:
                self.set_trait(key, None)
        # The channel starts first: under kernel subshells a resync is answered on another
        # thread at any moment, and must already see the new stream.
        self._channel.begin(stream)
        self.send_state(keys)

    def _apply(self, event: Event) -> None:
        self._answer.add(event)
        if isinstance(event, TextDelta):
            self._channel.push(event.text)
        if self._closed_while_streaming:
            raise StreamClosedError("the view was closed while it was streaming")

    def _end(self, error: str | None) -> None:
        answer = self._answer
        try:
            answer.end()
            self.reasoning = answer.reasoning
            # What the footer shows goes first, so the browser's final render has it.
            with self.hold_sync():
                self.finish_reason = answer.finish_reason
                self.set_trait("usage", answer.usage)
                self.refusal = answer.refusal or None
            # Store the final state before the channel lets go of the text, so a resync
            # answered on another thread never sees an in-between state. The `end`
            # message sets the same values in the browser, so they are not re-sent.
            with self._delivered(("content", "is_streaming", "error")):
                self.content = self._channel.text()
                self.error = error
                self.is_streaming = False
            self._channel.end(error)
            if self._static_copy:
                # The browser has the final text already (the `end` message), but a
                # notebook run headless (nbclient, papermill) saves widget state from
                # the kernel's state messages alone: without this one it would save an
                # empty view, still streaming. One more copy of the text, once.
                self.send_state(["content", "is_streaming", "error"])
        finally:
            self._running.release()
        self._update_static_copy()

    def close(self) -> None:
        """Close the widget; a stream running into it stops at its next piece.

        The stream's source is closed and ``stream()`` raises
        :class:`~nbstream.errors.StreamClosedError`; the text so far stays in ``content``.

        Example:
            >>> view = StreamView("Done.")
            >>> view.close()
            >>> view.content
            'Done.'
        """
        if self.is_streaming:
            self._closed_while_streaming = True
        super().close()

    @property
    def reply(self) -> str:
        """What the model said in the last stream, as a conversation keeps it: the text,
        or its refusal when it refused (``%%chat`` records this in its history).

        Example:
            >>> view = StreamView()
            >>> refusal = {"delta": {"refusal": "I can't help with that."}, "finish_reason": "stop"}
            >>> view.stream([{"choices": [refusal]}])
            ''
            >>> view.refusal, view.reply
            ("I can't help with that.", "I can't help with that.")
        """
        return self._answer.reply

    # -- the static copy in saved outputs (see nbstream.saved_output) -------------------

    def _static_markdown(self) -> str | None:
        if self.is_streaming:
            return None
        text = self._stored_content()
        if self.refusal:
            text = f"{text}\n\n{self.refusal}" if text else self.refusal
        if self.error:
            text = f"{text}\n\n**Error:** {self.error}" if text else f"**Error:** {self.error}"
        return text or None

    def _static_html(self) -> str | None:
        markdown = self._static_markdown()
        if markdown is None:
            return None
        return markdown_to_html(markdown, allow_images=self.allow_images)

    # -- wiring -------------------------------------------------------------------------

    def _send_custom(self, message: Message) -> None:
        self.send(message)

    def _on_browser_msg(self, _widget: object, content: Any, _buffers: object) -> None:
        # With kernel subshells (ipykernel 7 + JupyterLab 4.4+) this runs on another
        # thread while a stream is running.
        if isinstance(content, dict) and content.get("kind") == "resync":
            self._send_custom(self._channel.sync_message(self._stored_state))

    def _stored_state(self) -> tuple[str, bool, str | None]:
        return self._stored_content(), self.is_streaming, self.error

    def _stored_content(self) -> str:
        value: str = self._stored("content")
        return value
