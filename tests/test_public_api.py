"""The public surface: exactly what is exported, and one version everywhere.

(That every public name is documented, with an example, is tests/test_docstrings.py's.)
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import ipywidgets
import pytest

import nbstream
import nbstream.local
from tests.recording import Recorder

ROOT = Path(__file__).parent.parent


def test_top_level_exports_are_exactly_the_public_api() -> None:
    # Submodules appear as attributes once anything imports them; they are not exports.
    public = {
        name
        for name in dir(nbstream)
        if not name.startswith("_") and not inspect.ismodule(getattr(nbstream, name))
    }
    assert set(nbstream.__all__) == public | {"__version__"}


def test_local_exports_resolve() -> None:
    for name in nbstream.local.__all__:
        assert hasattr(nbstream.local, name), name


def test_python_and_js_versions_match() -> None:
    package = json.loads((ROOT / "js" / "package.json").read_text())
    assert package["version"] == nbstream.__version__


def test_each_widget_carries_a_stub_and_names_the_kernels_one_bundle(recorder: object) -> None:
    static = Path(nbstream.__file__).parent / "static"
    views = [nbstream.StreamView(), nbstream.Chat(lambda _m: ["x"]), nbstream.StreamView()]
    states = [view.get_state(["_esm", "_css", "_bundle"]) for view in views]  # as sent
    assert all(state["_esm"] == (static / "stub.js").read_text() for state in states)
    assert all(state["_css"] == "" for state in states)
    [reference] = {state["_bundle"] for state in states}
    bundle = views[0]._bundle
    assert bundle is not None
    assert reference == f"IPY_MODEL_{bundle.model_id}"
    assert bundle.code == (static / "widget.js").read_text()
    assert "nbstream-view" in bundle.css
    assert "nbstream-chat" in bundle.css


def test_a_view_has_no_layout_model_until_its_layout_is_used(recorder: Recorder) -> None:
    # A saved notebook stores each Layout model (1.2 kB of nulls) beside its widget.
    views = [nbstream.StreamView(), nbstream.Chat(lambda _m: ["x"])]
    opened = [recorder.comm_of(view).published[0] for view in views]
    assert [msg_type for msg_type, _ in opened] == ["comm_open", "comm_open"]
    assert [data["state"]["layout"] for _, data in opened] == [None, None]
    models = [c.published[0][1]["state"]["_model_name"] for c in recorder.comms]
    assert "LayoutModel" not in models

    # Used as on any widget: made, opened, named in an update, and styled.
    view = views[0]
    view.layout.height = "20em"
    layout = view.layout
    assert recorder.comm_of(view).state_updates()[-1] == {"layout": f"IPY_MODEL_{layout.model_id}"}
    assert recorder.comm_of(layout).state_updates()[-1] == {"height": "20em"}
    assert view.get_state("layout") == {"layout": f"IPY_MODEL_{layout.model_id}"}
    # The other view still has none.
    assert views[1].get_state("layout") == {"layout": None}
    # A layout handed over is sent as usual.
    given = ipywidgets.Layout(width="50%")
    views[1].layout = given
    assert recorder.comm_of(views[1]).state_updates()[-1] == {
        "layout": f"IPY_MODEL_{given.model_id}"
    }


def test_a_closed_bundle_is_replaced_and_marimo_widgets_carry_their_own(
    recorder: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = nbstream.StreamView()._bundle
    assert first is not None
    first.close()
    second = nbstream.StreamView()._bundle
    assert second is not None
    assert second is not first
    assert second.comm is not None
    monkeypatch.setenv("NBSTREAM_INLINE_BUNDLE", "1")
    inline = nbstream.Chat(lambda _m: ["x"])
    static = Path(nbstream.__file__).parent / "static"
    assert inline._bundle is None
    assert inline._esm == (static / "widget.js").read_text()
    assert inline._css == (static / "widget.css").read_text()


def test_the_bundle_fits_the_budget() -> None:
    # Stored once per notebook (nbstream/bundle.py), and the stub once per widget.
    static = Path(nbstream.__file__).parent / "static"
    assert sorted(p.name for p in static.iterdir()) == ["stub.js", "widget.css", "widget.js"]
    assert sum(p.stat().st_size for p in static.iterdir()) <= 95_000
    assert (static / "stub.js").stat().st_size <= 1_024
