"""A notebook run headless saves the bundle once, however many ``%%chat`` cells it has.

The benchmark (benchmarks/notebook_size.py) weighs 1, 10 and 50 cells; this holds the
line the README states for ten, against the inline baseline measured in the same run.
"""

from __future__ import annotations

import pytest

from benchmarks.notebook_size import chat_notebook, execute, measure, weigh

pytestmark = pytest.mark.kernel


def test_ten_chat_cells_save_one_bundle_and_stay_under_250_kb() -> None:
    nb = execute(chat_notebook(10), inline=False)
    shared = weigh(nb)
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    bundles = [m for m in state.values() if "code" in m["state"] and "version" in m["state"]]
    assert len(bundles) == 1
    assert shared.views == 10
    # Every view saved its final answer (not an empty view, still streaming).
    views = [m["state"] for m in state.values() if m["model_name"] == "AnyModel"]
    assert len(views) == 10
    assert all(v["content"] and v["is_streaming"] is False for v in views)
    assert shared.total <= 250_000, shared

    inline = measure(10, inline=True)
    assert inline.answers == shared.answers
    # The baseline saves the bundle per widget; shared, it is saved once, plus ten stubs.
    per_widget = inline.bundle / 10
    assert shared.bundle < 1.3 * per_widget, (shared.bundle, per_widget)
    assert shared.total * 3 < inline.total
