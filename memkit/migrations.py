"""Append-only, numbered schema migrations, recorded in the database.

Each migration runs once, inside the transaction that records it, so a
database is always at a whole step of this list. Never edit or reorder a
migration that has been released: add a new one at the end.

A file memkit made carries :data:`APPLICATION_ID` in its header (``PRAGMA
application_id``), so another program's SQLite file is never taken for an
empty one; :mod:`memkit.schema` compares a file's tables, indexes, triggers
and views with what the migrations make.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime, timezone

from .errors import SchemaVersionError

__all__ = [
    "APPLICATION_ID",
    "MIGRATIONS",
    "MIGRATIONS_TABLE",
    "applied_migrations",
    "check_known",
    "migrate",
]

MIGRATIONS_TABLE = "_memkit_migrations"
#: What ``PRAGMA application_id`` says in a file memkit made: "MKIT" in ASCII.
APPLICATION_ID = 0x4D4B4954

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def _migration(function: Migration) -> Migration:
    MIGRATIONS.append((function.__name__, function))
    return function


@_migration
def m001_cells_and_scenes(conn: sqlite3.Connection) -> None:
    """The two tables of the design: memory cells and scene summaries."""
    conn.execute(
        """
        CREATE TABLE mem_cells (
            id INTEGER PRIMARY KEY,
            namespace TEXT NOT NULL DEFAULT 'default',
            scene TEXT NOT NULL,
            cell_type TEXT NOT NULL,
            salience REAL NOT NULL CHECK (salience >= 0 AND salience <= 1),
            content TEXT NOT NULL,
            source_id TEXT,
            occurred_at TEXT,
            created_at TEXT NOT NULL
        )
        """
    )
    conn.execute("CREATE INDEX mem_cells_namespace_scene ON mem_cells (namespace, scene)")
    conn.execute(
        """
        CREATE TABLE mem_scenes (
            namespace TEXT NOT NULL DEFAULT 'default',
            scene TEXT NOT NULL,
            summary TEXT NOT NULL DEFAULT '',
            updated_at TEXT NOT NULL,
            PRIMARY KEY (namespace, scene)
        )
        """
    )


@_migration
def m002_fts_index(conn: sqlite3.Connection) -> None:
    """Full-text index over cells, kept in sync by triggers.

    An external-content FTS5 table stores only the index, not a second copy
    of every cell; the triggers mean no code path can forget to update it.
    Salience changes do not touch the index (the update trigger fires only
    for content and scene).
    """
    conn.execute(
        """
        CREATE VIRTUAL TABLE mem_cells_fts USING fts5(
            content, scene,
            content='mem_cells', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2'
        )
        """
    )
    _execute_script(
        conn,
        """
        CREATE TRIGGER mem_cells_fts_insert AFTER INSERT ON mem_cells BEGIN
            INSERT INTO mem_cells_fts (rowid, content, scene)
            VALUES (new.id, new.content, new.scene);
        END;
        CREATE TRIGGER mem_cells_fts_delete AFTER DELETE ON mem_cells BEGIN
            INSERT INTO mem_cells_fts (mem_cells_fts, rowid, content, scene)
            VALUES ('delete', old.id, old.content, old.scene);
        END;
        CREATE TRIGGER mem_cells_fts_update AFTER UPDATE OF content, scene ON mem_cells BEGIN
            INSERT INTO mem_cells_fts (mem_cells_fts, rowid, content, scene)
            VALUES ('delete', old.id, old.content, old.scene);
            INSERT INTO mem_cells_fts (rowid, content, scene)
            VALUES (new.id, new.content, new.scene);
        END;
        """,
    )
    conn.execute("INSERT INTO mem_cells_fts (mem_cells_fts) VALUES ('rebuild')")


@_migration
def m003_scene_cell_counts(conn: sqlite3.Connection) -> None:
    """``mem_scenes.cell_count``, maintained by triggers on ``mem_cells``."""
    conn.execute("ALTER TABLE mem_scenes ADD COLUMN cell_count INTEGER NOT NULL DEFAULT 0")
    conn.execute(
        """
        INSERT INTO mem_scenes (namespace, scene, summary, updated_at, cell_count)
        SELECT namespace, scene, '', MAX(created_at), COUNT(*)
        FROM mem_cells GROUP BY namespace, scene
        ON CONFLICT (namespace, scene) DO UPDATE SET cell_count = excluded.cell_count
        """
    )
    _execute_script(
        conn,
        """
        CREATE TRIGGER mem_cells_count_insert AFTER INSERT ON mem_cells BEGIN
            INSERT INTO mem_scenes (namespace, scene, summary, updated_at, cell_count)
            VALUES (new.namespace, new.scene, '', new.created_at, 1)
            ON CONFLICT (namespace, scene) DO UPDATE SET cell_count = cell_count + 1;
        END;
        CREATE TRIGGER mem_cells_count_delete AFTER DELETE ON mem_cells BEGIN
            UPDATE mem_scenes SET cell_count = cell_count - 1
            WHERE namespace = old.namespace AND scene = old.scene;
        END;
        CREATE TRIGGER mem_cells_count_move AFTER UPDATE OF scene, namespace ON mem_cells
        WHEN old.scene IS NOT new.scene OR old.namespace IS NOT new.namespace BEGIN
            UPDATE mem_scenes SET cell_count = cell_count - 1
            WHERE namespace = old.namespace AND scene = old.scene;
            INSERT INTO mem_scenes (namespace, scene, summary, updated_at, cell_count)
            VALUES (new.namespace, new.scene, '', new.created_at, 1)
            ON CONFLICT (namespace, scene) DO UPDATE SET cell_count = cell_count + 1;
        END;
        """,
    )


@_migration
def m004_exchanges(conn: sqlite3.Connection) -> None:
    """A log of the exchanges memory was built from.

    The manager records each exchange before it calls a model, so a failed
    or interrupted extraction loses nothing and can be retried.
    """
    conn.execute(
        """
        CREATE TABLE mem_exchanges (
            id INTEGER PRIMARY KEY,
            namespace TEXT NOT NULL DEFAULT 'default',
            utterances TEXT NOT NULL,
            source_id TEXT,
            occurred_at TEXT,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'done', 'failed')),
            error TEXT,
            created_at TEXT NOT NULL
        )
        """
    )
    conn.execute("CREATE INDEX mem_exchanges_status ON mem_exchanges (namespace, status)")
    conn.execute("ALTER TABLE mem_cells ADD COLUMN exchange_id INTEGER REFERENCES mem_exchanges(id)")


@_migration
def m005_cell_lifecycle(conn: sqlite3.Connection) -> None:
    """Cells that evolve: restated, superseded or archived, never deleted by memkit.

    - ``seen_count`` and ``last_seen_at``: how often a cell was stated and when
      it was last stated again (``NULL`` while it was said only once);
    - ``valid_until``: when a newer cell superseded it;
    - ``archived_at``: when it decayed below the forgetting threshold.

    SQLite cannot make an existing key ``AUTOINCREMENT``, so ``mem_cells`` is
    rebuilt (rows, ids, index and triggers as they were): from now on an id is
    never given to a second cell, because history and links name cells by id.
    """
    conn.execute(
        """
        CREATE TABLE mem_cells_next (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            namespace TEXT NOT NULL DEFAULT 'default',
            scene TEXT NOT NULL,
            cell_type TEXT NOT NULL,
            salience REAL NOT NULL CHECK (salience >= 0 AND salience <= 1),
            content TEXT NOT NULL,
            source_id TEXT,
            occurred_at TEXT,
            created_at TEXT NOT NULL,
            exchange_id INTEGER REFERENCES mem_exchanges(id),
            seen_count INTEGER NOT NULL DEFAULT 1 CHECK (seen_count >= 1),
            last_seen_at TEXT,
            valid_until TEXT,
            archived_at TEXT
        )
        """
    )
    columns = "id, namespace, scene, cell_type, salience, content, source_id, occurred_at, created_at, exchange_id"
    conn.execute(f"INSERT INTO mem_cells_next ({columns}) SELECT {columns} FROM mem_cells")
    conn.execute("DROP TABLE mem_cells")  # drops its index and triggers too
    conn.execute("ALTER TABLE mem_cells_next RENAME TO mem_cells")
    conn.execute("CREATE INDEX mem_cells_namespace_scene ON mem_cells (namespace, scene)")
    _execute_script(
        conn,
        """
        CREATE TRIGGER mem_cells_fts_insert AFTER INSERT ON mem_cells BEGIN
            INSERT INTO mem_cells_fts (rowid, content, scene)
            VALUES (new.id, new.content, new.scene);
        END;
        CREATE TRIGGER mem_cells_fts_delete AFTER DELETE ON mem_cells BEGIN
            INSERT INTO mem_cells_fts (mem_cells_fts, rowid, content, scene)
            VALUES ('delete', old.id, old.content, old.scene);
        END;
        CREATE TRIGGER mem_cells_fts_update AFTER UPDATE OF content, scene ON mem_cells BEGIN
            INSERT INTO mem_cells_fts (mem_cells_fts, rowid, content, scene)
            VALUES ('delete', old.id, old.content, old.scene);
            INSERT INTO mem_cells_fts (rowid, content, scene)
            VALUES (new.id, new.content, new.scene);
        END;
        CREATE TRIGGER mem_cells_count_insert AFTER INSERT ON mem_cells BEGIN
            INSERT INTO mem_scenes (namespace, scene, summary, updated_at, cell_count)
            VALUES (new.namespace, new.scene, '', new.created_at, 1)
            ON CONFLICT (namespace, scene) DO UPDATE SET cell_count = cell_count + 1;
        END;
        CREATE TRIGGER mem_cells_count_delete AFTER DELETE ON mem_cells BEGIN
            UPDATE mem_scenes SET cell_count = cell_count - 1
            WHERE namespace = old.namespace AND scene = old.scene;
        END;
        CREATE TRIGGER mem_cells_count_move AFTER UPDATE OF scene, namespace ON mem_cells
        WHEN old.scene IS NOT new.scene OR old.namespace IS NOT new.namespace BEGIN
            UPDATE mem_scenes SET cell_count = cell_count - 1
            WHERE namespace = old.namespace AND scene = old.scene;
            INSERT INTO mem_scenes (namespace, scene, summary, updated_at, cell_count)
            VALUES (new.namespace, new.scene, '', new.created_at, 1)
            ON CONFLICT (namespace, scene) DO UPDATE SET cell_count = cell_count + 1;
        END;
        """,
    )
    conn.execute("INSERT INTO mem_cells_fts (mem_cells_fts) VALUES ('rebuild')")


@_migration
def m006_links(conn: sqlite3.Connection) -> None:
    """Links between cells: ``source`` *kind* ``target``.

    Kinds are checked by memkit (like cell types), not by the schema. A
    cell that has links cannot be deleted until they are removed, so a link
    never points at nothing.
    """
    conn.execute(
        """
        CREATE TABLE mem_links (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            namespace TEXT NOT NULL DEFAULT 'default',
            source INTEGER NOT NULL REFERENCES mem_cells(id),
            target INTEGER NOT NULL REFERENCES mem_cells(id),
            kind TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            CHECK (source != target),
            UNIQUE (source, target, kind)
        )
        """
    )
    conn.execute("CREATE INDEX mem_links_target ON mem_links (target)")


@_migration
def m007_cell_context(conn: sqlite3.Connection) -> None:
    """``mem_cells.context``: the words around a cell in the conversation it came from.

    A cell is a compressed statement; the message it was taken from (and the
    one it answered) often holds the words a later question uses. The context
    is indexed as a third full-text column, weighted low, so the cell stays
    findable by them without its content growing.
    """
    conn.execute("ALTER TABLE mem_cells ADD COLUMN context TEXT")
    for trigger in ("insert", "delete", "update"):
        conn.execute(f"DROP TRIGGER mem_cells_fts_{trigger}")
    conn.execute("DROP TABLE mem_cells_fts")
    conn.execute(
        """
        CREATE VIRTUAL TABLE mem_cells_fts USING fts5(
            content, scene, context,
            content='mem_cells', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2'
        )
        """
    )
    _execute_script(
        conn,
        """
        CREATE TRIGGER mem_cells_fts_insert AFTER INSERT ON mem_cells BEGIN
            INSERT INTO mem_cells_fts (rowid, content, scene, context)
            VALUES (new.id, new.content, new.scene, new.context);
        END;
        CREATE TRIGGER mem_cells_fts_delete AFTER DELETE ON mem_cells BEGIN
            INSERT INTO mem_cells_fts (mem_cells_fts, rowid, content, scene, context)
            VALUES ('delete', old.id, old.content, old.scene, old.context);
        END;
        CREATE TRIGGER mem_cells_fts_update AFTER UPDATE OF content, scene, context ON mem_cells BEGIN
            INSERT INTO mem_cells_fts (mem_cells_fts, rowid, content, scene, context)
            VALUES ('delete', old.id, old.content, old.scene, old.context);
            INSERT INTO mem_cells_fts (rowid, content, scene, context)
            VALUES (new.id, new.content, new.scene, new.context);
        END;
        """,
    )
    conn.execute("INSERT INTO mem_cells_fts (mem_cells_fts) VALUES ('rebuild')")


@_migration
def m008_history(conn: sqlite3.Connection) -> None:
    """Every change to a cell, a scene or a link, with the rows before and after.

    ``kind`` and ``key`` name what changed (a cell id, a scene name, a link
    id); events sharing a ``change_id`` are undone together; an undone event
    keeps its row and gets ``undone_at``.
    """
    conn.execute(
        """
        CREATE TABLE mem_history (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            namespace TEXT NOT NULL DEFAULT 'default',
            change_id INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('cell', 'scene', 'link')),
            key TEXT NOT NULL,
            action TEXT NOT NULL,
            before TEXT,
            after TEXT,
            reason TEXT NOT NULL DEFAULT '',
            exchange_id INTEGER REFERENCES mem_exchanges(id),
            created_at TEXT NOT NULL,
            undone_at TEXT
        )
        """
    )
    conn.execute("CREATE INDEX mem_history_key ON mem_history (namespace, kind, key)")
    conn.execute("CREATE INDEX mem_history_change ON mem_history (namespace, change_id)")


@_migration
def m009_recalls(conn: sqlite3.Connection) -> None:
    """How often and when each cell was recalled for an answer (for forgetting by decay).

    Usage, not content: kept apart from ``mem_cells`` so that reading memory
    never changes a cell, and gone with the cell when it is deleted.
    """
    conn.execute(
        """
        CREATE TABLE mem_recalls (
            cell_id INTEGER PRIMARY KEY REFERENCES mem_cells(id) ON DELETE CASCADE,
            recall_count INTEGER NOT NULL DEFAULT 0,
            last_recalled_at TEXT
        )
        """
    )


@_migration
def m010_claims_and_owed_summaries(conn: sqlite3.Connection) -> None:
    """Who is working on an exchange, and the scene summaries that still owe cells.

    - ``mem_exchanges.owner`` and ``lease_until``: the memory manager turning
      the exchange into cells, and until when its claim holds (seconds since
      the epoch, see :mod:`memkit.claims`); another program leaves it alone until then.
    - ``mem_owed_summaries``: per scene, the ids of cells stored but not yet
      folded into its summary, and the contents of cells it should stop saying.
      Written in the transaction that stores the cells, removed in the one that
      writes the summary, so a program killed in between leaves the work to
      ``retry_failed()`` instead of losing it.
    """
    conn.execute("ALTER TABLE mem_exchanges ADD COLUMN owner TEXT")
    conn.execute("ALTER TABLE mem_exchanges ADD COLUMN lease_until REAL")
    conn.execute(
        """
        CREATE TABLE mem_owed_summaries (
            namespace TEXT NOT NULL,
            scene TEXT NOT NULL,
            cells TEXT NOT NULL DEFAULT '[]',
            retired TEXT NOT NULL DEFAULT '[]',
            owed_since TEXT NOT NULL,
            owner TEXT,
            lease_until REAL,
            PRIMARY KEY (namespace, scene)
        )
        """
    )


@_migration
def m011_fts_namespaces(conn: sqlite3.Connection) -> None:
    """The full-text index learns each cell's namespace, as one token of its own column ``ns``.

    A search then matches its own namespace's cells only (``ns : "<token>" AND ...``),
    never reading another namespace's, and scores them with statistics of its
    own namespace (see :mod:`memkit.fts`). The token is the namespace's UTF-8
    bytes in hex, so two namespaces never share one. The index reads its
    content through the view ``mem_cells_fts_source``, which adds the token.
    """
    for trigger in ("insert", "delete", "update"):
        conn.execute(f"DROP TRIGGER mem_cells_fts_{trigger}")
    conn.execute("DROP TABLE mem_cells_fts")
    conn.execute(
        """
        CREATE VIEW mem_cells_fts_source AS
        SELECT id, content, scene, context, hex(namespace) AS ns FROM mem_cells
        """
    )
    conn.execute(
        """
        CREATE VIRTUAL TABLE mem_cells_fts USING fts5(
            content, scene, context, ns,
            content='mem_cells_fts_source', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2'
        )
        """
    )
    _execute_script(
        conn,
        """
        CREATE TRIGGER mem_cells_fts_insert AFTER INSERT ON mem_cells BEGIN
            INSERT INTO mem_cells_fts (rowid, content, scene, context, ns)
            VALUES (new.id, new.content, new.scene, new.context, hex(new.namespace));
        END;
        CREATE TRIGGER mem_cells_fts_delete AFTER DELETE ON mem_cells BEGIN
            INSERT INTO mem_cells_fts (mem_cells_fts, rowid, content, scene, context, ns)
            VALUES ('delete', old.id, old.content, old.scene, old.context, hex(old.namespace));
        END;
        CREATE TRIGGER mem_cells_fts_update AFTER UPDATE OF content, scene, context, namespace ON mem_cells BEGIN
            INSERT INTO mem_cells_fts (mem_cells_fts, rowid, content, scene, context, ns)
            VALUES ('delete', old.id, old.content, old.scene, old.context, hex(old.namespace));
            INSERT INTO mem_cells_fts (rowid, content, scene, context, ns)
            VALUES (new.id, new.content, new.scene, new.context, hex(new.namespace));
        END;
        """,
    )
    conn.execute("INSERT INTO mem_cells_fts (mem_cells_fts) VALUES ('rebuild')")


def _execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Run several statements inside the current transaction.

    ``Connection.executescript`` would commit first, breaking the
    one-transaction-per-migration promise.
    """
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement in migration: {statement.strip()[:80]}")


def applied_migrations(conn: sqlite3.Connection) -> list[str]:
    """Names of the migrations recorded in this database, in order applied."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (MIGRATIONS_TABLE,)
    ).fetchone()
    if not exists:
        return []
    rows = conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY rowid").fetchall()
    return [row[0] for row in rows]


def migrate(conn: sqlite3.Connection, *, upto: str | None = None) -> list[str]:
    """Apply every migration not yet recorded; return the names applied.

    ``conn`` must be in autocommit mode (``isolation_level=None``). Each step
    runs in its own ``BEGIN IMMEDIATE`` transaction with its record. Another
    connection may be migrating the same file at the same moment (two
    programs opening a new database at once): each step checks again, under
    the write lock, that it is still needed. A database that is up to date is
    only read, so a read-only file opens.

    :param upto: stop after this migration (used to build older schemas in tests).
    :raises SchemaVersionError: the database has migrations this memkit does not know.
    """
    known = [name for name, _ in MIGRATIONS]
    check_known(applied_migrations(conn))
    applied: list[str] = []
    for name, function in MIGRATIONS:
        if name in applied_migrations(conn):
            if name == upto:
                break
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            done = applied_migrations(conn)
            check_known(done)
            if name not in done:
                function(conn)
                conn.execute(
                    f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_at) VALUES (?, ?)",
                    (name, datetime.now(timezone.utc).isoformat(timespec="seconds")),
                )
                conn.execute(f"PRAGMA user_version = {known.index(name) + 1}")
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                applied.append(name)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        if name == upto:
            break
    return applied


def check_known(names: list[str]) -> list[str]:
    """Return ``names``, the migrations a database records, if this memkit knows them all.

    :raises SchemaVersionError: one of ``names`` is not in :data:`MIGRATIONS`.
    """
    known = {name for name, _ in MIGRATIONS}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SchemaVersionError(
            f"this database was written by a newer memkit (unknown migration {unknown[0]!r}); "
            "upgrade memkit with `pip install -U memkit` to open it"
        )
    return names
