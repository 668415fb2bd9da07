"""Exceptions nbstream raises, and how a failure is described to the user.

The description ends up in the widget (and so in saved notebooks and screenshots), so it
must be specific enough to act on and must never contain an API key.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "IdleTimeoutError",
    "IncompleteStreamError",
    "SourceError",
    "StreamClosedError",
    "StreamError",
    "StreamInProgressError",
    "api_keys_of",
    "describe_error",
    "redact",
]


class SourceError(TypeError):
    """The object given as a stream source cannot be streamed.

    Raised before anything is displayed as streaming, with a message that says what was
    given and what to pass instead (for example ``stream=True``, or ``await``).

    Example:
        >>> from nbstream import StreamView
        >>> StreamView().stream("Hello")  # a str would stream one character at a time
        Traceback (most recent call last):
          ...
        nbstream.errors.SourceError: got a str, which would stream one character at a time; ...
    """


class StreamInProgressError(RuntimeError):
    """A stream was started on a view that is already streaming.

    :meth:`nbstream.Chat.send` (and ``ask``, ``regenerate``…) raise it too while an
    answer streams: one answer at a time.

    Example::

        from nbstream import StreamInProgressError

        chat.send("Tell me a long story")
        try:
            chat.send("And another one")
        except StreamInProgressError:
            print("wait for the answer, or stop it: chat.stop()")
    """


class StreamError(RuntimeError):
    """The stream itself reported a failure, in-band or by how it ended.

    For example a Responses API ``error`` event, a server that answered a streaming
    request with a JSON error, or a stream that broke off. Errors the ``openai`` SDK
    raises itself (``openai.APIError`` and its subclasses) pass through unchanged.

    Example::

        from nbstream.errors import StreamError

        try:
            view.stream(client.responses.create(model=model, input=question, stream=True))
        except StreamError:  # or one of its subclasses: IncompleteStreamError, ...
            print(view.error)  # "Type: message"; the text so far stays in view.content
    """


class IncompleteStreamError(StreamError):
    """The stream ended before the model said it had finished.

    An OpenAI-compatible stream ends with a ``finish_reason`` (or a Responses API
    ``response.completed``). Without one the answer is cut short: the connection was
    closed early, or the server reported an error in a form the SDK ignores (llama.cpp
    sends ``error:`` lines).

    Example::

        from nbstream.errors import IncompleteStreamError

        try:
            text = view.stream(client.chat.completions.create(..., stream=True))
        except IncompleteStreamError:
            text = None  # view.content keeps what arrived; ask again
    """


class IdleTimeoutError(StreamError, TimeoutError):
    """Nothing arrived from the source for longer than the idle timeout allows.

    Raised by ``view.stream(..., idle_timeout=S)`` and ``astream``. ``Chat(...,
    idle_timeout=S)`` ends the answer with it: shown on the answer, raised by ``ask``.

    Example::

        from nbstream.errors import IdleTimeoutError

        try:
            view.stream(client.chat.completions.create(..., stream=True), idle_timeout=30)
        except IdleTimeoutError:
            print(view.error)  # the text so far stays in view.content
    """


class StreamClosedError(StreamError):
    """The widget was closed while it was streaming; the stream was stopped.

    Example::

        from nbstream.errors import StreamClosedError

        # In one thread (or cell):
        try:
            view.stream(client.chat.completions.create(..., stream=True))
        except StreamClosedError:
            pass  # someone closed the view: its text so far is in view.content
        # Meanwhile, in another:
        view.close()
    """


# Shapes of credentials that can leak into exception text: OpenAI-style keys (sk-…,
# sk-proj-…), bearer tokens echoed by proxies, and `api_key=`/`api-key:` pairs in URLs or
# headers quoted by HTTP libraries.
_SECRET_PATTERNS = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._\-~+/]{8,}=*"),
    re.compile(r"(?i)\b(api[_-]?key|access[_-]?token|token)\s*[=:]\s*[\"']?[^\s\"'&,}]{6,}"),
)
_REDACTED = "[redacted]"


def api_keys_of(client: object) -> tuple[str, ...]:
    """The API key a client holds (``client.api_key``), to :func:`redact` from messages.

    An OpenAI stream's client is its ``_client``; anything without a key gives ``()``.

    >>> import openai
    >>> api_keys_of(openai.OpenAI(api_key="sk-test-123456", base_url="http://127.0.0.1:9"))
    ('sk-test-123456',)
    >>> api_keys_of(None)
    ()
    """
    key = getattr(client, "api_key", None)
    return (key,) if isinstance(key, str) and key else ()


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove credentials from ``text``: the given ``secrets`` and anything shaped like a key.

    >>> redact("Incorrect API key provided: sk-abc123def456")
    'Incorrect API key provided: [redacted]'
    """
    for secret in secrets:
        # Very short "secrets" (e.g. a placeholder like "x") would shred ordinary words.
        if secret and len(secret) >= 6:
            text = text.replace(secret, _REDACTED)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(_redact_match, text)
    return text


def _redact_match(match: re.Match[str]) -> str:
    # Keep the name of a `key=value` pair so the message still says what was wrong.
    if match.re is _SECRET_PATTERNS[2]:
        return f"{match.group(1)}={_REDACTED}"
    return _REDACTED


def describe_error(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """A one-line, key-free description of why a stream ended: ``"Type: message"``.

    HTTP errors from the ``openai`` SDK are told by status and the provider's own
    message (and when to retry, for a 429), not by the SDK's dump of the response body.

    >>> describe_error(ValueError("bad chunk"))
    'ValueError: bad chunk'
    >>> describe_error(KeyboardInterrupt())
    'KeyboardInterrupt: the stream was interrupted'
    """
    name = type(exc).__name__
    if isinstance(exc, KeyboardInterrupt):
        return f"{name}: the stream was interrupted"
    if isinstance(exc, asyncio.CancelledError) and not str(exc):
        return f"{name}: the stream was cancelled"
    if isinstance(exc, json.JSONDecodeError):
        return (
            f"{name}: the server sent a line that is not valid JSON ({exc.msg}, {exc.doc[:60]!r})"
        )
    message = _http_error_message(exc) or str(exc).strip()
    if not message:
        return name
    return f"{name}: {redact(message, secrets)}"


def _http_error_message(exc: BaseException) -> str | None:
    """``HTTP 429: Rate limit reached (retry after 3 s)`` for an ``openai.APIStatusError``.

    Read by attribute rather than isinstance so that other SDKs shaped the same way
    (``status_code``, ``body``, ``response``) get the same treatment.
    """
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        return _google_error_message(exc)
    if status < 0:  # Ollama's ResponseError for an error line mid-stream: its `error` says it
        error_text = getattr(exc, "error", None)
        return f"mid-stream: {error_text}" if isinstance(error_text, str) and error_text else None
    error = _body_error(getattr(exc, "body", None))
    detail = error.get("message") if isinstance(error, dict) else None
    if not isinstance(detail, str) or not detail:
        # Ollama's ResponseError says it in `error`; the others in `message`.
        said = getattr(exc, "message", None) or getattr(exc, "error", None)
        detail = str(said or "").strip() or "no details"
    kind = error.get("type") if isinstance(error, dict) else None
    if status == 200 and isinstance(kind, str) and kind:
        # An error event inside a stream that had started well (Anthropic's
        # overloaded_error): its type says more than the 200 the stream began with.
        return f"{kind} mid-stream: {detail}"
    text = f"HTTP {status}: {detail}"
    response = getattr(exc, "response", None)
    retry_after = getattr(getattr(response, "headers", None), "get", lambda _k: None)("retry-after")
    if isinstance(retry_after, str) and retry_after:
        text += f" (retry after {retry_after} s)"
    return text


def _body_error(body: object) -> dict[str, Any] | None:
    """The ``error`` object of an SDK exception's body: a dict, or JSON text (Mistral's,
    which wraps the event as ``{"data": {"error": ...}}``)."""
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if isinstance(body, dict) and isinstance(body.get("data"), dict) and "error" in body["data"]:
        body = body["data"]
    error = body.get("error", body) if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def _google_error_message(exc: BaseException) -> str | None:
    """``503 UNAVAILABLE: The model is overloaded.`` for a ``google.genai`` APIError, whose
    own text is its status and the whole JSON body."""
    code, status = getattr(exc, "code", None), getattr(exc, "status", None)
    message = getattr(exc, "message", None)
    if not (isinstance(code, int) and isinstance(message, str) and message):
        return None
    return f"{code} {status}: {message}" if isinstance(status, str) and status else message
