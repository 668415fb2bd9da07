"""One answer with tools, as one stream of events for a view that shows text.

``%%chat --tools`` answers in a :class:`~nbstream.StreamView`, which shows markdown, not
cards. :class:`ToolRounds` is a source for it: it streams a round, runs the calls that
round made (:class:`~nbstream.tools.calls.ToolRound`), shows each as a short markdown
block (name, arguments, status, a preview of the result), then streams the next round,
until an answer needs no tools or the round limit is reached. Every round stays on the
delta protocol: the view gets each piece of text once.

What the exchange added to the conversation, in OpenAI format (assistant ``tool_calls``,
one ``tool`` message per call, then the final answer), is in :attr:`ToolRounds.added`
once the stream has ended; an interrupted stream stops the running calls and adds
nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from nbstream.answer import AnswerAccumulator
from nbstream.backends import Backend
from nbstream.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from nbstream.sources import aiter_events, check_async_source, check_sync_source, iter_events
from nbstream.sources.closing import aclose_quietly, close_quietly
from nbstream.sources.idle import aopen_within, open_within
from nbstream.tools.calls import Approve, CallState, ToolRound
from nbstream.tools.messages import assistant_message, tool_message
from nbstream.tools.results import DEFAULT_RESULT_LIMIT
from nbstream.tools.spec import Tool

__all__ = ["PREVIEW_LIMIT", "ToolRounds", "call_markdown", "limit_note"]

PREVIEW_LIMIT = 600
"""Characters of a result the view shows (the model gets up to the result limit)."""


def limit_note(limit: int) -> str:
    """What an answer stopped at the round limit says after its last round.

    >>> limit_note(8)
    'Stopped after 8 rounds of tool calls (max_tool_rounds=8); the last calls were not run.'
    """
    return (
        f"Stopped after {limit} rounds of tool calls (max_tool_rounds={limit}); "
        "the last calls were not run."
    )


class ToolRounds:
    """The rounds of one answer, streamed as events, with the tool calls run between them.

    Iterate it (sync backends) or ``async for`` over it (async ones), once.

    Args:
        backend: Where each round's answer comes from.
        messages: The request: the conversation, ending with the user's question.
        tools: The tools the model may call, by name.
        approve: None to run every call, or ``approve(name, arguments) -> bool``.
        loop: The event loop async tools run on when iterated synchronously (a loop
            running in another thread; iterated with ``async for``, the running one).
        max_tool_rounds: Rounds of calls after which the answer ends with a note.
        result_limit: Characters of a result the model gets.
        idle_timeout: Seconds of quiet, in one round's stream, that end it.

    Example:
        >>> from nbstream.backends import resolve_backend
        >>> def scripted(messages, tools=None):
        ...     if messages[-1]["role"] == "tool":
        ...         return [f"It is {messages[-1]['content']}."]
        ...     add = {"name": "add", "arguments": '{"a": 2, "b": 3}'}
        ...     call = {"index": 0, "id": "c1", "function": add}
        ...     return [{"choices": [{"index": 0, "delta": {"tool_calls": [call]}}]}]
        >>> def add(a: int, b: int) -> int:
        ...     return a + b
        >>> question = [{"role": "user", "content": "2 + 3?"}]
        >>> tools = {"add": Tool.from_function(add)}
        >>> rounds = ToolRounds(resolve_backend(scripted, None, {}), question, tools)
        >>> text = "".join(e.text for e in rounds if isinstance(e, TextDelta))
        >>> text.endswith("It is 5.")
        True
        >>> [m["role"] for m in rounds.added], rounds.rounds, rounds.calls
        (['assistant', 'tool', 'assistant'], 2, 1)
    """

    def __init__(
        self,
        backend: Backend,
        messages: list[dict[str, Any]],
        tools: Mapping[str, Tool],
        *,
        approve: Approve | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        max_tool_rounds: int = 8,
        result_limit: int = DEFAULT_RESULT_LIMIT,
        idle_timeout: float | None = None,
    ) -> None:
        self._backend = backend
        self._messages = list(messages)
        self._tools = dict(tools)
        self._approve = approve
        self._loop = loop
        self._max_tool_rounds = max_tool_rounds
        self._result_limit = result_limit
        self._idle_timeout = idle_timeout
        self._schemas = [tool.schema() for tool in self._tools.values()] or None
        self._usage: list[Usage] = []
        self._pending: list[dict[str, Any]] = []
        self._iterator: Iterator[Event] | AsyncIterator[Event] | None = None
        self._last_finish: str | None = None
        self._limited = False  # ended at the round limit, with calls not run
        self._text_shown = False  # whether the view has text yet
        # What client_of() reads, so that a failure's description has its key redacted.
        self._client = getattr(backend, "_client", None)
        self.added: list[dict[str, Any]] = []
        """The messages this answer adds to the conversation (set when it has ended)."""
        self.rounds = 0
        """Answers streamed so far (1, plus one per round of calls)."""
        self.calls = 0
        """Tool calls made so far."""
        self.reply = ""
        """The final answer's reply (its text, or its refusal)."""

    # -- the twins ----------------------------------------------------------------------

    def __iter__(self) -> Iterator[Event]:
        self._iterator = self._events()
        return self._iterator

    def __aiter__(self) -> AsyncIterator[Event]:
        self._iterator = self._aevents()
        return self._iterator

    def close(self) -> None:
        """Close the round streaming now (what a view does when the stream ends early)."""
        close_quietly(self._iterator)

    async def aclose(self) -> None:
        """Async twin of :meth:`close`."""
        await aclose_quietly(self._iterator)

    def _events(self) -> Iterator[Event]:
        while True:
            answer = AnswerAccumulator()
            source = open_within(self._open, self._idle_timeout, close_quietly)
            try:
                events = iter_events(check_sync_source(source), idle_timeout=self._idle_timeout)
                for event in events:
                    yield from self._shown(answer, event)
            finally:
                close_quietly(source)
            round = self._after(answer)
            if round is None:
                yield from self._ending()
                return
            try:
                round.run()
            except BaseException:
                round.stop()  # an interrupt in a sync tool: the async ones stop too
                raise
            yield self._ran(round)

    async def _aevents(self) -> AsyncIterator[Event]:
        while True:
            answer = AnswerAccumulator()
            opened = self._open()
            if _awaitable(opened):
                opened = await aopen_within(opened, self._idle_timeout)
            source = opened
            try:
                events = aiter_events(check_async_source(source), idle_timeout=self._idle_timeout)
                async for event in events:
                    for shown in self._shown(answer, event):
                        yield shown
            finally:
                await aclose_quietly(source)
            self._loop = asyncio.get_running_loop()
            round = self._after(answer)
            if round is None:
                for event in self._ending():
                    yield event
                return
            try:
                # Sync tools run in a worker thread, so the loop (and async tools) run on.
                await asyncio.to_thread(round.run)
            except BaseException:
                round.stop()
                raise
            yield self._ran(round)

    # -- the shared core ----------------------------------------------------------------

    def _open(self) -> Any:
        self.rounds += 1
        return self._backend.open([*self._messages, *self._pending], self._schemas)

    def _shown(self, answer: AnswerAccumulator, event: Event) -> Iterator[Event]:
        answer.add(event)
        # The view shows text; calls are shown once run, usage once summed, and a
        # round's finish only if it is the last.
        if isinstance(event, Usage):
            self._usage.append(event)
        elif not isinstance(event, (ToolCallDelta, Finish)):
            self._text_shown = self._text_shown or isinstance(event, TextDelta)
            yield event

    def _after(self, answer: AnswerAccumulator) -> ToolRound | None:
        """The round of calls ``answer`` made, or None when it is the final answer."""
        answer.end()
        calls = answer.tool_calls if self._tools else []
        if not calls or self._rounds_of_calls() >= self._max_tool_rounds:
            self.reply = answer.reply
            self._last_finish = answer.finish_reason
            self._limited = bool(calls)
            self._pending.append(assistant_message(answer.reply))
            return None
        self.calls += len(calls)
        self._pending.append(assistant_message(answer.text, calls))
        return ToolRound(
            calls,
            self._tools,
            approve=self._approve,
            loop=self._loop,
            result_limit=self._result_limit,
        )

    def _rounds_of_calls(self) -> int:
        return sum(1 for message in self._pending if message.get("tool_calls"))

    def _ran(self, round: ToolRound) -> TextDelta:
        self._pending.extend(tool_message(s.call["id"], s.content) for s in round.states)
        blocks = "\n\n".join(call_markdown(state) for state in round.states)
        # Blocks stand apart from the text around them (markdown needs the blank lines).
        before = "\n\n" if self._text_shown else ""
        self._text_shown = True
        return TextDelta(f"{before}{blocks}\n\n")

    def _ending(self) -> Iterator[Event]:
        if self._limited:
            yield TextDelta(f"\n\n*{limit_note(self._max_tool_rounds)}*")
        if self._usage:
            yield _summed(self._usage)
        if self._last_finish is not None:
            yield Finish(self._last_finish)
        self.added = list(self._pending)


def call_markdown(state: CallState, preview_limit: int = PREVIEW_LIMIT) -> str:
    """A call as the view shows it: name, arguments, status, and a preview of the result.

    >>> from nbstream.tool_calls import ToolCall
    >>> state = CallState(ToolCall(id="c1", name="add", arguments='{"a":2}'), "done", "5", 0.004)
    >>> print(call_markdown(state))
    🔧 **add** `{"a": 2}` · done in 4 ms
    <BLANKLINE>
    ```text
    5
    ```
    """
    call = state.call
    status: str = state.status
    if status == "done" and state.duration is not None:
        status = f"done in {_duration(state.duration)}"
    line = f"🔧 **{_escaped(call['name'])}** {_code(_arguments(call['arguments']))} · {status}"
    if state.note:
        line += f" ({state.note})"
    preview = state.content
    if len(preview) > preview_limit:
        preview = f"{preview[:preview_limit]}… ({len(state.content):,} characters in all)"
    fence = "`" * max(3, _longest_run(preview, "`") + 1)
    return f"{line}\n\n{fence}text\n{preview}\n{fence}"


def _arguments(raw: str) -> str:
    try:
        return json.dumps(json.loads(raw), ensure_ascii=False)
    except ValueError:
        return raw


def _code(text: str) -> str:
    # An inline code span needs a fence longer than any run of backticks inside it.
    fence = "`" * (_longest_run(text, "`") + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _escaped(name: str) -> str:
    return "".join(f"\\{c}" if c in "\\`*_[]<>#" else c for c in name)


def _longest_run(text: str, char: str) -> int:
    longest = run = 0
    for c in text:
        run = run + 1 if c == char else 0
        longest = max(longest, run)
    return longest


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _summed(usages: list[Usage]) -> Usage:
    def total(values: list[int | None]) -> int | None:
        known = [value for value in values if value is not None]
        return sum(known) if known else None

    return Usage(
        total([u.prompt_tokens for u in usages]),
        total([u.completion_tokens for u in usages]),
        total([u.total_tokens for u in usages]),
    )


def _awaitable(value: object) -> bool:
    return hasattr(value, "__await__")
