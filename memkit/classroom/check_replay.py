"""Exercise 6, record once and replay with no key: the teacher's workflow, done by the student."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from ..agent import WorkerAgent
from ..db import MemoryDB
from ..errors import ReplayMismatchError
from ..llm import ReplayBackend
from ..manager import MemoryManager
from .course import LESSON, course_recording_path, lesson_backend, play_lesson
from .feedback import Checker, Feedback, run_checks

__all__ = ["record_and_replay"]

_UNRECORDED = "What colour are the walls?"


def _offline_replies() -> list[str]:
    with MemoryDB() as db:
        return play_lesson(WorkerAgent(MemoryManager(db, "offline")))


def record_and_replay(
    record: Callable[[str], int],
    replay_lesson: Callable[[str], Sequence[str]],
    safe_ask: Callable[[WorkerAgent, str], str],
) -> Feedback:
    """Check exercise 6: ``record(path) -> calls``, ``replay_lesson(path) -> replies``, ``safe_ask(agent, text)``."""

    def checks(c: Checker) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "lesson.jsonl")
            calls = c.call(record, path)
            c.require(
                Path(path).is_file(),
                "record(path) writes a recording",
                "record(path) wrote no file at the path it was given: RecordingBackend(backend, path) writes it",
            )
            lines = Path(path).read_text(encoding="utf-8").splitlines()
            header = json.loads(lines[0]) if lines else {}
            c.check(
                header.get("backend") == "offline",
                "the recording says it was made with the offline engine",
                f"the recording was made with {header.get('backend')!r}: wrap memkit.OfflineEngine() "
                "(it stands in for a real model here)",
            )
            expected = ReplayBackend(course_recording_path()).calls
            c.check(
                calls == len(lines) - 1 == expected,
                f"the whole lesson is recorded ({expected} calls) and record returns that count",
                f"record returned {calls!r} and the file holds {len(lines) - 1} calls; the lesson makes "
                f"{expected}: play every message of LESSON on a fresh MemoryDB, then return recorder.recorded",
            )
            replies = c.call(replay_lesson, path)
            c.check(
                list(replies) == _offline_replies(),
                "replaying gives the replies the lesson got when it was recorded",
                "replay_lesson(path) gave other replies: build a fresh MemoryDB and a MemoryManager on "
                "ReplayBackend(path), then send the LESSON messages in order",
            )
        with MemoryDB() as db:
            agent = WorkerAgent(MemoryManager(db, lesson_backend()))
            known = c.call(safe_ask, agent, LESSON[0])
            c.check(
                known == _offline_replies()[0],
                "safe_ask answers a recorded message as the agent does",
                f"safe_ask(agent, {LESSON[0]!r}) gave {known!r}: return agent.answer(text) when it works",
            )
            try:
                unknown = safe_ask(agent, _UNRECORDED)
            except ReplayMismatchError:
                c.check(
                    False,
                    "",
                    "safe_ask let the ReplayMismatchError through: catch memkit.ReplayMismatchError and "
                    "return a friendly text instead",
                )
            else:
                c.check(
                    isinstance(unknown, str) and bool(unknown.strip()),
                    "safe_ask answers a message the recording does not hold with a friendly text",
                    f"safe_ask returned {unknown!r} for a message that is not in the recording: return a text",
                )

    return run_checks("record once, replay with no key", checks)
