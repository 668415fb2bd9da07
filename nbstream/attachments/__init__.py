"""Attachments: images, tables and texts that go into a question with it.

::

    chat.ask("What stands out in this table?", attachments=[df])
    chat.send("Describe the plot", attachments=[fig, "notes.md"])

:func:`attach` converts one object (a pandas or polars DataFrame or Series, a PIL
image, a matplotlib figure, PNG/JPEG/GIF/WebP bytes or path, a text file's path, an
object with ``_repr_png_``, ``_repr_jpeg_`` or ``_repr_markdown_``) into an
:class:`Attachment`; :func:`user_content` and :func:`responses_content` build the
message content the APIs take. None of pandas, polars, PIL or matplotlib is imported
unless the object is one of theirs.

Modules, one job each: :mod:`.convert` (objects to attachments, every check),
:mod:`.attachment` (the converted form and its parts), :mod:`.images`, :mod:`.tables`,
:mod:`.headers` (the text format the model reads), :mod:`.read_back` (attachments
from message parts again), :mod:`.messages`, :mod:`.limits`, :mod:`.errors`.
"""

from nbstream.attachments.attachment import Attachment, placeholder
from nbstream.attachments.convert import attach, attach_all, attach_file
from nbstream.attachments.errors import AttachmentError
from nbstream.attachments.limits import AttachmentLimits
from nbstream.attachments.messages import responses_content, user_content

__all__ = [
    "Attachment",
    "AttachmentError",
    "AttachmentLimits",
    "attach",
    "attach_all",
    "attach_file",
    "placeholder",
    "responses_content",
    "user_content",
]
