"""Re-make the course recording (``memkit/data/course_recording.jsonl``) against the offline engine.

    python tools/record_course.py

Run it after changing a prompt or the offline engine: ``tests/test_course.py``
fails while the shipped recording no longer matches what the lesson asks.
"""

from __future__ import annotations

from pathlib import Path

from memkit.classroom.course import COURSE_RECORDING, record_lesson

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    path = record_lesson(ROOT / "memkit" / "data" / COURSE_RECORDING)
    print(f"recorded {sum(1 for _ in path.open(encoding='utf-8')) - 1} calls to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
