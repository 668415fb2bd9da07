"""Reading an Anthropic Messages request (``POST /v1/messages``) as the local model's request.

The local model answers every API from one :class:`~nbstream.local.options.ChatRequest`
in the chat completions shape, so a Messages request is translated into it here:

- ``system`` (a string or text blocks) → a ``system`` message;
- each message's content blocks: ``text`` → its text, ``image`` (base64) → an
  ``image_url`` part with a data URL, ``tool_use`` → the assistant's ``tool_calls``,
  ``tool_result`` → a ``tool`` message answering the call; ``thinking`` blocks are
  dropped, as the API itself does with earlier turns' thinking;
- ``tools`` (``name``, ``description``, ``input_schema``) and ``tool_choice``
  (``auto``, ``any``, ``tool``, ``none``; ``disable_parallel_tool_use``) → the chat shape,
  checked by :func:`~nbstream.local.tools.parse_tools`;
- ``thinking: {"type": "enabled"}`` → the model's own reasoning, in thinking blocks;
- ``max_tokens`` caps the reply, and the ``nbstream`` options work as on the other
  endpoints (the SDK sends them with ``extra_body={"nbstream": {...}}``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from nbstream.local.options import ChatRequest, json_object, parse_options, request_model
from nbstream.local.tools import parse_tools
from nbstream.local.validation import RequestError, flag, non_empty_list

__all__ = ["parse_messages_request"]

_ROLES = ("user", "assistant")


def parse_messages_request(body: bytes) -> ChatRequest:
    """Parse and validate a Messages API request body.

    Raises:
        RequestError: The body is not JSON, or a field is missing or of the wrong kind.

    Example:
        >>> from nbstream.local.messages_request import parse_messages_request
        >>> request = parse_messages_request(
        ...     b'{"model": "m", "max_tokens": 9, "system": "Be brief.",'
        ...     b' "messages": [{"role": "user", "content": "Hi"}]}'
        ... )
        >>> request.messages
        [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Hi'}]
    """
    data = json_object(body)
    raw = non_empty_list(data, "messages", of="{role, content}")
    messages: list[dict[str, Any]] = []
    system = _system(data.get("system"))
    if system:
        messages.append({"role": "system", "content": system})
    for index, message in enumerate(raw):
        messages.extend(_messages_of(message, f"messages[{index}]"))

    max_tokens = data.get("max_tokens")
    if max_tokens is not None and (
        not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1
    ):
        raise RequestError("'max_tokens' must be a positive integer.", param="max_tokens")
    stream = flag(data, "stream", default=False)

    options = parse_options(data.get("nbstream"))
    if _thinks(data.get("thinking")) and options.reasoning is None:
        options = dataclasses.replace(options, reasoning=True)
    return ChatRequest(
        messages=messages,
        model=request_model(data),
        stream=stream,
        max_tokens=max_tokens,
        options=options,
        tools=parse_tools(_chat_tools(data), "chat"),
    )


def _system(raw: object) -> str:
    if raw is None or isinstance(raw, str):
        return raw or ""
    if isinstance(raw, list):
        return "".join(_text_of(block) for block in raw)
    raise RequestError("'system' must be a string or a list of text blocks.", param="system")


def _messages_of(message: object, where: str) -> list[dict[str, Any]]:
    """One Messages message → its chat messages (tool results become ``tool`` messages)."""
    if not isinstance(message, dict) or message.get("role") not in _ROLES:
        raise RequestError(
            f"'{where}' must be an object with 'role' 'user' or 'assistant'.", param=where
        )
    role, content = message["role"], message.get("content")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    if not isinstance(content, list):
        raise RequestError(
            f"'{where}.content' must be a string or a list of content blocks.",
            param=f"{where}.content",
        )
    parts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for position, block in enumerate(content):
        kind = block.get("type") if isinstance(block, dict) else None
        if not isinstance(kind, str):
            place = f"{where}.content[{position}]"
            raise RequestError(f"'{place}' must be an object with a string 'type'.", param=place)
        if kind == "text":
            parts.append({"type": "text", "text": _text_of(block)})
        elif kind == "image":
            parts.append(_image_part(block))
        elif kind == "tool_use":
            arguments = json.dumps(block.get("input") or {})
            function = {"name": block.get("name"), "arguments": arguments}
            calls.append({"id": block.get("id"), "type": "function", "function": function})
        elif kind == "tool_result":
            results.append(_tool_message(block))
    out: list[dict[str, Any]] = list(results)
    if parts or calls:
        chat: dict[str, Any] = {"role": role, "content": parts or None}
        if calls:
            chat["tool_calls"] = calls
        out.append(chat)
    return out


def _text_of(block: object) -> str:
    text = block.get("text") if isinstance(block, Mapping) else None
    return text if isinstance(text, str) else ""


def _image_part(block: Mapping[str, Any]) -> dict[str, Any]:
    source = block.get("source")
    if isinstance(source, dict) and source.get("type") == "base64":
        url = f"data:{source.get('media_type')};base64,{source.get('data')}"
    elif isinstance(source, dict) and source.get("type") == "url":
        url = str(source.get("url"))
    else:
        raise RequestError("An image block needs a base64 or url 'source'.", param="content")
    return {"type": "image_url", "image_url": {"url": url}}


def _tool_message(block: Mapping[str, Any]) -> dict[str, Any]:
    content = block.get("content")
    text = content if isinstance(content, str) else ""
    if isinstance(content, list):
        text = "".join(_text_of(part) for part in content)
    if block.get("is_error") is True and not text.lower().startswith("error"):
        text = f"Error: {text}"
    return {"role": "tool", "tool_call_id": block.get("tool_use_id"), "content": text}


def _thinks(raw: object) -> bool:
    return isinstance(raw, dict) and raw.get("type") in ("enabled", "adaptive")


def _chat_tools(data: Mapping[str, Any]) -> dict[str, Any]:
    """``tools`` and ``tool_choice`` in the chat completions shape."""
    tools = data.get("tools")
    chat: dict[str, Any] = {}
    if isinstance(tools, list):
        chat["tools"] = [_chat_tool(tool, index) for index, tool in enumerate(tools)]
    elif tools is not None:
        raise RequestError("'tools' must be a list of tool objects.", param="tools")
    choice = data.get("tool_choice")
    if choice is None:
        return chat
    if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
        raise RequestError(
            "'tool_choice' must be {'type': 'auto' | 'any' | 'tool' | 'none'}.",
            param="tool_choice",
        )
    kind = choice["type"]
    if kind == "tool":
        chat["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    else:
        chat["tool_choice"] = {"any": "required"}.get(kind, kind)
    if choice.get("disable_parallel_tool_use") is True:
        chat["parallel_tool_calls"] = False
    return chat


def _chat_tool(tool: object, index: int) -> dict[str, Any]:
    if not isinstance(tool, dict):
        raise RequestError(f"'tools[{index}]' must be an object.", param=f"tools[{index}]")
    if "input_schema" not in tool:  # a server tool (web_search, ...): offered, never called
        return {"type": str(tool.get("type") or "server_tool")}
    function = {
        "name": tool.get("name"),
        "description": tool.get("description") or "",
        "parameters": tool.get("input_schema"),
    }
    return {"type": "function", "function": function}
