"""Exercise 5, a decay rule: old memories weigh less when recalling, without rewriting the database."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from ..db import MemoryDB
from ..types import Hit, NewCell
from .feedback import Checker, Feedback, run_checks

__all__ = ["NOW", "decay_memory", "decay_rule"]

#: The moment the exercise recalls at.
NOW = datetime(2024, 4, 10, 12, 0, tzinfo=timezone.utc)

#: (occurred_at, cell): Maya changed her mind about the cabinet fronts.
_CELLS: tuple[tuple[str, NewCell], ...] = (
    ("2024-03-04T19:05:00", NewCell("kitchen", "preference", 0.9, "Maya wants white lacquer fronts on the cabinets.")),
    ("2024-03-04T19:09:00", NewCell("kitchen", "fact", 0.6, "The old kitchen gets torn out on March 18.")),
    ("2024-04-08T18:20:00", NewCell("kitchen", "preference", 0.5, "Maya now prefers oak fronts on the cabinets.")),
)
_QUESTION = "Which cabinet fronts did Maya choose?"

Decayed = Callable[..., float]
Recall = Callable[..., Sequence[Hit]]


def decay_memory() -> MemoryDB:
    """A memory where an old preference was replaced by a newer one."""
    db = MemoryDB(clock=lambda: NOW)
    for when, cell in _CELLS:
        db.add_cells([NewCell(cell.scene, cell.cell_type, cell.salience, cell.content, occurred_at=when)])
    return db


def _close(a: object, b: float) -> bool:
    return isinstance(a, (int, float)) and math.isclose(float(a), b, rel_tol=1e-6, abs_tol=1e-9)


def decay_rule(decayed: Decayed, recall_with_decay: Recall) -> Feedback:
    """Check exercise 5: ``decayed(weight, age_days, half_life_days=30, floor=0.1)`` and
    ``recall_with_decay(db, query, now, limit=5)``."""

    def checks(c: Checker) -> None:
        cases: list[tuple[tuple[float, float], dict[str, Any], float, str]] = [
            ((0.8, 0.0), {}, 0.8, "a brand-new memory keeps its weight"),
            ((0.8, 30.0), {}, 0.4, "after one half-life the weight halves"),
            ((0.8, 60.0), {}, 0.2, "after two half-lives it is a quarter"),
            ((0.8, 15.0), {"half_life_days": 15.0}, 0.4, "the half-life is a parameter"),
            ((0.8, 3650.0), {}, 0.1, "it never falls below the floor"),
            ((0.05, 10.0), {}, 0.05, "a weight already below the floor is left as it is, never raised"),
        ]
        for args, kwargs, expected, meaning in cases:
            got = c.call(decayed, *args, **kwargs)
            shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
            c.check(
                _close(got, expected),
                f"decayed({shown}) = {expected}: {meaning}",
                f"decayed({shown}) gave {got!r}, not {expected}: {meaning} (weight * 0.5 ** (age / half-life))",
            )
        db = decay_memory()
        before = [(cell.id, cell.salience) for cell in db.list_cells()]
        hits = c.call(recall_with_decay, db, _QUESTION, NOW, limit=2)
        c.require(
            isinstance(hits, (list, tuple)) and all(isinstance(h, Hit) for h in hits),
            "recall_with_decay returns hits",
            f"recall_with_decay returned {type(hits).__name__}: return a list of memkit.Hit, best first",
        )
        contents = [hit.content for hit in hits]
        c.check(
            contents[:1] == [_CELLS[2][1].content],
            "the newer preference (oak) is recalled before the old one (white lacquer)",
            f"recall_with_decay recalled {contents!r}: weigh each hit's score by decayed(1.0, age in days), "
            "the age counted from occurred_at (else created_at) to now, and sort again",
        )
        c.check(len(hits) <= 2, "it respects limit", f"limit=2 gave {len(hits)} hits")
        scores = [hit.score for hit in hits]
        c.check(
            scores == sorted(scores, reverse=True),
            "hits come best first, by their decayed score",
            f"the scores {scores!r} are not in decreasing order: sort by the decayed score",
        )
        c.check(
            [(cell.id, cell.salience) for cell in db.list_cells()] == before,
            "the database is unchanged (decay applies when ranking)",
            "recall_with_decay changed stored saliences: decay when ranking instead, "
            "or running it twice would decay the same memory twice",
        )
        db.close()

    return run_checks("a decay rule for recall", checks)
