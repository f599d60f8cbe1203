"""Generate the student copies of the exercises: solutions replaced by stubs, outputs cleared.

    python tools/make_student_copies.py                      # exercises/NN-*.ipynb -> exercises/student/
    python tools/make_student_copies.py --nbgrader release/  # also an nbgrader source version of each
    python tools/make_student_copies.py --check              # exit 1 if a committed copy is stale

The rules (solution markers, the check tag, the nbgrader metadata) are in
``memkit/classroom/copies.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from memkit.classroom.copies import stale_copies, write_copies

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "exercises"
STUDENT = EXERCISES / "student"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale copies; write nothing")
    parser.add_argument("--nbgrader", type=Path, metavar="DIR", help="also write nbgrader source versions to DIR")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale_copies(EXERCISES, STUDENT)
        for problem in problems:
            print(f"stale: {problem}", file=sys.stderr)
        if problems:
            print("run: python tools/make_student_copies.py", file=sys.stderr)
        return 1 if problems else 0
    for path in write_copies(EXERCISES, STUDENT, args.nbgrader):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
