"""Google's Gemini API (``POST /v1beta/models/{model}:streamGenerateContent?alt=sse``).

A request is read into the local model's :class:`~nbstream.local.options.ChatRequest`:

- ``systemInstruction`` → a ``system`` message; ``contents`` with roles ``user`` and
  ``model`` → user and assistant messages;
- parts: ``text`` → text, ``inlineData`` → an ``image_url`` part with a data URL,
  ``functionCall`` → the assistant's ``tool_calls``, ``functionResponse`` → a ``tool``
  message answering the call (by its ``id``, else its name); ``thought`` parts are
  dropped, as the API does with earlier turns' thoughts;
- ``tools[].functionDeclarations`` and ``toolConfig.functionCallingConfig.mode``
  (``AUTO``, ``ANY``, ``NONE``) → the chat shape;
- ``generationConfig.thinkingConfig.includeThoughts`` → the model's reasoning, as
  ``thought`` parts; ``generationConfig.maxOutputTokens`` caps the reply;
- the ``nbstream`` options ride at the top level of the body, where the SDK puts
  ``HttpOptions(extra_body={"nbstream": {...}})``.

The model comes from the path, and whether to stream from the method
(``streamGenerateContent`` or ``generateContent``). The stream is one
``GenerateContentResponse`` per ``data:`` event: a token's part, a function call whole
once its arguments are complete, and a last event with ``finishReason`` and
``usageMetadata``; the ``"error"`` fault is a ``{"error": {"code": 503, ...}}`` event, as
Google sends a failure mid-stream.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from nbstream.local import wire
from nbstream.local.model import Token, parsed_arguments, whole_tool_calls
from nbstream.local.options import ChatRequest, json_object, parse_options
from nbstream.local.plan import Plan
from nbstream.local.tools import parse_tools
from nbstream.local.validation import RequestError, non_empty_list
from nbstream.local.wire import JSON

__all__ = [
    "FINISH_REASONS",
    "GeminiEvents",
    "gemini_route",
    "parse_gemini_request",
    "whole_gemini_reply",
]

_ROUTE = re.compile(r"/v1(?:beta|alpha)?/models/(?P<model>[^/:]+):(?P<method>\w+)")
_METHODS = {"streamGenerateContent": True, "generateContent": False}

FINISH_REASONS = {
    "stop": "STOP",
    "tool_calls": "STOP",
    "length": "MAX_TOKENS",
    "content_filter": "SAFETY",
}
"""A chat finish reason as Gemini words it (a reply that calls functions stops too)."""


def gemini_route(path: str) -> tuple[str, bool] | None:
    """The model and whether to stream, for a Gemini path; None for any other path.

    >>> gemini_route("/v1beta/models/gemini-2.5-flash:streamGenerateContent")
    ('gemini-2.5-flash', True)
    >>> gemini_route("/v1/chat/completions") is None
    True
    """
    match = _ROUTE.fullmatch(path)
    if match is None or match["method"] not in _METHODS:
        return None
    return match["model"], _METHODS[match["method"]]


def parse_gemini_request(body: bytes, *, model: str, stream: bool) -> ChatRequest:
    """Parse and validate a ``generateContent`` request body.

    Raises:
        RequestError: The body is not JSON, or a field is missing or of the wrong kind.

    Example:
        >>> from nbstream.local.gemini_generate import parse_gemini_request
        >>> request = parse_gemini_request(
        ...     b'{"systemInstruction": {"parts": [{"text": "Be brief."}]},'
        ...     b' "contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}',
        ...     model="gemini-2.5-flash",
        ...     stream=True,
        ... )
        >>> request.messages
        [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Hi'}]
    """
    data = json_object(body)
    raw = non_empty_list(data, "contents", of="{role, parts}")
    messages: list[dict[str, Any]] = []
    system = _system(_get(data, "systemInstruction"))
    if system:
        messages.append({"role": "system", "content": system})
    for index, content in enumerate(raw):
        messages.extend(_messages_of(content, f"contents[{index}]"))

    config = _get(data, "generationConfig") or {}
    if not isinstance(config, dict):
        raise RequestError("'generationConfig' must be an object.", param="generationConfig")
    limit = _get(config, "maxOutputTokens")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise RequestError(
            "'generationConfig.maxOutputTokens' must be a positive integer.",
            param="generationConfig.maxOutputTokens",
        )
    options = parse_options(data.get("nbstream"))
    thinking = _get(config, "thinkingConfig")
    if _get(thinking, "includeThoughts") and options.reasoning is None:
        options = dataclasses.replace(options, reasoning=True)
    return ChatRequest(
        messages=messages,
        model=model,
        stream=stream,
        max_tokens=limit,
        options=options,
        tools=parse_tools(_chat_tools(data), "chat"),
    )


def _get(data: object, name: str) -> Any:
    """``data[name]``, or its snake_case spelling: the API takes both, and the SDK sends
    some of each (``thinkingConfig: {"include_thoughts": true}``)."""
    if not isinstance(data, Mapping):
        return None
    value = data.get(name)
    if value is None:
        value = data.get(re.sub(r"[A-Z]", lambda m: "_" + m[0].lower(), name))
    return value


def _system(raw: object) -> str:
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    parts = raw.get("parts") if isinstance(raw, dict) else None
    if not isinstance(parts, list):
        raise RequestError(
            "'systemInstruction' must be a content object with text parts.",
            param="systemInstruction",
        )
    return "".join(_text_of(part) for part in parts)


def _messages_of(content: object, where: str) -> list[dict[str, Any]]:
    """One Gemini content → its chat messages (function responses become ``tool`` ones)."""
    role = content.get("role", "user") if isinstance(content, dict) else None
    parts = content.get("parts") if isinstance(content, dict) else None
    if role not in ("user", "model") or not isinstance(parts, list):
        raise RequestError(
            f"'{where}' must be an object with 'role' 'user' or 'model' and a list of 'parts'.",
            param=where,
        )
    chat_parts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for position, part in enumerate(parts):
        if not isinstance(part, dict):
            place = f"{where}.parts[{position}]"
            raise RequestError(f"'{place}' must be an object.", param=place)
        if part.get("thought") is True:
            continue
        if "text" in part:
            chat_parts.append({"type": "text", "text": _text_of(part)})
        elif _get(part, "inlineData") is not None:
            chat_parts.append(_image_part(_get(part, "inlineData"), f"{where}.parts[{position}]"))
        elif _get(part, "functionCall") is not None:
            calls.append(_call(_get(part, "functionCall"), len(calls)))
        elif _get(part, "functionResponse") is not None:
            results.append(_tool_message(_get(part, "functionResponse")))
    out: list[dict[str, Any]] = list(results)
    if chat_parts or calls:
        text_only = all(part["type"] == "text" for part in chat_parts)
        chat: dict[str, Any] = {
            "role": "assistant" if role == "model" else "user",
            # Plain text stays a string, as the other endpoints keep it.
            "content": "".join(p["text"] for p in chat_parts) if text_only else chat_parts,
        }
        if calls:
            chat["tool_calls"] = calls
        out.append(chat)
    return out


def _text_of(part: object) -> str:
    text = part.get("text") if isinstance(part, Mapping) else None
    return text if isinstance(text, str) else ""


def _image_part(data: object, where: str) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("data"), str):
        raise RequestError(f"'{where}.inlineData' needs 'mimeType' and base64 'data'.", param=where)
    # Google takes URL-safe base64 as well, and the SDK sends that (pydantic's bytes).
    encoded = data["data"].replace("-", "+").replace("_", "/")
    url = f"data:{_get(data, 'mimeType') or 'application/octet-stream'};base64,{encoded}"
    return {"type": "image_url", "image_url": {"url": url}}


def _call(call: object, index: int) -> dict[str, Any]:
    call = call if isinstance(call, dict) else {}
    name = call.get("name")
    function = {"name": name, "arguments": json.dumps(call.get("args") or {})}
    call_id = call.get("id") or name or f"call_{index + 1}"
    return {"id": call_id, "type": "function", "function": function}


def _tool_message(response: object) -> dict[str, Any]:
    response = response if isinstance(response, dict) else {}
    result = response.get("response")
    # The convention (and the SDK's): {"output": ...} or {"error": ...}.
    if isinstance(result, dict) and set(result) == {"output"}:
        result = result["output"]
    if isinstance(result, dict) and set(result) == {"error"}:
        result = f"Error: {result['error']}"
    text = result if isinstance(result, str) else json.dumps(result)
    call_id = response.get("id") or response.get("name")
    return {"role": "tool", "tool_call_id": call_id, "content": text}


def _chat_tools(data: Mapping[str, Any]) -> dict[str, Any]:
    """``tools`` and ``tool_choice`` in the chat completions shape."""
    tools = data.get("tools")
    if tools is not None and not isinstance(tools, list):
        raise RequestError("'tools' must be a list of tool objects.", param="tools")
    functions: list[dict[str, Any]] = []
    for index, tool in enumerate(tools or ()):
        declarations = _get(tool, "functionDeclarations") if isinstance(tool, dict) else None
        if not isinstance(declarations, list):
            continue  # googleSearch, codeExecution...: offered, never called
        for position, declaration in enumerate(declarations):
            if not isinstance(declaration, dict):
                place = f"tools[{index}].functionDeclarations[{position}]"
                raise RequestError(f"'{place}' must be an object.", param=place)
            schema = declaration.get("parameters") or _get(declaration, "parametersJsonSchema")
            function = {
                "name": declaration.get("name"),
                "description": declaration.get("description") or "",
                "parameters": _lower_types(schema or {"type": "object", "properties": {}}),
            }
            functions.append({"type": "function", "function": function})
    chat: dict[str, Any] = {"tools": functions}
    calling = _get(_get(data, "toolConfig"), "functionCallingConfig")
    mode = _get(calling, "mode")
    if mode is not None:
        modes = {"AUTO": "auto", "ANY": "required", "NONE": "none", "VALIDATED": "auto"}
        if mode not in modes:
            raise RequestError(
                "'toolConfig.functionCallingConfig.mode' must be AUTO, ANY or NONE.",
                param="toolConfig",
            )
        chat["tool_choice"] = modes[mode]
    return chat


def _lower_types(schema: Any) -> Any:
    """Gemini's OpenAPI schemas name types in capitals (``OBJECT``); JSON Schema does not."""
    if isinstance(schema, dict):
        return {
            key: value.lower() if key == "type" and isinstance(value, str) else _lower_types(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_lower_types(item) for item in schema]
    return schema


class GeminiEvents:
    """One reply as Gemini streams it: a ``GenerateContentResponse`` per ``data:`` event."""

    def __init__(self, request: ChatRequest, plan: Plan) -> None:
        self._model = request.model
        self._plan = plan
        self._response_id = uuid.uuid4().hex[:20]
        self._thoughts_in_text = plan.has_reasoning and plan.reasoning_field is None
        self._call: dict[str, Any] | None = None  # the function call whose arguments stream
        self._sent = 0  # tokens so far, for the running usage

    def opening(self) -> Iterable[bytes]:
        """Nothing: Gemini sends its first event with the first token."""
        return []

    def start(self) -> Iterable[bytes]:
        """Nothing."""
        return []

    def token(self, token: Token) -> Iterable[bytes]:
        """The token's event; a function call's event once its arguments are whole."""
        self._sent += 1
        if token.kind == "arguments" and self._call is not None:
            self._call["arguments"] += token.text
            return []
        events = self._flush_call()
        if token.kind == "tool_call":
            self._call = {"name": token.text, "arguments": "", "id": token.call_id}
            return events
        part: JSON = {"text": token.text}
        if token.kind == "reasoning" and not self._thoughts_in_text:
            part["thought"] = True
        return [*events, self._event([part])]

    def error(self) -> bytes:
        """The ``UNAVAILABLE`` error event of the ``"error"`` fault."""
        return wire.sse({"error": _unavailable()})

    def finish(self) -> Iterable[bytes]:
        """A pending call's event, then the last one, with the finish reason and usage."""
        reason = FINISH_REASONS.get(self._plan.finish_reason, "OTHER")
        return [*self._flush_call(), self._event([], finish_reason=reason)]

    def _flush_call(self) -> list[bytes]:
        if self._call is None:
            return []
        call, self._call = self._call, None
        return [self._event([_function_call(call)])]

    def _event(self, parts: list[JSON], finish_reason: str | None = None) -> bytes:
        candidate: JSON = {"content": {"parts": parts, "role": "model"}, "index": 0}
        if finish_reason is not None:
            candidate["finishReason"] = finish_reason
        response = {
            "candidates": [candidate],
            "usageMetadata": _usage(self._plan, self._sent),
            "modelVersion": self._model,
            "responseId": self._response_id,
        }
        return wire.sse(response)


def whole_gemini_reply(request: ChatRequest, plan: Plan) -> JSON:
    """The one ``GenerateContentResponse`` of a ``generateContent`` request."""
    thoughts_in_text = plan.has_reasoning and plan.reasoning_field is None
    parts: list[JSON] = []
    thought = "".join(t.text for t in plan.tokens if t.kind == "reasoning")
    if thought and not thoughts_in_text:
        parts.append({"text": thought, "thought": True})
    shown = ("content", "reasoning") if thoughts_in_text else ("content",)
    text = "".join(t.text for t in plan.tokens if t.kind in shown)
    if text:
        parts.append({"text": text})
    parts.extend(_function_call(call) for call in whole_tool_calls(plan.tokens))
    candidate: JSON = {
        "content": {"parts": parts, "role": "model"},
        "finishReason": FINISH_REASONS.get(plan.finish_reason, "OTHER"),
        "index": 0,
    }
    return {
        "candidates": [candidate],
        "usageMetadata": _usage(plan, len(plan.tokens)),
        "modelVersion": request.model,
        "responseId": uuid.uuid4().hex[:20],
    }


def _function_call(call: Mapping[str, Any]) -> JSON:
    args = parsed_arguments(call["arguments"])
    return {"functionCall": {"id": call["id"], "name": call["name"], "args": args}}


def _usage(plan: Plan, sent: int) -> JSON:
    """Gemini's running counts, with thoughts apart from the candidates' tokens."""
    in_text = plan.has_reasoning and plan.reasoning_field is None  # <think> in the text
    thoughts = 0 if in_text else sum(1 for t in plan.tokens[:sent] if t.kind == "reasoning")
    usage: JSON = {
        "promptTokenCount": plan.prompt_tokens,
        "candidatesTokenCount": sent - thoughts,
        "totalTokenCount": plan.prompt_tokens + sent,
    }
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    return usage


def _unavailable() -> JSON:
    return {
        "code": 503,
        "message": "The model is overloaded. Please try again later. (nbstream local model,"
        " fault 'error')",
        "status": "UNAVAILABLE",
    }
