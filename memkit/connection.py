"""Opening one SQLite file safely for every namespace view to share.

WAL journaling so readers in other processes are never blocked by a writer,
retries while another program creates or migrates the file, a read-only
fallback for files that cannot be written, migrations on open, and sqlite3
errors turned into :class:`~memkit.errors.DatabaseError` messages that say
the fix.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DatabaseError, MemkitError
from .migrations import (
    APPLICATION_ID,
    MIGRATIONS,
    MIGRATIONS_TABLE,
    applied_migrations,
    check_known,
    migrate,
)
from .redact import Redactor
from .schema import schema_differences

if TYPE_CHECKING:
    from .history import Change

__all__ = ["Clock", "Connection", "ManualClock", "open_connection", "to_iso", "utc_now", "wrap_error"]

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, in UTC (the default clock)."""
    return datetime.now(timezone.utc)


class ManualClock:
    """A clock that says the time it was set to, for tests, notebooks and replaying old conversations.

    >>> clock = ManualClock("2024-03-04T19:02:00")
    >>> clock.advance(days=30)
    >>> clock().isoformat()
    '2024-04-03T19:02:00+00:00'
    """

    def __init__(self, start: str | datetime) -> None:
        self.now = self._moment(start)

    @staticmethod
    def _moment(when: str | datetime) -> datetime:
        moment = datetime.fromisoformat(to_iso(when, "time") or "")
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: str | datetime) -> None:
        """Jump to ``when`` (an ISO 8601 string or a datetime; naive means UTC)."""
        self.now = self._moment(when)

    def advance(self, **delta: float) -> None:
        """Move forward by ``timedelta(**delta)``, such as ``advance(days=30)``."""
        self.now += timedelta(**delta)

    def __repr__(self) -> str:
        return f"ManualClock({self.now.isoformat(timespec='seconds')!r})"


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


def wrap_error(exc: sqlite3.Error, path: str) -> DatabaseError:
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


def _redacted(parameters: Any, redact: Redactor) -> Any:
    if isinstance(parameters, dict):
        return {k: redact(v) if isinstance(v, str) else v for k, v in parameters.items()}
    return [redact(v) if isinstance(v, str) else v for v in parameters]


class RedactingConnection(sqlite3.Connection):
    """An sqlite3 connection that passes every text it binds through :func:`~memkit.redact.redact_secrets`.

    The one place keys are kept out of the file: whatever column a value goes
    to (a cell, a scene name, a reason, a source id, an error, a history row),
    and whichever code path writes it, key-shaped text never reaches the disk.
    """

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return super().execute(sql, _redacted(parameters, Redactor()))

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        redact = Redactor()
        return super().executemany(sql, (_redacted(row, redact) for row in parameters))

    def executemany_stored(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        """``executemany`` for rows built only from values this file already holds (read back after
        they were written, and redacted then) and texts the caller redacted: they are not scanned again."""
        return super().executemany(sql, parameters)


def _connect(target: str, path: str, timeout: float, durable: bool = False) -> sqlite3.Connection:
    """Open ``target`` (a path, or a ``file:`` URI for read-only access), check it
    is a memkit database this version understands, and bring its schema up to date.

    :param durable: sync every commit to the disk (``synchronous = FULL``); otherwise
        only checkpoints are synced (``NORMAL``), see :func:`open_connection`.
    """
    read_only = "mode=ro" in target
    deadline = time.monotonic() + timeout
    try:
        conn = sqlite3.connect(
            target,
            timeout=timeout,
            isolation_level=None,
            check_same_thread=False,
            uri=target.startswith("file:"),
            factory=RedactingConnection,
        )
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot open {path!r}: {exc}; check the folder exists and is writable") from exc
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        marked = _retry_busy(lambda: _check_ours(conn, path), deadline)
        pending = len(MIGRATIONS) - len(check_known(_retry_busy(lambda: applied_migrations(conn), deadline)))
        if read_only and pending:
            raise DatabaseError(
                f"{path!r} was written by an older memkit and must be upgraded, but it is read-only; "
                "copy it to a writable folder and open the copy"
            )
        if not read_only:
            if path != ":memory:":
                mode = _retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone()[0], deadline)
                if str(mode).lower() == "wal":
                    conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
            if pending:
                _retry_busy(lambda: migrate(conn), deadline)
            elif not marked:  # made before memkit marked its files
                _retry_busy(lambda: conn.execute(f"PRAGMA application_id = {APPLICATION_ID}"), deadline)
        differences = schema_differences(conn)
        if differences:
            raise DatabaseError(
                f"the schema of {path!r} is not the one memkit made: {'; '.join(differences[:5])}. "
                "memkit leaves it untouched: restore the file from a backup, or undo what another program changed"
            )
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        conn.close()
        if isinstance(exc, UnicodeDecodeError):  # SQLite's own message quotes the damaged schema text
            exc = sqlite3.DatabaseError(f"malformed database schema: text that is not UTF-8 ({exc.reason})")
        raise wrap_error(exc, path) from exc
    except MemkitError:
        conn.close()
        raise
    return conn


def _check_ours(conn: sqlite3.Connection, path: str) -> bool:
    """Whether the file is marked as memkit's (it may also be new and empty, or made by an older memkit).

    :raises DatabaseError: the file holds anything, or says anything in its header, and is not memkit's.
    """
    objects = conn.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall()
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    user_version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = sorted(name for kind, name in objects if kind == "table")
    if application_id == APPLICATION_ID:
        return True
    if application_id == 0 and (MIGRATIONS_TABLE in tables or not (objects or user_version)):
        return False  # an older memkit's file, or an empty one
    if tables:
        what = f"tables: {', '.join(tables[:5])}"
    elif objects:
        what = ", ".join(f"{kind} {name}" for kind, name in objects[:5])
    elif application_id:
        what = f"application_id {application_id}"
    else:
        what = f"user_version {user_version}"
    raise DatabaseError(
        f"{path!r} is an SQLite database of another program ({what}); "
        "memkit leaves it untouched: give the path of a new file"
    )


@dataclass
class Connection:
    """The connections and locks shared by every namespace view of one file.

    ``conn`` writes (one transaction at a time, under ``lock``). A file in WAL
    mode also gets ``reader``, a second connection opened read-only (``mode=ro``)
    that reads what is committed without waiting for ``lock``: a thread reading
    while another one writes never waits for it. A thread inside its own
    transaction reads through ``conn``, so it sees what it has written.
    """

    conn: sqlite3.Connection
    lock: threading.RLock
    path: str
    closed: bool = False
    read_only: str | None = None  # why writes are refused and what to do, when they are
    change: Change | None = None  # the change of the history being recorded, if any
    reader: sqlite3.Connection | None = None
    reader_lock: threading.Lock = field(default_factory=threading.Lock)
    writer: int | None = None  # the thread inside a transaction on ``conn``, if any
    fts_totals: dict[tuple[int, str], tuple[tuple[int, int], int, int]] = field(default_factory=dict)  # memkit.fts

    #: Which SQL this store speaks (the PostgreSQL store says "postgres").
    dialect = "sqlite"
    #: Appended to a SELECT that claims rows: nothing, as a transaction holds the whole file's write lock.
    lock_rows = ""

    @contextmanager
    def transaction(self, namespace: str, *, exclusive: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction (a savepoint inside another), see :meth:`memkit.store.Store.transaction`.

        :param namespace: whose writes. :param exclusive: whether the writers of the namespace take turns.
            Both are for the PostgreSQL store: here one lock covers the whole file.
        """
        with self.reading(writer=True) as conn:
            if self.read_only is not None:
                raise DatabaseError(f"cannot write: {self.read_only}")
            nested = conn.in_transaction
            try:
                conn.execute("SAVEPOINT memkit_nested" if nested else "BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise wrap_error(exc, self.path) from exc
            if not nested:
                self.writer = threading.get_ident()  # this thread's reads now see what it writes
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
                    raise wrap_error(exc, self.path) from exc
                raise
            else:
                try:
                    conn.execute("RELEASE memkit_nested" if nested else "COMMIT")
                except sqlite3.Error as exc:
                    if not nested and conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise wrap_error(exc, self.path) from exc
            finally:
                if not nested:
                    self.writer = None

    def rows(self, sql: str, params: Sequence[Any] = (), *, writer: bool = False) -> list[sqlite3.Row]:
        """The rows of one trusted statement (see :meth:`reading` for which connection runs it)."""
        with self.reading(writer=writer) as conn:
            try:
                cursor = conn.execute(sql, params)
                cursor.row_factory = sqlite3.Row
                return cursor.fetchall()
            except sqlite3.Error as exc:
                raise wrap_error(exc, self.path) from exc

    @contextmanager
    def reading(self, *, writer: bool = False) -> Iterator[sqlite3.Connection]:
        """The connection to read through, held for the ``with`` block.

        :param writer: read through ``conn`` even outside a transaction (for
            statements SQLite counts as writes, such as FTS5's integrity check).
        :raises DatabaseError: the database was closed.
        """
        reader = None if writer or self.writer == threading.get_ident() else self.reader
        with self.lock if reader is None else self.reader_lock:
            if self.closed:
                raise DatabaseError("this MemoryDB is closed; open the file again")
            yield self.conn if reader is None else reader

    def close(self) -> None:
        """Close both connections (once)."""
        with self.lock, self.reader_lock:
            if not self.closed:
                if self.reader is not None:
                    self.reader.close()
                self.conn.close()  # the writer last: as the file's last connection it folds the WAL back in
                self.closed = True


def open_connection(path: str, timeout: float, *, read_only: bool = False, durable: bool = False) -> Connection:
    """Open ``path`` for every namespace view to share; read-only when it cannot be written.

    What a commit survives: a crash of the program (even SIGKILL) loses nothing
    committed. With WAL and ``synchronous = NORMAL`` (the default), a power cut
    or an operating-system crash can take back the last commits before it
    (those not yet checkpointed), never leaving a damaged file; ``durable=True``
    syncs every commit (``synchronous = FULL``), so they survive that too, at
    the cost of a disk sync (milliseconds) per commit.

    :param read_only: open an existing file for reading only, never creating or changing it.
    :param durable: make each commit survive a power cut (see above).
    :raises DatabaseError: the file cannot be opened or is not a memkit database, or
        (``read_only``) there is no file at ``path``.
    :raises SchemaVersionError: the file was written by a newer memkit.
    """
    if read_only:
        if path == ":memory:":
            raise ValueError("read_only=True needs a database file; an in-memory database starts empty")
        if not os.path.isfile(path):
            raise DatabaseError(f"no memkit database at {path!r}: check the path (nothing was created)")
        return _open_read_only(
            path, timeout, f"{path!r} was opened read-only (read_only=True); open it without to change it"
        )
    if path == ":memory:":
        return Connection(conn=_connect(path, path, timeout), lock=threading.RLock(), path=path)
    if os.path.isdir(path):
        raise DatabaseError(f"{path!r} is a directory; give the path of a database file")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isfile(path) or (os.access(path, os.W_OK) and os.access(folder, os.W_OK)):
        try:
            conn = _connect(path, path, timeout, durable)
            return Connection(conn=conn, lock=threading.RLock(), path=path, reader=_open_reader(conn, path, timeout))
        except DatabaseError as exc:
            if not os.path.isfile(path) or "read-only" not in str(exc):
                raise
    # The file or its folder cannot be written: open it for reading only.
    return _open_read_only(
        path,
        timeout,
        f"{path!r} is opened read-only because the file or its folder cannot be written; "
        "copy it to a writable folder to change it",
    )


def _open_reader(conn: sqlite3.Connection, path: str, timeout: float) -> sqlite3.Connection | None:
    """A second, read-only connection for reads that must not wait for ``conn``'s writes (WAL files only)."""
    if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        return None  # without WAL a reader would wait for every commit anyway
    try:
        reader = sqlite3.connect(
            f"{Path(path).absolute().as_uri()}?mode=ro",
            uri=True,
            timeout=timeout,
            isolation_level=None,
            check_same_thread=False,
            factory=RedactingConnection,
        )
    except sqlite3.Error:
        return None  # reads then share the writer's connection, as in memory
    reader.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    return reader


def _open_read_only(path: str, timeout: float, reason: str) -> Connection:
    """Open an existing file for reading only; ``reason`` says why writes are refused, and what to do."""
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
    return Connection(conn=conn, lock=threading.RLock(), path=path, read_only=reason)
