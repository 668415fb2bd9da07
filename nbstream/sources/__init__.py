"""Anything that streams an answer → one sequence of typed events (:mod:`nbstream.events`).

A source is an OpenAI ``Stream``/``AsyncStream`` of chat-completion chunks or of
Responses API events, a ``ChatCompletion`` (not streamed), chunks as plain dicts (raw
JSON), or any iterable / async iterable of ``str``. Each module has one job:

- :mod:`.checks`: is this something we can stream? (clear errors before anything shows)
- :mod:`.chunks`: chat-completion chunks and text → events, with the provider quirks
- :mod:`.responses_api`: Responses API events → events
- :mod:`.providers`: which other SDK's format a stream is in, and its normaliser:
  :mod:`.anthropic_events`, :mod:`.gemini_responses`, :mod:`.ollama_chunks`,
  :mod:`.langchain_chunks` (and :mod:`.mistral_events`, unwrapped to chat chunks)
- :mod:`.pydantic_ai_runs`: a pydantic-ai streamed run, as a source of text and events
- :mod:`.sdk_objects`: recognising SDK clients, managers and HTTP responses by class
- :mod:`.fields`: reading a field of a pydantic model or a mapping alike
- :mod:`.surrogates`: UTF-16 halves split across deltas, joined
- :mod:`.think`: a leading ``<think>`` block → reasoning, as a pipeline stage
- :mod:`.idle`: ending a source that has gone quiet (``idle_timeout``)
- :mod:`.closing`: closing the upstream however a stream ends
- :mod:`.drivers`: the sync and async twins that run the pipeline

The event classes live in :mod:`nbstream.events` only.

>>> from nbstream.sources import check_sync_source, iter_events
>>> list(iter_events(check_sync_source(["Hel", "lo"])))
[TextDelta(text='Hel', type='text'), TextDelta(text='lo', type='text')]
"""

from nbstream.sources.checks import check_async_source, check_sync_source
from nbstream.sources.chunks import ChunkParser
from nbstream.sources.drivers import aiter_events, iter_events
from nbstream.sources.think import ThinkSplitter

__all__ = [
    "ChunkParser",
    "ThinkSplitter",
    "aiter_events",
    "check_async_source",
    "check_sync_source",
    "iter_events",
]
