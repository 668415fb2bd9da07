"""How much may be attached: :class:`AttachmentLimits`, and sizes as people read them."""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["AttachmentLimits", "human_size"]


@dataclass(frozen=True)
class AttachmentLimits:
    """The limits attachments are checked against before anything is sent.

    The defaults follow what OpenAI-compatible providers accept: images up to 20 MB
    (and they scale anything larger than about 2048 px down themselves, so sending
    more pixels only costs upload time).

    Attributes:
        max_image_side: The longest side an image is sent with, in pixels; larger
            images are downscaled (aspect ratio kept) when pillow is installed, and
            refused with a clear error when it is not.
        max_bytes: The most bytes one attachment may have: a file's or an image's
            original data, and what is sent.
        max_count: The most attachments one question may carry.
        table_rows: How many rows of a table the model is shown (its shape and
            columns are always shown in full).
        text_chars: The most characters of a text (a file, a table's text) the model
            is shown; the rest is cut, with a note saying how much.

    Example:
        >>> from nbstream.attachments import AttachmentLimits
        >>> AttachmentLimits(table_rows=5).max_image_side
        2048
    """

    max_image_side: int = 2048
    max_bytes: int = 20_000_000
    max_count: int = 10
    table_rows: int = 20
    text_chars: int = 100_000

    def __post_init__(self) -> None:
        # A zero or negative limit would make every attachment fail with a puzzling
        # message later; say so where the limit is set.
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{field.name} must be a positive int, got {value!r}")


def human_size(size: int) -> str:
    """``size`` bytes as people read it: ``"512 B"``, ``"12.3 kB"``, ``"20.0 MB"`` (SI units).

    >>> human_size(512), human_size(12_345), human_size(20_000_000)
    ('512 B', '12.3 kB', '20.0 MB')
    """
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.1f} kB"
    if size < 1_000_000_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{size / 1_000_000_000:.1f} GB"
