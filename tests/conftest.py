"""Shared fixtures and hooks. Fixture modules live beside this file and are registered here."""

from collections.abc import Generator

import pytest

pytest_plugins = ["tests.recording", "tests.browser_fixtures", "tests.local_fixtures"]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Keep each phase's report on the item, so fixtures can tell in teardown whether
    # their test failed (and then leave diagnostics behind).
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The tutorials under nbval each run in a real kernel: marked so, `-m kernel` selects
    # them with the other kernel tests (scripts/test.sh runs the unit tests beside those).
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.kernel)
