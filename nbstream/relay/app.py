"""The relay: an ASGI app (Starlette) that streams a model's answers to browsers.

``POST /api/chat/stream`` takes ``{"messages": [...], "model": "..."}`` and answers in
the relay protocol (:mod:`.protocol`): ``content`` (and ``reasoning``) deltas coalesced
to at most ~30 events a second, then ``done`` with the finish reason and usage, or
``error`` after the partial content; heartbeat comments while the model is silent.
``GET /api/chat/models`` lists the models offered, and ``GET /`` serves the chat page
(:mod:`.page`).

When the browser goes away, the answer's upstream stream is closed at once (the
response listens for the disconnect rather than waiting for a write to fail), so the
provider stops generating.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, cast

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

import nbstream.local
from nbstream.backends import Backend, resolve_backend
from nbstream.errors import describe_error
from nbstream.events import Event, Finish, ReasoningDelta, TextDelta, Usage
from nbstream.relay.page import page_routes
from nbstream.relay.protocol import (
    HEARTBEAT,
    content_event,
    done_event,
    error_event,
    reasoning_event,
)
from nbstream.relay.requests import RelayLimits, RelayRequestError, parse_relay_request
from nbstream.relay.upstream import answer_events

__all__ = ["DEFAULT_HEARTBEAT", "UntilDisconnect", "create_app"]

DEFAULT_HEARTBEAT = 15.0
"""Seconds of model silence before a heartbeat comment (proxies drop idle lines at 30-60 s)."""

_COALESCE = 1 / 30  # at most ~30 content events a second, as the widgets send them
_END = object()


def create_app(
    client: object = None,
    model: str | None = None,
    *,
    models: Sequence[str] | None = None,
    system: str | None = None,
    heartbeat: float = DEFAULT_HEARTBEAT,
    limits: RelayLimits | None = None,
    cors_origins: Sequence[str] = (),
    **params: Any,
) -> Starlette:
    """The relay as a Starlette app, to serve with uvicorn or mount in FastAPI/Starlette.

    Args:
        client: Anything ``Chat`` takes (an ``openai.AsyncOpenAI``, an ``anthropic`` or
            ``google-genai`` client, a function of the messages); None: the local model.
        model: The model asked when a request names none.
        models: The models a request may name (default: just ``model``). Any other gets
            a 400, so a browser cannot run up the bill on a model you did not offer.
        system: The system prompt put before every conversation (clients cannot send one).
        heartbeat: Seconds of silence before a ``: keep-alive`` comment.
        limits: Request size limits (:class:`~nbstream.relay.RelayLimits`).
        cors_origins: Origins allowed to call the relay from other pages (none: CORS off).
        **params: Sent with every request (``temperature``, ``max_tokens``...), as Chat's.

    Example::

        import uvicorn
        from openai import AsyncOpenAI
        from nbstream.relay import create_app

        app = create_app(AsyncOpenAI(), "gpt-4o-mini", models=["gpt-4o-mini", "gpt-4o"])
        uvicorn.run(app, host="127.0.0.1", port=8000)

    Mounted in FastAPI: ``api.mount("/chat", create_app(...))`` serves
    ``/chat/api/chat/stream`` and the page at ``/chat/``.
    """
    if client is None:
        client = nbstream.local.async_client()
        model = model or nbstream.local.MODEL
    offered = list(models or ([model] if model else []))
    if model and model not in offered:
        offered.insert(0, model)
    if not offered:
        raise ValueError("create_app(...) needs the model to ask: model='...' or models=[...]")
    backends = {name: resolve_backend(client, name, dict(params)) for name in offered}
    relay = _Relay(backends, system, heartbeat, limits or RelayLimits())
    middleware = []
    if cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors_origins),
                allow_methods=["POST"],
                allow_headers=["content-type"],
            )
        )
    routes = [
        Route("/api/chat/stream", relay.stream, methods=["POST"]),
        Route("/api/chat/models", relay.models, methods=["GET"]),
        *page_routes(),
    ]
    return Starlette(routes=routes, middleware=middleware)


class _Relay:
    def __init__(
        self,
        backends: Mapping[str, Backend],
        system: str | None,
        heartbeat: float,
        limits: RelayLimits,
    ) -> None:
        self._backends = dict(backends)
        self._system = system
        self._heartbeat = heartbeat
        self._limits = limits

    async def models(self, request: Request) -> Response:
        names = list(self._backends)
        return JSONResponse({"models": names, "default": names[0]})

    async def stream(self, request: Request) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self._limits.max_body_bytes:
            return _refusal(
                RelayRequestError(
                    413,
                    f"the request body is {int(length):,} bytes; the limit is "
                    f"{self._limits.max_body_bytes:,}",
                )
            )
        body = await _read_body(request, self._limits.max_body_bytes)
        try:
            checked = parse_relay_request(body, models=list(self._backends), limits=self._limits)
        except RelayRequestError as exc:
            return _refusal(exc)
        messages = checked.messages
        if self._system:
            messages = [{"role": "system", "content": self._system}, *messages]
        backend = self._backends[checked.model]
        return _EventStream(_relay_events(backend, messages, self._heartbeat))


def _refusal(error: RelayRequestError) -> Response:
    return JSONResponse({"error": error.message}, status_code=error.status)


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, cut off just past ``limit`` (so a huge one is never held whole)."""
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > limit:
            break
    return bytes(body)


async def _relay_events(
    backend: Backend, messages: list[dict[str, Any]], heartbeat: float
) -> AsyncIterator[bytes]:
    """The protocol's events for one answer: deltas coalesced, heartbeats in silences."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def produce() -> None:
        try:
            async for event in answer_events(backend, messages):
                queue.put_nowait(event)
            queue.put_nowait(_END)
        except Exception as exc:  # reported to the browser, in words
            queue.put_nowait(exc)

    producer = asyncio.create_task(produce())
    answer = _Outgoing()
    flush_at: float | None = None  # when the held deltas go out
    quiet_since = loop.time()
    try:
        while True:
            wait = (flush_at if flush_at is not None else quiet_since + heartbeat) - loop.time()
            try:
                item = await asyncio.wait_for(queue.get(), timeout=max(wait, 0))
            except TimeoutError:
                # Time to send what is held, or (nothing held) to show we are alive.
                for chunk in answer.take() if flush_at is not None else [HEARTBEAT]:
                    yield chunk
                flush_at, quiet_since = None, loop.time()
                continue
            if item is _END or isinstance(item, Exception):
                for chunk in answer.take():
                    yield chunk
                if isinstance(item, Exception):
                    yield error_event(describe_error(item, backend.secrets))
                else:
                    yield answer.done()
                return
            if answer.add(cast(Event, item)) and flush_at is None:
                flush_at = loop.time() + _COALESCE
    finally:
        producer.cancel()
        # The producer's cleanup (closing the upstream) runs before we return.
        await asyncio.gather(producer, return_exceptions=True)


class _Outgoing:
    """What one answer has still to send: held deltas (reasoning and answer apart), and
    the finish reason and usage for ``done``."""

    def __init__(self) -> None:
        self._reasoning: list[str] = []
        self._content: list[str] = []
        self._finish: str | None = None
        self._usage: dict[str, int | None] | None = None

    def add(self, event: Event) -> bool:
        """Take ``event`` in; whether it is a delta waiting to be sent."""
        if isinstance(event, ReasoningDelta):
            self._reasoning.append(event.text)
        elif isinstance(event, TextDelta):
            self._content.append(event.text)
        else:
            if isinstance(event, Finish):
                self._finish = event.reason
            elif isinstance(event, Usage):
                self._usage = {
                    "prompt_tokens": event.prompt_tokens,
                    "completion_tokens": event.completion_tokens,
                    "total_tokens": event.total_tokens,
                }
            return False  # refusals and tool calls are not part of the protocol
        return True

    def take(self) -> list[bytes]:
        """The held deltas' events, emptying the hold."""
        chunks = []
        if self._reasoning:
            chunks.append(reasoning_event("".join(self._reasoning)))
        if self._content:
            chunks.append(content_event("".join(self._content)))
        self._reasoning, self._content = [], []
        return chunks

    def done(self) -> bytes:
        """The ``done`` event."""
        return done_event(self._finish, self._usage)


class UntilDisconnect(StreamingResponse):
    """A streaming response that ends (and so closes what it streams from) the moment the
    client disconnects, whatever ASGI spec version the server speaks: it listens for the
    disconnect rather than waiting for a write to fail."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:

                async def stream_then_stop() -> None:
                    with contextlib.suppress(OSError):  # the client went away mid-write
                        await self.stream_response(send)
                    group.cancel_scope.cancel()

                group.start_soon(stream_then_stop)
                await self.listen_for_disconnect(receive)
                group.cancel_scope.cancel()
        finally:
            # Cancelled while it waited at a yield, the generator is still open: close
            # it now (its `finally` closes the upstream), not whenever it is collected.
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                await aclose()
            if self.background is not None:
                await self.background()


class _EventStream(UntilDisconnect):
    """The relay's ``text/event-stream`` response."""

    def __init__(self, content: AsyncIterator[bytes]) -> None:
        super().__init__(
            content,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            media_type="text/event-stream; charset=utf-8",
        )
