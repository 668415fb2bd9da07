"""Every public name says what it does and shows how, and every ``>>>`` example runs.

Public names: the ``__all__`` of the modules users import from (:data:`PUBLIC_MODULES`),
the public methods and properties of the classes among them (those defined in
nbstream), their public traits and fields (named in the class docstring, or with a
docstring of their own), and the values among them (``MODEL``, ``API_KEY``…), whose
docstring is the string literal after the assignment, read from the source.

An example is a ``>>>`` line (run below as a doctest, with ``ELLIPSIS`` and
``NORMALIZE_WHITESPACE``, so it must be quick, offline and deterministic: the local
model, a function client, a list of strings) or an ``Example::`` / ``Examples:``
heading above a code block that is not run (a notebook cell, a magic, a real provider).
The command line's ``--help`` and the magics' help (their docstrings) have examples too.
"""

from __future__ import annotations

import ast
import dataclasses
import doctest
import importlib
import inspect
import io
import itertools
import pkgutil
import re
import typing
from collections.abc import Iterator
from types import ModuleType

import pytest
import traitlets

import nbstream
import nbstream.cli
import nbstream.local

PUBLIC_MODULES = (
    "nbstream",
    "nbstream.answer",
    "nbstream.attachments",
    "nbstream.chat",
    "nbstream.local",
    "nbstream.relay",
    "nbstream.tools",
    # The exceptions (all re-exported at the top too) and the %%chat session.
    "nbstream.errors",
    "nbstream.magics",
)

_EXAMPLE = re.compile(r"^\s*(>>> |Examples?::?\s*$)", re.MULTILINE)


def has_example(doc: str) -> bool:
    """A ``>>>`` line, or an ``Example::`` / ``Examples:`` heading."""
    return _EXAMPLE.search(doc) is not None


def problems_of(qualname: str, doc: str | None) -> list[str]:
    """What is missing from ``doc``, one line per problem (none: it is fine)."""
    doc = inspect.cleandoc(doc or "")
    if not doc:
        return [f"{qualname}: no docstring"]
    problems = []
    first = doc.splitlines()[0].strip()
    if first.startswith((">>>", "::")) or first.endswith("::"):
        problems.append(f"{qualname}: the first line should say what it does, not show code")
    if not has_example(doc):
        problems.append(f"{qualname}: no example (a `>>>` line or an `Example::` block)")
    return problems


# -- finding the public names and their docstrings ------------------------------------


def _source_tree(module: ModuleType) -> ast.Module:
    return ast.parse(inspect.getsource(module))


def _attribute_docs(body: list[ast.stmt]) -> dict[str, str]:
    """Docstrings of assignments: the string literal right after ``NAME = ...``."""
    docs = {}
    for statement, following in itertools.pairwise(body):
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
        elif isinstance(statement, ast.AnnAssign):
            target = statement.target
        else:
            continue
        if (
            isinstance(target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[target.id] = following.value.value
    return docs


def value_doc(module: ModuleType, name: str) -> str | None:
    """The docstring of the value ``module.name``, following ``from X import name``."""
    tree = _source_tree(module)
    docs = _attribute_docs(tree.body)
    if name in docs:
        return docs[name]
    for statement in tree.body:
        if (
            isinstance(statement, ast.ImportFrom)
            and statement.module
            and statement.level == 0
            and any(alias.name == name and alias.asname is None for alias in statement.names)
        ):
            return value_doc(importlib.import_module(statement.module), name)
    return None


def _own_classes(cls: type) -> Iterator[type]:
    """``cls`` and its bases defined in nbstream (not anywidget's, traitlets'…)."""
    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] == "nbstream":
            yield klass


def members(cls: type) -> Iterator[tuple[str, object]]:
    """Public methods and properties of ``cls`` defined in nbstream."""
    seen = set()
    for klass in _own_classes(cls):
        for name, attribute in vars(klass).items():
            if name.startswith("_") or name in seen:
                continue
            member = attribute
            if isinstance(attribute, (staticmethod, classmethod)):
                member = attribute.__func__
            if inspect.isfunction(member) or isinstance(member, property):
                seen.add(name)
                yield name, member


def fields(cls: type) -> Iterator[str]:
    """Public traits, dataclass fields and TypedDict keys of ``cls``: what users set or read."""
    if dataclasses.is_dataclass(cls):
        yield from (f.name for f in dataclasses.fields(cls) if not f.name.startswith("_"))
    elif typing.is_typeddict(cls):
        yield from cls.__annotations__
    elif issubclass(cls, traitlets.HasTraits):
        for klass in _own_classes(cls):
            for name, member in vars(klass).items():
                if not name.startswith("_") and isinstance(member, traitlets.TraitType):
                    yield name


def field_problems(qualname: str, cls: type) -> list[str]:
    """Fields neither named in the class docstring nor documented where they are declared."""
    doc = inspect.getdoc(cls) or ""
    declared: dict[str, str] = {}
    for klass in _own_classes(cls):
        module = inspect.getmodule(klass)
        assert module is not None
        for statement in _source_tree(module).body:
            if isinstance(statement, ast.ClassDef) and statement.name == klass.__name__:
                declared |= _attribute_docs(statement.body)
    return [
        f"{qualname}.{name}: not documented (name it in the class docstring)"
        for name in fields(cls)
        if name not in declared and not re.search(rf"(``|\b){name}(``|:)", doc)
    ]


def public_names() -> Iterator[tuple[str, object, str | None]]:
    """``(qualified name, object, docstring)`` of every public name, each object once."""
    seen: set[int] = set()
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            qualname = f"{module_name}.{name}"
            if inspect.isclass(obj) or inspect.isfunction(obj):
                if id(obj) in seen:  # re-exported (nbstream.Chat is nbstream.chat.Chat)
                    continue
                seen.add(id(obj))
                yield qualname, obj, obj.__doc__
            else:
                yield qualname, obj, value_doc(module, name)
            if inspect.isclass(obj):
                for member_name, member in members(obj):
                    yield f"{qualname}.{member_name}", member, member.__doc__


# -- the tests ------------------------------------------------------------------------


def all_problems() -> tuple[int, list[str]]:
    """How many public names there are, and what their docstrings lack."""
    problems = []
    names = 0
    for qualname, obj, doc in public_names():
        names += 1
        problems += problems_of(qualname, doc)
        if inspect.isclass(obj):
            problems += field_problems(qualname, obj)
    return names, problems


def test_every_public_name_has_a_docstring_with_an_example() -> None:
    names, problems = all_problems()
    assert names > 80  # the walk found the API (85 names)
    assert not problems, "\n".join(problems)


def test_the_check_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nbstream.Chat.clear, "__doc__", "Forget the conversation.")
    monkeypatch.setattr(nbstream.StreamView, "__doc__", "Live markdown.\n\nExample::\n\n  v\n")
    monkeypatch.setattr(nbstream.local.LocalServer.url, "__doc__", None)
    _, problems = all_problems()
    assert "nbstream.Chat.clear: no example (a `>>>` line or an `Example::` block)" in problems
    assert "nbstream.StreamView.usage: not documented (name it in the class docstring)" in problems
    assert "nbstream.local.LocalServer.url: no docstring" in problems
    assert problems_of("f", "Example::\n\n    f()\n") == [
        "f: the first line should say what it does, not show code"
    ]
    assert problems_of("f", "Do it.\n\n>>> f()\n") == []


def _modules() -> list[str]:
    names = ["nbstream"]
    for info in pkgutil.walk_packages(nbstream.__path__, "nbstream."):
        if info.name != "nbstream.__main__":  # importing it runs the command line
            names.append(info.name)
    return names


@pytest.mark.parametrize("module_name", _modules())
def test_examples_run(module_name: str) -> None:
    module = importlib.import_module(module_name)
    output = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in doctest.DocTestFinder().find(module, module_name):
        runner.run(test, out=output.write)
    assert not runner.failures, output.getvalue()


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        nbstream.cli.main([*argv, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", [[], ["demo"], ["serve"]])
def test_command_line_help_has_examples(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help(command, capsys)
    assert "examples:" in text
    # Each example is kept on its own line, as typed.
    assert re.search(rf"^  nbstream {' '.join(command)}.*$", text, re.MULTILINE), text


def test_magics_help_has_examples() -> None:
    # What `%%chat?` and `%chat_config?` show: the magics' docstrings.
    from nbstream.magics import NbstreamMagics

    for magic in (NbstreamMagics.chat, NbstreamMagics.chat_config):
        assert has_example(inspect.getdoc(magic) or ""), magic.__name__
