"""``StreamView``: a widget that shows streamed LLM output as live markdown."""

from __future__ import annotations

import pathlib
import threading
from collections.abc import AsyncIterable, Callable, Iterable
from typing import Any, TypeVar

import traitlets

from nbstream.delivery import DeltaChannel, Message
from nbstream.errors import SourceError, StreamInProgressError, describe_error
from nbstream.sources import (
    Event,
    TextDelta,
    aiter_events,
    check_async_source,
    check_sync_source,
    iter_events,
)
from nbstream.upstream import aclose_quietly, api_keys_of, close_quietly
from nbstream.widget_sync import LiveText, ProtocolWidget

__all__ = ["StreamView"]

_STATIC = pathlib.Path(__file__).parent / "static"
_S = TypeVar("_S")


class StreamView(ProtocolWidget):
    """Live, sanitized markdown for a streamed LLM answer, with a cursor while it streams.

    Display it, then stream into it from a sync or async source::

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
        allow_images: Whether markdown images are loaded. Off by default: the model
            chooses the URL, and a remote image tells its server that (and from where)
            the notebook was opened. Off, an image shows as its alt text and address.
    """

    _esm = _STATIC / "widget.js"
    _css = _STATIC / "widget.css"

    content = LiveText("", channel="_channel").tag(sync=True)
    is_streaming = traitlets.Bool(False).tag(sync=True)
    error = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    allow_images = traitlets.Bool(False).tag(sync=True)
    # Id of the current stream: lets the browser drop messages of an earlier stream.
    _stream = traitlets.Int(0).tag(sync=True)

    def __init__(
        self,
        content: str = "",
        *,
        allow_images: bool = False,
        max_messages_per_second: float = 30.0,
    ) -> None:
        """Create a view, optionally showing ``content`` already.

        Args:
            content: Initial markdown.
            allow_images: Load markdown images (http, https and data: images); see
                :attr:`allow_images`.
            max_messages_per_second: Upper bound on delta messages while streaming.
                Jupyter drops iopub messages past its rate limits, so keep it modest.
        """
        if not max_messages_per_second > 0:
            raise ValueError(
                f"max_messages_per_second must be > 0, got {max_messages_per_second!r}"
            )
        self._running = threading.Lock()  # held from _begin to _end
        self._channel = DeltaChannel(self._send_custom, interval=1 / max_messages_per_second)
        super().__init__(content=content, allow_images=allow_images)
        self.on_msg(self._on_browser_msg)

    def __repr__(self) -> str:
        # Cheap and deterministic (it becomes the output's text/plain): no trait
        # serialisation and no memory address.
        state = "streaming" if self.is_streaming else "idle"
        return f"StreamView({state}, {len(self.content)} characters)"

    # -- public API ---------------------------------------------------------------------

    def stream(self, source: Iterable[Any]) -> str:
        """Stream ``source`` into the view, blocking until it ends; return the full text.

        ``source`` is an OpenAI ``Stream`` of chat completion chunks, a ``ChatCompletion``,
        or any iterable of ``str``. If the source raises (or the kernel is interrupted),
        the text so far stays, ``error`` says why, and the exception propagates. The
        source is closed however the stream ends.
        """
        checked = self._checked(check_sync_source, source)
        self._begin()
        try:
            for event in iter_events(checked):
                self._apply(event)
        except BaseException as exc:
            self._end(describe_error(exc, api_keys_of(source)))
            raise
        else:
            self._end(None)
        finally:
            close_quietly(source)
        return self._stored_content()

    async def astream(self, source: AsyncIterable[Any] | Iterable[Any]) -> str:
        """Async twin of :meth:`stream`: also takes ``AsyncStream`` and async iterables."""
        checked = self._checked(check_async_source, source)
        self._begin()
        try:
            async for event in aiter_events(checked):
                self._apply(event)
        except BaseException as exc:
            self._end(describe_error(exc, api_keys_of(source)))
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
        # One state message resets the browser: set quietly, then send the four together.
        with self._delivered(("content", "is_streaming", "error", "_stream")):
            self.content = ""
            self.error = None
            self.is_streaming = True
            self._stream = stream
        # The channel starts first: under kernel subshells a resync is answered on another
        # thread at any moment, and must already see the new stream.
        self._channel.begin(stream)
        self.send_state(["content", "is_streaming", "error", "_stream"])

    def _apply(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            self._channel.push(event.text)

    def _end(self, error: str | None) -> None:
        try:
            # Store the final state before the channel lets go of the text, so a resync
            # answered on another thread never sees an in-between state. The `end`
            # message sets the same values in the browser, so they are not re-sent.
            with self._delivered(("content", "is_streaming", "error")):
                self.content = self._channel.text()
                self.error = error
                self.is_streaming = False
            self._channel.end(error)
        finally:
            self._running.release()

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
