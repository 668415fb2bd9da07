"""What a request offers the model to call, and what a call is.

A request offers function tools in its API's own shape, and says how it wants them used:

- chat completions: ``"tools": [{"type": "function", "function": {"name", "description",
  "parameters"}}]`` and ``"tool_choice": {"type": "function", "function": {"name": ...}}``;
- the Responses API: ``"tools": [{"type": "function", "name", "description",
  "parameters"}]`` and ``"tool_choice": {"type": "function", "name": ...}``;
- both: ``"tool_choice"`` ``"none"``, ``"auto"`` (the default) or ``"required"``, and
  ``"parallel_tool_calls"`` (``true`` by default).

Each shape is accepted on its own endpoint only, as OpenAI does, so a client that sends
the wrong one is told so here rather than in production. Tools of other types (built-in
ones such as ``web_search``) are accepted and never called. :func:`parse_tools` reads all
this into a :class:`ToolOffer`; :mod:`nbstream.local.tool_calling` decides what to call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from nbstream.local.validation import RequestError, flag, matching

__all__ = ["Tool", "ToolApi", "ToolCall", "ToolChoice", "ToolOffer", "parse_tools"]

ToolApi = Literal["chat", "responses"]
"""Which API's shape a request's tools come in."""

# OpenAI's rule for the names of the tools a request offers.
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class ToolCall:
    """A function call the reply makes: its name and its arguments as sent (JSON text).

    Example:
        >>> from nbstream.local.tools import ToolCall
        >>> ToolCall("add", '{"a": 3, "b": 4}').name
        'add'
    """

    name: str
    arguments: str
    """The arguments as sent: a JSON object as text (or any string the options gave)."""


@dataclass(frozen=True)
class Tool:
    """A function tool a request offers: its name, what it does and its parameters.

    ``parameters`` is the JSON schema of its arguments (an ``object`` schema), ``{}``
    when none was given.

    Example:
        >>> from nbstream.local.tools import Tool
        >>> Tool("add", {"type": "object", "properties": {"a": {"type": "integer"}}}).name
        'add'
    """

    name: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class ToolChoice:
    """How the request wants its tools used (``tool_choice``).

    ``mode`` is ``"none"`` (never call), ``"auto"`` (call what the message names) or
    ``"required"`` (call something); ``function`` names the one function to call, with
    ``mode`` ``"required"``.

    Example:
        >>> from nbstream.local.tools import ToolChoice
        >>> ToolChoice("required", function="add").function
        'add'
    """

    mode: Literal["none", "auto", "required"] = "auto"
    function: str | None = None


@dataclass(frozen=True)
class ToolOffer:
    """The function tools a request offers (``functions``), its ``choice`` and whether the
    model may make several calls in one round (``parallel``, from ``parallel_tool_calls``).

    Example:
        >>> from nbstream.local.tools import Tool, ToolOffer
        >>> ToolOffer((Tool("add"),)).choice.mode
        'auto'
    """

    functions: tuple[Tool, ...] = ()
    choice: ToolChoice = field(default_factory=ToolChoice)
    parallel: bool = True


def parse_tools(data: Mapping[str, Any], api: ToolApi) -> ToolOffer:
    """Validate a request's ``tools``, ``tool_choice`` and ``parallel_tool_calls``.

    Raises:
        RequestError: A tool or the choice is not in ``api``'s shape, a name is not a
            function name or is offered twice, or the choice names no offered tool.

    Example:
        >>> from nbstream.local.tools import parse_tools
        >>> offer = parse_tools(
        ...     {"tools": [{"type": "function", "name": "add"}], "tool_choice": "required"},
        ...     "responses",
        ... )
        >>> [tool.name for tool in offer.functions], offer.choice.mode
        (['add'], 'required')
    """
    raw = data.get("tools")
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise RequestError("'tools' must be a list of tool objects.", param="tools")
    functions: list[Tool] = []
    for index, item in enumerate(raw):
        tool = _tool(item, f"tools[{index}]", api)
        if tool is None:
            continue
        if any(tool.name == other.name for other in functions):
            raise RequestError(
                f"The tool name {tool.name!r} is offered twice; tool names must be unique.",
                param=f"tools[{index}]",
            )
        functions.append(tool)

    parallel = flag(data, "parallel_tool_calls", default=True)
    return ToolOffer(
        functions=tuple(functions),
        choice=_choice(data.get("tool_choice"), functions, api),
        parallel=parallel,
    )


def _tool(item: object, where: str, api: ToolApi) -> Tool | None:
    """One item of ``tools``: a :class:`Tool`, or None for a tool of another type."""
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        raise RequestError(f"'{where}' must be an object with a string 'type'.", param=where)
    if item["type"] != "function":
        return None  # a built-in tool: allowed, never called by this model
    spec = item
    if api == "chat":
        nested, where = item.get("function"), f"{where}.function"
        if not isinstance(nested, dict):
            raise RequestError(
                f"'{where}' must be an object with 'name' (and 'description', 'parameters'):"
                " chat completions nest a function tool's fields in 'function'.",
                param=where,
            )
        spec = nested
    name = matching(
        spec.get("name"),
        _NAME,
        param=f"{where}.name",
        rule="a function name: 1 to 64 letters, digits, '_' or '-'",
    )
    description = spec.get("description") or ""
    if not isinstance(description, str):
        raise RequestError(f"'{where}.description' must be a string.", param=f"{where}.description")
    parameters = spec.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise RequestError(
            f"'{where}.parameters' must be a JSON schema object.", param=f"{where}.parameters"
        )
    properties, required = parameters.get("properties", {}), parameters.get("required", [])
    if not isinstance(properties, dict) or not all(
        isinstance(p, dict) for p in properties.values()
    ):
        raise RequestError(
            f"'{where}.parameters.properties' must map names to schema objects.",
            param=f"{where}.parameters.properties",
        )
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise RequestError(
            f"'{where}.parameters.required' must be a list of parameter names.",
            param=f"{where}.parameters.required",
        )
    return Tool(name=name, parameters=parameters, description=description)


_MODES = ("none", "auto", "required")


def _choice(raw: object, functions: list[Tool], api: ToolApi) -> ToolChoice:
    if raw is None:
        return ToolChoice()
    if isinstance(raw, str) and raw in _MODES:
        choice = ToolChoice(cast("Literal['none', 'auto', 'required']", raw))
    else:
        choice = ToolChoice("required", function=_named_function(raw, api))
    if choice.mode == "required" and not functions:
        raise RequestError(
            f"'tool_choice' {raw!r} needs 'tools' with at least one function tool.",
            param="tool_choice",
        )
    if choice.function is not None and all(tool.name != choice.function for tool in functions):
        offered = ", ".join(tool.name for tool in functions)
        raise RequestError(
            f"'tool_choice' names the function {choice.function!r}, which 'tools' does not"
            f" offer (it offers: {offered}).",
            param="tool_choice",
        )
    return choice


def _named_function(raw: object, api: ToolApi) -> str:
    """The name in a ``tool_choice`` that names one function, in ``api``'s shape."""
    if isinstance(raw, dict) and raw.get("type") == "function":
        function = raw.get("function") if api == "chat" else raw
        name = function.get("name") if isinstance(function, dict) else None
        if isinstance(name, str):
            return name
    shape = (
        '{"type": "function", "function": {"name": ...}}'
        if api == "chat"
        else '{"type": "function", "name": ...}'
    )
    raise RequestError(
        f"'tool_choice' must be 'none', 'auto', 'required' or {shape}; got {raw!r}.",
        param="tool_choice",
    )
