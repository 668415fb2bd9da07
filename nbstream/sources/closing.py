"""Closing what we stream from, and finding the client behind a stream.

Whatever ends a stream (its end, an error, an interrupt, the consumer leaving early), the
upstream HTTP response must be closed, or the provider keeps generating (and billing) and
the connection is not returned to the pool.
"""

from __future__ import annotations

import inspect
import logging

from nbstream.sources.sdk_objects import is_async_stream_manager, is_stream_manager

__all__ = ["aclose_quietly", "client_of", "close_quietly"]

_log = logging.getLogger("nbstream")


def close_quietly(source: object) -> None:
    """Call ``source.close()`` if it has one; a failure to close is logged, not raised.

    Raising here would replace the exception that ended the stream, which is the one the
    user needs to see. A stream manager nbstream entered is exited, which closes it.
    """
    if is_stream_manager(source):
        _exit_quietly(source)
        return
    close = getattr(source, "close", None)
    if not callable(close):
        return
    try:
        result = close()
        if inspect.iscoroutine(result):  # an async close reached from sync code
            result.close()
    except Exception:
        _log.debug("closing %s failed", type(source).__name__, exc_info=True)


async def aclose_quietly(source: object) -> None:
    """Async twin of :func:`close_quietly`: prefers ``aclose()``, awaits async ``close()``."""
    if is_stream_manager(source):
        _exit_quietly(source)
        return
    if is_async_stream_manager(source):
        try:
            await source.__aexit__(None, None, None)  # type: ignore[attr-defined]
        except Exception:
            _log.debug("closing %s failed", type(source).__name__, exc_info=True)
        return
    close = getattr(source, "aclose", None) or getattr(source, "close", None)
    if not callable(close):
        return
    try:
        result = close()
        if inspect.isawaitable(result):
            await result
    except Exception:
        _log.debug("closing %s failed", type(source).__name__, exc_info=True)


def _exit_quietly(manager: object) -> None:
    try:
        manager.__exit__(None, None, None)  # type: ignore[attr-defined]
    except Exception:
        _log.debug("closing %s failed", type(manager).__name__, exc_info=True)


def client_of(source: object) -> object:
    """The SDK client a stream came from (its ``_client``, or its raw stream's), or None.

    Its API key is what :func:`nbstream.errors.api_keys_of` finds, to redact from the
    description of a failure.
    """
    raw = getattr(source, "_raw_stream", source)  # Anthropic's MessageStream
    return getattr(raw, "_client", None)
