"""The deterministic model: choose an answer, split it into tokens.

Nothing here does I/O or reads a clock, so the same messages always give the same text
and the same tokens — which is what lets notebooks keep their outputs and tests compare
streamed text with :func:`answer` exactly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from nbstream.attachments.read_back import read_back
from nbstream.local.knowledge import DEFAULT, TOPICS, Topic
from nbstream.message_content import content_text

MODEL = "nbstream-local"
"""The model id the local server reports and answers as.

Example::

    client.chat.completions.create(model=nbstream.local.MODEL, messages=messages, stream=True)
"""

__all__ = [
    "MODEL",
    "Token",
    "TokenKind",
    "answer",
    "choose_topic",
    "default_reasoning",
    "last_question",
    "long_answer",
    "message_text",
    "parsed_arguments",
    "prompt_tokens",
    "tokenize",
    "whole_tool_calls",
]

# A word (or a run of punctuation) with the spaces before it, a run of newlines, or
# spaces left at the end of a line. Every character falls in one of them, so the
# matches always concatenate back to the text.
_PIECE = re.compile(r"[^\S\n]*(?:\w+|[^\s\w]+)|\n+|[^\S\n]+")

# Real BPE vocabularies hold whole short words and split long ones into pieces of a
# few characters; this gives tokens of about four characters on English prose.
_WHOLE_UP_TO = 6
_PIECE_SIZE = 4


def tokenize(text: str) -> list[str]:
    """Split ``text`` into sub-word tokens whose concatenation is exactly ``text``.

    Whitespace is attached to the word that follows it (``" streaming"`` becomes
    ``" stre"``, ``"aming"``), runs of newlines are one token, and words longer than
    six characters are split into four-character pieces. No token is empty.

    Example:
        >>> from nbstream.local import tokenize
        >>> tokenize("Hello streaming world")
        ['Hello', ' stre', 'aming', ' world']
    """
    tokens: list[str] = []
    for match in _PIECE.finditer(text):
        piece = match.group()
        body = piece.lstrip(" \t\r\f\v")
        if len(body) <= _WHOLE_UP_TO or body.startswith("\n") or not body.strip():
            tokens.append(piece)
            continue
        lead = piece[: len(piece) - len(body)]
        chunks = [body[i : i + _PIECE_SIZE] for i in range(0, len(body), _PIECE_SIZE)]
        if len(chunks[-1]) == 1:  # a lone trailing character reads oddly; keep it attached
            chunks[-2:] = [chunks[-2] + chunks[-1]]
        chunks[0] = lead + chunks[0]
        tokens.extend(chunks)
    return tokens


def whole_tool_calls(tokens: Iterable[Token]) -> list[dict[str, Any]]:
    """The tool calls ``tokens`` make, each whole: ``{"name", "arguments", "id"}``, the
    arguments as the JSON text the tokens spell (for the APIs that send calls whole).

    >>> whole_tool_calls([Token("add", "tool_call", call_id="c1"), Token('{"a": 1}', "arguments")])
    [{'name': 'add', 'arguments': '{"a": 1}', 'id': 'c1'}]
    """
    calls: list[dict[str, Any]] = []
    for token in tokens:
        if token.kind == "tool_call":
            calls.append({"name": token.text, "arguments": "", "id": token.call_id})
        elif token.kind == "arguments" and calls:
            calls[-1]["arguments"] += token.text
    return calls


def parsed_arguments(text: str) -> Any:
    """A call's JSON arguments as an object, for APIs that send them so ({} if unreadable)."""
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}


def message_text(content: Any) -> str:
    """The text of a chat message's ``content``: a string, or a list of text parts."""
    return content_text(content)


def prompt_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """How many tokens the messages count as in ``usage.prompt_tokens``."""
    return sum(len(tokenize(message_text(message.get("content")))) for message in messages)


def choose_topic(question: str) -> Topic:
    """The topic whose keywords appear most in ``question`` (the default if none do)."""
    lowered = question.lower()
    best, best_hits = DEFAULT, 0
    for topic in TOPICS:
        hits = sum(1 for keyword in topic.keywords if _mentions(lowered, keyword))
        if hits > best_hits:  # strictly greater: on a tie the earlier topic wins
            best, best_hits = topic, hits
    return best


def _mentions(text: str, keyword: str) -> bool:
    # Whole words only, so "view" does not match "review".
    return re.search(rf"(?<!\w){re.escape(keyword)}(?!\w)", text) is not None


def last_question(messages: Sequence[Mapping[str, Any]]) -> str:
    """The text of the last user message: what the model answers ("" if there is none).

    Example:
        >>> from nbstream.local.model import last_question
        >>> last_question([
        ...     {"role": "user", "content": "Hi"},
        ...     {"role": "assistant", "content": "Hello"},
        ... ])
        'Hi'
    """
    # An attachment's text (a whole file, a table) is not the question.
    return next(
        (
            read_back(m.get("content")).question
            for m in reversed(messages)
            if m.get("role") == "user"
        ),
        "",
    )


def answer(messages: Sequence[Mapping[str, Any]]) -> str:
    """The model's answer to a conversation: markdown chosen by the last user message.

    Every answer has a heading, a list, a GFM table and a fenced ``python`` block, and
    some non-ASCII text. The same messages always give the same answer.

    It is what the local server streams, so a test can compare with it exactly.

    Example:
        >>> from nbstream.local import answer
        >>> text = answer([{"role": "user", "content": "What is nbstream?"}])
        >>> text.splitlines()[0]
        '## What is nbstream?'
    """
    return choose_topic(last_question(messages)).to_markdown()


_QUOTE_UP_TO = 80  # characters of the question quoted in the reasoning


def default_reasoning(messages: Sequence[Mapping[str, Any]]) -> str:
    """What the model thinks before it answers, when a request asks for ``"reasoning": true``.

    A few plain sentences about the last user message: it quotes the question (cut to
    80 characters) and names the topic :func:`answer` will pick. Never empty, and the
    same messages always give the same reasoning.

    Example:
        >>> from nbstream.local import default_reasoning
        >>> default_reasoning([{"role": "user", "content": "What is nbstream?"}])
        'The user asks: “What is nbstream?”. My notes on “What is nbstream?” cover it, ...'
    """
    asked = last_question(messages)
    topic = choose_topic(asked)  # the same topic as the answer's
    question = " ".join(asked.split())
    if len(question) > _QUOTE_UP_TO:
        question = question[: _QUOTE_UP_TO - 1].rstrip() + "…"
    sentences = [
        f"The user asks: “{question}”." if question else "The user sent no question I can read.",
        (
            "It matches none of the topics I know, so I will say what I can answer instead."
            if topic is DEFAULT
            else f"My notes on “{topic.title}” cover it, so I will answer from them."
        ),
        "A heading, a few points, a table and a short Python example should make it clear.",
        "Keep it short, and in markdown.",
    ]
    return " ".join(sentences)


TokenKind = Literal["reasoning", "content", "tool_call", "arguments"]
"""What a :class:`Token` is part of."""


@dataclass(frozen=True)
class Token:
    """One completion token of a reply: one streamed delta, one count in ``usage``.

    ``kind`` says where it goes: ``"reasoning"`` (before the answer), ``"content"``
    (the answer text), ``"tool_call"`` (the start of a tool call; ``text`` is the
    function's name) or ``"arguments"`` (a piece of a tool call's arguments).
    """

    text: str
    kind: TokenKind = "content"
    call: int = 0
    """Which tool call (0, 1, ...) a ``"tool_call"`` or ``"arguments"`` token belongs to."""
    call_id: str = ""
    """The tool call's id, on its ``"tool_call"`` token only."""


_LONG_TITLE = "# nbstream — the long answer\n\n"
_FILLER_SENTENCES = (
    "Streaming text arrives token by token, and the view keeps up without re-rendering"
    " everything it has already shown.",
    "Each delta carries an offset, so a lost message is noticed and repaired.",
    "Tables, lists and code blocks are rendered while they are still incomplete.",
    "The cursor stays at the end of the text until the stream is over.",
)


def long_answer(n_tokens: int) -> str:
    """A deterministic markdown document of exactly ``n_tokens`` tokens, for benchmarks.

    It cycles through numbered sections (headings, lists, tables, code blocks) and ends
    with a paragraph of prose cut to the exact length, so that no code fence is left
    open. Below a few tokens the title itself is cut.

    Example:
        >>> from nbstream.local import long_answer, tokenize
        >>> len(tokenize(long_answer(5_000)))
        5000
    """
    if n_tokens < 0:
        raise ValueError(f"n_tokens must be >= 0, got {n_tokens}")
    parts = [_LONG_TITLE]
    used = len(tokenize(_LONG_TITLE))
    if used >= n_tokens:
        return "".join(tokenize(_LONG_TITLE)[:n_tokens])
    number = 1
    while True:
        topic = TOPICS[(number - 1) % len(TOPICS)]
        # Sections end with a blank line and begin with "#", so token boundaries
        # between them are the same as within them and the counts simply add up.
        section = topic.to_markdown(title=f"{number}. {topic.title}") + "\n"
        size = len(tokenize(section))
        if used + size > n_tokens:
            break
        parts.append(section)
        used += size
        number += 1
    parts.append("".join(_filler(n_tokens - used)))
    return "".join(parts)


def _filler(n_tokens: int) -> list[str]:
    """The first ``n_tokens`` tokens of an endless prose paragraph."""
    tokens: list[str] = []
    index = 0
    while len(tokens) < n_tokens:
        sentence = _FILLER_SENTENCES[index % len(_FILLER_SENTENCES)]
        tokens.extend(tokenize(sentence if index == 0 else " " + sentence))
        index += 1
    return tokens[:n_tokens]
