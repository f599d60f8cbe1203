"""The store under :class:`memkit.MemoryDB`: one database shared by every namespace view.

Transactions, history changes (see :mod:`memkit.history`), the log of the
exchanges memory is built from, read-only SQL to look inside, and the health
check. What memory *is* (cells, search, scenes) is in :mod:`memkit.db`.

The database is a SQLite file (:class:`memkit.connection.Connection`) or a
PostgreSQL server (:class:`memkit.postgres.connection.PgConnection`): the
connection object runs transactions and trusted reads, and the few things
that differ (read-only SQL, the health check of the index, search) are asked
of :mod:`memkit.postgres` when its ``dialect`` is ``"postgres"``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, TypeVar

from .claims import is_claimable, lease_until, wall_clock
from .connection import Clock, Connection, to_iso, wrap_error
from .errors import DatabaseError
from .history import Change
from .rawsql import ReadOnlySQLError, run_read_only
from .schema import schema_differences
from .types import Utterance, clean_text

__all__ = ["READ_ONLY_HINT", "Store"]

#: What a write refused by :meth:`Store.sql` is told.
READ_ONLY_HINT = "db.sql() only reads; change memory with add_cell, update_cell, delete_cell or upsert_scene"

_S = TypeVar("_S", bound="Store")


class Store:
    """A namespace's view of one shared database connection (the base of :class:`memkit.MemoryDB`)."""

    namespace: str
    clock: Clock
    _shared: Connection

    # -- connection management -------------------------------------------------

    @property
    def path(self) -> str:
        """The database file path (or ``":memory:"``)."""
        return self._shared.path

    @property
    def dialect(self) -> str:
        """Which store holds the memory: ``"sqlite"`` (a file) or ``"postgres"`` (a server)."""
        return self._shared.dialect

    @property
    def read_only(self) -> bool:
        """Whether the file was opened for reading only (it or its folder cannot be written)."""
        return self._shared.read_only is not None

    def close(self) -> None:
        """Close the connection (for every namespace view of it)."""
        self._shared.close()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def now(self) -> str:
        """The clock's current time as an ISO 8601 string."""
        return self.clock().astimezone(timezone.utc).isoformat(timespec="seconds")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the writes inside the ``with`` block as one atomic transaction.

        Nested blocks become savepoints. On an exception everything written
        in the block is rolled back and the exception propagates (errors of
        the database become :class:`DatabaseError`).
        """
        with self._shared.transaction(self.namespace) as conn:
            yield conn

    @contextmanager
    def change(
        self, reason: str = "", *, exchange_id: int | None = None, continues: int | None = None
    ) -> Iterator[Change]:
        """Make the writes inside the ``with`` block one change of the history: one transaction, one step of undo.

        Every write method records its events into the change open on this
        connection, or opens its own. A block inside another joins it.

        :param reason: why, recorded with each event that gives no reason of its own.
        :param exchange_id: the exchange that caused the change.
        :param continues: the id of an earlier change this one completes
            (the manager's consolidation continues its exchange's change).
        """
        with self.transaction() as conn:
            shared = self._shared
            if shared.change is not None:
                yield shared.change
                return
            shared.change = Change(conn, reason, exchange_id, self.now, continues)
            try:
                yield shared.change
            finally:
                shared.change = None

    def query_rows(self, sql: str, params: Sequence[Any] = (), *, writer: bool = False) -> list[sqlite3.Row]:
        """The rows of one trusted statement (see :meth:`Connection.reading` for which connection runs it).

        For memkit's own modules (history, links, forgetting) and extensions;
        to look at memory, call :meth:`sql`, which refuses anything but reads.
        """
        return self._shared.rows(sql, params, writer=writer)

    # -- exchanges (the raw log memory is built from) ----------------------------

    def log_exchange(
        self,
        utterances: Sequence[Utterance],
        *,
        source_id: str | None = None,
        occurred_at: str | datetime | None = None,
        owner: str | None = None,
    ) -> int:
        """Record an exchange before it is turned into cells; return its id.

        :param owner: the memory manager about to process it, which claims it (see :mod:`memkit.claims`).
        """
        payload = json.dumps(_stored(utterances), ensure_ascii=False)
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO mem_exchanges (namespace, utterances, source_id, occurred_at, created_at, owner,"
                " lease_until) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    self.namespace,
                    payload,
                    None if source_id is None else clean_text(str(source_id)),
                    to_iso(occurred_at, "occurred_at"),
                    self.now(),
                    owner,
                    None if owner is None else lease_until(),
                ),
            )
        return int(cursor.lastrowid or 0)

    def extend_exchange(self, exchange_id: int, utterances: Sequence[Utterance]) -> None:
        """Add utterances to a logged exchange (the reply to a message logged before it was answered)."""
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT utterances FROM mem_exchanges WHERE id = ? AND namespace = ?", (exchange_id, self.namespace)
            ).fetchone()
            if row is None:
                raise ValueError(f"no exchange {exchange_id} in namespace {self.namespace!r}")
            conn.execute(
                "UPDATE mem_exchanges SET utterances = ? WHERE id = ?",
                (json.dumps([*json.loads(row[0]), *_stored(utterances)], ensure_ascii=False), exchange_id),
            )

    def mark_exchange(
        self, exchange_id: int, status: str, error: str | None = None, *, owner: str | None = None
    ) -> bool:
        """Set an exchange's status to ``pending``, ``done`` or ``failed``, ending any claim on it.

        :param owner: change it only if it is not done yet and no other program claimed it
            (one may have taken it over when ``owner``'s claim ran out); inside a transaction, a False
            answer tells the caller to roll back what it stored for the exchange.
        :returns: whether the exchange was changed.
        """
        condition = "" if owner is None else " AND status != 'done' AND (owner = ? OR owner IS NULL)"
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE mem_exchanges SET status = ?, error = ?, owner = NULL, lease_until = NULL"
                f" WHERE id = ? AND namespace = ?{condition}",
                (status, None if error is None else clean_text(error), exchange_id, self.namespace)
                + (() if owner is None else (owner,)),
            )
        return cursor.rowcount > 0

    def claim_exchange(self, exchange_id: int, owner: str) -> bool:
        """Claim an unfinished exchange for ``owner``, unless another program's claim on it still holds.

        On PostgreSQL the row is read ``FOR UPDATE SKIP LOCKED``: of two programs claiming it at once,
        one gets it and the other is told no at once, without waiting.
        """
        with self._shared.transaction(self.namespace, exclusive=False) as conn:
            row = conn.execute(
                "SELECT owner, lease_until FROM mem_exchanges WHERE id = ? AND namespace = ? AND status != 'done'"
                + self._shared.lock_rows,
                (exchange_id, self.namespace),
            ).fetchone()
            if row is None or not is_claimable(row[0], row[1], owner):
                return False
            conn.execute(
                "UPDATE mem_exchanges SET owner = ?, lease_until = ? WHERE id = ?", (owner, lease_until(), exchange_id)
            )
        return True

    def unfinished_exchanges(self) -> list[tuple[int, list[Utterance], str | None, str | None]]:
        """Exchanges still pending or failed: (id, utterances, source_id, occurred_at)."""
        rows = self.query_rows(
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
        if shared.dialect == "postgres":
            from .postgres.checks import run_read_only as run_on_server

            return run_on_server(shared, statement, params)  # type: ignore[arg-type]
        with shared.reading() as conn:
            try:
                return run_read_only(conn, statement, params)
            except (ReadOnlySQLError, sqlite3.Error) as exc:
                if isinstance(exc, ReadOnlySQLError) or "readonly" in str(exc):
                    raise ReadOnlySQLError(READ_ONLY_HINT + f" ({exc})") from exc
                raise wrap_error(exc, shared.path) from exc

    # -- health ------------------------------------------------------------------

    def check_integrity(self) -> list[str]:
        """Problems found in the whole file (every namespace); empty when healthy.

        Checks SQLite's own ``integrity_check``, FTS5's check of the index
        against ``mem_cells`` (not on a read-only file), that the index holds exactly the rows of
        ``mem_cells``, that each scene's ``cell_count`` is its number of cells,
        and that no cells belong to an exchange not marked done (an exchange's
        cells are stored in the transaction that marks it done, so it has all
        of them or none).

        On PostgreSQL: the migrations recorded and the tables present, and that
        each cell's ``tsvector`` is the one its text gives, instead of SQLite's own checks.
        """
        if self._shared.dialect == "postgres":
            from .postgres.checks import server_problems

            return server_problems(self) + self._common_problems()
        problems = [f"SQLite integrity_check: {row[0]}" for row in self.query_rows("PRAGMA integrity_check")]
        problems = [problem for problem in problems if problem != "SQLite integrity_check: ok"]
        with self._shared.reading() as conn:
            problems += [f"schema: {difference}" for difference in schema_differences(conn)]
        try:
            if not self.read_only:  # FTS5 runs its check as a write statement
                self.query_rows(
                    "INSERT INTO mem_cells_fts (mem_cells_fts, rank) VALUES ('integrity-check', 1)", writer=True
                )
        except DatabaseError:
            problems.append(
                "full-text index out of sync with mem_cells (FTS5 integrity-check failed); rebuild it with"
                " INSERT INTO mem_cells_fts (mem_cells_fts) VALUES ('rebuild')"
            )
        self.query_rows(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.memkit_fts_rows USING fts5vocab(main, mem_cells_fts, instance)"
        )
        indexed = {row[0] for row in self.query_rows("SELECT DISTINCT doc FROM temp.memkit_fts_rows")}
        stored = {row[0] for row in self.query_rows("SELECT id FROM mem_cells")}
        if indexed != stored:
            missing, extra = sorted(stored - indexed)[:10], sorted(indexed - stored)[:10]
            problems.append(f"full-text index rows differ from mem_cells: not indexed {missing}, indexed only {extra}")
        return problems + self._common_problems()

    def _common_problems(self) -> list[str]:
        """The checks both stores make: scene counts, exchanges' cells, work left unfinished."""
        problems = []
        for row in self.query_rows(
            """
            SELECT c.namespace, c.scene, COUNT(*) AS cells, COALESCE(MAX(s.cell_count), -1) AS counted
            FROM mem_cells c LEFT JOIN mem_scenes s ON s.namespace = c.namespace AND s.scene = c.scene
            GROUP BY c.namespace, c.scene HAVING COUNT(*) != COALESCE(MAX(s.cell_count), -1)
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
        for row in self.query_rows(
            """
            SELECT e.id, e.status, COUNT(c.id) AS cells FROM mem_exchanges e
            JOIN mem_cells c ON c.exchange_id = e.id WHERE e.status != 'done' GROUP BY e.id, e.status ORDER BY e.id
            """
        ):
            problems.append(f"exchange {row['id']} is {row['status']} but already has {row['cells']} cells")
        return problems + self._unfinished_work()

    def _unfinished_work(self) -> list[str]:
        """Work a program left behind: exchanges and summaries whose claim ran out, and exchanges stored twice."""
        problems = []
        now = wall_clock()
        for row in self.query_rows(
            "SELECT id, namespace FROM mem_exchanges WHERE status = 'pending' AND lease_until < ? ORDER BY id", (now,)
        ):
            problems.append(
                f"exchange {row['id']} of namespace {row['namespace']!r} was left unfinished by a program that"
                " stopped; manager.retry_failed() finishes it"
            )
        for row in self.query_rows(
            "SELECT namespace, scene, owed_since FROM mem_owed_summaries"
            " WHERE lease_until IS NULL OR lease_until < ? ORDER BY namespace, scene",
            (now,),
        ):
            problems.append(
                f"scene {row['scene']!r} of namespace {row['namespace']!r} owes its summary cells stored since"
                f" {row['owed_since']} (the program writing it stopped); manager.retry_failed() writes it"
            )
        for row in self.query_rows(
            """
            SELECT c.exchange_id, COUNT(DISTINCT h.change_id) AS changes FROM mem_cells c
            JOIN mem_history h ON h.namespace = c.namespace AND h.kind = 'cell' AND h.key = CAST(c.id AS TEXT)
                AND h.action = 'add' AND h.undone_at IS NULL
            WHERE c.exchange_id IS NOT NULL GROUP BY c.exchange_id HAVING COUNT(DISTINCT h.change_id) > 1
            ORDER BY c.exchange_id
            """
        ):
            problems.append(
                f"exchange {row['exchange_id']} had its cells stored twice or more ({row['changes']} times):"
                " two programs processed it"
            )
        return problems


def _stored(utterances: Sequence[Utterance]) -> list[list[str]]:
    """Utterances as the exchange log keeps them: [speaker, text] pairs, cleaned (the connection redacts keys)."""
    return [[clean_text(u.speaker), clean_text(u.text)] for u in utterances]
