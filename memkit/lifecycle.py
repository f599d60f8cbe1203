"""How a stored cell changes state, without ever being deleted.

::

    current ──reinforce──► current (seen_count + 1, last_seen_at, salience up)
    current ──supersede──► superseded (valid_until; a newer cell "replaces" it)
    current ──archive────► archived (archived_at; decayed, see :mod:`memkit.forgetting`)
    archived ──restore───► current

Superseded and archived cells keep their content and stay searchable with
``include_history=True``; default reads show current cells only (see
``MemoryDB.cell_filter``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from .errors import CellNotFoundError
from .links import link
from .types import Cell, validate_salience

if TYPE_CHECKING:
    from .db import MemoryDB

__all__ = ["REINFORCE_STEP", "archive", "reinforce", "reinforced_salience", "restore", "supersede"]

#: How much a restatement raises a cell's salience (above the larger of the two).
REINFORCE_STEP = 0.05


def reinforced_salience(old: float, new: float, step: float = REINFORCE_STEP) -> float:
    """The salience of a cell stated again: the larger of the two, plus ``step``, at most 1."""
    return round(min(1.0, max(old, new) + step), 3)


def _cell(db: MemoryDB, cell_id: int, *, status: str = "current", role: str = "cell") -> Cell:
    cell = db.get_cell(cell_id)
    if cell is None:
        raise CellNotFoundError(f"no memory cell with id {cell_id} in namespace {db.namespace!r}")
    if cell.status != status:
        raise ValueError(f"{role} {cell_id} is {cell.status}; only a {status} cell can be changed this way")
    return cell


def reinforce(db: MemoryDB, cell_id: int, *, salience: float | None = None, reason: str = "") -> Cell:
    """Record that a current cell was stated again: count it, note when, raise its salience.

    :param salience: the salience the restatement was given; the cell's
        becomes :func:`reinforced_salience` of the two.
    :raises CellNotFoundError: no such cell. :raises ValueError: the cell is not current.
    """
    with db.change("stated again") as change:
        cell = _cell(db, cell_id)
        new = cell.salience if salience is None else validate_salience(salience)
        with change.tracking(db.namespace, "cell", cell_id, "reinforce", reason):
            change.conn.execute(
                "UPDATE mem_cells SET seen_count = seen_count + 1, last_seen_at = ?, salience = ? WHERE id = ?",
                (db.now(), reinforced_salience(cell.salience, new), cell_id),
            )
    return _cell(db, cell_id)


def supersede(db: MemoryDB, old_id: int, new_id: int, *, reason: str = "", action: str = "supersede") -> Cell:
    """Mark ``old_id`` as replaced by ``new_id`` and return the old cell.

    The old cell keeps its content and gets a validity end (``valid_until``)
    and a ``replaces`` link from the new cell.

    :param action: how the history names it: ``"update"`` (a newer value) or
        ``"supersede"`` (ended or contradicted).
    :raises CellNotFoundError: either cell is missing. :raises ValueError: either is not current.
    """
    if old_id == new_id:
        raise ValueError(f"a cell cannot supersede itself (id {old_id})")
    if action not in ("update", "supersede"):
        raise ValueError(f"action must be 'update' or 'supersede', got {action!r}")
    with db.change(f"replaced by cell {new_id}") as change:
        _cell(db, old_id, role="the superseded cell")
        _cell(db, new_id, role="the replacing cell")
        with change.tracking(db.namespace, "cell", old_id, action, reason):
            change.conn.execute("UPDATE mem_cells SET valid_until = ? WHERE id = ?", (db.now(), old_id))
        link(db, new_id, old_id, "replaces", reason=reason)
    return _cell(db, old_id, status="superseded")


def archive(db: MemoryDB, cell_ids: Iterable[int], *, reason: str = "") -> list[int]:
    """Hide current cells from recall (they are kept); return the ids archived.

    Cells already superseded or archived are left as they are (and not returned).

    :raises CellNotFoundError: an id names no cell of ``db``'s namespace; nothing is archived.

    :param reason: why, for the history; one per cell when ``cell_ids`` is a
        mapping of id to reason.
    """
    reasons = dict(cell_ids) if isinstance(cell_ids, Mapping) else {}
    wanted = list(dict.fromkeys(int(i) for i in cell_ids))
    archived: list[int] = []
    with db.change("archived") as change:
        cells = {cell_id: db.get_cell(cell_id) for cell_id in wanted}
        missing = [cell_id for cell_id, cell in cells.items() if cell is None]
        if missing:
            raise CellNotFoundError(f"no memory cell with id {missing[0]} in namespace {db.namespace!r}")
        for cell_id, cell in cells.items():
            if cell is not None and cell.status == "current":
                with change.tracking(db.namespace, "cell", cell_id, "archive", reasons.get(cell_id) or reason):
                    change.conn.execute("UPDATE mem_cells SET archived_at = ? WHERE id = ?", (db.now(), cell_id))
                archived.append(cell_id)
    return archived


def restore(db: MemoryDB, cell_id: int, *, reason: str = "") -> Cell:
    """Bring an archived cell back into current memory.

    :raises CellNotFoundError: no such cell. :raises ValueError: the cell is not archived.
    """
    with db.change("restored") as change:
        _cell(db, cell_id, status="archived")
        with change.tracking(db.namespace, "cell", cell_id, "restore", reason):
            change.conn.execute("UPDATE mem_cells SET archived_at = NULL WHERE id = ?", (cell_id,))
    return _cell(db, cell_id)
