"""Re-execute the tutorials so their saved outputs match what nbval will see.

    .venv/bin/python scripts/refresh_notebooks.py [notebooks/01-quickstart.ipynb ...]

Outputs are kept (nbval compares them); saved widget state and execution timings are
not, since they differ per run and bloat the diff. Display updates are not applied
either: nbval ignores ``update_display_data``, so the static copy a finished stream adds
to its output (text/html) must not be in the saved outputs nbval compares against.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


class _AsNbvalSees(NotebookClient):
    """Runs a notebook, leaving out display updates as nbval does."""

    def _update_display_id(self, display_id: str, msg: dict[str, Any]) -> None:
        return


def refresh(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]  # untyped lib
    _AsNbvalSees(
        nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)  # type: ignore[no-untyped-call]
    print(f"refreshed {path}")


if __name__ == "__main__":
    paths = [Path(p).resolve() for p in sys.argv[1:]] or sorted(
        (ROOT / "notebooks").glob("*.ipynb")
    )
    for p in paths:
        refresh(p)
