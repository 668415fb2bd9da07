"""Tools: the user's Python functions, offered to the model and run when it calls them.

- :mod:`.spec`: :class:`Tool`, a function and the JSON schema it is offered with (from
  its signature, type hints and docstring, through pydantic), and argument validation
- :mod:`.docstrings`: a docstring's description and its ``Args:`` section
- :mod:`.results`: a return value or a failure, as the text the model reads
- :mod:`.calls`: one round of calls: checked, approved, run (sync in the worker thread,
  async concurrently on the event loop) and stoppable
- :mod:`.messages`: the OpenAI-format ``tool_calls`` and ``tool`` messages of a round
- :mod:`.rounds`: an answer with tools as one stream of events, calls run between its
  rounds (``%%chat --tools``; the ``Chat`` widget has its engine in :mod:`nbstream.chat`)

>>> from nbstream.tools import Tool
>>> def add(a: int, b: int) -> int:
...     "Add two integers."
...     return a + b
>>> Tool.from_function(add).schema()["function"]["parameters"]["required"]
['a', 'b']
"""

from nbstream.tools.results import DEFAULT_RESULT_LIMIT, error_text, result_text
from nbstream.tools.spec import Tool, ToolArgumentsError, tools_from

__all__ = [
    "DEFAULT_RESULT_LIMIT",
    "Tool",
    "ToolArgumentsError",
    "error_text",
    "result_text",
    "tools_from",
]
