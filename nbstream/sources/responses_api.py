"""Events from OpenAI's Responses API stream (``client.responses.create(stream=True)``).

The Responses API streams typed events rather than chat chunks: text arrives in
``response.output_text.delta``, reasoning summaries in
``response.reasoning_summary_text.delta``, usage once in ``response.completed``, and
failures as an ``error`` event or ``response.failed``, which the ``openai`` SDK yields
as ordinary events instead of raising. Lifecycle events (``created``, ``in_progress``,
the ``…done`` summaries) repeat what the deltas said and produce no event.
"""

from __future__ import annotations

from collections.abc import Callable

from nbstream.errors import StreamError
from nbstream.events import (
    Event,
    Finish,
    ReasoningDelta,
    RefusalDelta,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from nbstream.sources.fields import field

__all__ = ["ENDING_EVENTS", "is_responses_event", "responses_events"]

ENDING_EVENTS = frozenset({"response.completed", "response.incomplete"})
"""Events after which the answer is whole (``response.failed`` raises instead)."""

# incomplete_details.reason → the chat API's finish_reason, so both APIs read the same.
_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


def is_responses_event(item: object) -> bool:
    """Whether ``item`` looks like a Responses API stream event (by its ``type``)."""
    kind = field(item, "type")
    return isinstance(kind, str) and (kind.startswith("response.") or kind == "error")


def responses_events(item: object) -> list[Event]:
    """The events for one Responses API stream event; raises on an error event."""
    kind: str = field(item, "type")
    handler = _HANDLERS.get(kind)
    return handler(item) if handler is not None else []


def _text(item: object) -> list[Event]:
    delta = field(item, "delta")
    return [TextDelta(delta)] if isinstance(delta, str) and delta else []


def _reasoning(item: object) -> list[Event]:
    delta = field(item, "delta")
    return [ReasoningDelta(delta)] if isinstance(delta, str) and delta else []


def _summary_part(item: object) -> list[Event]:
    # Several summary parts would otherwise run together ("…done.**Next**").
    index = field(item, "summary_index")
    return [ReasoningDelta("\n\n")] if isinstance(index, int) and index > 0 else []


def _refusal(item: object) -> list[Event]:
    delta = field(item, "delta")
    return [RefusalDelta(delta)] if isinstance(delta, str) and delta else []


def _tool_call_added(item: object) -> list[Event]:
    output = field(item, "item")
    if field(output, "type") != "function_call":
        return []
    call_id, name = field(output, "call_id"), field(output, "name")
    return [
        ToolCallDelta(
            index=_output_index(item),
            id=call_id if isinstance(call_id, str) and call_id else None,
            name=name if isinstance(name, str) and name else None,
            arguments="",
        )
    ]


def _tool_call_arguments(item: object) -> list[Event]:
    delta = field(item, "delta")
    if not isinstance(delta, str) or not delta:
        return []
    return [ToolCallDelta(index=_output_index(item), id=None, name=None, arguments=delta)]


def _output_index(item: object) -> int:
    index = field(item, "output_index")
    return index if isinstance(index, int) else 0


def _completed(item: object) -> list[Event]:
    return [*_usage(field(item, "response")), Finish("stop")]


def _incomplete(item: object) -> list[Event]:
    response = field(item, "response")
    reason = field(field(response, "incomplete_details"), "reason")
    finish = _INCOMPLETE_REASONS.get(reason, reason) if isinstance(reason, str) else "length"
    return [*_usage(response), Finish(finish)]


def _usage(response: object) -> list[Event]:
    usage = field(response, "usage")
    if usage is None:
        return []
    return [
        Usage(
            prompt_tokens=field(usage, "input_tokens"),
            completion_tokens=field(usage, "output_tokens"),
            total_tokens=field(usage, "total_tokens"),
        )
    ]


def _error(item: object) -> list[Event]:
    # {"type": "error", "code": ..., "message": ...}; some servers nest it under "error".
    error = field(item, "error") or item
    raise StreamError(_describe(error, "the server reported an error mid-stream"))


def _failed(item: object) -> list[Event]:
    error = field(field(item, "response"), "error")
    raise StreamError(_describe(error, "the response failed"))


def _describe(error: object, fallback: str) -> str:
    message, code = field(error, "message"), field(error, "code")
    text = message if isinstance(message, str) and message else fallback
    return f"{text} ({code})" if isinstance(code, str) and code else text


_HANDLERS: dict[str, Callable[[object], list[Event]]] = {
    "response.output_text.delta": _text,
    "response.reasoning_summary_text.delta": _reasoning,
    "response.reasoning_text.delta": _reasoning,
    "response.reasoning_summary_part.added": _summary_part,
    "response.refusal.delta": _refusal,
    "response.output_item.added": _tool_call_added,
    "response.function_call_arguments.delta": _tool_call_arguments,
    "response.completed": _completed,
    "response.incomplete": _incomplete,
    "response.failed": _failed,
    "error": _error,
}
