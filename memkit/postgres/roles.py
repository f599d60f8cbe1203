"""One role per student on a class server, each keeping to the namespace named like it.

Row-level security (migration ``p003_row_security``) lets a role that does not
own the tables see and change only rows whose ``namespace`` is its own name:
in memkit, through raw SQL or any other client alike. The owner of the tables
(the teacher who created the database) sees every namespace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import DatabaseError

if TYPE_CHECKING:
    from ..db import MemoryDB

__all__ = ["add_student"]

#: What a student may do to memkit's tables (row-level security then keeps it to their namespace).
_TABLES = ("mem_exchanges", "mem_cells", "mem_scenes", "mem_links", "mem_history", "mem_recalls",
           "mem_owed_summaries", "mem_cells_fts")  # fmt: skip


def add_student(db: MemoryDB, role: str, password: str | None = None) -> None:
    """Create the login role ``role`` (if missing) and let it use the namespace ``role`` of ``db``'s database.

    The student then opens ``MemoryDB("postgresql://<role>@<host>/<dbname>", namespace="<role>")``.
    Run it as the teacher, a role allowed to create roles (``CREATEROLE``) that owns the tables.

    :param password: the role's password (the server keeps only its hash); None for a role that logs in
        another way (a Unix socket with ``peer`` authentication, say).
    :raises ValueError: ``db`` is not on a PostgreSQL server, or ``role`` is empty.
    :raises DatabaseError: the server refused (the teacher may not create roles).
    """
    if getattr(db._shared, "dialect", "sqlite") != "postgres":
        raise ValueError("add_student needs a MemoryDB opened on a postgresql:// URL; a SQLite file has no roles")
    if not isinstance(role, str) or not role.strip():
        raise ValueError(f"role must be a non-empty name, got {role!r}")
    import psycopg
    from psycopg import sql

    from .connection import wrap_error

    name = sql.Identifier(role)
    shared: Any = db._shared  # a PgConnection, as checked above
    with shared._pooled() as raw:
        try:
            with raw.transaction():
                exists = raw.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
                if exists is None:
                    raw.execute(sql.SQL("CREATE ROLE {} LOGIN").format(name))
                if password is not None:
                    raw.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(name, sql.Literal(password)))
                tables = sql.SQL(", ").join(sql.Identifier(table) for table in _TABLES)
                raw.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(tables, name))
                raw.execute(sql.SQL("GRANT SELECT ON _memkit_migrations TO {}").format(name))
                schema = sql.Identifier(raw.execute("SELECT current_schema()").fetchone()[0])
                raw.execute(sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema, name))
        except psycopg.Error as exc:
            error = wrap_error(exc, db.path)
            raise DatabaseError(f"{error}; run add_student as the teacher, a role with CREATEROLE") from exc
