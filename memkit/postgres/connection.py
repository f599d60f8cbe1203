"""A pool of psycopg connections shared by every namespace view of one PostgreSQL database.

It offers the SQLite :class:`memkit.connection.Connection`'s interface, so
:class:`memkit.store.Store` and the modules above it run their SQL unchanged:
``?`` placeholders, cursors with ``lastrowid``, rows read by position or by
name, and every text bound passed through :func:`~memkit.redact.redact_secrets`.

Transactions: each thread gets its own connection from the pool for the
length of a transaction (nested blocks are savepoints), and reads outside one
take any free connection. A write transaction first takes an advisory lock
named after its namespace, so the writers of one namespace take turns, as
SQLite's writers do, while other namespaces write at the same time.
"""

from __future__ import annotations

import re
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..errors import DatabaseError, MemkitError
from ..redact import Redactor

if TYPE_CHECKING:
    from ..history import Change

__all__ = ["PgConnection", "Row", "is_url", "open_postgres"]

#: The tables whose ids an INSERT hands back as ``cursor.lastrowid``.
_ID_TABLES = re.compile(r"^\s*INSERT INTO (mem_cells|mem_exchanges|mem_links|mem_history)\b(?![\s\S]*\bRETURNING\b)")
#: A pooled connection idle longer than this (seconds) is tried with an empty query before it is lent,
#: so after a server restart or a dropped link the pool replaces it instead of the next call failing.
CHECK_AFTER_IDLE_S = 1.0
_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|%")


def is_url(target: str) -> bool:
    """Whether ``target`` names a PostgreSQL server (``postgresql://`` or ``postgres://``) rather than a file."""
    return target.startswith(("postgresql://", "postgres://"))


@lru_cache(maxsize=512)
def translate(sql: str) -> tuple[str, bool]:
    """``sql`` with SQLite's ``?`` placeholders as psycopg's ``%s`` (``%`` doubled), and whether it returns an id.

    >>> translate("SELECT '?', ? FROM t WHERE a LIKE '%x'")
    ("SELECT '?', %s FROM t WHERE a LIKE '%%x'", False)
    """

    def swap(match: re.Match[str]) -> str:
        found = match.group()
        if found == "?":
            return "%s"
        if found == "%":
            return "%%"
        return found.replace("%", "%%")

    text = _PLACEHOLDER.sub(swap, sql)
    returns_id = bool(_ID_TABLES.match(sql))
    return (text + " RETURNING id" if returns_id else text), returns_id


class Row(tuple):  # type: ignore[type-arg]
    """A row read by position or by column name, like :class:`sqlite3.Row` (``dict(row)`` works too)."""

    _index: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


@lru_cache(maxsize=256)
def _column_index(names: tuple[bytes | None, ...]) -> dict[str, int]:
    return {(name or b"").decode(): i for i, name in enumerate(names)}


def _has_rows(cursor: Any) -> bool:
    """Whether the statement's result has rows to fetch (read off the result, not ``cursor.description``)."""
    from psycopg.pq import ExecStatus

    result = cursor.pgresult
    return result is not None and result.status in (ExecStatus.TUPLES_OK, ExecStatus.SINGLE_TUPLE)


def _row_factory(cursor: Any) -> Any:
    result = cursor.pgresult  # the column names straight from the result: cheaper than cursor.description
    index = _column_index(tuple(result.fname(i) for i in range(result.nfields))) if _has_rows(cursor) else {}

    def make(values: Sequence[Any]) -> Row:
        row = Row(values)
        row._index = index
        return row

    return make


def _redacted(parameters: Any, redact: Redactor) -> Any:
    if isinstance(parameters, dict):
        return {k: redact(v) if isinstance(v, str) else v for k, v in parameters.items()}
    return [redact(v) if isinstance(v, str) else v for v in parameters]


class Cursor:
    """What a statement gave back, as an sqlite3 cursor shows it."""

    row_factory: Any = None  # rows are always :class:`Row`; set for sqlite3's sake, ignored

    def __init__(self, cursor: Any, returns_id: bool) -> None:
        self._cursor = cursor
        self.rowcount: int = cursor.rowcount
        self.lastrowid: int | None = None
        if returns_id:
            row = cursor.fetchone()
            self.lastrowid = None if row is None else int(row[0])

    @property
    def description(self) -> list[tuple[Any, ...]] | None:
        columns = self._cursor.description
        return None if columns is None else [(column.name, None, None, None, None, None, None) for column in columns]

    def fetchone(self) -> Row | None:
        return self._cursor.fetchone() if _has_rows(self._cursor) else None

    def fetchall(self) -> list[Row]:
        return self._cursor.fetchall() if _has_rows(self._cursor) else []

    def __iter__(self) -> Iterator[Row]:
        return iter(self.fetchall())


class PgConn:
    """One pooled psycopg connection, spoken to as memkit speaks to sqlite3."""

    def __init__(self, raw: Any, where: str) -> None:
        self.raw = raw
        self.where = where

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return bool(self.raw.info.transaction_status != TransactionStatus.IDLE)

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor:
        return self._run(sql, _redacted(parameters, Redactor()))

    def execute_stored(self, sql: str, parameters: Any = (), /) -> Cursor:
        """``execute`` for values already redacted (SQL the caller wrote, or read back from the database)."""
        return self._run(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Cursor:
        redact = Redactor()
        return self.executemany_stored(sql, [_redacted(row, redact) for row in parameters])

    def executemany_stored(self, sql: str, parameters: Any, /) -> Cursor:
        text, _ = translate(sql)
        text = text.removesuffix(" RETURNING id")
        cursor = self.raw.cursor(row_factory=_row_factory)
        try:
            cursor.executemany(text, list(parameters))
        except Exception as exc:
            raise _wrapped(exc, self.where) from exc
        return Cursor(cursor, False)

    def _run(self, sql: str, parameters: Any) -> Cursor:
        text, returns_id = translate(sql)
        cursor = self.raw.cursor(row_factory=_row_factory)
        try:
            cursor.execute(text, tuple(parameters) if isinstance(parameters, list) else parameters)
            return Cursor(cursor, returns_id)
        except Exception as exc:
            raise _wrapped(exc, self.where) from exc


def _wrapped(exc: Exception, where: str) -> Exception:
    import psycopg

    return wrap_error(exc, where) if isinstance(exc, psycopg.Error) else exc


def wrap_error(exc: Exception, where: str) -> DatabaseError:
    """Turn a psycopg error into a DatabaseError whose message says the fix."""
    import psycopg

    text = " ".join(str(exc).split())
    if isinstance(exc, DatabaseError):
        return exc
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        return DatabaseError(
            f"{where} stayed locked by another writer of this namespace ({text}); "
            "nothing was changed, try again or open it with a longer timeout="
        )
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return DatabaseError(
            f"not allowed on {where} ({text}); each role reads and writes only the namespace named like it,"
            " nothing was changed"
        )
    if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
        return DatabaseError(f"cannot write to {where}: it is read-only ({text}); nothing was changed")
    state = getattr(exc, "sqlstate", None)
    if isinstance(exc, psycopg.OperationalError) and (state is None or state.startswith("08") or state[:3] == "57P"):
        return DatabaseError(
            f"lost the connection to {where} ({text}); the transaction under way was rolled back by the server,"
            " nothing of it was written: check the server is running and try again"
        )
    return DatabaseError(f"PostgreSQL error on {where}: {text}")


class _IdleCheck:
    """The pool's check: a connection is tried before it is lent only when it has been idle a while.

    Trying every connection would add a round trip to every call; one used a moment ago is very
    likely still alive (and if it is not, the call fails with a DatabaseError and nothing written).
    """

    def __init__(self) -> None:
        self.returned: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    def __call__(self, raw: Any) -> None:
        if time.monotonic() - self.returned.get(raw, 0.0) > CHECK_AFTER_IDLE_S:
            raw.execute("")  # raises on a dead connection: the pool then discards it and lends another

    def put_back(self, raw: Any) -> None:
        self.returned[raw] = time.monotonic()


class _ThreadState(threading.local):
    conn: PgConn | None = None
    change: Change | None = None


class PgConnection:
    """The pool and per-thread transactions shared by every namespace view of one database."""

    dialect = "postgres"
    #: Appended to a SELECT that claims rows: take them locked, and skip those another program is claiming.
    lock_rows = " FOR UPDATE SKIP LOCKED"

    def __init__(self, pool: Any, path: str, read_only: str | None, timeout: float, idle: _IdleCheck) -> None:
        self.pool = pool
        self.idle = idle
        self.path = path
        self.read_only = read_only
        self.timeout = timeout
        self.closed = False
        self.writer: int | None = None  # unused: each thread has its own transaction
        self.fts_totals: dict[Any, Any] = {}
        self._state = _ThreadState()

    @property
    def change(self) -> Change | None:
        """The change of the history this thread is recording, if any."""
        return self._state.change

    @change.setter
    def change(self, value: Change | None) -> None:
        self._state.change = value

    @contextmanager
    def _pooled(self) -> Iterator[Any]:
        import psycopg_pool

        if self.closed:
            raise DatabaseError("this MemoryDB is closed; open the database again")
        try:
            raw = self.pool.getconn(timeout=self.timeout)
        except psycopg_pool.PoolTimeout as exc:
            raise DatabaseError(
                f"no connection to {self.path} within {self.timeout} s ({exc}); check the server is running,"
                " or open it with a longer timeout="
            ) from exc
        try:
            yield raw
        finally:
            self.idle.put_back(raw)
            self.pool.putconn(raw)

    @contextmanager
    def reading(self, *, writer: bool = False) -> Iterator[PgConn]:
        """The connection to read through: this thread's transaction's, else a free one."""
        if self._state.conn is not None:
            yield self._state.conn
            return
        with self._pooled() as raw:
            yield PgConn(raw, self.path)

    def rows(self, sql: str, params: Sequence[Any] = (), *, writer: bool = False) -> list[Row]:
        """The rows of one trusted statement."""
        with self.reading(writer=writer) as conn:
            return conn.execute(sql, params).fetchall()

    @contextmanager
    def transaction(self, namespace: str, *, exclusive: bool = True) -> Iterator[PgConn]:
        """One transaction on this thread's connection (a savepoint inside another), see :meth:`Store.transaction`.

        :param exclusive: take the namespace's writer lock first; without it, the transaction relies on
            the row locks it takes (claims read their rows ``FOR UPDATE SKIP LOCKED``).
        """
        lock = "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))" if exclusive else "SELECT 1"
        if self.read_only is not None:
            raise DatabaseError(f"cannot write: {self.read_only}")
        state = self._state
        if state.conn is not None:
            conn = state.conn
            conn.execute_stored("SAVEPOINT memkit_nested")
            try:
                conn.execute_stored(lock, (namespace,) if exclusive else ())
                yield conn
            except BaseException:
                _quietly(conn, "ROLLBACK TO memkit_nested", "RELEASE memkit_nested")
                raise
            else:
                conn.execute_stored("RELEASE memkit_nested")
            return
        with self._pooled() as raw:
            conn = PgConn(raw, self.path)
            try:
                conn.execute_stored("BEGIN")
                conn.execute_stored(lock, (namespace,) if exclusive else ())
            except BaseException:
                _quietly(conn, "ROLLBACK")
                raise
            state.conn = conn
            try:
                yield conn
            except BaseException:
                _quietly(conn, "ROLLBACK")
                raise
            else:
                try:
                    conn.execute_stored("COMMIT")
                except BaseException:
                    _quietly(conn, "ROLLBACK")
                    raise
            finally:
                state.conn = None

    def close(self) -> None:
        """Close the pool (once)."""
        if not self.closed:
            self.closed = True
            self.pool.close()


def _quietly(conn: PgConn, *statements: str) -> None:
    """Run rollback statements, ignoring their failure (the original error says more)."""
    for statement in statements:
        try:
            conn.raw.execute(statement)
        except Exception:
            return


def _display(url: str) -> str:
    """The URL as shown in messages and reprs: its password left out."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(url)
    except Exception:
        return "the PostgreSQL server"
    host = parts.get("host") or "localhost"
    user = f"{parts['user']}@" if parts.get("user") else ""
    return f"postgresql://{user}{host}/{parts.get('dbname') or ''}"


def open_postgres(url: str, timeout: float, *, read_only: bool = False, pool_size: int = 8) -> PgConnection:
    """Connect to the database at ``url``, bring its schema up to date, and open a pool of connections.

    :raises DatabaseError: psycopg is missing, the server cannot be reached, or the database is another program's.
    :raises SchemaVersionError: the database was written by a newer memkit.
    """
    try:
        import psycopg
        import psycopg_pool
    except ImportError as exc:
        raise DatabaseError(
            f"opening {url.split('://')[0]}:// needs psycopg: pip install 'memkit[postgres]' ({exc})"
        ) from exc
    from .migrations import migrate, pending

    where = _display(url)
    settings = {"lock_timeout": f"{int(timeout * 1000)}ms", "idle_in_transaction_session_timeout": "0"}
    if read_only:
        settings["default_transaction_read_only"] = "on"
    options = " ".join(f"-c {name}={value}" for name, value in settings.items())
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=max(2, int(timeout)), options=options) as first:
            if read_only:
                if pending(first):
                    raise DatabaseError(
                        f"{where} was written by an older memkit and must be upgraded, but it was opened"
                        " read-only; open it once without read_only=True"
                    )
            else:
                migrate(first, where)
    except MemkitError:
        raise
    except psycopg.Error as exc:
        raise DatabaseError(
            f"cannot open {where}: {' '.join(str(exc).split())}; check the server runs and the URL"
            " (user, host, database name) is right"
        ) from exc
    idle = _IdleCheck()
    pool = psycopg_pool.ConnectionPool(
        url,
        check=idle,
        min_size=1,
        max_size=pool_size,
        kwargs={"autocommit": True, "options": options, "connect_timeout": max(2, int(timeout))},
        timeout=timeout,
        open=True,
        name="memkit",
    )
    why = f"{where} was opened read-only (read_only=True); open it without to change it" if read_only else None
    return PgConnection(pool, where, why, timeout, idle)
