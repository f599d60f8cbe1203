"""Bad files and bad input: a clear memkit error or a graceful result, and what was stored stays intact."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from memkit import DatabaseError, MemkitError, MemoryDB, MemoryManager, NewCell, WorkerAgent, import_jsonl
from memkit.types import Cell, Scene

ROOT = Path(__file__).resolve().parent.parent


def seed(path: Path) -> tuple[list[Cell], list[Scene]]:
    """A database with a few cells and a summary; returns what it holds."""
    with MemoryDB(path) as db:
        MemoryManager(db).update("The kitchen budget is 15,000 euros.", "Noted.")
        db.add_cells([NewCell("garden", "task", 0.5, f"Water the tomatoes on day {i}.") for i in range(20)])
        return db.list_cells(), db.list_scenes()


def assert_intact(path: Path, cells: list[Cell], scenes: list[Scene]) -> None:
    with MemoryDB(path) as db:
        assert db.list_cells() == cells
        assert db.list_scenes() == scenes
        assert db.check_integrity() == []


# -- bad files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    ["random bytes", "zeroed pages", "truncated", "bad header"],
)
def test_a_corrupt_file_gives_a_memkit_error_and_is_not_written(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "memory.db"
    seed(path)
    data = bytearray(path.read_bytes())
    if damage == "random bytes":
        data = bytearray(os.urandom(len(data)))
    elif damage == "zeroed pages":
        data[4096 * 2 :] = bytes(len(data) - 4096 * 2)
    elif damage == "truncated":
        data = data[: len(data) // 3 + 100]
    else:
        data[:16] = b"Not SQLite here\x00"
    path.write_bytes(bytes(data))
    try:
        with MemoryDB(path) as db:  # some damage only shows when the pages are read
            problems = db.check_integrity()
            db.list_cells()
            db.search("tomatoes")
    except MemkitError as exc:
        assert isinstance(exc, DatabaseError)
        assert "is not a memkit database or is corrupt" in str(exc) or "SQLite error" in str(exc)
    else:
        assert problems != []
    assert path.read_bytes() == bytes(data)


def test_an_sqlite_database_of_another_program_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.execute("INSERT INTO invoices (total) VALUES (12.5)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match=r"database of another program \(tables: invoices\).*new file"):
        MemoryDB(path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["other.db"]  # not even a WAL file


def _as_unprivileged(code: str, *paths: Path) -> str:
    """Run ``code`` in a new process that cannot write ``paths``; return what it prints.

    As root, permissions do not apply: the process then gives up root (after
    importing memkit) so the files really are read-only to it.
    """
    prelude = textwrap.dedent(
        """
        import os, sys, memkit
        from memkit import *
        if os.geteuid() == 0:
            os.setgid(65534)
            os.setuid(65534)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder every user can enter (pytest's own are private to their owner)."""
    folder = Path(tempfile.mkdtemp())
    folder.chmod(0o755)
    yield folder
    folder.chmod(0o755)
    shutil.rmtree(folder)


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_file_or_folder_opens_for_reading_and_refuses_writes(shared_folder: Path, what: str) -> None:
    path = shared_folder / "memory.db"
    cells, scenes = seed(path)
    if what == "file":
        shared_folder.chmod(0o777)  # only the file is protected
    path.chmod(0o444)
    before = path.read_bytes()
    out = _as_unprivileged(
        f"""
        db = MemoryDB({str(path)!r})
        print(db.read_only, db.count_cells(), db.search("kitchen budget")[0].content)
        try:
            db.add_cell(scene="s", cell_type="fact", salience=0.5, content="new")
        except DatabaseError as exc:
            print(exc)
        try:
            MemoryManager(db).update("I like tea.", "ok")
        except DatabaseError as exc:
            print(type(exc).__name__)
        print(db.count_cells(), db.check_integrity())
        """,
        path,
    )
    assert out.splitlines() == [
        "True 21 The kitchen budget is 15,000 euros.",
        f"cannot write: {str(path)!r} is opened read-only because the file or its folder cannot be written; "
        "copy it to a writable folder to change it",
        "DatabaseError",
        "21 []",
    ]
    assert path.read_bytes() == before
    shared_folder.chmod(0o755)
    path.chmod(0o644)
    assert_intact(path, cells, scenes)


def test_a_read_only_file_from_an_older_memkit_says_it_needs_upgrading(shared_folder: Path) -> None:
    from memkit.migrations import migrate

    path = shared_folder / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, upto="m002_fts_index")
    conn.close()
    path.chmod(0o444)
    out = _as_unprivileged(
        f"""
        try:
            MemoryDB({str(path)!r})
        except DatabaseError as exc:
            print(exc)
        """,
        path,
    )
    assert out.strip() == (
        f"{str(path)!r} was written by an older memkit and must be upgraded, but it is read-only; "
        "copy it to a writable folder and open the copy"
    )


def test_a_full_disk_fails_the_write_cleanly_and_keeps_what_was_stored(db_path: Path) -> None:
    cells, _ = seed(db_path)
    db = MemoryDB(db_path)
    pages = db.query_rows("PRAGMA page_count")[0][0]
    db._shared.conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # the disk has two pages left
    manager = MemoryManager(db)
    with pytest.raises(DatabaseError, match=r"the disk is full .* nothing was changed"):
        for i in range(200):
            manager.update(f"Note {i}: the shed needs a new coat of paint, shade {i} of blue. " * 30, "ok")
    with pytest.raises(DatabaseError, match="the disk is full"):
        db.add_cells([NewCell("big", "fact", 0.5, "x " * 5000)])
    assert db.check_integrity() == []
    stored = db.list_cells()
    assert stored[: len(cells)] == cells
    db._shared.conn.execute("PRAGMA max_page_count = 1073741823")  # space freed
    retried = manager.retry_failed()
    assert db.unfinished_exchanges() == [] and all(r.cells for r in retried)
    assert db.check_integrity() == []
    db.close()


def test_a_file_size_limit_from_the_system_fails_writes_cleanly(tmp_path: Path) -> None:
    """A real refusal by the operating system (EFBIG), as when a disk or quota runs out."""
    path = tmp_path / "memory.db"
    cells, _ = seed(path)
    code = f"""
        import resource, signal
        from memkit import DatabaseError, MemoryDB, NewCell
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        db = MemoryDB({str(path)!r})
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, resource.RLIM_INFINITY))
        written = 0
        try:
            for i in range(10_000):
                db.add_cells([NewCell("filler", "fact", 0.5, f"Filler {{i}}.{{j}} " + "y" * 300) for j in range(5)])
                written += 5
        except DatabaseError as exc:
            print(written, exc)
        """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60)
    written, _, message = result.stdout.partition(" ")
    assert "cannot write to" in message and "nothing was changed" in message, result.stdout + result.stderr
    with MemoryDB(path) as db:
        assert db.check_integrity() == []
        assert db.list_cells()[: len(cells)] == cells
        assert db.count_cells() == len(cells) + int(written)  # every batch reported written is there


# -- bad input ---------------------------------------------------------------------


def test_a_5_mb_message_is_remembered_and_answered_briefly(db_path: Path) -> None:
    cells, _ = seed(db_path)
    db = MemoryDB(db_path)
    agent = WorkerAgent(MemoryManager(db))
    message = "The attic holds old letters from the 1920s. " + "and more boxes of letters " * 200_000
    assert len(message) > 5_000_000
    reply = agent.answer(message)
    assert reply.startswith("Noted: The attic holds old letters from the 1920s.") and len(reply) < 400
    assert db.list_cells()[: len(cells)] == cells
    new = db.list_cells()[len(cells) :]
    assert new[0].content.startswith("The attic holds old letters from the 1920s.")
    assert all(len(c.content) <= 300 for c in new)
    logged = json.loads(db.query_rows("SELECT utterances FROM mem_exchanges ORDER BY id DESC LIMIT 1")[0][0])
    assert logged[0] == ["User", message]  # the log keeps the whole message
    assert db.check_integrity() == []
    db.close()


JUNK = (
    bytes(range(256)).decode("latin-1") + "\x00\udcff\ud800 tail" + b"\xff\xfe\x00".decode("utf-8", "surrogateescape")
)


def test_binary_junk_and_null_bytes_are_stored_clean_everywhere(db: MemoryDB) -> None:
    agent = WorkerAgent(MemoryManager(db))
    reply = agent.answer(f"The code word is {JUNK} for the shed.")
    assert "\x00" not in reply and "\udcff" not in reply
    cell_id = db.add_cell(scene=JUNK, cell_type="fact", salience=0.5, content=JUNK, source_id=JUNK)
    cell = db.get_cell(cell_id)
    assert cell is not None
    assert "\x00" not in cell.content and "\ufffd" in cell.content and cell.content.endswith("tail\ufffd\ufffd")
    assert db.search(JUNK)[0].id in {c.id for c in db.list_cells()}
    db.upsert_scene("junk", JUNK)
    MemoryManager(db).update(JUNK, JUNK)
    assert db.check_integrity() == []
    dump = "\n".join(db._shared.conn.iterdump())
    assert "\x00" not in dump


def test_importing_a_binary_or_broken_file_imports_nothing(db: MemoryDB, tmp_path: Path) -> None:
    db.add_cell(scene="s", cell_type="fact", salience=0.5, content="kept")
    binary = tmp_path / "photo.jsonl"
    binary.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(MemkitError, match="is not a memkit export: it is not UTF-8 text"):
        import_jsonl(db, binary)
    broken = tmp_path / "broken.jsonl"
    good = {"kind": "cell", "scene": "s", "cell_type": "fact", "salience": 0.5, "content": "new"}
    broken.write_text(json.dumps(good) + "\n" + '{"kind": "cell", "scene": \n')
    with pytest.raises(MemkitError, match="line 2 is not a memkit record"):
        import_jsonl(db, broken)
    assert [c.content for c in db.list_cells()] == ["kept"]


def test_numbers_too_big_for_sqlite_or_a_float_are_handled(db: MemoryDB) -> None:
    from memkit import CellNotFoundError, LinkNotFoundError, parse_cells
    from memkit.forgetting import mark_recalled
    from memkit.links import links_of, unlink

    huge = 10**400
    reply = json.dumps(
        {"cells": [{"scene": "s", "cell_type": "fact", "salience": s, "content": f"c{s > 0}"} for s in (huge, -huge)]}
    )
    assert [c.salience for c in parse_cells(reply).cells] == [1.0, 0.0]
    with pytest.raises(ValueError, match="salience"):
        db.add_cell(scene="s", cell_type="fact", salience=huge, content="too salient")
    cell = db.add_cell(scene="s", cell_type="fact", salience=0.5, content="kept")
    assert [h.id for h in db.search("kept", limit=10**20)] == [cell]
    assert [c.id for c in db.list_cells(limit=10**20)] == [cell]
    for big in (10**30, -(10**30), 2**63):
        assert db.get_cell(big) is None
        with pytest.raises(CellNotFoundError):
            db.delete_cell(big)
        with pytest.raises(CellNotFoundError):
            db.update_cell(big, content="new")
        with pytest.raises(LinkNotFoundError):
            unlink(db, big)
        assert links_of(db, big) == []
        mark_recalled(db, [big, cell])
    assert [c.content for c in db.list_cells()] == ["kept"]


# -- hostile or foreign files ---------------------------------------------------------


def _raw(path: Path, *statements: str) -> None:
    """Run SQL on ``path`` with plain sqlite3, as another program would."""
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in statements:
        conn.execute(statement)
    conn.close()


def test_a_damaged_schema_text_is_a_memkit_error(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    seed(path)
    _raw(
        path,
        "PRAGMA writable_schema = ON",
        "UPDATE sqlite_master SET sql = CAST(x'435245415445205441424c45ff' AS TEXT) || substr(sql, 13)"
        " WHERE name = 'mem_links'",
    )
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="is not a memkit database or is corrupt"):
        MemoryDB(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "statements",
    [
        ["CREATE VIEW answers AS SELECT 42 AS answer"],
        ["PRAGMA user_version = 7"],
        ["PRAGMA application_id = 1179602516"],  # another program's file type
        ["CREATE TABLE mem_cells (id INTEGER PRIMARY KEY)", "CREATE INDEX mine ON mem_cells (id)"],
    ],
    ids=["only a view", "user_version set", "application_id set", "a table of the same name"],
)
def test_a_foreign_sqlite_file_without_tables_of_its_own_is_left_untouched(
    tmp_path: Path, statements: list[str]
) -> None:
    path = tmp_path / "other.db"
    _raw(path, *statements)
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="another program"):
        MemoryDB(path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["other.db"]


def test_memkit_marks_its_files_and_opens_its_older_ones(tmp_path: Path) -> None:
    from memkit.migrations import APPLICATION_ID, migrate

    MemoryDB(tmp_path / "new.db").close()
    (tmp_path / "empty.db").touch()  # an empty file is a new database
    MemoryDB(tmp_path / "empty.db").close()
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old, isolation_level=None)
    migrate(conn, upto="m009_recalls")  # made before memkit marked its files
    conn.execute("PRAGMA application_id = 0")
    conn.close()
    MemoryDB(old).close()
    for name in ("new.db", "empty.db", "old.db"):
        conn = sqlite3.connect(tmp_path / name)
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID, name
        conn.close()


@pytest.mark.parametrize(
    ("statements", "named"),
    [
        (
            [
                "CREATE TRIGGER mem_cells_audit AFTER INSERT ON mem_cells BEGIN"
                " UPDATE mem_cells SET namespace = 'mallory' WHERE id = new.id; END"
            ],
            "mem_cells_audit",
        ),
        (["DROP TRIGGER mem_cells_fts_insert"], "mem_cells_fts_insert"),
        (["DROP INDEX mem_cells_namespace_scene"], "mem_cells_namespace_scene"),
        (["CREATE TABLE mem_notes (x)"], "mem_notes"),
        (["CREATE VIEW mem_everything AS SELECT * FROM mem_cells"], "mem_everything"),
        (
            [
                "DROP TRIGGER mem_cells_count_delete",
                "CREATE TRIGGER mem_cells_count_delete AFTER DELETE ON mem_cells BEGIN SELECT 1; END",
            ],
            "mem_cells_count_delete",
        ),
    ],
    ids=["planted trigger", "dropped FTS trigger", "dropped index", "extra table", "extra view", "changed trigger"],
)
def test_a_schema_memkit_did_not_make_is_refused_on_open_and_reported_by_the_check(
    tmp_path: Path, statements: list[str], named: str
) -> None:
    path = tmp_path / "memory.db"
    seed(path)
    db = MemoryDB(path)  # open before the change: the check sees it
    _raw(path, *statements)
    assert any(named in problem for problem in db.check_integrity()), db.check_integrity()
    db.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match=rf"schema.*{named}"):
        MemoryDB(path)
    assert path.read_bytes() == before
