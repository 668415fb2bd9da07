"""Reading a relay from a notebook: ``relay.stream`` / ``relay.astream`` and ``relay.client``.

Any endpoint that speaks the ``/api/chat/stream`` protocol (:mod:`.protocol`) works: an
``nbstream serve``, a :func:`~nbstream.relay.create_app` mounted in your app, or an
existing Express relay that sends only ``content`` / ``done`` / ``error``. The request is
sent when the view starts reading, so a refused request (a 400, a 413) shows in the view.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from nbstream.errors import StreamError
from nbstream.relay.protocol import RelayReader

__all__ = ["RelayClient", "RelayHTTPError", "astream", "client", "stream"]

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
"""How long to wait to connect, and for each read (the relay's heartbeats keep reads short)."""


class RelayHTTPError(StreamError):
    """The relay refused the request (``4xx``/``5xx``): its ``error`` says why.

    Attributes:
        status_code: The HTTP status.
        message: The relay's ``error``, as it said it.

    Example::

        try:
            view.stream(relay.stream(url, messages, model="gpt-5"))
        except relay.RelayHTTPError as exc:
            print(exc.status_code, exc.message)  # 400 model 'gpt-5' is not offered here...
    """

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(f"HTTP {status_code}: {message}")
        self.status_code = status_code
        self.message = message


def _body(messages: Sequence[Mapping[str, Any]], model: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": [dict(message) for message in messages]}
    if model is not None:
        body["model"] = model
    return body


def _refusal(status: int, body: bytes) -> RelayHTTPError:
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        error = None
    detail = error if isinstance(error, str) and error else body.decode("utf-8", "replace")[:200]
    return RelayHTTPError(detail or "no details", status)


def stream(
    url: str,
    messages: Sequence[Mapping[str, Any]],
    model: str | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
) -> Iterator[object]:
    """A relay's answer to ``messages``, as a source for :meth:`StreamView.stream`.

    Raises (while the view reads it):
        RelayHTTPError: The relay refused the request.
        StreamError: The relay sent an ``error`` event; the text before it is kept.
        IncompleteStreamError: The stream ended without its ``done`` event.

    Example::

        from nbstream import StreamView, relay

        view = StreamView()
        display(view)
        view.stream(relay.stream("http://127.0.0.1:8000/api/chat/stream",
                                 messages=[{"role": "user", "content": "Hi"}]))
    """
    reader = RelayReader()
    with (
        httpx.Client(timeout=timeout) as http,
        http.stream("POST", url, json=_body(messages, model), headers=headers) as response,
    ):
        if response.status_code >= 400:
            raise _refusal(response.status_code, response.read())
        for data in response.iter_bytes():
            yield from reader.feed(data)
            if reader.done:
                return
        reader.close()


async def astream(
    url: str,
    messages: Sequence[Mapping[str, Any]],
    model: str | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
) -> AsyncIterator[object]:
    """Async twin of :func:`stream`, for ``await view.astream(...)``.

    Example::

        await view.astream(relay.astream(url, messages=[{"role": "user", "content": "Hi"}]))
    """
    reader = RelayReader()
    async with (
        httpx.AsyncClient(timeout=timeout) as http,
        http.stream("POST", url, json=_body(messages, model), headers=headers) as response,
    ):
        if response.status_code >= 400:
            raise _refusal(response.status_code, await response.aread())
        async for data in response.aiter_bytes():
            for event in reader.feed(data):
                yield event
            if reader.done:
                return
        reader.close()


class RelayClient:
    """What ``Chat(relay.client(url))`` talks to: each answer is one relay request.

    Attributes:
        url: The relay's ``/api/chat/stream`` URL.
        model: The model asked for (None: the relay's default).

    Example:
        >>> RelayClient("http://127.0.0.1:8000/api/chat/stream").label
        'relay · 127.0.0.1:8000'
    """

    def __init__(
        self,
        url: str,
        model: str | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.url = url
        self.model = model
        self._headers = dict(headers or {})
        self._timeout = timeout

    @property
    def label(self) -> str:
        """Where the answers come from, for the chat's header: ``relay · host:port``.

        >>> client("http://example.com/api/chat/stream").label
        'relay · example.com'
        """
        parts = urlsplit(self.url)
        return f"relay · {parts.netloc or self.url}"

    def __call__(self, messages: Sequence[Mapping[str, Any]]) -> AsyncIterator[object]:
        """One answer to ``messages`` (the Chat's history; tool messages are not sent)."""
        plain = [
            {"role": m["role"], "content": m.get("content") or ""}
            for m in messages
            if m.get("role") in ("system", "user", "assistant") and not m.get("tool_calls")
        ]
        return astream(self.url, plain, self.model, self._headers, timeout=self._timeout)

    def __repr__(self) -> str:
        return f"RelayClient({self.url!r}, model={self.model!r})"


def client(
    url: str,
    model: str | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
) -> RelayClient:
    """A client for ``Chat`` that holds its conversation through a relay.

    Example::

        from nbstream import Chat, relay

        chat = Chat(relay.client("http://127.0.0.1:8000/api/chat/stream"))
        chat.ask("What is nbstream?")
    """
    return RelayClient(url, model, headers, timeout=timeout)
