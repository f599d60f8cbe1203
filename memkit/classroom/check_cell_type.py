"""Exercise 2, a new cell type end to end: ``deadline`` cells, from extraction to search.

A model labels a cell by what the prompt tells it the types mean. The student teaches the model a
new type by changing the request, not by relabelling its reply: a backend that wraps the model
adds a definition of ``deadline`` to the extraction prompt, and the database offers the type in
the reply's schema. :class:`ReadingModel` stands in for a model that does what its prompt says: it
extracts as the offline engine does, then uses any new type the prompt defines, for the cells that
fit the definition, and only if the schema allows the type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from ..db import MemoryDB
from ..llm import Backend, LLMRequest, OfflineEngine
from ..manager import MemoryManager
from ..prompts import answer_request, consolidate_request
from ..types import CELL_TYPES, NewCell
from .feedback import Checker, Feedback, run_checks

__all__ = ["DATED", "UNDATED", "ReadingModel", "new_cell_type"]

NEW_TYPE = "deadline"
#: Said by the user: each states something due by a date.
DATED: tuple[str, ...] = (
    "The Halvorsen report is due on March 29.",
    "The cabinets must be finished before June 1.",
)
#: Said by the user: no date, so no deadline (stored as "User prefers oak ...").
UNDATED: tuple[str, ...] = ("I prefer oak cabinets over white lacquer.",)
_UNDATED_WORD = "oak"
_DATE = re.compile(
    r"\b(due|before|until|by \w+ \d|january|february|march|april|may|june|july|august|september|october|november"
    r"|december|\d{1,2}/\d{1,2})\b",
    re.IGNORECASE,
)


def _definition(request: LLMRequest, cell_type: str) -> str | None:
    """What the system message says ``cell_type`` means, or None when it does not define it."""
    system = request.messages[0].content if request.messages else ""
    for line in system.splitlines():
        found = re.match(rf"^\W*{re.escape(cell_type)}\W*(?::|=|-|means|is)\s*(.+)$", line.strip(), re.IGNORECASE)
        if found:
            return found.group(1)
    return None


def _offered(request: LLMRequest) -> list[str]:
    schema = (request.json_schema or {}).get("schema", {})
    item = schema.get("properties", {}).get("cells", {}).get("items", {})
    return list(item.get("properties", {}).get("cell_type", {}).get("enum", []))


class ReadingModel:
    """A stand-in for a model that reads its prompt: extraction as the offline engine does it, plus new
    cell types the system message defines ("deadline: something due by a date"), for the cells that name
    a date, when the reply's schema offers the type. It keeps every extract request and reply."""

    name = "reading-model"

    def __init__(self) -> None:
        self.inner = OfflineEngine()
        self.extracts: list[tuple[LLMRequest, str]] = []

    def describe(self) -> str:
        return "a model that does what its prompt says (the offline engine, plus the types the prompt defines)"

    def complete(self, request: LLMRequest) -> str:
        reply = self.inner.complete(request)
        if request.task == "extract":
            taught = [
                kind
                for kind in _offered(request)
                if kind not in CELL_TYPES and re.search(r"date|due|deadline", _definition(request, kind) or "", re.I)
            ]
            if taught:
                cells = json.loads(reply)["cells"]
                for cell in cells:
                    if _DATE.search(cell["content"]):
                        cell["cell_type"] = taught[0]
                reply = json.dumps({"cells": cells})
            self.extracts.append((request, reply))
        return reply


def new_cell_type(open_memory: Callable[[Backend], tuple[MemoryDB, MemoryManager]]) -> Feedback:
    """Check exercise 2: ``open_memory(model) -> (db, manager)`` stores dated statements as ``deadline`` cells."""

    def checks(c: Checker) -> None:
        model = ReadingModel()
        opened = c.call(open_memory, model)
        c.require(
            isinstance(opened, tuple) and len(opened) == 2,
            "open_memory(model) returns (db, manager)",
            f"open_memory(model) returned {type(opened).__name__}: return the pair (db, manager)",
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
            "the manager still uses the plain offline engine: pass your backend, MemoryManager(db, YourBackend(model))",
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
        sent = [request for request, _ in model.extracts]
        c.require(
            bool(sent),
            "your backend passes the extract requests on to the model",
            "the model never received an extract request: your backend must call the model it wraps "
            "(self.inner.complete(request))",
        )
        c.check(
            all(_definition(request, NEW_TYPE) for request in sent),
            f"the extraction prompt tells the model what a {NEW_TYPE!r} is",
            f"the model was never told what a {NEW_TYPE!r} is: add a line to the extract request's system message "
            f"that defines it, e.g. '{NEW_TYPE}: something due by a date; keep the date in the content'",
        )
        replies = [reply for _, reply in model.extracts]
        returned = [call.response for call in manager.calls.calls if call.task == "extract"]
        c.check(
            returned == replies,
            "your backend hands the model's reply back as it came",
            "your backend changed the model's extract reply: relabelling the reply with a rule does the model's "
            "job behind its back. Change the request (the prompt, the schema) and let the model decide",
        )
        by_text = {cell.content: cell.cell_type for cell in db.list_cells()}
        dated = {text: by_text.get(text) for text in DATED}
        missing = [text for text, kind in dated.items() if kind != NEW_TYPE]
        c.check(
            not missing,
            f"statements with a date are stored as {NEW_TYPE!r} cells",
            f"{missing[0]!r} was stored as a {dated[missing[0]]!r} cell: the model uses a type the prompt defines "
            f"and the schema offers (db.cell_types): say that a {NEW_TYPE} is something due by a date"
            if missing
            else "",
        )
        undated = {text: kind for text, kind in by_text.items() if _UNDATED_WORD in text}
        wrong = [text for text, kind in undated.items() if kind == NEW_TYPE]
        c.check(
            bool(undated) and not wrong,
            "statements without a date keep their type (the preference stays a preference)",
            f"{wrong[0]!r} became a {NEW_TYPE!r} too: define the type by a date, so that a statement "
            "without one is left as it was"
            if wrong
            else f"the cell for {UNDATED[0]!r} is missing: keep every cell of the extract reply",
        )
        found = [hit.content for hit in db.search("report due", cell_types=[NEW_TYPE])]
        c.check(
            found[:1] == [DATED[0]],
            f"search(..., cell_types=[{NEW_TYPE!r}]) finds the report deadline",
            f"db.search('report due', cell_types=[{NEW_TYPE!r}]) found {found!r}",
        )
        offline = ReadingModel()
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
