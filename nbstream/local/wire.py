"""OpenAI's JSON shapes, built as plain dicts, and their encoding as server-sent events.

Pure functions: the server decides what to send, this module only decides how it looks,
so the shapes can be checked against the real ``openai`` types without a socket.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "DONE",
    "JSON",
    "chunk",
    "completion",
    "encode_json",
    "error_body",
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


def usage(prompt_tokens: int, completion_tokens: int) -> JSON:
    """A ``usage`` object."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


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
    content: str,
    finish_reason: str,
    usage: JSON,
) -> JSON:
    """A whole (non-streamed) ``chat.completion``."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
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
