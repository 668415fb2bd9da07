"""Ollama's native chat API (``POST /api/chat``): its request, and its NDJSON stream.

A request is read into the local model's :class:`~nbstream.local.options.ChatRequest`:
``messages`` are already in the chat shape (``images`` become ``image_url`` parts,
``tool_calls`` arguments given as objects become JSON text), ``tools`` are OpenAI-shaped,
``think`` asks for the model's reasoning, ``options.num_predict`` caps the reply, and the
``nbstream`` options ride in ``options`` (the ``ollama`` SDK has no ``extra_body``)::

    client.chat(model=..., messages=..., options={"nbstream": {"fault": "error"}})

Ollama streams by default (``"stream": false`` asks for one object). The stream is one
JSON object per line: each token's ``message`` (``content`` or ``thinking``), a tool call
whole in one line once its arguments are complete, and a last line with ``done: true``,
``done_reason`` and the counts; a failure mid-stream is an ``{"error": ...}`` line.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterable
from typing import Any

from nbstream.local.model import Token, parsed_arguments, whole_tool_calls
from nbstream.local.options import ChatRequest, json_object, parse_options, request_model
from nbstream.local.plan import Plan
from nbstream.local.tools import parse_tools
from nbstream.local.validation import RequestError, flag, non_empty_list
from nbstream.local.wire import JSON, encode_json

__all__ = ["OllamaEvents", "parse_ollama_request", "whole_ollama_reply"]


def parse_ollama_request(body: bytes) -> ChatRequest:
    """Parse and validate an Ollama chat request body.

    Raises:
        RequestError: The body is not JSON, or a field is missing or of the wrong kind.

    Example:
        >>> from nbstream.local.ollama_chat import parse_ollama_request
        >>> request = parse_ollama_request(b'{"model": "m", "messages": [{"role": "user",'
        ...                                b' "content": "Hi", "images": ["iVBO"]}]}')
        >>> request.stream, request.messages[0]["content"][1]["type"]
        (True, 'image_url')
    """
    data = json_object(body)
    raw = non_empty_list(data, "messages", of="{role, content}")
    messages = [_message(message, f"messages[{index}]") for index, message in enumerate(raw)]
    stream = flag(data, "stream", default=True)
    settings = data.get("options") or {}
    if not isinstance(settings, dict):
        raise RequestError("'options' must be an object.", param="options")
    limit = settings.get("num_predict")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
        raise RequestError("'options.num_predict' must be an integer.", param="options")
    options = parse_options(settings.get("nbstream"))
    if data.get("think") not in (None, False) and options.reasoning is None:
        options = dataclasses.replace(options, reasoning=True)
    return ChatRequest(
        messages=messages,
        model=request_model(data),
        stream=stream,
        max_tokens=limit if isinstance(limit, int) and limit > 0 else None,
        options=options,
        tools=parse_tools({"tools": data.get("tools")}, "chat"),
    )


def _message(message: object, where: str) -> dict[str, Any]:
    if not isinstance(message, dict) or not isinstance(message.get("role"), str):
        raise RequestError(f"'{where}' must be an object with a string 'role'.", param=where)
    chat: dict[str, Any] = {"role": message["role"], "content": message.get("content") or ""}
    images = message.get("images")
    if isinstance(images, list) and images:
        parts: list[dict[str, Any]] = [{"type": "text", "text": chat["content"]}]
        for image in images:
            url = f"data:image/png;base64,{image}"
            parts.append({"type": "image_url", "image_url": {"url": url}})
        chat["content"] = parts
    calls = message.get("tool_calls")
    if isinstance(calls, list) and calls:
        chat["tool_calls"] = [_call(call, index) for index, call in enumerate(calls)]
    if message["role"] == "tool":
        chat["tool_call_id"] = message.get("tool_call_id") or message.get("tool_name")
    return chat


def _call(call: object, index: int) -> dict[str, Any]:
    function = call.get("function") if isinstance(call, dict) else None
    function = function if isinstance(function, dict) else {}
    arguments = function.get("arguments")
    text = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    call_id = call.get("id") if isinstance(call, dict) else None
    return {
        "id": call_id or f"call_{index + 1}",
        "type": "function",
        "function": {"name": function.get("name"), "arguments": text},
    }


class OllamaEvents:
    """One reply as Ollama streams it: NDJSON lines, paced by the plan's tokens."""

    def __init__(self, request: ChatRequest, plan: Plan) -> None:
        self._model = request.model
        self._plan = plan
        self._think_in_text = plan.has_reasoning and plan.reasoning_field is None
        self._call: dict[str, Any] | None = None  # the tool call whose arguments stream

    def opening(self) -> Iterable[bytes]:
        """Nothing: Ollama sends its first line with the first token."""
        return []

    def start(self) -> Iterable[bytes]:
        """Nothing."""
        return []

    def token(self, token: Token) -> Iterable[bytes]:
        """The token's line; a tool call's line once its arguments are whole."""
        if token.kind == "arguments" and self._call is not None:
            self._call["arguments"] += token.text
            return []
        lines = self._flush_call()
        if token.kind == "tool_call":
            self._call = {"name": token.text, "arguments": "", "id": token.call_id}
            return lines
        if token.kind == "reasoning" and not self._think_in_text:
            message = {"role": "assistant", "content": "", "thinking": token.text}
        else:
            message = {"role": "assistant", "content": token.text}
        return [*lines, self._line(message=message, done=False)]

    def error(self) -> bytes:
        """The ``{"error": ...}`` line of the ``"error"`` fault."""
        error = "the nbstream local model failed mid-stream, as requested (fault 'error')"
        return encode_json({"error": error}) + b"\n"

    def finish(self) -> Iterable[bytes]:
        """A pending tool call's line, then the ``done`` line with the counts."""
        done = {
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "length" if self._plan.finish_reason == "length" else "stop",
            **_counts(self._plan),
        }
        return [*self._flush_call(), self._line(**done)]

    def _flush_call(self) -> list[bytes]:
        if self._call is None:
            return []
        call, self._call = self._call, None
        message = {"role": "assistant", "content": "", "tool_calls": [_tool_call(call)]}
        return [self._line(message=message, done=False)]

    def _line(self, **fields: Any) -> bytes:
        line = {"model": self._model, "created_at": _now(), **fields}
        return encode_json(line) + b"\n"


def whole_ollama_reply(request: ChatRequest, plan: Plan) -> JSON:
    """The one object of a ``"stream": false`` request."""
    think_in_text = plan.has_reasoning and plan.reasoning_field is None
    shown = ("content", "reasoning") if think_in_text else ("content",)
    content = "".join(t.text for t in plan.tokens if t.kind in shown)
    message: dict[str, Any] = {"role": "assistant", "content": content}
    thinking = "".join(t.text for t in plan.tokens if t.kind == "reasoning" and not think_in_text)
    if thinking:
        message["thinking"] = thinking
    calls = whole_tool_calls(plan.tokens)
    if calls:
        message["tool_calls"] = [_tool_call(call) for call in calls]
    return {
        "model": request.model,
        "created_at": _now(),
        "message": message,
        "done": True,
        "done_reason": "length" if plan.finish_reason == "length" else "stop",
        **_counts(plan),
    }


def _tool_call(call: dict[str, Any]) -> JSON:
    arguments = parsed_arguments(call["arguments"])
    return {"id": call["id"], "function": {"name": call["name"], "arguments": arguments}}


def _counts(plan: Plan) -> JSON:
    return {
        "total_duration": 0,
        "prompt_eval_count": plan.prompt_tokens,
        "eval_count": len(plan.tokens),
    }


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
