"""Read-only SQL and the health check, on the PostgreSQL store.

:meth:`memkit.MemoryDB.sql` runs a statement in a ``READ ONLY`` transaction
that is always rolled back: the server itself refuses any write.
:func:`server_problems` is the part of :meth:`~memkit.MemoryDB.check_integrity`
that belongs to the server (schema and full-text index); the checks of
memory itself are the same as on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from ..errors import DatabaseError
from ..rawsql import ReadOnlySQLError
from .migrations import MIGRATIONS, MIGRATIONS_TABLE, TABLES

if TYPE_CHECKING:
    from ..store import Store
    from .connection import PgConnection

__all__ = ["run_read_only", "server_problems"]


def run_read_only(shared: PgConnection, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """The rows of ``statement`` as dicts, run where nothing can be written (``?`` placeholders, as on SQLite).

    :raises ReadOnlySQLError: the statement tries to write.
    :raises DatabaseError: the SQL is invalid.
    """
    import psycopg

    from ..store import READ_ONLY_HINT

    with shared._pooled() as raw:
        from .connection import PgConn

        conn = PgConn(raw, shared.path)
        conn.execute_stored("BEGIN READ ONLY")
        try:
            cursor = conn.execute(statement, params)
            names = [d[0] for d in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except DatabaseError as exc:
            if isinstance(exc.__cause__, psycopg.errors.ReadOnlySqlTransaction):
                raise ReadOnlySQLError(READ_ONLY_HINT + f" ({' '.join(str(exc.__cause__).split())})") from exc
            raise
        finally:
            with suppress(psycopg.Error):  # when the connection is gone, the pool replaces it
                raw.execute("ROLLBACK")


def server_problems(store: Store) -> list[str]:
    """What is wrong with the schema or the full-text index (every namespace the role may read)."""
    problems = []
    names = [row[0] for row in store.query_rows(f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY position")]
    if names != [name for name, _ in MIGRATIONS]:
        problems.append(f"schema: migrations recorded {names}, expected {[name for name, _ in MIGRATIONS]}")
    for table in TABLES:
        if store.query_rows("SELECT to_regclass(?)", (table,))[0][0] is None:
            problems.append(f"schema: table {table} is missing")
    if problems:
        return problems
    for row in store.query_rows(
        """
        SELECT c.id, f.id AS indexed FROM mem_cells c LEFT JOIN mem_cells_fts f ON f.id = c.id
        WHERE f.id IS NULL OR f.namespace != c.namespace
           OR f.document != mem_cells_document(c.content, c.scene, c.context)
        ORDER BY c.id LIMIT 10
        """
    ):
        problems.append(
            f"full-text index out of step with cell {row['id']}; rebuild it with INSERT INTO mem_cells_fts"
            " (id, namespace, document) SELECT id, namespace, mem_cells_document(content, scene, context)"
            " FROM mem_cells ON CONFLICT (id) DO UPDATE SET namespace = excluded.namespace,"
            " document = excluded.document"
        )
    return problems
