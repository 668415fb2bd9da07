"""Is this something nbstream can stream? Checked before anything shows as streaming.

Each refusal says what was given and what to pass instead (``stream=True``,
``await``, ``astream``), because an empty answer with no error is the most confusing
outcome there is.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, Iterable, Mapping

from nbstream.errors import SourceError
from nbstream.sources.anthropic_events import is_whole_message
from nbstream.sources.fields import field
from nbstream.sources.gemini_responses import is_gemini_response
from nbstream.sources.langchain_chunks import is_langchain_message
from nbstream.sources.ollama_chunks import is_ollama_chunk
from nbstream.sources.pydantic_ai_runs import (
    arun_events,
    is_async_run_result,
    is_run_stream_manager,
    is_sync_run_result,
    run_events,
)
from nbstream.sources.sdk_objects import (
    aentered,
    client_advice,
    discard_async_manager,
    entered,
    is_async_stream_manager,
    is_stream_manager,
    package_of,
    stream_response,
)

__all__ = ["check_async_source", "check_sync_source"]


def _is_whole_completion(source: object) -> bool:
    # A ChatCompletion (or its dict form) has `choices`, an Anthropic Message is typed
    # "message", a whole Ollama reply is `done`, Gemini's generate_content() gives a
    # GenerateContentResponse; streams and iterables are none of these.
    # Checked before iterability because pydantic models and dicts are iterable too.
    return (
        field(source, "choices") is not None
        or is_whole_message(source)
        or (field(source, "done") is True and is_ollama_chunk(source))
        or is_gemini_response(source)
        or is_langchain_message(source)  # invoke()'s AIMessage
    )


def check_sync_source(source: object) -> Iterable[object]:
    """Return ``source`` as an iterable for ``iter_events``, or raise :class:`SourceError`.

    >>> check_sync_source(["Hello"])
    ['Hello']
    >>> check_sync_source("Hello")
    Traceback (most recent call last):
      ...
    nbstream.errors.SourceError: got a str, which would stream one character at a time; ...
    """
    if isinstance(source, (str, bytes)):
        raise SourceError(
            f"got a {type(source).__name__}, which would stream one character at a time; "
            "pass an iterable of text chunks (e.g. a generator, or [text]) instead"
        )
    if inspect.iscoroutine(source):
        source.close()  # avoid "coroutine was never awaited" on top of our error
        raise SourceError(
            "got a coroutine: an async client's create() must be awaited, and async "
            "streams go through `await view.astream(...)`"
        )
    _refuse_client(source)
    if is_sync_run_result(source):
        return run_events(source)
    if is_async_run_result(source) or is_run_stream_manager(source):
        raise SourceError(
            "got an async pydantic-ai run (agent.run_stream(...)); use "
            "`await view.astream(...)`, or agent.run_stream_sync(...) with view.stream"
        )
    if is_stream_manager(source):
        return entered(source)
    if is_async_stream_manager(source):
        discard_async_manager(source)
        raise SourceError(
            "got an AsyncMessageStreamManager (AsyncAnthropic's messages.stream(...)); "
            "use `await view.astream(...)`"
        )
    if _is_whole_completion(source):
        return [source]
    _refuse_if_consumed(source)
    if isinstance(source, Iterable) and not isinstance(source, Mapping):
        return source
    if isinstance(source, AsyncIterable):
        raise SourceError(
            f"got an async iterable ({type(source).__name__}); use `await view.astream(...)`"
        )
    raise SourceError(
        f"cannot stream {_article(type(source).__name__)}: pass an OpenAI stream "
        "(create(..., stream=True)) or an iterable of str"
    )


def check_async_source(source: object) -> AsyncIterable[object] | Iterable[object]:
    """Like :func:`check_sync_source`, but async iterables are welcome too."""
    if is_async_stream_manager(source):
        return aentered(source)
    if is_async_run_result(source) or is_run_stream_manager(source):
        return arun_events(source)
    if isinstance(source, AsyncIterable):
        _refuse_if_consumed(source)
        return source
    if inspect.iscoroutine(source):
        source.close()
        raise SourceError(
            "got a coroutine: await the create() call first, e.g. "
            "`await view.astream(await client.chat.completions.create(..., stream=True))`"
        )
    return check_sync_source(source)


def _article(noun: str) -> str:
    """``"an int"``, ``"a float"``: for error messages that name a type."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _refuse_client(source: object) -> None:
    """Raise if ``source`` is an SDK client: say which of its methods makes a stream."""
    advice = client_advice(source)
    if advice is not None:
        name = f"{package_of(source)}.{type(source).__name__}"
        raise SourceError(
            f"got the client itself ({name}), not a stream from it: pass what {advice} returns"
        )


def _refuse_if_consumed(source: object) -> None:
    """Raise if ``source`` is a one-shot stream that was already read.

    Reading it again would yield nothing, and an empty answer with no error is the most
    confusing outcome there is.
    """
    response = stream_response(source)
    if response is not None:
        if response.is_stream_consumed or response.is_closed:
            sdk = "OpenAI" if package_of(source) == "openai" else "Anthropic"
            raise SourceError(
                f"this {sdk} stream has already been read (by an earlier stream() or a "
                "loop); a stream can be read once: call create(..., stream=True) again"
            )
    elif inspect.isgenerator(source):
        if inspect.getgeneratorstate(source) == inspect.GEN_CLOSED:
            raise SourceError(
                "this generator has already finished (it was read before); "
                "call the generator function again for a new one"
            )
    elif inspect.isasyncgen(source) and source.ag_frame is None:
        raise SourceError(
            "this async generator has already finished (it was read before); "
            "call the generator function again for a new one"
        )
