"""The public surface: exactly what is exported, and one version everywhere.

(That every public name is documented, with an example, is tests/test_docstrings.py's.)
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import nbstream
import nbstream.local

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


def test_widget_carries_the_built_bundle(recorder: object) -> None:
    static = Path(nbstream.__file__).parent / "static"
    state = nbstream.StreamView().get_state(["_esm", "_css"])  # what the browser receives
    assert state["_esm"] == (static / "widget.js").read_text()
    assert state["_css"] == (static / "widget.css").read_text()
    assert "nbstream-view" in state["_css"]


def test_chat_carries_the_same_bundle(recorder: object) -> None:
    static = Path(nbstream.__file__).parent / "static"
    state = nbstream.Chat(lambda _m: ["x"]).get_state(["_esm", "_css"])
    assert state["_esm"] == (static / "widget.js").read_text()
    assert state["_css"] == (static / "widget.css").read_text()
    assert "nbstream-chat" in state["_css"]


def test_the_bundle_fits_the_budget() -> None:
    # Sent with every widget instance and stored once per instance in saved notebooks.
    static = Path(nbstream.__file__).parent / "static"
    assert sorted(p.name for p in static.iterdir()) == ["widget.css", "widget.js"]
    assert sum(p.stat().st_size for p in static.iterdir()) <= 100 * 1024
