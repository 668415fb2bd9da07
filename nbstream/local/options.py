"""Validate a request and plan the reply: which tokens, how fast, which fault.

Chat completion requests and Responses API requests are read into one
:class:`ChatRequest`. Everything a client can get wrong is caught here and reported as
:class:`RequestError` (HTTP 400) with a message that names the offending field, before any
byte is streamed.

A reply is one sequence of :class:`~nbstream.local.model.Token`: the reasoning (if
asked for), then the answer text, then the tool calls (if asked for). Every token is
one streamed delta and one count in ``usage.completion_tokens``, whatever its kind, so
pacing (``tokens_per_second``, ``first_token_delay``), faults (``fault_after``) and
``max_tokens`` all count through the reasoning, the answer and the tool calls together,
as they would on a real reasoning model: a fault may strike while the model is still
thinking.

A request whose options hold ``"replay"`` gets no plan: the server sends the given
transcript instead (see :mod:`nbstream.local.replay`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast, get_args

from nbstream.local.faults import (
    FAULTS,
    MID_STREAM_FAULTS,
    SLOW_FIRST_TOKEN_DELAY,
    Fault,
    default_fault_after,
)
from nbstream.local.model import (
    MODEL,
    Token,
    answer,
    default_reasoning,
    long_answer,
    prompt_tokens,
    tokenize,
)
from nbstream.local.replay import Replay, parse_replay
from nbstream.local.validation import RequestError, is_int

__all__ = [
    "FINISH_REASONS",
    "MAX_ANSWER_TOKENS",
    "MAX_DELAY",
    "REASONING_FORMATS",
    "ChatRequest",
    "FinishReason",
    "LocalOptions",
    "Plan",
    "ReasoningFormat",
    "RequestError",
    "ToolCall",
    "make_plan",
    "parse_options",
    "parse_request",
    "parse_responses_request",
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
class ToolCall:
    """A function call the reply makes: one item of the ``"tool_calls"`` option."""

    name: str
    arguments: str
    """The arguments as sent: the given string, or the given object as ``json.dumps`` makes it."""


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
    - ``tool_calls``: ``[{"name": ..., "arguments": {...} or "..."}, ...]``; the reply
      then has no answer text unless ``text`` or ``answer_tokens`` asks for one, and
      ends with finish reason ``"tool_calls"``.
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
    ``instructions`` and ``input`` as ``messages``, ``max_output_tokens`` as ``max_tokens``.
    """

    messages: list[dict[str, Any]]
    model: str = MODEL
    stream: bool = False
    include_usage: bool = False
    max_tokens: int | None = None
    options: LocalOptions = field(default_factory=LocalOptions)


@dataclass(frozen=True)
class Plan:
    """What to send in reply to one request, resolved against the server's settings."""

    tokens: list[Token]  # reasoning, answer, tool calls: one delta each
    finish_reason: str  # "stop", "length" (cut by max_tokens), "tool_calls" or as asked
    prompt_tokens: int
    tokens_per_second: float  # 0: as fast as possible
    first_token_delay: float
    fault: Fault | None
    fault_after: int  # tokens sent before a mid-stream fault strikes
    reasoning_field: str | None = None  # the delta field of reasoning; None: in content
    has_reasoning: bool = False  # usage then reports completion_tokens_details
    null_content: bool = False  # a reply of tool calls only: "content" is null

    @property
    def reasoning_tokens(self) -> int:
        """How many of the tokens are reasoning (including ``<think>`` tags)."""
        return sum(1 for token in self.tokens if token.kind == "reasoning")


def parse_request(body: bytes) -> ChatRequest:
    """Parse and validate a chat completion request body (``POST /v1/chat/completions``).

    Raises:
        RequestError: The body is not JSON, or a field is missing or of the wrong kind.
    """
    data = _json_object(body)

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
        model=_model(data),
        stream=_stream(data),
        include_usage=include_usage,
        max_tokens=min(given) if given else None,
        options=parse_options(data.get("nbstream")),
    )


def parse_responses_request(body: bytes) -> ChatRequest:
    """Parse and validate a Responses API request body (``POST /v1/responses``).

    ``instructions`` and ``input`` become the chat messages the model answers: a string
    input is one user message; input items with a ``role`` are messages (their
    ``input_text`` parts are their text); ``function_call`` items count as earlier tool
    calls; other items are ignored. ``max_output_tokens`` caps the reply like ``max_tokens``.

    Raises:
        RequestError: The body is not JSON, or a field is missing or of the wrong kind.
    """
    data = _json_object(body)
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
            elif item.get("type") == "function_call":
                messages.append({"role": "assistant", "tool_calls": [item]})
    else:
        raise RequestError(
            "'input' is required: a non-empty string, or a non-empty list of input items.",
            param="input",
        )

    return ChatRequest(
        messages=messages,
        model=_model(data),
        stream=_stream(data),
        max_tokens=_positive_int(data, "max_output_tokens", default=None),
        options=parse_options(data.get("nbstream")),
    )


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RequestError("The request body must be a JSON object.")
    return data


def _model(data: Mapping[str, Any]) -> str:
    model = data.get("model", MODEL)
    if not isinstance(model, str) or not model:
        raise RequestError("'model' must be a non-empty string.", param="model")
    return model


def _stream(data: Mapping[str, Any]) -> bool:
    stream = data.get("stream", False)
    if not isinstance(stream, bool) and stream is not None:
        raise RequestError("'stream' must be a boolean.", param="stream")
    return bool(stream)


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
        name = call.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.fullmatch(name):
            raise RequestError(
                f"'{where}.name' must be a function name: a letter or '_', then up to 63"
                f" letters, digits, '_' or '-'; got {name!r}.",
                param=f"{where}.name",
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


def make_plan(request: ChatRequest, *, tokens_per_second: float, first_token_delay: float) -> Plan:
    """Resolve a request against the server's pacing into the exact reply to send.

    ``max_tokens``, ``fault_after`` and the pacing count every token of the reply, be it
    reasoning, answer or tool call (see the module's docstring).
    """
    options = request.options
    think = options.reasoning_format == "think"
    tokens = _reply_tokens(request)
    # Decided before any cut: a reply meant to be only tool calls has null content.
    null_content = (
        options.tool_calls is not None
        and not think
        and not any(token.kind == "content" for token in tokens)
    )
    finish_reason = "stop" if options.tool_calls is None else "tool_calls"
    if request.max_tokens is not None and len(tokens) > request.max_tokens:
        tokens = tokens[: request.max_tokens]
        finish_reason = "length"
    if options.finish_reason is not None:
        finish_reason = options.finish_reason

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
        reasoning_field=(
            None
            if options.reasoning is None or think
            else options.reasoning_format or "reasoning_content"
        ),
        has_reasoning=options.reasoning is not None,
        null_content=null_content,
    )


def _reply_tokens(request: ChatRequest) -> list[Token]:
    """Every token of the reply, uncut: reasoning, answer text, tool calls."""
    options = request.options
    if options.text is not None:
        text = options.text
    elif options.answer_tokens is not None:
        text = long_answer(options.answer_tokens)
    elif options.tool_calls is not None:
        text = ""  # a model that calls tools usually says nothing
    else:
        text = answer(request.messages)

    reasoning = options.reasoning
    if reasoning is True:
        reasoning = default_reasoning(request.messages)
    if reasoning is None:
        tokens = [Token(piece) for piece in tokenize(text)]
    elif options.reasoning_format == "think":
        tokens = _think(reasoning, text)
    else:
        tokens = [Token(piece, "reasoning") for piece in tokenize(reasoning)]
        tokens.extend(Token(piece) for piece in tokenize(text))

    # Ids count on from the calls already in the conversation, so they never repeat in it.
    first = 1 + _earlier_tool_calls(request.messages)
    for index, call in enumerate(options.tool_calls or ()):
        tokens.append(Token(call.name, "tool_call", call=index, call_id=f"call_{first + index}"))
        tokens.extend(Token(piece, "arguments", call=index) for piece in tokenize(call.arguments))
    return tokens


def _think(reasoning: str, text: str) -> list[Token]:
    """Reasoning inside the content, as ``<think>...</think>``, tokenized with the answer.

    The tags are split across tokens like any other text (``"<"``, ``"think"``, ``">"``).
    Tokens that begin inside the ``<think>`` block count as reasoning.
    """
    block = f"<think>{reasoning}</think>\n\n"
    tokens: list[Token] = []
    start = 0
    for piece in tokenize(block + text):
        tokens.append(Token(piece, "reasoning" if start < len(block) else "content"))
        start += len(piece)
    return tokens


def _earlier_tool_calls(messages: Sequence[Mapping[str, Any]]) -> int:
    """How many tool calls the assistant made in earlier turns of the conversation."""
    return sum(
        len(message["tool_calls"])
        for message in messages
        if message.get("role") == "assistant" and isinstance(message.get("tool_calls"), list)
    )


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
