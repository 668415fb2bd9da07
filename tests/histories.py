"""An OpenAI-shaped conversation with a tool round, which each SDK's history translation
(anthropic_history, gemini_history) is tested on: a system prompt, a question with an
image, an answer that calls two tools, their results, and a last user turn."""

from __future__ import annotations

from typing import Any

#: The tool that conversation offers, as Chat hands tools to a backend.
ADD_TOOL: list[dict[str, Any]] = [
    {"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}
]


def tool_round_history(second_tool: str = "add") -> list[dict[str, Any]]:
    """A fresh copy of the conversation; its second call goes to ``second_tool``."""
    return [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
            ],
        },
        {
            "role": "assistant",
            "content": "Let me add.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a": 1}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": second_tool, "arguments": "{}"},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "1"},
        {"role": "tool", "tool_call_id": "c2", "content": "0"},
        {"role": "user", "content": "Thanks"},
    ]
