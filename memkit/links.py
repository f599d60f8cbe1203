"""Links between memory cells: same subject, cause, follows-from, replaces.

A link reads ``source kind target``: "12 replaces 7", "9 follows-from 4",
"3 cause 8" (3 is a cause of 8). The manager makes them from the extraction
step's decisions; :func:`neighbours` lets recall follow them one hop, to the
current cells linked to what a search found; :func:`graph` exports cells,
scenes and links as plain data (JSON-ready; :mod:`memkit.graph` draws it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import CellNotFoundError, LinkNotFoundError
from .history import snapshot
from .types import LINK_KINDS, Cell, Link, LinkKind, fits_sqlite_integer, normalise_scene

if TYPE_CHECKING:
    from .db import MemoryDB

__all__ = [
    "FOLLOW_ORDER",
    "Neighbour",
    "Trail",
    "follow",
    "graph",
    "link",
    "links_of",
    "list_links",
    "neighbours",
    "unlink",
]

#: Which links recall follows first: a cause or a consequence says more than a shared subject.
FOLLOW_ORDER: tuple[str, ...] = ("cause", "follows-from", "replaces", "same-subject")

_LINK_COLUMNS = "id, source, target, kind, reason, created_at, namespace"


def _check_cells(db: MemoryDB, *cell_ids: int) -> None:
    for cell_id in cell_ids:
        if db.get_cell(cell_id) is None:
            raise CellNotFoundError(f"no memory cell with id {cell_id} in namespace {db.namespace!r}")


def link(db: MemoryDB, source: int, target: int, kind: LinkKind, *, reason: str = "") -> Link:
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
        rows = db.query_rows(
            f"SELECT {_LINK_COLUMNS} FROM mem_links WHERE source = ? AND target = ? AND kind = ?",
            (source, target, kind),
        )
        found = Link(**dict(rows[0]))
        if cursor.rowcount:
            after = snapshot(change.conn, db.namespace, "link", found.id)
            change.record(db.namespace, "link", found.id, "link", None, after, reason)
    return found


def unlink(db: MemoryDB, link_id: int) -> None:
    """Remove a link.

    :raises LinkNotFoundError: there is no link with that id in ``db``'s namespace.
    """
    with db.change("unlinked") as change:
        before = snapshot(change.conn, db.namespace, "link", link_id)
        if before is None:
            raise LinkNotFoundError(f"no link with id {link_id} in namespace {db.namespace!r}")
        change.conn.execute("DELETE FROM mem_links WHERE id = ? AND namespace = ?", (link_id, db.namespace))
        change.record(db.namespace, "link", link_id, "unlink", before, None)


def list_links(db: MemoryDB, kinds: Iterable[str] | None = None) -> list[Link]:
    """Every link of ``db``'s namespace, oldest first (of some kinds, if given)."""
    sql = f"SELECT {_LINK_COLUMNS} FROM mem_links WHERE namespace = ?"
    params: list[object] = [db.namespace]
    if kinds is not None:
        wanted = [kinds] if isinstance(kinds, str) else list(kinds)
        sql += f" AND kind IN ({', '.join('?' * len(wanted))})"
        params.extend(wanted)
    return [Link(**dict(row)) for row in db.query_rows(sql + " ORDER BY id", params)]


def links_of(db: MemoryDB, cell_id: int) -> list[Link]:
    """The links from or to one cell, oldest first."""
    if not fits_sqlite_integer(cell_id):
        return []
    rows = db.query_rows(
        f"SELECT {_LINK_COLUMNS} FROM mem_links WHERE namespace = ? AND (source = ? OR target = ?) ORDER BY id",
        (db.namespace, cell_id, cell_id),
    )
    return [Link(**dict(row)) for row in rows]


@dataclass(frozen=True)
class Neighbour:
    """A current cell one link away from a recalled one (``via``)."""

    cell: Cell
    link: Link
    via: int


def neighbours(
    db: MemoryDB, cell_ids: Sequence[int], *, limit: int = 2, exclude: Iterable[int] = ()
) -> list[Neighbour]:
    """Current cells linked to any of ``cell_ids``, not among them or ``exclude``, at most ``limit``.

    Links are followed in either direction. Neighbours of the first of
    ``cell_ids`` (the best hit) come first; for one cell, causes and
    consequences before a shared subject (:data:`FOLLOW_ORDER`), then the
    more salient. A ``replaces`` link from a current cell leads to history,
    which is not current, so it is not followed.
    """
    ids = list(dict.fromkeys(int(i) for i in cell_ids))
    if not ids or limit < 1:
        return []
    marks = ", ".join("?" * len(ids))
    skipped = list(dict.fromkeys([*ids, *(int(i) for i in exclude)]))
    where, params = db.cell_filter()
    columns = ", ".join(f"c.{name} AS cell_{name}" for name in Cell.__dataclass_fields__)
    rows = db.query_rows(
        f"""
        SELECT l.id, l.source, l.target, l.kind, l.reason, l.created_at, l.namespace, {columns},
               CASE WHEN l.source IN ({marks}) THEN l.source ELSE l.target END AS via
        FROM mem_links l JOIN mem_cells c
          ON c.id = CASE WHEN l.source IN ({marks}) THEN l.target ELSE l.source END
        WHERE l.namespace = ? AND (l.source IN ({marks}) OR l.target IN ({marks}))
          AND c.id NOT IN ({", ".join("?" * len(skipped))}) AND {where}
        """,
        [*ids, *ids, db.namespace, *ids, *ids, *skipped, *params],
    )

    def rank(n: Neighbour) -> tuple[int, int, float, int, int]:
        return ids.index(n.via), FOLLOW_ORDER.index(n.link.kind), -n.cell.salience, n.cell.id, n.link.id

    best: dict[int, Neighbour] = {}
    for row in rows:
        values = dict(row)
        cell = Cell(**{name: values[f"cell_{name}"] for name in Cell.__dataclass_fields__})
        neighbour = Neighbour(cell, Link(*(values[k] for k in _LINK_COLUMNS.split(", "))), values["via"])
        if cell.id not in best or rank(neighbour) < rank(best[cell.id]):
            best[cell.id] = neighbour  # a cell reached by several links counts once, by its best one
    return sorted(best.values(), key=rank)[:limit]


@dataclass(frozen=True)
class Trail:
    """A current cell reached from a start cell by following links, and the links followed, in order."""

    cell: Cell
    start: int
    links: tuple[Link, ...]

    @property
    def hops(self) -> int:
        """How many links were followed."""
        return len(self.links)


def follow(db: MemoryDB, cell_ids: Sequence[int], *, hops: int = 2, per_hop: int = 10) -> list[Trail]:
    """The current cells reached from ``cell_ids`` in at most ``hops`` links, nearest first: a graph query.

    Each hop follows the links of the cells the last hop reached, as recall follows one
    (:func:`neighbours`: either direction, current cells only, at most ``per_hop`` a hop).
    A cell is reached once, by its shortest trail.

    :raises ValueError: ``hops`` below 1.
    """
    if isinstance(hops, bool) or not isinstance(hops, int) or hops < 1:
        raise ValueError(f"hops must be a positive integer, got {hops!r}")
    trails: dict[int, Trail] = {}
    frontier = [int(i) for i in dict.fromkeys(cell_ids)]
    seen = set(frontier)
    for _ in range(hops):
        if not frontier:
            break
        reached = neighbours(db, frontier, limit=per_hop, exclude=seen)
        for found in reached:
            before = trails.get(found.via)
            start = before.start if before else found.via
            trails[found.cell.id] = Trail(found.cell, start, (*(before.links if before else ()), found.link))
        frontier = [found.cell.id for found in reached]
        seen.update(frontier)
    return list(trails.values())


def graph(
    db: MemoryDB, *, include_history: bool = False, scenes: Iterable[str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Cells, scenes and links as plain data: ``{"nodes": [...], "edges": [...]}``.

    Nodes are ``"cell:12"`` (content, cell type, scene, salience, status) and
    ``"scene:kitchen"`` (summary, archived); edges are ``in-scene`` (cell to
    its scene) and the links, ``source kind target``. With
    ``include_history=True`` superseded and archived cells, archived scenes
    and the links to them are included; with ``scenes``, only those scenes
    and their cells. ``json.dumps`` writes it as it is.
    """
    wanted = None if scenes is None else {normalise_scene(name) for name in scenes}
    cells = [c for c in db.list_cells(include_history=include_history) if wanted is None or c.scene in wanted]
    shown = {cell.id for cell in cells}
    found = [s for s in db.list_scenes(include_history=include_history) if wanted is None or s.scene in wanted]
    nodes: list[dict[str, Any]] = [
        {
            "id": f"scene:{s.scene}",
            "kind": "scene",
            "label": s.scene,
            "summary": s.summary,
            "archived": s.archived_at is not None,
        }
        for s in found
        if s.cell_count or s.summary
    ]
    nodes += [
        {
            "id": f"cell:{c.id}",
            "kind": "cell",
            "label": c.content,
            "cell_type": c.cell_type,
            "scene": c.scene,
            "salience": c.salience,
            "status": c.status,
        }
        for c in cells
    ]
    edges: list[dict[str, Any]] = [
        {"source": f"cell:{c.id}", "target": f"scene:{c.scene}", "kind": "in-scene"} for c in cells
    ]
    edges += [
        {"source": f"cell:{x.source}", "target": f"cell:{x.target}", "kind": x.kind, "reason": x.reason}
        for x in list_links(db)
        if x.source in shown and x.target in shown
    ]
    return {"nodes": nodes, "edges": edges}
