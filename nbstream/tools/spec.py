"""A tool: a Python function the model may call, with the JSON schema it is offered as.

The schema comes from the function's signature, type hints and docstring, through
pydantic (a dependency of ``openai`` already), which also validates the model's
arguments before the function runs: ``Literal``, ``Optional``, lists, dicts,
dataclasses, pydantic models, defaults, and each argument's description from the
docstring's ``Args:`` section.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pydantic

from nbstream.tools.docstrings import parse_docstring

__all__ = ["ACCEPTED_TOOLS", "Tool", "ToolArgumentsError", "tools_from"]

ACCEPTED_TOOLS = (
    "functions (def or async def, with type hints), (OpenAI tool dict, function) pairs, "
    "or nbstream.tools.Tool objects"
)
"""What ``tools=[...]`` takes, in words for error messages."""

# OpenAI's rule for function names; other providers accept a subset of it.
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ToolArgumentsError(ValueError):
    """The model's arguments for a tool are not valid JSON, or do not fit its parameters.

    Its message goes back to the model as the call's result, so that it can try again.

    Example:
        >>> def add(a: int, b: int) -> int:
        ...     return a + b
        >>> Tool.from_function(add).arguments('{"a": 1, "b": "two"}')
        Traceback (most recent call last):
          ...
        nbstream.tools.spec.ToolArgumentsError: invalid arguments for add: b: Input should be ...
    """


@dataclass(frozen=True)
class Tool:
    """A function the model may call, and how it is offered (name, description, schema).

    Build one with :meth:`from_function` (what ``Chat(tools=[fn])`` does) or
    :meth:`from_schema` (a ready OpenAI tool dict and the function it describes).

    Attributes:
        name: The name the model calls it by.
        description: What it does, for the model (the docstring's first part).
        parameters: The JSON schema of its arguments (an ``object``).
        function: What runs: a plain function or an ``async def``.

    Example:
        >>> def get_weather(city: str, unit: str = "celsius") -> str:
        ...     '''The weather in a city.
        ...
        ...     Args:
        ...         city: The city's name.
        ...         unit: "celsius" or "fahrenheit".
        ...     '''
        ...     return f"Sunny in {city}"
        >>> tool = Tool.from_function(get_weather)
        >>> tool.name, tool.description, tool.parameters["required"]
        ('get_weather', 'The weather in a city.', ['city'])
        >>> tool.parameters["properties"]["city"]
        {'description': "The city's name.", 'type': 'string'}
    """

    name: str
    description: str
    parameters: dict[str, Any]
    function: Callable[..., Any]
    _model: type[pydantic.BaseModel] | None = field(default=None, repr=False, compare=False)
    _positional: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_function(cls, function: Callable[..., Any]) -> Tool:
        """The tool for ``function``, from its signature, type hints and docstring.

        Raises:
            TypeError: It has ``*args`` or ``**kwargs`` (no schema can say what they
                take), no usable name (a lambda), or hints that cannot be resolved.

        Example:
            >>> async def search(query: str, limit: int = 5) -> list[str]:
            ...     "Search the notes."
            ...     return []
            >>> Tool.from_function(search).is_async
            True
        """
        name = getattr(function, "__name__", "")
        if not _NAME.match(name or ""):
            raise TypeError(
                f"a tool needs a name of letters, digits, _ or - (at most 64): got {name!r}; "
                "define it with def (a lambda has none), or use Tool.from_schema"
            )
        try:
            signature = inspect.signature(function)
            hints = typing.get_type_hints(function, include_extras=True)
        except (TypeError, ValueError, NameError) as exc:
            raise TypeError(f"cannot read the parameters of tool {name!r}: {exc}") from None
        docs = parse_docstring(inspect.getdoc(function))
        fields: dict[str, Any] = {}
        positional: list[str] = []
        for parameter in signature.parameters.values():
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise TypeError(
                    f"tool {name!r} takes *{parameter.name}: a model can only pass named "
                    "arguments that the signature lists"
                )
            if parameter.kind is parameter.POSITIONAL_ONLY:
                positional.append(parameter.name)
            default = ... if parameter.default is parameter.empty else parameter.default
            fields[parameter.name] = (
                hints.get(parameter.name, Any),
                pydantic.Field(default, description=docs.arguments.get(parameter.name)),
            )
        try:
            model = pydantic.create_model(name, **fields)
            parameters = _without_titles(model.model_json_schema())
        except (pydantic.PydanticUserError, pydantic.PydanticSchemaGenerationError) as exc:
            raise TypeError(
                f"tool {name!r} has a parameter type with no JSON schema: {exc}"
            ) from None
        return cls(
            name=name,
            description=docs.description,
            parameters=parameters,
            function=function,
            _model=model,
            _positional=tuple(positional),
        )

    @classmethod
    def from_schema(cls, schema: Mapping[str, Any], function: Callable[..., Any]) -> Tool:
        """A tool offered with a ready OpenAI tool dict; ``function`` gets its arguments.

        The arguments are only checked to be a JSON object: the schema is the caller's.

        Raises:
            TypeError: ``schema`` is not ``{"type": "function", "function": {"name", ...}}``.

        Example:
            >>> schema = {"type": "function", "function": {
            ...     "name": "now", "description": "The time.", "parameters": {"type": "object"}}}
            >>> Tool.from_schema(schema, lambda: "noon").arguments("{}")
            {}
        """
        spec = schema.get("function") if isinstance(schema, Mapping) else None
        name = spec.get("name") if isinstance(spec, Mapping) else None
        if not isinstance(name, str) or not _NAME.match(name):
            raise TypeError(
                "a tool dict is {'type': 'function', 'function': {'name': ..., "
                f"'description': ..., 'parameters': {{...}}}}; got {schema!r:.120}"
            )
        assert isinstance(spec, Mapping)
        parameters = spec.get("parameters") or {"type": "object", "properties": {}}
        return cls(
            name=name,
            description=str(spec.get("description") or ""),
            parameters=dict(parameters),
            function=function,
        )

    @property
    def is_async(self) -> bool:
        """Whether the function is an ``async def`` (it runs on the event loop).

        >>> def ping() -> str:
        ...     return "pong"
        >>> Tool.from_function(ping).is_async
        False
        """
        function = self.function
        call = function if inspect.isroutine(function) else type(function).__call__
        return inspect.iscoroutinefunction(call)

    def schema(self) -> dict[str, Any]:
        """The OpenAI chat-completions tool dict the model is offered.

        >>> def ping() -> str:
        ...     "Check the connection."
        ...     return "pong"
        >>> Tool.from_function(ping).schema()["function"]["name"]
        'ping'
        """
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def arguments(self, raw: str) -> dict[str, Any]:
        """The model's ``arguments`` string, parsed and validated, as keyword arguments.

        Raises:
            ToolArgumentsError: Not JSON, not an object, or not what the parameters take.

        Example:
            >>> def add(a: int, b: int = 0) -> int:
            ...     return a + b
            >>> Tool.from_function(add).arguments('{"a": "2"}')  # as pydantic coerces
            {'a': 2, 'b': 0}
        """
        try:
            data = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise ToolArgumentsError(
                f"the arguments for {self.name} are not valid JSON ({exc}): {raw[:200]!r}"
            ) from None
        if not isinstance(data, dict):
            raise ToolArgumentsError(
                f"the arguments for {self.name} must be a JSON object, got {type(data).__name__}"
            )
        if self._model is None:
            return data
        try:
            validated = self._model.model_validate(data)
        except pydantic.ValidationError as exc:
            raise ToolArgumentsError(
                f"invalid arguments for {self.name}: {_describe_validation(exc)}"
            ) from None
        return {name: getattr(validated, name) for name in type(validated).model_fields}

    def call(self, arguments: Mapping[str, Any]) -> Any:
        """Call the function with validated ``arguments`` (a coroutine for async ones).

        >>> def add(a: int, b: int) -> int:
        ...     return a + b
        >>> tool = Tool.from_function(add)
        >>> tool.call(tool.arguments('{"a": 1, "b": 2}'))
        3
        """
        values = dict(arguments)
        positional = [values.pop(name) for name in self._positional if name in values]
        return self.function(*positional, **values)


def tools_from(items: Iterable[object] | None) -> list[Tool]:
    """Tools for ``Chat(tools=...)``: functions, ``(dict, function)`` pairs, or :class:`Tool`.

    Raises:
        TypeError: Anything else (the message names what is accepted), or a function
            with no schema (see :meth:`Tool.from_function`).
        ValueError: Two tools with the same name.

    Example:
        >>> def add(a: int, b: int) -> int:
        ...     return a + b
        >>> [tool.name for tool in tools_from([add])]
        ['add']
        >>> tools_from(["add"])
        Traceback (most recent call last):
          ...
        TypeError: tools[0] is a str; tools=[...] takes functions (def or async def, ...
    """
    if items is None:
        return []
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
        raise TypeError(f"tools must be a list of {ACCEPTED_TOOLS}; got {type(items).__name__}")
    tools: list[Tool] = []
    for index, item in enumerate(items):
        if isinstance(item, Tool):
            tools.append(item)
        elif _is_pair(item):
            pair = cast(Sequence[Any], item)
            tools.append(Tool.from_schema(pair[0], pair[1]))
        elif callable(item) and not isinstance(item, type):
            tools.append(Tool.from_function(item))
        else:
            raise TypeError(
                f"tools[{index}] is {_a(type(item).__name__)}; tools=[...] takes {ACCEPTED_TOOLS}"
            )
    names = [tool.name for tool in tools]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(
            f"two tools are named {', '.join(repeated)}: the model could not tell them apart"
        )
    return tools


def _is_pair(item: object) -> bool:
    return (
        isinstance(item, Sequence)
        and not isinstance(item, (str, bytes))
        and len(item) == 2
        and isinstance(item[0], Mapping)
        and callable(item[1])
    )


def _describe_validation(error: pydantic.ValidationError) -> str:
    problems = []
    for problem in error.errors(include_url=False):
        where = ".".join(str(part) for part in problem["loc"]) or "(the arguments)"
        given = problem.get("input")
        detail = problem["msg"]
        if problem["type"] != "missing":
            detail += f" (got {json.dumps(given, default=repr)[:80]})"
        problems.append(f"{where}: {detail}")
    return "; ".join(problems)


def _without_titles(schema: Any) -> Any:
    """pydantic's schema less its ``title`` strings: they repeat the names, costing tokens.

    (A property *named* title maps to a schema, a dict, and is kept.)
    """
    if isinstance(schema, dict):
        return {
            key: _without_titles(value)
            for key, value in schema.items()
            if not (key == "title" and isinstance(value, str))
        }
    if isinstance(schema, list):
        return [_without_titles(value) for value in schema]
    return schema


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"
