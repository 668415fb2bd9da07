"""The ``/api/chat/stream`` relay: serve it (:func:`create_app`, ``nbstream serve``) and
read it from notebooks (:func:`stream`, :func:`astream`, :func:`client`).

The protocol (``docs/relay.md``): ``POST {"messages": [...], "model": "..."}`` answered
with server-sent events, ``data: {"content": "..."}`` per delta, ``data: {"done": true,
"finish_reason": ..., "usage": {...}}`` at the end, or ``data: {"error": "..."}`` after the
partial content.

Serving needs Starlette (``pip install "nbstream[serve]"``); reading needs only httpx.

Example::

    from nbstream import Chat, StreamView, relay

    url = "http://127.0.0.1:8000/api/chat/stream"
    StreamView().stream(relay.stream(url, messages=[{"role": "user", "content": "Hi"}]))
    Chat(relay.client(url)).ask("What is nbstream?")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nbstream.relay.reader import RelayClient, RelayHTTPError, astream, client, stream
from nbstream.relay.requests import RelayLimits

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = [
    "RelayClient",
    "RelayHTTPError",
    "RelayLimits",
    "astream",
    "client",
    "create_app",
    "stream",
]


def create_app(client: object = None, model: str | None = None, **options: Any) -> Starlette:
    """The relay as an ASGI app; see :func:`nbstream.relay.app.create_app`.

    Imported on first use, so reading a relay never needs Starlette installed.

    Example::

        app = nbstream.relay.create_app(AsyncOpenAI(), "gpt-4o-mini")
    """
    try:
        from nbstream.relay.app import create_app as create  # noqa: PLC0415
    except ImportError as exc:
        raise ImportError(
            f"serving the relay needs Starlette and uvicorn: pip install 'nbstream[serve]' ({exc})"
        ) from None
    return create(client, model, **options)
