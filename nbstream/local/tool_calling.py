"""The local model's tool calls: which offered tools to call, and with which arguments.

A rule, not a guess, so that the same request always makes the same calls, and a test or a
tutorial can say which calls come. It reads the last user message and the tools the
request offers (see :mod:`nbstream.local.tools`).

Which tools (:func:`choose_calls`):

1. None with ``tool_choice: "none"``, or when no function tool is offered.
2. A tool is *named* when its name appears in the message as a whole word,
   case-insensitively, with each ``_`` or ``-`` of the name (and each change to upper
   case, as in ``getWeather``) read as a space, a ``_``, a ``-`` or nothing:
   ``get_weather`` is named by "get_weather", "get weather", "Get-Weather" or
   "getweather". Of two names that overlap, the one that starts first is named, and of
   two that start together the longer ("get weather" over "get").
3. The tools named are called once each, in the order they are first named, all in one
   round: "Use add and multiply on 3 and 4" makes two calls. With
   ``parallel_tool_calls: false``, only the first is.
4. A ``tool_choice`` naming a function calls that one alone; ``"required"`` calls the
   tools named, or the first tool offered when none is; ``"auto"`` (the default) calls
   the tools named, or none (the model then answers as usual). A conversation that ends
   with tool results is answered instead, whatever ``tool_choice`` says, so that a loop
   which keeps ``"required"`` still ends (see :mod:`nbstream.local.plan`).

The arguments (:func:`arguments_for`), for each call, from the same message:

1. The names of the round's tools, where rule 2 finds them, are taken out of the
   message, and so are the words of those names where they stand alone (``get`` and
   ``weather`` for ``get_weather``). The rest is read, left to right, into *values*:
   quoted strings (``"…"`` or ``'…'``, straight or curly; not blank), numbers outside
   them (``3`` an int, ``2.5`` a float, ``-1``), the booleans yes, no, true and false,
   and *phrases*: runs of the other words, such as ``New York``, broken by anything
   else: punctuation, a line break, a value, a name taken out, or a stop word (a, the,
   and, in, on, to, use, please…; see ``_STOP_WORDS``).
2. The parameters with an ``enum`` (or an array of enum items) are filled first, in the
   order of rule 3, each with the enum value that appears first in the message (an
   array: every one that appears, in order) as a whole word, case-insensitively, where
   no tool's name and no earlier parameter's enum value was found. The text it matched
   is no value of any other parameter.
3. The other parameters, in the schema's ``properties`` order, the ``required`` ones
   first and then the others, each take the first unused value of their type:
   ``integer`` an int; ``number`` an int or a float; ``string`` a quoted string, else a
   phrase, else a number as written; ``boolean`` a boolean; ``array`` every unused value
   of its ``items`` type (strings: the quoted ones, then the phrases).
4. An optional parameter with nothing left is left out (its default applies). A
   required one gets its type's empty value: ``0``, ``""``, ``false``, ``[]``, ``{}``,
   ``null``, or an enum's first value; so the call is made, and the tool's own validation
   can complain.
5. The arguments are a JSON object in ``properties`` order, non-ASCII kept as it is.

Each call of a round reads the message afresh, so all of them get the same values:
"Use add and multiply on 3 and 4" is ``add {"a": 3, "b": 4}`` and ``multiply {"a": 3,
"b": 4}``. In a schema, a ``type`` list means its first type other than ``"null"``,
``anyOf``/``oneOf`` their first branch that is not ``null``, a ``$ref`` to ``#/$defs/…``
or ``#/definitions/…`` what it points to, and no type at all a string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from nbstream.local.tools import Tool, ToolCall, ToolOffer

__all__ = ["arguments_for", "calling_reasoning", "choose_calls", "named_tools"]

# Function words, and the words of asking a model to use a tool: never a value. (One
# string, split: a hundred quoted words would hide them.)
_STOP_WORDS = frozenset(
    """a an the and or but nor of on in at to for from with without by into onto over
    about as per via is are was were be been am do does did can could would should will
    shall may might must please use using call calling run invoke apply tool tools
    function functions me my i i'm you your we us our they them their it its it's this
    that these those what what's whats which who how when where why there here then than
    so if not also just some any all each both let let's tell give show
    get""".split()  # noqa: SIM905
)
_BOOLEANS = {"yes": True, "true": True, "no": False, "false": False}

_Span = tuple[int, int]
_Kind = Literal["quoted", "number", "boolean", "phrase"]


def choose_calls(message: str, offer: ToolOffer) -> tuple[ToolCall, ...]:
    """The calls the model makes for the last user ``message``: the rule in this module's
    docstring, empty when it calls nothing.

    Example:
        >>> from nbstream.local.tool_calling import choose_calls
        >>> from nbstream.local.tools import Tool, ToolOffer
        >>> numbers = {"type": "object", "properties": {"a": {"type": "number"},
        ...     "b": {"type": "number"}}, "required": ["a", "b"]}
        >>> offer = ToolOffer((Tool("add", numbers), Tool("multiply", numbers)))
        >>> [(call.name, call.arguments)
        ...  for call in choose_calls("Use add and multiply on 3 and 4.5", offer)]
        [('add', '{"a": 3, "b": 4.5}'), ('multiply', '{"a": 3, "b": 4.5}')]
    """
    choice = offer.choice
    if choice.mode == "none" or not offer.functions:
        return ()
    if choice.function is not None:
        tools = [tool for tool in offer.functions if tool.name == choice.function]
    else:
        tools = named_tools(message, offer.functions)
        if not tools and choice.mode == "required":
            tools = [offer.functions[0]]
    if not offer.parallel:
        tools = tools[:1]
    return tuple(
        ToolCall(
            tool.name,
            json.dumps(arguments_for(tool, message, round_tools=tools), ensure_ascii=False),
        )
        for tool in tools
    )


def named_tools(message: str, tools: Sequence[Tool]) -> list[Tool]:
    """The ``tools`` that ``message`` names (rule 2), in the order first named.

    Example:
        >>> from nbstream.local.tool_calling import named_tools
        >>> from nbstream.local.tools import Tool
        >>> tools = [Tool("get"), Tool("get_weather"), Tool("add")]
        >>> [tool.name for tool in named_tools("Add it, then get weather in Oslo", tools)]
        ['add', 'get_weather']
    """
    named: list[Tool] = []
    for _, tool in _mentions(message, tools):
        if tool not in named:
            named.append(tool)
    return named


def arguments_for(tool: Tool, message: str, *, round_tools: Sequence[Tool] = ()) -> dict[str, Any]:
    """The arguments the model gives ``tool`` from ``message`` (the rule's second part).

    Args:
        tool: The tool called.
        message: The last user message.
        round_tools: Every tool called in the same round (``tool`` is always one): their
            names are not values.

    Example:
        >>> from nbstream.local.tool_calling import arguments_for
        >>> from nbstream.local.tools import Tool
        >>> weather = Tool("get_weather", {"type": "object", "properties": {
        ...     "city": {"type": "string"},
        ...     "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        ...     "days": {"type": "integer"}}, "required": ["city"]})
        >>> arguments_for(weather, "get_weather for New York in fahrenheit, 3 days")
        {'city': 'New York', 'unit': 'fahrenheit', 'days': 3}
        >>> arguments_for(weather, "get_weather please")
        {'city': ''}
    """
    schema = tool.parameters
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = [name for name in schema.get("required", ()) if isinstance(name, str)]
    order = [name for name in properties if name in required]
    order += [name for name in required if name not in properties]  # no schema: a string
    order += [name for name in properties if name not in required]
    parameters = {name: _parameter(properties.get(name, {}), schema) for name in order}

    tools = [tool, *(other for other in round_tools if other is not tool)]
    taken = [span for span, _ in _mentions(message, tools)]
    values: dict[str, Any] = {}
    enums = [name for name in order if _enum(parameters[name])]
    for name in enums:  # first: their words are then no value of another parameter
        many = parameters[name]["type"] == "array"
        found = _enum_values(_enum(parameters[name]), message, taken)[: None if many else 1]
        if found:
            taken.extend(span for span, _ in found)
            values[name] = [value for _, value in found] if many else found[0][1]

    pool = _Pool(list(_read_values(message, taken, _name_words(tools))))
    for name in order:
        value = values.get(name) if name in enums else pool.take(parameters[name])
        if value is not None:
            values[name] = value
        elif name in required:
            values[name] = _empty(parameters[name])
    return {name: values[name] for name in [*properties, *order] if name in values}


def calling_reasoning(calls: Sequence[ToolCall]) -> str:
    """What the model thinks before it makes ``calls``, for ``"reasoning": true``.

    Example:
        >>> from nbstream.local.tool_calling import calling_reasoning
        >>> from nbstream.local.tools import ToolCall
        >>> calling_reasoning([ToolCall("add", "{}"), ToolCall("multiply", "{}")])
        'The message names add and multiply, so I will call them, ...'
    """
    names = [call.name for call in calls]
    listed = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    them = "them" if len(names) > 1 else "it"
    return (
        f"The message names {listed}, so I will call {them}, with the values it gives"
        " as the arguments. I will answer once the results are back."
    )


# -- names ----------------------------------------------------------------------------


def _name_parts(name: str) -> list[str]:
    """The words of a tool's name: split at ``_``, ``-`` and a change to upper case."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return [part for part in re.split(r"[\s_-]+", spaced) if part]


def _name_pattern(name: str) -> re.Pattern[str]:
    parts = _name_parts(name) or [name]
    joined = r"[\s_-]*".join(re.escape(part) for part in parts)
    return re.compile(rf"(?<![\w-]){joined}(?![\w-])", re.IGNORECASE)


def _name_words(tools: Sequence[Tool]) -> frozenset[str]:
    return frozenset(part.lower() for tool in tools for part in _name_parts(tool.name))


def _mentions(message: str, tools: Sequence[Tool]) -> list[tuple[_Span, Tool]]:
    """Where ``message`` names each of ``tools``, left to right; of two overlapping
    names the first, then the longer, then the one offered first counts."""
    found = [
        ((match.start(), match.end()), index)
        for index, tool in enumerate(tools)
        for match in _name_pattern(tool.name).finditer(message)
    ]
    found.sort(key=lambda item: (item[0][0], item[0][0] - item[0][1], item[1]))
    kept: list[tuple[_Span, Tool]] = []
    for span, index in found:
        if not kept or span[0] >= kept[-1][0][1]:
            kept.append((span, tools[index]))
    return kept


# -- values ---------------------------------------------------------------------------

_VALUE = re.compile(
    r"""(?P<quoted>"[^"]*" | \u201c[^\u201d]*\u201d  # double quotes, straight or curly
        | (?<!\w)'[^']*'(?!\w) | (?<!\w)\u2018[^\u2019]*\u2019(?!\w))  # single: not an apostrophe
    |(?P<number>(?<![\w.])-?\d+(?:\.\d+)?(?!\w|\.\d))
    |(?P<word>[^\W\d_][\w'\u2019-]*)
    |(?P<stop>\n|[^\s\w])""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Value:
    kind: _Kind
    value: Any
    text: str  # as written: a number's text is a string's value


def _read_values(
    message: str, taken: Sequence[_Span], name_words: frozenset[str]
) -> Iterator[_Value]:
    """The message's values, left to right (rule 1), leaving out what overlaps ``taken``."""
    phrase: list[str] = []
    for match in _VALUE.finditer(message):
        kind, text = match.lastgroup, match.group()
        lowered = text.replace("\u2019", "'").lower()
        if any(match.start() < end and start < match.end() for start, end in taken):
            kind = "stop"
        elif kind == "word" and lowered in _BOOLEANS:
            kind = "boolean"
        elif kind == "word" and (lowered in _STOP_WORDS or lowered in name_words):
            kind = "stop"
        if kind == "word":
            phrase.append(text.rstrip("'\u2019-"))
            continue
        if phrase:
            yield _Value("phrase", " ".join(phrase), " ".join(phrase))
            phrase = []
        if kind == "quoted" and text[1:-1].strip():
            yield _Value("quoted", text[1:-1], text[1:-1])
        elif kind == "number":
            yield _Value("number", float(text) if "." in text else int(text), text)
        elif kind == "boolean":
            yield _Value("boolean", _BOOLEANS[lowered], text)
    if phrase:
        yield _Value("phrase", " ".join(phrase), " ".join(phrase))


# What each parameter type takes, best first; a string takes a number's text last.
_TAKES: dict[str, tuple[_Kind, ...]] = {
    "integer": ("number",),
    "number": ("number",),
    "string": ("quoted", "phrase", "number"),
    "boolean": ("boolean",),
}


class _Pool:
    """The message's values, each given to one parameter at most."""

    def __init__(self, values: list[_Value]) -> None:
        self._values = values
        self._used: set[int] = set()

    def take(self, schema: Mapping[str, Any]) -> Any:
        """The value for a parameter of ``schema``, or None when none is left."""
        kind = schema.get("type")
        if kind == "array":
            item = schema["items"]
            kinds: tuple[_Kind, ...] | None = (
                ("quoted", "phrase") if item.get("type") == "string" else None
            )
            taken = [self._value(i, item) for i in self._fitting(item, kinds)]
            return taken or None
        found = self._fitting(schema, None)
        return self._value(found[0], schema) if found else None

    def _fitting(self, schema: Mapping[str, Any], kinds: tuple[_Kind, ...] | None) -> list[int]:
        """Indexes of the unused values a parameter of ``schema`` takes, best first."""
        takes = kinds or _TAKES.get(str(schema.get("type")), ())
        fitting = [
            (takes.index(value.kind), index)
            for index, value in enumerate(self._values)
            if index not in self._used
            and value.kind in takes
            and (schema.get("type") != "integer" or isinstance(value.value, int))
        ]
        return [index for _, index in sorted(fitting)]

    def _value(self, index: int, schema: Mapping[str, Any]) -> Any:
        self._used.add(index)
        value = self._values[index]
        return value.text if schema.get("type") == "string" else value.value


def _enum_values(enum: list[Any], message: str, taken: Sequence[_Span]) -> list[tuple[_Span, Any]]:
    """Where the values of ``enum`` appear in ``message``, left to right, each once and
    none overlapping ``taken`` (nor each other): ``(span, value)`` pairs."""
    found: list[tuple[_Span, Any]] = []
    for position, value in enumerate(enum):
        text = value if isinstance(value, str) else json.dumps(value)
        pattern = re.compile(rf"(?<![\w-]){re.escape(text)}(?![\w-])", re.IGNORECASE)
        for match in pattern.finditer(message):
            span = (match.start(), match.end())
            if not any(span[0] < end and start < span[1] for start, end in taken):
                found.append((span, (position, value)))
                break
    found.sort(key=lambda item: (item[0][0], item[1][0]))
    kept: list[tuple[_Span, Any]] = []
    for span, (_, value) in found:
        if not kept or span[0] >= kept[-1][0][1]:
            kept.append((span, value))
    return kept


# -- schemas --------------------------------------------------------------------------

_EMPTY: dict[str, Any] = {"integer": 0, "number": 0, "string": "", "boolean": False}


def _empty(schema: Mapping[str, Any]) -> Any:
    """The value of a required parameter the message gives nothing for (rule 4)."""
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    kind = schema.get("type")
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return _EMPTY.get(str(kind))


def _enum(parameter: Mapping[str, Any]) -> list[Any]:
    """The enum a parameter (or, for an array, each of its items) is one of; [] if none."""
    own = parameter["items"] if parameter["type"] == "array" else parameter
    enum = own.get("enum")
    return enum if isinstance(enum, list) else []


def _parameter(schema: object, root: Mapping[str, Any]) -> Mapping[str, Any]:
    """A parameter's schema resolved (see :func:`_resolve`), and its items if an array."""
    resolved = _resolve(schema, root)
    if resolved["type"] == "array":
        resolved = {**resolved, "items": _resolve(resolved.get("items"), root)}
    return resolved


def _resolve(schema: object, root: Mapping[str, Any]) -> Mapping[str, Any]:
    """``schema`` with one plain ``type``: its ``$ref`` followed, its first non-null
    ``anyOf``/``oneOf`` branch or ``type``, or ``"string"`` when it has none."""
    if not isinstance(schema, Mapping):
        return {"type": "string"}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(("#/$defs/", "#/definitions/")):
        section, _, name = ref[2:].partition("/")
        target = root.get(section, {})
        return _resolve(target.get(name) if isinstance(target, Mapping) else None, root)
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list):
            usable = [
                b for b in branches if not (isinstance(b, Mapping) and b.get("type") == "null")
            ]
            if usable:
                return {
                    **_resolve(usable[0], root),
                    **{k: v for k, v in schema.items() if k != key},
                }
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    return {**schema, "type": kind if isinstance(kind, str) else "string"}
