"""The path a Colab notebook takes, as far as it can be followed without Colab.

Colab renders third-party widgets only through its *custom widget manager*: the kernel
must call ``google.colab.output.enable_custom_widget_manager()``, and each widget output
must name the manager's URL in its metadata. anywidget does both when it finds
``google.colab.output`` in ``sys.modules`` (its ``get_repr_metadata``). nbstream displays
its widgets itself (a ``display_id`` for the static copy, ``saved_output.py``), so these
tests prove that its own display and update paths still go through anywidget's: in a real
ipykernel, with a stand-in for the one Colab module anywidget reads (Colab itself, and
its CDN-loaded widget manager, cannot run here).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.kernel_harness import Kernel

pytestmark = pytest.mark.kernel

VIEW_MIME = "application/vnd.jupyter.widget-view+json"
MANAGER_URL = (
    "https://ssl.gstatic.com/colaboratory-static/widgets/colab-cdn-widget-manager/x/manager.min.js"
)

# What colabtools' google/colab/output/_widgets.py does, reduced to what anywidget reads:
# enabling the manager records its URL in `_widgets._installed_url`.
COLAB_STANDIN = f"""
import sys, types
_colab_output = types.ModuleType("google.colab.output")
_colab_output._widgets = types.SimpleNamespace(_installed_url=None)
_colab_output.enabled = 0
def _enable_custom_widget_manager():
    _colab_output.enabled += 1
    _colab_output._widgets._installed_url = {MANAGER_URL!r}
_colab_output.enable_custom_widget_manager = _enable_custom_widget_manager
sys.modules["google.colab.output"] = _colab_output
"""


@pytest.fixture(scope="module")
def colab_kernel() -> Iterator[Kernel]:
    k = Kernel()
    k.check(
        COLAB_STANDIN + "\nimport nbstream, nbstream.local\nfrom IPython.display import display\n"
    )
    yield k
    k.shutdown()


def widget_outputs(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [
        m["content"]
        for m in messages
        if m["header"]["msg_type"] == kind and VIEW_MIME in m["content"]["data"]
    ]


def manager_url(output: dict[str, Any]) -> object:
    meta = output["metadata"].get(VIEW_MIME, {})
    return meta.get("colab", {}).get("custom_widget_manager", {}).get("url")


def test_stream_view_outputs_name_colabs_widget_manager(colab_kernel: Kernel) -> None:
    traffic = colab_kernel.check(
        "view = nbstream.StreamView()\n"
        "display(view)\n"
        "text = view.stream(['Hello', ', Colab', '!'])\n"
        "print(repr(text), sys.modules['google.colab.output'].enabled)"
    )
    shown = widget_outputs(traffic.messages, "display_data")
    updated = widget_outputs(traffic.messages, "update_display_data")
    assert len(shown) == 1, traffic.messages
    assert len(updated) == 1, traffic.messages
    # The live output and the end-of-stream update (which carries the static copy) both
    # tell Colab which widget manager renders them; the update must not drop it.
    assert manager_url(shown[0]) == MANAGER_URL
    assert manager_url(updated[0]) == MANAGER_URL
    assert "Hello, Colab!" in updated[0]["data"]["text/html"]
    assert shown[0]["transient"]["display_id"] == updated[0]["transient"]["display_id"]
    # anywidget enabled the manager once per kernel, before the first widget was created.
    assert traffic.stdout.split() == ["'Hello,", "Colab!'", "1"]


def test_chat_outputs_name_colabs_widget_manager(colab_kernel: Kernel) -> None:
    traffic = colab_kernel.check(
        "chat = nbstream.Chat(client=nbstream.local.client(), model=nbstream.local.MODEL)\n"
        "display(chat)\n"
        "answer = chat.ask('Say hello')\n"
        "print(len(answer) > 0, sys.modules['google.colab.output'].enabled)"
    )
    shown = widget_outputs(traffic.messages, "display_data")
    updated = widget_outputs(traffic.messages, "update_display_data")
    assert shown
    assert updated
    assert {manager_url(o) for o in shown + updated} == {MANAGER_URL}
    assert traffic.stdout.split() == ["True", "1"]


def test_without_colab_outputs_carry_no_colab_metadata() -> None:
    # The control: the same display in a plain kernel names no Colab manager, so the
    # assertions above see anywidget reacting to Colab, not something nbstream always adds.
    k = Kernel()
    try:
        traffic = k.check(
            "import nbstream\nfrom IPython.display import display\n"
            "view = nbstream.StreamView()\ndisplay(view)\nview.stream(['plain'])"
        )
    finally:
        k.shutdown()
    outputs = widget_outputs(traffic.messages, "display_data") + widget_outputs(
        traffic.messages, "update_display_data"
    )
    assert len(outputs) == 2
    assert all(manager_url(o) is None for o in outputs)
