"""The kernel benchmark's arithmetic, and one end-to-end run of it with tiny streams."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks.kernel_wire import busiest_window, extrapolate, main, token_latency


def test_busiest_window_counts_within_half_open_seconds() -> None:
    assert busiest_window([]) == 0
    # Just under 30 per second: a 1-s window never holds a 31st.
    assert busiest_window([i / 29.9 for i in range(300)]) == 30
    assert busiest_window([0.0, 0.5, 0.999, 1.0, 1.2]) == 4


def test_token_latency_is_from_yield_to_the_first_message_holding_the_token() -> None:
    stamps = [10.0, 10.1, 10.2]
    ends = [2, 5, 6]  # the tokens are 2, 3 and 1 units long
    progress = [(10.05, 2), (10.3, 6)]  # one message with token 0, one with the rest
    assert token_latency(stamps, ends, progress) == pytest.approx([0.05, 0.2, 0.1])


def test_extrapolate_fits_linear_plus_quadratic() -> None:
    points = [(n, 600 * n + 2.5 * n * n) for n in (1_000, 20_000)]
    assert extrapolate(points, 100_000) == pytest.approx(600 * 100_000 + 2.5 * 100_000**2)
    assert extrapolate([(10, 100.0)], 100) == pytest.approx(10_000)


@pytest.mark.kernel
def test_the_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "kernel_wire.md"
    args = ["--tokens", "30", "80", "--paced-max", "30", "--quadratic-max", "30"]
    args += ["--repeats", "1", "--first-token-streams", "3", "--rate", "400", "--out", str(out)]
    assert main(args) == 0
    report = out.read_text()

    row = re.compile(r"\| [^|]+ \| [\d,]+ \| (fast|paced) \|")
    rows = [line for line in report.splitlines() if row.match(line)]
    measured = [r for r in rows if "skipped" not in r]
    # fast 30 (all 7), fast 80 (the 4 linear ones), paced 30 (the default StreamView's
    # pacing is the other StreamView's, so it is not paced again)
    assert len(measured) == 7 + 4 + 6

    # By default a stream also sends its static copy once at the end: more bytes.
    def nbytes(method: str, n: int) -> int:
        line = next(r for r in measured if r.startswith(f"| {method} | {n} | fast |"))
        return int(line.split("|")[4].replace(",", ""))

    for n in (30, 80):
        alone = nbytes("StreamView, static_copy=False", n)
        assert nbytes("StreamView (default: + static copy)", n) > alone
    assert all("| yes |" in r for r in measured), measured
    skipped = [r for r in rows if "skipped (O(N²)" in r]
    assert len(skipped) == 3
    assert all("| 80 | fast |" in r for r in skipped)

    targets = report.split("## StreamView targets", 1)[1]
    verdicts = re.findall(r"^- \*\*(PASS|FAIL)\*\* ", targets, re.MULTILINE)
    assert len(verdicts) == 4
    assert "The run took" in report
