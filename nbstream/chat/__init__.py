"""The Chat widget: a whole conversation in one cell (see :class:`Chat`)."""

from nbstream.chat.answer import Answer, AnswerStats
from nbstream.chat.widget import Chat

__all__ = ["Answer", "AnswerStats", "Chat"]
