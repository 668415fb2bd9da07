"""Re-execute the tutorials so their saved outputs match what nbval will see.

    .venv/bin/python scripts/refresh_notebooks.py [notebooks/01-quickstart.ipynb ...]

Outputs are kept (nbval compares them); saved widget state and execution timings are
not, since they differ per run and bloat the diff.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def refresh(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]  # untyped lib
    NotebookClient(
        nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)  # type: ignore[no-untyped-call]
    print(f"refreshed {path.relative_to(ROOT)}")


if __name__ == "__main__":
    paths = [Path(p).resolve() for p in sys.argv[1:]] or sorted(
        (ROOT / "notebooks").glob("*.ipynb")
    )
    for p in paths:
        refresh(p)
