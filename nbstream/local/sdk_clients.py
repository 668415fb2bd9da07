"""Other SDKs' clients pointed at the local model: the same answers in their wire formats.

Each SDK is imported only when its client is asked for; none is a dependency of
nbstream, so a missing one gets the ``pip install`` that brings it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = [
    "anthropic_client",
    "async_anthropic_client",
    "async_ollama_client",
    "gemini_client",
    "ollama_client",
]


def anthropic_client(**kwargs: Any) -> Any:
    """A real ``anthropic.Anthropic`` client for the shared local server (started on demand).

    The server answers ``POST /v1/messages`` as Anthropic does: thinking, tool use, usage
    and stop reasons, and an ``overloaded_error`` mid-stream with the ``"error"`` fault.
    Keyword arguments go to ``anthropic.Anthropic``; ``base_url`` and ``api_key`` default
    to the local server's.

    Example::

        client = nbstream.local.anthropic_client()
        with client.messages.stream(
            model=nbstream.local.MODEL,
            max_tokens=1024,
            messages=[{"role": "user", "content": "What is nbstream?"}],
        ) as stream:
            StreamView().stream(stream)
    """
    return _sdk("anthropic").Anthropic(**_defaults(kwargs))


def async_anthropic_client(**kwargs: Any) -> Any:
    """A real ``anthropic.AsyncAnthropic`` client for the shared local server: the twin of
    :func:`anthropic_client`.

    Example::

        aclient = nbstream.local.async_anthropic_client()
        await view.astream(
            aclient.messages.stream(
                model=nbstream.local.MODEL,
                max_tokens=1024,
                messages=[{"role": "user", "content": "What is nbstream?"}],
            )
        )
    """
    return _sdk("anthropic").AsyncAnthropic(**_defaults(kwargs))


def ollama_client(**kwargs: Any) -> Any:
    """A real ``ollama.Client`` for the shared local server (started on demand).

    The server answers ``POST /api/chat`` as Ollama does, in NDJSON: ``thinking``,
    ``tool_calls``, ``done_reason`` and the counts. The ``nbstream`` options go in
    ``options``, since the SDK sends nothing else. Keyword arguments go to
    ``ollama.Client``; ``host`` defaults to the local server's.

    Example::

        client = nbstream.local.ollama_client()
        StreamView().stream(
            client.chat(
                model=nbstream.local.MODEL,
                messages=[{"role": "user", "content": "What is nbstream?"}],
                stream=True,
            )
        )
    """
    return _sdk("ollama").Client(**_host(kwargs))


def async_ollama_client(**kwargs: Any) -> Any:
    """A real ``ollama.AsyncClient`` for the shared local server: the twin of
    :func:`ollama_client`.

    Example::

        aclient = nbstream.local.async_ollama_client()
        await view.astream(await aclient.chat(model="m", messages=messages, stream=True))
    """
    return _sdk("ollama").AsyncClient(**_host(kwargs))


def gemini_client(**kwargs: Any) -> Any:
    """A real ``google.genai.Client`` for the shared local server (started on demand).

    The server answers ``generate_content_stream`` as the Gemini API does: text and
    ``thought`` parts, function calls, ``usage_metadata`` and finish reasons, and an
    ``UNAVAILABLE`` error mid-stream with the ``"error"`` fault. Its ``client.aio`` is the
    async twin. The ``nbstream`` options go in
    ``config={"http_options": {"extra_body": {"nbstream": {...}}}}``. Keyword arguments
    go to ``genai.Client``; ``api_key`` and the ``http_options`` base URL default to the
    local server's.

    Example::

        client = nbstream.local.gemini_client()
        StreamView().stream(
            client.models.generate_content_stream(
                model=nbstream.local.MODEL, contents="What is nbstream?"
            )
        )
    """
    import nbstream.local  # noqa: PLC0415 - nbstream.local imports this module

    genai = _sdk("google.genai", install="google-genai")
    options = dict(kwargs.pop("http_options", None) or {})
    options.setdefault("base_url", nbstream.local.server().url)
    options.setdefault("api_version", "v1beta")
    kwargs.setdefault("api_key", nbstream.local.API_KEY)
    return genai.Client(http_options=options, **kwargs)


def _host(kwargs: dict[str, Any]) -> dict[str, Any]:
    import nbstream.local  # noqa: PLC0415 - nbstream.local imports this module

    kwargs.setdefault("host", nbstream.local.server().url)
    return kwargs


def _sdk(name: str, install: str | None = None) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError:
        package = install or name
        raise ImportError(
            f"this needs the {package!r} package, which nbstream does not install: "
            f"pip install {package}"
        ) from None


def _defaults(kwargs: dict[str, Any]) -> dict[str, Any]:
    # Imported here: nbstream.local imports this module.
    import nbstream.local  # noqa: PLC0415

    if "base_url" not in kwargs:
        kwargs["base_url"] = nbstream.local.server().url
    kwargs.setdefault("api_key", nbstream.local.API_KEY)
    return kwargs
