"""What streaming costs the kernel: iopub bytes, messages, CPU and latency, against baselines.

    .venv/bin/python -m benchmarks.kernel_wire [--tokens 1000 20000 100000] [--full] [--out FILE]

Every method streams the same tokens in the same real ipykernel, in the same run, measured
the same way: every frame of every iopub message from the cell's busy to its idle, counted
by a raw ZMQ subscriber; kernel CPU from ``time.process_time()`` in the kernel (all
threads). Streams run as fast as possible and paced at 200 tokens/s. The headline figures
are ratios against ``print()`` measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nbstream.delivery import utf16_len
from tests.kernel_harness import SAMPLE_TOKENS_CODE, Kernel, WireMessage, sample_tokens
from tests.recording import rebuild_text

# Defined in the kernel. Each method consumes a source of tokens (a list when fast, a
# paced generator otherwise) and shows the text as it goes.
KERNEL_CODE = """
import gc, json, sys, time
from IPython.display import Markdown, display
import anywidget, ipywidgets, traitlets
from nbstream import StreamView

class NaiveWidget(anywidget.AnyWidget):
    # The usual first attempt: a synced trait set per token (re-sends the whole text).
    _esm = "export default { render({ model, el }) { el.textContent = model.get('content'); } }"
    content = traitlets.Unicode("").tag(sync=True)

def _paced(tokens, rate, stamps):
    # Token i is due at t0 + i/rate; `stamps` gets the wall clock (the clock of message
    # headers) just before each token is yielded.
    t0 = time.perf_counter()
    for i, token in enumerate(tokens):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        stamps.append(time.time())
        yield token

def _print(source):
    for t in source:
        print(t, end="")

def _stream_view(source):
    _widgets["w"].stream(source)

def _display_each(source):
    text, handle = "", None
    for t in source:
        text += t
        if handle is None:
            handle = display(Markdown(text), display_id=True)
        else:
            handle.update(Markdown(text))

def _display_throttled(source, every=0.05):
    text, handle, shown, last = "", None, 0, 0.0
    for t in source:
        text += t
        now = time.monotonic()
        if handle is None:
            handle = display(Markdown(text), display_id=True)
        elif now - last >= every:
            handle.update(Markdown(text))
        else:
            continue
        shown, last = len(text), now
    if handle is not None and shown != len(text):
        handle.update(Markdown(text))

def _html_each(source):
    w, text = _widgets["w"], ""
    for t in source:
        text += t
        w.value = text

def _trait_each(source):
    w, text = _widgets["w"], ""
    for t in source:
        text += t
        w.content = text

_METHODS = {
    "print": _print,
    "stream_view": _stream_view,
    "stream_view_copy": _stream_view,
    "display_each": _display_each,
    "display_throttled": _display_throttled,
    "html_each": _html_each,
    "trait_each": _trait_each,
}
# The stream alone (static_copy=False), and as a user gets it by default: the stream
# plus, once at its end, the sanitized static copy for saved notebooks (text/html).
_WIDGETS = {
    "stream_view": lambda: StreamView(static_copy=False),
    "stream_view_copy": StreamView,
    "html_each": ipywidgets.HTML,
    "trait_each": NaiveWidget,
}
_widgets = {}
_result = {}

def _cleanup():
    for w in _widgets.values():
        w.close()
    _widgets.clear()
    gc.collect()

def _prepare(name):
    if name in _WIDGETS:
        _widgets["w"] = _WIDGETS[name]()
        display(_widgets["w"])

def _bench(name, rate):
    stamps = []
    source = tokens if rate is None else _paced(tokens, rate, stamps)
    run = _METHODS[name]
    c0 = time.process_time()
    run(source)
    # A barrier: returns once the IOPub thread has sent everything queued before it
    # (and print()'s buffered text), so its work is inside the measurement too.
    sys.stdout.flush()
    cpu = time.process_time() - c0
    _result.clear()
    _result.update(cpu=cpu, stamps=stamps)

def _first_token(name, rate, n):
    stamps, sent = [], []
    w = _widgets.get("w")
    if name == "stream_view":
        send = w.send
        def timed_send(content, buffers=None):
            send(content, buffers)
            if not sent and content.get("kind") == "delta":
                sent.append(time.time())
        w.send = timed_send
    def source():
        time.sleep(0.02)  # the model thinks before its first token
        yield from _paced(make_tokens(n), rate, stamps)
    try:
        _METHODS[name](source())
    finally:
        if w is not None and "send" in w.__dict__:
            del w.send
    _result.clear()
    _result.update(stamps=stamps[:1], sent=sent)

def _report():
    print(json.dumps(_result))
    # ipykernel leaves print()'s pending flush timer running when flush() is called, and a
    # timer that fires during a later stream makes that stream's print() flush more often
    # than every 200 ms. Flush now and let the timer run out before the next cell.
    sys.stdout.flush()
    time.sleep(0.25)

def _versions():
    import platform, ipykernel, ipywidgets, anywidget, jupyter_client, zmq, nbstream
    print(json.dumps({
        "Python": platform.python_version(),
        "ipykernel": ipykernel.__version__,
        "jupyter_client": jupyter_client.__version__,
        "pyzmq": zmq.__version__,
        "ipywidgets": ipywidgets.__version__,
        "anywidget": anywidget.__version__,
        "nbstream": nbstream.__version__,
    }))
"""

# Kernel messages that are not the cell's output: the same few per cell for every method.
KERNEL_STATUS = ("status", "execute_input", "execute_reply")
WINDOW = 1.0  # seconds: the window for the messages-per-second cap
TIMES = "\u00d7"  # the multiplication sign, escaped: ruff (RUF001) takes it for an x


@dataclass(frozen=True)
class Method:
    name: str  # as shown in the tables
    key: str  # the kernel function in _METHODS
    text_from: str  # where the shown text is on the wire: stdout, deltas, or a field name
    quadratic: bool  # re-sends the whole text per token: O(N²) bytes
    paced: bool = True  # also run paced (False: its pacing is another method's)


PRINT = Method("print()", "print", "stdout", quadratic=False)
STREAM_VIEW = Method("StreamView, static_copy=False", "stream_view", "deltas", quadratic=False)
# The same stream; only its end differs, so pacing it again would tell nothing new.
STREAM_VIEW_DEFAULT = Method(
    "StreamView (default: + static copy)", "stream_view_copy", "deltas", False, paced=False
)
DISPLAY_EACH = Method("display + update per token", "display_each", "text/markdown", quadratic=True)
METHODS = (
    PRINT,
    STREAM_VIEW_DEFAULT,
    STREAM_VIEW,
    DISPLAY_EACH,
    Method("display + update every 50 ms", "display_throttled", "text/markdown", quadratic=False),
    Method("ipywidgets.HTML value per token", "html_each", "value", quadratic=True),
    Method("anywidget synced trait per token", "trait_each", "content", quadratic=True),
)


@dataclass
class Capture:
    """What one cell put on iopub, reduced as it arrives (O(N²) traffic is never held)."""

    method: Method
    nbytes: int = 0
    messages: int = 0
    output_dates: list[float] = field(default_factory=list)
    widget_dates: list[float] = field(default_factory=list)
    delta_dates: list[float] = field(default_factory=list)
    # (wall-clock time of the message, units of text the viewer holds after it): UTF-16
    # units for StreamView's offsets, characters for the others.
    progress: list[tuple[float, int]] = field(default_factory=list)
    text_messages: int = 0
    stdout: str = ""
    last_text: str | None = None
    custom: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    setup_bytes: int = 0  # comm_open and display_data

    def add(self, msg: WireMessage) -> None:
        self.nbytes += msg.nbytes
        self.messages += 1
        if msg.msg_type in KERNEL_STATUS:
            return
        content = msg.content()
        if msg.msg_type == "error":
            self.problems.append("\n".join(content["traceback"]))
            return
        when = msg.date.timestamp()
        self.output_dates.append(when)
        if msg.msg_type in ("display_data", "update_display_data", "comm_open"):
            self.setup_bytes += msg.nbytes
        held = self._held(msg.msg_type, content, when)
        if held is not None:
            self.text_messages += 1
            self.progress.append((when, held))

    def _held(self, msg_type: str, content: dict[str, Any], when: float) -> int | None:
        """How much text a viewer holds after this output message, if it carries text."""
        if msg_type == "stream":
            if content["name"] != "stdout":
                self.problems.append(f"{content['name']}: {content['text']}")
                return None
            self.stdout += content["text"]
            return len(self.stdout)
        if msg_type in ("display_data", "update_display_data"):
            markdown = content["data"].get("text/markdown")
            if isinstance(markdown, str):
                self.last_text = markdown
                return len(markdown)
        if msg_type == "comm_msg":
            self.widget_dates.append(when)
            return self._comm_held(content["data"], when)
        return None

    def _comm_held(self, data: dict[str, Any], when: float) -> int | None:
        if data.get("method") == "update" and self.method.text_from in data["state"]:
            value: str = data["state"][self.method.text_from]
            self.last_text = value
            return len(value)
        if data.get("method") != "custom":
            return None
        message = data["content"]
        self.custom.append(message)
        if message["kind"] == "delta":
            self.delta_dates.append(when)
        if message["kind"] in ("delta", "end"):
            return int(message["offset"]) + utf16_len(message["text"])
        return None

    def text(self) -> str | None:
        """The text a viewer ends up with, rebuilt from the wire."""
        if self.method.text_from == "stdout":
            return self.stdout
        if self.method.text_from == "deltas":
            try:
                return rebuild_text(self.custom)
            except AssertionError:
                return None
        return self.last_text

    def span(self) -> float:
        """Seconds from the first to the last output message of the cell."""
        return max(self.output_dates) - min(self.output_dates) if self.output_dates else 0.0


@dataclass
class Run:
    """One measured stream."""

    capture: Capture
    cpu: float
    exact: bool
    latency: list[float]  # per token (paced): seconds from yield to its first message


@dataclass
class Row:
    method: Method
    n: int
    mode: str  # "fast" or "paced"
    runs: list[Run] = field(default_factory=list)
    skipped: str | None = None

    def median(self, value: Any) -> float:
        return float(statistics.median(value(r) for r in self.runs))

    @property
    def nbytes(self) -> float:
        return self.median(lambda r: r.capture.nbytes)

    @property
    def cpu(self) -> float:
        return self.median(lambda r: r.cpu)

    @property
    def messages(self) -> float:
        return self.median(lambda r: r.capture.messages)

    @property
    def span(self) -> float:
        return self.median(lambda r: r.capture.span())

    def rate(self) -> float | None:
        """Output messages per second over the streaming span (None under two messages)."""
        rates = [
            len(r.capture.output_dates) / r.capture.span()
            for r in self.runs
            if len(r.capture.output_dates) > 1 and r.capture.span() > 0
        ]
        return statistics.median(rates) if rates else None

    @property
    def exact(self) -> bool:
        return all(r.exact for r in self.runs)


def busiest_window(dates: Sequence[float], width: float = WINDOW) -> int:
    """The most of ``dates`` that fall within any half-open window of ``width`` seconds."""
    ordered = sorted(dates)
    best = start = 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= width:
            start += 1
        best = max(best, end - start + 1)
    return best


def token_latency(
    stamps: Sequence[float], ends: Sequence[int], progress: Sequence[tuple[float, int]]
) -> list[float]:
    """Per token: seconds from its yield to the first message after which a viewer holds it.

    ``ends[i]`` is where token ``i`` ends in the text; ``progress`` is (time, text held)
    per message, in order.
    """
    latencies = []
    k = 0
    for stamp, end in zip(stamps, ends, strict=False):
        while k < len(progress) and progress[k][1] < end:
            k += 1
        if k == len(progress):
            break
        latencies.append(progress[k][0] - stamp)
    return latencies


def cumulative(lengths: Sequence[int]) -> list[int]:
    total, ends = 0, []
    for length in lengths:
        total += length
        ends.append(total)
    return ends


def extrapolate(points: Sequence[tuple[int, float]], n: int) -> float:
    """Value at ``n`` of ``a·N + b·N²`` through the two largest measured ``(N, value)``.

    With one point, pure ``b·N²``. The N² term dominates for per-token re-sends.
    """
    (n1, v1), *rest = sorted(points, reverse=True)
    if not rest:
        return v1 * (n / n1) ** 2
    n2, v2 = rest[0]
    b = (v1 / n1 - v2 / n2) / (n1 - n2)
    a = v1 / n1 - b * n1
    return a * n + b * n * n


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Bench:
    """Drives the kernel: one method, one N, one mode per measured cell."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.n = 0
        self.expected = ""
        self.ends_chars: list[int] = []
        self.ends_units: list[int] = []
        self.setup_bytes: dict[str, int] = {}

    def use_tokens(self, n: int) -> None:
        self.kernel.check(f"tokens = make_tokens({n})")
        tokens = sample_tokens(n)
        self.n = n
        self.expected = "".join(tokens)
        self.ends_chars = cumulative([len(t) for t in tokens])
        self.ends_units = cumulative([utf16_len(t) for t in tokens])

    def prepare(self, method: Method) -> None:
        self.kernel.check("_cleanup()")
        setup = self.cell(method, f"_prepare({method.key!r})")
        self.setup_bytes.setdefault(method.name, setup.setup_bytes)

    def report(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.kernel.check("_report()").stdout)
        return result

    def cell(self, method: Method, code: str, timeout: float = 120) -> Capture:
        """Run ``code``; account for its iopub traffic once the cell has finished.

        Parsing 1 GB of trait syncs while they arrive would take the CPU that the ZMQ
        receiving thread needs on a 2-core machine, and the kernel's XPUB socket drops what
        its high-water mark cannot hold; so the frames are only collected first.
        """
        frames = list(self.kernel.run_each(code, timeout))
        capture = Capture(method)
        for msg in frames:
            capture.add(msg)
        del frames
        if capture.problems:
            raise RuntimeError(f"{method.name}: " + "\n".join(capture.problems))
        return capture

    def measure(self, method: Method, rate: float | None) -> Run:
        timeout = 600 + (1.5 * self.n / rate if rate else 0)
        for attempt in range(1, 4):
            self.prepare(method)
            capture = self.cell(method, f"_bench({method.key!r}, {rate!r})", timeout)
            result = self.report()
            # One message per token: fewer means iopub dropped some (past its high-water
            # mark), which says nothing about the method; measure again.
            lost = self.n - capture.text_messages if method.quadratic else 0
            if lost <= 0:
                break
            log(f"  {lost} of {self.n} messages lost on iopub (attempt {attempt})")
        exact = capture.text() == self.expected and lost <= 0
        latency: list[float] = []
        if rate is not None:
            ends = self.ends_units if method.text_from == "deltas" else self.ends_chars
            latency = token_latency(result["stamps"], ends, capture.progress)
        return Run(capture, float(result["cpu"]), exact, latency)

    def first_token(self, method: Method, streams: int, rate: float) -> list[tuple[float, float]]:
        """Per stream: seconds from the first yield to (the first text message's header
        date, the moment the kernel's send of the first delta returned or NaN)."""
        self.prepare(method)
        found = []
        for _ in range(streams):
            capture = self.cell(method, f"_first_token({method.key!r}, {rate!r}, 60)")
            result = self.report()
            first_yield = result["stamps"][0]
            on_wire = next(t for t, held in capture.progress if held > 0) - first_yield
            sent = result["sent"][0] - first_yield if result["sent"] else float("nan")
            found.append((on_wire, sent))
        return found


# -- the report ------------------------------------------------------------------------


def fmt_bytes(n: float) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.1f} GB"
    if n >= 1e6:
        return f"{n / 1e6:.1f} MB"
    return f"{n:,.0f} B"


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}" if seconds < 0.1 else f"{seconds * 1000:.0f}"


def table(rows: Sequence[Row], paced: bool) -> str:
    base = {r.n: r for r in rows if r.method == PRINT and r.runs}
    head = [
        "method", "N", "mode", "bytes", "B/token", f"bytes {TIMES} print()", "messages", "msgs/s",
        "kernel CPU (s)", f"CPU {TIMES} print()", "exact",
    ]  # fmt: skip
    align = ["---", "---:", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", ":---:"]
    if paced:
        head += ["stream (s)", "latency p50 / p95 / max (ms)"]
        align += ["---:", "---:"]
    lines = [head, align]
    for r in rows:
        cells = [r.method.name, f"{r.n:,}", r.mode]
        if r.skipped is not None:
            cells.append(r.skipped)
        else:
            b = base[r.n]
            rate = r.rate()
            cells += [
                f"{r.nbytes:,.0f}",
                f"{r.nbytes / r.n:,.1f}",
                f"{r.nbytes / b.nbytes:,.2f}{TIMES}",
                f"{r.messages:,.0f}",
                "—" if rate is None else f"{rate:,.1f}",
                f"{r.cpu:.3f}",
                f"{r.cpu / b.cpu:.2f}{TIMES}",
                "yes" if r.exact else "**NO**",
            ]
            if paced:
                lat = r.runs[0].latency
                cells.append(f"{r.span:.1f}")
                cells.append(
                    " / ".join(fmt_ms(quantile(lat, q)) for q in (0.5, 0.95, 1.0)) if lat else "—"
                )
        lines.append(cells + [""] * (len(head) - len(cells)))
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


@dataclass
class Target:
    ok: bool
    text: str


def targets(rows: Sequence[Row], first: dict[str, list[tuple[float, float]]]) -> list[Target]:
    measured = [r for r in rows if r.runs]
    base = {(r.n, r.mode): r for r in measured if r.method == PRINT}
    views = [r for r in measured if r.method == STREAM_VIEW]
    fast = [r for r in views if r.mode == "fast"]
    found = []

    byte_ratios = [(r.n, r.nbytes / base[r.n, r.mode].nbytes) for r in fast]
    found.append(
        Target(
            all(x <= 1.3 for _, x in byte_ratios),
            f"fast: iopub bytes ≤ 1.3{TIMES} print() at every N — "
            + ", ".join(f"{x:.2f}{TIMES} at {n:,}" for n, x in byte_ratios),
        )
    )
    cpu_ratios = [(r.n, r.cpu / base[r.n, r.mode].cpu) for r in fast]
    found.append(
        Target(
            all(x <= 2 for _, x in cpu_ratios),
            f"fast: kernel CPU ≤ 2{TIMES} print() — "
            + ", ".join(f"{x:.2f}{TIMES} at {n:,}" for n, x in cpu_ratios),
        )
    )

    def busiest(r: Row, of: str) -> int:
        return max(busiest_window(getattr(run.capture, of)) for run in r.runs)

    worst = max(views, key=lambda r: busiest(r, "delta_dates"))
    steady = [
        (r.n, (len(dates) - 1) / (dates[-1] - dates[0]))
        for r in views
        if r.mode == "paced" and len(dates := r.runs[0].capture.delta_dates) > 1
    ]
    found.append(
        Target(
            busiest(worst, "delta_dates") <= 30,
            "≤ 30 widget messages per second at any rate — the busiest 1-s window of any "
            f"stream holds {busiest(worst, 'delta_dates')} deltas ({worst.mode} {worst.n:,}; "
            f"{busiest(worst, 'widget_dates')} widget messages with the stream's one start "
            "and one end message, which are not rate-limited); paced streams send "
            + ", ".join(f"{x:.1f} deltas/s at {n:,}" for n, x in steady)
            + " (first to last delta)",
        )
    )

    sent = [s for _, s in first.get(STREAM_VIEW.name, [])]
    if sent:
        wire = [w for w, _ in first[STREAM_VIEW.name]]
        found.append(
            Target(
                max(sent) <= 0.005,
                "first delta leaves at once: ≤ 5 ms from the source yielding its first token "
                f"to the delta sent, in the kernel — p50 {fmt_ms(quantile(sent, 0.5))} ms, "
                f"max {fmt_ms(max(sent))} ms over {len(sent)} streams (to the message's "
                f"header date: p50 {fmt_ms(quantile(wire, 0.5))} ms, "
                f"max {fmt_ms(max(wire))} ms)",
            )
        )
    return found


def first_token_table(first: dict[str, list[tuple[float, float]]]) -> str:
    lines = [
        "| method | streams | to the header date of the first message carrying it, "
        "p50 / max (ms) | to its send returning in the kernel, p50 / max (ms) |",
        "|---|---:|---:|---:|",
    ]
    for name, found in first.items():
        wire = [w for w, _ in found]
        sent = [s for _, s in found if not math.isnan(s)]  # NaN: not hooked
        lines.append(
            f"| {name} | {len(found)} | {fmt_ms(quantile(wire, 0.5))} / {fmt_ms(max(wire))} | "
            + (f"{fmt_ms(quantile(sent, 0.5))} / {fmt_ms(max(sent))} |" if sent else "— |")
        )
    return "\n".join(lines)


def markdown(
    *,
    rows: Sequence[Row],
    first: dict[str, list[tuple[float, float]]],
    setup_bytes: dict[str, int],
    versions: dict[str, str],
    args: argparse.Namespace,
    phases: dict[str, float],
) -> str:
    cpu_model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    wall = phases.pop("in all")
    tokens = sample_tokens(10_000)
    chars_per_token = sum(map(len, tokens)) / len(tokens)
    utf8_per_token = len("".join(tokens).encode()) / len(tokens)
    fast_rows = [r for r in rows if r.mode == "fast"]
    paced_rows = [r for r in rows if r.mode == "paced"]
    found = targets(rows, first)
    parts = [
        "# Kernel-side cost of streaming: StreamView against the usual ways",
        "",
        f"Generated by `python -m benchmarks.kernel_wire` on "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: {os.cpu_count()} cores "
        f"({cpu_model}), "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + f". The run took **{wall / 60:.1f} min** ("
        + ", ".join(f"{k} {v:.0f} s" for k, v in phases.items())
        + ").",
        "",
        "How it was measured:",
        "",
        f"- The same tokens (`tests.kernel_harness.make_tokens`, {chars_per_token:.1f} "
        f"characters ({utf8_per_token:.1f} bytes of UTF-8) a token, with multi-byte and "
        "astral characters) go through every method in one real ipykernel, one cell per "
        "stream.",
        "- **bytes** and **messages**: every frame of every iopub message from the cell's "
        "`busy` to its `idle`, read by a raw ZMQ subscriber (so the `busy`, `execute_input` "
        "and `idle` messages of the cell, about 1.4 kB, count for every method). Creating "
        "and displaying a widget happens in an earlier cell and is not counted: it is sent "
        "once per widget ("
        + ", ".join(f"{k} {fmt_bytes(v)}" for k, v in setup_bytes.items() if v)
        + "; the first widget of a kernel also brings the kernel's one shared bundle, "
        "the JavaScript module). StreamView runs twice: as a user gets it by default, "
        "where the stream ends with what a saved notebook keeps, once: one `text/html` "
        "update carrying the sanitized static copy of the final answer (about 1.4x the "
        "text's bytes) and one state message with the final text (1x, so a notebook run "
        "headless saves the answer in its widget state), and with `static_copy=False`, "
        "the stream alone (the paced and latency figures are of that one: the copy "
        "changes only the stream's end).",
        "- **msgs/s**: output messages per second from the cell's first to its last output "
        "message (— when there is only one).",
        "- **kernel CPU**: `time.process_time()` in the kernel, all threads (the IOPub "
        "thread, and StreamView's background flusher), from before the loop to after a "
        "`sys.stdout.flush()` that waits until the IOPub thread has sent everything queued.",
        "- **exact**: the text a viewer ends up with, rebuilt from what went on the wire "
        "(print()'s stdout; StreamView's deltas applied by offset; the last update or "
        "value for the others; per-token methods must also have sent all N updates).",
        f"- **fast**: as fast as the loop goes; the linear methods' rows are the median of "
        f"{args.repeats} runs (taken in turn), the per-token re-sends run once. **paced**: "
        f"token i is yielded at t0 + i/{args.rate:g} s, by a generator in the kernel, the "
        "same for every method. **latency** (paced): per token, from the generator "
        "yielding it to the header date of the first message that carries it.",
        "- Ratios are against print() of the same N and mode, in this run. ipykernel sends "
        "print()'s output at most every 200 ms, so for paced streams compare messages/s "
        "and latency rather than bytes.",
        "",
        "## As fast as possible",
        "",
        table(fast_rows, paced=False),
        "",
        f"## Paced at {args.rate:g} tokens/s",
        "",
        table(paced_rows, paced=True),
        "",
        *(
            [
                f"Not paced here: {', '.join(f'{n:,}' for n in unpaced)} tokens "
                f"({max(unpaced) / args.rate:.0f} s per method); `--full` runs them.",
                "",
            ]
            if (unpaced := sorted({r.n for r in fast_rows} - {r.n for r in paced_rows}))
            else []
        ),
        "## Time to first token",
        "",
        "Each stream waits 20 ms (the model thinking), then yields 60 tokens at "
        f"{args.rate:g}/s; times run from the source yielding its first token (same wall "
        "clock as the message headers). StreamView's send is wrapped in the kernel to "
        "timestamp the moment the first delta has been serialised, signed and handed to "
        "the IOPub thread.",
        "",
        first_token_table(first),
        "",
        "## StreamView targets",
        "",
        *[f"- **{'PASS' if t.ok else 'FAIL'}** {t.text}" for t in found],
        "",
    ]
    return "\n".join(parts)


# -- the run ---------------------------------------------------------------------------


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_all(
    kernel: Kernel, args: argparse.Namespace
) -> tuple[list[Row], dict[str, list[tuple[float, float]]], dict[str, int], dict[str, float]]:
    bench = Bench(kernel)
    rows: list[Row] = []
    phases: dict[str, float] = {}
    paced_ns = [n for n in args.tokens if args.full or n <= args.paced_max]

    for mode, ns in (("fast", args.tokens), ("paced", paced_ns)):
        started = time.monotonic()
        rate = None if mode == "fast" else args.rate
        for n in ns:
            bench.use_tokens(n)
            repeats = args.repeats if mode == "fast" else 1
            methods = [m for m in METHODS if mode == "fast" or m.paced]
            by_method = {m: Row(m, n, mode) for m in methods}
            for _ in range(repeats):
                for m in methods:
                    if not m.quadratic:
                        log(f"{mode} {n:,} {m.name}")
                        by_method[m].runs.append(bench.measure(m, rate))
            for m in methods:
                if m.quadratic and n <= args.quadratic_max:
                    log(f"{mode} {n:,} {m.name}")
                    by_method[m].runs.append(bench.measure(m, rate))
            rows.extend(by_method.values())
        for row in rows:
            if row.mode == mode and not row.runs:
                earlier = [r for r in rows if r.method == row.method and r.mode == mode and r.runs]
                if not earlier:
                    row.skipped = "skipped (O(N²))"
                    continue
                gb = extrapolate([(r.n, r.nbytes) for r in earlier], row.n)
                cpu = extrapolate([(r.n, r.cpu) for r in earlier], row.n)
                row.skipped = (
                    f"skipped (O(N²); ~{fmt_bytes(gb)} and ~{cpu:,.{0 if cpu >= 10 else 1}f} s "
                    "of kernel CPU extrapolated)"
                )
        phases[mode] = time.monotonic() - started

    started = time.monotonic()
    first: dict[str, list[tuple[float, float]]] = {}
    for m, streams in (
        (STREAM_VIEW, args.first_token_streams),
        (PRINT, max(3, args.first_token_streams // 4)),
        (DISPLAY_EACH, max(3, args.first_token_streams // 4)),
    ):
        log(f"first token {m.name}")
        first[m.name] = bench.first_token(m, streams, args.rate)
    phases["time to first token"] = time.monotonic() - started
    return rows, first, bench.setup_bytes, phases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--tokens", type=int, nargs="+", default=[1_000, 20_000, 100_000], help="stream sizes"
    )
    parser.add_argument(
        "--full", action="store_true", help="also pace the largest streams (500 s per method)"
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/kernel_wire.md"))
    parser.add_argument("--rate", type=float, default=200.0, help="paced tokens per second")
    parser.add_argument(
        "--paced-max", type=int, default=20_000, help="pace streams up to this N (without --full)"
    )
    parser.add_argument(
        "--quadratic-max",
        type=int,
        default=20_000,
        help="run the O(N²) per-token methods up to this N; extrapolate beyond",
    )
    parser.add_argument("--repeats", type=int, default=5, help="fast runs of linear methods")
    parser.add_argument("--first-token-streams", type=int, default=20)
    args = parser.parse_args(argv)
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    kernel = Kernel()
    try:
        kernel.check(KERNEL_CODE + SAMPLE_TOKENS_CODE)
        versions: dict[str, str] = json.loads(kernel.check("_versions()").stdout)
        rows, first, setup_bytes, phases = run_all(kernel, args)
    finally:
        kernel.shutdown()
    phases["in all"] = time.monotonic() - started
    versions["load average (1 min) before / after"] = (
        f"{load_before:.2f} / {os.getloadavg()[0]:.2f}"
    )
    report = markdown(
        rows=rows, first=first, setup_bytes=setup_bytes, versions=versions, args=args, phases=phases
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
