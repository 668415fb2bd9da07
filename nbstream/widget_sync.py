"""Trait syncing under the delivery protocol: what the protocol carries is not re-sent.

Shared by :class:`~nbstream.StreamView` and :class:`~nbstream.Chat`. Both stream text
through a :class:`~nbstream.delivery.DeltaChannel` and set their other traits in one
state message at stream boundaries; these pieces keep ipywidgets from syncing a
streamed text whole per change, or a value twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import traitlets

from nbstream.bundle import BundledWidget
from nbstream.delivery import DeltaChannel

__all__ = ["ChannelText", "ProtocolWidget"]


class ChannelText(traitlets.Unicode):  # type: ignore[type-arg]
    """A ``Unicode`` trait that, mid-stream, reads as the text its channel streamed so far.

    (The browser's receiver of those deltas is ``LiveText`` in ``js/src/live-text.ts``.)

    Storing every token in the trait would notify (and sync) per token; instead the
    delivery channel named ``channel`` (an attribute of the widget) holds the text and
    this trait reads through to it while a stream runs, so Python reads and a state
    request from a new browser view are never stale.
    """

    def __init__(self, default_value: str = "", *, channel: str, **kwargs: Any) -> None:
        super().__init__(default_value, **kwargs)
        self.channel_attr = channel

    def get(self, obj: traitlets.HasTraits, cls: type[Any] | None = None) -> Any:
        channel = obj.__dict__.get(self.channel_attr)
        if isinstance(channel, DeltaChannel) and channel.active:
            return channel.text()
        return super().get(obj, cls)


class ProtocolWidget(BundledWidget):
    """An anywidget whose :class:`ChannelText` traits never sync while their channel streams,
    and whose traits can be set quietly and then sent in one message."""

    def __init__(self, **kwargs: Any) -> None:
        # Keys whose changes the delivery protocol has already carried to the browser.
        self._delivered_keys: frozenset[str] = frozenset()
        super().__init__(**kwargs)
        _handle_browser_messages_where_sent(getattr(self, "comm", None))

    def _delivered(self, keys: Iterable[str]) -> DeliveredKeys:
        """A context in which changes to ``keys`` are stored but not synced."""
        return DeliveredKeys(self, frozenset(keys))

    def _stored(self, key: str) -> Any:
        """A trait's stored value, without reading through to a channel."""
        return self._trait_values.get(key)

    def _should_send_property(self, key: str, value: Any) -> bool:
        if key in self._delivered_keys:
            return False
        trait = self.traits().get(key)
        if isinstance(trait, ChannelText):
            channel = self.__dict__.get(trait.channel_attr)
            # While streaming, the protocol carries the text; never sync it whole.
            if isinstance(channel, DeltaChannel) and channel.active:
                return False
        result: bool = super()._should_send_property(key, value)
        return result


class DeliveredKeys:
    """Context in which changes to ``keys`` are not synced (the caller sends them)."""

    def __init__(self, widget: ProtocolWidget, keys: frozenset[str]) -> None:
        self._widget = widget
        self._keys = keys

    def __enter__(self) -> None:
        self._previous = self._widget._delivered_keys
        self._widget._delivered_keys = self._previous | self._keys

    def __exit__(self, *exc_info: object) -> None:
        self._widget._delivered_keys = self._previous


def _handle_browser_messages_where_sent(comm: object) -> None:
    """Let the kernel handle browser messages on the subshell the browser sent them on.

    JupyterLab ≥ 4.4 sends widget messages on a kernel subshell, which a busy cell does
    not block: that is what lets Stop act while another cell runs. But ipykernel 7.4
    re-routes a comm's incoming messages to the subshell its last *outgoing* message
    came from (to pair requests with replies), and ours go out from the main shell, so
    every browser message would wait for the busy cell again (measured: 2.4 s instead
    of milliseconds). Our messages are not request/reply pairs; honour the browser's
    choice. A kernel without this routing is unaffected.
    """
    if comm is not None and callable(getattr(comm, "_reply_subshell_for", None)):
        comm._reply_subshell_for = _as_sent  # type: ignore[attr-defined]


def _as_sent(_data: object, subshell_id: str | None) -> str | None:
    return subshell_id
