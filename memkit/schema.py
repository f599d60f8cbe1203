"""Is a file's schema the one memkit's migrations make? Tables, indexes, triggers and views, compared.

A trigger planted by another program (one moved every new cell to another
namespace), or a full-text trigger dropped, would change what memory does
without a trace in its data: :func:`schema_differences` names every object
added, missing or changed, on open and in ``check_integrity()``.
"""

from __future__ import annotations

import functools
import sqlite3

from .migrations import migrate

__all__ = ["schema_differences", "table_columns"]


#: The full-text index's own storage: made by FTS5, compared by name only (its layout is FTS5's).
_FTS_SHADOW = ("mem_cells_fts_data", "mem_cells_fts_idx", "mem_cells_fts_docsize", "mem_cells_fts_config")


def _schema(conn: sqlite3.Connection) -> dict[tuple[str, str], str]:
    """Every schema object of ``conn``'s main database: (type, name) -> what must match.

    Tables by their columns (SQLite rewrites a table's text when it is altered
    or renamed), indexes, triggers, views and the full-text table by their SQL
    with whitespace normalised, FTS5's own tables by name.
    """
    objects: dict[tuple[str, str], str] = {}
    rows = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall()
    for kind, name, sql in rows:
        if name in _FTS_SHADOW:
            objects[(kind, name)] = ""
        elif kind == "table" and not (sql or "").upper().startswith("CREATE VIRTUAL"):
            columns = conn.execute(f'PRAGMA table_xinfo("{name.replace(chr(34), chr(34) * 2)}")').fetchall()
            objects[(kind, name)] = ", ".join(f"{c[1]} {c[2]} {c[3]} {c[4]} {c[5]}" for c in columns)
        else:
            objects[(kind, name)] = " ".join((sql or "").split())
    return objects


@functools.lru_cache(maxsize=1)
def _fresh() -> tuple[dict[tuple[str, str], str], dict[str, tuple[str, ...]]]:
    """What every migration makes, read from a new in-memory database: its schema and each table's columns."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(conn)
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        columns = {name: tuple(c[1] for c in conn.execute(f'PRAGMA table_info("{name}")')) for name in tables}
        return _schema(conn), columns
    finally:
        conn.close()


def _expected_schema() -> dict[tuple[str, str], str]:
    return _fresh()[0]


def table_columns(table: str) -> tuple[str, ...]:
    """The columns of one of memkit's tables, in order, as the migrations make it (the PostgreSQL store's
    tables have the same columns).

    :raises KeyError: not a table memkit makes.
    """
    return _fresh()[1][table]


def schema_differences(conn: sqlite3.Connection) -> list[str]:
    """How the schema of an up-to-date memkit file differs from what the migrations make; empty when it does not.

    Names every table, index, trigger or view that was added, dropped or changed.
    """
    found, wanted = _schema(conn), _expected_schema()
    problems = [f"{kind} {name!r} was added" for kind, name in sorted(found.keys() - wanted.keys())]
    problems += [f"{kind} {name!r} is missing" for kind, name in sorted(wanted.keys() - found.keys())]
    problems += [
        f"{kind} {name!r} was changed" for kind, name in sorted(found.keys() & wanted.keys())
        if found[(kind, name)] != wanted[(kind, name)]
    ]  # fmt: skip
    return problems
