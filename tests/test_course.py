"""The recorded course lesson: shipped, marked as offline, current, and replayable with no key."""

from __future__ import annotations

import json
from pathlib import Path

from memkit import MemoryDB, MemoryManager, OfflineEngine, WorkerAgent
from memkit.classroom.course import LESSON, course_recording_path, lesson_backend, play_lesson, record_lesson

REPLIES = [
    "Noted: User is renovating the kitchen in User's flat in Leipzig. The budget is 12,000 euros. Appliances included.",
    "Noted: A carpenter called Tomas is building the cabinets. User wants white lacquer fronts.",
    "Noted: The old kitchen gets torn out on March 18.",
    "From memory: The budget is 12,000 euros. Appliances included.",
    "From memory: A carpenter called Tomas is building the cabinets.",
]


def test_the_shipped_recording_is_marked_as_made_with_the_offline_engine() -> None:
    header = json.loads(course_recording_path().read_text(encoding="utf-8").splitlines()[0])
    assert header["backend"] == "offline"
    assert header["description"] == OfflineEngine().describe()
    assert header["note"].startswith("Recorded against memkit's offline engine, not a real model")


def test_the_shipped_recording_is_current(tmp_path: Path) -> None:
    """Fails after a prompt or the offline engine changed: run python tools/record_course.py."""
    fresh = record_lesson(tmp_path / "lesson.jsonl")
    assert fresh.read_text(encoding="utf-8") == course_recording_path().read_text(encoding="utf-8")


def test_students_replay_the_whole_lesson_with_no_key() -> None:
    replay = lesson_backend()
    with MemoryDB() as db:
        assert play_lesson(WorkerAgent(MemoryManager(db, replay))) == REPLIES
    assert replay.unused == 0
    assert len(LESSON) == len(REPLIES)


def test_replay_gives_what_the_offline_engine_gives() -> None:
    with MemoryDB() as db:
        assert play_lesson(WorkerAgent(MemoryManager(db, OfflineEngine()))) == REPLIES
