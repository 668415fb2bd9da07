"""OpenAI's JSON shapes, built as plain dicts, and their encoding as server-sent events.

Pure functions: the server decides what to send, this module only decides how it looks,
so the shapes can be checked against the real ``openai`` types without a socket.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from nbstream.local.model import Token

__all__ = [
    "DONE",
    "JSON",
    "chunk",
    "completion",
    "delta",
    "encode_json",
    "error_body",
    "invalid_request",
    "message",
    "model_list",
    "model_object",
    "sse",
    "usage",
]

DONE = b"data: [DONE]\n\n"
"""The event that ends an OpenAI stream."""

JSON = dict[str, Any]
"""A JSON object, as sent or received."""


def encode_json(data: object) -> bytes:
    """Compact UTF-8 JSON.

    Non-ASCII stays raw, as OpenAI sends it, so clients decode multi-byte characters
    for real instead of reading ``\\u`` escapes.
    """
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sse(data: object) -> bytes:
    """One server-sent event carrying ``data`` as JSON."""
    return b"data: " + encode_json(data) + b"\n\n"


def error_body(
    message: str,
    *,
    error_type: str,
    code: str | None = None,
    param: str | None = None,
) -> JSON:
    """An OpenAI error response body: ``{"error": {message, type, param, code}}``."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def invalid_request(message: str, param: str | None) -> JSON:
    """The OpenAI error body of a ``400`` for an invalid request."""
    return error_body(message, error_type="invalid_request_error", param=param)


def usage(prompt_tokens: int, completion_tokens: int, reasoning_tokens: int | None = None) -> JSON:
    """A ``usage`` object; ``reasoning_tokens`` (part of ``completion_tokens``) adds
    ``completion_tokens_details``, as OpenAI reports it for reasoning models."""
    data: JSON = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if reasoning_tokens is not None:
        data["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
    return data


def delta(token: Token, *, reasoning_field: str | None) -> JSON:
    """The streamed ``delta`` carrying one token.

    Reasoning goes in ``reasoning_field`` (``"reasoning_content"`` or ``"reasoning"``),
    or in ``content`` when that is None (the ``<think>`` format). A tool call starts
    with its id, type and name, and its arguments follow piece by piece, as OpenAI
    streams them.
    """
    if token.kind == "reasoning" and reasoning_field is not None:
        return {reasoning_field: token.text}
    if token.kind in ("reasoning", "content"):
        return {"content": token.text}
    if token.kind == "tool_call":
        call: JSON = {
            "index": token.call,
            "id": token.call_id,
            "type": "function",
            "function": {"name": token.text, "arguments": ""},
        }
    else:
        call = {"index": token.call, "function": {"arguments": token.text}}
    return {"tool_calls": [call]}


def message(
    tokens: Sequence[Token], *, reasoning_field: str | None, null_content: bool = False
) -> JSON:
    """The whole assistant ``message`` that ``tokens`` stream, for a non-streamed reply.

    Args:
        tokens: The tokens sent, in order.
        reasoning_field: Where reasoning goes, as in :func:`delta`; the field is present
            (maybe empty) whenever it is given.
        null_content: Send ``"content": null`` rather than ``""`` when no token went to
            the content, as OpenAI does for a reply made only of tool calls.
    """
    content: list[str] = []
    reasoning: list[str] = []
    calls: dict[int, JSON] = {}  # by the call's index, in the order they started
    for token in tokens:
        if token.kind == "reasoning" and reasoning_field is not None:
            reasoning.append(token.text)
        elif token.kind in ("reasoning", "content"):
            content.append(token.text)
        elif token.kind == "tool_call":
            function = {"name": token.text, "arguments": ""}
            calls[token.call] = {"id": token.call_id, "type": "function", "function": function}
        else:  # a call's arguments come after its tool_call token
            calls[token.call]["function"]["arguments"] += token.text
    text = "".join(content)
    data: JSON = {
        "role": "assistant",
        "content": None if null_content and not text else text,
        "refusal": None,
    }
    if reasoning_field is not None:
        data[reasoning_field] = "".join(reasoning)
    if calls:
        data["tool_calls"] = list(calls.values())
    return data


def chunk(
    *,
    completion_id: str,
    created: int,
    model: str,
    delta: JSON | None = None,
    finish_reason: str | None = None,
    usage: JSON | None = None,
) -> JSON:
    """A ``chat.completion.chunk``.

    With ``delta=None`` the chunk has no choices: that is the final usage chunk sent
    when the request asked for ``stream_options.include_usage``.
    """
    choices: list[JSON] = []
    if delta is not None:
        choices.append(
            {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        )
    data: JSON = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": choices,
    }
    if usage is not None:
        data["usage"] = usage
    return data


def completion(
    *,
    completion_id: str,
    created: int,
    model: str,
    message: JSON,
    finish_reason: str,
    usage: JSON,
) -> JSON:
    """A whole (non-streamed) ``chat.completion`` carrying ``message`` (see :func:`message`)."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": usage,
    }


def model_object(model: str, created: int) -> JSON:
    """One entry of ``GET /v1/models``."""
    return {"id": model, "object": "model", "created": created, "owned_by": "nbstream"}


def model_list(models: list[JSON]) -> JSON:
    """The ``GET /v1/models`` response."""
    return {"object": "list", "data": models}
