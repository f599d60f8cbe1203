"""Exercise 4, why is this question not answered? A memory that misses one question, and the checks.

The student finds the cell that holds the answer, writes a diagnosis in their own words (the check
looks for the evidence a diagnosis needs: the words the question and the cell do not share) and a
fix, a query rewrite, which the check measures on every question of the memory, before and after.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone

from ..agent import WorkerAgent
from ..db import MemoryDB
from ..manager import MemoryManager
from ..retrieval import query_terms
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

#: Reasons a question often goes unanswered: a list to think with, not to choose from.
DIAGNOSES: dict[str, str] = {
    "not-stored": "the answer never became a memory cell",
    "no-shared-words": "the cell is stored, but shares no word with the question, so full-text search cannot find it",
    "outranked": "the cell matches the question, but other cells rank above it, past the recall limit",
    "other-namespace": "the cell is stored in another namespace",
}
#: A diagnosis is a few sentences, not a label.
MIN_WORDS = 12


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
        text = reason if isinstance(reason, str) else ""
        said = {word.lower() for word in re.findall(r"\w+", text)}
        answer = db.get_cell(ids[_ANSWER])
        asked, stored = set(query_terms(QUESTION)), set(query_terms(answer.content if answer else ""))
        evidence = (asked - stored) | (stored - asked)
        c.check(
            len(text.split()) >= MIN_WORDS and bool(said & evidence),
            "your diagnosis names its evidence: the words the question and the cell do not share",
            f"diagnosis() returned {reason!r}: say in {MIN_WORDS} words or more what you saw, with the evidence: "
            "which words does the question search for, which words does the cell hold (query_terms shows the "
            "first; search_df(db, QUESTION) shows whether the cell matched at all)"
            if len(text.split()) < MIN_WORDS or not isinstance(reason, str)
            else "your diagnosis does not name the words that matter: compare query_terms(QUESTION) with the "
            "cell's words, and say which of them the other lacks",
        )
        c.info(f"memkit's reading: {DIAGNOSES['no-shared-words']}")
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
        before = after = 0
        for question, index in ((QUESTION, _ANSWER), *OTHER_QUESTIONS):
            again = c.call(rewrite, question)
            first = [hit.id for hit in db.search(str(again), limit=3) if hit.matched][:1]
            before += [hit.id for hit in db.search(question, limit=3) if hit.matched][:1] == [ids[index]]
            after += first == [ids[index]]
            if first != [ids[index]] and question != QUESTION:
                broken.append(question)
        total = 1 + len(OTHER_QUESTIONS)
        c.info(f"measured on all {total} questions: answer first for {before} before your fix, {after} after")
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
