"""An assistant answer as the Chat shows it: its text, status, and footer figures.

The figures are folded by :class:`nbstream.answer.AnswerAccumulator`; this is the
read-only record :attr:`nbstream.Chat.last_answer` returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from nbstream.answer import AnswerStats
from nbstream.tool_calls import ToolCall

__all__ = ["Answer", "AnswerStats"]


@dataclass(frozen=True)
class Answer:
    """One assistant answer as the chat shows it (see :attr:`nbstream.Chat.last_answer`).

    Attributes:
        text: The answer (markdown); while streaming, the text so far.
        status: ``"streaming"``, ``"done"``, ``"stopped"`` or ``"error"``.
        reasoning: The model's reasoning, kept apart from the text ("" if none).
        tool_calls: The tool calls the model made: ``{"id", "name", "arguments"}``.
        error: Why it failed (``"Type: message"``), or None.
        stats: The footer's figures once it ended (None while streaming).
        note: Why the chat ended the exchange with this answer, when it is not the
            model's last word: the round limit (``max_tool_rounds``) left its tool
            calls unrun. None otherwise.

    Example:
        >>> from nbstream import Chat
        >>> chat = Chat(lambda messages: ["Hello!"])
        >>> chat.ask("Hi")
        'Hello!'
        >>> answer = chat.last_answer
        >>> answer.text, answer.status, answer.error
        ('Hello!', 'done', None)
    """

    text: str
    status: Literal["streaming", "done", "stopped", "error"]
    reasoning: str
    tool_calls: list[ToolCall]
    error: str | None
    stats: AnswerStats | None
    note: str | None = None
