"""The conversation as the widget shows it (turns) and as the API sees it (messages).

A *turn* carries what the browser needs (status, reasoning, tool calls, footer stats);
the OpenAI-format *messages* are derived from turns, and turns can be rebuilt from
messages the user sets. See ``docs/chat-protocol.md``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TypedDict, cast

from nbstream.answer import AnswerStats
from nbstream.attachments import placeholder
from nbstream.attachments.headers import fenced
from nbstream.attachments.read_back import read_back
from nbstream.tool_calls import ToolCall
from nbstream.tools.calls import CallStatus
from nbstream.tools.messages import openai_tool_call

__all__ = [
    "Turn",
    "TurnStatus",
    "copy_messages",
    "export_json",
    "export_markdown",
    "request_messages",
    "synced_turns",
    "to_messages",
    "turns_from_messages",
    "with_placeholders",
]

TurnStatus = Literal["streaming", "done", "stopped", "error"]
# Turns still being written: not part of the history until they end.
_IN_FLIGHT = ("streaming", "pending", "waiting", "running")
_ROLES = ("system", "user", "assistant", "tool")


class _TurnBase(TypedDict):
    id: int
    role: Literal["user", "assistant", "tool"]
    content: str


class Turn(_TurnBase, total=False):
    """One message of the displayed conversation (assistant and tool turns carry extras).

    A tool turn is one call's card and result: ``tool_call_id`` and ``name`` say which
    call, ``status`` where it is (see :mod:`nbstream.tools.calls`), ``duration`` how long
    it ran, and ``note`` why it ended as it did. An assistant turn's ``note`` says why
    the exchange ended early (the round limit).

    A user turn's ``attachments`` are what its chips show (:data:`AttachmentView`, with
    a thumbnail at most), and ``parts`` the content parts the model gets for them: the
    kernel keeps those, and :func:`synced_turns` leaves them out of what the browser
    (and a saved notebook) gets.
    """

    status: TurnStatus | CallStatus
    reasoning: str
    tool_calls: list[ToolCall]
    tool_call_id: str
    name: str
    duration: float | None
    note: str | None
    error: str | None
    stats: AnswerStats | None
    attachments: list[dict[str, object]]  # AttachmentViews; object, not Any, which makes
    # mypy 2.4 lose the type of reversed(turns)
    parts: list[dict[str, object]]


def synced_turns(turns: list[dict[str, Any]], _widget: object = None) -> list[dict[str, Any]]:
    """The turns as the browser gets them: without attachments' ``parts``.

    The ``_turns`` trait's ``to_json``: an image's data then never travels to the
    browser, nor into saved widget state, however often the turns are sent.

    >>> synced_turns([{"id": 1, "role": "user", "content": "", "parts": [{"type": "text"}]}])
    [{'id': 1, 'role': 'user', 'content': ''}]
    """
    return [
        {key: value for key, value in turn.items() if key != "parts"} if "parts" in turn else turn
        for turn in turns
    ]


def _user_content(turn: Turn) -> str | list[dict[str, Any]]:
    parts = turn.get("parts")
    if not parts:
        return turn["content"]
    text = [{"type": "text", "text": turn["content"]}] if turn["content"] else []
    return [*text, *parts]


def to_messages(system: str | None, turns: Iterable[Turn]) -> list[dict[str, Any]]:
    """The OpenAI-format history: the system prompt, then every turn with something in it.

    Reasoning is never part of it. An assistant turn that produced nothing (failed or
    stopped before its first token) is left out.
    """
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": system})
    for turn in turns:
        if turn.get("status") in _IN_FLIGHT:
            continue
        message: dict[str, Any] = {"role": turn["role"], "content": _user_content(turn)}
        calls = turn.get("tool_calls") or []
        if turn["role"] == "assistant":
            if not turn["content"] and not calls:
                continue
            if calls:
                message["tool_calls"] = [openai_tool_call(call) for call in calls]
        if turn["role"] == "tool":
            message["tool_call_id"] = turn.get("tool_call_id", "")
        messages.append(message)
    return messages


def copy_messages(system: str | None, turns: Iterable[Turn]) -> list[dict[str, Any]]:
    """:func:`to_messages` for copies (the static HTML): each attachment is a placeholder
    line after the question, not its data."""
    shown = [
        Turn(id=turn["id"], role=turn["role"], content=with_placeholders(turn, markdown=False))
        if turn.get("attachments")
        else turn
        for turn in turns
    ]
    return to_messages(system, shown)


def with_placeholders(turn: Turn, *, markdown: bool = True) -> str:
    """A user turn's text, then a line for each attachment, as copies show them."""
    lines = [placeholder(view, markdown=markdown) for view in turn.get("attachments") or ()]
    return "\n\n".join(text for text in [turn["content"], *lines] if text)


def request_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The history as sent to the model.

    Tool calls are shown, not executed, so a call may have no ``tool`` reply; providers
    reject such a history (OpenAI: "An assistant message with 'tool_calls' must be
    followed by tool messages"), which would make the conversation unusable. Unanswered
    calls are therefore left out of the request (never out of :attr:`Chat.messages`).
    """
    answered = {m.get("tool_call_id") for m in messages if m.get("role") == "tool"}
    sent: list[dict[str, Any]] = []
    for message in messages:
        calls = message.get("tool_calls")
        if not calls:
            sent.append(dict(message))
            continue
        kept = [call for call in calls if call.get("id") in answered]
        trimmed = {k: v for k, v in message.items() if k != "tool_calls"}
        if kept:
            trimmed["tool_calls"] = kept
        elif not trimmed.get("content"):
            continue  # nothing left to say
        sent.append(trimmed)
    return sent


def turns_from_messages(messages: object, next_id: Iterable[int]) -> tuple[str | None, list[Turn]]:
    """Validate OpenAI-format ``messages`` and turn them into ``(system, turns)``.

    Raises:
        TypeError, ValueError: naming the message (by index) and the field at fault.
    """
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise TypeError(
            f"messages must be a list of {{'role': ..., 'content': ...}} dicts, "
            f"got {type(messages).__name__}"
        )
    ids = iter(next_id)
    system: str | None = None
    turns: list[Turn] = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, Mapping):
            raise TypeError(f"{where} must be a dict, got {type(message).__name__}")
        role = message.get("role")
        if role not in _ROLES:
            raise ValueError(f"{where}['role'] must be one of {', '.join(_ROLES)}; got {role!r}")
        raw = message.get("content")
        found = read_back(raw) if role == "user" and isinstance(raw, list) else None
        content = found.question if found else _text_content(raw, where)
        if found is not None:
            _check_parts(cast(list[Any], raw), where)
        if role == "system":
            if turns or system is not None:
                raise ValueError(f"{where}: the system message must come first, and only once")
            system = content
            continue
        turn = Turn(id=next(ids), role=role, content=content)
        if found is not None and found.parts:
            turn["attachments"] = found.views
            turn["parts"] = found.parts
        if role == "assistant":
            turn["status"] = "done"
            turn["reasoning"] = ""
            turn["tool_calls"] = _tool_calls(message.get("tool_calls"), where)
            turn["error"] = None
            turn["stats"] = None
        elif role == "tool":
            call_id = message.get("tool_call_id", "")
            if not isinstance(call_id, str):
                raise TypeError(f"{where}['tool_call_id'] must be a str")
            turn["tool_call_id"] = call_id
            turn["name"] = _name_of_call(turns, call_id)
            turn["status"] = "done"
            turn["duration"] = None
            turn["note"] = None
        turns.append(turn)
    return system, turns


def _name_of_call(turns: list[Turn], call_id: str) -> str:
    """The tool an earlier assistant turn called with ``call_id`` ("" if none did)."""
    for turn in reversed(turns):
        for call in turn.get("tool_calls") or ():
            if call["id"] == call_id:
                return call["name"]
    return ""


def _text_content(content: object, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    # The multi-part form: [{"type": "text", "text": "..."}, {"type": "image_url", ...}].
    if isinstance(content, Sequence) and all(isinstance(part, Mapping) for part in content):
        texts = [part.get("text") for part in content if part.get("type") == "text"]
        if all(isinstance(text, str) for text in texts):
            return "\n\n".join(str(text) for text in texts)
    raise TypeError(
        f"{where}['content'] must be a str (or a list of text parts), got {type(content).__name__}"
    )


_PART_TYPES = ("text", "image_url", "input_text", "input_image")


def _check_parts(content: list[Any], where: str) -> None:
    for index, part in enumerate(content):
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind not in _PART_TYPES:
            raise ValueError(
                f"{where}['content'][{index}] must be a content part of type "
                f"{', '.join(map(repr, _PART_TYPES))}; got {kind or type(part).__name__!r}"
            )


def _tool_calls(calls: object, where: str) -> list[ToolCall]:
    if calls is None:
        return []
    if not isinstance(calls, Sequence) or isinstance(calls, (str, bytes)):
        raise TypeError(f"{where}['tool_calls'] must be a list")
    result: list[ToolCall] = []
    for position, call in enumerate(calls):
        function = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            raise ValueError(
                f"{where}['tool_calls'][{position}] must be "
                "{'id': ..., 'type': 'function', 'function': {'name': ..., 'arguments': ...}}"
            )
        arguments = function.get("arguments", "")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments)
        result.append(
            ToolCall(
                id=str(call.get("id") or f"call_{position}"),
                name=function["name"],
                arguments=arguments,
            )
        )
    return result


_HEADINGS = {"user": "User", "assistant": "Assistant", "tool": "Tool result"}


def export_markdown(system: str | None, turns: Iterable[Turn]) -> str:
    """The conversation as a Markdown document (reasoning left out, like in copies).

    Each tool call shows its arguments, and each result the text the model got back.
    """
    parts: list[str] = []
    if system:
        parts.append(f"## System\n\n{system}")
    for turn in turns:
        if turn.get("status") in _IN_FLIGHT:
            continue
        if turn["role"] == "tool":
            parts.append(_tool_result_markdown(turn))
            continue
        body = with_placeholders(turn)
        for call in turn.get("tool_calls") or []:
            body += f"\n\nTool call `{call['name']}`:\n\n{fenced(call['arguments'], 'json')}"
        if turn.get("status") == "stopped":
            body += "\n\n*(stopped)*"
        elif turn.get("status") == "error":
            body += f"\n\n*(failed: {turn.get('error')})*"
        if turn.get("note"):
            body += f"\n\n*({turn.get('note')})*"
        parts.append(f"## {_HEADINGS[turn['role']]}\n\n{body.strip()}")
    return "\n\n".join(parts) + "\n"


def _tool_result_markdown(turn: Turn) -> str:
    name = turn.get("name")
    heading = f"## {_HEADINGS['tool']}" + (f" (`{name}`)" if name else "")
    status = turn.get("status")
    flag = f"\n\n*({status})*" if status in ("error", "denied", "cancelled") else ""
    return f"{heading}\n\n{fenced(turn['content'])}{flag}"


def export_json(system: str | None, turns: Iterable[Turn]) -> str:
    """The OpenAI-format history as JSON: ready for ``json.load`` and ``messages=``."""
    return json.dumps(to_messages(system, turns), indent=2, ensure_ascii=False) + "\n"
