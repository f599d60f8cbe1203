"""Exercise 2, a new cell type end to end: ``deadline`` cells, from extraction to search."""

from __future__ import annotations

import re
from collections.abc import Callable

from ..db import MemoryDB
from ..llm import Backend, OfflineEngine
from ..manager import MemoryManager
from ..prompts import answer_request, consolidate_request
from ..types import NewCell
from .feedback import Checker, Feedback, run_checks

__all__ = ["DATED", "UNDATED", "new_cell_type"]

NEW_TYPE = "deadline"
#: Said by the user: each states something due by a date.
DATED: tuple[str, ...] = (
    "The Halvorsen report is due on March 29.",
    "The cabinets must be finished before June 1.",
)
#: Said by the user: no date, so no deadline (stored as "User prefers oak ...").
UNDATED: tuple[str, ...] = ("I prefer oak cabinets over white lacquer.",)
_UNDATED_WORD = "oak"


def new_cell_type(open_memory: Callable[[], tuple[MemoryDB, MemoryManager]]) -> Feedback:
    """Check exercise 2: ``open_memory() -> (db, manager)`` stores dated statements as ``deadline`` cells."""

    def checks(c: Checker) -> None:
        opened = c.call(open_memory)
        c.require(
            isinstance(opened, tuple) and len(opened) == 2,
            "open_memory() returns (db, manager)",
            f"open_memory() returned {type(opened).__name__}: return the pair (db, manager)",
        )
        db, manager = opened
        c.require(
            isinstance(db, MemoryDB) and isinstance(manager, MemoryManager) and manager.db is db,
            "the manager writes to the database you opened",
            "return a MemoryDB and a MemoryManager built on it: MemoryManager(db, your_backend)",
        )
        c.require(
            NEW_TYPE in db.cell_types,
            f"the database accepts {NEW_TYPE!r} cells",
            f"MemoryDB refuses {NEW_TYPE!r} cells: open it with cell_types=(*memkit.CELL_TYPES, {NEW_TYPE!r})",
        )
        backend = manager.llm
        c.require(
            isinstance(backend, Backend) and not isinstance(backend, OfflineEngine),
            f"the manager uses your backend ({type(backend).__name__})",
            "the manager still uses the plain offline engine: pass your backend, MemoryManager(db, YourBackend())",
        )
        with c.student_code(f"{type(backend).__name__}.complete"):
            for text in (*DATED, *UNDATED):
                manager.update(text, "Noted.")
        prompts = [call.prompt for call in manager.calls.calls if call.task == "extract"]
        c.check(
            bool(prompts) and all(re.search(rf"[,(] ?{NEW_TYPE}\b", p) for p in prompts),  # listed among the types
            f"the extraction prompt offers the model the {NEW_TYPE!r} type",
            f"the extraction prompt does not list {NEW_TYPE!r}: it lists db.cell_types, so add the type there",
        )
        by_text = {cell.content: cell.cell_type for cell in db.list_cells()}
        dated = {text: by_text.get(text) for text in DATED}
        missing = [text for text, kind in dated.items() if kind != NEW_TYPE]
        c.check(
            not missing,
            f"statements with a date are stored as {NEW_TYPE!r} cells",
            f"{missing[0]!r} was stored as a {dated[missing[0]]!r} cell: in your backend's extract reply, "
            f"set cell_type to {NEW_TYPE!r} for cells that name a date or say 'due', 'by' or 'before'"
            if missing
            else "",
        )
        undated = {text: kind for text, kind in by_text.items() if _UNDATED_WORD in text}
        wrong = [text for text, kind in undated.items() if kind == NEW_TYPE]
        c.check(
            bool(undated) and not wrong,
            "statements without a date keep their type (the preference stays a preference)",
            f"{wrong[0]!r} became a {NEW_TYPE!r} too: relabel only the cells that name a date"
            if wrong
            else f"the cell for {UNDATED[0]!r} is missing: keep every cell of the extract reply",
        )
        found = [hit.content for hit in db.search("report due", cell_types=[NEW_TYPE])]
        c.check(
            found[:1] == [DATED[0]],
            f"search(..., cell_types=[{NEW_TYPE!r}]) finds the report deadline",
            f"db.search('report due', cell_types=[{NEW_TYPE!r}]) found {found!r}",
        )
        offline = OfflineEngine()
        others = [
            answer_request("When is the report due?", [], []),
            consolidate_request({"work": ("", [NewCell("work", "fact", 0.5, "Maya writes reports.")])}),
        ]
        with c.student_code(f"{type(backend).__name__}.complete"):
            changed = [r.task for r in others if backend.complete(r) != offline.complete(r)]
        c.check(
            not changed,
            "answer and consolidate requests pass through unchanged",
            f"your backend changed the reply to a {changed[0]!r} request: only rework 'extract' replies"
            if changed
            else "",
        )
        db.close()

    return run_checks(f"a new cell type, {NEW_TYPE!r}, end to end", checks)
