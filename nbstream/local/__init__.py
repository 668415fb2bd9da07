"""An embedded, deterministic, OpenAI-compatible model for demos, tutorials and tests.

::

    import nbstream.local

    client = nbstream.local.client()  # a real openai.OpenAI, pointed at 127.0.0.1
    stream = client.chat.completions.create(
        model=nbstream.local.MODEL,
        messages=[{"role": "user", "content": "What is nbstream?"}],
        stream=True,
    )

The shared server starts on first use (importing this module starts nothing), listens on
a free port of 127.0.0.1 in a background thread, and answers in rich markdown, the same
text for the same question, through chat completions or the Responses API
(``client.responses.create(...)``). Per-request options go in
``extra_body={"nbstream": {...}}``: faults (see :mod:`nbstream.local.faults`), pacing, the
answer's text, ``reasoning`` streamed before it (in ``reasoning_content``, ``reasoning`` or
``<think>`` content), ``tool_calls``, a forced ``finish_reason``, or the ``replay`` of a
recorded provider transcript, byte for byte (see :mod:`nbstream.local.replay`); see
:class:`nbstream.local.options.LocalOptions`::

    client.chat.completions.create(
        model=nbstream.local.MODEL,
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        stream=True,
        extra_body={"nbstream": {
            "reasoning": True,
            "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}],
        }},
    )

The model calls tools too, with no ``extra_body``: offer ``tools`` (in either API's shape)
and name one in the last user message, and it is called::

    add = {"type": "function", "function": {"name": "add", "parameters": {
        "type": "object", "required": ["a", "b"],
        "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}}}
    client.chat.completions.create(
        model=nbstream.local.MODEL,
        messages=[{"role": "user", "content": "Use add on 3 and 4.5"}],
        tools=[add],
    )  # one call: add {"a": 3, "b": 4.5}, finish_reason "tool_calls"

The rule (in full in :mod:`nbstream.local.tool_calling`):

- *Which tools.* A tool is named when its name appears in the last user message as a
  whole word, case-insensitively, its ``_`` and ``-`` read as spaces or nothing
  (``get_weather``: "get weather", "get_weather"). Each tool named is called once, in the
  order first named, all in one round ("Use add and multiply on 3 and 4" makes two
  calls; only the first with ``parallel_tool_calls: false``). ``tool_choice: "none"``
  calls nothing; a named function is called alone; ``"required"`` calls the first tool
  offered when none is named.
- *The arguments*, for each call from the same message, with the tools' names taken out:
  ``enum`` parameters first, each the enum value that appears first; then, in
  ``properties`` order, required first, each parameter takes the first unused value of
  its type: ``integer`` an int, ``number`` an int or float, ``string`` a quoted string
  ("…" or '…'), else a phrase (a run of words that are not stop words, such as
  "New York"), else a number as written; ``boolean`` yes/no/true/false; ``array`` every
  value of its item type. An optional parameter with nothing left is left out; a
  required one gets ``0``, ``""``, ``false``, ``[]`` or the first enum value.
- *The results.* A conversation that ends with tool results (``role: "tool"`` messages,
  or ``function_call_output`` items) is answered in markdown that quotes each result
  verbatim ("**add** returned:" and a fenced block), in order; a result that is an error
  (an exception's name first, a traceback, or "denied by the user") is said to have
  failed, "I will answer without it.", and nothing is called again
  (:mod:`nbstream.local.tool_results`).

Call ids are ``call_1``, ``call_2``… counted through the conversation, and the
``tool_calls`` option, when given, is made instead of the model's own calls.

- *Attachments.* A last user message with attachments is answered with one line per
  attachment: an image's format, pixel size and mean colour, a table's shape and
  columns, a file's line count (:mod:`nbstream.local.attachments`).

What lives where (the package imports nothing from the rest of nbstream but the
attachments' text format, :mod:`nbstream.attachments`, which it reads as a model would;
so tests that use it are realistic):

- :mod:`.model`, :mod:`.knowledge`: the deterministic answers and how they are chosen
- :mod:`.chat_chunks`, :mod:`.responses`: pure builders of each API's chunks and events
- :mod:`.options`: a request and its per-request options, validated; :mod:`.plan`: the
  reply to send for it (tokens, pacing, fault)
- :mod:`.tools`: the tools a request offers and ``tool_choice``; :mod:`.tool_calling`: the
  calls the model makes; :mod:`.tool_results`: its answer to their results;
  :mod:`.attachments`: its answer to attachments
- :mod:`.endpoints`: each path's request, stream events and whole reply
- :mod:`.pacing`: the one paced loop both APIs stream through (delays, faults, stats)
- :mod:`.http_server`: HTTP only; :mod:`.server`: :class:`LocalServer`
- :mod:`.faults`, :mod:`.replay`, :mod:`.stats`, :mod:`.wire`: injected faults, transcript
  replays, counters, and the JSON on the wire
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

import openai

from nbstream.local.model import MODEL, answer, default_reasoning, long_answer, tokenize
from nbstream.local.sdk_clients import (
    anthropic_client,
    async_anthropic_client,
    async_ollama_client,
    gemini_client,
    ollama_client,
)
from nbstream.local.server import LocalServer, ServerError
from nbstream.local.stats import ServerStats, StatsSnapshot

__all__ = [
    "API_KEY",
    "MODEL",
    "LocalServer",
    "ServerError",
    "ServerStats",
    "StatsSnapshot",
    "answer",
    "anthropic_client",
    "async_anthropic_client",
    "async_client",
    "async_ollama_client",
    "base_url",
    "client",
    "default_reasoning",
    "gemini_client",
    "long_answer",
    "ollama_client",
    "running_server",
    "server",
    "tokenize",
]

API_KEY = "nbstream-local"
"""The API key the clients send. Not a secret: the local server checks no key.

Example::

    client = openai.OpenAI(base_url=nbstream.local.base_url(), api_key=nbstream.local.API_KEY)
"""

_shared: LocalServer | None = None
_shared_lock = threading.Lock()


def server() -> LocalServer:
    """The shared local server, started on first call (thread-safe).

    It uses the default pacing; create your own :class:`LocalServer` for other settings.

    Example:
        >>> import nbstream.local
        >>> server = nbstream.local.server()
        >>> server.running, server is nbstream.local.server()
        (True, True)
    """
    global _shared  # noqa: PLW0603 - one lazily created server per process is the point
    with _shared_lock:
        if _shared is None:
            _shared = LocalServer()
            # Close sockets and join threads before the interpreter tears modules down.
            atexit.register(_shared.stop)
        return _shared.start()


def running_server() -> LocalServer | None:
    """The shared local server if it has been started and is running, else None; never
    starts one.

    For code that only reports on the shared server, or compares a URL with its own:
    asking must not start a server as a side effect.

    Example:
        >>> import nbstream.local
        >>> server = nbstream.local.server()
        >>> nbstream.local.running_server() is server
        True
    """
    with _shared_lock:
        shared = _shared
    return shared if shared is not None and shared.running else None


def base_url() -> str:
    """The shared server's OpenAI ``base_url`` (``http://127.0.0.1:PORT/v1``); starts it.

    Example:
        >>> import nbstream.local
        >>> nbstream.local.base_url()
        'http://127.0.0.1:.../v1'
    """
    return server().base_url


def client(**kwargs: Any) -> openai.OpenAI:
    """A real ``openai.OpenAI`` client for the shared local server (started on demand).

    Keyword arguments go to ``openai.OpenAI``; ``base_url`` and ``api_key`` default to
    the local server's, e.g. ``client(max_retries=0)``.

    Example:
        >>> import nbstream.local
        >>> from nbstream import StreamView
        >>> client = nbstream.local.client()
        >>> StreamView().stream(
        ...     client.chat.completions.create(
        ...         model=nbstream.local.MODEL,
        ...         messages=[{"role": "user", "content": "Say hello"}],
        ...         stream=True,
        ...         extra_body={"nbstream": {"text": "Hello!"}},  # this answer, for a quick demo
        ...     )
        ... )
        'Hello!'
    """
    return openai.OpenAI(**_defaults(kwargs))


def async_client(**kwargs: Any) -> openai.AsyncOpenAI:
    """A real ``openai.AsyncOpenAI`` client for the shared local server: the twin of
    :func:`client`.

    Example::

        aclient = nbstream.local.async_client()
        text = await view.astream(
            await aclient.chat.completions.create(
                model=nbstream.local.MODEL,
                messages=[{"role": "user", "content": "What is nbstream?"}],
                stream=True,
            )
        )
    """
    return openai.AsyncOpenAI(**_defaults(kwargs))


def _defaults(kwargs: dict[str, Any]) -> dict[str, Any]:
    # Only start the shared server when the caller did not point elsewhere.
    if "base_url" not in kwargs:
        kwargs["base_url"] = base_url()
    kwargs.setdefault("api_key", API_KEY)
    return kwargs
