"""What a browser may ask the relay: checked before any model is called.

The relay is reachable by whoever can reach its port, so a request is held to limits
(how many messages, how long each, how big the body) and to the models the server
offers; the system prompt is the server's (``create_app(system=...)``), never the
client's. Every refusal is a :class:`RelayRequestError` with the HTTP status to answer
with and a message that says what to change.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["RelayLimits", "RelayRequest", "RelayRequestError", "parse_relay_request"]

_ROLES = ("user", "assistant")


@dataclass(frozen=True)
class RelayLimits:
    """How much one request may hold (``create_app(limits=RelayLimits(...))``).

    Example:
        >>> RelayLimits(max_message_chars=20_000).max_messages
        200
    """

    max_body_bytes: int = 1_000_000
    """The request body's size; more gets a 413."""
    max_messages: int = 200
    """Messages in the conversation."""
    max_message_chars: int = 100_000
    """Characters in one message's content; more gets a 413."""


@dataclass(frozen=True)
class RelayRequest:
    """A checked request: the conversation and the model to ask."""

    messages: list[dict[str, Any]]
    model: str


class RelayRequestError(Exception):
    """A request the relay refuses: answered with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_relay_request(body: bytes, *, models: Sequence[str], limits: RelayLimits) -> RelayRequest:
    """Check a ``POST /api/chat/stream`` body against the models offered and the limits.

    The first of ``models`` is asked when the body names none.

    Raises:
        RelayRequestError: 413 for a body or message over the limits, 400 otherwise.

    Example:
        >>> request = parse_relay_request(
        ...     b'{"messages": [{"role": "user", "content": "Hi"}]}',
        ...     models=["m"], limits=RelayLimits(),
        ... )
        >>> request.model, request.messages
        ('m', [{'role': 'user', 'content': 'Hi'}])
    """
    if len(body) > limits.max_body_bytes:
        raise RelayRequestError(
            413, f"the request body is {len(body):,} bytes; the limit is {limits.max_body_bytes:,}"
        )
    try:
        data = json.loads(body)
    except ValueError:
        raise RelayRequestError(400, "the request body must be JSON") from None
    if not isinstance(data, dict):
        raise RelayRequestError(400, 'the request body must be a JSON object: {"messages": [...]}')
    model = data.get("model")
    if model is None:
        model = models[0]
    elif not isinstance(model, str) or model not in models:
        offered = ", ".join(repr(m) for m in models)
        raise RelayRequestError(
            400, f"model {model!r} is not offered here; choose one of {offered}"
        )
    return RelayRequest(_messages(data.get("messages"), limits), model)


def _messages(raw: object, limits: RelayLimits) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise RelayRequestError(
            400, "'messages' must be a non-empty list of {role, content} objects"
        )
    if len(raw) > limits.max_messages:
        raise RelayRequestError(
            413, f"{len(raw)} messages; the limit is {limits.max_messages} per request"
        )
    messages: list[dict[str, Any]] = []
    for index, message in enumerate(raw):
        role = message.get("role") if isinstance(message, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if role not in _ROLES:
            raise RelayRequestError(
                400,
                f"messages[{index}].role must be 'user' or 'assistant' (the system prompt "
                "is the server's)",
            )
        if not isinstance(content, str):
            raise RelayRequestError(400, f"messages[{index}].content must be a string")
        if len(content) > limits.max_message_chars:
            raise RelayRequestError(
                413,
                f"messages[{index}] has {len(content):,} characters; the limit is "
                f"{limits.max_message_chars:,}",
            )
        messages.append({"role": role, "content": content})
    if messages[-1]["role"] != "user":
        raise RelayRequestError(400, "the last message must be the user's")
    return messages
