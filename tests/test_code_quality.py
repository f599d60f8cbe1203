"""The package passes its own linters: ruff and strict mypy."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYTHON_DIRS = [name for name in ("memkit", "tests", "bench", "tools") if (ROOT / name).is_dir()]


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", *PYTHON_DIRS],
        ["ruff", "format", "--check", *PYTHON_DIRS],
        [sys.executable, "-m", "mypy"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_linters_pass(command: list[str]) -> None:
    if command[0] == "ruff":
        ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
        command = [ruff, *command[1:]]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_imports_no_presentation_libraries() -> None:
    code = (
        "import sys, memkit; db = memkit.MemoryDB();"
        "memkit.WorkerAgent(memkit.MemoryManager(db)).answer('hi there');"
        "print(sorted(m for m in ('pandas', 'ipywidgets', 'IPython', 'matplotlib', 'networkx') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


#: The package's layers, lowest first (see the layout in the README): a module
#: may import from its own layer or a lower one, never from a higher one.
LAYERS: dict[str, tuple[str, ...]] = {
    "foundation": (
        "errors",
        "redact",
        "types",
        "retrieval",
        "stopwords",
        "fts",
        "claims",
        "migrations",
        "schema",
        "rawsql",
        "decisions",
    ),
    "storage": ("connection", "history", "store", "links", "lifecycle", "operations", "postgres", "db", "datasets"),
    "models": ("llm", "parsing", "evaluation", "judging", "dense"),
    "memory": (
        "prompts",
        "summaries",
        "forgetting",
        "erasure",
        "exchanges",
        "shown",
        "manager",
        "transfer",
        "transfer_events",
    ),
    "agent": ("agent", "baseline"),
    "presentation": ("views", "widgets", "magics", "graph", "cli", "classroom", "testing", "__main__", "__init__"),
}


def _layer(module: str) -> int:
    """The layer of ``module`` (a name relative to the package, e.g. ``llm.offline.nlp``)."""
    top = module.split(".")[0]
    for rank, names in enumerate(LAYERS.values()):
        if top in names:
            return rank
    raise AssertionError(f"memkit.{module} is in no layer: add it to LAYERS in {Path(__file__).name}")


def _runtime_imports(path: Path, package: list[str]) -> list[tuple[int, str]]:
    """(line, imported module relative to memkit) for imports run at import time, TYPE_CHECKING blocks aside."""
    import ast

    found: list[tuple[int, str]] = []

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
            elif isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - node.level + 1]
                    parts = [*base, *(node.module.split(".") if node.module else [])]
                    names = [".".join(parts)] if node.module else [".".join([*parts, a.name]) for a in node.names]
                else:
                    names = [node.module or ""]
                found.extend((node.lineno, n) for n in names if n.startswith("memkit."))
            elif isinstance(node, ast.Import):
                found.extend((node.lineno, a.name) for a in node.names if a.name.startswith("memkit."))

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return [(line, name.removeprefix("memkit.")) for line, name in found]


def test_imports_point_down_the_layers() -> None:
    upward = []
    for path in sorted((ROOT / "memkit").rglob("*.py")):
        relative = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(relative[1:]) or "__init__"
        package = list(relative[:-1])
        for line, imported in _runtime_imports(path, package):
            if _layer(imported) > _layer(module):
                upward.append(f"memkit/{'/'.join(relative[1:])}.py:{line} imports memkit.{imported}")
    assert upward == [], "imports that point up the layers:\n" + "\n".join(upward)
