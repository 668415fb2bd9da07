"""The conversation engine under the Chat widget: turns, rounds, tools and Stop.

An answer to one question is an :class:`~nbstream.chat.exchange.Exchange`: a round
streams (:mod:`nbstream.chat.run`), and when it asks for tools, a round of calls runs
(:mod:`nbstream.tools.calls`) and the next round streams, until an answer needs no
tools. Everything the browser sees changes here, in state messages at turn boundaries
(docs/chat-protocol.md); :class:`~nbstream.Chat` adds the public API on top.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any, cast

import traitlets

from nbstream.answer import AnswerAccumulator
from nbstream.attachments import Attachment
from nbstream.backends import Backend
from nbstream.chat.exchange import Exchange, limit_note, tool_turns, with_tool_states
from nbstream.chat.run import AnswerRun, Outcome, event_loop_thread, start
from nbstream.chat.turns import Turn, request_messages, synced_turns, to_messages
from nbstream.delivery import DeltaChannel, Message
from nbstream.errors import StreamInProgressError
from nbstream.sources.idle import check_idle_timeout
from nbstream.tool_calls import ToolCall
from nbstream.tools import DEFAULT_RESULT_LIMIT, Tool
from nbstream.tools.calls import Approve, ToolRound
from nbstream.widget_sync import ChannelText, ProtocolWidget

__all__ = ["ChatRounds", "RoundSettings", "running_loop", "user_text", "user_turn"]

# What a turn's start and end set, in one state message each (docs/chat-protocol.md).
TURN_KEYS = ("_turns", "is_streaming", "_stream", "_live_text", "_live_reasoning", "_live_tools")
_BUSY = "an answer is already streaming: wait for it, or stop it first (chat.stop())"


@dataclass(frozen=True)
class RoundSettings:
    """How a chat's answers are made: where from, with which tools, within what limits.

    Example:
        >>> from nbstream.backends import resolve_backend
        >>> RoundSettings(resolve_backend(lambda m: ["Hi"], None, {})).max_tool_rounds
        8
    """

    backend: Backend
    tools: list[Tool] = field(default_factory=list)
    approve: bool | Approve = False
    max_tool_rounds: int = 8
    tool_result_limit: int = DEFAULT_RESULT_LIMIT
    idle_timeout: float | None = None


class ChatRounds(ProtocolWidget):
    """The turns of a conversation and the rounds that answer each question."""

    system = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    is_streaming = traitlets.Bool(False).tag(sync=True)
    # Attachments' parts (an image's data) stay in the kernel: see synced_turns.
    _turns = traitlets.List(traitlets.Dict()).tag(sync=True, to_json=synced_turns)
    _stream = traitlets.Int(0).tag(sync=True)
    _live_text = ChannelText("", channel="_text_channel").tag(sync=True)
    _live_reasoning = ChannelText("", channel="_reasoning_channel").tag(sync=True)
    _live_tools = traitlets.List(traitlets.Dict()).tag(sync=True)

    def __init__(self, settings: RoundSettings, **traits: Any) -> None:
        check_idle_timeout(settings.idle_timeout)
        self._settings = settings
        self._backend = settings.backend
        self._tools = {tool.name: tool for tool in settings.tools}
        self._lock = (
            threading.RLock()
        )  # guards _turns and _exchange; never taken inside a run's lock
        self._ids = itertools.count(1)
        self._exchange: Exchange | None = None
        self._answer_id = 0  # the turn the running (or last) answer fills
        self._busy = False  # from a turn's start until its end is fully written
        self._text_channel = DeltaChannel(self._send_custom, lane="text")
        self._reasoning_channel = DeltaChannel(self._send_custom, lane="reasoning")
        # The kernel's event loop (cells run on it): where AsyncOpenAI clients live.
        self._loop = running_loop()
        super().__init__(**traits)

    # -- turns ------------------------------------------------------------------------

    def _start(
        self,
        text: str | None,
        *,
        attachments: list[Attachment] | None = None,
        edit: int | None = None,
        blocking: bool = False,
    ) -> Exchange:
        """Begin an answer: to new user ``text`` (with ``attachments``), to an edit of
        user turn ``edit`` (keeping its attachments), or (``text`` None) again to the
        last user message."""
        with self._lock:
            self._refuse_if_streaming()
            turns = self._current_turns()
            if edit is not None:
                turns = _replace_user_turn(turns, edit, cast(str, text), next(self._ids))
            elif text is not None:
                turns.append(user_turn(next(self._ids), text, attachments or []))
            else:
                turns = _up_to_last_user_turn(turns)
            loop = self._answer_loop()
            if blocking and running_loop() is loop:
                # ask() blocks this loop: a function that turns out to be async, or an
                # async tool, must not need it.
                loop = event_loop_thread()
            exchange = Exchange(loop=loop)
            self._exchange = exchange
            self._busy = True
            request = self._begin_round(exchange, turns)
        self._stream_round(exchange, request)
        return exchange

    def _begin_round(self, exchange: Exchange, turns: list[Turn]) -> list[dict[str, Any]]:
        """Add a streaming answer after ``turns``; its request. Under ``_lock``."""
        request = request_messages(to_messages(self.system, turns))
        answer = Turn(
            id=next(self._ids),
            role="assistant",
            content="",
            status="streaming",
            reasoning="",
            tool_calls=[],
            error=None,
            stats=None,
        )
        exchange.run = AnswerRun(AnswerAccumulator(), _Sink(self), self._settings.idle_timeout)
        exchange.rounds += 1
        self._answer_id = answer["id"]
        stream = self._stream + 1
        # One state message starts the turn (docs/chat-protocol.md).
        with self._delivered(TURN_KEYS):
            self._turns = cast(list[dict[str, Any]], [*turns, answer])
            self.is_streaming = True
            self._stream = stream
            self._live_text = ""
            self._live_reasoning = ""
            self._live_tools = []
        # Channels first: a resync may be answered on another thread at any moment.
        self._text_channel.begin(stream)
        self._reasoning_channel.begin(stream)
        self.send_state(list(TURN_KEYS))
        return request

    def _stream_round(self, exchange: Exchange, request: list[dict[str, Any]]) -> None:
        assert exchange.run is not None
        assert exchange.loop is not None
        schemas = [tool.schema() for tool in self._tools.values()] or None
        start(exchange.run, self._backend, request, exchange.loop, schemas)

    def _refuse_if_streaming(self) -> None:
        # `_busy` (not the run's own state) so that a new turn never starts while the
        # last one's end is still being written.
        if self._busy:
            raise StreamInProgressError(_BUSY)

    def _current_turns(self) -> list[Turn]:
        return [cast(Turn, dict(turn)) for turn in self._stored("_turns") or ()]

    def _answer_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop if self._loop is not None else event_loop_thread()

    # -- what the running answer reports (through _Sink, under the run's lock) ---------

    def _finish(self, run: AnswerRun, outcome: Outcome, error: str | None) -> None:
        answer = run.answer
        with self._lock:
            exchange = self._exchange
            assert exchange is not None
            assert exchange.run is run
            # Store the final texts before the channels let go of them, so a resync
            # answered meanwhile on another thread never sees a blank answer.
            with self._delivered(("_live_text", "_live_reasoning")):
                self._live_text = answer.reply
                self._live_reasoning = answer.reasoning
            self._text_channel.end(error)
            self._reasoning_channel.end(None)
            calls = answer.tool_calls if outcome == "done" and self._tools else []
            exchange.calls += len(calls)
            turn = Turn(
                id=self._answer_id,
                role="assistant",
                content=answer.reply,
                status="done" if outcome == "done" else outcome,
                reasoning=answer.reasoning,
                tool_calls=answer.tool_calls,
                error=error,
                stats=answer.stats(
                    self._backend.model_name, rounds=exchange.rounds, tool_calls=exchange.calls
                ),
            )
            turns = [turn if t["id"] == self._answer_id else t for t in self._current_turns()]
            exchange.run = None
            if (
                calls
                and not exchange.stopped
                and exchange.tool_rounds < self._settings.max_tool_rounds
            ):
                self._run_tools(exchange, [*turns, *tool_turns(calls, self._ids)], calls)
                return
            if calls:  # a call without its result would make the history unusable
                reason = (
                    "the answer was stopped"
                    if exchange.stopped
                    else limit_note(self._settings.max_tool_rounds)
                )
                if exchange.stopped:
                    turn["status"] = "stopped"
                else:
                    turn["note"] = reason
                turns += tool_turns(calls, self._ids, not_run=f"not run: {reason}")
            self._end_exchange(exchange, turns)
            exchange.settle_from(run)
        self._update_static_copy()

    def _end_exchange(self, exchange: Exchange, turns: list[Turn]) -> None:
        """The last state message of an exchange: the chat is free again. Under ``_lock``."""
        exchange.done = True
        with self._delivered(TURN_KEYS):
            self._turns = cast(list[dict[str, Any]], turns)
            self.is_streaming = False
            self._live_text = ""
            self._live_reasoning = ""
            self._live_tools = []
        self.send_state(list(TURN_KEYS))
        self._busy = False

    # -- tools --------------------------------------------------------------------------

    def _run_tools(self, exchange: Exchange, turns: list[Turn], calls: list[ToolCall]) -> None:
        """Show the calls as cards, then run them in a worker thread. Under ``_lock``."""
        exchange.tools = ToolRound(
            calls,
            dict(self._tools),
            approve=self._settings.approve or None,
            report=lambda: self._show_tools(exchange),
            loop=exchange.loop,
            result_limit=self._settings.tool_result_limit,
        )
        with self._delivered(TURN_KEYS):
            self._turns = cast(list[dict[str, Any]], turns)
            self._live_text = ""
            self._live_reasoning = ""
            self._live_tools = []
        self.send_state(list(TURN_KEYS))
        threading.Thread(
            target=self._tool_round, args=(exchange,), name="nbstream-chat-tools", daemon=True
        ).start()

    def _tool_round(self, exchange: Exchange) -> None:
        # The worker thread: sync tools run here, async ones on the exchange's loop.
        round_ = exchange.tools
        assert round_ is not None
        round_.run()
        with self._lock:
            if exchange.stopped or exchange.tools is not round_:
                return  # stop() has ended the exchange
            exchange.tools = None
            exchange.tool_rounds += 1
            turns = with_tool_states(self._current_turns(), round_.states)
            request = self._begin_round(exchange, turns)
        self._stream_round(exchange, request)

    def _show_tools(self, exchange: Exchange) -> None:
        round_ = exchange.tools
        if round_ is None:
            return
        with self._lock:
            if self._exchange is not exchange:
                return
            self._turns = cast(
                list[dict[str, Any]], with_tool_states(self._current_turns(), round_.states)
            )

    def _stopped_turns(self) -> list[Turn]:
        """The turns, with the answer whose tool calls were running when Stop came marked
        stopped: the exchange it began ended there, and the user should see it did."""
        return [
            cast(Turn, {**turn, "status": "stopped"}) if turn["id"] == self._answer_id else turn
            for turn in self._current_turns()
        ]

    def _last_reply(self) -> str:
        for turn in reversed(self._current_turns()):
            if turn["role"] == "assistant":
                return turn["content"]
        return ""

    def _send_custom(self, message: Message) -> None:
        # `send` is the chat's own (send a message to the model); ipywidgets' custom
        # message send is the parent's.
        super().send(message)

    def _answer_approval(self, call_id: str, allow: bool) -> None:
        with self._lock:
            exchange = self._exchange
        round_ = exchange.tools if exchange is not None else None
        if round_ is None or not round_.answer(call_id, allow):
            raise ValueError(f"no tool call {call_id!r} is waiting for approval")

    def _resync(self, lane: object) -> None:
        channel, key = (
            (self._reasoning_channel, "_live_reasoning")
            if lane == "reasoning"
            else (self._text_channel, "_live_text")
        )

        def stored() -> tuple[str, bool, str | None]:
            return self._stored(key) or "", bool(self._stored("is_streaming")), None

        self._send_custom(channel.sync_message(stored))


class _Sink:
    """The Chat as seen by its running answer (:class:`~nbstream.chat.run.AnswerSink`)."""

    def __init__(self, chat: ChatRounds) -> None:
        self._chat = chat

    def text(self, text: str) -> None:
        self._chat._text_channel.push(text)

    def reasoning(self, text: str) -> None:
        self._chat._reasoning_channel.push(text)

    def tools(self, calls: list[ToolCall]) -> None:
        self._chat._live_tools = cast(list[dict[str, Any]], calls)

    def finish(self, run: AnswerRun, outcome: Outcome, error: str | None) -> None:
        self._chat._finish(run, outcome, error)


def user_text(text: object, *, attached: bool = False) -> str:
    """``text``, checked: a str, and not blank unless something is ``attached``."""
    if not isinstance(text, str):
        raise TypeError(f"the message must be a str, got {type(text).__name__}")
    if not text.strip() and not attached:
        raise ValueError("nothing to send: the message is empty")
    return text


def user_turn(turn_id: int, text: str, attachments: list[Attachment]) -> Turn:
    """A user turn: its text, and its attachments' chips and parts (if any)."""
    turn = Turn(id=turn_id, role="user", content=text)
    if attachments:
        turn["attachments"] = [attachment.view() for attachment in attachments]
        turn["parts"] = [part for attachment in attachments for part in attachment.parts()]
    return turn


def _up_to_last_user_turn(turns: list[Turn]) -> list[Turn]:
    for index in range(len(turns) - 1, -1, -1):
        if turns[index]["role"] == "user":
            return turns[: index + 1]
    raise ValueError("nothing to regenerate: the conversation has no user message yet")


def _replace_user_turn(turns: list[Turn], turn_id: object, text: str, new_id: int) -> list[Turn]:
    for index, turn in enumerate(turns):
        if turn["id"] == turn_id and turn["role"] == "user":
            # A new id: the browser keys its DOM by id, and this is a new message. Its
            # attachments stay: the edit is of the text.
            edited = Turn(id=new_id, role="user", content=text)
            if "parts" in turn:
                edited["attachments"] = turn.get("attachments", [])
                edited["parts"] = turn["parts"]
            if not text.strip() and not edited.get("parts"):
                raise ValueError("nothing to send: the message is empty")
            return [*turns[:index], edited]
    raise ValueError(f"cannot edit message {turn_id!r}: no such user message")


def running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
