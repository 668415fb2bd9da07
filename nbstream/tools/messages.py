"""The OpenAI-format messages of a round of tool calls, the one place they are built.

A round is the assistant message that makes the calls (``tool_calls``), then one
``tool`` message per call, in the calls' order, each naming the call it answers.
Providers reject a ``tool_calls`` message whose calls are not all answered.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nbstream.tool_calls import ToolCall

__all__ = ["assistant_message", "openai_tool_call", "tool_message"]


def openai_tool_call(call: ToolCall) -> dict[str, Any]:
    """One call as an assistant message lists it.

    >>> openai_tool_call(ToolCall(id="c1", name="add", arguments='{"a": 1}'))
    {'id': 'c1', 'type': 'function', 'function': {'name': 'add', 'arguments': '{"a": 1}'}}
    """
    return {
        "id": call["id"],
        "type": "function",
        "function": {"name": call["name"], "arguments": call["arguments"]},
    }


def assistant_message(content: str, calls: Iterable[ToolCall] = ()) -> dict[str, Any]:
    """The assistant's message: its text, and the calls it made (if any).

    >>> assistant_message("Done.")
    {'role': 'assistant', 'content': 'Done.'}
    >>> call = ToolCall(id="c1", name="now", arguments="{}")
    >>> assistant_message("", [call])["tool_calls"][0]["id"]
    'c1'
    """
    message: dict[str, Any] = {"role": "assistant", "content": content}
    listed = [openai_tool_call(call) for call in calls]
    if listed:
        message["tool_calls"] = listed
    return message


def tool_message(call_id: str, content: str) -> dict[str, Any]:
    """The result of call ``call_id``, as the model reads it.

    >>> tool_message("c1", "3")
    {'role': 'tool', 'tool_call_id': 'c1', 'content': '3'}
    """
    return {"role": "tool", "tool_call_id": call_id, "content": content}
