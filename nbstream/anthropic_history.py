"""A chat's OpenAI-format history as Anthropic's Messages API wants it.

``Chat(anthropic.Anthropic(), model=...)`` keeps its history in the OpenAI format
(``chat.messages``); each request translates it here:

- ``system`` messages → the ``system`` parameter, apart from the messages;
- user text and images (``image_url`` parts with data URLs) → text and base64 ``image``
  blocks;
- an assistant's ``tool_calls`` → ``tool_use`` blocks, and the ``tool`` messages that
  answer them → ``tool_result`` blocks in the next user message;
- consecutive messages of one role are merged, as the API requires turns to alternate;
- OpenAI tool dicts → ``{"name", "description", "input_schema"}``.

The backend itself is :class:`nbstream.backends.AnthropicBackend`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from nbstream.message_content import content_text

__all__ = ["anthropic_request", "is_anthropic_client"]

_CLIENTS = frozenset({"Anthropic", "AsyncAnthropic"})


def is_anthropic_client(client: object) -> bool:
    """Whether ``client`` is an ``anthropic.Anthropic`` or ``anthropic.AsyncAnthropic``."""
    return type(client).__module__.partition(".")[0] == "anthropic" and (
        type(client).__name__ in _CLIENTS
    )


def anthropic_request(
    messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """The ``system``, ``messages`` and ``tools`` of a Messages request for an OpenAI history.

    Example:
        >>> anthropic_request([
        ...     {"role": "system", "content": "Be brief."},
        ...     {"role": "user", "content": "Hi"},
        ... ])
        {'messages': [{'role': 'user', 'content': [{'type': 'text', 'text': 'Hi'}]}], \
'system': 'Be brief.'}
    """
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(content_text(message.get("content")))
            continue
        blocks = _blocks(message)
        role = "assistant" if role == "assistant" else "user"  # tool results are the user's
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    request: dict[str, Any] = {"messages": turns}
    if system:
        request["system"] = "\n\n".join(part for part in system if part)
    if tools:
        request["tools"] = [_tool(tool) for tool in tools]
    return request


def _blocks(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    if message.get("role") == "tool":
        result = {
            "type": "tool_result",
            "tool_use_id": message.get("tool_call_id"),
            "content": content_text(message.get("content")),
        }
        return [result]
    blocks = _content_blocks(message.get("content"))
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except ValueError:
            arguments = {}  # the model wrote invalid JSON; the tool result says so
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id"),
                "name": function.get("name"),
                "input": arguments if isinstance(arguments, dict) else {},
            }
        )
    return blocks


def _content_blocks(content: object) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content if isinstance(content, list) else ():
        if not isinstance(part, Mapping):
            continue
        if part.get("type") == "image_url":
            blocks.append(_image_block(str((part.get("image_url") or {}).get("url", ""))))
        elif isinstance(part.get("text"), str):
            blocks.append({"type": "text", "text": part["text"]})
    return blocks


def _image_block(url: str) -> dict[str, Any]:
    if url.startswith("data:") and ";base64," in url:
        media_type, _, data = url[len("data:") :].partition(";base64,")
        source = {"type": "base64", "media_type": media_type, "data": data}
    else:
        source = {"type": "url", "url": url}
    return {"type": "image", "source": source}


def _tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    function = tool.get("function") or {}
    return {
        "name": function.get("name"),
        "description": function.get("description") or "",
        "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
    }
