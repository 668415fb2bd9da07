"""From what a user passes (a DataFrame, a figure, an image, a path, bytes, ...) to an
:class:`~nbstream.attachments.attachment.Attachment`: :func:`attach` for one object,
:func:`attach_all` for a question's list (or ``{name: object}`` dict) of them.

Every check happens here, before anything is sent, and every failure is an
:class:`~nbstream.attachments.errors.AttachmentError` that says what to do.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from nbstream.attachments.attachment import Attachment
from nbstream.attachments.errors import AttachmentError
from nbstream.attachments.headers import cut, header_line, parse_header, plural
from nbstream.attachments.images import (
    ImageInfo,
    data_url,
    decoded,
    downscale,
    sniff,
    thumbnail,
)
from nbstream.attachments.limits import AttachmentLimits, human_size
from nbstream.attachments.tables import is_table, table_text

__all__ = ["ACCEPTED", "attach", "attach_all"]

ACCEPTED = (
    "an image (PIL.Image, a matplotlib Figure, PNG/JPEG/GIF/WebP bytes or path, or an object "
    "with _repr_png_ / _repr_jpeg_), a table (a pandas or polars DataFrame or Series), a text "
    "file path (.txt, .md, .py, .csv, .json, .ipynb), an object with _repr_markdown_, or "
    "Attachment.from_text(text, name=...)"
)
"""The kinds of object that can be attached, in words (error messages quote it)."""

TEXT_SUFFIXES = (".txt", ".md", ".py", ".csv", ".json", ".ipynb")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")


def attach(
    obj: object, *, name: str | None = None, limits: AttachmentLimits | None = None
) -> Attachment:
    """Convert one object into an :class:`Attachment`, checking it against ``limits``.

    ``name`` is what the chip shows and the model is told; by default a file's name,
    a Series' name, or the kind of object (``"DataFrame"``, ``"figure.png"``).

    Raises:
        AttachmentError: ``obj`` is of no accepted kind (the message lists them), a file
            is missing or unreadable, an image is corrupt, or a limit is exceeded.

    Example:
        >>> import base64
        >>> gif = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
        >>> attach(gif, name="dot.gif").detail
        '1 × 1 px GIF'
        >>> attach(3.5)
        Traceback (most recent call last):
          ...
        nbstream.attachments.errors.AttachmentError: cannot attach a float: ...
    """
    limits = limits or AttachmentLimits()
    if isinstance(obj, Attachment):
        return obj
    if isinstance(obj, (str, os.PathLike)):
        return _path(Path(obj), name, limits)
    if is_table(obj):
        return _table(obj, name or _table_name(obj), limits)
    image = _image_data(obj)
    if image is not None:
        data, default_name = image
        return _image(data, name or default_name, limits)
    markdown = _markdown(obj)
    if markdown is not None:
        return Attachment.from_text(markdown, name=name or type(obj).__name__, limits=limits)
    raise AttachmentError(f"cannot attach {_a(type(obj).__name__)}: attach {ACCEPTED}")


def attach_all(
    objects: Iterable[object] | Mapping[str, object] | None,
    limits: AttachmentLimits | None = None,
) -> list[Attachment]:
    """Convert a question's attachments: a list of objects, or ``{name: object}``.

    Raises:
        AttachmentError: one of them fails (the message says which, and ``index`` is
            its position), or there are more than ``limits.max_count``.
        TypeError: ``objects`` is a single str or bytes (pass a list).

    Example:
        >>> [a.name for a in attach_all({"notes": Attachment.from_text("hi", name="n")})]
        ['n']
        >>> attach_all([b"not an image"])
        Traceback (most recent call last):
          ...
        nbstream.attachments.errors.AttachmentError: attachment 1 of 1: image is not a PNG, ...
    """
    if objects is None:
        return []
    limits = limits or AttachmentLimits()
    if isinstance(objects, (str, bytes, os.PathLike)):
        raise TypeError(
            "attachments must be a list (or a {name: object} dict), not a single object: "
            "attachments=[obj]"
        )
    pairs: list[tuple[str | None, object]] = (
        [(str(key), value) for key, value in objects.items()]
        if isinstance(objects, Mapping)
        else [(None, value) for value in objects]
    )
    if len(pairs) > limits.max_count:
        raise AttachmentError(
            f"too many attachments: {len(pairs)}, and a question may carry {limits.max_count} "
            "(AttachmentLimits(max_count=...))"
        )
    converted: list[Attachment] = []
    for index, (key, obj) in enumerate(pairs):
        try:
            converted.append(attach(obj, name=key, limits=limits))
        except AttachmentError as exc:
            where = f"attachment {index + 1} of {len(pairs)}"
            raise AttachmentError(f"{where}: {exc}", index=index) from None
    return converted


def _image_data(obj: Any) -> tuple[bytes, str] | None:
    """An image object's bytes and a name for it, or None if ``obj`` is no image."""
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj), "image"
    library = type(obj).__module__.split(".", 1)[0]
    if library == "PIL" and hasattr(obj, "save"):
        return _pil_bytes(obj), _pil_name(obj)
    if library == "matplotlib" and hasattr(obj, "savefig"):
        buffer = io.BytesIO()
        obj.savefig(buffer, format="png")
        return buffer.getvalue(), "figure.png"
    for method in ("_repr_png_", "_repr_jpeg_"):
        if callable(getattr(obj, method, None)):
            data = _repr_bytes(getattr(obj, method)())
            if data:
                return data, f"{type(obj).__name__}.{method[6:-1]}"
    return None


def _markdown(obj: Any) -> str | None:
    """What ``obj._repr_markdown_()`` returns (without its metadata), or None."""
    method = getattr(obj, "_repr_markdown_", None)
    text = method() if callable(method) else None
    if isinstance(text, tuple) and text:
        text = text[0]
    return text if isinstance(text, str) else None


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


def _table(obj: object, name: str, limits: AttachmentLimits) -> Attachment:
    # A table's text is its own headed block (no fence around it, unlike a file's).
    text = table_text(obj, name, limits.table_rows)
    header = parse_header(text)
    assert header is not None  # table_text starts with header_line()
    size = len(text.encode("utf-8", "surrogatepass"))
    return Attachment("table", name, size, header.detail, text=cut(text, limits.text_chars))


def _table_name(obj: Any) -> str:
    label = getattr(obj, "name", None)
    if type(obj).__name__ == "Series" and isinstance(label, str) and label:
        return label
    return type(obj).__name__


def _check_size(size: int, name: str, limits: AttachmentLimits) -> None:
    if size > limits.max_bytes:
        raise AttachmentError(
            f"{name} is {human_size(size)}, more than the limit of {human_size(limits.max_bytes)} "
            "per attachment (AttachmentLimits(max_bytes=...))"
        )


def _image(data: bytes, name: str, limits: AttachmentLimits) -> Attachment:
    _check_size(len(data), name, limits)
    info = sniff(data, name)
    image = decoded(data, name)  # the whole image, so a corrupt one fails here (pillow)
    sent, mime = downscale(data, info, limits.max_image_side, name, image)
    _check_size(len(sent), name, limits)
    shown = info
    detail = _pixels(info)
    if sent is not data:
        shown = sniff(sent, name)
        detail = f"{_pixels(shown)}, from {info.width} × {info.height}"
        image = None  # the downscaled copy is what the thumbnail comes from
    return Attachment(
        "image",
        name,
        len(data),
        detail,
        text=header_line("image", name, detail),
        url=data_url(sent, mime),
        thumbnail=thumbnail(sent, shown, image),
    )


def _pixels(info: ImageInfo) -> str:
    return f"{info.width} × {info.height} px {info.format.upper()}"


def _path(path: Path, name: str | None, limits: AttachmentLimits) -> Attachment:
    shown = name or path.name
    suffix = path.suffix.lower()
    if suffix not in TEXT_SUFFIXES + IMAGE_SUFFIXES:
        raise AttachmentError(
            f"cannot attach {path}: a file must be an image ({', '.join(IMAGE_SUFFIXES)}) "
            f"or text ({', '.join(TEXT_SUFFIXES)})"
        )
    try:
        size = path.stat().st_size
        _check_size(size, shown, limits)
        data = path.read_bytes()
    except FileNotFoundError:
        raise AttachmentError(f"no file {str(path)!r} (from {os.getcwd()})") from None
    except IsADirectoryError:
        raise AttachmentError(f"{str(path)!r} is a folder, not a file") from None
    except OSError as exc:
        raise AttachmentError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    return _file(data, shown, suffix, limits)


def attach_file(data: bytes, name: str, limits: AttachmentLimits | None = None) -> Attachment:
    """A file given as its bytes and name (a file the user dropped into the chat): an
    image or a text file by its name's suffix, converted as :func:`attach` converts a path.

    Raises:
        AttachmentError: The name's suffix is of no accepted kind, the file is too large,
            an image is corrupt, or a text file is not UTF-8.

    Example:
        >>> attach_file(b"one\\ntwo\\n", "notes.md").detail
        '2 lines'
    """
    limits = limits or AttachmentLimits()
    suffix = Path(name).suffix.lower()
    if suffix not in TEXT_SUFFIXES + IMAGE_SUFFIXES:
        raise AttachmentError(
            f"cannot attach {name}: a file must be an image ({', '.join(IMAGE_SUFFIXES)}) "
            f"or text ({', '.join(TEXT_SUFFIXES)})"
        )
    _check_size(len(data), name, limits)
    return _file(data, name, suffix, limits)


def _file(data: bytes, shown: str, suffix: str, limits: AttachmentLimits) -> Attachment:
    size = len(data)
    if suffix in IMAGE_SUFFIXES:
        return _image(data, shown, limits)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AttachmentError(
            f"{shown} is not UTF-8 text (byte {exc.start} is {data[exc.start]:#04x})"
        ) from None
    if suffix == ".ipynb":
        return _notebook(text, shown, limits)
    attachment = Attachment.from_text(text, name=shown, limits=limits, noun="file")
    return dataclasses.replace(attachment, size=size)  # the file's bytes, not the text's


def _notebook(source: str, name: str, limits: AttachmentLimits) -> Attachment:
    """A notebook as its cells' sources: markdown as is, code fenced (outputs left out)."""
    try:
        cells = json.loads(source)["cells"]
        blocks: list[str] = []
        for cell in cells:
            text = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            blocks.append(text if cell["cell_type"] != "code" else f"```python\n{text}\n```")
    except (ValueError, KeyError, TypeError) as exc:
        raise AttachmentError(f"{name} is not a readable notebook: {exc}") from None
    body = "\n\n".join(blocks)
    detail = plural(len(cells), "cell")
    text = cut(f"{header_line('file', name, detail)}\n{body}", limits.text_chars)
    return Attachment("text", name, len(source.encode()), detail, text=text)


def _repr_bytes(value: object) -> bytes:
    """What ``_repr_png_`` / ``_repr_jpeg_`` return: bytes, base64 text, or ``(data, metadata)``."""
    if isinstance(value, tuple) and value:
        value = value[0]
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=False)
        except ValueError:
            return b""
    return b""


def _pil_bytes(image: Any) -> bytes:
    buffer = io.BytesIO()
    if image.format == "JPEG" and image.mode in ("RGB", "L"):
        image.save(buffer, format="JPEG", quality=90)
    else:
        image.save(buffer, format="PNG")
    return buffer.getvalue()


def _pil_name(image: Any) -> str:
    filename = getattr(image, "filename", "")
    if isinstance(filename, str) and filename:
        return Path(filename).name
    return "image.jpg" if image.format == "JPEG" else "image.png"
