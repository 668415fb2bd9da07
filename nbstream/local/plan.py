"""Plan the reply to a request: which tokens, how fast, which fault.

A reply is one sequence of :class:`~nbstream.local.model.Token`: the reasoning (if
asked for), then the answer text, then the tool calls (if asked for). Every token is
one streamed delta and one count in ``usage.completion_tokens``, whatever its kind, so
pacing (``tokens_per_second``, ``first_token_delay``), faults (``fault_after``) and
``max_tokens`` all count through the reasoning, the answer and the tool calls together,
as they would on a real reasoning model: a fault may strike while the model is still
thinking.

What the reply says and calls is decided in this order:

1. the ``tool_calls`` option, when given, is the calls (and there is no text);
2. else a conversation that ends with tool results gets the model's answer to them, and
   no call (:mod:`nbstream.local.tool_results`);
3. else the calls the last user message asks for, from the tools the request offers
   (:mod:`nbstream.local.tool_calling`), with no text;
4. else the model's answer to the question (:func:`~nbstream.local.model.answer`).

The ``text`` and ``answer_tokens`` options then replace the text (the calls stay), and
``"reasoning": true`` is the model's own thinking about that turn.

The request has been validated already (see :mod:`nbstream.local.options`); a request
whose options hold ``"replay"`` gets no plan: the server sends the given transcript
instead (see :mod:`nbstream.local.replay`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nbstream.local.attachments import answer_attachments
from nbstream.local.faults import (
    MID_STREAM_FAULTS,
    SLOW_FIRST_TOKEN_DELAY,
    Fault,
    default_fault_after,
)
from nbstream.local.model import (
    Token,
    answer,
    default_reasoning,
    last_question,
    long_answer,
    prompt_tokens,
    tokenize,
)
from nbstream.local.options import ChatRequest
from nbstream.local.tool_calling import calling_reasoning, choose_calls
from nbstream.local.tool_results import answer_results, results_reasoning, tool_results
from nbstream.local.tools import ToolCall

__all__ = ["Plan", "make_plan"]


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


def make_plan(request: ChatRequest, *, tokens_per_second: float, first_token_delay: float) -> Plan:
    """Resolve a request against the server's pacing into the exact reply to send.

    ``max_tokens``, ``fault_after`` and the pacing count every token of the reply, be it
    reasoning, answer or tool call (see the module's docstring).
    """
    options = request.options
    think = options.reasoning_format == "think"
    turn = _turn(request)
    tokens = _reply_tokens(request, turn)
    # Decided before any cut: a reply meant to be only tool calls has null content.
    null_content = (
        bool(turn.calls) and not think and not any(token.kind == "content" for token in tokens)
    )
    finish_reason = "tool_calls" if turn.calls else "stop"
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


@dataclass(frozen=True)
class _Turn:
    """What the reply says and calls, before the options' text and reasoning apply."""

    text: str
    calls: tuple[ToolCall, ...]
    reasoning: str  # the model's own, for "reasoning": true


def _turn(request: ChatRequest) -> _Turn:
    """The ``tool_calls`` option's calls, or the model's own turn: it answers the tool
    results the conversation ends with, or describes the last user message's
    attachments (:mod:`nbstream.local.attachments`), or makes the calls that message asks
    for (see :mod:`nbstream.local.tool_calling`), or answers the question."""
    messages = request.messages
    if request.options.tool_calls is not None:
        # A model that calls tools usually says nothing.
        return _Turn("", request.options.tool_calls, default_reasoning(messages))
    results = tool_results(messages)
    if results:
        return _Turn(answer_results(results), (), results_reasoning(results))
    described = answer_attachments(messages)
    if described is not None:
        return _Turn(described, (), default_reasoning(messages))
    calls = choose_calls(last_question(messages), request.tools)
    if calls:
        return _Turn("", calls, calling_reasoning(calls))
    return _Turn(answer(messages), (), default_reasoning(messages))


def _reply_tokens(request: ChatRequest, turn: _Turn) -> list[Token]:
    """Every token of the reply, uncut: reasoning, answer text, tool calls."""
    options = request.options
    text = turn.text
    if options.text is not None:
        text = options.text
    elif options.answer_tokens is not None:
        text = long_answer(options.answer_tokens)

    reasoning = turn.reasoning if options.reasoning is True else options.reasoning
    if reasoning is None:
        tokens = [Token(piece) for piece in tokenize(text)]
    elif options.reasoning_format == "think":
        tokens = _think(reasoning, text)
    else:
        tokens = [Token(piece, "reasoning") for piece in tokenize(reasoning)]
        tokens.extend(Token(piece) for piece in tokenize(text))

    # Ids count on from the calls already in the conversation, so they never repeat in it.
    first = 1 + _earlier_tool_calls(request.messages)
    for index, call in enumerate(turn.calls):
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
