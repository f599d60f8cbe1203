"""Erasure: take a message out of memory for good, as the right to erasure asks.

Forgetting (:mod:`memkit.forgetting`) archives; :meth:`MemoryDB.delete_cell`
deletes a cell but records it in the history, so :func:`memkit.history.undo`
can bring it back. Neither is erasure. A message someone asks to have erased
lives in more places than its cells:

- the cells made from it, their links and their recall counts;
- the history events that hold those cells and links, before and after each change;
- the exchange log (``mem_exchanges``), which keeps every message as it came;
- the *context* of the cells made from the messages around it (the words around a cell);
- the summaries of the scenes it was folded into, and their earlier versions in the history.

:func:`erase_message` removes it from all of them: cells, links, recalls and their events
deleted; the exchange deleted (the other cells of a longer exchange keep their content and
lose the reference); the message's text cut out of every context; the summaries of its
scenes rewritten without its cells, and the earlier versions of those summaries dropped
from the history. The pages SQLite frees are overwritten (``secure_delete``) and the
full-text index is merged, so no entry points at the erased cells. It cannot be undone.

:func:`traces` says where a text still appears, table, column and row, so an erasure
can be checked. The words of the full-text index are shared with other cells and are
not a trace of a message; a model's paraphrase of it elsewhere is not found by a search
for its text.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .claims import new_owner
from .errors import DatabaseError, MemkitError
from .llm.base import Backend, CallLog
from .llm.offline import OfflineEngine
from .summaries import owe, settle

if TYPE_CHECKING:
    from .db import MemoryDB

__all__ = ["Erasure", "erase_message", "traces"]

#: Where memkit keeps text, as (table, column, key column): what :func:`traces` reads.
_TEXT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("mem_cells", "content", "id"),
    ("mem_cells", "context", "id"),
    ("mem_scenes", "summary", "scene"),
    ("mem_exchanges", "utterances", "id"),
    ("mem_links", "reason", "id"),
    ("mem_history", "before", "id"),
    ("mem_history", "after", "id"),
    ("mem_history", "reason", "id"),
    ("mem_owed_summaries", "retired", "scene"),
)


@dataclass(frozen=True)
class Erasure:
    """What :func:`erase_message` removed."""

    source_id: str
    cells: tuple[int, ...]
    links: int
    events: int
    exchanges: tuple[int, ...]
    contexts: int
    scenes: tuple[str, ...]
    #: Whether the file was rebuilt so that no old copy of the text is left in it (False in memory).
    compacted: bool = False


def _texts(db: MemoryDB, source_id: str) -> list[str]:
    """The message's own text, as the exchange log holds it (with and without its speaker)."""
    found: list[str] = []
    for row in db.sql(
        "SELECT utterances FROM mem_exchanges WHERE namespace = ? AND source_id = ?", (db.namespace, source_id)
    ):
        for speaker, text in json.loads(row["utterances"]):  # [[speaker, text], ...]
            found += [f"{speaker}: {text}", text]
    return list(dict.fromkeys(found))


def erase_message(
    db: MemoryDB, source_id: str, *, backend: Backend | None = None, calls: CallLog | None = None
) -> Erasure:
    """Erase the message ``source_id`` and everything memory made of it, with no way back.

    :param backend: what rewrites the summaries of its scenes (the offline engine if None).
    :raises MemkitError: nothing in this namespace comes from that message.
    """
    if db.dialect != "sqlite":
        raise MemkitError(
            "erase_message works on a SQLite file; on the PostgreSQL store, delete the message's cells "
            "with db.delete_cell and run VACUUM FULL on the server (nothing was changed)"
        )
    cells = [c for c in db.list_cells(include_history=True) if c.source_id == source_id]
    texts = _texts(db, source_id)
    if not cells and not texts:
        raise MemkitError(f"nothing in namespace {db.namespace!r} comes from message {source_id!r}")
    ids = [c.id for c in cells]
    scenes = tuple(dict.fromkeys(c.scene for c in cells))
    marks = ",".join("?" * len(ids))
    owner = new_owner()
    with db.transaction() as conn:
        conn.execute("PRAGMA secure_delete = ON")
        links = [
            row[0]
            for row in conn.execute(
                f"SELECT id FROM mem_links WHERE namespace = ? AND (source IN ({marks}) OR target IN ({marks}))",
                (db.namespace, *ids, *ids),
            )
        ]
        keys = [("cell", str(i)) for i in ids] + [("link", str(i)) for i in links]
        events = 0
        for kind, key in keys:
            events += conn.execute(
                "DELETE FROM mem_history WHERE namespace = ? AND kind = ? AND key = ?", (db.namespace, kind, key)
            ).rowcount
        conn.executemany("DELETE FROM mem_links WHERE id = ?", [(i,) for i in links])
        conn.executemany("DELETE FROM mem_cells WHERE id = ?", [(i,) for i in ids])  # recalls cascade
        exchanges = tuple(
            row[0]
            for row in conn.execute(
                "SELECT id FROM mem_exchanges WHERE namespace = ? AND source_id = ?", (db.namespace, source_id)
            )
        )
        for exchange in exchanges:
            conn.execute("UPDATE mem_cells SET exchange_id = NULL WHERE exchange_id = ?", (exchange,))
            conn.execute("UPDATE mem_history SET exchange_id = NULL WHERE exchange_id = ?", (exchange,))
            conn.execute("DELETE FROM mem_exchanges WHERE id = ?", (exchange,))
        contexts = 0
        for text in sorted(texts, key=len, reverse=True):  # the longer form first: "Speaker: text", then text
            contexts += conn.execute(
                "UPDATE mem_cells SET context = NULLIF(TRIM(REPLACE(context, ?, '')), '')"
                " WHERE namespace = ? AND instr(context, ?) > 0",
                (text, db.namespace, text),
            ).rowcount
        owe(conn, db, owner, {}, {scene: [c.content for c in cells if c.scene == scene] for scene in scenes})
        conn.execute("INSERT INTO mem_cells_fts(mem_cells_fts) VALUES ('optimize')")
    settle(db, backend or OfflineEngine(), owner, scenes=list(scenes), calls=calls, reason="message erased")
    with db.transaction() as conn:  # the summaries' earlier versions held the message too
        conn.execute("PRAGMA secure_delete = ON")
        for content in {c.content for c in cells}:  # a summary the backend left as it was, an empty scene's
            conn.execute(
                "UPDATE mem_scenes SET summary = TRIM(REPLACE(summary, ?, '')) WHERE namespace = ? AND scene = ?",
                (content, db.namespace, next(c.scene for c in cells if c.content == content)),
            )
        for scene in scenes:
            events += conn.execute(
                "DELETE FROM mem_history WHERE namespace = ? AND kind = 'scene' AND key = ?", (db.namespace, scene)
            ).rowcount
    compacted = _compact(db)
    return Erasure(source_id, tuple(ids), len(links), events, exchanges, contexts, scenes, compacted)


def _compact(db: MemoryDB) -> bool:
    """Rebuild a database file so that no free page or old row version keeps erased text; False in memory.

    A row updated or deleted before leaves its old bytes in the page it was in until the page is
    reused; ``VACUUM`` writes every page anew, and the checkpoint moves them out of the write-ahead log.
    """
    path = db.path
    if not path or path == ":memory:" or path.startswith("file::memory:"):
        return False
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=10.0)) as conn:
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as exc:
        raise DatabaseError(f"the message was erased, but compacting {path!r} failed: {exc}") from exc
    return True


def traces(db: MemoryDB, text: str) -> list[tuple[str, str, str]]:
    """Where ``text`` still appears in this namespace's memory: (table, column, key) of each row that holds it.

    Columns that hold JSON (the exchange log, the history) are searched for the text as JSON writes it
    too. The full-text index is not searched: it holds words, shared with other cells, not texts.
    """
    if not text:
        raise ValueError("text must not be empty")
    forms = list(dict.fromkeys([text, json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]]))
    found: dict[tuple[str, str, str], None] = {}
    for table, column, key in _TEXT_COLUMNS:
        for form in forms:
            for row in db.sql(
                f"SELECT {key} AS key FROM {table} WHERE namespace = ? AND instr({column}, ?) > 0 ORDER BY {key}",
                (db.namespace, form),
            ):
                found.setdefault((table, column, str(row["key"])), None)
    return list(found)
