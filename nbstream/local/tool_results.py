"""The local model's answer to tool results: each result quoted word for word.

A conversation that ends with tool results (one or more ``role: "tool"`` messages in chat
completions; ``function_call_output`` items in the Responses API, which are read as such
messages) gets no tool call: the model answers in markdown, one section per result, in
the order the results came::

    **get_weather** returned:

    ```
    Sunny, 21 °C
    ```

The name is that of the call whose ``id`` is the result's ``tool_call_id``, in the
assistant messages before it (the id itself when none matches). The fence is longer than
any run of backticks in the result, so the result stays verbatim. A closing line follows:
"That is the tool's result, word for word." (or "Those are the tools' results, …").

A result is a *failure* when its first line starts with an exception's name
(``ValueError: …``, ``ZeroDivisionError (raised in …)``; a name ending in ``Error``,
``Exception``, ``Interrupt`` or ``Exit``), or it holds ``Traceback (most recent call
last)``, or it says ``denied by the user``. Its section says "failed" instead of
"returned", and the closing line is then, for each failure in turn: "The tool
**get_weather** failed: ValueError: unknown city. I will answer without it." (the
failure's first line, or a traceback's last one). The model never calls a tool again in
that answer, so a loop that runs the model's calls ends: this is how a tutorial's model
recovers from a tool that raised.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nbstream.local.model import message_text

__all__ = ["ToolResult", "answer_results", "results_reasoning", "tool_results"]

_EXCEPTION = re.compile(r"(?:\w+\.)*\w*(?:Error|Exception|Interrupt|Exit)(?::|\s\(|\s*$)")
_TRACEBACK = "Traceback (most recent call last)"
_DENIED = "denied by the user"
_LINE_UP_TO = 200  # characters of a failure quoted in the closing line


@dataclass(frozen=True)
class ToolResult:
    """One tool result the conversation ends with: the tool's ``name`` (or the call's
    id when no earlier call has it), its ``call_id`` and its ``content`` as text.

    Example:
        >>> from nbstream.local.tool_results import ToolResult
        >>> ToolResult("divide", "call_1", "ZeroDivisionError: division by zero").failed
        True
    """

    name: str
    call_id: str
    content: str

    @property
    def failed(self) -> bool:
        """Whether the result tells of a failure (see the module's docstring).

        Example:
            >>> from nbstream.local.tool_results import ToolResult
            >>> ToolResult("add", "call_1", "7").failed
            False
        """
        first = self.content.lstrip().partition("\n")[0]
        return (
            _EXCEPTION.match(first) is not None
            or _TRACEBACK in self.content
            or _DENIED in self.content.lower()
        )

    @property
    def failure(self) -> str:
        """The line that says what failed: a traceback's last line, else the first line.

        Example:
            >>> from nbstream.local.tool_results import ToolResult
            >>> ToolResult("f", "call_1", "Traceback (most recent call last):\\n  ...\\n"
            ...            "KeyError: 'x'\\n").failure
            "KeyError: 'x'"
        """
        lines = [line.strip() for line in self.content.splitlines() if line.strip()]
        if not lines:
            return ""
        line = lines[-1] if _TRACEBACK in self.content else lines[0]
        return line if len(line) <= _LINE_UP_TO else line[: _LINE_UP_TO - 1].rstrip() + "…"


def tool_results(messages: Sequence[Mapping[str, Any]]) -> list[ToolResult]:
    """The tool results the conversation ends with, in order; [] when it does not end
    with one.

    Example:
        >>> from nbstream.local.tool_results import tool_results
        >>> call = {"id": "call_1", "type": "function",
        ...         "function": {"name": "add", "arguments": '{"a": 3, "b": 4}'}}
        >>> tool_results([
        ...     {"role": "user", "content": "Use add on 3 and 4"},
        ...     {"role": "assistant", "content": None, "tool_calls": [call]},
        ...     {"role": "tool", "tool_call_id": "call_1", "content": "7"},
        ... ])
        [ToolResult(name='add', call_id='call_1', content='7')]
    """
    last = len(messages)
    while last > 0 and messages[last - 1].get("role") == "tool":
        last -= 1
    names: dict[str, str] = {}
    for message in messages[:last]:
        calls = message.get("tool_calls") if message.get("role") == "assistant" else None
        for call in calls if isinstance(calls, list) else ():
            function = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(function, Mapping) and isinstance(call.get("id"), str):
                names.setdefault(call["id"], str(function.get("name")))
    results = []
    for message in messages[last:]:
        call_id = str(message.get("tool_call_id") or "")
        content = message_text(message.get("content"))
        results.append(ToolResult(names.get(call_id, call_id or "the tool"), call_id, content))
    return results


def answer_results(results: Sequence[ToolResult]) -> str:
    """The model's markdown answer to ``results`` (see the module's docstring).

    Example:
        >>> from nbstream.local.tool_results import ToolResult, answer_results
        >>> print(answer_results([ToolResult("add", "call_1", "7")]))
        **add** returned:
        <BLANKLINE>
        ```
        7
        ```
        <BLANKLINE>
        That is the tool's result, word for word.
        <BLANKLINE>
    """
    sections = []
    for result in results:
        fence = "`" * max(3, 1 + max(map(len, re.findall("`+", result.content)), default=0))
        verb = "failed" if result.failed else "returned"
        body = result.content.rstrip("\n")
        sections.append(f"**{result.name}** {verb}:\n\n{fence}\n{body}\n{fence}\n")
    failed = [result for result in results if result.failed]
    if failed:
        closing = " ".join(
            f"The tool **{result.name}** failed: {_sentence(result.failure)}"
            " I will answer without it."
            for result in failed
        )
    elif len(results) == 1:
        closing = "That is the tool's result, word for word."
    else:
        closing = "Those are the tools' results, word for word."
    return "\n".join([*sections, closing]) + "\n"


def results_reasoning(results: Sequence[ToolResult]) -> str:
    """What the model thinks before it answers ``results``, for ``"reasoning": true``.

    Example:
        >>> from nbstream.local.tool_results import ToolResult, results_reasoning
        >>> results_reasoning([ToolResult("add", "call_1", "7")])
        'The results are back, so I will quote each one as it came, word for word.'
    """
    thoughts = ["The results are back, so I will quote each one as it came, word for word."]
    thoughts.extend(
        f"{result.name} failed; I will not call it again, and will answer without it."
        for result in results
        if result.failed
    )
    return " ".join(thoughts)


def _sentence(line: str) -> str:
    return line if line.endswith((".", "!", "?", "…")) else line + "."
