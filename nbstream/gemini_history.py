"""A chat's OpenAI-format history as Google's Gemini API wants it.

``Chat(genai.Client(), model=...)`` keeps its history in the OpenAI format
(``chat.messages``); each request translates it here:

- ``system`` messages → ``config.system_instruction``, apart from the contents;
- user and assistant messages → ``contents`` with roles ``user`` and ``model``;
- text → text parts, images (``image_url`` parts with data URLs) → ``inline_data``
  parts (a URL that is not a data URL → ``file_data``);
- an assistant's ``tool_calls`` → ``function_call`` parts, and the ``tool`` messages that
  answer them → ``function_response`` parts (named after the call they answer, as the
  API requires) in the next user turn;
- consecutive contents of one role are merged, as the API requires turns to alternate;
- OpenAI tool dicts → one ``function_declarations`` tool, the JSON Schemas as they are
  (``parameters_json_schema``).

The backend itself is :class:`nbstream.backends.GeminiBackend`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from nbstream.message_content import content_text

__all__ = ["gemini_request", "is_gemini_client"]

_CLIENTS = frozenset({"Client", "AsyncClient"})


def is_gemini_client(client: object) -> bool:
    """Whether ``client`` is a ``google.genai.Client`` or its ``client.aio``."""
    return (
        type(client).__module__.startswith("google.genai")
        and type(client).__name__ in _CLIENTS
        and hasattr(client, "models")
    )


def gemini_request(
    messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The ``contents`` and the ``config`` entries of a Gemini request for an OpenAI history.

    Example:
        >>> contents, config = gemini_request([
        ...     {"role": "system", "content": "Be brief."},
        ...     {"role": "user", "content": "Hi"},
        ... ])
        >>> contents, config
        ([{'role': 'user', 'parts': [{'text': 'Hi'}]}], {'system_instruction': 'Be brief.'})
    """
    system: list[str] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool call id → function name, for the responses
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(content_text(message.get("content")))
            continue
        if role == "tool":
            parts = [_function_response(message, names)]
        else:
            parts = _parts(message.get("content"))
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                names[str(call.get("id"))] = str(function.get("name"))
                parts.append(_function_call(call.get("id"), function))
        if not parts:
            continue
        # Tool results are the user's turn.
        turn_role = "model" if role == "assistant" else "user"
        if contents and contents[-1]["role"] == turn_role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": turn_role, "parts": parts})
    config: dict[str, Any] = {}
    if any(system):
        config["system_instruction"] = "\n\n".join(part for part in system if part)
    if tools:
        config["tools"] = [{"function_declarations": [_declaration(tool) for tool in tools]}]
    return contents, config


def _parts(content: object) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[dict[str, Any]] = []
    for part in content if isinstance(content, list) else ():
        if not isinstance(part, Mapping):
            continue
        if part.get("type") == "image_url":
            parts.append(_image_part(str((part.get("image_url") or {}).get("url", ""))))
        elif isinstance(part.get("text"), str):
            parts.append({"text": part["text"]})
    return parts


def _image_part(url: str) -> dict[str, Any]:
    if url.startswith("data:") and ";base64," in url:
        mime_type, _, data = url[len("data:") :].partition(";base64,")
        try:
            # The SDK takes bytes, and sends them base64-encoded again.
            raw = base64.b64decode(data, validate=True)
        except binascii.Error:
            raise ValueError(
                f"an attached image's data URL is not valid base64 ({mime_type})"
            ) from None
        return {"inline_data": {"mime_type": mime_type, "data": raw}}
    return {"file_data": {"file_uri": url}}


def _function_call(call_id: object, function: Mapping[str, Any]) -> dict[str, Any]:
    try:
        args = json.loads(function.get("arguments") or "{}")
    except ValueError:
        args = {}  # the model wrote invalid JSON; the tool result says so
    call: dict[str, Any] = {
        "name": function.get("name"),
        "args": args if isinstance(args, dict) else {},
    }
    if call_id:
        call["id"] = call_id
    return {"function_call": call}


def _function_response(message: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    call_id = message.get("tool_call_id")
    text = content_text(message.get("content"))
    response: dict[str, Any] = {
        "name": names.get(str(call_id), str(call_id)),
        # The SDK's own convention for a function's result (and "error" for a failure).
        "response": {"output": text},
    }
    if call_id:
        response["id"] = call_id
    return {"function_response": response}


def _declaration(tool: Mapping[str, Any]) -> dict[str, Any]:
    function = tool.get("function") or {}
    return {
        "name": function.get("name"),
        "description": function.get("description") or "",
        "parameters_json_schema": function.get("parameters")
        or {"type": "object", "properties": {}},
    }
