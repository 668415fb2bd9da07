"""Put streamed tool-call pieces back together.

Providers stream a tool call as a first delta with its ``index``, ``id`` and function
``name``, then its JSON ``arguments`` in many small pieces, all keyed by ``index``
(Ollama and llama.cpp send a whole call in one delta, which is the same thing once).
"""

from __future__ import annotations

from typing import TypedDict

from nbstream.events import ToolCallDelta

__all__ = ["ToolCall", "ToolCallAssembler"]


class ToolCall(TypedDict):
    """One tool call as the chat shows it; ``arguments`` is the raw text the model wrote.

    >>> ToolCall(id="call_1", name="get_weather", arguments='{"city": "Paris"}')["name"]
    'get_weather'
    """

    id: str
    name: str
    arguments: str


class ToolCallAssembler:
    """Accumulate :class:`ToolCallDelta` events into whole :class:`ToolCall` values.

    >>> calls = ToolCallAssembler()
    >>> calls.add(ToolCallDelta(index=0, id="call_1", name="add", arguments='{"a": '))
    True
    >>> calls.add(ToolCallDelta(index=0, id=None, name=None, arguments="1}"))
    False
    >>> calls.calls()
    [{'id': 'call_1', 'name': 'add', 'arguments': '{"a": 1}'}]
    """

    def __init__(self) -> None:
        self._calls: dict[int, ToolCall] = {}

    def add(self, delta: ToolCallDelta) -> bool:
        """Apply one delta; return True if it made a named call appear (worth showing)."""
        call = self._calls.setdefault(
            delta.index, ToolCall(id=f"call_{delta.index}", name="", arguments="")
        )
        if delta.id:
            call["id"] = delta.id
        named = bool(delta.name) and not call["name"]
        if named:
            # The name comes once (some servers repeat it in every delta: keep the first).
            call["name"] = delta.name or ""
        call["arguments"] += delta.arguments
        return named

    def calls(self) -> list[ToolCall]:
        """The calls so far, in index order (copies: safe to hand to a widget trait)."""
        return [ToolCall(**self._calls[i]) for i in sorted(self._calls)]
