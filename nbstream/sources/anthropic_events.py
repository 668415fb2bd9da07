"""Anthropic Messages stream events → typed events (pure, no I/O, no ``anthropic`` import).

What ``client.messages.create(..., stream=True)`` yields, and what a ``MessageStream``
(``client.messages.stream(...)``) yields besides, as the SDK's models or as raw JSON::

    message_start          the message, with usage.input_tokens
    content_block_start    a block opens at `index`: text, thinking, tool_use, ...
    content_block_delta    text_delta → text, thinking_delta → reasoning,
                           input_json_delta → a tool call's arguments,
                           signature_delta and citations_delta → nothing
    content_block_stop     nothing
    message_delta          stop_reason → Finish, usage.output_tokens → Usage
    message_stop           the answer is whole
    error                  (raw JSON only: the SDK raises it) → StreamError

A whole ``Message`` (``create()`` without ``stream=True``) is read as one item: its
text, thinking and tool use blocks, usage and stop reason.

A ``MessageStream`` also yields its own convenience events (``text``, ``thinking``,
``input_json``, ``citation``, ``signature``) that repeat the deltas; they produce nothing,
so nothing is shown twice. Stop reasons read as the chat API's finish reasons, so the
footer says the same thing whichever provider answered.
"""

from __future__ import annotations

import json

from nbstream.errors import StreamError
from nbstream.events import Event, Finish, ReasoningDelta, TextDelta, ToolCallDelta, Usage
from nbstream.sources.fields import field

__all__ = ["RAW_EVENT_TYPES", "AnthropicParser", "is_anthropic_event", "is_whole_message"]

RAW_EVENT_TYPES = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
    }
)
"""The raw Messages stream events (``error`` aside, which other APIs share)."""

# What MessageStream adds on top of the raw events: the same content again.
_CONVENIENCE_EVENTS = frozenset({"text", "thinking", "input_json", "citation", "signature"})

STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
"""Anthropic's ``stop_reason`` → the chat API's ``finish_reason`` (others pass as they are)."""

_TOOL_BLOCKS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})


def is_anthropic_event(item: object) -> bool:
    """Whether ``item`` is a Messages stream event (raw, or a ``MessageStream`` extra), or
    a whole ``Message``.

    >>> is_anthropic_event({"type": "message_start", "message": {}})
    True
    >>> is_anthropic_event({"type": "response.output_text.delta"})
    False
    """
    kind = field(item, "type")
    return (
        kind in RAW_EVENT_TYPES
        or (kind in _CONVENIENCE_EVENTS and type(item).__module__.startswith("anthropic"))
        or is_whole_message(item)
    )


def is_whole_message(item: object) -> bool:
    """Whether ``item`` is a whole Messages API ``message`` (not streamed)."""
    return field(item, "type") == "message" and isinstance(field(item, "content"), list)


class AnthropicParser:
    """One Messages stream's events → :data:`~nbstream.events.Event` values.

    It remembers which content block is a tool call (tool calls are numbered 0, 1, …
    among the blocks) and the prompt's token count from ``message_start``, which
    ``message_delta`` does not repeat.

    >>> parser = AnthropicParser()
    >>> parser.feed({"type": "message_start", "message": {"usage": {"input_tokens": 9}}})
    []
    >>> parser.feed({"type": "content_block_start", "index": 0,
    ...              "content_block": {"type": "text", "text": ""}})
    []
    >>> parser.feed({"type": "content_block_delta", "index": 0,
    ...              "delta": {"type": "text_delta", "text": "Hi"}})
    [TextDelta(text='Hi', type='text')]
    >>> parser.feed({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
    ...              "usage": {"output_tokens": 1}})
    [Usage(prompt_tokens=9, completion_tokens=1, total_tokens=10, type='usage'), \
Finish(reason='stop', type='finish')]
    """

    def __init__(self) -> None:
        self._tool_of_block: dict[int, int] = {}
        self._prompt_tokens: int | None = None
        self._finished = False

    @property
    def finished(self) -> bool:
        """Whether the stream said the message is whole (a stop reason, or message_stop)."""
        return self._finished

    def feed(self, item: object) -> list[Event]:
        """Events for one stream event (often none)."""
        kind = field(item, "type")
        if kind == "content_block_delta":
            return self._delta(field(item, "index"), field(item, "delta"))
        if kind == "content_block_start":
            return self._block_start(field(item, "index"), field(item, "content_block"))
        if kind == "message_start":
            self._prompt_tokens = _input_tokens(field(field(item, "message"), "usage"))
        elif kind == "message_delta":
            return self._message_delta(item)
        elif kind == "message_stop":
            self._finished = True
        elif kind == "message":
            return self._whole(item)
        elif kind == "error":
            error = field(item, "error")
            message = field(error, "message") or "the server reported an error mid-stream"
            raise StreamError(f"{field(error, 'type') or 'error'}: {message}")
        return []  # ping, content_block_stop, MessageStream's convenience events

    def _whole(self, message: object) -> list[Event]:
        """A whole message, as the events of its stream would have said it."""
        self._prompt_tokens = _input_tokens(field(message, "usage"))
        events: list[Event] = []
        for index, block in enumerate(field(message, "content")):
            kind = field(block, "type")
            if kind == "thinking" and isinstance(thinking := field(block, "thinking"), str):
                events.extend([ReasoningDelta(thinking)] if thinking else [])
            events.extend(self._block_start(index, block))
            if kind in _TOOL_BLOCKS:
                arguments = json.dumps(field(block, "input") or {})
                events.append(ToolCallDelta(self._tool_of_block[index], None, None, arguments))
        usage = {"output_tokens": field(field(message, "usage"), "output_tokens")}
        delta = {"stop_reason": field(message, "stop_reason")}
        return events + self._message_delta({"usage": usage, "delta": delta})

    def _block_start(self, index: object, block: object) -> list[Event]:
        if field(block, "type") not in _TOOL_BLOCKS or not isinstance(index, int):
            text = field(block, "text") if field(block, "type") == "text" else None
            return [TextDelta(text)] if isinstance(text, str) and text else []
        call = len(self._tool_of_block)
        self._tool_of_block[index] = call
        name, call_id = field(block, "name"), field(block, "id")
        return [
            ToolCallDelta(
                index=call,
                id=call_id if isinstance(call_id, str) else None,
                name=name if isinstance(name, str) else None,
                arguments="",
            )
        ]

    def _delta(self, index: object, delta: object) -> list[Event]:
        kind = field(delta, "type")
        if kind == "text_delta":
            text = field(delta, "text")
            return [TextDelta(text)] if isinstance(text, str) and text else []
        if kind == "thinking_delta":
            thinking = field(delta, "thinking")
            return [ReasoningDelta(thinking)] if isinstance(thinking, str) and thinking else []
        if kind == "input_json_delta" and isinstance(index, int) and index in self._tool_of_block:
            partial = field(delta, "partial_json")
            if isinstance(partial, str) and partial:
                return [ToolCallDelta(self._tool_of_block[index], None, None, partial)]
        return []  # signature_delta, citations_delta: nothing to show

    def _message_delta(self, item: object) -> list[Event]:
        events: list[Event] = []
        usage = field(item, "usage")
        output = field(usage, "output_tokens")
        if isinstance(output, int):
            # Some servers put the prompt's count here, not in message_start.
            prompt = _input_tokens(usage)
            if prompt is not None:
                self._prompt_tokens = prompt
            total = output + self._prompt_tokens if self._prompt_tokens is not None else None
            events.append(Usage(self._prompt_tokens, output, total))
        reason = field(field(item, "delta"), "stop_reason")
        if isinstance(reason, str) and reason:
            self._finished = True
            events.append(Finish(STOP_REASONS.get(reason, reason)))
        return events


def _input_tokens(usage: object) -> int | None:
    """The prompt's tokens: fresh input plus what was read from and written to the cache."""
    counts = [
        field(usage, name)
        for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    ]
    if not isinstance(counts[0], int):
        return None
    return sum(count for count in counts if isinstance(count, int))
