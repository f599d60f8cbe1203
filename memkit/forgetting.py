"""Forgetting: a cell's strength fades while it goes unused; weak cells are archived, never deleted.

A cell's *strength* is its salience decayed by the time since it was last
used, where *used* means stated (again) or recalled for an answer::

    strength = rule(salience, idle_days, uses)

The default rule, :func:`half_life`, halves the strength every
``HALF_LIFE_DAYS * (1 + uses)`` days: each restatement or recall makes the
cell fade more slowly (the spacing effect), and a recall also restarts the
clock. Any function of the same shape can replace it.

:func:`forget` archives the current cells whose strength is below a
threshold: they are kept, recorded in the history, hidden from recall, and
their sentences leave the scene summaries, rewritten by the backend given
(``MemoryManager.forget`` gives its own; the offline engine, by default,
drops only the sentences that said what the archived cells said). A scene
left with no current cells is archived with them (see ``MemoryDB.list_scenes``).
Stored salience never changes with time: decay is computed when asked, so
running :func:`forget` twice never decays a cell twice. Time comes from the
database's clock, so tests and notebooks choose it.

That is *use-based* decay. *Calendar-time* decay (``Forgetting(since="stored")``) counts the
days since a cell was stored and ignores every use since, as an expiry date does: a fact asked
about every week fades as fast as one nobody mentions again.

Call it as ``manager.forget(policy)`` and note uses with
``manager.recalled(ids)``: the functions here are their implementation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from .claims import new_owner
from .lifecycle import archive
from .llm import Backend, CallLog, OfflineEngine
from .summaries import owe, settle
from .types import Cell, fits_sqlite_integer

if TYPE_CHECKING:
    from .db import MemoryDB

__all__ = [
    "HALF_LIFE_DAYS",
    "SINCE",
    "THRESHOLD",
    "DecayRule",
    "Forgetting",
    "Strength",
    "decay_curve",
    "forget",
    "half_life",
    "mark_recalled",
    "strengths",
]

#: A decay rule: (salience, days since last use, times used again) -> strength in [0, 1].
DecayRule = Callable[[float, float, int], float]
#: Days for an unused cell to lose half its strength.
HALF_LIFE_DAYS = 30.0
#: Cells weaker than this are archived by :func:`forget`.
THRESHOLD = 0.1
#: What a cell's idle time counts from: its last use (use-based decay) or when it was stored (calendar time).
SINCE: tuple[str, ...] = ("last use", "stored")


def half_life(salience: float, idle_days: float, uses: int, *, half_life_days: float = HALF_LIFE_DAYS) -> float:
    """``salience * 0.5 ** (idle_days / (half_life_days * (1 + uses)))``.

    A cell of salience 0.5 that is never used again falls below 0.1 after
    about 70 days; used once more, after about 140.
    """
    return salience * math.pow(0.5, max(0.0, idle_days) / (half_life_days * (1 + max(0, uses))))


@dataclass(frozen=True)
class Forgetting:
    """When to forget: the decay rule and the threshold below which a cell is archived."""

    rule: DecayRule = field(default=half_life)
    threshold: float = THRESHOLD
    #: ``"last use"`` (use-based decay, the default) or ``"stored"`` (calendar time: uses are ignored).
    since: str = "last use"

    def __post_init__(self) -> None:
        if self.since not in SINCE:
            raise ValueError(f"since must be one of {', '.join(map(repr, SINCE))}, got {self.since!r}")
        if not callable(self.rule):
            raise TypeError(f"rule must be a function (salience, idle_days, uses) -> strength, not {self.rule!r}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold!r}")


@dataclass(frozen=True)
class Strength:
    """A cell's strength now: how long it went unused, how often it was used again."""

    cell: Cell
    last_used: str
    idle_days: float
    uses: int
    strength: float


def _moment(timestamp: str) -> datetime:
    moment = datetime.fromisoformat(timestamp)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def mark_recalled(db: MemoryDB, cell_ids: Iterable[int]) -> None:
    """Note that these cells were recalled for an answer now (a use: their decay restarts, slower).

    Usage is kept apart from the cells (``mem_recalls``), so reading memory
    never changes what it says and is not an event of the history.
    """
    ids = sorted({int(i) for i in cell_ids if fits_sqlite_integer(int(i))})
    if not ids:
        return
    now = db.now()
    with db.transaction() as conn:
        conn.executemany(
            "INSERT INTO mem_recalls (cell_id, recall_count, last_recalled_at)"
            " SELECT id, 1, ? FROM mem_cells WHERE id = ? AND namespace = ?"
            " ON CONFLICT (cell_id) DO UPDATE"
            " SET recall_count = mem_recalls.recall_count + 1, last_recalled_at = excluded.last_recalled_at",
            [(now, cell_id, db.namespace) for cell_id in ids],
        )


def strengths(db: MemoryDB, *, rule: DecayRule = half_life, since: str = "last use") -> list[Strength]:
    """The strength of every current cell of ``db``'s namespace now (by ``db.clock``), oldest cell first.

    :param since: ``"last use"``: idle days count from the last statement or recall, and each use
        counts; ``"stored"``: they count from when the cell was stored, and no use counts.
    """
    if since not in SINCE:
        raise ValueError(f"since must be one of {', '.join(map(repr, SINCE))}, got {since!r}")
    cells = db.list_cells()
    usage = {
        row["cell_id"]: (row["recall_count"], row["last_recalled_at"])
        for row in db.query_rows(
            "SELECT r.cell_id, r.recall_count, r.last_recalled_at FROM mem_recalls r"
            " JOIN mem_cells c ON c.id = r.cell_id WHERE c.namespace = ?",
            (db.namespace,),
        )
    }
    now = db.clock()
    found: list[Strength] = []
    for cell in cells:
        recalls, recalled_at = usage.get(cell.id, (0, None))
        if since == "stored":
            last_used, uses = cell.created_at, 0
        else:
            last_used = max((t for t in (cell.created_at, cell.last_seen_at, recalled_at) if t), key=_moment)
            uses = cell.seen_count - 1 + recalls
        idle = max(0.0, (now - _moment(last_used)).total_seconds() / 86400.0)
        found.append(Strength(cell, last_used, round(idle, 3), uses, round(rule(cell.salience, idle, uses), 4)))
    return found


def forget(
    db: MemoryDB,
    policy: Forgetting | None = None,
    *,
    backend: Backend | None = None,
    calls: CallLog | None = None,
    owner: str | None = None,
) -> list[int]:
    """Archive the current cells weaker than the policy's threshold; return their ids.

    One change of the history: each archived cell with its strength as the
    reason, and the summaries of their scenes without their sentences.

    :param backend: what rewrites the summaries (the offline engine if None).
    :param calls: the call log to record its call in.
    :param owner: who claims the summaries to rewrite (see :mod:`memkit.claims`).
    """
    policy = policy or Forgetting()
    weak = [s for s in strengths(db, rule=policy.rule, since=policy.since) if s.strength < policy.threshold]
    if not weak:
        return []
    reasons = {
        s.cell.id: f"strength {s.strength:.3f} < {policy.threshold} after {s.idle_days:.0f} days unused" for s in weak
    }
    owner = owner or new_owner()
    with db.change("forgotten") as change:
        archived = archive(db, reasons)
        summarised = []
        for scene in dict.fromkeys(s.cell.scene for s in weak):
            found = db.get_scene(scene)
            if found is not None and found.summary:
                summarised.append(scene)
        gone = {scene: [s.cell.content for s in weak if s.cell.scene == scene] for scene in summarised}
        owe(change.conn, db, owner, {}, gone)  # written with the archive: a kill before the summaries loses nothing
    settle(
        db,
        backend or OfflineEngine(),
        owner,
        scenes=summarised,
        calls=calls,
        reason="forgotten",
        continues=change.id,
        rewrite_unchanged=False,
    )
    return archived


def decay_curve(
    salience: float, days: Iterable[float], *, uses: int = 0, rule: DecayRule = half_life
) -> list[tuple[float, float]]:
    """(day, strength) pairs of one cell left unused, to plot a rule."""
    return [(float(day), rule(salience, float(day), uses)) for day in days]
