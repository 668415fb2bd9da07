"""Join UTF-16 surrogate halves that arrive in different deltas.

Providers that escape JSON as UTF-16 (``"\\ud83d"`` then ``"\\ude80"``) can split an
emoji across two chunks; Python then holds two lone surrogates, which cannot even be
encoded to send to the browser.
"""

from __future__ import annotations

import re

__all__ = ["SurrogateJoiner"]

_SURROGATE = re.compile("[\ud800-\udfff]")
_HIGH_SURROGATE_FIRST, _HIGH_SURROGATE_LAST = "\ud800", "\udbff"


class SurrogateJoiner:
    """A trailing high half is held back until the next piece; pairs are combined; a half
    that never pairs becomes U+FFFD.

    >>> joiner = SurrogateJoiner()
    >>> joiner.push("rocket \\ud83d"), joiner.push("\\ude80!")
    ('rocket ', '🚀!')
    """

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held = ""

    def push(self, text: str) -> str:
        """The text of this piece that is ready (a trailing high half waits)."""
        if self._held:
            text, self._held = self._held + text, ""
        if not _SURROGATE.search(text):  # the common case: one regex scan, no copies
            return text
        if _HIGH_SURROGATE_FIRST <= text[-1] <= _HIGH_SURROGATE_LAST:
            text, self._held = text[:-1], text[-1]
        return _combine_surrogates(text)

    def flush(self) -> str:
        """What is still held back when the source ends (a lone half, as U+FFFD)."""
        held, self._held = self._held, ""
        return _combine_surrogates(held)


def _combine_surrogates(text: str) -> str:
    # Round-tripping through UTF-16 pairs up valid halves; "replace" turns lone ones into
    # U+FFFD instead of failing later when the text is sent as UTF-8.
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
