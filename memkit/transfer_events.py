"""The history part of an export: events out of one memory and into another.

An event travels as ``{"kind": "event", "about": "cell" | "scene" | "link",
"key": ..., "change": ..., "action": ..., "before": {...}, "after": {...},
"reason": ..., "created_at": ..., "undone_at": ...}``, its rows as
``mem_history`` holds them. On import every id in it is mapped to the
target's: the key, a cell row's ``id``, a link row's ``id``, ``source`` and
``target``; rows take the target's namespace, and exchange ids (exchanges do
not travel) become null. A link that no longer exists has no id in the
target: it is named by the negated id of its first imported event.

The imported events are history to read (:func:`memkit.history.story`), not
to undo: they share one change, whose id is the negated id of the import's
own change, and they sit before the import's own events, so that
:func:`memkit.history.undo` undoes the import first and takes them away with it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .db import to_iso
from .history import ACTIONS, Change, events, recorded_columns
from .parsing import MAX_REASON_CHARS, _cut
from .types import fits_sqlite_integer, normalise_scene

if TYPE_CHECKING:
    from .db import MemoryDB

__all__ = ["EventRecord", "bring_events", "event_records", "read_event"]

#: The longest row an event may carry, as JSON (a cell row with full content and context is far shorter).
MAX_ROW_CHARS = 16_000
_INSERT = (
    "INSERT INTO mem_history (namespace, change_id, kind, key, action, before, after, reason, exchange_id,"
    " created_at, undone_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)"
)


@dataclass(frozen=True)
class EventRecord:
    """One event read from an export and checked; ``key`` is a cell or link ref, or a scene name."""

    line: int
    about: str
    key: int | str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str
    created_at: str
    undone_at: str | None

    def cells(self) -> set[int]:
        """The refs of the cells the event is about (a link's two ends)."""
        if self.about == "cell":
            return {int(self.key)}
        if self.about == "link":
            return {row[end] for row in (self.before, self.after) if row is not None for end in ("source", "target")}
        return set()


def event_records(db: MemoryDB, cells: Collection[int], scenes: Collection[str]) -> list[dict[str, Any]]:
    """The export records of the events about ``cells`` (and links between them) and ``scenes``, oldest first.

    Events about cells that are gone (deleted), or links to them, stay behind.
    """
    records = []
    for event in events(db):
        rows = [row for row in (event.before, event.after) if row is not None]
        if event.kind == "cell":
            keep = int(event.key) in cells
        elif event.kind == "link":
            keep = all(row.get(end) in cells for row in rows for end in ("source", "target"))
        else:
            keep = event.key in scenes
        if keep:
            records.append(
                {
                    "kind": "event",
                    "about": event.kind,
                    "key": event.key if event.kind == "scene" else int(event.key),
                    "change": event.change_id,
                    "action": event.action,
                    "before": event.before,
                    "after": event.after,
                    "reason": event.reason,
                    "created_at": event.created_at,
                    "undone_at": event.undone_at,
                }
            )
    return records


def _whole(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not fits_sqlite_integer(value):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    return value


def _row(value: Any, about: str, key: int | str, side: str) -> dict[str, Any] | None:
    """One side of an event, checked: a flat object of the kind's columns, not too long."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError(f"an event's {side} must be an object or null, not {type(value).__name__}")
    if len(json.dumps(value, ensure_ascii=False)) > MAX_ROW_CHARS:
        raise ValueError(f"an event's {side} is longer than {MAX_ROW_CHARS:,} characters")
    unknown = sorted(set(value) - recorded_columns(about))
    if unknown:
        raise ValueError(f"an event's {side} has columns a {about} does not have: {', '.join(unknown)}")
    for column, cell in value.items():
        if isinstance(cell, bool) or not (cell is None or isinstance(cell, (str, int, float))):
            raise TypeError(f"{side}.{column} must be text, a number or null, not {type(cell).__name__}")
        if isinstance(cell, int):
            _whole(cell, f"{side}.{column}")
    if about == "link":
        for end in ("source", "target"):
            _whole(value.get(end), f"{side}.{end}")
    own = "scene" if about == "scene" else "id"
    if own in value and value[own] != key:
        raise ValueError(f"{side}.{own} is {value[own]!r}, but the event is about {about} {key!r}")
    return value


def read_event(record: Mapping[str, Any], line: int) -> EventRecord:
    """An event record of an export, checked (its references to cells are checked by the caller).

    :raises ValueError: a value of the wrong kind, an unknown kind of thing or action, a row too long.
    :raises TypeError: a value of the wrong type.
    :raises KeyError: a field is missing.
    """
    about = record["about"]
    if about not in ACTIONS:
        raise ValueError(f"an event must be about one of {', '.join(ACTIONS)}, not {about!r}")
    action = record["action"]
    if action not in ACTIONS[about]:
        raise ValueError(f"unknown action {action!r} for a {about} (one of {', '.join(ACTIONS[about])})")
    key: int | str
    if about == "scene":
        if not isinstance(record["key"], str):
            raise TypeError(f"a scene event's key must be a scene name, not {type(record['key']).__name__}")
        key = normalise_scene(record["key"])
    else:
        key = _whole(record["key"], f"a {about} event's key")
    if record.get("change") is not None:
        _whole(record["change"], "change")
    before = _row(record.get("before"), about, key, "before")
    after = _row(record.get("after"), about, key, "after")
    if before is None and after is None:
        raise ValueError("an event needs a row before or after it (or both)")
    reason = record.get("reason", "")
    if not isinstance(reason, str):
        raise TypeError(f"reason must be a string, not {type(reason).__name__}")
    created_at, undone_at = record["created_at"], record.get("undone_at")
    for what, when in (("created_at", created_at), ("undone_at", undone_at)):
        if when is not None and not isinstance(when, str):
            raise TypeError(f"{what} must be an ISO 8601 string, not {type(when).__name__}")
        to_iso(when, what)
    if created_at is None:
        raise ValueError("created_at must be an ISO 8601 string, not null")
    return EventRecord(line, about, key, action, before, after, _cut(reason, MAX_REASON_CHARS), created_at, undone_at)


def _mapped(row: dict[str, Any] | None, namespace: str, cells: Mapping[int, int], own: int | str | None) -> str | None:
    """``row`` with the target's ids and namespace, and no exchange id, as ``mem_history`` holds it."""
    if row is None:
        return None
    row = dict(row)
    if "namespace" in row:
        row["namespace"] = namespace
    if row.get("exchange_id") is not None:
        row["exchange_id"] = None
    for end in ("source", "target"):
        if end in row:
            row[end] = cells[row[end]]
    if "id" in row:
        row["id"] = own
    elif "scene" in row:
        row["scene"] = own
    return json.dumps(row, ensure_ascii=False)


def bring_events(
    db: MemoryDB,
    change: Change,
    records: list[EventRecord],
    cells: Mapping[int, int],
    added: Collection[int],
    links: Mapping[int, int],
    scenes: Collection[str],
) -> int:
    """Write the events of the cells this import ``added`` (their refs), of the links to or from them and
    of the ``scenes`` it created; return how many.

    The text goes through the connection's redaction, as every event's does.
    Then the import's own events are moved after them, so that undo meets them first.

    :param cells: cell ref -> the cell's id in the target. :param links: link ref -> the link's id there.
    """
    chosen = [
        r
        for r in records
        if (r.about == "scene" and r.key in scenes) or (r.about != "scene" and not r.cells().isdisjoint(added))
    ]
    if not chosen or change.id is None:
        return 0
    namespace, group, conn = db.namespace, -change.id, change.conn
    gone: dict[int, int] = {}  # links that no longer exist: ref -> the negated id of their first event
    for r in chosen:
        if r.about == "cell":
            key: int | str = cells[int(r.key)]
        elif r.about == "link":
            key = links.get(int(r.key)) or gone.get(int(r.key), 0)
        else:
            key = r.key
        values = [namespace, group, r.about, str(key), r.action, _mapped(r.before, namespace, cells, key),
                  _mapped(r.after, namespace, cells, key), r.reason, r.created_at, r.undone_at]  # fmt: skip
        written = int(conn.execute(_INSERT, values).lastrowid or 0)
        if key == 0:  # the first event of a link that is gone: it is named after this event
            key = gone[int(r.key)] = -written
            conn.execute(
                "UPDATE mem_history SET key = ?, before = ?, after = ? WHERE id = ?",
                (str(key), _mapped(r.before, namespace, cells, key), _mapped(r.after, namespace, cells, key), written),
            )
    _move_to_end(conn, namespace, change.id)
    return len(chosen)


_COPIED = "namespace, change_id, kind, key, action, before, after, reason, exchange_id, created_at, undone_at"


def _move_to_end(conn: Any, namespace: str, change_id: int) -> None:
    """Write the events of change ``change_id`` again, after every other event, in the same order."""
    rows = [
        tuple(row)
        for row in conn.execute(
            f"SELECT {_COPIED} FROM mem_history WHERE namespace = ? AND change_id = ? ORDER BY id",
            (namespace, change_id),
        ).fetchall()
    ]
    conn.execute("DELETE FROM mem_history WHERE namespace = ? AND change_id = ?", (namespace, change_id))
    conn.executemany(f"INSERT INTO mem_history ({_COPIED}) VALUES ({', '.join('?' * 11)})", rows)
