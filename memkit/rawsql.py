"""Running someone's SQL on memory so that it can only read.

``PRAGMA query_only`` stops writes to the tables, but not a PRAGMA that
changes a setting (``journal_mode``, ``synchronous``, ``foreign_keys``), an
``ATTACH`` that creates a file, or ``VACUUM INTO``. So the statement is first
compiled, not run, under an SQLite authorizer that allows reading tables,
calling functions and pragmas that only report, and nothing else; a
statement that reads nothing at all (``VACUUM``) is refused too. Only then
is it run, with the authorizer still in place and ``query_only`` on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from .errors import DatabaseError

__all__ = ["ReadOnlySQLError", "run_read_only"]

#: Pragmas that only report, whatever their argument.
_REPORTS = frozenset(
    [
        "table_info",
        "table_xinfo",
        "table_list",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
        "foreign_key_check",
        "integrity_check",
        "quick_check",
        "database_list",
        "compile_options",
        "function_list",
        "pragma_list",
        "collation_list",
        "module_list",
        "data_version",
        "page_count",
        "freelist_count",
    ]
)
#: Pragmas that are settings: read (no argument) but never set.
_SETTINGS = frozenset(
    [
        "user_version",
        "application_id",
        "schema_version",
        "journal_mode",
        "synchronous",
        "foreign_keys",
        "page_size",
        "cache_size",
        "encoding",
        "auto_vacuum",
        "busy_timeout",
        "query_only",
        "wal_autocheckpoint",
        "temp_store",
        "mmap_size",
        "recursive_triggers",
        "secure_delete",
        "locking_mode",
        "max_page_count",
        "cell_size_check",
        "automatic_index",
        "defer_foreign_keys",
    ]
)
_SCHEMA_TABLES = frozenset({"sqlite_master", "sqlite_schema"})
_READS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE})


class ReadOnlySQLError(DatabaseError):
    """A statement given to ``db.sql()`` would change something."""


def _authorizer(seen: list[int]) -> Callable[[int, str | None, str | None, str | None, str | None], int]:
    def authorize(action: int, arg1: str | None, arg2: str | None, schema: str | None, trigger: str | None) -> int:
        name = (arg1 or "").lower()
        if action in _READS or (
            action == sqlite3.SQLITE_PRAGMA and (name in _REPORTS or (name in _SETTINGS and arg2 is None))
        ):
            seen.append(action)
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_UPDATE and name in _SCHEMA_TABLES:
            # SQLite asks this of itself when a pragma is read as a table (pragma_table_info(...));
            # the schema table cannot be written anyway (writable_schema is never allowed on).
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY

    return authorize


def run_read_only(conn: sqlite3.Connection, statement: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Run one statement on ``conn`` if it only reads; its rows as dicts.

    The caller holds ``conn``'s lock. ``conn`` is left as it was found.

    :raises ReadOnlySQLError: the statement would change something (nothing was changed).
    :raises sqlite3.Error: the statement is not valid SQL.
    """
    seen: list[int] = []
    conn.execute("PRAGMA query_only = ON")
    conn.set_authorizer(_authorizer(seen))
    try:
        try:  # compile it without running it: EXPLAIN never runs the statement it explains
            explained = statement if statement.lstrip()[:7].upper() == "EXPLAIN" else f"EXPLAIN {statement}"
            conn.execute(explained, params).fetchall()
        except sqlite3.DatabaseError as exc:
            if "not authorized" not in str(exc):
                raise
            raise ReadOnlySQLError(str(exc)) from exc
        if not seen:
            raise ReadOnlySQLError("the statement reads nothing")
        cursor = conn.execute(statement, params)
        columns = [column[0] for column in cursor.description or ()]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        conn.set_authorizer(None)
        conn.execute("PRAGMA query_only = OFF")
