"""Scene summaries owed and written: cells are never left out of their scene's summary for good.

A summary is rewritten after the cells it must fold in are stored, by a
model call that can fail or be cut short by a kill. So the transaction that
stores cells (or retires them) also records what their scenes' summaries
now owe (:func:`owe`), and the one that writes a summary clears what it
folded in (:func:`settle`). A program killed in between leaves the debt in
``mem_owed_summaries``, and ``MemoryManager.retry_failed()`` settles it.

:func:`settle` claims the debts it settles (see :mod:`memkit.claims`), so two
programs never write one summary at once, and asks the backend given, so a
summary a model wrote is rewritten by that model. Scenes the reply leaves
out, or all of them if the backend fails, are summarised by the offline
engine (through the same backend contract), so no summary falls behind
its cells.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .claims import is_claimable, lease_until
from .errors import MemkitError
from .llm import Backend, CallLog, OfflineEngine, invoke
from .parsing import parse_summaries
from .prompts import consolidate_request
from .types import Cell, NewCell

if TYPE_CHECKING:
    from .db import MemoryDB

__all__ = ["as_new_cell", "owe", "settle", "summarise"]


def owe(
    conn: sqlite3.Connection,
    db: MemoryDB,
    owner: str | None,
    cells: Mapping[str, Sequence[int]],
    retired: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Record, inside the caller's transaction, what the scenes' summaries must now fold in.

    :param cells: scene -> ids of cells stored and not yet in its summary.
    :param retired: scene -> contents of cells its summary should stop saying.
    :param owner: who is about to settle it (its claim); None leaves it to anyone.
    """
    retired = retired or {}
    for scene in dict.fromkeys([*cells, *retired]):
        new, gone = list(cells.get(scene, ())), list(retired.get(scene, ()))
        if not new and not gone:
            continue
        row = conn.execute(
            "SELECT cells, retired, owner FROM mem_owed_summaries WHERE namespace = ? AND scene = ?",
            (db.namespace, scene),
        ).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO mem_owed_summaries (namespace, scene, cells, retired, owed_since, owner, lease_until)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (db.namespace, scene, json.dumps(new), json.dumps(gone, ensure_ascii=False), db.now(), owner,
                 lease_until()),
            )  # fmt: skip
        else:  # add to the debt; a claim already on it stays
            conn.execute(
                "UPDATE mem_owed_summaries SET cells = ?, retired = ? WHERE namespace = ? AND scene = ?",
                (json.dumps(json.loads(row[0]) + new), json.dumps(json.loads(row[1]) + gone, ensure_ascii=False),
                 db.namespace, scene),
            )  # fmt: skip


def _claim(db: MemoryDB, owner: str, scenes: Sequence[str] | None) -> list[tuple[str, list[int], list[str]]]:
    """Claim the debts of ``scenes`` (all of the namespace's if None) that no one else holds."""
    with db.transaction() as conn:
        rows = conn.execute(
            "SELECT scene, cells, retired, owner, lease_until FROM mem_owed_summaries WHERE namespace = ?"
            " ORDER BY rowid",
            (db.namespace,),
        ).fetchall()
        order = {scene: index for index, scene in enumerate(dict.fromkeys(scenes or ()))}
        claimed = [
            (row[0], json.loads(row[1]), json.loads(row[2]))
            for row in sorted(rows, key=lambda row: order.get(row[0], len(order)))
            if (scenes is None or row[0] in order) and is_claimable(row[3], row[4], owner)
        ]
        conn.executemany(
            "UPDATE mem_owed_summaries SET owner = ?, lease_until = ? WHERE namespace = ? AND scene = ?",
            [(owner, lease_until(), db.namespace, scene) for scene, _, _ in claimed],
        )
    return claimed


def _clear(conn: sqlite3.Connection, db: MemoryDB, settled: Sequence[tuple[str, list[int], list[str]]]) -> None:
    """Remove what was folded in; anything added since stays owed (by no one, for the next settle)."""
    for scene, cells, gone in settled:
        row = conn.execute(
            "SELECT cells, retired FROM mem_owed_summaries WHERE namespace = ? AND scene = ?", (db.namespace, scene)
        ).fetchone()
        if row is None:
            continue
        left_cells, left_gone = json.loads(row[0])[len(cells) :], json.loads(row[1])[len(gone) :]
        if left_cells or left_gone:
            conn.execute(
                "UPDATE mem_owed_summaries SET cells = ?, retired = ?, owner = NULL, lease_until = ?"
                " WHERE namespace = ? AND scene = ?",
                (json.dumps(left_cells), json.dumps(left_gone, ensure_ascii=False), lease_until(), db.namespace,
                 scene),
            )  # fmt: skip
        else:
            conn.execute("DELETE FROM mem_owed_summaries WHERE namespace = ? AND scene = ?", (db.namespace, scene))


def summarise(
    backend: Backend,
    updates: Mapping[str, tuple[str, Sequence[NewCell]]],
    retired: Mapping[str, Sequence[str]],
    calls: CallLog | None = None,
) -> dict[str, str]:
    """The new summary of each scene of ``updates`` (scene -> (current summary, new cells)), one model call.

    Scenes the reply leaves out, or all if ``backend`` fails or its reply is cut off, are summarised
    by the offline engine: a reply cut short is never taken for a summary.
    """
    try:
        reply = invoke(backend, consolidate_request(updates, retired), calls)
        summaries = {} if reply.cut_off else parse_summaries(reply, list(updates))
    except MemkitError:
        summaries = {}
    missing = {scene: update for scene, update in updates.items() if scene not in summaries}
    if missing:
        request = consolidate_request(missing, {scene: retired.get(scene, ()) for scene in missing})
        summaries.update(parse_summaries(invoke(OfflineEngine(), request), list(missing)))
    return summaries


def settle(
    db: MemoryDB,
    backend: Backend,
    owner: str,
    *,
    scenes: Sequence[str] | None = None,
    calls: CallLog | None = None,
    reason: str = "summaries consolidated",
    exchange_id: int | None = None,
    continues: int | None = None,
    rewrite_unchanged: bool = True,
) -> dict[str, str]:
    """Write the summaries the namespace owes (of ``scenes`` only, if given); return them.

    Debts another program is settling are left to it. The summaries and the
    clearing of their debts are one change of the history (``continues``: the
    change it completes, such as the exchange's).

    :param rewrite_unchanged: write a summary the backend gave back unchanged too (its time moves on).
    """
    claimed = _claim(db, owner, scenes)
    updates: dict[str, tuple[str, Sequence[NewCell]]] = {}
    retired: dict[str, list[str]] = {}
    for scene, ids, gone in claimed:
        cells = db.get_cells(ids)
        if cells or gone:
            current = db.get_scene(scene)
            updates[scene] = (current.summary if current else "", [as_new_cell(cell) for cell in cells])
            if gone:
                retired[scene] = gone
    summaries = summarise(backend, updates, retired, calls) if updates else {}
    if claimed:
        with db.change(reason, exchange_id=exchange_id, continues=continues) as change:
            for scene, summary in summaries.items():
                if rewrite_unchanged or summary != updates[scene][0]:
                    db.upsert_scene(scene, summary)
            _clear(change.conn, db, claimed)
    return summaries


def as_new_cell(cell: Cell) -> NewCell:
    """What a summary is written from: a stored cell's scene, type, salience and content."""
    return NewCell(cell.scene, cell.cell_type, cell.salience, cell.content)
