"""Replay a recorded provider transcript: answer a request with exactly the given bytes.

A test (or a demo) puts the response it wants in the request::

    client.chat.completions.create(
        model=nbstream.local.MODEL,
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        extra_body={"nbstream": {"replay": {
            "body": 'data: {"choices": [...]}\\n\\ndata: [DONE]\\n\\n',
            "splits": [7, 30],  # byte offsets into the UTF-8 of body
        }}},
    )

and the server answers with the UTF-8 of ``body``, byte for byte, whatever it is: another
provider's chunk shapes, SSE comments, CRLF line endings, an error event, a JSON error
where a stream was expected, or a stream that stops without ``data: [DONE]``. This is how
the source layer is tested against provider quirks with the real ``openai`` SDK in between.

The fields of ``"replay"``:

- ``body`` (required): the response body, a string sent as UTF-8.
- ``status``: the HTTP status, 200 by default.
- ``headers``: response headers as ``{name: value}``; ``content-type`` defaults to
  ``text/event-stream``. The server frames the body itself (chunked transfer encoding),
  so ``content-length``, ``transfer-encoding`` and ``connection`` may not be given.
- ``splits``: byte offsets where the body is cut into pieces, each sent as its own HTTP
  chunk and flushed at once (the socket has ``TCP_NODELAY``). Offsets may fall inside a
  UTF-8 sequence or a line; order and repeats do not matter; 0 and the body's length cut
  nothing. The client's HTTP parser sees every piece as a separate read.
- ``split_delay``: seconds to wait between pieces (0 by default), to also let the pieces
  arrive in separate TCP reads.

After the last piece the body ends normally (the terminating chunk): a transcript that
ends without ``data: [DONE]`` just ends there, as a provider's would.

Everything here is pure; :meth:`nbstream.local.pacing.Pacer.replay` does the sending.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from nbstream.local.validation import RequestError, is_int

__all__ = [
    "DEFAULT_CONTENT_TYPE",
    "MAX_SPLIT_DELAY",
    "Replay",
    "parse_replay",
]

DEFAULT_CONTENT_TYPE = "text/event-stream"
"""The ``content-type`` of a replay that gives none: a server-sent event stream."""

MAX_SPLIT_DELAY = 10.0
"""The longest ``split_delay`` accepted, in seconds: a typo must not hang a test."""

_KEYS = ("body", "headers", "split_delay", "splits", "status")
# The server frames the body (chunked transfer encoding) and manages the connection;
# a transcript that tried to would corrupt the HTTP framing the client parses.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header name (RFC 9110)
_WHERE = "nbstream.replay"


@dataclass(frozen=True)
class Replay:
    """A validated ``"replay"`` option: the exact response to send."""

    body: bytes
    """The UTF-8 of the given body."""
    status: int = 200
    headers: tuple[tuple[str, str], ...] = (("content-type", DEFAULT_CONTENT_TYPE),)
    """Response headers, in order; always includes ``content-type``."""
    splits: tuple[int, ...] = ()
    """Where to cut ``body``: sorted, unique, strictly inside it."""
    split_delay: float = 0.0

    def pieces(self) -> Iterator[bytes]:
        """The body cut at :attr:`splits`: non-empty pieces that join to the whole body."""
        start = 0
        for offset in (*self.splits, len(self.body)):
            # An empty piece would be written as the zero-size chunk that ends the body.
            if offset > start:
                yield self.body[start:offset]
                start = offset


def parse_replay(raw: object) -> Replay:
    """Validate the ``"replay"`` object of a request's nbstream options.

    Raises:
        RequestError: A missing body, an unknown key or a value of the wrong kind; the
            message names the field.
    """
    if not isinstance(raw, Mapping):
        raise RequestError(
            f"'{_WHERE}' must be an object: {{body, status, headers, splits, split_delay}}.",
            param=_WHERE,
        )
    unknown = sorted(set(raw).difference(_KEYS))
    if unknown:
        raise RequestError(
            f"Unknown key {unknown[0]!r} in '{_WHERE}'; expected some of: {', '.join(_KEYS)}.",
            param=f"{_WHERE}.{unknown[0]}",
        )

    text = raw.get("body")
    if not isinstance(text, str):
        raise RequestError(
            f"'{_WHERE}.body' is required: the exact response body, as a string.",
            param=f"{_WHERE}.body",
        )
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate in the JSON request ("\ud83d" not followed by its pair) has no
        # UTF-8; such a body can still be sent with the escape spelled out ("\\ud83d").
        raise RequestError(
            f"'{_WHERE}.body' is not valid Unicode (a lone surrogate?); escape it in the"
            " transcript instead.",
            param=f"{_WHERE}.body",
        ) from None

    return Replay(
        body=body,
        status=_status(raw.get("status", 200)),
        headers=_headers(raw.get("headers")),
        splits=_splits(raw.get("splits"), len(body)),
        split_delay=_split_delay(raw.get("split_delay")),
    )


def _status(value: object) -> int:
    # 1xx are interim responses: the client would keep waiting for the real one.
    if not isinstance(value, int) or not is_int(value) or not 200 <= value <= 599:
        raise RequestError(
            f"'{_WHERE}.status' must be an HTTP status from 200 to 599; got {value!r}.",
            param=f"{_WHERE}.status",
        )
    return value


def _headers(raw: object) -> tuple[tuple[str, str], ...]:
    where = f"{_WHERE}.headers"
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise RequestError(f"'{where}' must be an object of {{name: value}} strings.", param=where)
    headers: list[tuple[str, str]] = []
    for name, value in raw.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise RequestError(f"'{where}' has an invalid header name {name!r}.", param=where)
        if name.lower() in _FRAMING_HEADERS:
            raise RequestError(
                f"'{where}' may not set {name!r}: the server frames the body itself"
                " (chunked transfer encoding).",
                param=f"{where}.{name}",
            )
        # CR or LF in a value would let the transcript inject headers or end them early.
        if not isinstance(value, str) or not value.isprintable():
            raise RequestError(
                f"'{where}.{name}' must be a string of printable characters (no CR or LF).",
                param=f"{where}.{name}",
            )
        headers.append((name, value))
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.insert(0, ("content-type", DEFAULT_CONTENT_TYPE))
    return tuple(headers)


def _splits(raw: object, size: int) -> tuple[int, ...]:
    where = f"{_WHERE}.splits"
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise RequestError(f"'{where}' must be a list of byte offsets.", param=where)
    for index, offset in enumerate(raw):
        if not is_int(offset) or not 0 <= offset <= size:
            raise RequestError(
                f"'{where}[{index}]' must be a byte offset from 0 to {size} (the body's"
                f" length in UTF-8); got {offset!r}.",
                param=f"{where}[{index}]",
            )
    offsets: set[int] = set(raw)
    return tuple(sorted(offset for offset in offsets if 0 < offset < size))


def _split_delay(raw: Any) -> float:
    where = f"{_WHERE}.split_delay"
    if raw is None:
        return 0.0
    if (
        not isinstance(raw, (int, float))
        or isinstance(raw, bool)
        or not math.isfinite(raw)
        or not 0 <= raw <= MAX_SPLIT_DELAY
    ):
        raise RequestError(
            f"'{where}' must be a number of seconds from 0 to {MAX_SPLIT_DELAY:g}; got {raw!r}.",
            param=where,
        )
    return float(raw)
