"""Property tests: any text, split anywhere, through every kind of source, arrives whole.

Whatever the text (astral characters, combining marks, lone surrogate halves) and wherever
it is cut into deltas, ``view.content``, the value ``stream``/``astream`` return and the
text a browser rebuilds from the wire are the deltas' concatenation, made well-formed:
surrogate halves that pair across deltas are joined into their astral character, and a
half that never pairs becomes U+FFFD.

The oracle (:func:`well_formed`) walks code points by hand; it does not reuse the
codec round trip the product uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import comm
import openai
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletionChunk

from nbstream import StreamView
from nbstream.local import MODEL, LocalServer
from tests.recording import BrowserModel, RecordingComm, rebuild_text

# Enough examples to find the edges, few enough that the file runs in seconds.
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SDK_SETTINGS = settings(SETTINGS, max_examples=25)

HIGH = range(0xD800, 0xDC00)
LOW = range(0xDC00, 0xE000)

# Characters st.text() rarely produces on its own, mixed into every alphabet.
SPECIAL = [
    "🚀",  # astral: two UTF-16 units
    "\U0001d54f",  # mathematical double-struck X
    "\U0010ffff",
    "👩\u200d👩\u200d👧",  # a ZWJ sequence of astral characters
    "e\u0301",  # a combining acute accent
    "\u0308",  # a combining mark with nothing before it
    "\u20dd",
    "é",
    "—",
    "\n",
    "\r\n",
    "\u2028",  # a line separator: JSON leaves it raw
    "\x00",
    "\ufeff",
    "\ufffd",
]


def well_formed(text: str) -> str:
    """``text`` with each surrogate pair joined and every unpaired half replaced by U+FFFD."""
    out: list[str] = []
    i = 0
    while i < len(text):
        unit = ord(text[i])
        if unit in HIGH and i + 1 < len(text) and ord(text[i + 1]) in LOW:
            out.append(chr(0x10000 + ((unit - 0xD800) << 10) + (ord(text[i + 1]) - 0xDC00)))
            i += 2
        elif unit in HIGH or unit in LOW:
            out.append("\ufffd")
            i += 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def utf16_units(text: str) -> list[str]:
    """``text`` as a list of UTF-16 code units (astral characters become two halves)."""
    data = text.encode("utf-16-le", "surrogatepass")
    return [chr(int.from_bytes(data[i : i + 2], "little")) for i in range(0, len(data), 2)]


def split_at(units: list[str], cuts: list[int]) -> list[str]:
    bounds = [0, *sorted(cuts), len(units)]
    return ["".join(units[a:b]) for a, b in itertools.pairwise(bounds)]


@st.composite
def pieces(draw: st.DrawFn, text: st.SearchStrategy[str], by_unit: bool = False) -> list[str]:
    """A text drawn from ``text``, cut at arbitrary places (empty deltas included).

    ``by_unit`` cuts between UTF-16 code units, so astral characters may be cut into
    their two surrogate halves, as providers that escape JSON in UTF-16 do.
    """
    whole = draw(text)
    units = utf16_units(whole) if by_unit else list(whole)
    cuts = draw(st.lists(st.integers(0, len(units)), max_size=max(3, len(units))))
    return split_at(units, cuts)


def texts(characters: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Text from ``characters`` with the snippets of SPECIAL (some longer than one)."""
    return st.lists(st.one_of(characters, st.sampled_from(SPECIAL)), max_size=60).map("".join)


valid_text = texts(st.characters(codec="utf-8"))  # no surrogates
# Lone halves among ordinary text (st.characters() draws them too, but rarely): some
# will pair by chance, most will not.
surrogate_text = texts(
    st.one_of(
        st.characters(),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"]),
    )
)

ANY_SPLIT = {
    "valid text, split between code points": pieces(valid_text),
    "valid text, split between UTF-16 units": pieces(valid_text, by_unit=True),
    "lone surrogates, split anywhere": pieces(surrogate_text, by_unit=True),
}


# -- sources --------------------------------------------------------------------------


def dict_chunks(deltas: list[str]) -> list[dict[str, Any]]:
    """Raw JSON chunks as a provider sends them, quirks included."""

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": MODEL,
            "choices": choices,
            **extra,
        }

    def choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "finish_reason": finish}

    chunks = [
        chunk([]),  # Azure's first chunk: no choices
        chunk([choice({"role": "assistant", "content": ""})]),
        chunk([choice({"content": None})]),
    ]
    chunks += [chunk([choice({"content": text})]) for text in deltas]
    chunks += [
        chunk([choice({}, "stop")]),
        chunk([], usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}),
    ]
    return chunks


def sdk_chunks(deltas: list[str]) -> list[ChatCompletionChunk]:
    """The same chunks as the openai SDK's own (validated) objects."""
    return [ChatCompletionChunk.model_validate(c) for c in dict_chunks(deltas)]


def constructed_chunks(deltas: list[str]) -> list[ChatCompletionChunk]:
    """The same chunks built without validation, as a lenient client would."""
    from openai.types.chat.chat_completion_chunk import Choice, ChoiceDelta

    out = [ChatCompletionChunk.model_construct(id="c", choices=[], created=0, model=MODEL)]
    for text in deltas:
        delta = ChoiceDelta.model_construct(content=text, role=None)
        choice = Choice.model_construct(index=0, delta=delta, finish_reason=None)
        out.append(
            ChatCompletionChunk.model_construct(
                id="c", choices=[choice], created=0, model=MODEL, object="chat.completion.chunk"
            )
        )
    return out


async def agen(items: list[Any]) -> AsyncIterator[Any]:
    for item in items:
        await asyncio.sleep(0)
        yield item


def gen(items: list[Any]) -> Iterator[Any]:
    yield from items


@dataclass(frozen=True)
class Source:
    """How to make a source of the deltas, and whether it needs ``astream``."""

    make: Callable[[list[str]], Any]
    async_only: bool = False


SOURCES = {
    "list of str": Source(list),
    "generator of str": Source(gen),
    "async generator of str": Source(agen, async_only=True),
    "dict chunks": Source(dict_chunks),
    "dict chunks, async": Source(lambda d: agen(dict_chunks(d)), async_only=True),
    "ChatCompletionChunk.model_validate": Source(sdk_chunks),
    "ChatCompletionChunk.model_construct": Source(lambda d: gen(constructed_chunks(d))),
    "ChatCompletionChunk, async": Source(lambda d: agen(sdk_chunks(d)), async_only=True),
}
CASES = [
    pytest.param(source, mode, id=f"{source}-{mode}")
    for source, spec in SOURCES.items()
    for mode in (["async"] if spec.async_only else ["sync", "async"])
]


# -- streaming and checking -----------------------------------------------------------


@contextlib.contextmanager
def recording() -> Iterator[None]:
    """Widgets created inside get a comm that records the wire (cf. tests/recording.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(comm, "create_comm", RecordingComm)
        yield


def stream(view: StreamView, source: Any, mode: str) -> str:
    if mode == "sync":
        return view.stream(source)
    return asyncio.run(view.astream(source))


def check_view(view: StreamView, returned: str, expected: str) -> None:
    """The kernel's state and what a browser rebuilds from the wire are both ``expected``."""
    wire = view.comm
    assert isinstance(wire, RecordingComm)
    assert returned == expected
    assert view.content == expected
    assert view.is_streaming is False
    assert view.error is None
    custom = wire.custom_messages()
    assert custom[-1]["kind"] == "end"
    assert rebuild_text(custom) == expected
    browser = BrowserModel().replay(wire.published)
    assert (browser.text, browser.is_streaming, browser.error, browser.gaps) == (
        expected,
        False,
        None,
        0,
    )


@pytest.mark.parametrize("split", list(ANY_SPLIT))
@pytest.mark.parametrize(("source", "mode"), CASES)
def test_any_text_split_anywhere_arrives_whole(source: str, mode: str, split: str) -> None:
    @SETTINGS
    @given(deltas=ANY_SPLIT[split])
    def check(deltas: list[str]) -> None:
        expected = well_formed("".join(deltas))
        with recording():
            view = StreamView()
        returned = stream(view, SOURCES[source].make(deltas), mode)
        check_view(view, returned, expected)

    check()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_astral_characters_cut_into_halves_are_joined(mode: str) -> None:
    """Every astral character cut between its halves, with the halves in adjacent deltas
    (and empty deltas between them), comes out as the character, never as U+FFFD."""
    astral = st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF)

    @SETTINGS
    @given(
        chars=st.lists(
            st.one_of(astral, st.characters(max_codepoint=0xFFFF, codec="utf-8")), min_size=1
        ),
        empties=st.integers(0, 2),
    )
    def check(chars: list[str], empties: int) -> None:
        deltas: list[str] = []
        for char in chars:
            deltas.extend(utf16_units(char) if len(utf16_units(char)) == 2 else [char])
            deltas.extend([""] * empties)
        assert any(len(d) == 1 and ord(d) in HIGH for d in deltas) == any(
            ord(c) > 0xFFFF for c in chars
        )
        with recording():
            view = StreamView()
        returned = stream(view, list(deltas), mode)
        check_view(view, returned, "".join(chars))

    check()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_halves_that_never_pair_become_replacement_characters(mode: str) -> None:
    @SETTINGS
    @given(
        halves=st.lists(
            st.sampled_from(["\ud83d", "\ude80", "\udbff", "\udc00"]), min_size=1, max_size=6
        ),
        between=st.sampled_from(["", "x", "é", "🚀"]),
    )
    @example(halves=["\ud83d", "\ude80"], between="")  # pairs into 🚀
    @example(halves=["\ude80", "\ud83d"], between="")  # wrong order: two U+FFFD
    def check(halves: list[str], between: str) -> None:
        # Each half is its own delta, with `between` after it: a high half followed by
        # a low half pairs only when nothing (or an empty delta) is between them.
        deltas = [d for half in halves for d in (half, between)]
        expected = well_formed("".join(deltas))
        if between:
            assert expected.count("\ufffd") == len(halves)
        with recording():
            view = StreamView()
        returned = stream(view, deltas, mode)
        check_view(view, returned, expected)

    check()


# -- the real openai SDK, over HTTP, from the local model ------------------------------


@dataclass(frozen=True)
class Transcript:
    """A provider's SSE response carrying ``deltas``, cut into HTTP chunks at ``splits``."""

    deltas: list[str]
    body: str
    splits: list[int]  # byte offsets into the UTF-8 of body


@st.composite
def transcripts(draw: st.DrawFn, deltas: st.SearchStrategy[list[str]]) -> Transcript:
    """Each delta in its own chunk, JSON-escaped as ASCII (as providers that escape in
    UTF-16 do: an astral character cut in two becomes two lone ``\\uXXXX`` escapes in
    two events) or as raw UTF-8, with LF or CRLF line ends, cut at any bytes."""
    pieces = draw(deltas)
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    events: list[str] = []
    for chunk in dict_chunks(pieces):
        escaped = json.dumps(chunk)
        raw = json.dumps(chunk, ensure_ascii=False)
        # Lone halves have no UTF-8: only their escapes can carry them.
        lone = any(0xD800 <= ord(c) <= 0xDFFF for c in raw)
        text = raw if draw(st.booleans()) and not lone else escaped
        events.append(f"data: {text}{newline}{newline}")
    body = "".join([f": a comment{newline}{newline}", *events, f"data: [DONE]{newline}{newline}"])
    size = len(body.encode())
    splits = draw(st.lists(st.integers(0, size), max_size=12))
    return Transcript(pieces, body, splits)


def replayed(transcript: Transcript) -> dict[str, Any]:
    """create() arguments with which the local server answers with ``transcript``."""
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Replay this transcript."}],
        "stream": True,
        "extra_body": {
            "nbstream": {"replay": {"body": transcript.body, "splits": transcript.splits}}
        },
    }


def asked_for(text: str) -> dict[str, Any]:
    """create() arguments with which the local model answers ``text``, in its own tokens."""
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Say exactly the text I give you."}],
        "stream": True,
        "extra_body": {"nbstream": {"text": text, "tokens_per_second": 0}},
    }


def through_the_sdk(server: LocalServer, mode: str, create: dict[str, Any]) -> StreamView:
    """Stream ``create``'s completion into a new view, sync or async; check it was closed."""
    with recording():
        view = StreamView()
    if mode == "sync":
        with openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0) as client:
            upstream = client.chat.completions.create(**create)
            returned = view.stream(upstream)
        closed = upstream.response.is_closed
    else:

        async def main() -> tuple[str, bool]:
            async with openai.AsyncOpenAI(
                base_url=server.base_url, api_key="x", max_retries=0
            ) as aclient:
                upstream = await aclient.chat.completions.create(**create)
                return await view.astream(upstream), upstream.response.is_closed

        returned, closed = asyncio.run(main())
    assert closed
    assert returned == view.content
    return view


@pytest.mark.parametrize("split", list(ANY_SPLIT))
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_any_text_split_anywhere_through_a_real_openai_stream(
    server: LocalServer, mode: str, split: str
) -> None:
    """The local server replays a transcript of the deltas byte for byte, cut into HTTP
    chunks anywhere (inside a UTF-8 sequence, a line or an escape); the openai SDK parses
    it; the view gets the deltas' concatenation, made well-formed."""

    @SDK_SETTINGS
    @given(transcript=transcripts(ANY_SPLIT[split]))
    def check(transcript: Transcript) -> None:
        view = through_the_sdk(server, mode, replayed(transcript))
        check_view(view, view.content, well_formed("".join(transcript.deltas)))

    check()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_any_text_the_local_model_is_asked_for_arrives_exactly(
    server: LocalServer, mode: str
) -> None:
    """The local model streams the exact text asked for (``text`` option), cut into its
    own tokens; the SDK's stream into the view gives back exactly that text."""

    @SDK_SETTINGS
    @given(text=valid_text)
    def check(text: str) -> None:
        view = through_the_sdk(server, mode, asked_for(text))
        check_view(view, view.content, text)

    check()
