"""Exercise 10, retire what a cancelled plan leaves behind: the cells that follow from it.

When a plan is cancelled, memkit supersedes it; the tasks and risks that follow from the plan stay
current, and recall keeps offering "reserve the mountain huts" for a hike that will not happen.
The student writes ``retire_dependents(db, plan_id)``: follow the links from the cancelled plan to
the cells that depend on it (``follows-from`` points from the dependent cell to what it follows
from; ``cause`` from the cause to its effect), transitively, and archive them with a reason. A
cell that only shares the plan's subject does not depend on it and stays.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from ..db import MemoryDB
from ..history import events
from ..lifecycle import supersede
from ..links import link
from .feedback import Checker, Feedback, run_checks

__all__ = ["cancelled_plan_memory", "retire_dependents"]

_NOW = datetime(2024, 4, 20, 9, 0, tzinfo=timezone.utc)
#: The memory, as (cell type, content); links and the cancellation are added by cancelled_plan_memory.
CELLS: tuple[tuple[str, str], ...] = (
    ("plan", "Maya is hiking in the Dolomites with her running club from June 14 to 16."),
    ("task", "Reserve beds in the mountain huts by April."),
    ("task", "Buy new hiking boots before June."),
    ("task", "Pay the 60 euro deposit for the huts."),
    ("fact", "The running club meets on Thursday evenings."),
    ("plan", "Maya flies to Lisbon with her sister on May 10."),
    ("decision", "Maya cancelled the Dolomites hike because of her knee."),
)
_PLAN, _DEPENDENT, _KEPT, _CANCELLATION = 1, (2, 3, 4), (5, 6), 7


def cancelled_plan_memory() -> MemoryDB:
    """A memory whose plan (cell 1) was cancelled (cell 7), with the cells that follow from it."""
    db = MemoryDB(clock=lambda: _NOW)
    for cell_type, content in CELLS:
        db.add_cell(scene="plans", cell_type=cell_type, salience=0.6, content=content)
    link(db, 2, 1, "follows-from", reason="the huts are for the hike")
    link(db, 3, 1, "follows-from", reason="the boots are for the hike")
    link(db, 2, 4, "cause", reason="reserving the huts asks for a deposit")
    link(db, 5, 1, "same-subject", reason="the running club")
    supersede(db, _PLAN, _CANCELLATION, reason="the hike is cancelled")
    return db


def retire_dependents(my_retire: Callable[[MemoryDB, int], object]) -> Feedback:
    """Check exercise 10: ``my_retire(db, plan_id) -> ids archived``."""

    def checks(c: Checker) -> None:
        db = cancelled_plan_memory()
        stored = db.count_cells(include_history=True)
        returned = c.call(my_retire, db, _PLAN)
        archived = {cell.id for cell in db.list_cells(include_history=True) if cell.archived_at}
        c.require(
            db.count_cells(include_history=True) == stored,
            "nothing was deleted",
            "cells were deleted: retire them with memkit.lifecycle.archive, which keeps them as history",
        )
        missed = sorted(set(_DEPENDENT) - archived)
        c.check(
            not missed,
            "every cell that follows from the plan is archived, the deposit two links away too",
            f"cell {missed[0]} ({db.get_cell(missed[0]).content!r}) still stands"  # type: ignore[union-attr]
            + (
                ": it follows from the plan through another cell (a cause link): follow the links again from "
                "each cell you retire"
                if missed[0] == 4
                else ": it follows from the plan (memkit.links.links_of(db, plan_id) lists its links)"
            )
            if missed
            else "",
        )
        wrong = sorted(archived & {*_KEPT, _CANCELLATION})
        c.check(
            not wrong,
            "cells that only share the plan's subject, or have nothing to do with it, stay",
            f"cell {wrong[0]} ({db.get_cell(wrong[0]).content!r}) was archived: "  # type: ignore[union-attr]
            + (
                "it only shares the plan's subject (same-subject) and does not depend on it"
                if wrong[0] == 5
                else "the cancellation is what memory must keep"
                if wrong[0] == _CANCELLATION
                else "it has no link to the plan"
            )
            if wrong
            else "",
        )
        reasons = {e.key: e.reason for e in events(db) if e.action == "archive"}
        c.check(
            bool(reasons) and all(reason.strip() not in ("", "archived") for reason in reasons.values()),
            "the history says why each cell was retired",
            "give archive a reason (archive(db, ids, reason=...)): the history should say the plan was cancelled",
        )
        c.check(
            isinstance(returned, list | tuple) and sorted(returned) == sorted(archived),
            "it returns the ids it archived",
            f"it returned {returned!r}: return the ids archive() gave back",
        )
        again = c.call(my_retire, db, _PLAN)
        c.check(
            not again and {cell.id for cell in db.list_cells(include_history=True) if cell.archived_at} == archived,
            "running it again retires nothing more",
            f"running it again returned {again!r}: a retired cell is no longer current, leave it",
        )
        db.close()

    return run_checks("retire what a cancelled plan leaves behind", checks)
