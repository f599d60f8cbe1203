"""The exercises: student copies are current, run to the end and say "not yet"; the copy tools."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from memkit.classroom.copies import (
    CHECK_TAG,
    exercise_sources,
    has_solution,
    nbgrader_notebook,
    notebook_text,
    read_notebook,
    stale_copies,
    strip_solutions,
    student_notebook,
    write_copies,
)

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "exercises"
STUDENT = EXERCISES / "student"
SOURCES = exercise_sources(EXERCISES)


def test_the_exercises_each_with_a_solution_and_a_check_and_listed_in_the_guide() -> None:
    assert [path.stem for path in SOURCES] == [
        "01-safe-search",
        "02-new-cell-type",
        "03-consolidation-prompt",
        "04-why-not-answered",
        "05-decay-rule",
        "06-record-and-replay",
        "07-measure-a-retrieval-tweak",
        "08-questions-with-evidence",
        "09-capstone",
        "10-retire-a-cancelled-plan",
    ]
    guide = (EXERCISES / "README.md").read_text(encoding="utf-8")
    assert re.findall(r"^\| `(\d\d-[a-z-]+)` \|", guide, flags=re.MULTILINE) == [path.stem for path in SOURCES]
    for path in SOURCES:
        cells = read_notebook(path)["cells"]
        assert any(has_solution(c) for c in cells), path.name
        assert any(CHECK_TAG in c["metadata"].get("tags", []) for c in cells), path.name
        assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).startswith("# Exercise")


def test_the_student_copies_are_current() -> None:
    """Fails when an exercise changed and its copy was not made again: python tools/make_student_copies.py."""
    assert stale_copies(EXERCISES, STUDENT) == []


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_a_student_copy_runs_to_the_end_and_its_checks_say_not_yet(path: Path) -> None:
    Path(os.environ["HOME"]).mkdir(parents=True, exist_ok=True)  # the kernel's IPython wants a writable home
    notebook = nbformat.read(STUDENT / path.name, as_version=4)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(STUDENT)}}
    ).execute()
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    checks = [c for c in notebook.cells if CHECK_TAG in c.metadata.get("tags", [])]
    for cell in checks:
        (output,) = cell.outputs
        text = output["data"]["text/plain"]
        assert text.startswith("✘ not yet: "), text
        assert "is not written yet: replace `raise NotImplementedError` with your code" in text


def test_student_copies_hold_no_solution_and_no_output() -> None:
    for path in SOURCES:
        source, copy = read_notebook(path), read_notebook(STUDENT / path.name)
        assert [c["id"] for c in copy["cells"]] == [c["id"] for c in source["cells"]]
        assert copy["metadata"] == {"kernelspec": source["metadata"]["kernelspec"]}
        for cell in copy["cells"]:
            text = "".join(cell["source"])
            assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None


def test_strip_solutions_keeps_the_indentation_of_the_marker() -> None:
    source = (
        "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n\n\n"
        "# BEGIN SOLUTION\ny = 2\n# END SOLUTION"
    )
    assert strip_solutions(source) == (
        "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError\n\n\n"
        "# YOUR CODE HERE\nraise NotImplementedError"
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("### BEGIN SOLUTION\nx = 1", "cell 3: ### BEGIN SOLUTION is never closed by ### END SOLUTION"),
        ("x = 1\n### END SOLUTION", "cell 3, line 2: ### END SOLUTION without ### BEGIN SOLUTION"),
        (
            "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
            "cell 3, line 2: ### BEGIN SOLUTION inside another solution; close the first one",
        ),
    ],
)
def test_unbalanced_markers_are_refused_with_where(source: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        strip_solutions(source, where="cell 3")
    assert str(caught.value) == message


def _notebook(*cells: dict[str, Any]) -> dict[str, Any]:
    return {"cells": list(cells), "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}


def _code(source: str, *tags: str, outputs: list[Any] | None = None) -> dict[str, Any]:
    metadata = {"tags": list(tags)} if tags else {}
    return {
        "cell_type": "code",
        "id": f"c{abs(hash(source)) % 10000}",
        "metadata": metadata,
        "source": source,
        "outputs": outputs or [],
        "execution_count": 3,
    }


def test_markers_in_a_markdown_cell_are_refused() -> None:
    notebook = _notebook({"cell_type": "markdown", "id": "m", "metadata": {}, "source": "### BEGIN SOLUTION\nx"})
    with pytest.raises(ValueError, match=r"^ex\.ipynb cell 0: solution markers only work in code cells$"):
        student_notebook(notebook, "ex.ipynb")


def test_the_copies_are_written_as_nbformat_writes_them(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    notebook = _notebook(
        _code(
            "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
            outputs=[{"output_type": "stream", "name": "stdout", "text": "1\n"}],
        ),
        _code("check.thing(f)", "check"),
    )
    (source / "01-thing.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    (source / "notes.ipynb").write_text(json.dumps(notebook), encoding="utf-8")  # not NN-name: not an exercise
    written = write_copies(source, tmp_path / "student", tmp_path / "nbgrader")
    assert written == [tmp_path / "student" / "01-thing.ipynb", tmp_path / "nbgrader" / "01-thing.ipynb"]
    text = written[0].read_text(encoding="utf-8")
    assert text == nbformat.writes(nbformat.reads(text, as_version=4)) + "\n"
    assert stale_copies(source, tmp_path / "student") == []
    (tmp_path / "student" / "02-old.ipynb").write_text("{}", encoding="utf-8")
    (source / "01-thing.ipynb").write_text(json.dumps(_notebook(_code("x = 2"))), encoding="utf-8")
    assert stale_copies(source, tmp_path / "student") == [
        "01-thing.ipynb: out of date",
        "02-old.ipynb: has no source exercise",
    ]
    (tmp_path / "student" / "01-thing.ipynb").unlink()
    assert stale_copies(source, tmp_path / "student")[0] == "01-thing.ipynb: missing"


def _valid_nbgrader_v3(notebook: dict[str, Any]) -> list[str]:
    """nbgrader's rules for schema version 3 cell metadata (nbgrader/nbgraderformat/v3.json and v3.py)."""
    allowed = {"schema_version", "grade", "locked", "solution", "task", "grade_id", "points", "checksum", "cell_type"}
    problems, ids = [], set()
    for cell in notebook["cells"]:
        meta = cell["metadata"].get("nbgrader")
        if meta is None:
            continue
        if set(meta) - allowed or not {"schema_version", "grade", "locked", "solution"} <= set(meta):
            problems.append(f"bad keys {sorted(meta)}")
        if meta["schema_version"] != 3:
            problems.append("schema_version")
        if meta["grade"] or meta["solution"] or meta["locked"]:
            if not re.fullmatch(r"[a-zA-Z0-9_\-]+", meta.get("grade_id", "")) or meta["grade_id"] in ids:
                problems.append(f"grade_id {meta.get('grade_id')!r}")
            ids.add(meta.get("grade_id"))
        if meta["grade"] and "points" not in meta:
            problems.append("points")
        if cell["cell_type"] == "markdown" and meta["grade"] != meta["solution"]:
            problems.append("markdown grade/solution")
    return problems


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_the_nbgrader_version_follows_nbgraders_metadata_schema(path: Path) -> None:
    source = read_notebook(path)
    graded = nbgrader_notebook(source, path.name)
    assert _valid_nbgrader_v3(graded) == []
    nbformat.validate(nbformat.from_dict(graded))
    for cell, original in zip(graded["cells"], source["cells"], strict=True):
        meta = cell["metadata"].get("nbgrader")
        text = "".join(cell["source"])
        if has_solution(original):
            assert meta["solution"] is True and meta["grade"] is False
            assert text == "".join(original["source"])  # nbgrader removes the solutions itself
        elif CHECK_TAG in original["metadata"].get("tags", []):
            assert meta["grade"] is True and meta["locked"] is True and meta["points"] == 1
            assert text == "".join(original["source"]).rstrip() + ".require()"
        else:
            assert meta is None
        if cell["cell_type"] == "code":
            assert cell["outputs"] == []


def test_a_check_cell_must_end_with_the_check_call() -> None:
    notebook = _notebook(_code("feedback = check.thing(f)\nprint(feedback)  # shown", "check"))
    with pytest.raises(ValueError, match=r"^ex\.ipynb cell 0: the last line of a check cell must be the check call"):
        nbgrader_notebook(notebook, "ex.ipynb")


def test_notebook_text_is_stable() -> None:
    assert notebook_text({"b": 1, "a": "é"}) == '{\n "a": "é",\n "b": 1\n}\n'
