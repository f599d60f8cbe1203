"""MemoryDB: memory cells and scenes in one SQLite file (or on a PostgreSQL server, see :mod:`memkit.postgres`).

One connection per database, shared by every thread through a lock, so a
chat thread, a background memory update and a notebook cell can all use the
same :class:`MemoryDB`. Transactions, history changes, raw reads and the
health check are in its base, :mod:`memkit.store`; how the file is opened
(WAL, retries, read-only files, migrations) is in :mod:`memkit.connection`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from . import fts
from .connection import Clock, Connection, open_connection, to_iso, utc_now
from .errors import CellNotFoundError
from .fts import shares_index
from .history import Change, snapshot
from .operations import MemoryOperations
from .redact import redact_secrets
from .retrieval import Candidate, Ranking, match_phrases, score_parts
from .store import Store
from .types import (
    CELL_TYPES,
    Cell,
    Hit,
    NewCell,
    Scene,
    clean_text,
    fits_sqlite_integer,
    normalise_scene,
    validate_salience,
)

__all__ = ["Clock", "MemoryDB", "to_iso", "utc_now"]

_CELL_COLUMNS = (
    "id, scene, cell_type, salience, content, source_id, occurred_at, created_at, namespace,"
    " seen_count, last_seen_at, valid_until, archived_at, context"
)
#: What a search hit needs of a cell (not its context, which can be long).
_HIT_COLUMNS = ", ".join("c." + col.strip() for col in _CELL_COLUMNS.split(",") if col.strip() != "context")
#: Context longer than this is cut (it is a search aid, not a record).
MAX_CONTEXT_CHARS = 2000
#: What makes a cell *current*: neither superseded nor archived. Only
#: :meth:`MemoryDB.cell_filter` and the ``current`` flag of search hits use it.
_CURRENT = "c.valid_until IS NULL AND c.archived_at IS NULL"
_MAX_QUERY_TERMS = 64
#: A larger ``limit`` means "all": SQLite's integers stop at 2**63.
_MAX_ROWS = 2**40
#: Ids bound in one ``IN (...)`` (well under SQLite's and PostgreSQL's limits on parameters).
_IDS_PER_QUERY = 500


def _clean_content(content: object) -> str:
    if not isinstance(content, str):
        raise TypeError(f"content must be a string, not {type(content).__name__}")
    cleaned = clean_text(content).strip()
    if not cleaned:
        raise ValueError("content must contain some text")
    return cleaned


def _clean_context(context: object) -> str | None:
    if context is None:
        return None
    if not isinstance(context, str):
        raise TypeError(f"context must be a string or None, not {type(context).__name__}")
    cleaned = " ".join(clean_text(context).split())[:MAX_CONTEXT_CHARS]
    return cleaned or None


def _open(target: str, timeout: float, *, read_only: bool, durable: bool) -> Connection:
    """The file at ``target``, or the PostgreSQL database when ``target`` is a ``postgresql://`` URL."""
    if target.startswith(("postgresql://", "postgres://")):
        from .postgres.connection import open_postgres

        return open_postgres(target, timeout, read_only=read_only)  # type: ignore[return-value]
    return open_connection(target, timeout, read_only=read_only, durable=durable)


class MemoryDB(MemoryOperations, Store):
    """Memory cells and scene summaries stored in SQLite, with ranked full-text search.

    :param path: a file path for a persistent database, ``":memory:"``, or the URL of a PostgreSQL
        database (``postgresql://user@host/dbname``, needs ``pip install "memkit[postgres]"``).
    :param namespace: whose memories this object reads and writes; two
        namespaces in one file never see each other's cells or scenes.
    :param clock: returns the current time (inject one for deterministic tests).
    :param ranking: the weights of the search score blend.
    :param cell_types: the cell types accepted on insert.
    :param timeout: seconds to wait for another process's write lock.
    :param read_only: open an existing file for reading only (a missing file is an error, never created).
    :param durable: sync every commit to the disk, so it survives a power cut or an operating-system
        crash too (a crash of the program loses nothing committed either way); slower commits.
    :raises DatabaseError: the file is not a memkit/SQLite database or cannot be opened (or the server
        cannot be reached).
    :raises SchemaVersionError: the file was written by a newer memkit.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        namespace: str = "default",
        clock: Clock | None = None,
        ranking: Ranking | None = None,
        cell_types: Sequence[str] = CELL_TYPES,
        timeout: float = 10.0,
        read_only: bool = False,
        durable: bool = False,
        _shared: Connection | None = None,
    ) -> None:
        stored_as_is = isinstance(namespace, str) and redact_secrets(clean_text(namespace)) == namespace
        if not stored_as_is or not namespace.strip():
            raise ValueError(
                "namespace must be a non-empty string without null characters, lone surrogates or key-shaped text,"
                f" got {namespace!r}"
            )
        self.namespace = namespace
        self.clock: Clock = clock or utc_now
        self.ranking = ranking or Ranking()
        self.cell_types: tuple[str, ...] = tuple(cell_types)
        self._shared = _shared or _open(os.fspath(path), timeout, read_only=read_only, durable=durable)

    def for_namespace(self, namespace: str) -> MemoryDB:
        """A view of the same database for another namespace (shares the connection)."""
        return MemoryDB(
            namespace=namespace,
            clock=self.clock,
            ranking=self.ranking,
            cell_types=self.cell_types,
            _shared=self._shared,
        )

    def __repr__(self) -> str:
        return f"MemoryDB(path={self.path!r}, namespace={self.namespace!r})"

    def _new_scenes(self, change: Change, names: Iterable[str], existed: set[str]) -> None:
        """Record the scenes the cell triggers created (they were not in ``existed``)."""
        for name in sorted(set(names) - existed):
            change.record(
                self.namespace, "scene", name, "create", None, snapshot(change.conn, self.namespace, "scene", name)
            )

    def _existing_scenes(self, names: Iterable[str]) -> set[str]:
        wanted = sorted(set(names))
        rows = self.query_rows(
            f"SELECT scene FROM mem_scenes WHERE namespace = ? AND scene IN ({', '.join('?' * len(wanted))})",
            [self.namespace, *wanted],
        )
        return {row[0] for row in rows}

    # -- cells -------------------------------------------------------------------

    def _row_values(self, cell: NewCell, exchange_id: int | None, created_at: str) -> tuple[Any, ...]:
        if not isinstance(cell, NewCell):
            raise TypeError(f"expected a NewCell, got {type(cell).__name__}")
        if cell.cell_type not in self.cell_types:
            raise ValueError(f"cell_type must be one of {', '.join(self.cell_types)}; got {cell.cell_type!r}")
        return (
            self.namespace,
            normalise_scene(cell.scene),
            cell.cell_type,
            validate_salience(cell.salience),
            _clean_content(cell.content),
            None if cell.source_id is None else clean_text(str(cell.source_id)),
            to_iso(cell.occurred_at, "occurred_at"),
            created_at,
            exchange_id,
            _clean_context(cell.context),
        )

    _INSERT = (
        "INSERT INTO mem_cells (namespace, scene, cell_type, salience, content, source_id,"
        " occurred_at, created_at, exchange_id, context) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )

    def add_cell(
        self,
        *,
        scene: str,
        cell_type: str,
        salience: float,
        content: str,
        source_id: str | None = None,
        occurred_at: str | datetime | None = None,
        context: str | None = None,
    ) -> int:
        """Store one memory cell and return its id.

        :param context: the words around the statement where it was said (the
            message it came from, the one it answered); searchable, weighted
            low, never shown as the cell's content.
        :raises ValueError: unknown ``cell_type``, salience outside [0, 1], empty content.
        """
        cell = NewCell(scene, cell_type, salience, content, source_id, occurred_at, context)  # type: ignore[arg-type]
        return self.add_cells([cell])[0]

    def add_cells(self, cells: Iterable[NewCell], *, exchange_id: int | None = None, reason: str = "") -> list[int]:
        """Store many cells in one transaction; return their ids in order.

        Every cell is validated before anything is written, so one bad cell
        stores none of them.

        :param reason: why, for the history (see :meth:`change`).
        """
        created_at = self.now()
        rows = [self._row_values(cell, exchange_id, created_at) for cell in cells]
        if not rows:
            return []
        scenes = {row[1] for row in rows}
        with self.change("cells added") as change:
            existed = self._existing_scenes(scenes)
            last = change.conn.execute("SELECT COALESCE(MAX(id), 0) FROM mem_cells").fetchone()[0]
            change.conn.executemany(self._INSERT, rows)
            cursor = change.conn.execute(  # the namespace's writers take turns, so these are the rows just added
                "SELECT * FROM mem_cells WHERE id > ? AND namespace = ? ORDER BY id", (last, self.namespace)
            )
            names = [d[0] for d in cursor.description]
            added = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            self._new_scenes(change, scenes, existed)
            change.record_added(self.namespace, "cell", added, reason)
            ids = [row["id"] for row in added]
        return ids

    def get_cell(self, cell_id: int) -> Cell | None:
        """The cell with this id in this namespace, or None."""
        if not fits_sqlite_integer(cell_id):
            return None
        rows = self.query_rows(
            f"SELECT {_CELL_COLUMNS} FROM mem_cells WHERE id = ? AND namespace = ?", (cell_id, self.namespace)
        )
        return Cell(**dict(rows[0])) if rows else None

    def get_cells(self, cell_ids: Iterable[int]) -> list[Cell]:
        """The cells with these ids in this namespace, in the order asked (ids not found are left out)."""
        wanted = list(dict.fromkeys(i for i in cell_ids if fits_sqlite_integer(i)))
        found: dict[int, Cell] = {}
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            chunk = wanted[start : start + _IDS_PER_QUERY]
            rows = self.query_rows(
                f"SELECT {_CELL_COLUMNS} FROM mem_cells WHERE namespace = ? AND id IN ({', '.join('?' * len(chunk))})",
                (self.namespace, *chunk),
            )
            found.update((row["id"], Cell(**dict(row))) for row in rows)
        return [found[i] for i in wanted if i in found]

    def update_cell(
        self,
        cell_id: int,
        *,
        content: str | None = None,
        salience: float | None = None,
        cell_type: str | None = None,
        scene: str | None = None,
    ) -> Cell:
        """Change some fields of a cell and return the updated cell.

        :raises CellNotFoundError: no such cell in this namespace.
        """
        changes: dict[str, Any] = {}
        if content is not None:
            changes["content"] = _clean_content(content)
        if salience is not None:
            changes["salience"] = validate_salience(salience)
        if cell_type is not None:
            if cell_type not in self.cell_types:
                raise ValueError(f"cell_type must be one of {', '.join(self.cell_types)}; got {cell_type!r}")
            changes["cell_type"] = cell_type
        if scene is not None:
            changes["scene"] = normalise_scene(scene)
        with self.change("cell edited") as change:
            if self.get_cell(cell_id) is None:
                raise CellNotFoundError(f"no memory cell with id {cell_id} in namespace {self.namespace!r}")
            if changes:
                existed = self._existing_scenes([changes["scene"]]) if "scene" in changes else set()
                assignments = ", ".join(f"{column} = ?" for column in changes)
                before = snapshot(change.conn, self.namespace, "cell", cell_id)
                change.conn.execute(
                    f"UPDATE mem_cells SET {assignments} WHERE id = ? AND namespace = ?",
                    (*changes.values(), cell_id, self.namespace),
                )
                if "scene" in changes:
                    self._new_scenes(change, [changes["scene"]], existed)
                after = snapshot(change.conn, self.namespace, "cell", cell_id)
                change.record(self.namespace, "cell", cell_id, "edit", before, after)
        cell = self.get_cell(cell_id)
        assert cell is not None
        return cell

    def delete_cell(self, cell_id: int) -> None:
        """Delete a cell and its links (both recorded, so :meth:`undo` brings them back).

        memkit itself never deletes: superseded and archived cells are kept.

        :raises CellNotFoundError: there is no such cell in this namespace.
        """
        with self.change("cell deleted") as change:
            before = snapshot(change.conn, self.namespace, "cell", cell_id)
            if before is None:
                raise CellNotFoundError(f"no memory cell with id {cell_id} in namespace {self.namespace!r}")
            links = change.conn.execute(
                "SELECT id FROM mem_links WHERE namespace = ? AND (source = ? OR target = ?) ORDER BY id",
                (self.namespace, cell_id, cell_id),
            ).fetchall()
            for (link_id,) in links:
                with change.tracking(self.namespace, "link", link_id, "unlink"):
                    change.conn.execute("DELETE FROM mem_links WHERE id = ?", (link_id,))
            change.conn.execute("DELETE FROM mem_cells WHERE id = ? AND namespace = ?", (cell_id, self.namespace))
            change.record(self.namespace, "cell", cell_id, "delete", before, None)

    def count_cells(self, scene: str | None = None, *, include_history: bool = False) -> int:
        """How many current cells this namespace holds (in one scene, if given).

        :param include_history: count superseded and archived cells too.
        """
        where, params = self.cell_filter(scene=scene, include_history=include_history)
        return int(self.query_rows(f"SELECT COUNT(*) FROM mem_cells c WHERE {where}", params)[0][0])

    def list_cells(
        self,
        scene: str | None = None,
        *,
        limit: int | None = None,
        include_history: bool = False,
        newest_first: bool = False,
    ) -> list[Cell]:
        """Current cells of this namespace, oldest first (of one scene, if given).

        :param include_history: list superseded and archived cells too.
        :param newest_first: the newest cells first.
        """
        where, params = self.cell_filter(scene=scene, include_history=include_history)
        sql = f"SELECT {_CELL_COLUMNS} FROM mem_cells c WHERE {where} ORDER BY c.id{' DESC' if newest_first else ''}"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(min(int(limit), _MAX_ROWS))
        return [Cell(**dict(row)) for row in self.query_rows(sql, params)]

    def cell_filter(
        self,
        *,
        scene: str | None = None,
        cell_types: Iterable[str] | None = None,
        include_history: bool = False,
    ) -> tuple[str, list[Any]]:
        """The SQL condition (on alias ``c``) selecting this namespace's cells.

        Every read that shows current memory only goes through here; history
        (superseded and archived cells) is added by ``include_history``.
        """
        clauses = ["c.namespace = ?"]
        params: list[Any] = [self.namespace]
        if not include_history:
            clauses.append(_CURRENT)
        if scene is not None:
            clauses.append("c.scene = ?")
            params.append(normalise_scene(scene))
        if cell_types is not None:
            types = [cell_types] if isinstance(cell_types, str) else list(cell_types)
            unknown = [t for t in types if t not in self.cell_types]
            if unknown:
                raise ValueError(f"unknown cell type(s) {unknown}; choose from {', '.join(self.cell_types)}")
            clauses.append(f"c.cell_type IN ({', '.join('?' * len(types))})")
            params.extend(types)
        return " AND ".join(clauses), params

    # -- search ------------------------------------------------------------------

    def search(
        self,
        query: str,
        limit: int = 10,
        *,
        scene: str | None = None,
        cell_types: Iterable[str] | None = None,
        include_history: bool = False,
    ) -> list[Hit]:
        """Current cells relevant to ``query``, best first.

        Any text is accepted: FTS5 operators and punctuation are treated as
        plain words (see :mod:`memkit.retrieval`). When no cell matches, the
        most salient cells are returned with ``matched=False`` and score 0.

        :param include_history: search superseded and archived cells too; their
            scores are scaled by ``ranking.history_weight`` and their hits have
            ``current=False``.
        :raises ValueError: ``limit`` below 1 or an unknown cell type.
        """
        if not isinstance(query, str):
            raise TypeError(f"query must be a string, not {type(query).__name__}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive integer, got {limit!r}")
        limit = min(limit, _MAX_ROWS)
        where, params = self.cell_filter(scene=scene, cell_types=cell_types, include_history=include_history)
        phrases = match_phrases(clean_text(query), max_terms=_MAX_QUERY_TERMS)
        hits: list[Hit] = []
        if phrases:
            hits = self._ranked(query, phrases, where, params, limit)
        if hits:
            return hits
        rows = self.query_rows(
            f"SELECT {_CELL_COLUMNS}, {_CURRENT} AS current FROM mem_cells c WHERE {where}"
            " ORDER BY c.salience DESC, c.id DESC LIMIT ?",
            [*params, limit],
        )
        return [self._hit(row, 0.0, matched=False) for row in rows]

    def _ranked(self, query: str, phrases: list[str], where: str, params: list[Any], limit: int) -> list[Hit]:
        ranking = self.ranking
        weights = (ranking.content_weight, ranking.scene_weight, ranking.context_weight)
        pool = ranking.pool(limit)
        if self._shared.dialect == "postgres":
            from .postgres.search import best_matches

            columns = f"{_HIT_COLUMNS}, {_CURRENT} AS current"
            rows = best_matches(self, query, _MAX_QUERY_TERMS, weights, columns, where, params, pool)
            return self._scored(query, rows, limit)
        with self._shared.reading() as conn:  # alone in its file, FTS5's bm25 is the namespace's own (memkit.fts)
            own = (
                fts.relevance(conn, self.namespace, phrases, weights, self._shared.fts_totals)
                if shares_index(conn, self.namespace)
                else None
            )
        # bm25 picks the best matches first and only those are joined to their cells: joining
        # every match before sorting costs twice as much on large memories. Cells the filter
        # (scene, type, history) rejects are made up for by asking for more, while fewer than
        # half the pool pass.
        fetch = pool
        while True:
            rows = self._best_matches(phrases, weights, fetch, where, params, own)
            kept = [row for row in rows if row["passes"]]
            if len(kept) >= max(limit, pool // 2) or len(rows) < fetch:
                break
            fetch *= 4
        return self._scored(query, kept[:pool], limit)

    def _scored(self, query: str, rows: list[Any], limit: int) -> list[Hit]:
        """The best ``limit`` of ``rows`` (matches with their relevance), scored by the ranking cues."""
        ranking = self.ranking
        candidates = [
            Candidate(
                row["relevance"], row["salience"], row["occurred_at"] or row["created_at"], row["scene"], row["content"]
            )
            for row in rows
        ]
        parts = [
            replace(made, history=1.0 if row["current"] else ranking.history_weight)
            for made, row in zip(score_parts(candidates, query, self.clock(), ranking), rows, strict=True)
        ]
        scored = sorted(zip(parts, rows, strict=True), key=lambda pair: (-pair[0].score, -pair[1]["id"]))
        return [replace(self._hit(row, why.score), parts=why) for why, row in scored[:limit]]

    def _best_matches(
        self,
        phrases: list[str],
        weights: tuple[float, float, float],
        fetch: int,
        where: str,
        params: list[Any],
        own: dict[int, float] | None,
    ) -> list[Any]:
        """The ``fetch`` best matching cells, each with its relevance and whether it ``passes`` the filter.

        :param own: the namespace's own relevance of every match (see :mod:`memkit.fts`), or None to
            take FTS5's bm25 (the namespace is alone in the file).
        """
        columns = f"{_HIT_COLUMNS}, {_CURRENT} AS current, CASE WHEN {where} THEN 1 ELSE 0 END AS passes"
        if own is None:
            return self.query_rows(
                f"""
                SELECT {columns}, f.relevance
                FROM (
                    SELECT rowid, -bm25(mem_cells_fts, ?, ?, ?) AS relevance
                    FROM mem_cells_fts WHERE mem_cells_fts MATCH ?
                    ORDER BY bm25(mem_cells_fts, ?, ?, ?), rowid LIMIT ?
                ) f JOIN mem_cells c ON c.id = f.rowid
                ORDER BY f.relevance DESC, c.id
                """,
                [*params, *weights, fts.text_expression(phrases), *weights, fetch],
            )
        best = sorted(own, key=lambda rowid: (-own[rowid], rowid))[:fetch]
        rows = {
            row["id"]: {**dict(row), "relevance": own[row["id"]]}
            for start in range(0, len(best), 500)
            for row in self.query_rows(
                f"SELECT {columns} FROM mem_cells c WHERE c.id IN ({', '.join('?' * len(best[start : start + 500]))})",
                [*params, *best[start : start + 500]],
            )
        }
        return [rows[rowid] for rowid in best if rowid in rows]

    @staticmethod
    def _hit(row: sqlite3.Row, score: float, *, matched: bool = True) -> Hit:
        return Hit(
            id=row["id"],
            scene=row["scene"],
            cell_type=row["cell_type"],
            salience=row["salience"],
            content=row["content"],
            source_id=row["source_id"],
            occurred_at=row["occurred_at"],
            score=score,
            matched=matched,
            current=bool(row["current"]),
        )

    # -- scenes ------------------------------------------------------------------

    def get_scene(self, scene: str) -> Scene | None:
        """The scene with this name in this namespace, or None."""
        return next(iter(self._scenes("s.scene = ?", [normalise_scene(scene)], include_history=True)), None)

    def upsert_scene(self, scene: str, summary: str) -> Scene:
        """Create a scene or replace its summary; return it."""
        if not isinstance(summary, str):
            raise TypeError(f"summary must be a string, not {type(summary).__name__}")
        name = normalise_scene(scene)
        with self.change("summary written") as change, change.tracking(self.namespace, "scene", name, "summary"):
            change.conn.execute(
                """
                INSERT INTO mem_scenes (namespace, scene, summary, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (namespace, scene) DO UPDATE
                SET summary = excluded.summary, updated_at = excluded.updated_at
                """,
                (self.namespace, name, clean_text(summary).strip(), self.now()),
            )
        found = self.get_scene(name)
        assert found is not None
        return found

    def list_scenes(self, *, include_history: bool = False) -> list[Scene]:
        """The scenes of this namespace, the one with the newest cell first.

        A scene whose cells are all superseded or archived is archived itself
        (its ``archived_at`` is when its last current cell went) and is listed
        only with ``include_history=True``.
        """
        return self._scenes("TRUE", [], include_history=include_history)

    def _scenes(self, condition: str, params: list[Any], *, include_history: bool) -> list[Scene]:
        current, current_params = self.cell_filter()
        rows = self.query_rows(
            f"""
            SELECT scene, summary, updated_at, cell_count, namespace,
                   CASE WHEN cell_count > 0 AND live = 0 THEN gone END AS archived_at,
                   live AS current_count
            FROM (
                SELECT s.*,
                       (SELECT COUNT(*) FROM mem_cells c WHERE {current} AND c.scene = s.scene) AS live,
                       (SELECT MAX(COALESCE(c.archived_at, c.valid_until)) FROM mem_cells c
                        WHERE c.namespace = s.namespace AND c.scene = s.scene) AS gone,
                       (SELECT MAX(c.id) FROM mem_cells c
                        WHERE c.namespace = s.namespace AND c.scene = s.scene) AS last_cell
                FROM mem_scenes s WHERE s.namespace = ? AND {condition}
            ) AS scenes
            WHERE ? OR cell_count = 0 OR live > 0
            ORDER BY last_cell IS NULL, last_cell DESC, updated_at DESC, scene
            """,
            [*current_params, self.namespace, *params, include_history],
        )
        return [Scene(**dict(row)) for row in rows]
