"""pydantic-ai streamed runs (``agent.run_stream(...)``, ``run_stream_sync``) → a source.

No ``pydantic_ai`` import. A run's result streams its text with
``stream_text(delta=True)``; nbstream reads that, unthrottled (the view coalesces), then
the run's usage and the model response's finish reason, as events the parser passes
on. Three things are accepted:

- the ``StreamedRunResult`` inside ``async with agent.run_stream(...) as result``;
- the ``agent.run_stream(...)`` context manager itself, entered by nbstream (and exited
  when the view ends, which ends the run);
- ``agent.run_stream_sync(...)``'s ``StreamedRunResultSync``, for ``view.stream``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from nbstream.events import Event, Finish, Usage
from nbstream.sources.sdk_objects import package_of

__all__ = [
    "arun_events",
    "is_async_run_result",
    "is_run_stream_manager",
    "is_sync_run_result",
    "run_events",
]

# pydantic-ai's finish reasons, as the chat API words them.
_REASONS = {"tool_call": "tool_calls"}


def is_async_run_result(obj: object) -> bool:
    """Whether ``obj`` is the ``StreamedRunResult`` of ``agent.run_stream(...)``."""
    return type(obj).__name__ == "StreamedRunResult" and package_of(obj) == "pydantic_ai"


def is_sync_run_result(obj: object) -> bool:
    """Whether ``obj`` is what ``agent.run_stream_sync(...)`` returns."""
    return type(obj).__name__ == "StreamedRunResultSync" and package_of(obj) == "pydantic_ai"


def is_run_stream_manager(obj: object) -> bool:
    """Whether ``obj`` is ``agent.run_stream(...)`` not yet entered (an async context
    manager made by pydantic-ai's ``run_stream``)."""
    function = getattr(obj, "func", None)
    return (
        hasattr(obj, "__aenter__")
        and getattr(function, "__name__", None) == "run_stream"
        and str(getattr(function, "__module__", "")).startswith("pydantic_ai")
    )


def run_events(result: Any) -> Iterator[object]:
    """The text of a sync streamed run, then its usage and finish reason."""
    yield from result.stream_text(delta=True, debounce_by=None)
    yield from _ending(result)


async def arun_events(source: Any) -> AsyncIterator[object]:
    """Async twin of :func:`run_events`, for a result or a manager nbstream enters."""
    if is_run_stream_manager(source):
        async with source as result:
            async for item in arun_events(result):
                yield item
        return
    async for text in source.stream_text(delta=True, debounce_by=None):
        yield text
    for event in _ending(source):
        yield event


def _ending(result: Any) -> list[Event]:
    events: list[Event] = []
    usage = result.usage
    if not hasattr(usage, "input_tokens") and callable(usage):
        usage = usage()  # a method before pydantic-ai 1.x
    prompt, completion = getattr(usage, "input_tokens", None), getattr(usage, "output_tokens", None)
    if isinstance(prompt, int) and isinstance(completion, int):
        events.append(Usage(prompt, completion, prompt + completion))
    reason = getattr(getattr(result, "response", None), "finish_reason", None)
    if isinstance(reason, str) and reason:
        events.append(Finish(_REASONS.get(reason, reason)))
    return events
