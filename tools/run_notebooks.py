"""Execute notebooks in place, each in a fresh kernel, so they are committed with their outputs.

    python tools/run_notebooks.py                                 # every notebook of the course
    python tools/run_notebooks.py notebooks/03-retrieval.ipynb    # only these

Each notebook runs top to bottom in its own folder with the current
interpreter, offline: model keys and server settings are removed from the
environment first, so the committed outputs are the offline engine's. Timing
metadata and widget state are not stored, and widget views (a random model id
pointing at state that is not stored) are reduced to their text, so a re-run
changes only what the code prints. Prints each notebook's wall time; exits 1
if a cell fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("notebooks", "exercises")
#: Variables that would make memkit leave the offline engine.
BACKEND_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MEMKIT_BACKEND", "MEMKIT_MODEL", "MEMKIT_BASE_URL")
CELL_TIMEOUT_S = 120
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def course_notebooks(root: Path = ROOT) -> list[Path]:
    """Every committed notebook of the course, in teaching order."""
    found: list[Path] = []
    for folder in FOLDERS:
        found += sorted((root / folder).glob("[0-9][0-9]-*.ipynb"))
        found += sorted((root / folder).glob("A[0-9]-*.ipynb"))  # appendices, after the chapters
    return found


def run_notebook(path: Path, *, timeout: int = CELL_TIMEOUT_S) -> float:
    """Execute ``path`` in place in a fresh kernel; return the seconds it took.

    :raises CellExecutionError: a cell raised; the notebook file is left unchanged.
    """
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        store_widget_state=False,
    )
    started = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - started
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(WIDGET_VIEW, None)
    nbformat.write(notebook, path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook of the course")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT_S, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    for name in BACKEND_ENV:
        os.environ.pop(name, None)
    paths = args.notebooks or course_notebooks()
    failed = 0
    for path in paths:
        try:
            seconds = run_notebook(path.resolve(), timeout=args.timeout)
        except CellExecutionError as exc:
            failed += 1
            print(f"FAILED {path}: {exc.ename}: {exc.evalue}", file=sys.stderr)
            continue
        print(f"{seconds:6.1f} s  {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
