"""Exercise 4, why is this question not answered? A memory that misses one question, and the checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from ..agent import WorkerAgent
from ..db import MemoryDB
from ..manager import MemoryManager
from .feedback import Checker, Feedback, run_checks

__all__ = ["DIAGNOSES", "FACTS", "QUESTION", "debugging_memory", "why_not_answered"]

#: What the user told the agent, one exchange each.
FACTS: tuple[str, ...] = (
    "The kitchen budget is 12,000 euros.",
    "A carpenter called Tomas is building the cupboards, with oak fronts.",
    "The plumber comes on April 9 to move the sink pipes.",
    "Maya's sister Ines visits in June.",
)
#: The question memory does not answer.
QUESTION = "Who is making the kitchen cabinets?"
#: Other questions, and the fact (by position in FACTS) that answers each: a fix must keep them answered.
OTHER_QUESTIONS: tuple[tuple[str, int], ...] = (
    ("What is the kitchen budget?", 0),
    ("When does the plumber come?", 2),
    ("When does Ines visit?", 3),
)
_ANSWER = 1
_NOW = datetime(2024, 4, 10, 12, 0, tzinfo=timezone.utc)

#: The possible reasons a question goes unanswered.
DIAGNOSES: dict[str, str] = {
    "not-stored": "the answer never became a memory cell",
    "no-shared-words": "the cell is stored, but shares no word with the question, so full-text search cannot find it",
    "outranked": "the cell matches the question, but other cells rank above it, past the recall limit",
    "other-namespace": "the cell is stored in another namespace",
}
_HINTS = {
    "not-stored": "cells_df(db) shows a cell that holds the answer: it was stored",
    "outranked": "search_df(db, QUESTION) does not list that cell at all: it is not outranked, it is not matched",
    "other-namespace": "cells_df(db) lists the cell in this very namespace",
}


def debugging_memory() -> tuple[MemoryDB, WorkerAgent]:
    """A fresh memory of :data:`FACTS` (offline engine) and an agent on it."""
    db = MemoryDB(clock=lambda: _NOW)  # a fixed clock: the same scores every run
    manager = MemoryManager(db, "offline")
    for fact in FACTS:
        manager.update(fact, "Noted.")
    return db, WorkerAgent(manager, recall_limit=3)


def _cell_ids(db: MemoryDB) -> list[int]:
    by_content = {cell.content: cell.id for cell in db.list_cells()}
    return [by_content.get(fact, -1) for fact in FACTS]


def why_not_answered(
    answer_cell: Callable[[MemoryDB], int], diagnosis: Callable[[], str], rewrite: Callable[[str], str]
) -> Feedback:
    """Check exercise 4: the cell that answers, why it is missed, and a query rewrite that finds it."""

    def checks(c: Checker) -> None:
        db, _agent = debugging_memory()
        ids = _cell_ids(db)
        chosen = c.call(answer_cell, db)
        cell = db.get_cell(chosen) if isinstance(chosen, int) else None
        c.check(
            chosen == ids[_ANSWER],
            f"cell #{ids[_ANSWER]} holds the answer",
            f"cell #{chosen} says {cell.content!r}: that does not say who makes the cabinets; look through cells_df(db)"
            if cell is not None
            else f"answer_cell returned {chosen!r}, which is no cell id: read the id column of cells_df(db)",
        )
        reason = c.call(diagnosis)
        c.check(
            reason == "no-shared-words",
            f"the diagnosis is right: {DIAGNOSES['no-shared-words']}",
            f"not {reason!r}: {_HINTS[reason]}"
            if reason in _HINTS
            else f"diagnosis() returned {reason!r}; return one of {', '.join(DIAGNOSES)}",
        )
        query = c.call(rewrite, QUESTION)
        c.require(
            isinstance(query, str),
            "rewrite returns a query string",
            f"rewrite returned {type(query).__name__}: return the query text",
        )
        found = [hit.id for hit in db.search(query, limit=3) if hit.matched]
        c.check(
            found[:1] == [ids[_ANSWER]],
            f"rewrite({QUESTION!r}) recalls cell #{ids[_ANSWER]} first",
            f"rewrite({QUESTION!r}) gave {query!r}, which recalls {found!r}: add the words the cell itself uses",
        )
        broken = []
        for question, index in OTHER_QUESTIONS:
            again = c.call(rewrite, question)
            first = [hit.id for hit in db.search(str(again), limit=3) if hit.matched][:1]
            if first != [ids[index]]:
                broken.append(question)
        c.check(
            not broken,
            "the other questions still recall their answers first",
            f"after your rewrite, {broken[0]!r} no longer recalls its answer first: only add words, "
            "and only for the question's own words"
            if broken
            else "",
        )
        db.close()

    return run_checks("why is this question not answered?", checks)
