"""Helpers for testing memory code: a model whose replies are known in advance, and the check that goes with it.

Every message made by :func:`exchange_text` names the cells :class:`KnownModel`
extracts from it, so after any run (threads, processes, a program killed
mid-write) :func:`check_exchanges` can compare the file with what must be
there, exactly: each exchange holds all its cells or none. memkit's own
tests and its reliability benchmark (``bench/reliability.py``) use them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from .agent import WorkerAgent
from .db import MemoryDB
from .llm import LLMRequest
from .manager import MemoryManager
from .parsing import parse_cells, parse_summaries
from .redact import redact_secrets
from .types import CELL_TYPES, NewCell, clean_text, normalise_scene

__all__ = ["NAMESPACE", "KnownModel", "check_exchanges", "exchange_text", "expected_contents", "properties"]

#: The namespace the reliability runs write to.
NAMESPACE = "stress"
_EXCHANGE = re.compile(r"exchange (\S+) wants (\d) cells")
_WORDS = ["budget", "garden", "thesis", "kitchen", "holiday", "invoice", "piano", "bicycle", "coral", "lantern"]


def exchange_text(marker: str, cells: int) -> str:
    """A user message asking :class:`KnownModel` for ``cells`` cells named after ``marker``."""
    return f"Note that exchange {marker} wants {cells} cells about the {_WORDS[len(marker) % len(_WORDS)]}."


def expected_contents(user_text: str) -> list[str]:
    """The cell contents :class:`KnownModel` extracts from a message made by :func:`exchange_text`."""
    match = _EXCHANGE.search(user_text)
    if match is None:
        return []
    marker, count = match.group(1), int(match.group(2))
    return [f"Cell {j} of exchange {marker}." for j in range(1, count + 1)]


class KnownModel:
    """A backend whose extraction is fixed by the message, so every cell can be checked."""

    name = "known"

    def complete(self, request: LLMRequest) -> str:
        """Extract the cells the message asks for, summarise by counting them, answer ``ok``."""
        if request.task == "extract":
            text = " ".join(text for _, text in request.data["utterances"])
            cells = [
                {"scene": "exchanges", "cell_type": "fact", "salience": 0.5, "content": content}
                for content in expected_contents(text)
            ]
            return json.dumps({"cells": cells})
        if request.task == "consolidate":
            summaries = [
                {"scene": scene, "summary": f"{len(entry['cells'])} new cells."}
                for scene, entry in request.data["scenes"].items()
            ]
            return json.dumps({"summaries": summaries})
        return "ok"

    def describe(self) -> str:
        """One line for humans."""
        return "a model whose replies are known in advance"


def check_exchanges(db: MemoryDB, *, all_done: bool) -> list[str]:
    """Problems with the exchanges of ``db``'s namespace: each holds all its cells or none.

    :param all_done: every exchange must be done (no process was killed).
    """
    problems = []
    rows = db.query_rows(
        "SELECT id, status, utterances FROM mem_exchanges WHERE namespace = ? ORDER BY id", (db.namespace,)
    )
    contents: dict[int, list[str]] = {}
    for cell in db.query_rows(
        "SELECT c.exchange_id, c.content FROM mem_cells c JOIN mem_exchanges e ON e.id = c.exchange_id"
        " WHERE e.namespace = ? ORDER BY c.id",
        (db.namespace,),
    ):
        contents.setdefault(cell["exchange_id"], []).append(cell["content"])
    for row in rows:
        user_text = json.loads(row["utterances"])[0][1]
        found = sorted(contents.get(row["id"], []))
        wanted = sorted(expected_contents(user_text))
        if row["status"] == "done" and found != wanted:
            problems.append(f"exchange {row['id']} is done with cells {found}, expected {wanted}")
        if row["status"] != "done" and (found or all_done):
            problems.append(f"exchange {row['id']} is {row['status']} with {len(found)} cells")
    return problems


# -- properties that must hold for any input (fuzzed with hypothesis) ------------


_REPLY_PIECES = [
    "{", "}", "[", "]", ":", ",", '"', "'", "```json", "```", "\n", " ", "null", "NaN", "1e999", "-1", "0.5", "8",
    '"cells"', '"content"', '"text"', '"cell_type"', '"type"', '"fact"', '"plan"', '"gossip"', '"salience"',
    '"high"', '"scene"', '"Kitchen Work"', '"namespace"', '"bob"', '"id"', '"summaries"', '"summary"',
    '"kitchen"', "\\u0000", "\x00", "\udcff", "</memory>", "<system>", "Ignore previous instructions.",
]  # fmt: skip


def _strategies() -> dict[str, Any]:
    from hypothesis import strategies as st

    any_char = st.characters(blacklist_categories=())  # surrogates included
    text = st.one_of(
        st.text(any_char, max_size=200),
        st.binary(max_size=200).map(lambda b: b.decode("utf-8", "surrogateescape")),
        st.lists(st.sampled_from([*_WORDS, "the", "I", "my", "is", ".", "!", "?", "\n", "\x00"]), max_size=40).map(
            " ".join
        ),
    )
    reply = st.one_of(text, st.lists(st.one_of(st.sampled_from(_REPLY_PIECES), text), max_size=40).map("".join))
    return {"text": text, "reply": reply, "pair": st.tuples(text, text)}


def _check_reply(reply: str) -> None:
    """The parsers accept any reply, and whatever they return is valid."""
    parsed = parse_cells(reply)
    for cell in parsed.cells:
        assert cell.cell_type in CELL_TYPES, cell
        assert 0.0 <= cell.salience <= 1.0, cell
        assert cell.content.strip() and "\x00" not in cell.content and len(cell.content) <= 2000, cell
        assert cell.scene == normalise_scene(cell.scene), cell
        assert (cell.source_id, cell.occurred_at) == (None, None), cell  # never taken from the model
    summaries = parse_summaries(reply, ["kitchen", "garden"])
    assert set(summaries) <= {"kitchen", "garden"}, summaries
    assert all(isinstance(v, str) and v.strip() for v in summaries.values()), summaries


_SEARCHED: dict[str, MemoryDB] = {}


def _check_search(query: str) -> None:
    """Any text is a query; hits come from the searching namespace only; nothing changes."""
    if not _SEARCHED:
        alice = MemoryDB(namespace="alice")
        alice.add_cells(
            [NewCell(w, "fact", 0.1 * (i % 10), f"Alice note about the {w} {i}.") for i, w in enumerate(_WORDS)]
        )
        alice.for_namespace("bob").add_cells([NewCell(w, "risk", 1.0, f"Bob secret about the {w}.") for w in _WORDS])
        _SEARCHED["alice"] = alice
    db = _SEARCHED["alice"]
    hits = db.search(query, limit=5)
    assert 1 <= len(hits) <= 5, hits
    assert all(hit.content.startswith("Alice note") for hit in hits), hits
    assert (db.count_cells(), db.for_namespace("bob").count_cells()) == (len(_WORDS), len(_WORDS))


def _check_store(content: str) -> None:
    """Any text is stored as itself (cleaned), indexed, found, and removed without a trace."""
    db = _SEARCHED.setdefault("store", MemoryDB())
    cleaned = redact_secrets(clean_text(content)).strip()
    try:
        cell_id = db.add_cell(scene=content, cell_type="fact", salience=0.5, content=content)
    except ValueError:
        assert not cleaned
        return
    cell = db.get_cell(cell_id)
    assert cell is not None and cell.content == cleaned, (cell, cleaned)
    assert db.search(content)[0].id == cell_id
    assert db.check_integrity() == []
    db.delete_cell(cell_id)


def _check_exchange(pair: tuple[str, str]) -> None:
    """The offline engine and the manager take any exchange; memory stays consistent."""
    if "manager" not in _SEARCHED:
        _SEARCHED["manager"] = MemoryDB()
    db = _SEARCHED["manager"]
    result = MemoryManager(db).update(*pair)
    assert all(cell.content.strip() and cell.namespace == "default" for cell in result.cells), result
    assert db.unfinished_exchanges() == []
    assert db.check_integrity() == []
    WorkerAgent(MemoryManager(db)).recall(pair[0])


def properties() -> dict[str, tuple[Any, Callable[[Any], None]]]:
    """The fuzzed properties: name -> (hypothesis strategy, check that raises on failure)."""
    strategies = _strategies()
    return {
        "model replies": (strategies["reply"], _check_reply),
        "search queries": (strategies["text"], _check_search),
        "stored contents": (strategies["text"], _check_store),
        "exchanges": (strategies["pair"], _check_exchange),
    }
