"""Break named behaviours one at a time and check that the tests notice each.

    python tools/mutation_check.py            # every mutation; exits 1 if any survives
    python tools/mutation_check.py --list     # what each mutation breaks

Each mutation replaces one snippet of the package (the integrity check, a
ranking cue, redaction, supersession) in a copy of ``memkit/`` and ``tests/``
in a temporary folder, runs the tests that guard that behaviour against the
copy, and reports whether they failed (the mutation is *killed*) or passed
(it *survived*: no test would notice that behaviour breaking). The checkout
itself is never changed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutation:
    """One behaviour broken on purpose: ``find`` becomes ``replace`` in ``path``; ``tests`` must notice."""

    name: str
    path: str
    find: str
    replace: str
    tests: tuple[str, ...]


MUTATIONS = (
    Mutation(
        "check_integrity finds nothing",
        "memkit/store.py",
        '        problems = [f"SQLite integrity_check: {row[0]}"',
        '        return []\n        problems = [f"SQLite integrity_check: {row[0]}"',
        ("tests/test_integrity.py",),
    ),
    Mutation(
        "no subject cue",
        "memkit/retrieval.py",
        "    subject_weight: float = 0.5",
        "    subject_weight: float = 0.0",
        ("tests/test_search.py",),
    ),
    Mutation(
        "no scene signal",
        "memkit/retrieval.py",
        "    scene_signal_weight: float = 0.5",
        "    scene_signal_weight: float = 0.0",
        ("tests/test_search.py",),
    ),
    Mutation(
        "no time cue",
        "memkit/retrieval.py",
        "    time_weight: float = 0.25",
        "    time_weight: float = 0.0",
        ("tests/test_search.py",),
    ),
    Mutation(
        "no date cue",
        "memkit/retrieval.py",
        "    date_weight: float = 0.25",
        "    date_weight: float = 0.0",
        ("tests/test_search.py",),
    ),
    Mutation(
        "no salience in the ranking",
        "memkit/retrieval.py",
        "    salience_weight: float = 0.5",
        "    salience_weight: float = 0.0",
        ("tests/test_search.py",),
    ),
    Mutation(
        "no recency in the ranking",
        "memkit/retrieval.py",
        "    recency_weight: float = 0.1",
        "    recency_weight: float = 0.0",
        ("tests/test_search.py",),
    ),
    Mutation(
        "context not searched",
        "memkit/retrieval.py",
        "    context_weight: float = 0.5",
        "    context_weight: float = 0.0",
        ("tests/test_search.py",),
    ),
    Mutation(
        "redaction does nothing",
        "memkit/redact.py",
        "    return Redactor(secrets)(text)",
        "    return text",
        ("tests/test_secrets.py",),
    ),
    Mutation(
        "supersede leaves the old cell current",
        "memkit/lifecycle.py",
        '            change.conn.execute("UPDATE mem_cells SET valid_until = ? WHERE id = ?", (db.now(), old_id))',
        "            pass",
        ("tests/test_lifecycle.py", "tests/test_changes.py"),
    ),
)


def _copy(workspace: Path) -> Path:
    """A copy of the package, its tests and the benchmarks they use in ``workspace``, where mutations may be made."""
    copy = workspace / "copy"
    for folder in ("memkit", "tests", "bench"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def _tests_fail(copy: Path, tests: Sequence[str]) -> bool:
    """Whether ``tests`` fail when run against the package in ``copy``."""
    missing = [t for t in tests if not (copy / t).exists()]
    if missing:
        raise SystemExit(f"no such test file {missing[0]}; update the mutations")
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:nbval", "-p", "no:cacheprovider", "-o", "addopts="]
    command += ["-k", "not postgres"]  # the mutations are in code both stores share: the file's runs catch them
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([*command, *tests], cwd=copy, env=env, capture_output=True, text=True, timeout=600)
    return result.returncode != 0


def killed(mutation: Mutation, copy: Path) -> bool:
    """Apply ``mutation`` in ``copy``, run its tests, undo it; True if the tests failed."""
    target = copy / mutation.path
    text = target.read_text(encoding="utf-8")
    if text.count(mutation.find) != 1:
        raise SystemExit(f"{mutation.name}: the snippet to break is not found once in {mutation.path}; update it")
    target.write_text(text.replace(mutation.find, mutation.replace), encoding="utf-8")
    try:
        return _tests_fail(copy, mutation.tests)
    finally:
        target.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list the mutations and the tests that guard each")
    args = parser.parse_args(argv)
    if args.list:
        for mutation in MUTATIONS:
            print(f"{mutation.name}: {mutation.path}; guarded by {', '.join(mutation.tests)}")
        return 0
    survivors = []
    with tempfile.TemporaryDirectory(prefix="memkit-mutations-") as folder:
        copy = _copy(Path(folder))
        if _tests_fail(copy, list(dict.fromkeys(t for m in MUTATIONS for t in m.tests))):
            print("the guarding tests fail with nothing broken: fix them first")
            return 2
        for mutation in MUTATIONS:
            caught = killed(mutation, copy)
            print(f"{'killed  ' if caught else 'SURVIVED'}  {mutation.name}", flush=True)
            if not caught:
                survivors.append(mutation.name)
    print(f"{len(MUTATIONS) - len(survivors)} of {len(MUTATIONS)} mutations killed")
    return 1 if survivors else 0


if __name__ == "__main__":
    raise SystemExit(main())
