"""Hatch build hook: ship the tutorials in the wheel, so `nbstream demo` works from PyPI.

Every ``notebooks/*.ipynb`` goes into the wheel as ``nbstream/tutorials/<name>``;
notebooks/ stays their one source, and a new tutorial ships without a config change.
Only top-level notebooks are taken (never ``.ipynb_checkpoints``). Editable installs get
nothing: there ``nbstream demo`` reads the checkout's notebooks/ itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


def tutorials(root: Path) -> dict[str, str]:
    """The tutorials to ship: source path -> path inside the wheel."""
    return {
        str(notebook): f"nbstream/tutorials/{notebook.name}"
        for notebook in sorted((root / "notebooks").glob("*.ipynb"))
    }


class TutorialsHook(BuildHookInterface):  # type: ignore[type-arg]  # generic over its config
    """Adds the tutorials to the wheel's forced inclusions."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Called by hatchling before a wheel is built."""
        if version == "editable":
            return
        build_data["force_include"].update(tutorials(Path(self.root)))
