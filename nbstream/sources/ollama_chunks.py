"""Ollama's native chat stream (``ollama.chat(..., stream=True)``) → typed events.

Pure, and no ``ollama`` import. Each item is a ``ChatResponse`` (or its JSON, one NDJSON
line of ``POST /api/chat``)::

    message.thinking     → reasoning
    message.content      → text
    message.tool_calls   → tool calls, each whole in one item (arguments as a mapping)
    done: true           → done_reason as the finish reason ("tool_calls" when the
                           answer called tools, as Ollama says "stop" then), and
                           prompt_eval_count / eval_count as usage
    {"error": ...}       → (raw JSON only: the SDK raises ResponseError) StreamError
"""

from __future__ import annotations

import json

from nbstream.errors import StreamError
from nbstream.events import Event, Finish, ReasoningDelta, TextDelta, ToolCallDelta, Usage
from nbstream.sources.fields import field

__all__ = ["OllamaParser", "is_ollama_chunk"]


def is_ollama_chunk(item: object) -> bool:
    """Whether ``item`` is an Ollama chat response: a ``message`` and a boolean ``done``.

    >>> is_ollama_chunk({"message": {"role": "assistant", "content": "Hi"}, "done": False})
    True
    >>> is_ollama_chunk({"choices": []})
    False
    """
    return isinstance(field(item, "done"), bool) and field(item, "message") is not None


class OllamaParser:
    """One Ollama chat stream's items → :data:`~nbstream.events.Event` values.

    >>> parser = OllamaParser()
    >>> parser.feed({"message": {"role": "assistant", "content": "Hi"}, "done": False})
    [TextDelta(text='Hi', type='text')]
    >>> parser.feed({"message": {"role": "assistant", "content": ""}, "done": True,
    ...              "done_reason": "stop", "prompt_eval_count": 5, "eval_count": 1})
    [Usage(prompt_tokens=5, completion_tokens=1, total_tokens=6, type='usage'), \
Finish(reason='stop', type='finish')]
    """

    def __init__(self) -> None:
        self._calls = 0
        self._finished = False

    @property
    def finished(self) -> bool:
        """Whether an item said ``done``."""
        return self._finished

    def feed(self, item: object) -> list[Event]:
        """Events for one item."""
        error = field(item, "error")
        if error:
            raise StreamError(f"Ollama reported an error mid-stream: {error}")
        message = field(item, "message")
        events: list[Event] = []
        thinking = field(message, "thinking")
        if isinstance(thinking, str) and thinking:
            events.append(ReasoningDelta(thinking))
        content = field(message, "content")
        if isinstance(content, str) and content:
            events.append(TextDelta(content))
        for call in field(message, "tool_calls") or ():
            events.append(self._call(call))
        if field(item, "done") is True:
            events.extend(self._done(item))
        return events

    def _call(self, call: object) -> ToolCallDelta:
        function = field(call, "function")
        arguments = field(function, "arguments")
        name, call_id = field(function, "name"), field(call, "id")
        index = self._calls
        self._calls += 1
        return ToolCallDelta(
            index=index,
            # Ollama's calls have no id before 0.12; the chat needs one to answer each.
            id=call_id if isinstance(call_id, str) and call_id else f"call_{index + 1}",
            name=name if isinstance(name, str) else None,
            arguments=arguments if isinstance(arguments, str) else json.dumps(arguments or {}),
        )

    def _done(self, item: object) -> list[Event]:
        self._finished = True
        events: list[Event] = []
        prompt, completion = field(item, "prompt_eval_count"), field(item, "eval_count")
        if isinstance(prompt, int) or isinstance(completion, int):
            total = (
                prompt + completion
                if isinstance(prompt, int) and isinstance(completion, int)
                else None
            )
            events.append(Usage(prompt, completion, total))
        reason = field(item, "done_reason")
        reason = reason if isinstance(reason, str) and reason else "stop"
        if reason == "stop" and self._calls:
            reason = "tool_calls"
        events.append(Finish(reason))
        return events
