"""The POST endpoints: how each reads a request, and what it sends for a plan.

``POST /v1/chat/completions``, ``POST /v1/responses``, ``POST /v1/messages``
(Anthropic's Messages API), ``POST /api/chat`` (Ollama's, in NDJSON) and
``POST /v1beta/models/{model}:streamGenerateContent`` (Gemini's) answer the same
plan (see :mod:`nbstream.local.plan`) in their own wire format. The pure builders decide
what the JSON holds (:class:`~nbstream.local.chat_chunks.ChunkBuilder`,
:class:`~nbstream.local.responses.ResponseBuilder`,
:class:`~nbstream.local.messages_events.MessagesBuilder`); here each endpoint's output is
encoded as its server-sent events and given to :class:`~nbstream.local.pacing.Pacer` as
:class:`~nbstream.local.pacing.Events`, so one paced loop streams them all.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from nbstream.local import wire
from nbstream.local.chat_chunks import ChunkBuilder
from nbstream.local.faults import injected_error
from nbstream.local.gemini_generate import (
    GeminiEvents,
    gemini_route,
    parse_gemini_request,
    whole_gemini_reply,
)
from nbstream.local.messages_events import (
    STOP_REASONS,
    MessagesBuilder,
    messages_sse,
    overloaded_error,
)
from nbstream.local.messages_request import parse_messages_request
from nbstream.local.model import Token
from nbstream.local.ollama_chat import OllamaEvents, parse_ollama_request, whole_ollama_reply
from nbstream.local.options import ChatRequest, parse_request, parse_responses_request
from nbstream.local.pacing import Events
from nbstream.local.plan import Plan
from nbstream.local.responses import ResponseBuilder, event_sse, response_usage
from nbstream.local.wire import JSON

__all__ = [
    "ENDPOINTS",
    "ChatEvents",
    "Endpoint",
    "MessagesEvents",
    "ResponseEvents",
    "endpoint_for",
]


@dataclass(frozen=True)
class Endpoint:
    """One POST endpoint: its request parser, its stream and its whole reply."""

    parse: Callable[[bytes], ChatRequest]
    """Validates a request body (raises :class:`~nbstream.local.validation.RequestError`)."""
    events: Callable[[ChatRequest, Plan], Events]
    """The events that stream the plan's reply."""
    whole: Callable[[ChatRequest, Plan], JSON]
    """The non-streamed reply; built when it is sent, so it is created then."""
    content_type: str = "text/event-stream; charset=utf-8"
    """The stream's media type (server-sent events, or Ollama's NDJSON)."""
    invalid: Callable[[str, str | None], JSON] = wire.invalid_request
    """The body of a ``400`` for an invalid request, in the API's own error shape."""


class ChatEvents:
    """A chat completion's stream: ``data:`` chunks, then ``data: [DONE]``."""

    def __init__(self, request: ChatRequest, plan: Plan) -> None:
        self._plan = plan
        self._include_usage = request.include_usage
        self._builder = _chunk_builder(request, plan)

    def opening(self) -> Iterable[bytes]:
        """Nothing: chat completions send their first chunk after the delay."""
        return []

    def start(self) -> Iterable[bytes]:
        """The role chunk."""
        return map(wire.sse, self._builder.start())

    def token(self, token: Token) -> Iterable[bytes]:
        """The token's chunk."""
        return map(wire.sse, self._builder.token(token))

    def error(self) -> bytes:
        """An error body as the event, as OpenAI sends a failure mid-stream."""
        return wire.sse(injected_error())

    def finish(self) -> Iterable[bytes]:
        """The finish chunk, the usage chunk if the request asked for it, and [DONE]."""
        usage = _usage(self._plan) if self._include_usage else None
        chunks = self._builder.finish(finish_reason=self._plan.finish_reason, usage=usage)
        return [*map(wire.sse, chunks), wire.DONE]


class ResponseEvents:
    """A Responses API stream: typed events, ending with ``response.completed``."""

    def __init__(self, request: ChatRequest, plan: Plan) -> None:
        self._plan = plan
        self._builder = _response_builder(request, plan)

    def opening(self) -> Iterable[bytes]:
        """``response.created`` and ``.in_progress``: OpenAI announces, then thinks."""
        return map(event_sse, self._builder.start())

    def start(self) -> Iterable[bytes]:
        """Nothing: the first item opens with the first token."""
        return []

    def token(self, token: Token) -> Iterable[bytes]:
        """The token's events (opening or closing output items as needed)."""
        return map(event_sse, self._builder.token(token))

    def error(self) -> bytes:
        """The ``error`` event, which takes the next sequence number."""
        error = injected_error()["error"]
        return event_sse(self._builder.error(message=error["message"], code=error["code"]))

    def finish(self) -> Iterable[bytes]:
        """The items' ends and ``response.completed`` (or ``.incomplete``); no [DONE]."""
        events = self._builder.finish(
            usage=_response_usage(self._plan),
            incomplete_reason=_INCOMPLETE_REASONS.get(self._plan.finish_reason),
        )
        return map(event_sse, events)


class MessagesEvents:
    """An Anthropic Messages stream: ``message_start`` at once, content blocks as the
    tokens go, then ``message_delta`` and ``message_stop``; no [DONE]."""

    def __init__(self, request: ChatRequest, plan: Plan) -> None:
        self._plan = plan
        self._builder = _messages_builder(request, plan)

    def opening(self) -> Iterable[bytes]:
        """``message_start`` and a ``ping``: Anthropic announces the message, then thinks."""
        return map(messages_sse, self._builder.start())

    def start(self) -> Iterable[bytes]:
        """Nothing: the first block opens with the first token."""
        return []

    def token(self, token: Token) -> Iterable[bytes]:
        """The token's events (opening or closing content blocks as needed)."""
        return map(messages_sse, self._builder.token(token))

    def error(self) -> bytes:
        """The ``error`` event with an ``overloaded_error``."""
        return messages_sse(overloaded_error())

    def finish(self) -> Iterable[bytes]:
        """The open block's end, the stop reason and usage, and ``message_stop``."""
        events = self._builder.finish(
            stop_reason=_stop_reason(self._plan), output_tokens=len(self._plan.tokens)
        )
        return map(messages_sse, events)


def _whole_message(request: ChatRequest, plan: Plan) -> JSON:
    return _messages_builder(request, plan).whole(plan.tokens, stop_reason=_stop_reason(plan))


def _messages_builder(request: ChatRequest, plan: Plan) -> MessagesBuilder:
    return MessagesBuilder(
        message_id=f"msg_{uuid.uuid4().hex[:24]}",
        model=request.model,
        input_tokens=plan.prompt_tokens,
        thinking_in_text=plan.has_reasoning and plan.reasoning_field is None,
    )


def _stop_reason(plan: Plan) -> str:
    return STOP_REASONS.get(plan.finish_reason, plan.finish_reason)


def _whole_completion(request: ChatRequest, plan: Plan) -> JSON:
    builder = _chunk_builder(request, plan)
    return builder.whole(plan.tokens, finish_reason=plan.finish_reason, usage=_usage(plan))


def _whole_response(request: ChatRequest, plan: Plan) -> JSON:
    incomplete = _INCOMPLETE_REASONS.get(plan.finish_reason)
    return _response_builder(request, plan).whole(
        plan.tokens,
        status="completed" if incomplete is None else "incomplete",
        usage=_response_usage(plan),
        incomplete_reason=incomplete,
    )


def _anthropic_invalid(message: str, _param: str | None) -> JSON:
    return {"type": "error", "error": {"type": "invalid_request_error", "message": message}}


def _ollama_invalid(message: str, _param: str | None) -> JSON:
    return {"error": message}


def _gemini_invalid(message: str, _param: str | None) -> JSON:
    return {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}


ENDPOINTS: dict[str, Endpoint] = {
    "/v1/chat/completions": Endpoint(parse_request, ChatEvents, _whole_completion),
    "/v1/responses": Endpoint(parse_responses_request, ResponseEvents, _whole_response),
    "/v1/messages": Endpoint(
        parse_messages_request, MessagesEvents, _whole_message, invalid=_anthropic_invalid
    ),
    "/api/chat": Endpoint(
        parse_ollama_request,
        OllamaEvents,
        whole_ollama_reply,
        "application/x-ndjson",
        invalid=_ollama_invalid,
    ),
}
"""The POST endpoints by path (Gemini's, whose path names the model, are apart)."""


def endpoint_for(path: str) -> Endpoint | None:
    """The endpoint that answers ``POST path``, or None.

    >>> endpoint_for("/v1/messages") is ENDPOINTS["/v1/messages"]
    True
    >>> endpoint_for("/v1beta/models/gemini-2.5-flash:streamGenerateContent") is not None
    True
    """
    endpoint = ENDPOINTS.get(path)
    if endpoint is not None:
        return endpoint
    gemini = gemini_route(path)
    if gemini is None:
        return None
    model, stream = gemini
    parse = functools.partial(parse_gemini_request, model=model, stream=stream)
    return Endpoint(parse, GeminiEvents, whole_gemini_reply, invalid=_gemini_invalid)


# How a chat finish reason reads in the Responses API; a reply that is not cut short
# (stop, tool_calls) is "completed" instead.
_INCOMPLETE_REASONS = {"length": "max_output_tokens", "content_filter": "content_filter"}


def _chunk_builder(request: ChatRequest, plan: Plan) -> ChunkBuilder:
    return ChunkBuilder(
        completion_id=f"chatcmpl-{uuid.uuid4().hex[:24]}",
        created=int(time.time()),
        model=request.model,
        reasoning_field=plan.reasoning_field,
        null_content=plan.null_content,
    )


def _response_builder(request: ChatRequest, plan: Plan) -> ResponseBuilder:
    return ResponseBuilder(
        response_id=f"resp_{uuid.uuid4().hex[:24]}",
        created=int(time.time()),
        model=request.model,
        # The <think> format keeps reasoning in the text, whichever API carries it.
        reasoning_in_text=plan.has_reasoning and plan.reasoning_field is None,
        max_output_tokens=request.max_tokens,
    )


def _usage(plan: Plan) -> JSON:
    """Usage of a whole reply: reasoning and tool call tokens count as completion tokens."""
    reasoning = plan.reasoning_tokens if plan.has_reasoning else None
    return wire.usage(plan.prompt_tokens, len(plan.tokens), reasoning_tokens=reasoning)


def _response_usage(plan: Plan) -> JSON:
    reasoning = plan.reasoning_tokens if plan.reasoning_field is not None else 0
    return response_usage(plan.prompt_tokens, len(plan.tokens), reasoning)
