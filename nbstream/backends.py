"""What a client is, and how to ask it for one answer: the rules every front end shares.

``Chat(client, model, **params)`` and ``%%chat`` (through ``%chat_config --client``) take
the same clients: an ``openai.OpenAI`` or ``openai.AsyncOpenAI`` client with a model, a
function of the message list, or None for the embedded local model.
:func:`resolve_backend` alone decides what is accepted; each front end only words the
fix in its own terms (a keyword argument, or a magic's option), from
:attr:`BackendError.problem`.

A backend knows the model and how to open one answer's stream for a message list. It
says whether opening needs the event loop (:attr:`Backend.is_async`); the runner picks
a worker thread or an asyncio task accordingly.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import openai

import nbstream.local
from nbstream.anthropic_history import anthropic_request, is_anthropic_client
from nbstream.errors import api_keys_of
from nbstream.gemini_history import gemini_request, is_gemini_client
from nbstream.ollama_history import is_ollama_client, ollama_messages, ollama_request_params

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "AnthropicBackend",
    "Backend",
    "BackendError",
    "FunctionBackend",
    "GeminiBackend",
    "OllamaBackend",
    "OpenAIBackend",
    "backend_label",
    "is_async_client",
    "resolve_backend",
]

DEFAULT_MAX_TOKENS = 4096
"""What an Anthropic request asks for when the chat was given no ``max_tokens``."""

# These are the Chat's to set: it streams, and it owns the history and the model name.
_RESERVED_PARAMS = ("stream", "messages", "model")

ACCEPTED_CLIENTS = (
    "an openai.OpenAI or openai.AsyncOpenAI client, an anthropic.Anthropic or "
    "AsyncAnthropic client, a google.genai.Client (or its .aio), an ollama.Client or "
    "AsyncClient, a function of the message list, or None for the local model"
)
"""What :func:`resolve_backend` takes, in words for error messages."""

Problem = Literal["reserved", "model", "params", "client"]


class BackendError(TypeError):
    """A client, model or parameters that no answer can come from.

    Attributes:
        problem: Which rule was broken: ``"model"`` (an OpenAI client needs one),
            ``"params"`` (a function builds its own request), ``"reserved"`` (``stream``,
            ``messages`` or ``model`` among the parameters) or ``"client"`` (not a client).

    Example:
        >>> resolve_backend(lambda messages: ["Hi"], None, {"temperature": 0.2})
        Traceback (most recent call last):
          ...
        nbstream.backends.BackendError: parameters ['temperature'] would be ignored: ...
    """

    def __init__(self, message: str, problem: Problem) -> None:
        super().__init__(message)
        self.problem: Problem = problem


class Backend:
    """Opens the stream of one answer. Subclasses set the attributes and ``open``.

    Example:
        >>> backend = resolve_backend(lambda messages: ["Hi"], None, {})
        >>> backend.model_name, backend.label, backend.is_async
        ('function', 'function()', False)
        >>> list(backend.open([{"role": "user", "content": "Hello"}]))
        ['Hi']
    """

    model_name: str = ""
    label: str = ""
    is_async: bool = False
    secrets: tuple[str, ...] = ()

    def open(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> object:
        """Start an answer: a sync source, or (when :attr:`is_async`) an awaitable of one.

        ``tools`` are the OpenAI tool dicts the model may call (none: a plain answer).
        Called in a worker thread for sync backends; it may block on the network.
        """
        raise NotImplementedError


class OpenAIBackend(Backend):
    """``client.chat.completions.create(..., stream=True)`` on ``openai.OpenAI`` or
    ``openai.AsyncOpenAI`` (any ``base_url``: Azure, Ollama, vLLM, llama.cpp, …).

    Example::

        backend = OpenAIBackend(openai.OpenAI(), "gpt-4o-mini", {"temperature": 0.2})
        stream = backend.open([{"role": "user", "content": "Hi"}])
    """

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
        self.secrets = api_keys_of(client)

    def open(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> object:
        extra: dict[str, Any] = {"tools": tools} if tools else {}
        return self._client.chat.completions.create(
            model=self.model_name,
            # Plain dicts are what the API takes; the SDK's TypedDicts only describe them.
            messages=cast(Any, messages),
            stream=True,
            **extra,
            **self._params,
        )


class AnthropicBackend(Backend):
    """``client.messages.create(..., stream=True)`` on ``anthropic.Anthropic`` or
    ``AsyncAnthropic``, the history translated by
    :func:`~nbstream.anthropic_history.anthropic_request`.

    ``max_tokens`` is required by the API: :data:`DEFAULT_MAX_TOKENS` unless given
    (``Chat(client, model, max_tokens=...)``); other parameters (``temperature``,
    ``thinking``…) go as they are.

    Example::

        backend = AnthropicBackend(anthropic.Anthropic(), "claude-sonnet-4-5", {}, "host")
        stream = backend.open([{"role": "user", "content": "Hi"}])
    """

    def __init__(self, client: Any, model: str, params: dict[str, Any], where: str) -> None:
        self._client = client
        self._params = {"max_tokens": DEFAULT_MAX_TOKENS, **params}
        self.model_name = model
        self.label = f"Anthropic · {where}"
        self.is_async = type(client).__name__ == "AsyncAnthropic"
        self.secrets = api_keys_of(client)

    def open(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> object:
        request = anthropic_request(messages, tools)
        return self._client.messages.create(
            model=self.model_name, stream=True, **request, **self._params
        )


class GeminiBackend(Backend):
    """``client.models.generate_content_stream(...)`` on a ``google.genai.Client``, or
    on its ``client.aio`` (awaited), the history translated by
    :func:`~nbstream.gemini_history.gemini_request`.

    Parameters go into the request's ``config``: ``temperature``, ``thinking_config``…
    as the SDK names them, and ``max_tokens`` as ``max_output_tokens``.

    Example::

        backend = GeminiBackend(genai.Client(), "gemini-2.5-flash", {}, "host")
        stream = backend.open([{"role": "user", "content": "Hi"}])
    """

    def __init__(self, client: Any, model: str, params: dict[str, Any], where: str) -> None:
        self._client = client
        self._config = dict(params)
        if "max_tokens" in self._config:
            self._config["max_output_tokens"] = self._config.pop("max_tokens")
        self.model_name = model
        self.label = f"Google Gen AI · {where}"
        self.is_async = type(client).__name__ == "AsyncClient"
        self.secrets = api_keys_of(getattr(client, "_api_client", None))

    def open(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> object:
        contents, config = gemini_request(messages, tools)
        return self._client.models.generate_content_stream(
            model=self.model_name, contents=contents, config={**self._config, **config}
        )


class OllamaBackend(Backend):
    """``client.chat(..., stream=True)`` on ``ollama.Client`` or ``ollama.AsyncClient``,
    the history translated by :func:`~nbstream.ollama_history.ollama_messages`.

    ``think`` and ``format`` go beside the messages; ``temperature``, ``max_tokens`` (as
    ``num_predict``) and the other model options go in ``options``.

    Example::

        backend = OllamaBackend(ollama.Client(), "qwen3", {"think": True}, "localhost:11434")
        stream = backend.open([{"role": "user", "content": "Hi"}])
    """

    def __init__(self, client: Any, model: str, params: dict[str, Any], where: str) -> None:
        self._client = client
        self._params = ollama_request_params(params)
        self.model_name = model
        self.label = f"Ollama · {where}"
        self.is_async = type(client).__name__ == "AsyncClient"

    def open(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> object:
        extra: dict[str, Any] = {"tools": tools} if tools else {}
        return self._client.chat(
            model=self.model_name,
            messages=ollama_messages(messages),
            stream=True,
            **extra,
            **self._params,
        )


class FunctionBackend(Backend):
    """A function of the message list returning text chunks, an async iterable, or an
    OpenAI stream (``async def`` functions and async generators run on the event loop).
    A function with a ``tools`` parameter also gets the tools the model may call.

    Example:
        >>> async def reply(messages):
        ...     yield "Hi"
        >>> FunctionBackend(reply, None).is_async
        True
    """

    def __init__(self, function: Callable[..., object], model: str | None) -> None:
        self._function = function
        name = getattr(function, "__name__", None) or type(function).__name__
        if name == "<lambda>":
            name = "function"
        named = getattr(function, "model", None)  # relay.client(url, model=...)
        self.model_name = model or (named if isinstance(named, str) and named else name)
        # An object may name where its answers come from (relay.client: "relay · host").
        label = getattr(function, "label", None)
        self.label = label if isinstance(label, str) and label else f"{name}()"
        # An object with an `async def __call__` counts too.
        call = function if inspect.isroutine(function) else type(function).__call__
        self.is_async = inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)
        try:
            self._takes_tools = "tools" in inspect.signature(function).parameters
        except (TypeError, ValueError):  # some builtins and C callables have none
            self._takes_tools = False

    def open(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> object:
        # A function that declares a `tools` parameter is offered the tools too.
        if tools and self._takes_tools:
            return self._function(messages, tools=tools)
        return self._function(messages)


def backend_label(client: Any) -> str:
    """Where a client sends requests, for the header: "local model" or "host[:port]".

    Example:
        >>> import openai
        >>> backend_label(openai.OpenAI(base_url="http://example.com:8000/v1", api_key="x"))
        'example.com:8000'
    """
    if is_gemini_client(client):  # its base URL is a str, in its HTTP options
        url = urlsplit(str(client._api_client._http_options.base_url or ""))
        host, port = url.hostname or "", url.port
    elif is_ollama_client(client):  # its HTTP client holds the host
        host, port = client._client.base_url.host, client._client.base_url.port
    else:
        host, port = client.base_url.host, client.base_url.port
    if host in ("127.0.0.1", "localhost"):
        running = nbstream.local.running_server()  # not server(): never start one to compare
        if running is not None and running.address[1] == port:
            return "local model"
    return host if port is None else f"{host}:{port}"


def is_async_client(client: object) -> bool:
    """Whether answers from ``client`` are awaited (``AsyncOpenAI``, ``async def``
    functions, async generators), and so must stream on the event loop.

    Example:
        >>> async def reply(messages):
        ...     yield "Hi"
        >>> is_async_client(reply), is_async_client(lambda messages: ["Hi"])
        (True, False)
    """
    if isinstance(client, openai.AsyncOpenAI) or type(client).__name__ == "AsyncAnthropic":
        return True
    if is_gemini_client(client) or is_ollama_client(client):
        return type(client).__name__ == "AsyncClient"
    if isinstance(client, openai.OpenAI) or is_anthropic_client(client) or not callable(client):
        return False
    return FunctionBackend(client, None).is_async


def resolve_backend(client: object, model: str | None, params: Mapping[str, Any]) -> Backend:
    """The backend for ``Chat(client, model, **params)``; :class:`BackendError` if unusable.

    A client of the embedded local model needs no model name: the local model's is used.

    Example:
        >>> backend = resolve_backend(None, None, {})  # the embedded local model
        >>> backend.model_name, backend.label
        ('nbstream-local', 'local model')
    """
    for name in _RESERVED_PARAMS:
        if name in params:
            raise BackendError(
                f"Chat(...) sets {name!r} itself; pass the model as Chat(client, model=...) "
                "and the history through chat.messages",
                "reserved",
            )
    if client is None:
        return OpenAIBackend(nbstream.local.client(), model or nbstream.local.MODEL, dict(params))
    if isinstance(client, (openai.OpenAI, openai.AsyncOpenAI)):
        if not model and backend_label(client) == "local model":
            model = nbstream.local.MODEL
        if not model:
            raise BackendError(
                f"Chat({type(client).__name__}(...)) needs the model to ask, "
                "e.g. Chat(client, model='gpt-4o-mini')",
                "model",
            )
        return OpenAIBackend(client, model, dict(params))
    if is_anthropic_client(client):
        label = backend_label(client)
        model = _sdk_model(client, model, label, "claude-sonnet-4-5")
        return AnthropicBackend(client, model, dict(params), label)
    if is_gemini_client(client):
        label = backend_label(client)
        model = _sdk_model(client, model, label, "gemini-2.5-flash")
        return GeminiBackend(client, model, dict(params), label)
    if is_ollama_client(client):
        label = backend_label(client)
        model = _sdk_model(client, model, label, "qwen3")
        return OllamaBackend(client, model, dict(params), label)
    if callable(client):
        if params:
            raise BackendError(
                f"parameters {sorted(params)} would be ignored: a function backend builds "
                "its own request; bind them in the function instead",
                "params",
            )
        return FunctionBackend(client, model)
    raise BackendError(
        f"Chat(client=...) takes {ACCEPTED_CLIENTS}; got {type(client).__name__}", "client"
    )


def _sdk_model(client: object, model: str | None, label: str, example: str) -> str:
    """The model to ask: the one given, or the local model's for a client of it."""
    if model:
        return model
    if label == "local model":
        return nbstream.local.MODEL
    raise BackendError(
        f"Chat({type(client).__name__}(...)) needs the model to ask, "
        f"e.g. Chat(client, model={example!r})",
        "model",
    )
