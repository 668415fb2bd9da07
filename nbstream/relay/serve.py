"""What ``nbstream serve`` runs: the relay, and the local model's APIs, on one port.

With the local model, its OpenAI-compatible API (and the Anthropic, Gemini and Ollama
ones) is proxied from the local server running inside the process, byte for byte and
at its own pace, so ``/v1`` works as before while ``/api/chat/stream`` relays it. With
``--upstream URL``, the relay asks that OpenAI-compatible server instead, with the key
read from an environment variable on the server side only.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import openai
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from nbstream.relay.app import UntilDisconnect, create_app

__all__ = ["relay_server_app", "upstream_client"]

# Hop-by-hop headers, and those the server sets itself for the body it sends.
_NOT_FORWARDED = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-authenticate",
        "host",
        "content-length",
        "server",
        "date",
    }
)
# The local model's own paths (everything else is the relay's).
_LOCAL_PATHS = ("/v1/{path:path}", "/v1beta/{path:path}", "/api/chat")


def relay_server_app(
    *,
    local_url: str | None,
    client: object,
    model: str,
    models: Sequence[str] = (),
    cors_origins: Sequence[str] = (),
) -> Starlette:
    """The relay for ``client``, plus (with ``local_url``) the local model's APIs proxied.

    Example::

        app = relay_server_app(local_url=server.url, client=None, model=MODEL)
    """
    relay = create_app(client, model, models=models or None, cors_origins=cors_origins)
    if local_url is None:
        return relay
    proxy = _Proxy(local_url)
    routes: list[Any] = [
        Route("/api/chat/stream", relay, methods=["POST"]),  # the relay's, not Ollama's
        *(Route(path, proxy, methods=["GET", "POST"]) for path in _LOCAL_PATHS),
        Mount("/", relay),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await proxy.close()

    return Starlette(routes=routes, lifespan=lifespan)


def upstream_client(url: str, api_key: str | None) -> openai.AsyncOpenAI:
    """An async OpenAI client for ``--upstream``; a keyless server gets a placeholder."""
    return openai.AsyncOpenAI(base_url=url, api_key=api_key or "not-needed")


class _Proxy:
    """Forwards a request to the local model and streams its reply back as it comes."""

    def __init__(self, target: str) -> None:
        self._target = target.rstrip("/")
        self._http: httpx.AsyncClient | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        if self._http is None:
            # Unlimited reads: the local model paces its streams, and may be told to stall.
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(None, connect=10.0))
        url = self._target + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED]
        upstream = await self._http.send(
            self._http.build_request(
                request.method, url, headers=headers, content=await request.body()
            ),
            stream=True,
        )
        reply_headers = {
            k: v for k, v in upstream.headers.items() if k.lower() not in _NOT_FORWARDED
        }
        response: Response = UntilDisconnect(
            upstream.aiter_raw(),
            status_code=upstream.status_code,
            headers=reply_headers,
            background=BackgroundTask(upstream.aclose),
        )
        await response(scope, receive, send)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
