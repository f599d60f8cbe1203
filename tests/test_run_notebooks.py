"""tools/run_notebooks.py executes notebooks in place, offline, and leaves a failing one unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "run_notebooks.py"


def _notebook(path: Path, *sources: str) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source, id=f"c{i}") for i, source in enumerate(sources)]
    nbformat.write(notebook, path)


def _run(*paths: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENAI_API_KEY": "sk-test-not-a-key", "MEMKIT_BACKEND": "openai"}
    return subprocess.run(
        [sys.executable, str(TOOL), *map(str, paths)], capture_output=True, text=True, timeout=240, env=env
    )


def test_executes_in_place_offline_and_keeps_no_timing(tmp_path: Path) -> None:
    path = tmp_path / "01-demo.ipynb"
    _notebook(
        path,
        "import os\nprint(os.environ.get('OPENAI_API_KEY'), os.environ.get('MEMKIT_BACKEND'))",
        "6 * 7",
        "import ipywidgets\nipywidgets.Label('hi')",
    )
    result = _run(path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(str(path))
    cells = nbformat.read(path, as_version=4).cells
    assert [c.outputs for c in cells] == [
        [{"name": "stdout", "output_type": "stream", "text": "None None\n"}],
        [{"data": {"text/plain": "42"}, "execution_count": 2, "metadata": {}, "output_type": "execute_result"}],
        [
            {
                "data": {"text/plain": "Label(value='hi')"},
                "execution_count": 3,
                "metadata": {},
                "output_type": "execute_result",
            }
        ],
    ]
    assert [c.execution_count for c in cells] == [1, 2, 3]
    assert all("execution" not in c.metadata for c in cells)


def test_a_failing_cell_fails_the_run_and_leaves_the_file(tmp_path: Path) -> None:
    path = tmp_path / "02-broken.ipynb"
    _notebook(path, "raise ValueError('boom')")
    before = path.read_text(encoding="utf-8")
    result = _run(path)
    assert result.returncode == 1
    assert "FAILED" in result.stderr and "ValueError: boom" in result.stderr
    assert path.read_text(encoding="utf-8") == before
