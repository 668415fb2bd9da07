"""nbstream: stream LLM output into notebooks as live, safe markdown.

>>> from nbstream import StreamView
>>> view = StreamView()
>>> view.stream(["# Hello", ", world"])
'# Hello, world'
"""

from nbstream._version import __version__
from nbstream.chat import Chat
from nbstream.errors import SourceError, StreamInProgressError
from nbstream.stream_view import StreamView

__all__ = ["Chat", "SourceError", "StreamInProgressError", "StreamView", "__version__"]
