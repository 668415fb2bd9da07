"""``<think>…</think>`` at the start of an answer's text becomes reasoning: one stage of
the event pipeline (:func:`split_think` / :func:`asplit_think`), so every consumer
sees the same split.

Some servers (llama.cpp, Qwen and DeepSeek-R1 deployments) stream reasoning inside the
content. Only a block that opens the answer counts: a model that writes about the tag
later on is quoting it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Literal

from nbstream.events import Event, ReasoningDelta, TextDelta

__all__ = ["ThinkSplitter", "asplit_think", "split_think"]


class ThinkSplitter:
    """Move ``<think>…</think>`` at the start of an answer's text into reasoning events.

    Tags may be split across deltas, so text that could still turn out to be (part of)
    a tag is held back until it cannot.

    >>> splitter = ThinkSplitter()
    >>> splitter.feed(TextDelta("<thi")), splitter.feed(TextDelta("nk>Hmm.</think>\\n\\nHi"))
    ([], [ReasoningDelta(text='Hmm.', type='reasoning'), TextDelta(text='Hi', type='text')])
    """

    OPEN, CLOSE = "<think>", "</think>"

    def __init__(self) -> None:
        self._state: Literal["start", "thinking", "after", "answer"] = "start"
        self._held = ""

    def feed(self, event: Event) -> list[Event]:
        """Events to emit for ``event`` (text may become reasoning, or wait)."""
        if self._state == "answer" or not isinstance(event, TextDelta):
            return [event]
        if self._state == "after":
            # The blank line that separates reasoning from the answer is not the answer's.
            text = event.text.lstrip()
            if not text:
                return []
            self._state = "answer"
            return [TextDelta(text)]
        self._held += event.text
        return self._split()

    def flush(self) -> list[Event]:
        """What is still held back when the source ends."""
        held, self._held = self._held, ""
        if not held:
            return []
        if self._state == "thinking":
            return [ReasoningDelta(held)]
        # Text that never became a tag is the answer's, whitespace included.
        return [TextDelta(held)]

    def _split(self) -> list[Event]:
        events: list[Event] = []
        if self._state == "start":
            stripped = self._held.lstrip()
            if self.OPEN.startswith(stripped):
                return []  # could still be the opening tag (or only whitespace so far)
            if not stripped.startswith(self.OPEN):
                self._state = "answer"
                held, self._held = self._held, ""
                return [TextDelta(held)]
            self._state = "thinking"
            self._held = stripped[len(self.OPEN) :]
        if self._state == "thinking":
            end = self._held.find(self.CLOSE)
            if end < 0:
                # Emit all but a tail that could be the start of the closing tag.
                keep = _partial_suffix(self._held, self.CLOSE)
                ready = self._held[: len(self._held) - keep]
                self._held = self._held[len(self._held) - keep :]
                if ready:
                    events.append(ReasoningDelta(ready))
                return events
            if reasoning := self._held[:end]:
                events.append(ReasoningDelta(reasoning))
            self._state = "after"
            rest, self._held = self._held[end + len(self.CLOSE) :], ""
            if rest:
                events.extend(self.feed(TextDelta(rest)))
        return events


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


def split_think(events: Iterator[Event]) -> Iterator[Event]:
    """``events`` with a leading ``<think>`` block turned into reasoning.

    What the splitter holds back comes out when ``events`` ends, and also when it fails
    (before the failure is re-raised): nothing that arrived is lost to an error. A
    consumer that stops early (closing this generator) does not want it.
    """
    splitter = ThinkSplitter()
    try:
        for event in events:
            yield from splitter.feed(event)
    except GeneratorExit:
        raise
    except BaseException:
        yield from splitter.flush()
        raise
    yield from splitter.flush()


async def asplit_think(events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    """Async twin of :func:`split_think`."""
    splitter = ThinkSplitter()
    try:
        async for event in events:
            for split in splitter.feed(event):
                yield split
    except GeneratorExit:
        raise
    except BaseException:
        for split in splitter.flush():
            yield split
        raise
    for split in splitter.flush():
        yield split
