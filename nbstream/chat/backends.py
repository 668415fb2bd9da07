"""Where a Chat's answers come from: an OpenAI client (sync or async) or a function.

A backend knows the model and how to open one answer's stream for a message list. It
says whether opening needs the event loop (:attr:`Backend.is_async`); the runner picks
a worker thread or an asyncio task accordingly.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, cast

import openai

import nbstream.local
from nbstream.upstream import api_keys_of

__all__ = ["Backend", "FunctionBackend", "OpenAIBackend", "resolve_backend"]

# These are the Chat's to set: it streams, and it owns the history and the model name.
_RESERVED_PARAMS = ("stream", "messages", "model")


class Backend:
    """Opens the stream of one answer. Subclasses set the attributes and ``open``."""

    model_name: str = ""
    label: str = ""
    is_async: bool = False
    secrets: tuple[str, ...] = ()

    def open(self, messages: list[dict[str, Any]]) -> object:
        """Start an answer: a sync source, or (when :attr:`is_async`) an awaitable of one.

        Called in a worker thread for sync backends; it may block on the network.
        """
        raise NotImplementedError


class OpenAIBackend(Backend):
    """``client.chat.completions.create(..., stream=True)`` on ``openai.OpenAI`` or
    ``openai.AsyncOpenAI`` (any ``base_url``: Azure, Ollama, vLLM, llama.cpp, …)."""

    def __init__(
        self, client: openai.OpenAI | openai.AsyncOpenAI, model: str, params: dict[str, Any]
    ) -> None:
        self._client = client
        self._params = dict(params)
        # Usage arrives in a final chunk only when asked for. `stream_options=None` opts
        # out, for servers that reject the field.
        options = self._params.pop("stream_options", {"include_usage": True})
        if options is not None:
            self._params["stream_options"] = options
        self.model_name = model
        self.label = backend_label(client)
        self.is_async = isinstance(client, openai.AsyncOpenAI)
        self.secrets = api_keys_of(_Holder(client))

    def open(self, messages: list[dict[str, Any]]) -> object:
        return self._client.chat.completions.create(
            model=self.model_name,
            # Plain dicts are what the API takes; the SDK's TypedDicts only describe them.
            messages=cast(Any, messages),
            stream=True,
            **self._params,
        )


class FunctionBackend(Backend):
    """A function of the message list returning text chunks, an async iterable, or an
    OpenAI stream (``async def`` functions and async generators run on the event loop)."""

    def __init__(self, function: Callable[..., object], model: str | None) -> None:
        self._function = function
        name = getattr(function, "__name__", None) or type(function).__name__
        if name == "<lambda>":
            name = "function"
        self.model_name = model or name
        self.label = f"{name}()"
        # An object with an `async def __call__` counts too.
        call = function if inspect.isroutine(function) else type(function).__call__
        self.is_async = inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)

    def open(self, messages: list[dict[str, Any]]) -> object:
        return self._function(messages)


class _Holder:
    # `api_keys_of` reads a stream's `_client`; lend it the client directly.
    def __init__(self, client: object) -> None:
        self._client = client


def backend_label(client: openai.OpenAI | openai.AsyncOpenAI) -> str:
    """Where a client sends requests, for the header: "local model" or "host[:port]"."""
    url = client.base_url
    if url.host in ("127.0.0.1", "localhost") and _is_shared_local_server(url.port):
        return "local model"
    return url.host if url.port is None else f"{url.host}:{url.port}"


def _is_shared_local_server(port: int | None) -> bool:
    shared = nbstream.local._shared  # not server(): do not start one just to compare
    return shared is not None and shared.running and shared.address[1] == port


def resolve_backend(client: object, model: str | None, params: Mapping[str, Any]) -> Backend:
    """The backend for ``Chat(client, model, **params)``; raises on anything unusable."""
    for name in _RESERVED_PARAMS:
        if name in params:
            raise TypeError(
                f"Chat(...) sets {name!r} itself; pass the model as Chat(client, model=...) "
                "and the history through chat.messages"
            )
    if client is None:
        return OpenAIBackend(nbstream.local.client(), model or nbstream.local.MODEL, dict(params))
    if isinstance(client, (openai.OpenAI, openai.AsyncOpenAI)):
        if not model:
            raise TypeError(
                f"Chat({type(client).__name__}(...)) needs the model to ask, "
                "e.g. Chat(client, model='gpt-4o-mini')"
            )
        return OpenAIBackend(client, model, dict(params))
    if callable(client):
        if params:
            raise TypeError(
                f"parameters {sorted(params)} would be ignored: a function backend builds "
                "its own request; bind them in the function instead"
            )
        return FunctionBackend(client, model)
    raise TypeError(
        f"Chat(client=...) takes an openai.OpenAI or openai.AsyncOpenAI client, a function "
        f"of the message list, or None for the local model; got {type(client).__name__}"
    )
