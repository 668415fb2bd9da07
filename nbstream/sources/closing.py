"""Closing what we stream from, and finding the client behind a stream.

Whatever ends a stream (its end, an error, an interrupt, the consumer leaving early), the
upstream HTTP response must be closed, or the provider keeps generating (and billing) and
the connection is not returned to the pool.
"""

from __future__ import annotations

import inspect
import logging

__all__ = ["aclose_quietly", "client_of", "close_quietly"]

_log = logging.getLogger("nbstream")


def close_quietly(source: object) -> None:
    """Call ``source.close()`` if it has one; a failure to close is logged, not raised.

    Raising here would replace the exception that ended the stream, which is the one the
    user needs to see.
    """
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
    close = getattr(source, "aclose", None) or getattr(source, "close", None)
    if not callable(close):
        return
    try:
        result = close()
        if inspect.isawaitable(result):
            await result
    except Exception:
        _log.debug("closing %s failed", type(source).__name__, exc_info=True)


def client_of(source: object) -> object:
    """The SDK client an OpenAI stream came from (its ``_client``), or None.

    Its API key is what :func:`nbstream.errors.api_keys_of` finds, to redact from the
    description of a failure.
    """
    return getattr(source, "_client", None)
