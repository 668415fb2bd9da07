"""The one exception attachments raise: :class:`AttachmentError`."""

from __future__ import annotations

__all__ = ["AttachmentError"]


class AttachmentError(ValueError):
    """An object cannot be attached to a question, and why (raised before anything is sent).

    The message names what was given and what to do instead: the accepted kinds, the
    path that is missing, the limit that was exceeded. From :func:`attach_all` it also
    names which attachment failed, and ``index`` is its position (None from
    :func:`attach`, which converts one object).

    Example:
        >>> from nbstream.attachments import attach
        >>> attach(42)
        Traceback (most recent call last):
          ...
        nbstream.attachments.errors.AttachmentError: cannot attach an int: ...
    """

    def __init__(self, message: str, *, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index
