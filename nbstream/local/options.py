"""Validate a request: the chat or Responses body and its ``"nbstream"`` options.

Chat completion requests and Responses API requests are read into one
:class:`ChatRequest`. Everything a client can get wrong is caught here and reported as
:class:`RequestError` (HTTP 400) with a message that names the offending field, before any
byte is streamed. :mod:`nbstream.local.plan` then turns the request into the reply.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast, get_args

from nbstream.local.faults import FAULTS, Fault
from nbstream.local.model import MODEL
from nbstream.local.replay import Replay, parse_replay
from nbstream.local.tools import ToolCall, ToolOffer, parse_tools
from nbstream.local.validation import RequestError, flag, is_int, matching, non_empty_list

__all__ = [
    "FINISH_REASONS",
    "MAX_ANSWER_TOKENS",
    "MAX_DELAY",
    "REASONING_FORMATS",
    "ChatRequest",
    "FinishReason",
    "LocalOptions",
    "ReasoningFormat",
    "RequestError",
    "json_object",
    "parse_options",
    "parse_request",
    "parse_responses_request",
    "request_model",
]

MAX_ANSWER_TOKENS = 1_000_000
"""The most tokens ``answer_tokens`` may ask for (a few MB of text)."""

MAX_DELAY = 300.0
"""The longest ``first_token_delay`` accepted, in seconds: a typo must not hang a test."""

ReasoningFormat = Literal["reasoning_content", "reasoning", "think"]
"""How reasoning is streamed: in ``delta.reasoning_content`` (DeepSeek, vLLM), in
``delta.reasoning`` (OpenRouter, Ollama), or inside ``delta.content`` between ``<think>``
and ``</think>`` (llama.cpp and Qwen servers that do not parse it out)."""
REASONING_FORMATS: tuple[ReasoningFormat, ...] = get_args(ReasoningFormat)

FinishReason = Literal["stop", "length", "content_filter"]
"""The finish reasons a request may force with ``"finish_reason"``."""
FINISH_REASONS: tuple[FinishReason, ...] = get_args(FinishReason)

# OpenAI's rule for function names, but starting like an identifier.
_TOOL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")

_MISSING: Any = object()

_Choice = TypeVar("_Choice", bound=str)  # one of an option's allowed values


@dataclass(frozen=True)
class LocalOptions:
    """The per-request ``"nbstream"`` options (``extra_body={"nbstream": {...}}``).

    ``None`` means "not given": the server's own setting applies.

    - ``fault``, ``fault_after``: a fault to inject (see :mod:`nbstream.local.faults`).
    - ``tokens_per_second``, ``first_token_delay``: pacing for this request.
    - ``text`` or ``answer_tokens``: this exact answer, or a long one of that many tokens.
    - ``reasoning``: a string, or ``true`` for :func:`~nbstream.local.model.default_reasoning`;
      streamed before the answer, in the ``reasoning_format`` field (see
      :data:`ReasoningFormat`; ``"reasoning_content"`` by default).
    - ``tool_calls``: ``[{"name": ..., "arguments": {...} or "..."}, ...]``, made instead
      of whatever the model would do itself (call the tools the request offers, or
      answer their results; see :mod:`nbstream.local.plan`); the reply then has no
      answer text unless ``text`` or ``answer_tokens`` asks for one, and ends with
      finish reason ``"tool_calls"``.
    - ``finish_reason``: the final finish reason, whatever happened (see :data:`FinishReason`).
    - ``replay``: answer with these exact bytes instead of the model's reply: a recorded
      provider transcript, cut into pieces at given byte offsets (see
      :mod:`nbstream.local.replay`). It replaces the whole reply, so it comes alone.
    """

    fault: Fault | None = None
    fault_after: int | None = None
    tokens_per_second: float | None = None
    first_token_delay: float | None = None
    answer_tokens: int | None = None
    text: str | None = None
    reasoning: str | Literal[True] | None = None
    reasoning_format: ReasoningFormat | None = None
    tool_calls: tuple[ToolCall, ...] | None = None
    finish_reason: FinishReason | None = None
    replay: Replay | None = None


@dataclass(frozen=True)
class ChatRequest:
    """The parts of a request the local model uses.

    A Responses API request (``POST /v1/responses``) is read into the same shape: its
    ``instructions`` and ``input`` as ``messages`` (in the chat shape), ``max_output_tokens``
    as ``max_tokens``. ``tools`` holds the tools offered, ``tool_choice`` and
    ``parallel_tool_calls`` (see :mod:`nbstream.local.tools`).
    """

    messages: list[dict[str, Any]]
    model: str = MODEL
    stream: bool = False
    include_usage: bool = False
    max_tokens: int | None = None
    options: LocalOptions = field(default_factory=LocalOptions)
    tools: ToolOffer = field(default_factory=ToolOffer)


def parse_request(body: bytes) -> ChatRequest:
    """Parse and validate a chat completion request body (``POST /v1/chat/completions``).

    Raises:
        RequestError: The body is not JSON, or a field is missing or of the wrong kind.
    """
    data = json_object(body)

    messages = non_empty_list(data, "messages", of="{role, content}")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise RequestError(
                f"messages[{index}] must be an object with a string 'role'.",
                param=f"messages[{index}]",
            )

    stream_options = data.get("stream_options") or {}
    if not isinstance(stream_options, dict):
        raise RequestError("'stream_options' must be an object.", param="stream_options")
    include_usage = flag(
        stream_options, "include_usage", default=False, param="stream_options.include_usage"
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
        model=request_model(data),
        stream=flag(data, "stream", default=False),
        include_usage=include_usage,
        max_tokens=min(given) if given else None,
        options=parse_options(_nbstream_options(data)),
        tools=parse_tools(data, "chat"),
    )


def parse_responses_request(body: bytes) -> ChatRequest:
    """Parse and validate a Responses API request body (``POST /v1/responses``).

    ``instructions`` and ``input`` become the chat messages the model answers: a string
    input is one user message; input items with a ``role`` are messages (their
    ``input_text`` parts are their text); a ``function_call`` item is an assistant message
    with that tool call, and a ``function_call_output`` item the ``tool`` message that
    answers it, as chat completions write them; other items are ignored.
    ``max_output_tokens`` caps the reply like ``max_tokens``.

    Raises:
        RequestError: The body is not JSON, or a field is missing or of the wrong kind.
    """
    data = json_object(body)
    messages: list[dict[str, Any]] = []

    instructions = data.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise RequestError("'instructions' must be a string.", param="instructions")
    if instructions:
        messages.append({"role": "system", "content": instructions})

    raw_input = data.get("input")
    if isinstance(raw_input, str) and raw_input:
        messages.append({"role": "user", "content": raw_input})
    elif isinstance(raw_input, list) and raw_input:
        for index, item in enumerate(raw_input):
            if not isinstance(item, dict):
                raise RequestError(f"input[{index}] must be an object.", param=f"input[{index}]")
            if isinstance(item.get("role"), str):
                messages.append({"role": item["role"], "content": item.get("content")})
            elif item.get("type") in _TOOL_ITEMS:
                messages.append(_TOOL_ITEMS[item["type"]](item))
    else:
        raise RequestError(
            "'input' is required: a non-empty string, or a non-empty list of input items.",
            param="input",
        )

    return ChatRequest(
        messages=messages,
        model=request_model(data),
        stream=flag(data, "stream", default=False),
        max_tokens=_positive_int(data, "max_output_tokens", default=None),
        options=parse_options(data.get("nbstream")),
        tools=parse_tools(data, "responses"),
    )


def _call_message(item: Mapping[str, Any]) -> dict[str, Any]:
    """A ``function_call`` input item as the assistant message that makes the call."""
    function = {"name": item.get("name"), "arguments": item.get("arguments")}
    call = {"id": item.get("call_id"), "type": "function", "function": function}
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def _output_message(item: Mapping[str, Any]) -> dict[str, Any]:
    """A ``function_call_output`` input item as the ``tool`` message that answers the call."""
    return {"role": "tool", "tool_call_id": item.get("call_id"), "content": item.get("output")}


# The Responses API's input items about tool calls, and the chat message each one is.
_TOOL_ITEMS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "function_call": _call_message,
    "function_call_output": _output_message,
}


def _nbstream_options(data: Mapping[str, Any]) -> object:
    """The request's ``nbstream`` options: at the top level (``extra_body``), or in
    ``metadata`` for SDKs that send nothing else (``mistralai``)."""
    options = data.get("nbstream")
    metadata = data.get("metadata")
    if options is None and isinstance(metadata, dict):
        options = metadata.get("nbstream")
    return options


def json_object(body: bytes) -> dict[str, Any]:
    """A request body as a JSON object; :class:`RequestError` when it is not one."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RequestError("The request body must be a JSON object.")
    return data


def request_model(data: Mapping[str, Any]) -> str:
    """The request's ``model`` (the local model's name when none is given)."""
    model = data.get("model", MODEL)
    if not isinstance(model, str) or not model:
        raise RequestError("'model' must be a non-empty string.", param="model")
    return model


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

    if raw.get("replay") is not None:
        return _replay_only(raw)

    fault = raw.get("fault")
    if fault is not None and fault not in FAULTS:
        raise RequestError(
            f"Unknown fault {fault!r}; expected one of: {', '.join(FAULTS)} (or null).",
            param="nbstream.fault",
        )

    text, answer_tokens = _answer(raw)

    fault_after = raw.get("fault_after")
    if fault_after is not None and (not is_int(fault_after) or fault_after < 0):
        raise RequestError(
            "'nbstream.fault_after' must be an integer >= 0.", param="nbstream.fault_after"
        )

    reasoning = raw.get("reasoning")
    if not (reasoning is None or reasoning is True or (isinstance(reasoning, str) and reasoning)):
        raise RequestError(
            "'nbstream.reasoning' must be a non-empty string, or true for the model's own.",
            param="nbstream.reasoning",
        )
    reasoning_format = _one_of(raw, "reasoning_format", REASONING_FORMATS)
    if reasoning_format is not None and reasoning is None:
        raise RequestError(
            "'nbstream.reasoning_format' needs 'nbstream.reasoning' (a string, or true).",
            param="nbstream.reasoning_format",
        )

    finish_reason = _one_of(raw, "finish_reason", FINISH_REASONS)

    return LocalOptions(
        fault=cast("Fault | None", fault),
        fault_after=fault_after,
        tokens_per_second=_seconds_or_rate(raw, "tokens_per_second", upper=math.inf),
        first_token_delay=_seconds_or_rate(raw, "first_token_delay", upper=MAX_DELAY),
        answer_tokens=answer_tokens,
        text=text,
        reasoning=reasoning,
        reasoning_format=reasoning_format,
        tool_calls=_tool_calls(raw.get("tool_calls")),
        finish_reason=finish_reason,
    )


def _one_of(raw: Mapping[str, Any], name: str, values: tuple[_Choice, ...]) -> _Choice | None:
    """The option ``name``, which must be one of ``values`` (or null, or not given)."""
    value = raw.get(name)
    if value is not None and value not in values:
        raise RequestError(
            f"'nbstream.{name}' must be one of: {', '.join(values)} (or null); got {value!r}.",
            param=f"nbstream.{name}",
        )
    return cast("_Choice | None", value)


def _answer(raw: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """The ``text`` and ``answer_tokens`` options; at most one of them is given."""
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
    return text, answer_tokens


def _replay_only(raw: Mapping[str, Any]) -> LocalOptions:
    # A replay is the whole response; a fault or a text next to it could only be ignored,
    # and a silently ignored option makes a test pass for the wrong reason.
    others = sorted(key for key, value in raw.items() if key != "replay" and value is not None)
    if others:
        raise RequestError(
            "'nbstream.replay' is the whole response, so it cannot be combined with"
            f" other nbstream options; got {others[0]!r} too.",
            param=f"nbstream.{others[0]}",
        )
    return LocalOptions(replay=parse_replay(raw["replay"]))


def _tool_calls(raw: object) -> tuple[ToolCall, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw:
        raise RequestError(
            "'nbstream.tool_calls' must be a non-empty list of {name, arguments} objects.",
            param="nbstream.tool_calls",
        )
    calls: list[ToolCall] = []
    for index, call in enumerate(raw):
        where = f"nbstream.tool_calls[{index}]"
        if not isinstance(call, dict):
            raise RequestError(
                f"'{where}' must be an object with 'name' and 'arguments'.", param=where
            )
        unknown = sorted(set(call).difference({"name", "arguments"}))
        if unknown:
            raise RequestError(
                f"Unknown key {unknown[0]!r} in '{where}'; expected 'name' and 'arguments'.",
                param=f"{where}.{unknown[0]}",
            )
        name = matching(
            call.get("name"),
            _TOOL_NAME,
            param=f"{where}.name",
            rule="a function name: a letter or '_', then up to 63 letters, digits, '_' or '-'",
        )
        arguments = call.get("arguments", {})
        if isinstance(arguments, dict):
            arguments = json.dumps(arguments)
        elif not isinstance(arguments, str):
            raise RequestError(
                f"'{where}.arguments' must be an object (sent as JSON) or a string.",
                param=f"{where}.arguments",
            )
        calls.append(ToolCall(name=name, arguments=arguments))
    return tuple(calls)


def _positive_int(
    data: Mapping[str, Any], name: str, *, default: int | None, prefix: str = ""
) -> int | None:
    value = data.get(name)
    if value is None:
        return default
    if not is_int(value) or value < 1:
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
