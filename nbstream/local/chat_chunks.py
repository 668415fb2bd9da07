"""The chat completions stream (``POST /v1/chat/completions``), built as plain dicts.

Pure, like :mod:`nbstream.local.responses` for the Responses API: the server decides what
to send and when, this module decides what it holds. A streamed reply is a sequence of
``chat.completion.chunk`` objects, each sent as ``data: <json>``, then ``data: [DONE]``::

    the role:       delta {"role": "assistant", "content": ""}
    each token:     delta {"content": ...}           answer text, or <think> reasoning
                    delta {"reasoning_content": ...} or {"reasoning": ...}
                    delta {"tool_calls": [...]}      a call's name, then its arguments
    the end:        delta {}, with the finish reason
    the usage:      no choices, only usage (if stream_options.include_usage asks)

:class:`ChunkBuilder` turns the tokens of a :class:`~nbstream.local.plan.Plan` into
these chunks one token at a time, so the server can pace them and inject faults between
any two; the shapes themselves are :mod:`nbstream.local.wire`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nbstream.local import wire
from nbstream.local.model import Token
from nbstream.local.wire import JSON

__all__ = ["ChunkBuilder"]


@dataclass(frozen=True, kw_only=True)
class ChunkBuilder:
    """Builds the chunks of one streamed chat completion, or the whole ``chat.completion``.

    Start with :meth:`start`, then feed it tokens in order with :meth:`token`, and end with
    :meth:`finish`. Each returns the chunks to send, as :class:`ResponseBuilder
    <nbstream.local.responses.ResponseBuilder>` returns events, so the server streams both
    APIs with one loop. A stream that fails part-way ends with an error body instead,
    which is not a chunk (see :func:`nbstream.local.faults.injected_error`).

    Every chunk depends only on the arguments and its token, so the builder keeps no
    state: the same builder can be asked again.

    Args:
        completion_id: The ``chatcmpl-...`` id every chunk carries.
        created: Unix time of creation.
        model: The model name to report.
        reasoning_field: The delta field reasoning streams in (``"reasoning_content"`` or
            ``"reasoning"``); None puts it in ``content`` (the ``<think>`` format).
        null_content: Start with ``"content": null`` rather than ``""``, as OpenAI does
            for a reply made only of tool calls.

    Example:
        >>> from nbstream.local.chat_chunks import ChunkBuilder
        >>> from nbstream.local.model import Token
        >>> builder = ChunkBuilder(completion_id="chatcmpl-1", created=0, model="m")
        >>> [chunk["choices"][0]["delta"] for chunk in builder.token(Token("Hi"))]
        [{'content': 'Hi'}]
    """

    completion_id: str
    created: int
    model: str
    reasoning_field: str | None = None
    null_content: bool = False

    def whole(self, tokens: Sequence[Token], *, finish_reason: str, usage: JSON) -> JSON:
        """The non-streamed ``chat.completion`` whose message is what ``tokens`` stream."""
        return wire.completion(
            completion_id=self.completion_id,
            created=self.created,
            model=self.model,
            message=wire.message(
                tokens, reasoning_field=self.reasoning_field, null_content=self.null_content
            ),
            finish_reason=finish_reason,
            usage=usage,
        )

    def start(self) -> list[JSON]:
        """The chunk that opens the assistant's message, before any token."""
        content = None if self.null_content else ""
        return [self._chunk(delta={"role": "assistant", "content": content})]

    def token(self, token: Token) -> list[JSON]:
        """The chunk that streams one token: one delta each, whatever its kind."""
        return [self._chunk(delta=wire.delta(token, reasoning_field=self.reasoning_field))]

    def finish(self, *, finish_reason: str, usage: JSON | None = None) -> list[JSON]:
        """The chunk with the finish reason, then (given ``usage``) the usage chunk."""
        chunks = [self._chunk(delta={}, finish_reason=finish_reason)]
        if usage is not None:
            chunks.append(self._chunk(usage=usage))
        return chunks

    def _chunk(self, **fields: Any) -> JSON:
        return wire.chunk(
            completion_id=self.completion_id, created=self.created, model=self.model, **fields
        )
