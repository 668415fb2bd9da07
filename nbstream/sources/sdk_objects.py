"""Recognising other SDKs' objects by their class, without importing the SDKs.

None of ``anthropic``, ``google-genai`` or ``ollama`` is a dependency of nbstream: their
objects are known by the package their class comes from and the class's name, and only
when a user passes one. This module knows:

- the SDK clients, which are not streams: passing one gets the method to call instead;
- Anthropic's ``client.messages.stream(...)`` managers, which nbstream enters (and
  exits, closing the response) when the user did not;
- the HTTP response under an SDK's stream, to tell that it was read already, that the
  server answered with JSON, or that it ended before the model finished.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

__all__ = [
    "aentered",
    "client_advice",
    "discard_async_manager",
    "entered",
    "is_async_stream_manager",
    "is_stream_manager",
    "package_of",
    "stream_response",
]

# The client classes of each SDK, and what to call on them for a stream.
_CLIENTS: dict[tuple[str, str], str] = {
    ("openai", "OpenAI"): "client.chat.completions.create(..., stream=True)",
    ("openai", "AsyncOpenAI"): "await client.chat.completions.create(..., stream=True)",
    ("openai", "AzureOpenAI"): "client.chat.completions.create(..., stream=True)",
    ("openai", "AsyncAzureOpenAI"): "await client.chat.completions.create(..., stream=True)",
    ("anthropic", "Anthropic"): (
        "client.messages.create(..., stream=True) or client.messages.stream(...)"
    ),
    ("anthropic", "AsyncAnthropic"): (
        "await client.messages.create(..., stream=True) or client.messages.stream(...)"
    ),
    ("google", "Client"): "client.models.generate_content_stream(...)",
    ("google", "AsyncClient"): "await client.aio.models.generate_content_stream(...)",
    ("ollama", "Client"): "client.chat(..., stream=True)",
    ("ollama", "AsyncClient"): "await client.chat(..., stream=True)",
    ("mistralai", "Mistral"): "client.chat.stream(...) or await client.chat.stream_async(...)",
    ("pydantic_ai", "Agent"): "agent.run_stream_sync(...), or agent.run_stream(...) to astream",
}

_SYNC_MANAGERS = frozenset({"MessageStreamManager", "BetaMessageStreamManager"})
_ASYNC_MANAGERS = frozenset({"AsyncMessageStreamManager", "BetaAsyncMessageStreamManager"})
# Streams whose `response` is the HTTP response they read (the SDKs share the design).
_HTTP_STREAMS = frozenset({"Stream", "AsyncStream"})


def package_of(obj: object) -> str:
    """The top-level package ``obj``'s class comes from (``"anthropic"``, ``"builtins"``).

    >>> import fractions
    >>> package_of({}), package_of(fractions.Fraction(1, 2))
    ('builtins', 'fractions')
    """
    return type(obj).__module__.partition(".")[0]


def client_advice(obj: object) -> str | None:
    """What to call on ``obj`` for a stream, if it is an SDK client; else None.

    >>> import openai
    >>> client_advice(openai.OpenAI(api_key="x", base_url="http://127.0.0.1:9"))
    'client.chat.completions.create(..., stream=True)'
    >>> client_advice(["Hi"]) is None
    True
    """
    if any(
        kind.__name__ == "BaseChatModel" and kind.__module__.startswith("langchain_core")
        for kind in type(obj).__mro__
    ):
        return "model.stream(messages) (or model.astream(messages), with astream)"
    advice = _CLIENTS.get((package_of(obj), type(obj).__name__))
    if advice is not None and package_of(obj) == "google" and not hasattr(obj, "models"):
        return None  # another google package's Client
    return advice


def is_stream_manager(obj: object) -> bool:
    """Whether ``obj`` is what ``anthropic.Anthropic().messages.stream(...)`` returns."""
    return package_of(obj) == "anthropic" and type(obj).__name__ in _SYNC_MANAGERS


def discard_async_manager(manager: object) -> None:
    """Close the request an async manager holds unsent ("never awaited" otherwise)."""
    request = getattr(manager, f"_{type(manager).__name__}__api_request", None)
    close = getattr(request, "close", None)
    if callable(close):
        close()


def is_async_stream_manager(obj: object) -> bool:
    """Whether ``obj`` is what ``AsyncAnthropic().messages.stream(...)`` returns."""
    return package_of(obj) == "anthropic" and type(obj).__name__ in _ASYNC_MANAGERS


def entered(manager: Any) -> Iterator[object]:
    """The events of a stream manager the user did not enter: entered on the first read.

    Entering sends the request, so it happens while the view streams (its failure shows
    there, and the idle timeout counts it); :func:`~nbstream.sources.closing.close_quietly`
    on the manager exits it, which closes the response.
    """
    yield from manager.__enter__()


async def aentered(manager: Any) -> AsyncIterator[object]:
    """Async twin of :func:`entered`."""
    stream = await manager.__aenter__()
    async for event in stream:
        yield event


def stream_response(source: object) -> Any:
    """The HTTP response (an ``httpx.Response``) an SDK stream reads: OpenAI's and
    Anthropic's ``Stream``, and Anthropic's ``MessageStream`` through its raw stream; or
    None."""
    if package_of(source) not in ("openai", "anthropic"):
        return None
    raw = getattr(source, "_raw_stream", source)  # a MessageStream wraps a Stream
    if type(raw).__name__ not in _HTTP_STREAMS:
        return None
    response = getattr(raw, "response", None)
    # Read by its attributes: the SDKs may ship httpx under different names.
    return response if hasattr(response, "is_stream_consumed") else None
