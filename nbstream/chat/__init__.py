"""The Chat widget: a whole conversation in one cell (see :class:`Chat`).

- :mod:`.widget`: ``Chat`` itself: traits, the public API, the browser's messages
- :mod:`.turns`: the conversation as turns (what the browser shows) and as OpenAI
  messages (what the model is sent, ``chat.messages``), and the exports
- :mod:`.run`: one answer in the background (a worker thread or an asyncio task), its
  end exactly once, and Stop
- :mod:`.answer`: :class:`Answer`, the read-only record of an answer
  (:attr:`Chat.last_answer`); its figures come from :mod:`nbstream.answer`

Where answers come from is :mod:`nbstream.backends`'s; how events are folded into an
answer, :mod:`nbstream.answer`'s; both are shared with ``StreamView`` and ``%%chat``.

>>> from nbstream.chat import Chat
>>> Chat(lambda messages: ["Hi!"]).ask("Hello")
'Hi!'
"""

from nbstream.chat.answer import Answer, AnswerStats
from nbstream.chat.widget import Chat

__all__ = ["Answer", "AnswerStats", "Chat"]
