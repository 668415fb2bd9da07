"""What a widget's output holds besides the live widget: a static copy of its text.

A widget output is only a reference to a model in the kernel. Without the kernel (in
nbconvert HTML, on GitHub and nbviewer, in an untrusted notebook, or when widget state
was not saved) it shows as "Error displaying widget" or its ``text/plain``. So each
display also carries the final text as sanitized ``text/html``; a frontend that can
render the widget prefers it, the others fall back. There is deliberately no
``text/markdown`` copy: renderers of it (nbconvert's among them) pass raw HTML through,
and model output is untrusted.

The widget is displayed with a ``display_id``, so that when a stream ends, every output
showing it (there may be several) is updated with the new copy. Mid-stream no copy is
sent: the answer is not final, and the live widget is the one showing it.

The copy costs about 1.4 more copies of the final text on the wire, once per stream
(the deltas cost about what ``print()`` does); StreamView also sends its final state
then, for widget state saved headless (see ``StreamView._end``).
``static_copy=False`` on the widget turns both off.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from IPython.display import display, update_display

__all__ = ["StaticCopy"]

_log = logging.getLogger("nbstream")
_VIEW = "application/vnd.jupyter.widget-view+json"


class StaticCopy:
    """Mixin for an ipywidgets widget: outputs carry a static copy of what it shows.

    Subclasses implement :meth:`_static_markdown` and :meth:`_static_html`, and call
    :meth:`_update_static_copy` whenever the copy should change (at the end of a stream).
    """

    _display_id: str | None = None
    _static_copy = True  # set per instance from the widget's `static_copy` argument

    def _static_markdown(self) -> str | None:
        """The final text (markdown), or None while there is nothing final to copy."""
        raise NotImplementedError

    def _static_html(self) -> str | None:
        """The same, rendered and sanitized, as ``text/html``."""
        raise NotImplementedError

    def _mimebundle(self) -> tuple[dict[str, Any], dict[str, Any]]:
        # anywidget returns (data, metadata); the metadata matters (Colab's widget
        # manager reads it), so it is kept as is.
        live = super()._repr_mimebundle_()  # type: ignore[misc]
        data, metadata = live if isinstance(live, tuple) else (live or {}, {})
        data = dict(data)
        if _VIEW not in data:
            return data, metadata  # a closed widget: nothing live, nothing to copy
        if self._static_copy and self._static_markdown():
            html = self._static_html()
            if html:
                data["text/html"] = html
        return data, metadata

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        return self._mimebundle()

    def _ipython_display_(self) -> None:
        # Displayed through a display_id (the same for every display of this widget), so
        # that _update_static_copy can reach all of them later, from any cell.
        if self._display_id is None:
            self._display_id = f"nbstream-{uuid.uuid4().hex}"
        data, metadata = self._mimebundle()
        display(data, metadata=metadata, raw=True, display_id=self._display_id)  # type: ignore[no-untyped-call]

    def _update_static_copy(self) -> None:
        """Send the current static copy to every output that shows this widget."""
        if self._display_id is None or not self._static_copy:
            return  # never displayed (or only inside another widget): nothing to update
        try:
            data, metadata = self._mimebundle()
            update_display(data, metadata=metadata, raw=True, display_id=self._display_id)  # type: ignore[no-untyped-call]
        except Exception:
            # The copy is a convenience; failing to send it must not fail the stream.
            _log.debug("could not update the static copy", exc_info=True)
