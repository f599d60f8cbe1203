"""Each named behaviour, broken on purpose, makes its tests fail (see tools/mutation_check.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_mutation_survives() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "mutation_check.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SURVIVED" not in result.stdout
