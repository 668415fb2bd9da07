"""Provider quirks, end to end: transcripts replayed over HTTP, read by the real SDKs.

Each file in ``tests/transcripts/`` is a response body written from a provider's documented
wire format (OpenAI, Azure OpenAI, vLLM, Ollama, OpenRouter, Groq, Mistral, llama.cpp,
OpenAI's Responses API, Anthropic's Messages API, Ollama's native chat API and Google's
Gemini API, read by the real ``anthropic``, ``ollama`` and ``google-genai`` SDKs);
``expected.json`` says what a reader must get out of it: the exact text, the reasoning
kept apart, the refusal, the last finish reason and usage, the tool calls, or the error
and the text that came before it.

The local server replays a transcript byte for byte (``extra_body={"nbstream": {"replay":
...}}``), cut into HTTP chunks at given byte offsets: whole, at every byte, and at offsets
Hypothesis picks (biased towards the inside of UTF-8 sequences and line endings). The
``openai`` SDK parses the stream as it would a provider's, and nbstream's source layer
(``iter_events`` / ``aiter_events``) turns it into events. Every test runs with both the
sync and the async client. The last tests go through :class:`nbstream.StreamView`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anthropic
import ollama
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from hypothesis import given, settings
from hypothesis import strategies as st

import nbstream.errors
from nbstream import StreamView
from nbstream.local import API_KEY, MODEL, LocalServer
from nbstream.sources import aiter_events, check_async_source, check_sync_source, iter_events
from tests.recording import Recorder

pytestmark = pytest.mark.timeout(120)

FOLDER = Path(__file__).with_name("transcripts")
MODES = ["sync", "async"]
ErrorKind = Literal[
    "api_error", "sdk_status_error", "google_api_error", "stream_error", "incomplete"
]


@dataclass(frozen=True)
class Transcript:
    """One transcript file and what must come out of it (its entry in ``expected.json``)."""

    name: str
    body: str
    api: Literal["chat", "responses", "anthropic", "ollama", "gemini"]
    status: int
    content_type: str
    text: str
    reasoning: str
    refusal: str
    finish: str | None
    usage: tuple[int, int, int] | None
    tool_calls: list[dict[str, Any]] | None
    error: ErrorKind | None
    error_message: str

    @property
    def raw(self) -> bytes:
        return self.body.encode("utf-8")

    def interesting_offsets(self) -> list[int]:
        """Offsets where a cut is most likely to hurt: inside UTF-8 sequences and line ends."""
        raw = self.raw
        offsets = {i for i, byte in enumerate(raw) if byte & 0xC0 == 0x80}  # continuation bytes
        offsets |= {i for i, byte in enumerate(raw) if byte in b"\r\n"}
        offsets |= {i + 1 for i, byte in enumerate(raw) if byte in b"\r\n"}
        return sorted(offset for offset in offsets if 0 < offset < len(raw))


def _load() -> dict[str, Transcript]:
    expected = json.loads((FOLDER / "expected.json").read_text("utf-8"))
    transcripts: dict[str, Transcript] = {}
    for name, entry in expected.items():
        error = entry["error"] or {}
        usage = entry["usage"]
        transcripts[name] = Transcript(
            name=name,
            # Bytes, decoded by hand: read_text() would turn the CRLF transcript into LF.
            body=(FOLDER / name).read_bytes().decode("utf-8"),
            api=entry["api"],
            status=entry.get("status", 200),
            content_type=entry.get("content_type", "text/event-stream"),
            text=entry["text"],
            reasoning=entry["reasoning"],
            refusal=entry["refusal"],
            finish=entry["finish"],
            usage=None if usage is None else (usage[0], usage[1], usage[2]),
            tool_calls=entry.get("tool_calls"),
            error=error.get("kind"),
            error_message=error.get("message", ""),
        )
    return transcripts


TRANSCRIPTS = _load()
NAMES = sorted(TRANSCRIPTS)


# -- what the source layer made of a stream -------------------------------------------------


@dataclass
class Seen:
    """The events nbstream produced from one replay, and the exception that ended it."""

    events: list[Any] = field(default_factory=list)
    error: BaseException | None = None

    def of(self, kind: str) -> list[Any]:
        # By class name, so this module imports no event class that may not exist yet.
        return [event for event in self.events if type(event).__name__ == kind]

    @property
    def text(self) -> str:
        return "".join(event.text for event in self.of("TextDelta"))

    @property
    def reasoning(self) -> str:
        return "".join(event.text for event in self.of("ReasoningDelta"))

    @property
    def refusal(self) -> str:
        return "".join(event.text for event in self.of("RefusalDelta"))

    @property
    def finish(self) -> str | None:
        finishes = self.of("Finish")
        return finishes[-1].reason if finishes else None

    @property
    def usage(self) -> tuple[int, int, int] | None:
        usages = self.of("Usage")
        if not usages:
            return None
        last = usages[-1]  # one per chunk that carries usage; the last one counts
        return (last.prompt_tokens, last.completion_tokens, last.total_tokens)

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        calls: dict[int, dict[str, Any]] = {}
        for delta in self.of("ToolCallDelta"):
            call = calls.setdefault(
                delta.index, {"index": delta.index, "id": None, "name": None, "arguments": ""}
            )
            call["id"] = delta.id or call["id"]
            call["name"] = delta.name or call["name"]
            call["arguments"] += delta.arguments
        return [calls[index] for index in sorted(calls)]


def _request(transcript: Transcript, splits: list[int]) -> dict[str, Any]:
    """``create(...)`` arguments that make the local server replay ``transcript``."""
    replay = {
        "body": transcript.body,
        "status": transcript.status,
        "headers": {"content-type": transcript.content_type},
        "splits": splits,
    }
    request: dict[str, Any] = {
        "model": MODEL,
        "stream": True,
        "extra_body": {"nbstream": {"replay": replay}},
    }
    if transcript.api == "responses":
        request["input"] = "Replay, please."
    else:
        request["messages"] = [{"role": "user", "content": "Replay, please."}]
    if transcript.api == "anthropic":
        request["max_tokens"] = 1024
    return request


def _gemini(request: dict[str, Any]) -> dict[str, Any]:
    """Gemini's request: ``contents``, and the nbstream options in the body via extra_body."""
    return {
        "model": request["model"],
        "contents": "Replay, please.",
        "config": {"http_options": {"extra_body": request["extra_body"]}},
    }


def _create(client: Any, transcript: Transcript, splits: list[int]) -> Any:
    request = _request(transcript, splits)
    if transcript.api == "gemini":
        return client.models.generate_content_stream(**_gemini(request))
    if transcript.api == "ollama":
        return client.chat(**_ollama(request))
    if transcript.api == "anthropic":
        return client.messages.create(**request)
    if transcript.api == "chat":
        return client.chat.completions.create(**request)
    return client.responses.create(**request)


async def _acreate(client: Any, transcript: Transcript, splits: list[int]) -> Any:
    request = _request(transcript, splits)
    if transcript.api == "gemini":
        return await client.models.generate_content_stream(**_gemini(request))
    if transcript.api == "ollama":
        return await client.chat(**_ollama(request))
    if transcript.api == "anthropic":
        return await client.messages.create(**request)
    if transcript.api == "chat":
        return await client.chat.completions.create(**request)
    return await client.responses.create(**request)


def _ollama(request: dict[str, Any]) -> dict[str, Any]:
    """The ollama SDK has no extra_body: the nbstream options go in ``options``."""
    nbstream_options = request.pop("extra_body")["nbstream"]
    return {**request, "options": {"nbstream": nbstream_options}}


class _GeminiAio:
    """``genai.Client(...).aio`` as an async context manager that keeps its client alive
    (the SDK closes the HTTP client when the ``Client`` is collected)."""

    def __init__(self, **options: Any) -> None:
        self._client = genai.Client(**options)

    async def __aenter__(self) -> Any:
        return self._client.aio

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aio.aclose()
        self._client.close()


_SYNC_SDKS: dict[str, Any] = {
    "anthropic": anthropic.Anthropic,
    "ollama": ollama.Client,
    "gemini": genai.Client,
}
_ASYNC_SDKS: dict[str, Any] = {
    "anthropic": anthropic.AsyncAnthropic,
    "ollama": ollama.AsyncClient,
    "gemini": _GeminiAio,
}


def _sdk(transcript: Transcript, mode: str) -> Any:
    """The client class that reads ``transcript``'s API, sync or async."""
    if mode == "sync":
        return _SYNC_SDKS.get(transcript.api, openai.OpenAI)
    return _ASYNC_SDKS.get(transcript.api, openai.AsyncOpenAI)


def _clients(server: LocalServer, transcript: Transcript) -> dict[str, Any]:
    if transcript.api == "ollama":
        return {"host": server.url, "timeout": 30}
    if transcript.api == "gemini":
        return {
            "api_key": API_KEY,
            "http_options": {"base_url": server.url, "api_version": "v1beta", "timeout": 30_000},
        }
    # The Anthropic SDK adds /v1 to the paths itself.
    base_url = server.url if transcript.api == "anthropic" else server.base_url
    return {"base_url": base_url, "api_key": API_KEY, "max_retries": 0, "timeout": 30}


def _replay_sync(server: LocalServer, transcript: Transcript, splits: list[int]) -> Seen:
    seen = Seen()
    with _sdk(transcript, "sync")(**_clients(server, transcript)) as client:
        try:
            stream = _create(client, transcript, splits)
            for event in iter_events(check_sync_source(stream)):
                seen.events.append(event)
        except Exception as exc:
            seen.error = exc
    return seen


async def _replay_async(server: LocalServer, transcript: Transcript, splits: list[int]) -> Seen:
    seen = Seen()
    async with _sdk(transcript, "async")(**_clients(server, transcript)) as client:
        try:
            stream = await _acreate(client, transcript, splits)
            async for event in aiter_events(check_async_source(stream)):
                seen.events.append(event)
        except Exception as exc:
            seen.error = exc
    return seen


def replay(mode: str, server: LocalServer, transcript: Transcript, splits: list[int]) -> Seen:
    """Replay ``transcript`` cut at ``splits`` through the SDK and the source layer."""
    if mode == "sync":
        return _replay_sync(server, transcript, splits)
    # A loop of its own per replay: Hypothesis calls this many times in one test.
    return asyncio.run(_replay_async(server, transcript, splits))


# -- what must come out ----------------------------------------------------------------------


def _error_class(name: str) -> type[BaseException]:
    found = getattr(nbstream.errors, name, None)
    if found is None:
        pytest.fail(f"nbstream.errors.{name} does not exist (yet)")
    assert isinstance(found, type)
    assert issubclass(found, BaseException)
    return found


def check_error(error: BaseException | None, transcript: Transcript) -> None:
    """``error`` is the one ``transcript`` must end with, and names the provider's message."""
    assert error is not None, f"{transcript.name} must end with an error"
    if transcript.error == "api_error":
        # The SDK raises it for a data: {"error": ...} event; nbstream passes it through.
        assert type(error) is openai.APIError, repr(error)
    elif transcript.error == "google_api_error":
        # google-genai raises a data: {"error": ...} chunk as its APIError (ServerError).
        assert isinstance(error, genai_errors.APIError), repr(error)
    elif transcript.error == "sdk_status_error":
        # Anthropic's SDK raises an `event: error` as APIStatusError, status 200.
        assert isinstance(error, anthropic.APIStatusError), repr(error)
    elif transcript.error == "stream_error":
        assert isinstance(error, _error_class("StreamError")), repr(error)
    else:
        assert isinstance(error, _error_class("IncompleteStreamError")), repr(error)
        assert isinstance(error, _error_class("StreamError"))
    assert transcript.error_message in str(error)


def check(seen: Seen, transcript: Transcript) -> None:
    """The events carry exactly what ``expected.json`` says for ``transcript``."""
    if transcript.error is None:
        if seen.error is not None:
            raise seen.error  # with its own traceback: the clearest failure
    else:
        check_error(seen.error, transcript)
    # Partial on errors: the text streamed before the error is kept.
    assert seen.text == transcript.text
    assert seen.reasoning == transcript.reasoning
    assert seen.refusal == transcript.refusal
    # Surrogate halves are joined: every piece can be sent to the browser as UTF-8.
    for event in seen.events:
        text = getattr(event, "text", None)
        if isinstance(text, str):
            text.encode("utf-8")
    if transcript.error is None:
        assert seen.finish == transcript.finish
        assert seen.usage == transcript.usage
        if transcript.tool_calls is not None:
            assert seen.tool_calls == transcript.tool_calls


# -- the transcripts themselves --------------------------------------------------------------


def test_every_transcript_has_expectations() -> None:
    files = {path.name for path in FOLDER.iterdir() if path.suffix in (".sse", ".json", ".ndjson")}
    assert files - {"expected.json"} == set(TRANSCRIPTS)


def test_transcripts_keep_their_exact_bytes() -> None:
    # Guards against a checkout that normalises line endings (see transcripts/.gitattributes).
    crlf = TRANSCRIPTS["crlf.sse"].raw
    assert crlf.count(b"\r\n") == crlf.count(b"\n") > 10
    for transcript in TRANSCRIPTS.values():
        if transcript.name != "crlf.sse":
            assert b"\r" not in transcript.raw, transcript.name
    assert b"\\ud83d" in TRANSCRIPTS["surrogates.sse"].raw
    assert not TRANSCRIPTS["truncated.sse"].raw.endswith(b"\n")


# -- replays through the SDK and the source layer ------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", NAMES)
def test_whole_body(server: LocalServer, mode: str, name: str) -> None:
    transcript = TRANSCRIPTS[name]
    check(replay(mode, server, transcript, []), transcript)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", NAMES)
def test_every_byte_its_own_piece(server: LocalServer, mode: str, name: str) -> None:
    transcript = TRANSCRIPTS[name]
    check(replay(mode, server, transcript, list(range(1, len(transcript.raw)))), transcript)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_random_byte_splits(server: LocalServer, mode: str, name: str, data: st.DataObject) -> None:
    transcript = TRANSCRIPTS[name]
    offset = st.one_of(
        st.integers(min_value=1, max_value=len(transcript.raw) - 1),
        st.sampled_from(transcript.interesting_offsets()),
    )
    splits = data.draw(st.lists(offset, max_size=60, unique=True), label="splits")
    check(replay(mode, server, transcript, splits), transcript)


# -- end to end, into the widget -------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", NAMES)
def test_stream_view_shows_the_transcript(
    recorder: Recorder, server: LocalServer, mode: str, name: str
) -> None:
    transcript = TRANSCRIPTS[name]
    splits = list(range(1, len(transcript.raw), 7))  # many cuts, most inside lines
    view = StreamView()
    error: BaseException | None = None
    try:
        if mode == "sync":
            with _sdk(transcript, "sync")(**_clients(server, transcript)) as client:
                view.stream(_create(client, transcript, splits))
        else:

            async def run() -> None:
                async with _sdk(transcript, "async")(**_clients(server, transcript)) as client:
                    await view.astream(await _acreate(client, transcript, splits))

            asyncio.run(run())
    except Exception as exc:
        error = exc
    if transcript.error is None:
        if error is not None:
            raise error
        assert view.error is None
    else:
        # The cell raises, and the view says why; the text that came first stays.
        check_error(error, transcript)
        assert view.error is not None
        assert view.error.startswith(f"{type(error).__name__}: ")
        assert transcript.error_message in view.error
    assert view.content == transcript.text
    assert view.is_streaming is False
