"""Feedback for an exercise: what passed, what is not there yet, and what to do about it.

A check runs the student's code through a :class:`Checker`, which records
one line per point checked and turns anything the student's code raises
into a friendly line instead of a traceback. The stub of a student copy
(``raise NotImplementedError``) reads as "not written yet".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["Checker", "Feedback", "Point", "run_checks"]

T = TypeVar("T")

PASSED = "✔"
FAILED = "✘"
INFO = "·"


@dataclass(frozen=True)
class Point:
    """One thing checked: passed or not, and what it means for the student."""

    passed: bool
    message: str
    info: bool = False


@dataclass(frozen=True)
class Feedback:
    """The outcome of one exercise's checks; shows as friendly text in a notebook."""

    exercise: str
    points: tuple[Point, ...]

    @property
    def passed(self) -> bool:
        """True when every point checked passed."""
        graded = [p for p in self.points if not p.info]
        return bool(graded) and all(p.passed for p in graded)

    def __str__(self) -> str:
        graded = [p for p in self.points if not p.info]
        done = sum(p.passed for p in graded)
        verdict = f"{PASSED} passed" if self.passed else f"{FAILED} not yet"
        lines = [f"{verdict}: {self.exercise} ({done} of {len(graded)} checks)"]
        for point in self.points:
            mark = INFO if point.info else PASSED if point.passed else FAILED
            lines.append(f"  {mark} {point.message}")
        return "\n".join(lines)

    __repr__ = __str__

    def require(self) -> Feedback:
        """Return self if passed; otherwise raise ``AssertionError`` with the feedback (for autograders)."""
        if not self.passed:
            raise AssertionError(str(self))
        return self


class _Stop(Exception):
    """The rest of the checks cannot run (the student's code is missing or failed)."""


class Checker:
    """Collects the points of one exercise's checks."""

    def __init__(self) -> None:
        self.points: list[Point] = []

    def check(self, passed: bool, good: str, bad: str) -> bool:
        """Record one point: ``good`` is shown if it passed, ``bad`` (which says the fix) if not."""
        self.points.append(Point(bool(passed), good if passed else bad))
        return bool(passed)

    def require(self, passed: bool, good: str, bad: str) -> None:
        """Like :meth:`check`, but stop checking when it fails (later checks depend on it)."""
        if not self.check(passed, good, bad):
            raise _Stop

    def info(self, message: str) -> None:
        """Record a line that informs and is not graded."""
        self.points.append(Point(True, message, info=True))

    def call(self, function: Callable[..., T], *args: Any, name: str | None = None, **kwargs: Any) -> T:
        """Call the student's ``function``; a stub or a crash becomes a failed point and stops the checks."""
        label = name or str(getattr(function, "__name__", "your function"))
        if not callable(function):
            self.points.append(Point(False, f"{label} is not a function: define it with def {label}(...):"))
            raise _Stop
        with self.student_code(label):
            return function(*args, **kwargs)
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def student_code(self, label: str) -> Iterator[None]:
        """Run a block of the student's code, turning its exceptions into feedback."""
        try:
            yield
        except NotImplementedError:
            self.points.append(
                Point(False, f"{label} is not written yet: replace `raise NotImplementedError` with your code")
            )
            raise _Stop from None
        except _Stop:
            raise
        except Exception as exc:
            self.points.append(
                Point(False, f"{label} raised {type(exc).__name__}: {exc} (fix it, run its cell, then this one)")
            )
            raise _Stop from None


def run_checks(exercise: str, checks: Callable[[Checker], None]) -> Feedback:
    """Run ``checks`` and return the :class:`Feedback`; a stopped check keeps the points made so far."""
    checker = Checker()
    with suppress(_Stop):
        checks(checker)
    return Feedback(exercise, tuple(checker.points))
