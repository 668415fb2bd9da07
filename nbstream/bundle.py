"""The widgets' frontend code, stored once per notebook instead of once per widget.

anywidget sends a widget's ``_esm`` and ``_css`` with every instance, and a saved
notebook stores them in every instance's state: ten ``%%chat`` cells used to save ten
copies of the 100 kB bundle. In Jupyter frontends (JupyterLab, Notebook 7, VS Code,
Colab, Voilà, nbconvert's HTML) each widget here carries a 1 kB stub instead
(``js/src/stub.ts``), and names the kernel's one :class:`Bundle`, a plain ipywidgets
model that holds the code and the styles once. Saved widget state keeps that model
with the widgets, so a notebook reopened without a kernel still shows them live.

marimo renders anywidgets only (no ipywidgets models), and stores no widget state in
its notebooks: there, and with ``NBSTREAM_INLINE_BUNDLE=1``, each widget carries the
bundle itself, as anywidget does by default.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import sys
import threading
from collections.abc import Iterable
from functools import cache
from typing import Any

import anywidget
import ipywidgets
import traitlets

__all__ = ["Bundle", "BundledWidget", "inline_bundle", "shared_bundle"]

_STATIC = pathlib.Path(__file__).parent / "static"


@cache
def _static(name: str) -> str:
    return (_STATIC / name).read_text(encoding="utf-8")


class Bundle(ipywidgets.Widget):  # type: ignore[misc]
    """The frontend code of every nbstream widget in a kernel: one model, never shown.

    Example:
        >>> bundle = shared_bundle()
        >>> bundle is shared_bundle(), len(bundle.version)
        (True, 12)
    """

    code = traitlets.Unicode().tag(sync=True)
    css = traitlets.Unicode().tag(sync=True)
    # Views in one page evaluate the code once per version (js/src/stub.ts).
    version = traitlets.Unicode().tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        code, css = _static("widget.js"), _static("widget.css")
        version = hashlib.sha256((code + css).encode()).hexdigest()[:12]
        super().__init__(code=code, css=css, version=version, **kwargs)


_shared: Bundle | None = None
_shared_lock = threading.Lock()


def shared_bundle() -> Bundle:
    """The kernel's :class:`Bundle`; a new one if there was none, or it was closed."""
    global _shared  # noqa: PLW0603 - one bundle per kernel is the point
    with _shared_lock:
        if _shared is None or _shared.comm is None:
            _shared = Bundle()
        return _shared


def inline_bundle() -> bool:
    """Whether widgets carry the bundle themselves: in marimo, or when asked to."""
    if os.environ.get("NBSTREAM_INLINE_BUNDLE", "") not in ("", "0"):
        return True
    marimo = sys.modules.get("marimo")
    return marimo is not None and bool(marimo.running_in_notebook())


class BundledWidget(anywidget.AnyWidget):
    """An anywidget whose frontend code is the shared :class:`Bundle` (or, inline, its own)."""

    _esm = traitlets.Unicode().tag(sync=True)
    _css = traitlets.Unicode().tag(sync=True)
    _bundle = traitlets.Instance(Bundle, allow_none=True).tag(
        sync=True, **ipywidgets.widget_serialization
    )

    def __init__(self, **kwargs: Any) -> None:
        if inline_bundle():
            kwargs.update(_esm=_static("widget.js"), _css=_static("widget.css"), _bundle=None)
        else:
            kwargs.update(_esm=_static("stub.js"), _css="", _bundle=shared_bundle())
        super().__init__(**kwargs)

    # A saved notebook stores every widget's Layout model, 1.2 kB of nulls each, and a
    # view seldom gets a layout of its own. So a view has none until `layout` is first
    # read: then ipywidgets makes it and we send it, and the page applies it
    # (`view.layout.height = "20em"` works as on any widget). Views without a layout
    # are the ipywidgets frontends' own case too (DOMWidgetView.setLayout skips null).

    def get_state(
        self, key: str | Iterable[str] | None = None, drop_defaults: bool = False
    ) -> dict[str, Any]:
        """The state to sync, with ``layout`` null until the view's layout is first used.

        Example:
            >>> from nbstream import StreamView
            >>> view = StreamView()
            >>> view.get_state("layout")
            {'layout': None}
            >>> view.layout.height = "20em"  # made now, and sent
            >>> view.get_state("layout")["layout"].startswith("IPY_MODEL_")
            True
        """
        if "layout" in self._trait_values:
            state: dict[str, Any] = super().get_state(key, drop_defaults)
            return state
        keys = self.keys if key is None else [key] if isinstance(key, str) else list(key)
        state = super().get_state([k for k in keys if k != "layout"], drop_defaults)
        if "layout" in keys:
            state["layout"] = None
        return state

    @traitlets.observe("layout", type="default")
    def _send_layout_once_made(self, change: dict[str, Any]) -> None:
        if self.comm is not None:
            self.send_state("layout")
