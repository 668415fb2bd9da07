"""Image bytes: what they are (format and pixel size, read from the header alone), and,
when pillow is installed, a check that they decode, downscaling, thumbnails and the
mean colour.

The header is read without pillow so that every image gets a clear answer about its
format and size, and the size limit can be stated, whether or not pillow is there.
"""

from __future__ import annotations

import base64
import io
import struct
from dataclasses import dataclass
from typing import Any

from nbstream.attachments.errors import AttachmentError

__all__ = [
    "FORMATS",
    "ImageInfo",
    "data_url",
    "downscale",
    "mean_colour",
    "parse_data_url",
    "sniff",
    "thumbnail",
]

FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}
"""The image formats that can be attached, and their MIME types."""

THUMBNAIL_SIDE = 160
"""The longest side of a thumbnail, in pixels (shown at half that, sharp on HiDPI)."""

_SMALL_ENOUGH = 32_000  # without pillow, an image this small is its own thumbnail


@dataclass(frozen=True)
class ImageInfo:
    """What an image's header says.

    Example:
        >>> sniff(bytes.fromhex("89504e470d0a1a0a0000000d4948445200000002000000030806000000"))
        ImageInfo(format='png', width=2, height=3)
    """

    format: str  # a key of FORMATS
    width: int
    height: int

    @property
    def mime(self) -> str:
        """The MIME type: ``"image/png"``, ...

        >>> ImageInfo("jpeg", 1, 1).mime
        'image/jpeg'
        """
        return FORMATS[self.format]


def sniff(data: bytes, name: str = "the image") -> ImageInfo:
    """The format and pixel size of PNG, JPEG, GIF or WebP ``data``, from its header.

    Raises:
        AttachmentError: ``data`` is none of them, or its header is cut or broken.

    Example:
        >>> sniff(b"GIF89a\\x02\\x00\\x01\\x00" + bytes(10))
        ImageInfo(format='gif', width=2, height=1)
        >>> sniff(b"hello", "notes.bin")
        Traceback (most recent call last):
          ...
        nbstream.attachments.errors.AttachmentError: notes.bin is not a PNG, JPEG, GIF or WebP image
    """
    try:
        info = _read_header(data)
    except (struct.error, IndexError, ValueError):
        info = None
        if _format_of(data):
            raise AttachmentError(
                f"{name} is a corrupt {_format_of(data).upper()} image: its header is cut short "
                "or broken"
            ) from None
    if info is None:
        raise AttachmentError(f"{name} is not a PNG, JPEG, GIF or WebP image")
    if info.width < 1 or info.height < 1:
        raise AttachmentError(
            f"{name} is a corrupt {info.format.upper()} image: it says it is "
            f"{info.width} × {info.height} px"
        )
    return info


def _format_of(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return ""


def _read_header(data: bytes) -> ImageInfo | None:
    kind = _format_of(data)
    if kind == "png":
        if data[12:16] != b"IHDR":
            raise ValueError("no IHDR")
        width, height = struct.unpack(">II", data[16:24])
        return ImageInfo("png", width, height)
    if kind == "gif":
        width, height = struct.unpack("<HH", data[6:10])
        return ImageInfo("gif", width, height)
    if kind == "webp":
        return ImageInfo("webp", *_webp_size(data))
    if kind == "jpeg":
        return ImageInfo("jpeg", *_jpeg_size(data))
    return None


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L":
        if data[20] != 0x2F:
            raise ValueError("bad VP8L signature")
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise ValueError("bad VP8 start code")
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    raise ValueError("unknown WebP chunk")


def _jpeg_size(data: bytes) -> tuple[int, int]:
    # Walk the segments to the first start-of-frame marker, which holds the size.
    at = 2
    while True:
        while data[at] == 0xFF and data[at + 1] == 0xFF:
            at += 1  # fill bytes
        if data[at] != 0xFF:
            raise ValueError("not a marker")
        marker = data[at + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        if marker == 0xD9 or length < 2:
            raise ValueError("no frame")
        at += 2 + length


def data_url(data: bytes, mime: str) -> str:
    """``data`` as a ``data:`` URL.

    >>> data_url(b"GIF", "image/gif")
    'data:image/gif;base64,R0lG'
    """
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def parse_data_url(url: str) -> tuple[str, bytes] | None:
    """``(mime, data)`` of a base64 ``data:`` URL, or None for any other URL.

    >>> parse_data_url("data:image/gif;base64,R0lG")
    ('image/gif', b'GIF')
    >>> parse_data_url("https://example.com/cat.png") is None
    True
    """
    if not url.startswith("data:") or ";base64," not in url:
        return None
    head, _, body = url.partition(";base64,")
    try:
        return head[5:], base64.b64decode(body, validate=True)
    except ValueError:
        return None


def _pillow() -> Any:
    """The ``PIL.Image`` module, or None: pillow is optional."""
    try:
        from PIL import Image  # noqa: PLC0415  # optional: only for a user who has pillow
    except ImportError:
        return None
    return Image


def decoded(data: bytes, name: str) -> Any:
    """The pillow image of ``data``, fully decoded; None without pillow.

    Raises:
        AttachmentError: pillow cannot decode it (the data is corrupt or cut).
    """
    image_module = _pillow()
    if image_module is None:
        return None
    try:
        image = image_module.open(io.BytesIO(data))
        image.load()
    except Exception as exc:  # pillow raises many kinds (OSError, SyntaxError, ...)
        raise AttachmentError(f"{name} is a corrupt image: {exc}") from None
    return image


def _encode(image: Any, info: ImageInfo) -> tuple[bytes, str]:
    """``image`` as bytes in its own format where pillow can write it, else PNG."""
    buffer = io.BytesIO()
    if info.format == "jpeg" and image.mode in ("RGB", "L", "CMYK"):
        image.save(buffer, format="JPEG", quality=90)
        return buffer.getvalue(), "image/jpeg"
    if info.format == "webp":
        try:
            image.save(buffer, format="WEBP", quality=90)
            return buffer.getvalue(), "image/webp"
        except (OSError, KeyError):
            buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue(), "image/png"


def downscale(
    data: bytes, info: ImageInfo, max_side: int, name: str, image: Any = None
) -> tuple[bytes, str]:
    """``data`` with its longest side at most ``max_side`` px (aspect ratio kept).

    Returns ``(data, mime)``: unchanged when it is small enough. ``image`` is ``data``
    already decoded by :func:`decoded`, if it was.

    Raises:
        AttachmentError: it is too large and pillow is not installed (the message says
            the limit), or it does not decode.

    Example:
        >>> png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000002000000030806000000")
        >>> downscale(png, sniff(png), 2048, "tiny.png") == (png, "image/png")
        True
    """
    if max(info.width, info.height) <= max_side:
        return data, info.mime
    image = image if image is not None else decoded(data, name)
    if image is None:
        raise AttachmentError(
            f"{name} is {info.width} × {info.height} px, more than the limit of {max_side} px "
            "on its longest side, and pillow (which would downscale it) is not installed: "
            "`pip install pillow`, or attach a smaller image"
        )
    image = image.copy()  # thumbnail() resizes in place
    image.thumbnail((max_side, max_side))
    return _encode(image, info)


def thumbnail(data: bytes, info: ImageInfo, image: Any = None) -> str:
    """A small ``data:`` URL of the image for the chat's chips and history ("" if none).

    With pillow it is at most :data:`THUMBNAIL_SIDE` px on its longest side; without
    it, a small image is its own thumbnail and a large one gets none (the chip then
    shows an icon). ``image`` is ``data`` already decoded by :func:`decoded`, if it was.
    """
    image = image if image is not None else decoded(data, "the image")
    if image is None:
        return data_url(data, info.mime) if len(data) <= _SMALL_ENOUGH else ""
    image = image.copy()  # thumbnail() resizes in place
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    buffer = io.BytesIO()
    if image.mode in ("RGBA", "LA", "P"):
        image.save(buffer, format="PNG", optimize=True)
        return data_url(buffer.getvalue(), "image/png")
    image.convert("RGB").save(buffer, format="JPEG", quality=75)
    return data_url(buffer.getvalue(), "image/jpeg")


def mean_colour(data: bytes) -> str | None:
    """The image's mean colour as ``#rrggbb`` (alpha ignored), or None without pillow.

    Example::

        mean_colour(png_bytes_of_a_red_square)  # '#ff0000'
    """
    image = decoded(data, "the image")
    if image is None:
        return None
    rgb = image.convert("RGB")
    pixels = rgb.width * rgb.height
    # The histogram gives exact per-channel sums, without a pixel loop in Python.
    histogram = rgb.histogram()
    means = [
        round(sum(i * n for i, n in enumerate(histogram[c * 256 : (c + 1) * 256])) / pixels)
        for c in range(3)
    ]
    return "#" + "".join(f"{m:02x}" for m in means)
