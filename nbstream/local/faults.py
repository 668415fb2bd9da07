"""Faults the local server injects on request, and what each one looks like on the wire.

A client asks for one per request with ``extra_body={"nbstream": {"fault": ...}}``:

- ``"error"``: after ``fault_after`` tokens, an error event ends the stream
  (the OpenAI SDK raises ``openai.APIError``).
- ``"http_401"``: HTTP 401 with OpenAI's ``invalid_api_key`` error
  (``openai.AuthenticationError``), as a wrong or revoked key gets.
- ``"http_429"``: HTTP 429 with ``retry-after: 0`` (``openai.RateLimitError``).
- ``"http_500"``: HTTP 500 (``openai.InternalServerError``).
- ``"drop"``: after ``fault_after`` tokens the connection is cut in the middle of the
  chunked body (``openai.APIConnectionError``).
- ``"malformed_json"``: after ``fault_after`` tokens, a ``data:`` line that is not JSON
  (:data:`MALFORMED_EVENT`) ends the stream, as a broken proxy might send (the SDK raises
  ``json.JSONDecodeError``).
- ``"slow_first_token"``: the first token waits ``first_token_delay`` seconds
  (:data:`SLOW_FIRST_TOKEN_DELAY` unless given), then the stream runs normally.

Without streaming, ``"error"`` becomes an HTTP 500 carrying the same error, ``"drop"``
closes the connection before any response, ``"malformed_json"`` answers 200 with a body
that is not JSON (:data:`MALFORMED_BODY`) and ``"slow_first_token"`` delays the reply.

The same faults apply to ``POST /v1/responses``, where ``"error"`` is the Responses API's
``error`` event (see :func:`injected_error`).

``fault_after`` counts every streamed token: reasoning and tool call pieces as well as
answer text, so a fault can strike while the model is still reasoning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from nbstream.local.wire import JSON, error_body

__all__ = [
    "FAULTS",
    "INJECTED_CODE",
    "MALFORMED_BODY",
    "MALFORMED_EVENT",
    "MID_STREAM_FAULTS",
    "SLOW_FIRST_TOKEN_DELAY",
    "Fault",
    "HTTPFault",
    "default_fault_after",
    "http_fault",
    "injected_error",
]

Fault = Literal[
    "error", "http_401", "http_429", "http_500", "drop", "malformed_json", "slow_first_token"
]
FAULTS: tuple[Fault, ...] = get_args(Fault)

MID_STREAM_FAULTS: frozenset[Fault] = frozenset({"error", "drop", "malformed_json"})
"""Faults that strike after ``fault_after`` tokens have been sent."""

SLOW_FIRST_TOKEN_DELAY = 2.0
"""Seconds before the first token under ``"slow_first_token"``, unless the request says."""

INJECTED_CODE = "nbstream_injected"
"""The ``code`` of the errors this module makes, so nobody mistakes them for real ones.

``"http_401"`` is the exception: it sends OpenAI's own ``invalid_api_key`` code, which
clients look for to tell a bad key from other failures; its message says it was injected.
"""

MALFORMED_EVENT = b"data: {not json\n\n"
"""What ``"malformed_json"`` sends mid-stream: an event whose data is cut-off JSON."""

MALFORMED_BODY = b"{not json"
"""What ``"malformed_json"`` sends instead of a whole (non-streamed) completion."""


def default_fault_after(n_tokens: int) -> int:
    """Where a mid-stream fault strikes by default: a third of the way through."""
    return n_tokens // 3


def injected_error() -> JSON:
    """The error event sent mid-stream by the ``"error"`` fault."""
    return error_body(
        "The nbstream local model failed mid-stream, as requested (fault 'error').",
        error_type="server_error",
        code=INJECTED_CODE,
    )


@dataclass(frozen=True)
class HTTPFault:
    """An error response sent instead of a completion."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: JSON


def http_fault(fault: Fault | None, *, stream: bool) -> HTTPFault | None:
    """The error response ``fault`` calls for, or None if it does not replace the reply."""
    if fault == "http_401":
        return HTTPFault(
            status=401,
            headers=(),
            # OpenAI's body for a bad key, without echoing the key (OpenAI shows a masked
            # one): nothing secret should ever travel back, even on loopback.
            body=error_body(
                "Incorrect API key provided (refused by the nbstream local model, as"
                " requested: fault 'http_401'). You can find your API key at"
                " https://platform.openai.com/account/api-keys.",
                error_type="invalid_request_error",
                code="invalid_api_key",
            ),
        )
    if fault == "http_429":
        return HTTPFault(
            status=429,
            # retry-after: 0 lets the SDK's retries (if any) run at once, which keeps
            # demos and tests fast while still exercising the retry path.
            headers=(("retry-after", "0"),),
            body=error_body(
                "Rate limit reached for the nbstream local model, as requested (fault 'http_429').",
                error_type="rate_limit_error",  # what OpenAI sends with a 429
                code=INJECTED_CODE,
            ),
        )
    if fault == "http_500" or (fault == "error" and not stream):
        return HTTPFault(
            status=500,
            headers=(),
            body=error_body(
                f"The nbstream local model failed, as requested (fault {fault!r}).",
                error_type="server_error",
                code=INJECTED_CODE,
            ),
        )
    return None
