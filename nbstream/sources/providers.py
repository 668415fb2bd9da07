"""Which provider's stream format an item is in, and the parser that reads that format.

OpenAI-format chunks and Responses API events are :class:`~nbstream.sources.ChunkParser`'s
own; the other SDKs' streams are told apart by their first item, whether it came as the
SDK's object or as raw JSON, and read by their own normaliser for the rest of the stream:

- Anthropic Messages events (:mod:`.anthropic_events`)
- Ollama's native chat responses (:mod:`.ollama_chunks`)
- Google Gen AI's ``GenerateContentResponse`` (:mod:`.gemini_responses`)
- LangChain's ``AIMessageChunk`` (:mod:`.langchain_chunks`)
"""

from __future__ import annotations

from typing import Protocol

from nbstream.events import Event
from nbstream.sources.anthropic_events import AnthropicParser, is_anthropic_event
from nbstream.sources.gemini_responses import GeminiParser, is_gemini_response
from nbstream.sources.langchain_chunks import LangChainParser, is_langchain_message
from nbstream.sources.ollama_chunks import OllamaParser, is_ollama_chunk

__all__ = ["ProviderParser", "provider_parser_for"]


class ProviderParser(Protocol):
    """A provider's stream normaliser: one per stream, pure."""

    @property
    def finished(self) -> bool:
        """Whether the stream said the answer is whole."""

    def feed(self, item: object) -> list[Event]:
        """Events for one item of the stream."""


def provider_parser_for(item: object) -> ProviderParser | None:
    """A parser for the stream that ``item`` opens, or None if no provider's format fits.

    >>> type(provider_parser_for({"type": "message_start", "message": {}})).__name__
    'AnthropicParser'
    >>> provider_parser_for({"choices": []}) is None
    True
    """
    if is_langchain_message(item):
        return LangChainParser()
    if is_anthropic_event(item):
        return AnthropicParser()
    if is_ollama_chunk(item):
        return OllamaParser()
    if is_gemini_response(item):
        return GeminiParser()
    return None
