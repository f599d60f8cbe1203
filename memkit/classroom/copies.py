"""Student copies of exercise notebooks, generated from the teacher's one source.

A teacher's exercise notebook holds the solutions, between nbgrader's
markers, inside the code cells students complete::

    def build_query(text):
        ### BEGIN SOLUTION
        words = ...
        ### END SOLUTION

The student copy replaces each marked region with nbgrader's stub (``# YOUR
CODE HERE`` and ``raise NotImplementedError``, indented like the marker) and
clears every output, so the check cells, which catch the stub, report "not
yet" until the student writes the code. Cells tagged ``check`` hold the checks.

:func:`nbgrader_notebook` makes the version nbgrader's ``generate_assignment``
reads: the source with nbgrader cell metadata (schema version 3), solution
cells marked as such and each check cell an autograded test worth one point,
which fails by raising the check's feedback.

Notebooks are handled as plain JSON and written as ``nbformat`` writes them,
so the copies are byte-for-byte reproducible and a stale copy is detected by
comparing text.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = [
    "BEGIN",
    "CHECK_TAG",
    "END",
    "STUB",
    "exercise_sources",
    "has_solution",
    "nbgrader_notebook",
    "notebook_text",
    "read_notebook",
    "stale_copies",
    "strip_solutions",
    "student_notebook",
    "write_copies",
]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
#: What replaces a solution (nbgrader's default stub, so both tools make the same copy).
STUB = ("# YOUR CODE HERE", "raise NotImplementedError")
#: The tag of the cells that check an exercise.
CHECK_TAG = "check"

Notebook = dict[str, Any]
_MARKER = re.compile(r"^(?P<indent>[ \t]*)#+\s*(?P<which>BEGIN|END) SOLUTION\s*$")
_ID = re.compile(r"[^a-zA-Z0-9_\-]+")


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _lines(text: str) -> list[str]:
    """A cell source as nbformat stores it: a list of lines, each but the last ending in a newline."""
    return text.splitlines(keepends=True)


def _tags(cell: dict[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def strip_solutions(source: str, *, where: str = "a cell") -> str:
    """``source`` with each marked solution region replaced by :data:`STUB`.

    :raises ValueError: a marker without its partner, or nested markers; the
        message names ``where``.
    """
    out: list[str] = []
    inside: str | None = None
    for number, line in enumerate(source.split("\n"), start=1):
        marker = _MARKER.match(line)
        if marker is None:
            if inside is None:
                out.append(line)
            continue
        if marker["which"] == "BEGIN":
            if inside is not None:
                raise ValueError(f"{where}, line {number}: {BEGIN} inside another solution; close the first one")
            inside = marker["indent"]
            out += [inside + stub for stub in STUB]
        else:
            if inside is None:
                raise ValueError(f"{where}, line {number}: {END} without {BEGIN}")
            inside = None
    if inside is not None:
        raise ValueError(f"{where}: {BEGIN} is never closed by {END}")
    return "\n".join(out)


def has_solution(cell: dict[str, Any]) -> bool:
    """Whether ``cell`` holds a marked solution."""
    return any(_MARKER.match(line) for line in _source(cell).split("\n"))


def _check_cell_types(notebook: Notebook, name: str) -> None:
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code" and has_solution(cell):
            raise ValueError(f"{name} cell {index}: solution markers only work in code cells")


def student_notebook(notebook: Notebook, name: str = "the notebook") -> Notebook:
    """The student copy of ``notebook``: solutions replaced by stubs, outputs cleared.

    Cell ids and tags are kept; execution counts, outputs, other cell metadata
    and the notebook's ``language_info`` (which names the Python that last
    ran it) are dropped, so the copy does not change when the source is re-run.
    """
    _check_cell_types(notebook, name)
    cells = []
    for index, cell in enumerate(notebook.get("cells", [])):
        new: dict[str, Any] = {"cell_type": cell["cell_type"], "metadata": {}}
        if "id" in cell:
            new["id"] = cell["id"]
        if _tags(cell):
            new["metadata"]["tags"] = _tags(cell)
        source = _source(cell)
        if cell["cell_type"] == "code":
            source = strip_solutions(source, where=f"{name} cell {index}")
            new.update(execution_count=None, outputs=[])
        new["source"] = _lines(source)
        cells.append(new)
    metadata = {key: notebook["metadata"][key] for key in ("kernelspec",) if key in notebook.get("metadata", {})}
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": notebook.get("nbformat_minor", 5)}


def nbgrader_notebook(notebook: Notebook, name: str) -> Notebook:
    """The nbgrader source version of ``notebook`` (for ``nbgrader generate_assignment``).

    Solutions stay in place between the markers (nbgrader removes them);
    solution cells get ``solution: true``; each check cell becomes an
    autograded test worth one point whose last line also calls ``.require()``,
    so a check that is not yet passed fails the test with its feedback.

    :raises ValueError: a check cell whose last line is not a call.
    """
    student = student_notebook(notebook, name)  # validates the markers and clears outputs
    prefix = _ID.sub("-", Path(name).stem).strip("-") or "exercise"
    for index, original in enumerate(notebook["cells"]):
        cell = student["cells"][index]
        meta: dict[str, Any] = {"schema_version": 3, "grade": False, "locked": False, "solution": False, "task": False}
        if has_solution(original):
            meta.update(solution=True, grade_id=f"{prefix}-solution-{index}")
            cell["source"] = _lines(_source(original))
        elif CHECK_TAG in _tags(original):
            meta.update(grade=True, locked=True, points=1, grade_id=f"{prefix}-check-{index}")
            cell["source"] = _lines(_require_last_call(_source(original), f"{name} cell {index}"))
        else:
            continue
        cell["metadata"]["nbgrader"] = meta
    return student


def _require_last_call(source: str, where: str) -> str:
    lines = source.rstrip().split("\n")
    if not lines[-1].rstrip().endswith(")"):
        raise ValueError(f"{where}: the last line of a check cell must be the check call, e.g. check.search(...)")
    lines[-1] = lines[-1].rstrip() + ".require()"
    return "\n".join(lines)


def notebook_text(notebook: Notebook) -> str:
    """``notebook`` as nbformat writes it (sorted keys, one-space indent, a final newline)."""
    return json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def read_notebook(path: str | os.PathLike[str]) -> Notebook:
    """A notebook file as plain JSON."""
    with open(path, encoding="utf-8") as handle:
        notebook: Notebook = json.load(handle)
    return notebook


def exercise_sources(folder: str | os.PathLike[str]) -> list[Path]:
    """The exercise notebooks of ``folder`` (``NN-name.ipynb``), in order."""
    return sorted(Path(folder).glob("[0-9][0-9]-*.ipynb"))


def _copies(sources: Iterable[Path], student_dir: Path) -> dict[Path, str]:
    return {
        student_dir / path.name: notebook_text(student_notebook(read_notebook(path), path.name)) for path in sources
    }


def write_copies(
    folder: str | os.PathLike[str],
    student_dir: str | os.PathLike[str],
    nbgrader_dir: str | os.PathLike[str] | None = None,
) -> list[Path]:
    """Write the student copy (and the nbgrader version, if asked) of every exercise; return the paths written."""
    sources = exercise_sources(folder)
    texts = _copies(sources, Path(student_dir))
    if nbgrader_dir is not None:
        for path in sources:
            graded = nbgrader_notebook(read_notebook(path), path.name)
            texts[Path(nbgrader_dir) / path.name] = notebook_text(graded)
    for path, text in texts.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(texts)


def stale_copies(folder: str | os.PathLike[str], student_dir: str | os.PathLike[str]) -> list[str]:
    """The student copies that are missing, out of date, or have no source any more (empty when all is well)."""
    expected = _copies(exercise_sources(folder), Path(student_dir))
    problems = []
    for path, text in expected.items():
        if not path.exists():
            problems.append(f"{path.name}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path.name}: out of date")
    for path in sorted(Path(student_dir).glob("*.ipynb")):
        if path not in expected:
            problems.append(f"{path.name}: has no source exercise")
    return problems
