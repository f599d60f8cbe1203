"""Links between memory cells: same subject, cause, follows-from, replaces.

A link reads ``source kind target``: "12 replaces 7", "9 follows-from 4",
"3 cause 8" (3 is a cause of 8). The manager makes them from the extraction
step's decisions; :func:`neighbours` lets recall follow them one hop.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .errors import CellNotFoundError
from .history import snapshot
from .types import LINK_KINDS, Link

if TYPE_CHECKING:
    from .db import MemoryDB

__all__ = ["link", "links_of", "list_links", "unlink"]

_LINK_COLUMNS = "id, source, target, kind, reason, created_at, namespace"


def _check_cells(db: MemoryDB, *cell_ids: int) -> None:
    for cell_id in cell_ids:
        if db.get_cell(cell_id) is None:
            raise CellNotFoundError(f"no memory cell with id {cell_id} in namespace {db.namespace!r}")


def link(db: MemoryDB, source: int, target: int, kind: str, *, reason: str = "") -> Link:
    """Link two cells of ``db``'s namespace; return the link (the existing one if it is already there).

    :raises ValueError: an unknown ``kind`` or a cell linked to itself.
    :raises CellNotFoundError: either cell is missing.
    """
    if kind not in LINK_KINDS:
        raise ValueError(f"kind must be one of {', '.join(LINK_KINDS)}; got {kind!r}")
    if source == target:
        raise ValueError(f"a cell cannot be linked to itself (id {source})")
    with db.change("linked") as change:
        _check_cells(db, source, target)
        cursor = change.conn.execute(
            "INSERT INTO mem_links (namespace, source, target, kind, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (source, target, kind) DO NOTHING",
            (db.namespace, source, target, kind, reason.replace("\x00", "").strip(), db.now()),
        )
        rows = db._query(
            f"SELECT {_LINK_COLUMNS} FROM mem_links WHERE source = ? AND target = ? AND kind = ?",
            (source, target, kind),
        )
        found = Link(**dict(rows[0]))
        if cursor.rowcount:
            after = snapshot(change.conn, db.namespace, "link", found.id)
            change.record(db.namespace, "link", found.id, "link", None, after, reason)
    return found


def unlink(db: MemoryDB, link_id: int) -> bool:
    """Remove a link; return False if there was none with that id."""
    with db.change("unlinked") as change:
        before = snapshot(change.conn, db.namespace, "link", link_id)
        if before is None:
            return False
        change.conn.execute("DELETE FROM mem_links WHERE id = ? AND namespace = ?", (link_id, db.namespace))
        change.record(db.namespace, "link", link_id, "unlink", before, None)
    return True


def list_links(db: MemoryDB, kinds: Iterable[str] | None = None) -> list[Link]:
    """Every link of ``db``'s namespace, oldest first (of some kinds, if given)."""
    sql = f"SELECT {_LINK_COLUMNS} FROM mem_links WHERE namespace = ?"
    params: list[object] = [db.namespace]
    if kinds is not None:
        wanted = [kinds] if isinstance(kinds, str) else list(kinds)
        sql += f" AND kind IN ({', '.join('?' * len(wanted))})"
        params.extend(wanted)
    return [Link(**dict(row)) for row in db._query(sql + " ORDER BY id", params)]


def links_of(db: MemoryDB, cell_id: int) -> list[Link]:
    """The links from or to one cell, oldest first."""
    rows = db._query(
        f"SELECT {_LINK_COLUMNS} FROM mem_links WHERE namespace = ? AND (source = ? OR target = ?) ORDER BY id",
        (db.namespace, cell_id, cell_id),
    )
    return [Link(**dict(row)) for row in rows]
