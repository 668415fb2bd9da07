"""A chat's OpenAI-format history as Ollama's native chat API wants it.

``Chat(ollama.Client(), model=...)`` keeps its history in the OpenAI format
(``chat.messages``); each request translates it here:

- text parts are joined into ``content``, and images (``image_url`` parts with data
  URLs) go in ``images`` as base64; Ollama takes no links, so one is a clear error;
- an assistant's ``tool_calls`` carry their arguments as objects, not JSON text;
- a ``tool`` message names the function it answers (``tool_name``), since Ollama's
  calls have no ids;
- OpenAI tool dicts are Ollama's own shape already.

The backend itself is :class:`nbstream.backends.OllamaBackend`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["is_ollama_client", "ollama_messages", "ollama_request_params"]

_CLIENTS = frozenset({"Client", "AsyncClient"})
# Parameters the API takes beside the messages; the others are model options.
_TOP_LEVEL = frozenset({"think", "format", "keep_alive", "logprobs", "top_logprobs"})


def is_ollama_client(client: object) -> bool:
    """Whether ``client`` is an ``ollama.Client`` or ``ollama.AsyncClient``."""
    return type(client).__module__.partition(".")[0] == "ollama" and (
        type(client).__name__ in _CLIENTS
    )


def ollama_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ``messages`` of an Ollama chat request for an OpenAI history.

    Raises:
        ValueError: An image is a link, which Ollama cannot fetch.

    Example:
        >>> ollama_messages([
        ...     {"role": "user", "content": [
        ...         {"type": "text", "text": "What is this?"},
        ...         {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
        ...     ]},
        ... ])
        [{'role': 'user', 'content': 'What is this?', 'images': ['iVBO']}]
    """
    names: dict[str, str] = {}  # tool call id → function name, for the results
    translated: list[dict[str, Any]] = []
    for message in messages:
        role = str(message.get("role"))
        text, images = _content(message.get("content"))
        out: dict[str, Any] = {"role": role, "content": text}
        if images:
            out["images"] = images
        calls = message.get("tool_calls") or ()
        if calls:
            out["tool_calls"] = [_call(call, names) for call in calls]
        if role == "tool":
            call_id = str(message.get("tool_call_id"))
            out["tool_name"] = names.get(call_id, call_id)
        translated.append(out)
    return translated


def ollama_request_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """A chat's parameters where Ollama wants them: ``think`` and ``format`` beside the
    messages, the rest (``temperature``, ``max_tokens`` as ``num_predict``…) in
    ``options``.

    Example:
        >>> ollama_request_params({"temperature": 0.2, "max_tokens": 100, "think": True})
        {'think': True, 'options': {'temperature': 0.2, 'num_predict': 100}}
    """
    request: dict[str, Any] = {}
    options: dict[str, Any] = dict(params.get("options") or {})
    for name, value in params.items():
        if name in _TOP_LEVEL:
            request[name] = value
        elif name == "max_tokens":
            options["num_predict"] = value
        elif name != "options":
            options[name] = value
    if options:
        request["options"] = options
    return request


def _content(content: object) -> tuple[str, list[str]]:
    if isinstance(content, str) or content is None:
        return content or "", []
    texts: list[str] = []
    images: list[str] = []
    for part in content if isinstance(content, list) else ():
        if not isinstance(part, Mapping):
            continue
        if part.get("type") == "image_url":
            url = str((part.get("image_url") or {}).get("url", ""))
            if not (url.startswith("data:") and ";base64," in url):
                raise ValueError(
                    f"Ollama takes images as data, not links; attach the image itself ({url[:60]})"
                )
            images.append(url.partition(";base64,")[2])
        elif isinstance(part.get("text"), str):
            texts.append(part["text"])
    return "\n\n".join(texts), images


def _call(call: Mapping[str, Any], names: dict[str, str]) -> dict[str, Any]:
    function = call.get("function") or {}
    names[str(call.get("id"))] = str(function.get("name"))
    try:
        arguments = json.loads(function.get("arguments") or "{}")
    except ValueError:
        arguments = {}  # the model wrote invalid JSON; the tool result says so
    return {
        "function": {
            "name": function.get("name"),
            "arguments": arguments if isinstance(arguments, dict) else {},
        }
    }
