"""LangChain chat model streams (``model.stream(...)`` / ``astream``) → typed events.

Pure, and no ``langchain`` import. Each item is an ``AIMessageChunk`` (or a whole
``AIMessage`` from ``invoke``), whichever provider's integration made it::

    content: str                         → text
    content: [blocks]                    → text blocks as text; thinking (Anthropic),
                                           reasoning (LangChain's standard blocks, or
                                           OpenAI's summaries) as reasoning
    additional_kwargs.reasoning_content  → reasoning (DeepSeek, Ollama, vLLM)
    tool_call_chunks (whole tool_calls)  → tool calls
    usage_metadata                       → usage; LangChain adds chunks' counts up when
                                           it merges them, so they are summed here too
    response_metadata                    → the finish reason: finish_reason (OpenAI,
                                           Gemini, Mistral), stop_reason (Anthropic) or
                                           done_reason (Ollama)
"""

from __future__ import annotations

import json

from nbstream.events import Event, Finish, ReasoningDelta, TextDelta, ToolCallDelta, Usage
from nbstream.sources.anthropic_events import STOP_REASONS
from nbstream.sources.fields import field
from nbstream.sources.sdk_objects import package_of

__all__ = ["LangChainParser", "is_langchain_message"]

_MESSAGES = frozenset({"AIMessageChunk", "AIMessage"})
# Providers' own finish reasons, as the chat API words them.
_REASONS = {
    **STOP_REASONS,
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "tool_call": "tool_calls",
}


def is_langchain_message(item: object) -> bool:
    """Whether ``item`` is a LangChain ``AIMessageChunk`` or ``AIMessage``."""
    return type(item).__name__ in _MESSAGES and package_of(item) == "langchain_core"


class LangChainParser:
    """One LangChain stream's message chunks → :data:`~nbstream.events.Event` values."""

    def __init__(self) -> None:
        self._usage = [0, 0, 0]
        self._calls = 0  # whole tool calls seen (an AIMessage's), for their indexes
        self._called = False
        self._finished = False

    @property
    def finished(self) -> bool:
        """Whether a chunk gave a finish reason."""
        return self._finished

    def feed(self, item: object) -> list[Event]:
        """Events for one message chunk."""
        events = self._content(field(item, "content"))
        kwargs = field(item, "additional_kwargs")
        reasoning = field(kwargs, "reasoning_content")
        if isinstance(reasoning, str) and reasoning:
            events.insert(0, ReasoningDelta(reasoning))
        events.extend(self._tool_calls(item))
        usage = self._add_usage(field(item, "usage_metadata"))
        if usage is not None:
            events.append(usage)
        reason = _finish_reason(field(item, "response_metadata"))
        if reason is not None:
            self._finished = True
            if reason == "stop" and self._called:
                reason = "tool_calls"
            events.append(Finish(reason))
        return events

    def _content(self, content: object) -> list[Event]:
        if isinstance(content, str):
            return [TextDelta(content)] if content else []
        events: list[Event] = []
        for block in content if isinstance(content, list) else ():
            if isinstance(block, str):
                events.append(TextDelta(block))
                continue
            kind = field(block, "type")
            if kind == "text" and isinstance(text := field(block, "text"), str) and text:
                events.append(TextDelta(text))
            elif kind in ("thinking", "reasoning") and (text := _reasoning_text(block)):
                events.append(ReasoningDelta(text))
        return events

    def _tool_calls(self, item: object) -> list[Event]:
        chunks = field(item, "tool_call_chunks")
        if isinstance(chunks, list) and chunks:
            self._called = True
            return [_chunk_delta(chunk, position) for position, chunk in enumerate(chunks)]
        calls = field(item, "tool_calls")
        if type(item).__name__ != "AIMessage" or not isinstance(calls, list):
            return []  # a chunk's tool_calls repeat its tool_call_chunks, parsed
        events: list[Event] = []
        for call in calls:
            self._called = True
            name, call_id = field(call, "name"), field(call, "id")
            events.append(
                ToolCallDelta(
                    index=self._calls,
                    id=call_id if isinstance(call_id, str) and call_id else None,
                    name=name if isinstance(name, str) else None,
                    arguments=json.dumps(field(call, "args") or {}),
                )
            )
            self._calls += 1
        return events

    def _add_usage(self, metadata: object) -> Usage | None:
        if metadata is None:
            return None
        counts = (
            field(metadata, "input_tokens"),
            field(metadata, "output_tokens"),
            field(metadata, "total_tokens"),
        )
        if not any(isinstance(count, int) for count in counts):
            return None
        for position, count in enumerate(counts):
            if isinstance(count, int):
                self._usage[position] += count
        prompt, completion, total = self._usage
        return Usage(prompt, completion, total or prompt + completion)


def _reasoning_text(block: object) -> str:
    for name in ("thinking", "reasoning", "text"):
        value = field(block, name)
        if isinstance(value, str) and value:
            return value
    summary = field(block, "summary")  # OpenAI's Responses API, through ChatOpenAI
    if isinstance(summary, list):
        return "".join(t for part in summary if isinstance(t := field(part, "text"), str))
    return ""


def _chunk_delta(chunk: object, position: int) -> ToolCallDelta:
    index, name = field(chunk, "index"), field(chunk, "name")
    call_id, args = field(chunk, "id"), field(chunk, "args")
    return ToolCallDelta(
        index=index if isinstance(index, int) else position,
        id=call_id if isinstance(call_id, str) and call_id else None,
        name=name if isinstance(name, str) and name else None,
        arguments=args if isinstance(args, str) else "",
    )


def _finish_reason(metadata: object) -> str | None:
    for name in ("finish_reason", "stop_reason", "done_reason"):
        reason = field(metadata, name)
        reason = getattr(reason, "value", reason)  # an SDK's enum
        if isinstance(reason, str) and reason:
            return _REASONS.get(reason, reason.lower())
    return None
