"""Fixtures for tests against the local model: one unpaced server per test module, the
sync/async twin parameter that tests of both client flavours take, and the usage the
model reports for an answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from nbstream.local import LocalServer
from nbstream.local.model import prompt_tokens, tokenize


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    """One unpaced server for the module: fast tests; pacing is asked for per request.

    Per module, not per session, so a module that changes the server's pacing or faults
    affects no other. A module that needs another server defines its own ``server``.
    """
    with LocalServer(tokens_per_second=0, first_token_delay=0) as running:
        yield running


@pytest.fixture(params=["sync", "async"])
def twin(request: pytest.FixtureRequest) -> str:
    """Which client a test uses: the SDK's sync client, or its async twin."""
    return str(request.param)


def local_usage(asked: Any, *completion: str) -> dict[str, int]:
    """The usage the local model reports for answering ``asked`` with ``completion``.

    ``completion`` is every text it generated, in order (reasoning counts too).
    """
    prompt = prompt_tokens(asked)
    generated = sum(len(tokenize(text)) for text in completion)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": generated,
        "total_tokens": prompt + generated,
    }
