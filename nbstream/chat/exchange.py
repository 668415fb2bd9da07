"""One question and everything that answers it: rounds of a streamed answer, then the
tool calls it made, until an answer needs no tools, the round limit, or Stop.

The :class:`Exchange` holds where that is (the streaming round, or the tool round) so
that Stop acts on whichever is running, and its :attr:`Exchange.future` is what
``ask()`` and ``asend()`` wait for: the last answer's reply. The turn-list helpers
here keep the tool turns (one per call: the card, and the ``tool`` message) in step
with the :class:`~nbstream.tools.calls.ToolRound`'s states.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterator
from dataclasses import dataclass, field

from nbstream.chat.run import AnswerRun
from nbstream.chat.turns import Turn
from nbstream.tool_calls import ToolCall
from nbstream.tools.calls import CallState, ToolRound
from nbstream.tools.rounds import limit_note

__all__ = ["Exchange", "limit_note", "tool_turns", "with_tool_states"]


@dataclass(eq=False)
class Exchange:
    """Where one question's answer is: its rounds so far, and what is running now.

    Attributes:
        loop: The event loop its async backend and async tools run on.
        rounds: Answers streamed so far (1 + one per round of tool calls).
        tool_rounds: Rounds of tool calls run so far.
        calls: Tool calls made so far.
        run: The streaming answer, while one streams.
        tools: The round of tool calls, while one runs.
        stopped: Whether Stop was pressed (nothing more starts).
        done: Whether it has ended (the chat is free again).
        future: The last answer's reply, or its exception; what ``ask()`` waits for.

    Example:
        >>> exchange = Exchange(loop=None)
        >>> exchange.rounds, exchange.done
        (0, False)
    """

    loop: asyncio.AbstractEventLoop | None
    rounds: int = 0
    tool_rounds: int = 0
    calls: int = 0
    run: AnswerRun | None = None
    tools: ToolRound | None = None
    stopped: bool = False
    done: bool = False
    future: concurrent.futures.Future[str] = field(default_factory=concurrent.futures.Future)

    def settle_from(self, run: AnswerRun) -> None:
        """End with ``run``'s outcome: its reply, or its exception, once it has one."""

        def copy(done: concurrent.futures.Future[str]) -> None:
            if self.future.done():
                return
            if done.cancelled():
                self.future.cancel()
            elif (error := done.exception()) is not None:
                self.future.set_exception(error)
            else:
                self.future.set_result(done.result())

        run.future.add_done_callback(copy)

    def settle(self, reply: str) -> None:
        """End with ``reply`` (Stop during a round of tool calls)."""
        if not self.future.done():
            self.future.set_result(reply)


def tool_turns(
    calls: list[ToolCall], ids: Iterator[int], *, not_run: str | None = None
) -> list[Turn]:
    """One tool turn per call, pending; or, with ``not_run``, cancelled with that reason.

    >>> import itertools
    >>> turns = tool_turns([ToolCall(id="c1", name="add", arguments="{}")], itertools.count(5))
    >>> turns[0]["id"], turns[0]["status"], turns[0]["tool_call_id"]
    (5, 'pending', 'c1')
    """
    return [
        Turn(
            id=next(ids),
            role="tool",
            content=not_run or "",
            tool_call_id=call["id"],
            name=call["name"],
            status="cancelled" if not_run else "pending",
            duration=None,
            note=None,
        )
        for call in calls
    ]


def with_tool_states(turns: list[Turn], states: list[CallState]) -> list[Turn]:
    """``turns`` with each call's tool turn showing its state (status, result, duration).

    >>> import itertools
    >>> state = CallState(ToolCall(id="c1", name="add", arguments="{}"), "done", "3", 0.01)
    >>> [turn] = with_tool_states(tool_turns([state.call], itertools.count()), [state])
    >>> turn["status"], turn["content"], turn["duration"]
    ('done', '3', 0.01)
    """
    by_id = {state.call["id"]: state for state in states}
    updated: list[Turn] = []
    for turn in turns:
        state = by_id.get(turn.get("tool_call_id", "")) if turn["role"] == "tool" else None
        if state is not None and turn.get("status") in ("pending", "waiting", "running"):
            shown = Turn(**turn)
            shown["status"] = state.status
            shown["content"] = state.content
            shown["duration"] = state.duration
            shown["note"] = state.note
            updated.append(shown)
        else:
            updated.append(turn)
    return updated
