"""What a saved notebook weighs: bytes against the number of ``%%chat`` cells.

    .venv/bin/python -m benchmarks.notebook_size [--cells 1 10 50] [--out FILE]

Each notebook is a setup cell (the embedded local model, as fast as it goes) and N
``%%chat --new`` cells, each asking its own question. It runs headless, as ``jupyter
nbconvert --execute`` and papermill run it (nbclient, which saves widget state by
default), once with the bundle shared (the default: each widget carries a small stub
and names the kernel's one Bundle model) and once with ``NBSTREAM_INLINE_BUNDLE=1``
(each widget carries the whole bundle, as anywidget does by default: the baseline).
The saved file is weighed as ``nbformat`` writes it, and split into what takes room.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import nbclient
import nbformat

import nbstream

SETUP_CELL = (
    "import nbstream.local\n"
    "server = nbstream.local.server()\n"
    "server.tokens_per_second = 0  # as fast as it goes: the answers' size is the point\n"
    "server.first_token_delay = 0\n"
    "%load_ext nbstream\n"
    "%chat_config --local"
)
_STATE = "application/vnd.jupyter.widget-state+json"
_VIEW = "application/vnd.jupyter.widget-view+json"


def chat_cell(i: int) -> str:
    """The i-th ``%%chat`` cell: a new conversation, a question of its own."""
    return f"%%chat --new\nQuestion {i + 1}: what is nbstream?"


def chat_notebook(cells: int) -> nbformat.NotebookNode:
    """A notebook of the setup cell and ``cells`` ``%%chat`` cells, not yet run."""
    nb: nbformat.NotebookNode = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP_CELL)]
    nb.cells += [nbformat.v4.new_code_cell(chat_cell(i)) for i in range(cells)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


@contextmanager
def _environment(**values: str | None) -> Iterator[None]:
    # The kernel nbclient starts inherits this process's environment.
    saved = {key: os.environ.get(key) for key in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def execute(nb: nbformat.NotebookNode, *, inline: bool) -> nbformat.NotebookNode:
    """Run ``nb`` headless, saving widget state, with the bundle shared or inline."""
    with _environment(NBSTREAM_INLINE_BUNDLE="1" if inline else None):
        nbclient.NotebookClient(nb, kernel_name="python3", timeout=300).execute()
    return nb


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode())


@dataclass(frozen=True)
class Weight:
    """Where a saved notebook's bytes are."""

    total: int  # the file, as nbformat writes it
    widget_state: int  # metadata.widgets: every model's saved state
    bundle: int  # the frontend code in that state: Bundle models, or _esm/_css per widget
    outputs: int  # the cells' outputs (the widget references and their static copies)
    answers: int  # the final answers' markdown, UTF-8
    views: int  # widget views in the outputs

    @property
    def per_answer_byte(self) -> float:
        return self.total / self.answers


def weigh(nb: nbformat.NotebookNode) -> Weight:
    """Split an executed notebook's bytes into widget state, bundle, outputs and answers."""
    state: dict[str, Any] = nb.metadata.get("widgets", {}).get(_STATE, {}).get("state", {})
    bundle = 0
    for model in state.values():
        traits = model["state"]
        if model["model_name"] == "WidgetModel" and {"code", "css", "version"} <= set(traits):
            bundle += _size(traits["code"]) + _size(traits["css"])
        bundle += _size(traits.get("_esm", "")) + _size(traits.get("_css", ""))
    views = [
        output["data"][_VIEW]["model_id"]
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if _VIEW in output.get("data", {})
    ]
    answers = sum(len(state[v]["state"].get("content", "").encode()) for v in views if v in state)
    return Weight(
        total=len(nbformat.writes(nb).encode()),
        widget_state=_size(nb.metadata.get("widgets", {})),
        bundle=bundle,
        outputs=sum(_size(cell.get("outputs", [])) for cell in nb.cells),
        answers=answers,
        views=len(views),
    )


def measure(cells: int, *, inline: bool) -> Weight:
    """Run a notebook of ``cells`` ``%%chat`` cells headless and weigh what it saved."""
    return weigh(execute(chat_notebook(cells), inline=inline))


def report(results: dict[tuple[int, bool], Weight], seconds: float) -> str:
    counts = sorted({n for n, _ in results})
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# What a saved notebook weighs",
        "",
        f"Generated by `python -m benchmarks.notebook_size` on {when}: Python "
        f"{platform.python_version()}, nbclient {nbclient.__version__}, nbformat "
        f"{nbformat.__version__}, nbstream {nbstream.__version__}; the run took {seconds:.0f} s.",
        "",
        "Each notebook is one setup cell and N `%%chat --new` cells, run headless with",
        "nbclient (as `jupyter nbconvert --execute` and papermill run it; widget state is",
        "saved). **shared** is the default: each widget carries a small stub and the kernel's",
        "one Bundle model carries the frontend code, saved once. **inline** is each widget",
        "carrying the whole bundle (`NBSTREAM_INLINE_BUNDLE=1`, anywidget's default), measured",
        "in the same run as the baseline. Every view's answer is stored twice on purpose: in",
        "the widget state (so the widget reopens live without a kernel) and as the output's",
        "sanitized static copy (so GitHub, nbviewer and untrusted notebooks show it).",
        "",
        "| %%chat cells | bundle | file | widget state | of which code | outputs | answers"
        " | file ÷ answers | vs inline |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in counts:
        for inline in (False, True):
            w = results[n, inline]
            base = results[n, True].total
            lines.append(
                f"| {n} | {'inline' if inline else 'shared'} | {w.total:,} | {w.widget_state:,}"
                f" | {w.bundle:,} | {w.outputs:,} | {w.answers:,} | {w.per_answer_byte:.1f}×"
                f" | {w.total / base:.2f}× |"
            )
    lines += ["", "## Per added cell", ""]
    if len(counts) >= 2:
        lo, hi = counts[-2], counts[-1]
        for inline in (False, True):
            grow = (results[hi, inline].total - results[lo, inline].total) / (hi - lo)
            ratio = results[hi, inline].total / results[lo, inline].total
            lines.append(
                f"- {'inline' if inline else 'shared'}: {grow:,.0f} B per `%%chat` cell from"
                f" {lo} to {hi} cells; {hi} cells weigh {ratio:.2f}× {lo}"
            )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "notebook_size.md"
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = {
        (n, inline): measure(n, inline=inline) for n in args.cells for inline in (False, True)
    }
    text = report(results, time.perf_counter() - start)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
