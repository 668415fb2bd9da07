"""The clients ``%chat_config --client NAME`` takes, and how ``%chat_config`` shows them.

A client is found by the name of a notebook variable (a dotted path is allowed:
``--client clients.openai``) and checked when it is configured, so a wrong one is
refused with a fix at once rather than when the next ``%%chat`` cell runs. What makes
an answer from it is :mod:`nbstream.backends`' to decide.
"""

from __future__ import annotations

from collections.abc import Mapping

import openai
from IPython.core.error import UsageError

from nbstream.backends import backend_label

__all__ = ["check_client", "find_client", "is_local", "public_url"]

_CLIENT_KINDS = (
    "an openai.OpenAI or openai.AsyncOpenAI client, or a function of the message list as Chat takes"
)


def find_client(namespace: Mapping[str, object], name: str) -> object:
    """The client in the variable ``name`` of ``namespace`` (the notebook's), checked
    with :func:`check_client`; a ``UsageError`` saying what is wrong otherwise.

    Example:
        >>> reply = lambda messages: ["Hi"]
        >>> find_client({"reply": reply}, "reply") is reply
        True
        >>> find_client({}, "my_clinet")
        Traceback (most recent call last):
          ...
        IPython.core.error.UsageError: --client my_clinet: no variable named 'my_clinet' ...
    """
    parts = name.split(".")
    if not all(part.isidentifier() for part in parts):
        raise UsageError(f"--client takes a variable's name, e.g. --client my_client; got {name!r}")
    if parts[0] not in namespace:
        raise UsageError(
            f"--client {name}: no variable named {parts[0]!r} in the notebook; "
            f"create it first (it takes {_CLIENT_KINDS})"
        )
    value = namespace[parts[0]]
    for i, part in enumerate(parts[1:], start=1):
        if not hasattr(value, part):
            raise UsageError(f"--client {name}: {'.'.join(parts[:i])} has no attribute {part!r}")
        value = getattr(value, part)
    return check_client(value, name)


def check_client(value: object, name: str) -> object:
    """``value`` if ``%chat_config --client NAME`` can use it; a ``UsageError`` saying
    what is wrong otherwise.

    Example:
        >>> reply = lambda messages: ["Hi"]
        >>> check_client(reply, "reply") is reply
        True
        >>> check_client("gpt-4o", "model")
        Traceback (most recent call last):
          ...
        IPython.core.error.UsageError: --client model: model is a str; it takes an openai.OpenAI ...
    """
    if isinstance(value, (openai.OpenAI, openai.AsyncOpenAI)):
        return value
    if isinstance(value, type):
        raise UsageError(
            f"--client {name}: {name} is a class; create the client first, "
            f"e.g. `my_client = {value.__name__}()`, then --client my_client"
        )
    if callable(value):
        return value
    raise UsageError(
        f"--client {name}: {name} is {_a(type(value).__name__)}; it takes {_CLIENT_KINDS}"
    )


def public_url(client: openai.OpenAI | openai.AsyncOpenAI) -> str:
    """The client's ``base_url`` without the credentials it may carry: safe to print.

    Example:
        >>> client = openai.OpenAI(api_key="k", base_url="https://me:pw@x.example/v1?api-key=k")
        >>> public_url(client)
        'https://x.example/v1/'
    """
    # Credentials can ride in a URL's userinfo or query (Azure's ?api-key=); show neither.
    return str(client.base_url.copy_with(userinfo=b"", query=None, fragment=None))


def is_local(client: openai.OpenAI | openai.AsyncOpenAI) -> bool:
    """Whether ``client`` talks to nbstream's embedded local model (whose model name is
    the default, so ``--model`` is not needed).

    Example:
        >>> import nbstream.local
        >>> is_local(nbstream.local.client()), is_local(openai.OpenAI(api_key="k"))
        (True, False)
    """
    return backend_label(client) == "local model"


def _a(noun: str) -> str:
    """``noun`` with its indefinite article: "an int", "a list"."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"
