"""The history of memory: every change to a cell, a scene or a link, and undo.

Each write memkit makes records an *event* in ``mem_history``: what changed
(a cell, a scene or a link, and its key), the action, the whole row before
and after, why, when, and which exchange caused it. The writes of one step
(one exchange, one call of a write method, or a ``with db.change(...)``
block) share a ``change_id``, the id of their first event, and are undone
together: :func:`undo` puts back every row of the last change exactly as it
was, newest event first.

Derived data is not recorded, because the database derives it again: the
full-text index, ``mem_scenes.cell_count`` (both kept by triggers) and
recall counts (usage, not content). Rows written with raw SQL, around
memkit, are not recorded either; :func:`undo` refuses to overwrite them.

Events imported with a memory from another store (:mod:`memkit.transfer`)
are history to read, not to undo: they have a negative ``change_id`` (the
import's own change id, negated), and undoing the import takes them away.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .connection import RedactingConnection
from .errors import HistoryConflictError
from .redact import redact_secrets
from .schema import table_columns
from .types import Event, fits_sqlite_integer

if TYPE_CHECKING:
    from .db import MemoryDB

__all__ = ["ACTIONS", "KINDS", "Change", "events", "recorded_columns", "snapshot", "story", "undo"]

#: What an event can be about: table, key columns, columns not recorded.
_TABLES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "cell": ("mem_cells", ("id",), ()),
    "scene": ("mem_scenes", ("scene",), ("cell_count",)),
    "link": ("mem_links", ("id",), ()),
}
#: The kinds of thing an event can be about.
KINDS: tuple[str, ...] = tuple(_TABLES)
#: The actions memkit records, for each kind of thing.
ACTIONS: dict[str, tuple[str, ...]] = {
    "cell": ("add", "edit", "delete", "reinforce", "update", "supersede", "archive", "restore"),
    "scene": ("create", "summary"),
    "link": ("link", "unlink"),
}


_EVENT_COLUMNS = (
    "id, change_id, kind, key, action, before, after, reason, exchange_id, created_at, undone_at, namespace"
)

Row = dict[str, Any]


def recorded_columns(kind: str) -> frozenset[str]:
    """The columns an event about ``kind`` records of its row: every column of its table but derived ones."""
    table, _, skipped = _TABLES[kind]
    return frozenset(table_columns(table)) - frozenset(skipped)


def snapshot(conn: sqlite3.Connection, namespace: str, kind: str, key: str | int) -> Row | None:
    """The recorded columns of one row as a dict, or None when there is no such row."""
    table, keys, skipped = _TABLES[kind]
    if kind != "scene" and not fits_sqlite_integer(int(key)):
        return None
    cursor = conn.execute(
        f"SELECT * FROM {table} WHERE namespace = ? AND {keys[0]} = ?",
        (namespace, key if kind == "scene" else int(key)),
    )
    row = cursor.fetchone()
    if row is None:
        return None
    names = [d[0] for d in cursor.description]
    return {name: value for name, value in zip(names, row, strict=True) if name not in skipped}


@dataclass
class Change:
    """One step of history being recorded: the writes it groups share its id.

    Made by :meth:`memkit.MemoryDB.change`; write methods record into it.
    """

    conn: sqlite3.Connection
    reason: str
    exchange_id: int | None
    now: Callable[[], str]
    id: int | None = None

    def record(
        self,
        namespace: str,
        kind: str,
        key: str | int,
        action: str,
        before: Row | None,
        after: Row | None,
        reason: str = "",
    ) -> None:
        """Add one event (nothing when ``before`` and ``after`` are equal)."""
        if before == after:
            return
        cursor = self.conn.execute(
            "INSERT INTO mem_history (namespace, change_id, kind, key, action, before, after, reason,"
            " exchange_id, created_at) VALUES (?, COALESCE(?, 0), ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                namespace,
                self.id,
                kind,
                str(key),
                action,
                None if before is None else json.dumps(before, ensure_ascii=False),
                None if after is None else json.dumps(after, ensure_ascii=False),
                reason or self.reason,
                self.exchange_id,
                self.now(),
            ),
        )
        if self.id is None:  # the change is named after its first event
            self.id = int(cursor.lastrowid or 0)
            self.conn.execute("UPDATE mem_history SET change_id = id WHERE id = ?", (self.id,))

    def record_added(self, namespace: str, kind: str, rows: Sequence[Row], reason: str = "") -> None:
        """Record many rows that did not exist before (one event each, written in one statement)."""
        if not rows:
            return
        key = _TABLES[kind][1][0]
        first, rest = rows[0], rows[1:]
        self.record(namespace, kind, first[key], "add", None, first, reason)
        why, when = redact_secrets(reason or self.reason), self.now()
        # the rows were just read back from the file, so their values were redacted on the way in
        write = self.conn.executemany_stored if isinstance(self.conn, RedactingConnection) else self.conn.executemany
        write(
            "INSERT INTO mem_history (namespace, change_id, kind, key, action, before, after, reason,"
            " exchange_id, created_at) VALUES (?, ?, ?, ?, 'add', NULL, ?, ?, ?, ?)",
            [
                (namespace, self.id, kind, str(row[key]), json.dumps(row, ensure_ascii=False), why,
                 self.exchange_id, when)
                for row in rest
            ],
        )  # fmt: skip

    @contextmanager
    def tracking(self, namespace: str, kind: str, key: str | int, action: str, reason: str = "") -> Iterator[None]:
        """Record what the ``with`` block does to one row, as one event."""
        before = snapshot(self.conn, namespace, kind, key)
        yield
        self.record(namespace, kind, key, action, before, snapshot(self.conn, namespace, kind, key), reason)


def _event(row: sqlite3.Row) -> Event:
    values = dict(row)
    for side in ("before", "after"):
        values[side] = None if values[side] is None else json.loads(values[side])
    return Event(**values)


def events(db: MemoryDB, *, kind: str | None = None, key: str | int | None = None) -> list[Event]:
    """The events of ``db``'s namespace, oldest first (about one thing, if given)."""
    sql = f"SELECT {_EVENT_COLUMNS} FROM mem_history WHERE namespace = ?"
    params: list[Any] = [db.namespace]
    if kind is not None:
        if kind not in _TABLES:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
        sql += " AND kind = ?"
        params.append(kind)
    if key is not None:
        sql += " AND key = ?"
        params.append(str(key))
    return [_event(row) for row in db.query_rows(sql + " ORDER BY id", params)]


def story(db: MemoryDB, cell_id: int) -> list[Event]:
    """One cell's whole story, oldest first: its own events and those of the links to or from it."""
    own = events(db, kind="cell", key=cell_id)
    linked = [
        event
        for event in events(db, kind="link")
        if cell_id in {(event.after or event.before or {}).get(end) for end in ("source", "target")}
    ]
    return sorted(own + linked, key=lambda event: event.id)


def _restore(conn: sqlite3.Connection, event: Event) -> None:
    table, keys, _ = _TABLES[event.kind]
    where = f"namespace = ? AND {keys[0]} = ?"
    key: Any = event.key if event.kind == "scene" else int(event.key)
    before = event.before
    if before is None:
        conn.execute(f"DELETE FROM {table} WHERE {where}", (event.namespace, key))
    elif event.after is None:
        columns = list(before)
        conn.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [before[c] for c in columns],
        )
    else:
        assignments = ", ".join(f"{column} = ?" for column in before)
        conn.execute(f"UPDATE {table} SET {assignments} WHERE {where}", [*before.values(), event.namespace, key])


def undo(db: MemoryDB) -> list[Event]:
    """Undo the last change not yet undone in ``db``'s namespace; return its events, oldest first.

    Every row the change touched is put back exactly as it was before it
    (cells added by it are deleted, cells it changed get their old values).
    The events stay in the history, marked with ``undone_at``. Calling it
    again undoes the change before. Returns an empty list when there is
    nothing left to undo.

    Undoing an import also removes the events it brought from the other
    memory (see :mod:`memkit.transfer`); those events are never undone
    themselves.

    :raises HistoryConflictError: a row was changed around memkit since (raw
        SQL), or the last change is one that came with an import; nothing is undone.
    """
    with db.transaction() as conn:
        last = conn.execute(
            "SELECT change_id FROM mem_history WHERE namespace = ? AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
            (db.namespace,),
        ).fetchone()
        if last is None:
            return []
        if last[0] < 0:  # an import's, whose own change is gone (erased, or deleted around memkit)
            raise HistoryConflictError(
                f"cannot undo change {last[0]}: it was imported from another memory, where it happened; "
                "it can be read with events() and story() but not undone here; nothing was undone"
            )
        rows = conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM mem_history WHERE namespace = ? AND change_id = ? AND undone_at IS NULL"
            " ORDER BY id DESC",
            (db.namespace, last[0]),
        )
        rows.row_factory = sqlite3.Row
        undone = [_event(row) for row in rows.fetchall()]
        for event in undone:
            if snapshot(conn, event.namespace, event.kind, event.key) != event.after:
                raise HistoryConflictError(
                    f"cannot undo change {last[0]}: {event.kind} {event.key} no longer looks as that change left "
                    "it (it was written around memkit's history); nothing was undone"
                )
            _restore(conn, event)
        when = db.now()
        conn.execute(
            "UPDATE mem_history SET undone_at = ? WHERE namespace = ? AND change_id = ? AND undone_at IS NULL",
            (when, db.namespace, last[0]),
        )
        conn.execute("DELETE FROM mem_history WHERE namespace = ? AND change_id = ?", (db.namespace, -last[0]))
    return [replace(event, undone_at=when) for event in reversed(undone)]
