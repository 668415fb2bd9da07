"""Validate a chat completion request and plan the reply: which tokens, how fast, which fault.

Everything a client can get wrong is caught here and reported as :class:`RequestError`
(HTTP 400) with a message that names the offending field, before any byte is streamed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from nbstream.local.faults import (
    FAULTS,
    MID_STREAM_FAULTS,
    SLOW_FIRST_TOKEN_DELAY,
    Fault,
    default_fault_after,
)
from nbstream.local.model import MODEL, answer, long_answer, prompt_tokens, tokenize

__all__ = [
    "MAX_ANSWER_TOKENS",
    "MAX_DELAY",
    "ChatRequest",
    "LocalOptions",
    "Plan",
    "RequestError",
    "make_plan",
    "parse_options",
    "parse_request",
]

MAX_ANSWER_TOKENS = 1_000_000
"""The most tokens ``answer_tokens`` may ask for (a few MB of text)."""

MAX_DELAY = 300.0
"""The longest ``first_token_delay`` accepted, in seconds: a typo must not hang a test."""

_MISSING: Any = object()


class RequestError(ValueError):
    """A request the server refuses with HTTP 400; ``param`` names the field at fault."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True)
class LocalOptions:
    """The per-request ``"nbstream"`` options (``extra_body={"nbstream": {...}}``).

    ``None`` means "not given": the server's own setting applies.
    """

    fault: Fault | None = None
    fault_after: int | None = None
    tokens_per_second: float | None = None
    first_token_delay: float | None = None
    answer_tokens: int | None = None
    text: str | None = None


@dataclass(frozen=True)
class ChatRequest:
    """The parts of a ``POST /v1/chat/completions`` body the local model uses."""

    messages: list[dict[str, Any]]
    model: str = MODEL
    stream: bool = False
    include_usage: bool = False
    max_tokens: int | None = None
    options: LocalOptions = field(default_factory=LocalOptions)


@dataclass(frozen=True)
class Plan:
    """What to send in reply to one request, resolved against the server's settings."""

    tokens: list[str]
    finish_reason: str  # "stop", or "length" when max_tokens cut the answer
    prompt_tokens: int
    tokens_per_second: float  # 0: as fast as possible
    first_token_delay: float
    fault: Fault | None
    fault_after: int  # tokens sent before a mid-stream fault strikes

    @property
    def text(self) -> str:
        """The whole reply text."""
        return "".join(self.tokens)


def parse_request(body: bytes) -> ChatRequest:
    """Parse and validate a chat completion request body.

    Raises:
        RequestError: The body is not JSON, or a field is missing or of the wrong kind.
    """
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RequestError("The request body must be a JSON object.")

    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError(
            "'messages' is required: a non-empty list of {role, content} objects.",
            param="messages",
        )
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise RequestError(
                f"messages[{index}] must be an object with a string 'role'.",
                param=f"messages[{index}]",
            )

    model = data.get("model", MODEL)
    if not isinstance(model, str) or not model:
        raise RequestError("'model' must be a non-empty string.", param="model")

    stream = data.get("stream", False)
    if not isinstance(stream, bool) and stream is not None:
        raise RequestError("'stream' must be a boolean.", param="stream")

    stream_options = data.get("stream_options") or {}
    if not isinstance(stream_options, dict):
        raise RequestError("'stream_options' must be an object.", param="stream_options")
    include_usage = stream_options.get("include_usage", False)
    if not isinstance(include_usage, bool):
        raise RequestError(
            "'stream_options.include_usage' must be a boolean.",
            param="stream_options.include_usage",
        )

    n = data.get("n", 1)
    if n not in (1, None):
        raise RequestError("The nbstream local model only supports n=1.", param="n")

    # max_completion_tokens is the newer name; when both are given the smaller wins.
    limits = [
        _positive_int(data, name, default=None) for name in ("max_tokens", "max_completion_tokens")
    ]
    given = [limit for limit in limits if limit is not None]

    return ChatRequest(
        messages=cast("list[dict[str, Any]]", messages),
        model=model,
        stream=bool(stream),
        include_usage=include_usage,
        max_tokens=min(given) if given else None,
        options=parse_options(data.get("nbstream")),
    )


def parse_options(raw: object) -> LocalOptions:
    """Validate the ``"nbstream"`` object of a request (``None`` means no options).

    Raises:
        RequestError: An unknown key, an unknown fault or a value of the wrong kind.
    """
    if raw is None:
        return LocalOptions()
    if not isinstance(raw, dict):
        raise RequestError("'nbstream' must be an object of options.", param="nbstream")
    known = sorted(LocalOptions.__dataclass_fields__)
    unknown = sorted(set(raw).difference(known))
    if unknown:
        raise RequestError(
            f"Unknown nbstream option {unknown[0]!r}; expected some of: {', '.join(known)}.",
            param=f"nbstream.{unknown[0]}",
        )

    fault = raw.get("fault")
    if fault is not None and fault not in FAULTS:
        raise RequestError(
            f"Unknown fault {fault!r}; expected one of: {', '.join(FAULTS)} (or null).",
            param="nbstream.fault",
        )

    text = raw.get("text")
    if text is not None and not isinstance(text, str):
        raise RequestError("'nbstream.text' must be a string.", param="nbstream.text")
    answer_tokens = _positive_int(raw, "answer_tokens", default=None, prefix="nbstream.")
    if answer_tokens is not None and answer_tokens > MAX_ANSWER_TOKENS:
        raise RequestError(
            f"'nbstream.answer_tokens' must be at most {MAX_ANSWER_TOKENS}.",
            param="nbstream.answer_tokens",
        )
    if text is not None and answer_tokens is not None:
        raise RequestError(
            "Give 'nbstream.text' or 'nbstream.answer_tokens', not both.", param="nbstream"
        )

    fault_after = raw.get("fault_after")
    if fault_after is not None and (not _is_int(fault_after) or fault_after < 0):
        raise RequestError(
            "'nbstream.fault_after' must be an integer >= 0.", param="nbstream.fault_after"
        )

    return LocalOptions(
        fault=cast("Fault | None", fault),
        fault_after=fault_after,
        tokens_per_second=_seconds_or_rate(raw, "tokens_per_second", upper=math.inf),
        first_token_delay=_seconds_or_rate(raw, "first_token_delay", upper=MAX_DELAY),
        answer_tokens=answer_tokens,
        text=text,
    )


def make_plan(request: ChatRequest, *, tokens_per_second: float, first_token_delay: float) -> Plan:
    """Resolve a request against the server's pacing into the exact reply to send."""
    options = request.options
    if options.text is not None:
        text = options.text
    elif options.answer_tokens is not None:
        text = long_answer(options.answer_tokens)
    else:
        text = answer(request.messages)
    tokens = tokenize(text)
    finish_reason = "stop"
    if request.max_tokens is not None and len(tokens) > request.max_tokens:
        tokens = tokens[: request.max_tokens]
        finish_reason = "length"

    delay = first_token_delay
    if options.first_token_delay is not None:
        delay = options.first_token_delay
    elif options.fault == "slow_first_token":
        delay = max(first_token_delay, SLOW_FIRST_TOKEN_DELAY)

    fault_after = len(tokens)
    if options.fault in MID_STREAM_FAULTS:
        wanted = options.fault_after
        fault_after = min(
            default_fault_after(len(tokens)) if wanted is None else wanted, len(tokens)
        )

    return Plan(
        tokens=tokens,
        finish_reason=finish_reason,
        prompt_tokens=prompt_tokens(request.messages),
        tokens_per_second=(
            tokens_per_second if options.tokens_per_second is None else options.tokens_per_second
        ),
        first_token_delay=delay,
        fault=options.fault,
        fault_after=fault_after,
    )


def _is_int(value: object) -> bool:
    # bool is an int subclass, but `true` is never a sensible count.
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_int(
    data: Mapping[str, Any], name: str, *, default: int | None, prefix: str = ""
) -> int | None:
    value = data.get(name)
    if value is None:
        return default
    if not _is_int(value) or value < 1:
        raise RequestError(f"'{prefix}{name}' must be an integer >= 1.", param=prefix + name)
    return cast("int", value)


def _seconds_or_rate(data: Mapping[str, Any], name: str, *, upper: float) -> float | None:
    """A non-negative number; an explicit null means 0 (no pacing / no delay)."""
    value = data.get(name, _MISSING)
    if value is _MISSING:
        return None
    if value is None:
        return 0.0
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not 0 <= value <= upper
    ):
        bound = f" and <= {upper:g}" if math.isfinite(upper) else ""
        raise RequestError(
            f"'nbstream.{name}' must be a number >= 0{bound} (or null).",
            param=f"nbstream.{name}",
        )
    return float(value)
