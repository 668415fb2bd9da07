"""What streaming costs the kernel: iopub bytes, messages and CPU, against baselines.

    .venv/bin/python -m benchmarks.kernel_wire [--tokens 1000 20000 100000] [--out FILE]

Every method streams the same tokens in the same real ipykernel, measured the same way
(all iopub frames from the cell's busy to its idle; kernel CPU from process_time, all
threads). Results are ratios against print(), measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.kernel_harness import SAMPLE_TOKENS_CODE, Kernel, sample_tokens
from tests.recording import rebuild_text

SETUP = """
import time
from IPython.display import display
import anywidget, traitlets
from nbstream import StreamView

class NaiveWidget(anywidget.AnyWidget):
    # The usual first attempt: a synced trait set per token (re-sends the whole text).
    _esm = "export default { render({ model, el }) { el.textContent = model.get('content'); } }"
    content = traitlets.Unicode("").tag(sync=True)

def measured(fn):
    t0 = time.process_time()
    fn()
    print(f"CPU {time.process_time() - t0:.6f}")
"""

METHODS = {
    "print()": ("", "measured(lambda: [print(t, end='') for t in tokens])"),
    "StreamView": ("view = StreamView(); display(view)", "measured(lambda: view.stream(tokens))"),
    "synced trait per token": (
        "naive = NaiveWidget(); display(naive)",
        "def naive_run():\n"
        "    text = ''\n"
        "    for t in tokens:\n"
        "        text += t\n"
        "        naive.content = text\n"
        "measured(naive_run)",
    ),
}
# The per-token trait is O(N²) on the wire; past this it takes minutes to learn that.
NAIVE_MAX_TOKENS = 20_000


@dataclass
class Row:
    method: str
    tokens: int
    nbytes: int
    messages: int
    cpu: float
    exact: bool | None


def measure(kernel: Kernel, n: int) -> list[Row]:
    kernel.check(f"tokens = make_tokens({n})")
    expected = "".join(sample_tokens(n))
    rows = []
    for method, (prepare, run) in METHODS.items():
        if method.startswith("synced") and n > NAIVE_MAX_TOKENS:
            continue
        kernel.check(prepare)
        traffic = kernel.check(run)
        cpu = float(traffic.stdout.rsplit("CPU ", 1)[1])
        exact: bool | None = None
        if method == "StreamView":
            exact = rebuild_text(traffic.custom()) == expected
        elif method == "print()":
            exact = traffic.stdout.rsplit("CPU ", 1)[0] == expected
        wire = [m for m in traffic.messages if m["header"]["msg_type"] in ("stream", "comm_msg")]
        rows.append(Row(method, n, traffic.nbytes, len(wire), cpu, exact))
    return rows


def table(rows: list[Row]) -> str:
    base = {r.tokens: r for r in rows if r.method == "print()"}
    lines = [
        "| tokens | method | iopub bytes | vs print() | messages | kernel CPU (s) | vs print() "
        "| exact |",
        "|---:|---|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in rows:
        b = base[r.tokens]
        exact = {True: "yes", False: "NO", None: "n/a"}[r.exact]
        lines.append(
            f"| {r.tokens:,} | {r.method} | {r.nbytes:,} | {r.nbytes / b.nbytes:.2f}x | "
            f"{r.messages} | {r.cpu:.3f} | {r.cpu / b.cpu:.2f}x | {exact} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, nargs="+", default=[1_000, 20_000, 100_000])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/kernel_wire.md"))
    args = parser.parse_args(argv)
    kernel = Kernel()
    try:
        kernel.check(SETUP + SAMPLE_TOKENS_CODE)
        rows = [row for n in args.tokens for row in measure(kernel, n)]
    finally:
        kernel.shutdown()
    report = table(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report + "\n")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
