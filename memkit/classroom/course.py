"""The recorded course lesson that students replay with no key.

The lesson is a short chat with the agent (:data:`LESSON`). It was recorded
against the offline engine (the file's header says so), so anyone can check
and re-make it; a teacher records the same lesson against a real model with
:func:`record_lesson` and hands the file out.

>>> from memkit.classroom.course import lesson_backend, play_lesson
>>> import memkit
>>> db = memkit.MemoryDB()
>>> agent = memkit.WorkerAgent(memkit.MemoryManager(db, lesson_backend()))
>>> play_lesson(agent)[-1]
'From memory: A carpenter called Tomas is building the cabinets.'
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..agent import WorkerAgent
from ..connection import ManualClock
from ..datasets import load_course_conversation
from ..db import MemoryDB
from ..llm import Backend, OfflineEngine, RecordingBackend, ReplayBackend
from ..manager import MemoryManager

__all__ = [
    "COURSE_RECORDING",
    "LESSON",
    "SixWeeks",
    "course_recording_path",
    "lesson_backend",
    "play_lesson",
    "record_lesson",
    "six_weeks",
]

#: The file name of the course recording, in ``memkit/data``.
COURSE_RECORDING = "course_recording.jsonl"

#: What the student says to the agent in the recorded lesson, in order.
LESSON: tuple[str, ...] = (
    "I'm renovating the kitchen in my flat in Leipzig. The budget is 12,000 euros, appliances included.",
    "A carpenter called Tomas is building the cabinets, and I want white lacquer fronts.",
    "The old kitchen gets torn out on March 18.",
    "What is the budget for the kitchen?",
    "Who is building the cabinets?",
)

_OFFLINE_NOTE = (
    "Recorded against memkit's offline engine, not a real model: re-make it with "
    "python tools/record_course.py. A teacher records the same lesson with a real model "
    "with memkit.classroom.course.record_lesson(path, backend)."
)


def course_recording_path() -> Path:
    """Where the course recording is installed."""
    return Path(str(resources.files("memkit") / "data" / COURSE_RECORDING))


def lesson_backend() -> ReplayBackend:
    """A backend that answers the lesson from the course recording: no key, no network."""
    return ReplayBackend(course_recording_path())


def play_lesson(agent: WorkerAgent) -> list[str]:
    """Send every message of :data:`LESSON` to ``agent``; return its replies."""
    return [agent.answer(message) for message in LESSON]


def record_lesson(path: str | os.PathLike[str], backend: Backend | None = None, *, note: str | None = None) -> Path:
    """Play the lesson against ``backend`` (default: the offline engine), recording every call to ``path``.

    The recording is made on a fresh in-memory database, so it holds exactly
    the calls a student's fresh notebook will make. An existing file is replaced.
    """
    inner = backend if backend is not None else OfflineEngine()
    default_note = _OFFLINE_NOTE if isinstance(inner, OfflineEngine) else "The memkit course lesson."
    recorder = RecordingBackend(inner, path, mode="w", note=default_note if note is None else note)
    with MemoryDB() as db:
        play_lesson(WorkerAgent(MemoryManager(db, recorder)))
    return Path(path)


@dataclass
class SixWeeks:
    """The course conversation's memory on its own clock, as the chapters on evolving memory start."""

    db: MemoryDB
    manager: MemoryManager
    clock: ManualClock


def six_weeks(backend: Backend | str = "offline") -> SixWeeks:
    """The course conversation ingested session by session, the clock set to each session's start.

    Chapter 8 writes this loop out; the chapters after it start from here. The
    clock stays at the last session's start: set it to let time pass.
    """
    course = load_course_conversation()
    clock = ManualClock(course.messages[0].occurred_at or "2024-03-04T19:00:00")
    db = MemoryDB(clock=clock)
    manager = MemoryManager(db, backend)
    for session in course.sessions():
        clock.set(session[0].occurred_at or clock())
        manager.ingest(session, progress=False)
    return SixWeeks(db, manager, clock)
