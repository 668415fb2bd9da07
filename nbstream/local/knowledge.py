"""The local model's built-in documentation: what it knows about nbstream.

Each :class:`Topic` renders to the same shape of markdown — a heading, a short intro,
a bulleted list, a GFM table, a fenced ``python`` block and a closing line — so that
every answer exercises the whole markdown renderer, whatever the question.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT", "TOPICS", "Topic"]


@dataclass(frozen=True)
class Topic:
    """One answerable subject, with the words that select it and what to say."""

    key: str
    title: str
    keywords: tuple[str, ...]
    intro: str
    points: tuple[str, ...]
    table: tuple[tuple[str, ...], ...]  # the first row is the header
    code: str
    closing: str

    def to_markdown(self, *, title: str | None = None) -> str:
        """Render this topic as the model's answer (ends with one newline).

        Args:
            title: A heading to use instead of the topic's own title.
        """
        header, *rows = self.table
        lines = [
            f"## {self.title if title is None else title}",
            "",
            self.intro,
            "",
            *(f"- {point}" for point in self.points),
            "",
            "| " + " | ".join(header) + " |",
            "|" + "|".join("---" for _ in header) + "|",
            *("| " + " | ".join(row) + " |" for row in rows),
            "",
            "```python",
            self.code.rstrip("\n"),
            "```",
            "",
            self.closing,
        ]
        return "\n".join(lines) + "\n"


# Wording note: every closing line carries non-ASCII ("—", "é", an astral emoji) on
# purpose, so that clients exercise multi-byte UTF-8 and UTF-16 surrogate pairs.

_OVERVIEW = Topic(
    key="overview",
    title="What is nbstream?",
    keywords=("what is", "overview", "introduction", "install", "pip", "why", "about"),
    intro=(
        "**nbstream** streams LLM output into Jupyter notebooks as live, safe markdown"
        " — with a blinking cursor while the model is still typing."
    ),
    points=(
        "Works with any OpenAI-compatible stream, sync or async.",
        "Also takes any iterable of `str`, so other SDKs fit in one line.",
        "Renders headings, lists, tables and code *while* they stream.",
        "Sends each piece of text to the browser **once**, coalesced into deltas.",
    ),
    table=(
        ("Piece", "Job"),
        ("`StreamView`", "the widget: shows one streamed answer"),
        ("`nbstream.local`", "an embedded, deterministic model for demos and tests"),
        ("`nbstream serve`", "runs that model as a standalone HTTP server"),
    ),
    code=(
        "from nbstream import StreamView\n"
        "\n"
        "view = StreamView()\n"
        "display(view)\n"
        'view.stream(["Hello, ", "**world**", "!"])\n'
    ),
    closing="Install it with `pip install nbstream` — et voilà, déjà streaming 🚀",
)

_STREAMVIEW = Topic(
    key="streamview",
    title="The StreamView widget",
    keywords=(
        "streamview",
        "widget",
        "view",
        "display",
        "cursor",
        "render",
        "markdown",
        "content",
    ),
    intro=(
        "`StreamView` is an anywidget that shows one streamed answer as markdown."
        " Display it first, then stream into it."
    ),
    points=(
        "`view.stream(source)` blocks until the stream ends and returns the full text.",
        "`view.content` reads as the text so far, even mid-stream.",
        "`view.is_streaming` is true while a stream runs.",
        "`view.error` says why the last stream failed, or is `None`.",
    ),
    table=(
        ("Attribute", "Type", "Meaning"),
        ("`content`", "`str`", "the markdown text"),
        ("`is_streaming`", "`bool`", "a stream is running"),
        ("`error`", "`Optional[str]`", "why the last stream failed"),
    ),
    code=(
        "from nbstream import StreamView\n"
        "import nbstream.local\n"
        "\n"
        "client = nbstream.local.client()\n"
        "view = StreamView()\n"
        "display(view)\n"
        "text = view.stream(\n"
        "    client.chat.completions.create(\n"
        '        model="nbstream-local",\n'
        '        messages=[{"role": "user", "content": "What is nbstream?"}],\n'
        "        stream=True,\n"
        "    )\n"
        ")\n"
    ),
    closing="The cursor disappears the moment the stream ends — voilà, terminé 🚀",
)

_OPENAI = Topic(
    key="openai",
    title="Streaming from OpenAI",
    keywords=("openai", "chunk", "chunks", "gpt", "completion", "completions", "sdk", "api"),
    intro=(
        "Pass the `Stream` returned by `chat.completions.create(..., stream=True)`"
        " straight to `view.stream`: nbstream reads the chunks for you."
    ),
    points=(
        "Text deltas are appended as they arrive.",
        "A final usage chunk (`stream_options={'include_usage': True}`) is understood.",
        "A whole `ChatCompletion` (no streaming) is shown at once.",
        "The stream is closed however it ends, so no connection leaks.",
    ),
    table=(
        ("Source", "Accepted by"),
        ("`openai.Stream`", "`view.stream`"),
        ("`openai.AsyncStream`", "`await view.astream`"),
        ("`ChatCompletion`", "both"),
        ("iterable of `str`", "both"),
    ),
    code=(
        "from openai import OpenAI\n"
        "\n"
        "client = OpenAI()\n"
        "stream = client.chat.completions.create(\n"
        '    model="gpt-4o-mini",\n'
        '    messages=[{"role": "user", "content": "Write a haiku"}],\n'
        "    stream=True,\n"
        '    stream_options={"include_usage": True},\n'
        ")\n"
        "view.stream(stream)\n"
    ),
    closing="Any OpenAI-compatible server works — set `base_url`, then sip your café 🚀",
)

_ASYNC = Topic(
    key="async",
    title="Async streaming",
    keywords=("async", "await", "asyncio", "asyncopenai", "concurrent", "concurrently", "astream"),
    intro=(
        "`await view.astream(source)` is the async twin of `view.stream`: same behaviour,"
        " for `AsyncOpenAI` streams and async iterables."
    ),
    points=(
        "Jupyter cells can `await` at the top level — no event loop plumbing.",
        "Run several views at once with `asyncio.gather`.",
        "Cancelling the task closes the upstream stream.",
    ),
    table=(
        ("Sync", "Async"),
        ("`OpenAI`", "`AsyncOpenAI`"),
        ("`view.stream(s)`", "`await view.astream(s)`"),
        ("`nbstream.local.client()`", "`nbstream.local.async_client()`"),
    ),
    code=(
        "import asyncio\n"
        "import nbstream.local\n"
        "\n"
        "client = nbstream.local.async_client()\n"
        "\n"
        "async def ask(view, question):\n"
        "    stream = await client.chat.completions.create(\n"
        '        model="nbstream-local",\n'
        '        messages=[{"role": "user", "content": question}],\n'
        "        stream=True,\n"
        "    )\n"
        "    return await view.astream(stream)\n"
        "\n"
        'await asyncio.gather(ask(left, "What is nbstream?"), ask(right, "Async?"))\n'
    ),
    closing="Two answers, one cell — a little pas de deux, très élégant 🚀",
)

_ERRORS = Topic(
    key="errors",
    title="When a stream fails",
    keywords=(
        "error",
        "errors",
        "exception",
        "fail",
        "fails",
        "failure",
        "retry",
        "429",
        "500",
        "rate limit",
        "timeout",
        "disconnect",
    ),
    intro=(
        "If the source raises, the text so far stays on screen, `view.error` says why,"
        " and the exception propagates — nothing is swallowed."
    ),
    points=(
        "API keys never appear in `view.error`: messages are redacted.",
        "The upstream stream is closed, so the connection is released.",
        "Interrupting the kernel ends the stream the same way.",
    ),
    table=(
        ("Failure", "OpenAI SDK raises"),
        ("HTTP 429", "`RateLimitError`"),
        ("HTTP 500", "`InternalServerError`"),
        ("error event mid-stream", "`APIError`"),
        ("dropped connection", "`APIConnectionError`"),
    ),
    code=(
        "import openai\n"
        "\n"
        "try:\n"
        "    view.stream(stream)\n"
        "except openai.APIError as exc:\n"
        '    print("stream failed:", view.error)\n'
    ),
    closing="A failure is shown, never hidden — c'est la vie, même pour les modèles 🚀",
)

_PROTOCOL = Topic(
    key="protocol",
    title="The delivery protocol",
    keywords=(
        "protocol",
        "delta",
        "deltas",
        "offset",
        "offsets",
        "resync",
        "sync",
        "coalesce",
        "coalescing",
        "iopub",
        "kernel",
        "browser",
        "message",
        "messages",
    ),
    intro=(
        "Text travels from the kernel to the browser **once**, as coalesced deltas"
        " numbered by offset; the browser asks for the full text when it sees a gap."
    ),
    points=(
        "The first delta leaves at once; then at most one message per window (1/30 s).",
        "Offsets count UTF-16 code units, like JavaScript's `string.length`.",
        "An `end` message carries the final length, so a lost delta is detected.",
        "A `resync` request is answered with the whole text.",
    ),
    table=(
        ("Message", "Direction", "Carries"),
        ("`delta`", "kernel → browser", "`offset`, `text`"),
        ("`end`", "kernel → browser", "`text`, `length`, `error`"),
        ("`sync`", "kernel → browser", "`content`, `is_streaming`, `error`"),
        ("`resync`", "browser → kernel", "`stream`"),
    ),
    code=(
        "# What one coalesced delta looks like on the wire\n"
        "message = {\n"
        '    "kind": "delta",\n'
        '    "stream": 3,\n'
        '    "offset": 120,\n'
        '    "text": "next part",\n'
        "}\n"
    ),
    closing="Re-sending the whole text per token would be O(N²) — deltas avoid it, voilà 🚀",
)

_LOCAL = Topic(
    key="local",
    title="The local model",
    keywords=(
        "local",
        "offline",
        "server",
        "serve",
        "fault",
        "faults",
        "deterministic",
        "test",
        "tests",
        "demo",
        "nbstream-local",
    ),
    intro=(
        "`nbstream.local` is an embedded, OpenAI-compatible server on 127.0.0.1 whose"
        " model answers deterministically — ideal for demos, tests and tutorials."
    ),
    points=(
        "Started on demand in a background thread, on a free port.",
        "Realistic pacing: tokens per second and a first-token delay.",
        "Per-request faults: error event, HTTP 429/500, dropped connection, slow start.",
        "Per-request reasoning (three wire formats), streamed tool calls and finish reasons.",
        "`nbstream serve` runs it standalone and prints its base URL.",
    ),
    table=(
        ("Fault", "What happens"),
        ("`error`", "an error event mid-stream"),
        ("`http_429`", "HTTP 429 with `retry-after: 0`"),
        ("`http_500`", "HTTP 500"),
        ("`drop`", "the connection is cut mid-stream"),
        ("`slow_first_token`", "the first token comes late"),
    ),
    code=(
        "import nbstream.local\n"
        "\n"
        "client = nbstream.local.client(max_retries=0)\n"
        "stream = client.chat.completions.create(\n"
        '    model="nbstream-local",\n'
        '    messages=[{"role": "user", "content": "Tell me about faults"}],\n'
        "    stream=True,\n"
        '    extra_body={"nbstream": {"fault": "error"}},\n'
        ")\n"
    ),
    closing="Same question, same answer — every time, no API key, no café break needed 🚀",
)

DEFAULT = Topic(
    key="default",
    title="Ask me about nbstream",
    keywords=(),
    intro=(
        "I am **nbstream-local**, a small deterministic model. I only know nbstream's"
        " documentation — but I answer in rich markdown, which is the point."
    ),
    points=(
        "Ask *what is nbstream?* for an overview.",
        "Ask about the `StreamView` widget, OpenAI or async streaming.",
        "Ask about errors, the delivery protocol or this local model.",
    ),
    table=(
        ("Try asking", "Topic"),
        ("What is nbstream?", "overview"),
        ("How do I stream from OpenAI?", "OpenAI"),
        ("What happens on errors?", "errors"),
    ),
    code=(
        "import nbstream.local\n"
        "\n"
        "client = nbstream.local.client()\n"
        "reply = client.chat.completions.create(\n"
        '    model="nbstream-local",\n'
        '    messages=[{"role": "user", "content": "What is nbstream?"}],\n'
        ")\n"
        "print(reply.choices[0].message.content)\n"
    ),
    closing="Same question, same answer — that is my raison d'être, et voilà 🚀",
)

# Order matters: on a tie in keyword hits, the earlier topic wins.
TOPICS: tuple[Topic, ...] = (
    _STREAMVIEW,
    _OPENAI,
    _ASYNC,
    _ERRORS,
    _PROTOCOL,
    _LOCAL,
    _OVERVIEW,
)
