"""What rendering a long stream costs the browser: nbstream against a full re-render.

    .venv/bin/python -m benchmarks.browser_render [--tokens 50000] [--rate 500] [--out FILE]
    .venv/bin/python -m benchmarks.browser_render --only-nbstream --profile  # where time goes

A real JupyterLab (tests.browser_harness) in Debian's headless Chromium. For each
variant, a fresh page opens a notebook whose first cell displays a view and whose second
cell streams ``nbstream.local.long_answer(tokens)`` into it from the embedded local
model, through a real ``openai`` client, at ``rate`` tokens/s. The variants:

- **nbstream**: the shipped bundle, ``nbstream/static/widget.js`` (incremental markdown).
- **full re-render**: ``js/bench/full-render.ts``, bundled here with esbuild. Same
  delivery protocol, same marked renderer and sanitizer, same CSS, also at most one
  redraw per animation frame; but every redraw parses the whole text and replaces all
  of the view's DOM. It is a ``StreamView`` subclass, so the kernel side is identical.

Both bundles run inside the same thin wrapper, which only records, and the page is
instrumented before JupyterLab loads (``PAGE_SCRIPT``). See the "Method" section of the
report for exactly what each figure spans.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbstream
from nbstream.local import long_answer
from tests.browser_harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    KNOWN_PAGE_ERRORS,
    JupyterServer,
    write_notebook,
)

REPO = Path(__file__).resolve().parent.parent
JS = REPO / "js"
SHIPPED = REPO / "nbstream" / "static" / "widget.js"
RESULTS = REPO / "benchmarks" / "results" / "browser_render.md"
BASELINE_SOURCE = JS / "bench" / "full-render.ts"

# Answer-length buckets (characters) for the per-frame render time; the last one ends
# at the answer's length.
BUCKETS = (0, 20_000, 50_000, 100_000)
# The targets nbstream must meet (issue 4).
LONG_TASK_MS = 50.0
LATENCY_P95_MS = 50.0
# "Flat": the median frame in the longest bucket costs at most this much more than in
# the shortest (ratio, plus an absolute allowance for sub-millisecond noise).
FLAT_RATIO = 1.5
FLAT_SLACK_MS = 0.5

# Runs in the page before JupyterLab. It records, and changes nothing a widget sees:
# - every requestAnimationFrame callback is timed; one that changed the watched view's
#   DOM (a MutationObserver's takeRecords() says so) is a render frame. After it, the
#   page's style and layout are forced, so that part of the frame's cost is separated
#   (the browser would do that work later in the same task anyway), and a posted message
#   times the rest of the frame's rendering update (prepaint, paint). Then the notebook
#   scrolls to the bottom, as a reader following the answer would.
# - every kernel WebSocket message is peeked at (JSON, or the v1 binary protocol) for
#   the widget's delta/end messages, with the kernel's header date and receipt time.
# - long tasks (> 50 ms on the main thread, whatever their cause) and long animation
#   frames (where such a frame's time went).
PAGE_SCRIPT = """
(() => {
  const b = {
    recording: false, tStart: 0, el: null, model: null, observer: null, scroller: null,
    frames: [], received: [], applied: [], longtasks: [], loafs: [],
  };
  window.__bench = b;
  const length = () => (b.model.get("content") ?? "").length;

  b.watch = (el, model) => {
    if (b.observer) b.observer.disconnect();
    b.el = el;
    b.model = model;
    b.observer = new MutationObserver(() => {});
    b.observer.observe(el, {subtree: true, childList: true, characterData: true, attributes: true});
  };
  b.onApplied = (msg) => {
    if (!b.recording || !msg || (msg.kind !== "delta" && msg.kind !== "end")) return;
    b.applied.push({t: performance.now(), kind: msg.kind, offset: msg.offset,
                    n: msg.text.length, len: length()});
  };
  b.start = () => {
    b.frames = []; b.received = []; b.applied = [];
    b.recording = true;
    b.tStart = performance.now();
  };
  b.stop = () => {
    b.recording = false;
    const tStop = performance.now();
    return {
      tStart: b.tStart, tStop, timeOrigin: performance.timeOrigin,
      skew: Date.now() - (performance.timeOrigin + performance.now()),
      frames: b.frames, received: b.received, applied: b.applied,
      longtasks: b.longtasks.filter((e) => e.start >= b.tStart && e.start <= tStop),
      loafs: b.loafs.filter((e) => e.start >= b.tStart && e.start <= tStop),
      scrolled: b.scroller !== null,
    };
  };

  const channel = new MessageChannel();
  const painting = [];
  channel.port1.onmessage = () => {
    const frame = painting.shift();
    if (frame) frame.t3 = performance.now();
  };
  const raf = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (callback) => raf((timestamp) => {
    if (!b.recording || !b.observer) return callback(timestamp);
    const t0 = performance.now();
    try {
      return callback(timestamp);
    } finally {
      const t1 = performance.now();
      if (b.observer.takeRecords().length > 0) {
        b.el.getBoundingClientRect();  // style + layout, now rather than later in this task
        const t2 = performance.now();
        const streaming = Boolean(b.model.get("is_streaming"));
        const frame = {t0, t1, t2, t3: null, len: length(), streaming};
        b.frames.push(frame);
        // A message posted now is handled after this frame's rendering update (style,
        // layout, prepaint, paint): its arrival closes the frame.
        painting.push(frame);
        channel.port2.postMessage(null);
        // Follow the answer as a reader would, so its end is on screen and gets painted.
        // Layout is clean here, so reading scrollHeight costs nothing more.
        b.scroller ??= b.el.closest(".jp-WindowedPanel-outer");
        if (b.scroller) b.scroller.scrollTop = b.scroller.scrollHeight;
      }
    }
  });

  const decoder = new TextDecoder();
  const peek = (data) => {
    const t = performance.now();
    let header, content;
    if (typeof data === "string") {
      const msg = JSON.parse(data);
      if (msg.channel !== "iopub" || msg.header?.msg_type !== "comm_msg") return;
      header = msg.header;
      content = msg.content;
    } else if (data instanceof ArrayBuffer) {
      // v1.kernel.websocket.jupyter.org protocol: count, offsets, then channel, header,
      // parent header, metadata, content, buffers.
      const view = new DataView(data);
      const count = Number(view.getBigUint64(0, true));
      if (count < 6) return;
      const at = (i) => Number(view.getBigUint64(8 * (i + 1), true));
      const part = (i) => decoder.decode(new Uint8Array(data, at(i), at(i + 1) - at(i)));
      if (part(0) !== "iopub") return;
      header = JSON.parse(part(1));
      if (header.msg_type !== "comm_msg") return;
      content = JSON.parse(part(4));
    } else {
      return;
    }
    const c = content?.data?.content;
    if (content?.data?.method !== "custom" || !c) return;
    if (c.kind !== "delta" && c.kind !== "end") return;
    b.received.push({t, date: header.date, kind: c.kind, offset: c.offset, n: c.text.length});
  };
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      // Registered before JupyterLab sets onmessage, so it runs first.
      this.addEventListener("message", (event) => { if (b.recording) peek(event.data); });
    }
  };

  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) b.longtasks.push({start: e.startTime, duration: e.duration});
  }).observe({type: "longtask", buffered: true});
  // Long animation frames (> 50 ms): where a long frame's time went.
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      b.loafs.push({
        start: e.startTime, duration: e.duration, renderStart: e.renderStart,
        styleAndLayoutStart: e.styleAndLayoutStart, blocking: e.blockingDuration,
        scripts: e.scripts.map((s) => ({
          invoker: s.invoker, duration: s.duration, start: s.startTime,
          forcedLayout: s.forcedStyleAndLayoutDuration,
          source: s.sourceURL
            ? `${s.sourceFunctionName || "?"} ${s.sourceURL.slice(-60)}:${s.sourceCharPosition}`
            : "",
        })),
      });
    }
  }).observe({type: "long-animation-frame", buffered: true});
})();
"""

# The _esm of both variants: the bundle under test, imported unchanged from a blob URL
# (as anywidget itself loads an _esm string), plus two listeners that only record.
# Registered after the bundle's own, so they see the model after it changed.
WRAPPER = """
const source = %s;
const url = URL.createObjectURL(new Blob([source], {type: "text/javascript"}));
let widget;
try {
  widget = (await import(url)).default;
} finally {
  URL.revokeObjectURL(url);
}
export default {
  initialize(props) {
    const cleanup = widget.initialize ? widget.initialize(props) : undefined;
    props.model.on("msg:custom", (msg) => globalThis.__bench?.onApplied(msg));
    return cleanup;
  },
  render(props) {
    const cleanup = widget.render(props);
    globalThis.__bench?.watch(props.el, props.model);
    return cleanup;
  },
};
"""

SETUP_CELL = """\
import pathlib

import nbstream.local
from IPython.display import display
from nbstream import StreamView


class BenchView(StreamView):
    _esm = pathlib.Path({esm!r})


client = nbstream.local.client(max_retries=0)
view = BenchView()
display(view)
"""

STREAM_CELL = """\
text = view.stream(
    client.chat.completions.create(
        model=nbstream.local.MODEL,
        messages=[{{"role": "user", "content": "A long answer, please."}}],
        stream=True,
        extra_body={{"nbstream": {options!r}}},
    )
)
len(text)
"""

KERNEL_READY = """async () => {
  const panel = window.jupyterapp?.shell?.currentWidget;
  if (!panel?.sessionContext) return false;
  await panel.sessionContext.ready;
  const kernel = panel.sessionContext.session?.kernel;
  return kernel?.connectionStatus === "connected" && kernel.status === "idle";
}"""

RUN_CELL = """async (index) => {
  const panel = window.jupyterapp.shell.currentWidget;
  panel.content.activeCellIndex = index;
  // Not awaited: the command settles only when the cell has run.
  window.jupyterapp.commands.execute("notebook:run-cell");
}"""

CELL_DONE = """(index) => {
  const prompt = document.querySelectorAll(".jp-CodeCell .jp-InputPrompt")[index];
  return prompt && /\\[\\d+\\]/.test(prompt.textContent);
}"""


@dataclass
class Variant:
    name: str
    description: str
    bundle: Path


@dataclass
class Run:
    variant: Variant
    data: dict[str, Any]
    text: str
    seconds: float
    page_errors: list[str] = field(default_factory=list)
    profile: list[str] = field(default_factory=list)


# -- building and running ---------------------------------------------------------------


def build(source: Path, bundle: Path, *, minify: bool = True) -> Path:
    """Bundle ``source`` like the shipped widget (esm, es2022, minified unless profiling)."""
    esbuild = JS / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        raise SystemExit("js/node_modules is missing: run `npm ci` in js/ first")
    subprocess.run(
        [
            str(esbuild),
            str(source.relative_to(JS)),
            "--bundle",
            "--format=esm",
            *(["--minify"] if minify else []),
            "--target=es2022",
            "--legal-comments=none",
            "--log-level=warning",
            f"--outfile={bundle}",
        ],
        cwd=JS,
        check=True,
    )
    return bundle


def wrapped(bundle: Path, out: Path) -> Path:
    path = out / f"wrapped-{bundle.name}"
    path.write_text(WRAPPER % json.dumps(bundle.read_text()))
    return path


def run_variant(
    browser: Any,
    server: JupyterServer,
    variant: Variant,
    esm: Path,
    options: dict[str, Any],
    *,
    profile_from: int | None = None,
) -> Run:
    name = write_notebook(
        server.root,
        f"bench-{variant.bundle.stem}.ipynb",
        [SETUP_CELL.format(esm=str(esm)), STREAM_CELL.format(options=options)],
    )
    expected = long_answer(options["answer_tokens"])
    expected_length = len(expected.encode("utf-16-le")) // 2
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.add_init_script(PAGE_SCRIPT)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(server.url(name))
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        server.wait_kernel_connected()
        page.wait_for_function(KERNEL_READY, timeout=60_000)
        page.evaluate(RUN_CELL, 0)
        page.wait_for_selector(".nbstream-view .nbstream-body", state="attached", timeout=60_000)
        page.wait_for_function(CELL_DONE, arg=0, timeout=60_000)
        page.wait_for_function("() => window.__bench.el !== null", timeout=10_000)
        page.wait_for_timeout(500)  # let the page settle after the first cell
        page.evaluate("() => window.__bench.start()")
        t0 = time.monotonic()
        page.evaluate(RUN_CELL, 1)
        budget = 120_000 + 3_000 * options["answer_tokens"] / options["tokens_per_second"]
        profile = (
            [] if profile_from is None else profiled(browser, context, page, profile_from, budget)
        )
        page.wait_for_function(
            """(n) => window.__bench.frames.some((f) => !f.streaming && f.len === n)""",
            arg=expected_length,
            timeout=budget,
            polling=250,
        )
        seconds = time.monotonic() - t0
        page.wait_for_timeout(1_000)  # a long task is reported when it has ended
        data: dict[str, Any] = page.evaluate("() => window.__bench.stop()")
        page.wait_for_function(CELL_DONE, arg=1, timeout=60_000)
        text: str = page.locator(".nbstream-view .nbstream-body").first.inner_text()
    finally:
        context.close()
        server.shutdown_kernels()
    unexpected = [e for e in errors if not any(k in e for k in KNOWN_PAGE_ERRORS)]
    return Run(variant, data, text, seconds, unexpected, profile)


PROFILE_SECONDS = 10


def profiled(browser: Any, context: Any, page: Any, start_at: int, budget: float) -> list[str]:
    """Profile PROFILE_SECONDS of the stream from ``start_at`` characters on: a V8 CPU
    profile (which functions) and a Chromium trace (script, style, layout, paint)."""
    page.wait_for_function(
        "(n) => window.__bench.model && (window.__bench.model.get('content') ?? '').length >= n",
        arg=start_at,
        timeout=budget,
        polling=100,
    )
    cdp = context.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 100})
    browser.start_tracing(page=page, categories=["devtools.timeline"])
    cdp.send("Profiler.start")
    frames_before = page.evaluate("() => window.__bench.frames.length")
    page.wait_for_timeout(PROFILE_SECONDS * 1000)
    cpu = cdp.send("Profiler.stop")["profile"]
    trace = json.loads(browser.stop_tracing())
    frames = page.evaluate("() => window.__bench.frames.length") - frames_before
    cdp.detach()
    return summarise_profile(cpu, frames) + summarise_trace(trace, frames)


def summarise_profile(profile: dict[str, Any], frames: int) -> list[str]:
    """Self and inclusive time per function, per render frame, from a V8 CPU profile."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent = {c: n["id"] for n in profile["nodes"] for c in n.get("children", [])}
    self_us: dict[int, float] = {}
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        self_us[sample] = self_us.get(sample, 0.0) + delta

    def label(node_id: int) -> str:
        frame = nodes[node_id]["callFrame"]
        name = frame["functionName"] or "(anonymous)"
        url = frame["url"].rsplit("/", 1)[-1][:20]
        return f"{name} {url}:{frame['lineNumber'] + 1}" if url else name

    by_self: dict[str, float] = {}
    by_total: dict[str, float] = {}
    for node_id, us in self_us.items():
        by_self[label(node_id)] = by_self.get(label(node_id), 0.0) + us
        seen = set()
        walk: int | None = node_id
        while walk is not None:  # count each function once per sample stack
            name = label(walk)
            if name not in seen:
                seen.add(name)
                by_total[name] = by_total.get(name, 0.0) + us
            walk = parent.get(walk)
    skip = {"(idle)", "(root)"}
    per = max(frames, 1) * 1000
    lines = [
        f"CPU profile, {PROFILE_SECONDS} s, {frames} render frames; ms per render frame "
        "(self / inclusive):",
        "",
        "| function | self | inclusive |",
        "|---|---:|---:|",
    ]
    top = sorted((k for k in by_self if k not in skip), key=lambda k: -by_self[k])[:15]
    lines += [f"| `{k}` | {by_self[k] / per:.3f} | {by_total[k] / per:.3f} |" for k in top]
    return [*lines, ""]


def summarise_trace(trace: Any, frames: int) -> list[str]:
    """Main-thread self time per trace event name (script, style, layout, paint...)."""
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    mains = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("ph") == "M"
        and e.get("name") == "thread_name"
        and e["args"]["name"] == "CrRendererMain"
    }
    spans: dict[tuple[int, int], list[tuple[float, float, str]]] = {}
    for e in events:
        if e.get("ph") == "X" and (e["pid"], e["tid"]) in mains and "dur" in e:
            spans.setdefault((e["pid"], e["tid"]), []).append((e["ts"], e["dur"], e["name"]))
    if not spans:
        return ["(no renderer main thread in the trace)"]
    # The page's renderer: the main thread with the most traced time.
    items = max(spans.values(), key=lambda v: sum(d for _, d, _ in v))
    items.sort(key=lambda x: (x[0], -x[1]))
    self_time: dict[str, float] = {}
    stack: list[list[Any]] = []  # [end, name, self]

    def close(until: float) -> None:
        while stack and stack[-1][0] <= until:
            _, name, own = stack.pop()
            self_time[name] = self_time.get(name, 0.0) + own

    for ts, dur, name in items:
        close(ts)
        if stack:
            stack[-1][2] -= dur
        stack.append([ts + dur, name, dur])
    close(float("inf"))
    per = max(frames, 1) * 1000
    top = sorted(self_time, key=lambda k: -self_time[k])[:12]
    return [
        "Chromium trace (devtools.timeline), same window: main-thread self time per event, "
        "ms per render frame:",
        "",
        "| event | ms/frame |",
        "|---|---:|",
        *(f"| {k} | {self_time[k] / per:.3f} |" for k in top),
        "",
    ]


# -- analysis ---------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def kernel_epoch_ms(date: str) -> float:
    return dt.datetime.fromisoformat(date.replace("Z", "+00:00")).timestamp() * 1000


@dataclass
class Bucket:
    label: str
    frames: int
    script_median: float
    script_p95: float
    layout_median: float
    layout_p95: float
    total_median: float
    total_p95: float


@dataclass
class Figures:
    frames: int
    buckets: list[Bucket]
    slope_ms_per_100k: float
    final_frame_ms: float
    long_tasks: int
    long_task_max: float
    long_task_total: float
    long_tasks_in_frames: int
    latency: list[float]
    kernel_to_browser: list[float]
    browser_to_model: list[float]
    model_to_frame: list[float]
    frame_script: list[float]
    unmatched: int
    skew: float


def analyse(run: Run, total_length: int) -> Figures:
    data = run.data
    origin: float = data["timeOrigin"]
    frames = data["frames"]
    streaming = [f for f in frames if f["streaming"]]
    final = [f for f in frames if not f["streaming"]]

    bounds = [b for b in BUCKETS if b < total_length] + [total_length + 1]
    buckets = []
    for low, high in itertools.pairwise(bounds):
        inside = [f for f in streaming if low <= f["len"] < high]
        script = [f["t1"] - f["t0"] for f in inside]
        layout = [f["t2"] - f["t0"] for f in inside]
        total = [f["t3"] - f["t0"] for f in inside if f["t3"] is not None]
        top = high if high <= total_length else total_length
        buckets.append(
            Bucket(
                f"{low / 1000:.0f}k-{top / 1000:.0f}k",
                len(inside),
                statistics.median(script) if script else float("nan"),
                percentile(script, 95),
                statistics.median(layout) if layout else float("nan"),
                percentile(layout, 95),
                statistics.median(total) if total else float("nan"),
                percentile(total, 95),
            )
        )

    # Least-squares slope of the whole frame's cost against answer length.
    timed = [f for f in streaming if f["t3"] is not None]
    xs = [f["len"] for f in timed]
    ys = [f["t3"] - f["t0"] for f in timed]
    slope = float("nan")
    if len(xs) > 1 and len(set(xs)) > 1:
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        sxx = sum((x - mx) ** 2 for x in xs)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx * 100_000

    tasks = data["longtasks"]
    in_frames = sum(
        any(t["start"] <= f["t0"] < t["start"] + t["duration"] for f in frames) for t in tasks
    )

    # Latency: each delta/end message, from the kernel building it (its header date)
    # to the end of the first render frame that drew a text including all of it.
    applied = {(a["kind"], a["offset"]): a for a in data["applied"]}
    latency, k2b, b2m, m2f, script = [], [], [], [], []
    unmatched = 0
    frame_index = 0
    for msg in sorted(data["received"], key=lambda m: m["t"]):
        model = applied.get((msg["kind"], msg["offset"]))
        if model is None or not msg["date"]:
            unmatched += 1
            continue
        end = msg["offset"] + msg["n"]
        while frame_index < len(frames) and frames[frame_index]["t0"] < model["t"]:
            frame_index += 1
        drawn = next((f for f in frames[frame_index:] if f["len"] >= end), None)
        if drawn is None:
            unmatched += 1
            continue
        sent = kernel_epoch_ms(msg["date"])
        latency.append(origin + drawn["t1"] - sent)
        k2b.append(origin + msg["t"] - sent)
        b2m.append(model["t"] - msg["t"])
        m2f.append(drawn["t0"] - model["t"])
        script.append(drawn["t1"] - drawn["t0"])

    return Figures(
        frames=len(streaming),
        buckets=buckets,
        slope_ms_per_100k=slope,
        final_frame_ms=(
            final[-1]["t3"] - final[-1]["t0"] if final and final[-1]["t3"] else float("nan")
        ),
        long_tasks=len(tasks),
        long_task_max=max((t["duration"] for t in tasks), default=0.0),
        long_task_total=sum(t["duration"] for t in tasks),
        long_tasks_in_frames=in_frames,
        latency=latency,
        kernel_to_browser=k2b,
        browser_to_model=b2m,
        model_to_frame=m2f,
        frame_script=script,
        unmatched=unmatched,
        skew=data["skew"],
    )


def long_task_rows(run: Run, limit: int = 10) -> list[str]:
    """One table row per long task (the longest ``limit``): when, how long, what ran."""
    data = run.data
    frames = data["frames"]
    rows = []
    tasks = sorted(data["longtasks"], key=lambda t: -t["duration"])[:limit]
    for task in sorted(tasks, key=lambda t: t["start"]):
        start, end = task["start"], task["start"] + task["duration"]
        inside = [f for f in frames if start <= f["t0"] < end]
        before = [f for f in frames if f["t0"] < end]
        length = before[-1]["len"] if before else 0
        frame = (
            ", ".join(f"{f['t1'] - f['t0']:.1f} + {f['t2'] - f['t1']:.1f}" for f in inside)
            if inside
            else "none"
        )
        # The long animation frame that overlaps this task most.
        overlaps = [
            (min(end, e["start"] + e["duration"]) - max(start, e["start"]), e)
            for e in data["loafs"]
        ]
        best = max(overlaps, key=lambda o: o[0], default=(0.0, None))
        loaf = best[1] if best[0] > 0 else None
        where = "-"
        if loaf is not None:
            paint = loaf["start"] + loaf["duration"] - loaf["styleAndLayoutStart"]
            scripts = sorted(loaf["scripts"], key=lambda x: -x["duration"])[:3]
            phases = (
                f"scripts before rendering {loaf['renderStart'] - loaf['start']:.0f}, "
                f"rAF {loaf['styleAndLayoutStart'] - loaf['renderStart']:.0f}, "
                f"style/layout/paint {paint:.0f}"
                if loaf["renderStart"]
                else "no rendering in this frame"
            )
            named = "; ".join(
                f"{x['invoker']} {x['duration']:.0f} ms"
                + (f" ({x['source']})" if x["source"] else "")
                + (f", {x['forcedLayout']:.0f} ms of it forced layout" if x["forcedLayout"] else "")
                for x in scripts
            )
            where = f"{phases}. {named}" if named else phases
        rows.append(
            f"| {(start - data['tStart']) / 1000:.1f} | {task['duration']:.0f} | {length:,} "
            f"| {frame} | {where} |"
        )
    return rows


# -- report -----------------------------------------------------------------------------


def ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"


def med(values: list[float]) -> str:
    return ms(statistics.median(values)) if values else "-"


def versions(browser_version: str) -> list[tuple[str, str]]:
    from importlib.metadata import version

    marked = json.loads((JS / "node_modules" / "marked" / "package.json").read_text())["version"]
    esbuild = subprocess.run(
        [str(JS / "node_modules" / ".bin" / "esbuild"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return [
        ("nbstream", nbstream.__version__),
        ("Chromium (headless)", browser_version),
        ("JupyterLab", version("jupyterlab")),
        ("jupyter_server", version("jupyter_server")),
        ("ipykernel", version("ipykernel")),
        ("ipywidgets", version("ipywidgets")),
        ("anywidget", version("anywidget")),
        ("Playwright (Python)", version("playwright")),
        ("marked", marked),
        ("esbuild", esbuild),
        ("Python", platform.python_version()),
    ]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}"


@dataclass
class Verdict:
    name: str
    passed: bool
    detail: str


def verdicts(f: Figures) -> list[Verdict]:
    first, last = f.buckets[0], f.buckets[-1]
    allowed = FLAT_RATIO * first.total_median + FLAT_SLACK_MS
    p95 = percentile(f.latency, 95)
    return [
        Verdict(
            f"no long task over {LONG_TASK_MS:.0f} ms",
            f.long_tasks == 0,
            f"{f.long_tasks} long tasks, longest {ms(f.long_task_max)} ms",
        ),
        Verdict(
            "render time per frame flat in answer length",
            last.total_median <= allowed,
            f"median frame {ms(first.total_median)} ms at {first.label} chars, "
            f"{ms(last.total_median)} ms at {last.label} (allowed ≤ {ms(allowed)}); "
            f"slope {ms(f.slope_ms_per_100k)} ms per 100k chars. Of which script "
            f"{ms(first.script_median)} → {ms(last.script_median)} ms, script + style + "
            f"layout {ms(first.layout_median)} → {ms(last.layout_median)} ms",
        ),
        Verdict(
            f"p95 latency ≤ {LATENCY_P95_MS:.0f} ms",
            p95 <= LATENCY_P95_MS,
            f"p50 {ms(percentile(f.latency, 50))} ms, p95 {ms(p95)} ms",
        ),
    ]


def report(
    runs: list[Run],
    figures: list[Figures],
    *,
    tokens: int,
    rate: float,
    length: int,
    browser_version: str,
    started: dt.datetime,
    wall: float,
    load: tuple[tuple[float, ...], tuple[float, ...]],
) -> str:
    names = [r.variant.name for r in runs]
    header = "| | " + " | ".join(names) + " |\n|---|" + "---:|" * len(runs)

    def row(label: str, values: list[str]) -> str:
        return f"| {label} | " + " | ".join(values) + " |"

    lines = [
        "# Browser render benchmark",
        "",
        f"`python -m benchmarks.browser_render`: a {tokens:,}-token answer "
        f"({length:,} characters of markdown: headings, lists, tables, code blocks, prose; "
        f"`nbstream.local.long_answer({tokens})`) streamed at {rate:g} tokens/s from the "
        "embedded local model, through a real `openai` client and `view.stream(...)`, into "
        "a widget in a real JupyterLab, in headless Debian Chromium. Each variant gets its "
        "own page and kernel, one after the other.",
        "",
        *(f"- **{r.variant.name}**: {r.variant.description}" for r in runs),
        "",
        "## Results",
        "",
        header,
        row("render frames while streaming", [str(f.frames) for f in figures]),
        row(
            f"long tasks (> {LONG_TASK_MS:.0f} ms)",
            [f"{f.long_tasks} ({f.long_tasks_in_frames} with a render frame)" for f in figures],
        ),
        row("longest long task (ms)", [ms(f.long_task_max) for f in figures]),
        row("main thread in long tasks (s)", [f"{f.long_task_total / 1000:.2f}" for f in figures]),
        row(
            "latency kernel → DOM p50 (ms)",
            [ms(percentile(f.latency, 50)) for f in figures],
        ),
        row("latency kernel → DOM p95 (ms)", [ms(percentile(f.latency, 95)) for f in figures]),
        row("latency kernel → DOM max (ms)", [ms(max(f.latency, default=0.0)) for f in figures]),
        row("messages timed (unmatched)", [f"{len(f.latency)} ({f.unmatched})" for f in figures]),
        row(
            "frame cost slope (ms per 100k chars)",
            [ms(f.slope_ms_per_100k) for f in figures],
        ),
        row("final frame, stream ended (ms)", [ms(f.final_frame_ms) for f in figures]),
        row("stream wall time (s)", [f"{r.seconds:.1f}" for r in runs]),
        row(
            "final text equals the other variant's",
            ["yes" if r.text == runs[0].text else "NO" for r in runs],
        ),
        "",
        "### Render time per frame by answer length",
        "",
        "Milliseconds per render frame while streaming, median (p95): *script* is the "
        "frame's render callback; *+layout* adds the style and layout it caused; *frame* "
        "runs on to the end of the frame's rendering update (prepaint, paint). Then the "
        "number of frames in the bucket.",
        "",
        "| answer length (chars) | "
        + " | ".join(f"{n} script | {n} +layout | {n} frame | {n} frames" for n in names)
        + " |",
        "|---|" + "---:|---:|---:|---:|" * len(runs),
    ]
    for i, bucket in enumerate(figures[0].buckets):
        cells = []
        for f in figures:
            b = f.buckets[i]
            cells += [
                f"{ms(b.script_median)} ({ms(b.script_p95)})",
                f"{ms(b.layout_median)} ({ms(b.layout_p95)})",
                f"{ms(b.total_median)} ({ms(b.total_p95)})",
                str(b.frames),
            ]
        lines.append(f"| {bucket.label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "### Where the latency goes (median ms)",
        "",
        header,
        row(
            "kernel builds message → browser receives it",
            [med(f.kernel_to_browser) for f in figures],
        ),
        row("browser receives → model holds the text", [med(f.browser_to_model) for f in figures]),
        row("model holds → render frame starts", [med(f.model_to_frame) for f in figures]),
        row("render frame (script)", [med(f.frame_script) for f in figures]),
        "",
    ]
    for run in runs:
        rows = long_task_rows(run)
        if not rows:
            continue
        shown = "all" if len(rows) == len(run.data["longtasks"]) else f"the {len(rows)} longest"
        lines += [
            "",
            f"### Long tasks: {run.variant.name} ({shown})",
            "",
            "Start (s after the stream cell was run), duration (ms), text length then, render "
            "frames inside it (script + layout ms), and the long-animation-frame breakdown "
            "(ms) with its longest scripts.",
            "",
            "| at (s) | ms | chars | render frames | where the time went |",
            "|---:|---:|---:|---|---|",
            *rows,
        ]
    for run in runs:
        if run.profile:
            lines += ["", f"### Profile: {run.variant.name}", "", *run.profile]
    lines += [
        "",
        "## Targets (nbstream)",
        "",
    ]
    ours = figures[names.index("nbstream")]
    results = verdicts(ours)
    for v in results:
        lines.append(f"- **{'PASS' if v.passed else 'FAIL'}** {v.name}: {v.detail}")
    overall = "PASS" if all(v.passed for v in results) else "FAIL"
    lines += [
        f"- **{overall}** overall",
        "",
        "## Run",
        "",
        f"- date: {started.isoformat(timespec='seconds')}",
        f"- wall time: {wall:.0f} s (whole command: server, builds, both variants)",
        f"- machine: {machine()}",
        f"- load average (1, 5, 15 min) at start {_load(load[0])}, at end {_load(load[1])}",
        "- browser clock vs wall clock (Date.now() - timeOrigin - performance.now()): "
        + ", ".join(
            f"{r.variant.name} {f.skew:+.2f} ms" for r, f in zip(runs, figures, strict=True)
        ),
        *(f"- {name}: {version}" for name, version in versions(browser_version)),
        *(f"- page errors ({r.variant.name}): {r.page_errors}" for r in runs if r.page_errors),
        "",
        "## Method",
        "",
        "- **Same kernel side for both.** Both views are `StreamView` subclasses that differ "
        "only in `_esm`; the kernel sends the same coalesced `delta` messages (at most 30/s) "
        "and the same `end` (docs/protocol.md). The baseline keeps nbstream's delivery "
        "(`channel.ts`), markdown renderer (`markdown.ts`, marked) and sanitizer "
        "(`sanitize.ts`), and redraws at most once per animation frame like nbstream; only "
        "the redraw differs: it parses the whole text and replaces the whole DOM "
        "(`replaceChildren`) where nbstream re-lexes the last few blocks and replaces only "
        "the blocks whose HTML changed. It draws the same blinking cursor. Both use the "
        "shipped CSS.",
        "- **Instrumentation** (`PAGE_SCRIPT`, `WRAPPER`): each bundle is loaded unchanged "
        "from a blob URL inside a wrapper that adds two recording listeners. "
        "`requestAnimationFrame` is wrapped: a callback after which a MutationObserver on "
        "the view has records is a *render frame*; its *script* time is the callback, and "
        "*+layout* adds a forced `getBoundingClientRect()` right after it (style and layout "
        "the browser would otherwise do later in the same frame); *frame* ends when a "
        "message posted from the callback arrives, i.e. after the frame's rendering update "
        "(prepaint, paint, layerize; rasterization is off the main thread), and may include "
        "a small task (a WebSocket message) queued before it. After each render frame the "
        "notebook is scrolled to the bottom, as a reader following the answer would, so the "
        "new text is on screen and painted. Frames are bucketed by the length of the "
        "model's text when drawn (UTF-16 units). The flat target: the median *frame* at the "
        f"longest bucket ≤ {FLAT_RATIO:g} x the shortest bucket's + {FLAT_SLACK_MS} ms; the "
        "slope is a least-squares fit of *frame* over all render frames.",
        "- **Latency** spans from the moment the kernel builds a `delta` (or `end`) message "
        "(its iopub header `date`, stamped by jupyter_client's `Session.msg` when "
        "nbstream's `DeltaChannel` flushes coalesced text) to the end of the first render "
        "callback that put a text containing all of it into the DOM. It includes ZMQ, "
        "jupyter_server, the WebSocket, JupyterLab's message handling, anywidget, the wait "
        "for the next animation frame and the render. It excludes the time a token waits "
        "in the kernel for the coalescing window (≤ 1/30 s) and paint. Kernel and browser "
        "read the same machine's wall clock; the page converts with "
        "`performance.timeOrigin` (skew reported above). The breakdown's browser-side "
        "points are the kernel WebSocket's `message` event (a listener that runs before "
        "JupyterLab's) and the wrapper's `msg:custom` listener (after nbstream's).",
        "- **Long tasks** are every `longtask` PerformanceObserver entry from just before "
        "the stream cell runs to 1 s after the final frame, whatever their cause.",
        "- Other engineers' tests may share the machine's 2 cores; see the load averages.",
        "- **Where the time goes:** `python -m benchmarks.browser_render --only-nbstream "
        "--profile` streams into an unminified build of `js/src` and records a V8 CPU "
        f"profile and a Chromium trace for {PROFILE_SECONDS} s from 60% of the answer on "
        "(per-function and per-phase milliseconds per render frame). Profiling slows the "
        "page, so it writes its report to a temporary file, not here.",
    ]
    return "\n".join(lines) + "\n"


def _load(values: tuple[float, ...]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=50_000)
    parser.add_argument("--rate", type=float, default=500.0, help="tokens per second")
    parser.add_argument("--out", type=Path, help=f"default: {RESULTS.relative_to(REPO)}")
    parser.add_argument("--raw", type=Path, help="also write the pages' records (JSON) here")
    parser.add_argument(
        "--only-nbstream", action="store_true", help="skip the baseline (for quick checks)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help=f"profile {PROFILE_SECONDS} s of nbstream at 60%% of the answer, using an "
        "unminified build of js/src so functions have names (slows it: figures are not "
        "comparable; the report goes to a temporary file unless --out is given)",
    )
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = (
            Path(tempfile.gettempdir()) / "browser_render-profile.md" if args.profile else RESULTS
        )
    if shutil.which(CHROMIUM) is None:
        raise SystemExit(f"needs Debian's chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    started = dt.datetime.now().astimezone()
    t0 = time.monotonic()
    load_start = os.getloadavg()
    options = {
        "answer_tokens": args.tokens,
        "tokens_per_second": args.rate,
        "first_token_delay": 0.05,
    }
    text = long_answer(args.tokens)
    length = len(text.encode("utf-16-le")) // 2
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="nbstream-bench-") as tmp:
        work = Path(tmp)
        variants = [
            Variant(
                "nbstream",
                "the shipped bundle (`nbstream/static/widget.js`): incremental markdown, "
                "only changed blocks re-rendered.",
                SHIPPED,
            )
            if not args.profile
            else Variant(
                "nbstream",
                "js/src/index.ts, built unminified for profiling.",
                build(JS / "src" / "index.ts", work / "widget.js", minify=False),
            ),
            Variant(
                "full re-render",
                "`js/bench/full-render.ts`: the whole text parsed and the view's DOM "
                "replaced on every frame.",
                build(BASELINE_SOURCE, work / "full-render.js"),
            ),
        ]
        if args.only_nbstream:
            variants = variants[:1]
        root = work / "root"
        root.mkdir()
        server = JupyterServer(root, "lab")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                browser_version = browser.version
                try:
                    for variant in variants:
                        print(f"streaming into {variant.name}…", flush=True)
                        esm = wrapped(variant.bundle, work)
                        profile = (
                            int(length * 0.6)
                            if args.profile and variant.name == "nbstream"
                            else None
                        )
                        runs.append(
                            run_variant(
                                browser, server, variant, esm, options, profile_from=profile
                            )
                        )
                finally:
                    browser.close()
        finally:
            server.stop()
    if args.raw:
        args.raw.write_text(json.dumps({r.variant.name: r.data for r in runs}))
    figures = [analyse(run, length) for run in runs]
    markdown = report(
        runs,
        figures,
        tokens=args.tokens,
        rate=args.rate,
        length=length,
        browser_version=browser_version,
        started=started,
        wall=time.monotonic() - t0,
        load=(load_start, os.getloadavg()),
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
