"""The Anthropic Messages stream (``POST /v1/messages``), built as plain dicts.

Pure, like :mod:`nbstream.local.chat_chunks` and :mod:`nbstream.local.responses`: what
each event holds, not when it is sent. A streamed message is::

    message_start                         the message, empty, with usage.input_tokens
    ping
    content_block_start  {index, block}   thinking, text or tool_use, as the tokens go
    content_block_delta  {index, delta}   thinking_delta (then one signature_delta),
                                          text_delta, input_json_delta
    content_block_stop   {index}
    message_delta        stop_reason, usage (input and output tokens)
    message_stop

each sent as ``event: <type>`` and ``data: <json>``. A failure mid-stream is an
``error`` event (``overloaded_error``, as Anthropic sends when it is busy).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from nbstream.local.model import Token
from nbstream.local.wire import JSON, encode_json

__all__ = ["STOP_REASONS", "MessagesBuilder", "messages_sse", "overloaded_error"]

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}
"""The plan's finish reason → Anthropic's ``stop_reason``."""

# Thinking blocks end with a signature, which clients send back with the turn.
_SIGNATURE = "bmJzdHJlYW0tbG9jYWwtdGhpbmtpbmc="


def messages_sse(event: JSON) -> bytes:
    """One Messages API server-sent event: its ``type`` as the SSE event name."""
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + encode_json(event) + b"\n\n"


def overloaded_error() -> JSON:
    """The ``error`` event of the ``"error"`` fault: the one Anthropic sends when busy."""
    return {
        "type": "error",
        "error": {
            "type": "overloaded_error",
            "message": "The nbstream local model is overloaded, as requested (fault 'error').",
        },
    }


def tool_use_id(call_id: str) -> str:
    """``call_1`` → ``toolu_1``: the plan's call ids in Anthropic's form."""
    return "toolu_" + call_id.removeprefix("call_")


@dataclass
class MessagesBuilder:
    """Builds one message's stream events, token by token, or the whole ``message``.

    It keeps which content block is open, since a block's kind changes with the tokens
    (thinking, then text, then each tool call). ``thinking_in_text`` keeps reasoning in
    the text (the ``<think>`` format asked for).

    Example:
        >>> from nbstream.local.messages_events import MessagesBuilder
        >>> from nbstream.local.model import Token
        >>> builder = MessagesBuilder(message_id="msg_1", model="m", input_tokens=3)
        >>> [event["type"] for event in builder.token(Token("Hi"))]
        ['content_block_start', 'content_block_delta']
        >>> [event["type"] for event in builder.finish(stop_reason="end_turn", output_tokens=1)]
        ['content_block_stop', 'message_delta', 'message_stop']
    """

    message_id: str
    model: str
    input_tokens: int
    thinking_in_text: bool = False
    _index: int = field(default=-1, init=False)
    _open: str | None = field(default=None, init=False)  # the open block's kind

    def start(self) -> list[JSON]:
        """``message_start`` and a ``ping``, sent before the first token."""
        message = self._message(content=[], stop_reason=None, output_tokens=0)
        return [{"type": "message_start", "message": message}, {"type": "ping"}]

    def token(self, token: Token) -> list[JSON]:
        """The events of one token, opening (and closing) content blocks as needed."""
        kind = self._block_kind(token)
        events: list[JSON] = []
        if token.kind == "tool_call" or kind != self._open:
            events.extend(self._close())
            self._index += 1
            self._open = kind
            events.append(
                {
                    "type": "content_block_start",
                    "index": self._index,
                    "content_block": _empty_block(kind, token),
                }
            )
            if token.kind == "tool_call":
                return events  # the name is in the block; the arguments follow
        events.append(
            {"type": "content_block_delta", "index": self._index, "delta": _delta(kind, token)}
        )
        return events

    def finish(self, *, stop_reason: str, output_tokens: int) -> list[JSON]:
        """The open block's end, ``message_delta`` and ``message_stop``."""
        delta = {"stop_reason": stop_reason, "stop_sequence": None}
        # The usage is cumulative, the input's count again included, as Anthropic now
        # sends it (LangChain's ChatAnthropic reads the prompt's count only from here).
        usage = {"input_tokens": self.input_tokens, "output_tokens": output_tokens}
        return [
            *self._close(),
            {"type": "message_delta", "delta": delta, "usage": usage},
            {"type": "message_stop"},
        ]

    def whole(self, tokens: Sequence[Token], *, stop_reason: str) -> JSON:
        """The non-streamed ``message`` whose content is what ``tokens`` stream."""
        blocks: list[JSON] = []
        for token in tokens:
            kind = self._block_kind(token)
            if token.kind == "tool_call" or not blocks or blocks[-1]["type"] != kind:
                blocks.append(_empty_block(kind, token))
                if token.kind == "tool_call":
                    blocks[-1]["input"] = ""
                    continue
            block = blocks[-1]
            key = {"text": "text", "thinking": "thinking", "tool_use": "input"}[kind]
            block[key] += token.text
        for block in blocks:
            if block["type"] == "tool_use":
                block["input"] = _parsed(block["input"])
            elif block["type"] == "thinking":
                block["signature"] = _SIGNATURE
        return self._message(content=blocks, stop_reason=stop_reason, output_tokens=len(tokens))

    def _block_kind(self, token: Token) -> str:
        if token.kind in ("tool_call", "arguments"):
            return "tool_use"
        if token.kind == "reasoning" and not self.thinking_in_text:
            return "thinking"
        return "text"

    def _close(self) -> list[JSON]:
        if self._open is None:
            return []
        events: list[JSON] = []
        if self._open == "thinking":
            delta = {"type": "signature_delta", "signature": _SIGNATURE}
            events.append({"type": "content_block_delta", "index": self._index, "delta": delta})
        events.append({"type": "content_block_stop", "index": self._index})
        self._open = None
        return events

    def _message(self, *, content: list[JSON], stop_reason: str | None, output_tokens: int) -> JSON:
        return {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": output_tokens},
        }


def _empty_block(kind: str, token: Token) -> JSON:
    if kind == "tool_use":
        return {
            "type": "tool_use",
            "id": tool_use_id(token.call_id),
            "name": token.text,
            "input": {},
        }
    if kind == "thinking":
        return {"type": "thinking", "thinking": "", "signature": ""}
    return {"type": "text", "text": ""}


def _delta(kind: str, token: Token) -> JSON:
    if kind == "tool_use":
        return {"type": "input_json_delta", "partial_json": token.text}
    if kind == "thinking":
        return {"type": "thinking_delta", "thinking": token.text}
    return {"type": "text_delta", "text": token.text}


def _parsed(arguments: str) -> object:
    try:
        return json.loads(arguments) if arguments else {}
    except ValueError:
        return {}
