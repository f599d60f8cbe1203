"""MemoryDB: memory cells and scenes in one SQLite file.

One connection per database, shared by every thread through a lock, so a
chat thread, a background memory update and a notebook cell can all use the
same :class:`MemoryDB`. Files use WAL journaling, so readers in other
processes are never blocked by a writer.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import CellNotFoundError, DatabaseError, MemkitError
from .migrations import MIGRATIONS, MIGRATIONS_TABLE, applied_migrations, check_known, migrate
from .redact import redact_secrets
from .retrieval import Candidate, Ranking, build_match_expression, rerank
from .types import (
    CELL_TYPES,
    Cell,
    Hit,
    NewCell,
    Scene,
    Utterance,
    clean_text,
    normalise_scene,
    validate_salience,
)

__all__ = ["Clock", "MemoryDB", "utc_now"]

Clock = Callable[[], datetime]

_CELL_COLUMNS = (
    "id, scene, cell_type, salience, content, source_id, occurred_at, created_at, namespace,"
    " seen_count, last_seen_at, valid_until, archived_at, context"
)
#: What a search hit needs of a cell (not its context, which can be long).
_HIT_COLUMNS = ", ".join("c." + col.strip() for col in _CELL_COLUMNS.split(",") if col.strip() != "context")
#: Context longer than this is cut (it is a search aid, not a record).
MAX_CONTEXT_CHARS = 2000
#: What makes a cell *current*: neither superseded nor archived. Only
#: :meth:`MemoryDB._cell_filter` and the ``current`` flag of search hits use it.
_CURRENT = "c.valid_until IS NULL AND c.archived_at IS NULL"
_MAX_QUERY_TERMS = 64


def utc_now() -> datetime:
    """The current time, in UTC (the default clock)."""
    return datetime.now(timezone.utc)


def to_iso(value: str | datetime | None, what: str = "time") -> str | None:
    """``value`` as an ISO 8601 string (naive datetimes are taken as UTC).

    :raises ValueError: a string that is not ISO 8601.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.isoformat(timespec="seconds")
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"{what} must be an ISO 8601 date or datetime such as '2024-05-08T13:56:00', got {value!r}"
            ) from None
        return value
    raise TypeError(f"{what} must be a str or datetime, not {type(value).__name__}")


def _clean_content(content: object) -> str:
    if not isinstance(content, str):
        raise TypeError(f"content must be a string, not {type(content).__name__}")
    cleaned = redact_secrets(clean_text(content)).strip()
    if not cleaned:
        raise ValueError("content must contain some text")
    return cleaned


def _clean_context(context: object) -> str | None:
    if context is None:
        return None
    if not isinstance(context, str):
        raise TypeError(f"context must be a string or None, not {type(context).__name__}")
    cleaned = " ".join(redact_secrets(clean_text(context)).split())[:MAX_CONTEXT_CHARS]
    return cleaned or None


def _wrap(exc: sqlite3.Error, path: str) -> DatabaseError:
    """Turn a sqlite3 error into a DatabaseError whose message says the fix."""
    text = str(exc)
    where = "the in-memory database" if path == ":memory:" else repr(path)
    if "not a database" in text or "malformed" in text:
        return DatabaseError(
            f"{where} is not a memkit database or is corrupt ({text}); open another file or restore it from a backup"
        )
    if "locked" in text or "busy" in text:
        return DatabaseError(
            f"{where} stayed locked by another connection ({text}); "
            "close other programs using it, or open it with a longer timeout="
        )
    if "readonly" in text or "read-only" in text:
        return DatabaseError(f"cannot write to {where}: it is read-only ({text}); nothing was changed")
    if "full" in text:
        return DatabaseError(f"cannot write to {where}: the disk is full ({text}); nothing was changed")
    if "disk I/O error" in text:
        return DatabaseError(
            f"cannot write to {where}: the disk refused the write ({text}), it may be full or failing; "
            "nothing was changed, free some space and try again"
        )
    return DatabaseError(f"SQLite error on {where}: {text}")


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


def _retry_busy(step: Callable[[], Any], deadline: float) -> Any:
    """Run ``step``, again and again while SQLite says busy, until ``deadline``.

    Some statements (switching to WAL, reading the schema while another
    connection creates the file) get SQLITE_BUSY at once, without waiting
    for the busy timeout: retrying them is what waiting means there.
    """
    pause = 0.002
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _connect(target: str, path: str, timeout: float) -> sqlite3.Connection:
    """Open ``target`` (a path, or a ``file:`` URI for read-only access), check it
    is a memkit database this version understands, and bring its schema up to date.
    """
    read_only = "mode=ro" in target
    deadline = time.monotonic() + timeout
    try:
        conn = sqlite3.connect(
            target, timeout=timeout, isolation_level=None, check_same_thread=False, uri=target.startswith("file:")
        )
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot open {path!r}: {exc}; check the folder exists and is writable") from exc
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        tables = _retry_busy(lambda: _table_names(conn), deadline)
        if tables and MIGRATIONS_TABLE not in tables:
            raise DatabaseError(
                f"{path!r} is an SQLite database of another program (tables: {', '.join(sorted(tables)[:5])}); "
                "memkit leaves it untouched: give the path of a new file"
            )
        pending = len(MIGRATIONS) - len(check_known(_retry_busy(lambda: applied_migrations(conn), deadline)))
        if read_only:
            if pending:
                raise DatabaseError(
                    f"{path!r} was written by an older memkit and must be upgraded, but it is read-only; "
                    "copy it to a writable folder and open the copy"
                )
            return conn
        if path != ":memory:":
            mode = _retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone()[0], deadline)
            if str(mode).lower() == "wal":
                conn.execute("PRAGMA synchronous = NORMAL")
        if pending:
            _retry_busy(lambda: migrate(conn), deadline)
    except sqlite3.Error as exc:
        conn.close()
        raise _wrap(exc, path) from exc
    except MemkitError:
        conn.close()
        raise
    return conn


def _table_names(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return {row[0] for row in rows}


@dataclass
class _Connection:
    """The connection and lock shared by every namespace view of one file."""

    conn: sqlite3.Connection
    lock: threading.RLock
    path: str
    closed: bool = False
    read_only: str | None = None  # why writes are refused, when they are


class MemoryDB:
    """Memory cells and scene summaries stored in SQLite, with ranked full-text search.

    :param path: a file path for a persistent database, or ``":memory:"``.
    :param namespace: whose memories this object reads and writes; two
        namespaces in one file never see each other's cells or scenes.
    :param clock: returns the current time (inject one for deterministic tests).
    :param ranking: the weights of the search score blend.
    :param cell_types: the cell types accepted on insert.
    :param timeout: seconds to wait for another process's write lock.
    :raises DatabaseError: the file is not a memkit/SQLite database or cannot be opened.
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
        _shared: _Connection | None = None,
    ) -> None:
        if not isinstance(namespace, str) or not namespace.strip() or clean_text(namespace) != namespace:
            raise ValueError(
                f"namespace must be a non-empty string without null characters or lone surrogates, got {namespace!r}"
            )
        self.namespace = namespace
        self.clock: Clock = clock or utc_now
        self.ranking = ranking or Ranking()
        self.cell_types: tuple[str, ...] = tuple(cell_types)
        self._shared = _shared or self._open(os.fspath(path), timeout)

    @staticmethod
    def _open(path: str, timeout: float) -> _Connection:
        if path == ":memory:":
            return _Connection(conn=_connect(path, path, timeout), lock=threading.RLock(), path=path)
        if os.path.isdir(path):
            raise DatabaseError(f"{path!r} is a directory; give the path of a database file")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isfile(path) or (os.access(path, os.W_OK) and os.access(folder, os.W_OK)):
            try:
                return _Connection(conn=_connect(path, path, timeout), lock=threading.RLock(), path=path)
            except DatabaseError as exc:
                if not os.path.isfile(path) or "read-only" not in str(exc):
                    raise
        # The file or its folder cannot be written: open it for reading only.
        uri = Path(path).absolute().as_uri()
        try:
            conn = _connect(f"{uri}?mode=ro", path, timeout)
        except DatabaseError as exc:
            if not ("unable to open" in str(exc) or "read-only" in str(exc)) or os.path.exists(f"{path}-wal"):
                raise
            # No -wal file, so the main file holds everything, but SQLite cannot
            # create its shared-memory file in a read-only folder: read the file
            # as a snapshot that nothing changes while it is open.
            conn = _connect(f"{uri}?mode=ro&immutable=1", path, timeout)
        reason = f"{path!r} is opened read-only because the file or its folder cannot be written"
        return _Connection(conn=conn, lock=threading.RLock(), path=path, read_only=reason)

    # -- connection management -------------------------------------------------

    @property
    def path(self) -> str:
        """The database file path (or ``":memory:"``)."""
        return self._shared.path

    @property
    def read_only(self) -> bool:
        """Whether the file was opened for reading only (it or its folder cannot be written)."""
        return self._shared.read_only is not None

    def for_namespace(self, namespace: str) -> MemoryDB:
        """A view of the same database for another namespace (shares the connection)."""
        return MemoryDB(
            namespace=namespace,
            clock=self.clock,
            ranking=self.ranking,
            cell_types=self.cell_types,
            _shared=self._shared,
        )

    def close(self) -> None:
        """Close the connection (for every namespace view of it)."""
        with self._shared.lock:
            if not self._shared.closed:
                self._shared.conn.close()
                self._shared.closed = True

    def __enter__(self) -> MemoryDB:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MemoryDB(path={self.path!r}, namespace={self.namespace!r})"

    def now(self) -> str:
        """The clock's current time as an ISO 8601 string."""
        return self.clock().astimezone(timezone.utc).isoformat(timespec="seconds")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the writes inside the ``with`` block as one atomic transaction.

        Nested blocks become savepoints. On an exception everything written
        in the block is rolled back and the exception propagates (sqlite3
        errors become :class:`DatabaseError`).
        """
        shared = self._shared
        with shared.lock:
            if shared.closed:
                raise DatabaseError("this MemoryDB is closed; open the file again")
            if shared.read_only is not None:
                raise DatabaseError(f"cannot write: {shared.read_only}; copy it to a writable folder to change it")
            conn = shared.conn
            nested = conn.in_transaction
            try:
                conn.execute("SAVEPOINT memkit_nested" if nested else "BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _wrap(exc, shared.path) from exc
            try:
                yield conn
            except BaseException as exc:
                try:
                    if nested:
                        conn.execute("ROLLBACK TO memkit_nested")
                        conn.execute("RELEASE memkit_nested")
                    else:
                        conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the original error says more than the failed rollback
                if isinstance(exc, sqlite3.Error):
                    raise _wrap(exc, shared.path) from exc
                raise
            else:
                try:
                    conn.execute("RELEASE memkit_nested" if nested else "COMMIT")
                except sqlite3.Error as exc:
                    if not nested and conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise _wrap(exc, shared.path) from exc

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        shared = self._shared
        with shared.lock:
            if shared.closed:
                raise DatabaseError("this MemoryDB is closed; open the file again")
            try:
                cursor = shared.conn.execute(sql, params)
                cursor.row_factory = sqlite3.Row
                return cursor.fetchall()
            except sqlite3.Error as exc:
                raise _wrap(exc, shared.path) from exc

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

    def add_cells(self, cells: Iterable[NewCell], *, exchange_id: int | None = None) -> list[int]:
        """Store many cells in one transaction; return their ids in order.

        Every cell is validated before anything is written, so one bad cell
        stores none of them.
        """
        created_at = self.now()
        rows = [self._row_values(cell, exchange_id, created_at) for cell in cells]
        if not rows:
            return []
        with self.transaction() as conn:
            last = conn.execute("SELECT COALESCE(MAX(id), 0) FROM mem_cells").fetchone()[0]
            conn.executemany(self._INSERT, rows)
            ids = [row[0] for row in conn.execute("SELECT id FROM mem_cells WHERE id > ? ORDER BY id", (last,))]
        return ids

    def get_cell(self, cell_id: int) -> Cell | None:
        """The cell with this id in this namespace, or None."""
        rows = self._query(
            f"SELECT {_CELL_COLUMNS} FROM mem_cells WHERE id = ? AND namespace = ?", (cell_id, self.namespace)
        )
        return Cell(**dict(rows[0])) if rows else None

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
        with self.transaction() as conn:
            if changes:
                assignments = ", ".join(f"{column} = ?" for column in changes)
                cursor = conn.execute(
                    f"UPDATE mem_cells SET {assignments} WHERE id = ? AND namespace = ?",
                    (*changes.values(), cell_id, self.namespace),
                )
                found = cursor.rowcount > 0
            else:
                found = self.get_cell(cell_id) is not None
            if not found:
                raise CellNotFoundError(f"no memory cell with id {cell_id} in namespace {self.namespace!r}")
        cell = self.get_cell(cell_id)
        assert cell is not None
        return cell

    def delete_cell(self, cell_id: int) -> bool:
        """Delete a cell; return False if there was none with that id."""
        with self.transaction() as conn:
            cursor = conn.execute("DELETE FROM mem_cells WHERE id = ? AND namespace = ?", (cell_id, self.namespace))
        return cursor.rowcount > 0

    def count_cells(self, scene: str | None = None, *, include_history: bool = False) -> int:
        """How many current cells this namespace holds (in one scene, if given).

        :param include_history: count superseded and archived cells too.
        """
        where, params = self._cell_filter(scene=scene, include_history=include_history)
        return int(self._query(f"SELECT COUNT(*) FROM mem_cells c WHERE {where}", params)[0][0])

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
        where, params = self._cell_filter(scene=scene, include_history=include_history)
        sql = f"SELECT {_CELL_COLUMNS} FROM mem_cells c WHERE {where} ORDER BY c.id{' DESC' if newest_first else ''}"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [Cell(**dict(row)) for row in self._query(sql, params)]

    def _cell_filter(
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
        where, params = self._cell_filter(scene=scene, cell_types=cell_types, include_history=include_history)
        expression = build_match_expression(clean_text(query), max_terms=_MAX_QUERY_TERMS)
        hits: list[Hit] = []
        if expression is not None:
            hits = self._ranked(query, expression, where, params, limit)
        if hits:
            return hits
        rows = self._query(
            f"SELECT {_CELL_COLUMNS}, {_CURRENT} AS current FROM mem_cells c WHERE {where}"
            " ORDER BY c.salience DESC, c.id DESC LIMIT ?",
            [*params, limit],
        )
        return [self._hit(row, 0.0, matched=False) for row in rows]

    def _ranked(self, query: str, expression: str, where: str, params: list[Any], limit: int) -> list[Hit]:
        ranking = self.ranking
        weights = (ranking.content_weight, ranking.scene_weight, ranking.context_weight)
        pool = ranking.pool(limit)
        # bm25 picks the best matches first and only those are joined to their cells: joining
        # every match before sorting costs twice as much on large memories. Cells the filter
        # (namespace, scene, type, history) rejects are made up for by asking for more, while
        # fewer than half the pool pass.
        fetch = pool
        while True:
            rows = self._query(
                f"""
                SELECT {_HIT_COLUMNS}, {_CURRENT} AS current, f.relevance, CASE WHEN {where} THEN 1 ELSE 0 END AS passes
                FROM (
                    SELECT rowid, -bm25(mem_cells_fts, ?, ?, ?) AS relevance
                    FROM mem_cells_fts WHERE mem_cells_fts MATCH ?
                    ORDER BY bm25(mem_cells_fts, ?, ?, ?) LIMIT ?
                ) f JOIN mem_cells c ON c.id = f.rowid
                ORDER BY f.relevance DESC
                """,
                [*params, *weights, expression, *weights, fetch],
            )
            kept = [row for row in rows if row["passes"]]
            if len(kept) >= max(limit, pool // 2) or len(rows) < fetch:
                break
            fetch *= 4
        rows = kept[:pool]
        candidates = [
            Candidate(
                row["relevance"], row["salience"], row["occurred_at"] or row["created_at"], row["scene"], row["content"]
            )
            for row in rows
        ]
        scores = [
            score * (1.0 if row["current"] else ranking.history_weight)
            for score, row in zip(rerank(candidates, query, self.clock(), ranking), rows, strict=True)
        ]
        scored = sorted(zip(scores, rows, strict=True), key=lambda pair: (-pair[0], -pair[1]["id"]))
        return [self._hit(row, score) for score, row in scored[:limit]]

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
        with self.transaction() as conn:
            conn.execute(
                """
                INSERT INTO mem_scenes (namespace, scene, summary, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (namespace, scene) DO UPDATE
                SET summary = excluded.summary, updated_at = excluded.updated_at
                """,
                (self.namespace, name, redact_secrets(clean_text(summary)).strip(), self.now()),
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
        return self._scenes("1", [], include_history=include_history)

    def _scenes(self, condition: str, params: list[Any], *, include_history: bool) -> list[Scene]:
        current, current_params = self._cell_filter()
        rows = self._query(
            f"""
            SELECT scene, summary, updated_at, cell_count, namespace,
                   CASE WHEN cell_count > 0 AND live = 0 THEN gone END AS archived_at
            FROM (
                SELECT s.*,
                       (SELECT COUNT(*) FROM mem_cells c WHERE {current} AND c.scene = s.scene) AS live,
                       (SELECT MAX(COALESCE(c.archived_at, c.valid_until)) FROM mem_cells c
                        WHERE c.namespace = s.namespace AND c.scene = s.scene) AS gone,
                       (SELECT MAX(c.id) FROM mem_cells c
                        WHERE c.namespace = s.namespace AND c.scene = s.scene) AS last_cell
                FROM mem_scenes s WHERE s.namespace = ? AND {condition}
            )
            WHERE ? OR cell_count = 0 OR live > 0
            ORDER BY last_cell IS NULL, last_cell DESC, updated_at DESC, scene
            """,
            [*current_params, self.namespace, *params, include_history],
        )
        return [Scene(**dict(row)) for row in rows]

    # -- exchanges (the raw log memory is built from) ----------------------------

    def log_exchange(
        self,
        utterances: Sequence[Utterance],
        *,
        source_id: str | None = None,
        occurred_at: str | datetime | None = None,
    ) -> int:
        """Record an exchange before it is turned into cells; return its id."""
        payload = json.dumps(
            [[redact_secrets(clean_text(u.speaker)), redact_secrets(clean_text(u.text))] for u in utterances],
            ensure_ascii=False,
        )
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO mem_exchanges (namespace, utterances, source_id, occurred_at, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    self.namespace,
                    payload,
                    None if source_id is None else clean_text(str(source_id)),
                    to_iso(occurred_at, "occurred_at"),
                    self.now(),
                ),
            )
        return int(cursor.lastrowid or 0)

    def mark_exchange(self, exchange_id: int, status: str, error: str | None = None) -> None:
        """Set an exchange's status to ``pending``, ``done`` or ``failed``."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE mem_exchanges SET status = ?, error = ? WHERE id = ? AND namespace = ?",
                (status, None if error is None else redact_secrets(clean_text(error)), exchange_id, self.namespace),
            )

    def unfinished_exchanges(self) -> list[tuple[int, list[Utterance], str | None, str | None]]:
        """Exchanges still pending or failed: (id, utterances, source_id, occurred_at)."""
        rows = self._query(
            "SELECT id, utterances, source_id, occurred_at FROM mem_exchanges"
            " WHERE namespace = ? AND status != 'done' ORDER BY id",
            (self.namespace,),
        )
        return [
            (
                row["id"],
                [Utterance(speaker, text) for speaker, text in json.loads(row["utterances"])],
                row["source_id"],
                row["occurred_at"],
            )
            for row in rows
        ]

    # -- reading the raw tables ------------------------------------------------

    def sql(self, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run one read-only SQL statement and return its rows as dicts (to look inside memory).

        The statement sees every namespace. Anything that would write is refused.

        :raises DatabaseError: the SQL is invalid or tries to write.
        """
        if not isinstance(statement, str):
            raise TypeError(f"statement must be a string of SQL, not {type(statement).__name__}")
        shared = self._shared
        with shared.lock:
            if shared.closed:
                raise DatabaseError("this MemoryDB is closed; open the file again")
            conn = shared.conn
            try:
                conn.execute("PRAGMA query_only = ON")
                try:
                    cursor = conn.execute(statement, params)
                    columns = [column[0] for column in cursor.description or ()]
                    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
                finally:
                    conn.execute("PRAGMA query_only = OFF")
            except sqlite3.Error as exc:
                if "readonly" in str(exc):
                    raise DatabaseError(
                        "db.sql() only reads; change memory with add_cell, update_cell, delete_cell or upsert_scene"
                    ) from exc
                raise _wrap(exc, shared.path) from exc

    # -- health ------------------------------------------------------------------

    def check_integrity(self) -> list[str]:
        """Problems found in the whole file (every namespace); empty when healthy.

        Checks SQLite's own ``integrity_check``, FTS5's check of the index
        against ``mem_cells`` (not on a read-only file), that the index holds exactly the rows of
        ``mem_cells``, that each scene's ``cell_count`` is its number of cells,
        and that no cells belong to an exchange not marked done (an exchange's
        cells are stored in the transaction that marks it done, so it has all
        of them or none).
        """
        problems = [f"SQLite integrity_check: {row[0]}" for row in self._query("PRAGMA integrity_check")]
        problems = [problem for problem in problems if problem != "SQLite integrity_check: ok"]
        try:
            if not self.read_only:  # FTS5 runs its check as a write statement
                self._query("INSERT INTO mem_cells_fts (mem_cells_fts, rank) VALUES ('integrity-check', 1)")
        except DatabaseError:
            problems.append(
                "full-text index out of sync with mem_cells (FTS5 integrity-check failed); rebuild it with"
                " INSERT INTO mem_cells_fts (mem_cells_fts) VALUES ('rebuild')"
            )
        self._query(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.memkit_fts_rows USING fts5vocab(main, mem_cells_fts, instance)"
        )
        indexed = {row[0] for row in self._query("SELECT DISTINCT doc FROM temp.memkit_fts_rows")}
        stored = {row[0] for row in self._query("SELECT id FROM mem_cells")}
        if indexed != stored:
            missing, extra = sorted(stored - indexed)[:10], sorted(indexed - stored)[:10]
            problems.append(f"full-text index rows differ from mem_cells: not indexed {missing}, indexed only {extra}")
        for row in self._query(
            """
            SELECT c.namespace, c.scene, COUNT(*) AS cells, COALESCE(MAX(s.cell_count), -1) AS counted
            FROM mem_cells c LEFT JOIN mem_scenes s ON s.namespace = c.namespace AND s.scene = c.scene
            GROUP BY c.namespace, c.scene HAVING cells != counted
            UNION ALL
            SELECT s.namespace, s.scene, 0, s.cell_count FROM mem_scenes s
            WHERE s.cell_count != 0 AND NOT EXISTS
                (SELECT 1 FROM mem_cells c WHERE c.namespace = s.namespace AND c.scene = s.scene)
            """
        ):
            problems.append(
                f"scene {row['scene']!r} of namespace {row['namespace']!r} has {row['cells']} cells"
                f" but records {row['counted']}"
            )
        for row in self._query(
            """
            SELECT e.id, e.status, COUNT(c.id) AS cells FROM mem_exchanges e
            JOIN mem_cells c ON c.exchange_id = e.id WHERE e.status != 'done' GROUP BY e.id ORDER BY e.id
            """
        ):
            problems.append(f"exchange {row['id']} is {row['status']} but already has {row['cells']} cells")
        return problems
