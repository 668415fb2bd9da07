"""The Responses API's JSON shapes (``POST /v1/responses``), built as plain dicts.

Pure, like :mod:`nbstream.local.wire`: the server decides what to send and when, this
module decides how it looks. A streamed reply is a sequence of typed events, each sent as
``event: <type>`` plus ``data: <json>``, with no ``data: [DONE]`` at the end::

    response.created, response.in_progress
    reasoning item:  response.output_item.added, response.reasoning_summary_part.added,
                     response.reasoning_summary_text.delta..., ...text.done, ...part.done,
                     response.output_item.done
    message item:    response.output_item.added, response.content_part.added,
                     response.output_text.delta..., response.output_text.done,
                     response.content_part.done, response.output_item.done
    function calls:  response.output_item.added, response.function_call_arguments.delta...,
                     response.function_call_arguments.done, response.output_item.done
    response.completed (or response.incomplete), with usage

Reasoning streams as a reasoning *summary*, which is what OpenAI's reasoning models show
(their raw reasoning is never sent). :class:`ResponseBuilder` turns the tokens of a
:class:`~nbstream.local.plan.Plan` into these events one token at a time, so the
server can pace them and inject faults between any two.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from nbstream.local.model import Token
from nbstream.local.wire import JSON, encode_json

__all__ = [
    "ResponseBuilder",
    "error_event",
    "event_sse",
    "response_usage",
]

ItemKind = Literal["reasoning", "message", "function_call"]


def event_sse(event: JSON) -> bytes:
    """One Responses API server-sent event: its ``type`` as the SSE event name."""
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + encode_json(event) + b"\n\n"


def error_event(*, message: str, code: str | None, sequence_number: int) -> JSON:
    """The ``error`` event that ends a failed Responses API stream."""
    return {
        "type": "error",
        "code": code,
        "message": message,
        "param": None,
        "sequence_number": sequence_number,
    }


def response_usage(input_tokens: int, output_tokens: int, reasoning_tokens: int) -> JSON:
    """A Responses API ``usage`` object (``input``/``output`` rather than chat's names)."""
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens,
    }


class ResponseBuilder:
    """Builds the events of one streamed response, or the whole ``Response`` object.

    Feed it tokens in order with :meth:`token`; each call returns the events to send for
    that token (opening and closing output items as the kind of token changes). End with
    :meth:`finish`, or :meth:`error` for a failure. Sequence numbers count every event.

    Args:
        response_id: The ``resp_...`` id; item ids derive from it.
        created: Unix time of creation.
        model: The model name to report.
        reasoning_in_text: Reasoning tokens are ``<think>`` text inside the message (the
            ``"think"`` reasoning format) rather than a reasoning summary.
        max_output_tokens: Echoed in the response object, as OpenAI does.
    """

    def __init__(
        self,
        *,
        response_id: str,
        created: int,
        model: str,
        reasoning_in_text: bool = False,
        max_output_tokens: int | None = None,
    ) -> None:
        self._id = response_id
        self._created = created
        self._model = model
        self._reasoning_in_text = reasoning_in_text
        self._max_output_tokens = max_output_tokens
        self._sequence = 0
        self._output: list[JSON] = []  # finished items, then the open one (if any)
        self._open: ItemKind | None = None
        self._open_call: int | None = None  # the tool call the open function_call item is

    # -- whole objects ------------------------------------------------------------------

    def response(
        self,
        *,
        status: str,
        usage: JSON | None = None,
        incomplete_reason: str | None = None,
        error: JSON | None = None,
    ) -> JSON:
        """The ``Response`` object as it stands, with the given status."""
        return {
            "id": self._id,
            "object": "response",
            "created_at": self._created,
            "status": status,
            "error": error,
            "incomplete_details": (
                None if incomplete_reason is None else {"reason": incomplete_reason}
            ),
            "instructions": None,
            "max_output_tokens": self._max_output_tokens,
            "model": self._model,
            "output": copy.deepcopy(self._output),
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None},
            "store": False,
            "temperature": 1.0,
            "text": {"format": {"type": "text"}},
            "tool_choice": "auto",
            "tools": [],
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": usage,
            "user": None,
            "metadata": {},
        }

    def whole(self, tokens: Sequence[Token], *, status: str, **details: Any) -> JSON:
        """The non-streamed ``Response`` for ``tokens``: every item built and closed."""
        for token in tokens:
            self.token(token)
        self._close(status)
        return self.response(status=status, **details)

    # -- streamed events ------------------------------------------------------------------

    def start(self) -> list[JSON]:
        """``response.created`` and ``response.in_progress``."""
        snapshot = self.response(status="in_progress")
        return [
            self._event("response.created", response=snapshot),
            self._event("response.in_progress", response=snapshot),
        ]

    def token(self, token: Token) -> list[JSON]:
        """The events that stream one token (opening a new output item if needed)."""
        events: list[JSON] = []
        kind = self._kind(token)
        new_call = token.kind == "tool_call"
        if self._open != kind or new_call:
            events.extend(self._close("completed"))
            events.extend(self._open_item(kind, token))
            if new_call:
                return events  # a call's first token is its name, sent with the item
        item, shape = self._output[-1], _SHAPES[kind]
        if shape.parts is None:
            item["arguments"] += token.text
        else:
            item[shape.parts][0]["text"] += token.text
        events.append(
            self._item_event(
                shape, f"{shape.text_events}.delta", delta=token.text, **shape.text_fields()
            )
        )
        return events

    def finish(self, *, usage: JSON, incomplete_reason: str | None = None) -> list[JSON]:
        """Close the open item and end with ``response.completed`` (or ``.incomplete``)."""
        status = "completed" if incomplete_reason is None else "incomplete"
        events = self._close(status)
        snapshot = self.response(status=status, usage=usage, incomplete_reason=incomplete_reason)
        events.append(self._event(f"response.{status}", response=snapshot))
        return events

    def error(self, *, message: str, code: str | None) -> JSON:
        """The ``error`` event that ends a stream that failed part-way."""
        event = error_event(message=message, code=code, sequence_number=self._sequence)
        self._sequence += 1
        return event

    # -- items ------------------------------------------------------------------------------

    def _kind(self, token: Token) -> ItemKind:
        if token.kind == "content" or (token.kind == "reasoning" and self._reasoning_in_text):
            return "message"
        if token.kind == "reasoning":
            return "reasoning"
        return "function_call"

    def _event(self, event_type: str, **fields: Any) -> JSON:
        event: JSON = {"type": event_type, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event

    def _item_event(self, shape: _Shape, event_type: str, **fields: Any) -> JSON:
        """An event about the last output item (and about its one part, if it has parts)."""
        where: JSON = {"item_id": self._output[-1]["id"], "output_index": len(self._output) - 1}
        if shape.parts is not None:
            where[shape.part_index] = 0
        return self._event(event_type, **where, **fields)

    def _open_item(self, kind: ItemKind, token: Token) -> list[JSON]:
        index, shape = len(self._output), _SHAPES[kind]
        item_id = f"{shape.id_prefix}_{self._id.removeprefix('resp_')}{index:02d}"
        item: JSON
        if kind == "reasoning":
            item = {"id": item_id, "type": "reasoning", "summary": []}
        elif kind == "message":
            item = {
                "id": item_id,
                "type": "message",
                "status": "in_progress",
                "role": "assistant",
                "content": [],
            }
        else:
            item = {
                "id": item_id,
                "type": "function_call",
                "status": "in_progress",
                "call_id": token.call_id,
                "name": token.text,
                "arguments": "",
            }
        # Copies: the item keeps growing, but each event shows it as it was when sent.
        added = self._event(
            "response.output_item.added", output_index=index, item=copy.deepcopy(item)
        )
        events = [added]
        self._output.append(item)
        self._open = kind
        if shape.parts is not None:  # the part the text grows in is announced on its own
            item[shape.parts].append(copy.deepcopy(shape.empty_part))
            part = copy.deepcopy(shape.empty_part)
            events.append(self._item_event(shape, f"{shape.part_events}.added", part=part))
        return events

    def _close(self, status: str) -> list[JSON]:
        """Close the open item: its ``.done`` events, with the status the response ends in."""
        kind, self._open = self._open, None
        if kind is None:
            return []
        item, index, shape = self._output[-1], len(self._output) - 1, _SHAPES[kind]
        done = f"{shape.text_events}.done"
        events: list[JSON] = []
        if shape.parts is None:
            events.append(
                self._item_event(shape, done, name=item["name"], arguments=item["arguments"])
            )
        else:
            part = dict(item[shape.parts][0])
            events.append(self._item_event(shape, done, text=part["text"], **shape.text_fields()))
            events.append(self._item_event(shape, f"{shape.part_events}.done", part=part))
        if kind != "reasoning":  # a reasoning item has no status
            item["status"] = status
        events.append(
            self._event("response.output_item.done", output_index=index, item=copy.deepcopy(item))
        )
        return events


@dataclass(frozen=True)
class _Shape:
    """What tells one kind of output item apart on the wire, so one path streams them all."""

    id_prefix: str
    text_events: str
    """The stem of the types of the events that stream the item's text (``.delta``, ``.done``)."""
    logprobs: bool = False
    """Whether those text events carry ``logprobs`` (always empty: the model has none)."""
    # Reasoning and message items hold their text in one part (a call, its arguments):
    parts: str | None = None
    """The item's list of parts; None for a function call."""
    empty_part: JSON = field(default_factory=dict)
    """The part as it starts."""
    part_events: str = ""
    """The stem of the types of the part's events (``.added``, ``.done``)."""
    part_index: str = ""
    """The name of the part's index in the events about it."""

    def text_fields(self) -> JSON:
        """The fields a text event has besides the text (new each time: events are kept)."""
        return {"logprobs": []} if self.logprobs else {}


_SHAPES: dict[ItemKind, _Shape] = {
    "reasoning": _Shape(
        id_prefix="rs",
        text_events="response.reasoning_summary_text",
        parts="summary",
        empty_part={"type": "summary_text", "text": ""},
        part_events="response.reasoning_summary_part",
        part_index="summary_index",
    ),
    "message": _Shape(
        id_prefix="msg",
        text_events="response.output_text",
        logprobs=True,
        parts="content",
        empty_part={"type": "output_text", "text": "", "annotations": []},
        part_events="response.content_part",
        part_index="content_index",
    ),
    "function_call": _Shape(id_prefix="fc", text_events="response.function_call_arguments"),
}
