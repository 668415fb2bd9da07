"""The typed events every source becomes: what the widgets know of a stream.

Sources differ (OpenAI chat chunks, Responses API events, plain text); the normalisers
in :mod:`nbstream.sources` turn each into these values, so nothing downstream knows
which provider sent them, and :class:`nbstream.answer.AnswerAccumulator` folds them
into one answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

__all__ = [
    "Event",
    "Finish",
    "ReasoningDelta",
    "RefusalDelta",
    "TextDelta",
    "ToolCallDelta",
    "Usage",
]


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of answer text."""

    text: str
    type: Literal["text"] = "text"


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's reasoning, kept apart from the answer."""

    text: str
    type: Literal["reasoning"] = "reasoning"


@dataclass(frozen=True, slots=True)
class RefusalDelta:
    """A piece of a refusal: the model declining to answer (OpenAI's ``refusal``)."""

    text: str
    type: Literal["refusal"] = "refusal"


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts, when the provider sends them."""

    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    type: Literal["usage"] = "usage"


@dataclass(frozen=True, slots=True)
class Finish:
    """Why the model stopped (``stop``, ``length``, ``content_filter``, ``tool_calls``…)."""

    reason: str
    type: Literal["finish"] = "finish"


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of a tool call: the call at ``index`` gets these fields (or more arguments).

    Providers send the id and name once, then the arguments in pieces; see
    :class:`nbstream.tool_calls.ToolCallAssembler` for putting them together.
    """

    index: int
    id: str | None
    name: str | None
    arguments: str
    type: Literal["tool_call"] = "tool_call"


Event: TypeAlias = TextDelta | ReasoningDelta | RefusalDelta | ToolCallDelta | Usage | Finish
