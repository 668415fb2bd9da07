"""Google Gen AI streams (``client.models.generate_content_stream(...)``) → typed events.

Pure, and no ``google-genai`` import. Each item is a ``GenerateContentResponse``: the
SDK's pydantic object (snake_case fields, enums for reasons) or its JSON, one ``data:``
event of ``streamGenerateContent?alt=sse`` (camelCase)::

    candidates[0].content.parts[].text           → text
    ... with thought: true                       → reasoning
    ... .function_call {id?, name, args}         → a tool call, whole in one part
    candidates[0].finish_reason                  → the finish reason: STOP → stop
                                                   (tool_calls when the answer called
                                                   functions), MAX_TOKENS → length,
                                                   SAFETY and the other blocks →
                                                   content_filter
    usage_metadata                               → usage, running (the last one counts);
                                                   thoughts count as completion tokens
    prompt_feedback.block_reason                 → a refusal saying why the prompt was
                                                   blocked, and content_filter
    {"error": ...}                               → (raw JSON only: the SDK raises
                                                   APIError) StreamError
"""

from __future__ import annotations

import json
import re

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

__all__ = ["GeminiParser", "is_gemini_response"]

# Reasons Gemini stops for that are a block of the answer, not an end of it.
_BLOCKS = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
    }
)
_REASONS = {"STOP": "stop", "MAX_TOKENS": "length"}


def _get(obj: object, name: str) -> object:
    """A field by its SDK (snake_case) name, or its JSON (camelCase) name."""
    value = field(obj, name)
    if value is None and "_" in name:
        value = field(obj, re.sub(r"_([a-z])", lambda m: m[1].upper(), name))
    return value


def _name(value: object) -> str | None:
    """An enum's value (``FinishReason.STOP`` → ``"STOP"``), or the string itself."""
    value = getattr(value, "value", value)
    return value if isinstance(value, str) and value else None


def is_gemini_response(item: object) -> bool:
    """Whether ``item`` is a ``GenerateContentResponse`` or its JSON.

    >>> is_gemini_response({"candidates": [{"content": {"parts": [{"text": "Hi"}]}}]})
    True
    >>> is_gemini_response({"promptFeedback": {"blockReason": "SAFETY"}})
    True
    >>> is_gemini_response({"choices": []})
    False
    """
    if type(item).__name__ == "GenerateContentResponse":
        return True
    return (
        isinstance(_get(item, "candidates"), list)
        or _get(item, "prompt_feedback") is not None
        or (_get(item, "usage_metadata") is not None and _get(item, "model_version") is not None)
    )


class GeminiParser:
    """One Gemini stream's responses → :data:`~nbstream.events.Event` values.

    >>> parser = GeminiParser()
    >>> parser.feed({"candidates": [{"content": {"parts": [{"text": "Hi"}]}}]})
    [TextDelta(text='Hi', type='text')]
    >>> parser.feed({"candidates": [{"content": {"parts": []}, "finishReason": "STOP"}],
    ...              "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1,
    ...                                "totalTokenCount": 4}})
    [Usage(prompt_tokens=3, completion_tokens=1, total_tokens=4, type='usage'), \
Finish(reason='stop', type='finish')]
    """

    def __init__(self) -> None:
        self._calls = 0
        self._finished = False

    @property
    def finished(self) -> bool:
        """Whether a response gave a finish reason, or said the prompt was blocked."""
        return self._finished

    def feed(self, item: object) -> list[Event]:
        """Events for one response."""
        error = _get(item, "error")
        if error:
            raise StreamError(_error_text(error))
        events: list[Event] = []
        candidates = _get(item, "candidates")
        candidate = candidates[0] if isinstance(candidates, list) and candidates else None
        parts = _get(_get(candidate, "content"), "parts")
        for part in parts if isinstance(parts, list) else ():
            events.extend(self._part(part))
        usage = _usage(_get(item, "usage_metadata"))
        if usage is not None:
            events.append(usage)
        reason = _name(_get(candidate, "finish_reason"))
        if reason is not None and reason != "FINISH_REASON_UNSPECIFIED":
            events.append(self._finish(reason))
        blocked = _name(_get(_get(item, "prompt_feedback"), "block_reason"))
        if blocked is not None and blocked != "BLOCKED_REASON_UNSPECIFIED":
            events.extend(self._blocked(item, blocked))
        return events

    def _part(self, part: object) -> list[Event]:
        call = _get(part, "function_call")
        if call is not None:
            return [self._call(call)]
        text = _get(part, "text")
        if not isinstance(text, str) or not text:
            return []
        return [ReasoningDelta(text) if _get(part, "thought") is True else TextDelta(text)]

    def _call(self, call: object) -> ToolCallDelta:
        index = self._calls
        self._calls += 1
        name, call_id, args = _get(call, "name"), _get(call, "id"), _get(call, "args")
        return ToolCallDelta(
            index=index,
            # The Gemini Developer API sends no id: the chat needs one to answer each call.
            id=call_id if isinstance(call_id, str) and call_id else f"call_{index + 1}",
            name=name if isinstance(name, str) else None,
            arguments=json.dumps(args if args is not None else {}),
        )

    def _finish(self, reason: str) -> Finish:
        self._finished = True
        if reason in _BLOCKS:
            return Finish("content_filter")
        finish = _REASONS.get(reason, reason.lower())
        return Finish("tool_calls" if finish == "stop" and self._calls else finish)

    def _blocked(self, item: object, reason: str) -> list[Event]:
        self._finished = True
        message = _get(_get(item, "prompt_feedback"), "block_reason_message")
        why = message if isinstance(message, str) and message else reason.replace("_", " ")
        refusal = f"The prompt was blocked by Google's filters ({why.lower()})."
        return [RefusalDelta(refusal), Finish("content_filter")]


def _usage(metadata: object) -> Usage | None:
    if metadata is None:
        return None
    prompt, candidates = (
        _get(metadata, "prompt_token_count"),
        _get(metadata, "candidates_token_count"),
    )
    thoughts, total = _get(metadata, "thoughts_token_count"), _get(metadata, "total_token_count")
    counted = [n for n in (candidates, thoughts) if isinstance(n, int)]
    return Usage(
        prompt_tokens=prompt if isinstance(prompt, int) else None,
        completion_tokens=sum(counted) if counted else None,
        total_tokens=total if isinstance(total, int) else None,
    )


def _error_text(error: object) -> str:
    message, status = _get(error, "message"), _get(error, "status")
    message = message if isinstance(message, str) and message else "an error mid-stream"
    return f"{status}: {message}" if isinstance(status, str) and status else message
