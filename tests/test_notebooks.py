"""Every committed notebook is executed top to bottom, uses memkit, and follows the course's shape.

nbval compares a notebook's stored outputs with a fresh run; a notebook saved
without outputs would pass it with nothing compared. These checks fail first.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(path for folder in ("notebooks", "exercises") for path in (ROOT / folder).glob("*.ipynb"))
NAVIGATION_IDS = ("nav-top", "nav-bottom")


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code" and cell.source.strip()]


def test_the_course_has_its_numbered_chapters() -> None:
    names = [path.name for path in NOTEBOOKS if path.parent.name == "notebooks"]
    assert names[:7] == [
        "01-first-look.ipynb",
        "02-memory-database.ipynb",
        "03-retrieval.ipynb",
        "04-memory-manager.ipynb",
        "05-worker-agent.ipynb",
        "06-chat-box.ipynb",
        "07-looking-at-memory.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_committed_executed_in_one_fresh_kernel(path: Path) -> None:
    cells = _code_cells(_read(path))
    counts = [cell.execution_count for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        f"{path.name}: code cells must be run once each, top to bottom, in a fresh kernel "
        f"(execution counts {counts}); run `python tools/run_notebooks.py {path.relative_to(ROOT)}`"
    )
    assert any(cell.outputs for cell in cells), f"{path.name} was saved without outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_no_errors_or_warnings_in_outputs(path: Path) -> None:
    problems = [
        (cell.execution_count, output.get("ename") or output.get("text", "")[:200])
        for cell in _code_cells(_read(path))
        for output in cell.outputs
        if output.output_type == "error" or (output.output_type == "stream" and output.name == "stderr")
    ]
    assert problems == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_imports_memkit_and_opens_and_closes_like_a_chapter(path: Path) -> None:
    notebook = _read(path)
    code = "\n".join(cell.source for cell in _code_cells(notebook))
    assert "import memkit" in code or "from memkit" in code
    prose = [c.source for c in notebook.cells if c.cell_type == "markdown" and c.get("id") not in NAVIGATION_IDS]
    assert prose[0].startswith("# ") and "**You will learn**" in prose[0]
    if path.parent.name == "notebooks":  # a chapter ends with what to try next, then a questionnaire
        assert prose[-2].startswith("## What to try next")
        assert prose[-1].startswith("## Questionnaire")
        assert len(re.findall(r"^\d+\. .+\?$", prose[-1], flags=re.MULTILINE)) >= 3
    else:
        assert prose[-1].startswith("## What to try next")
