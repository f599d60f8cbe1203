"""Concurrency: threads and processes on one database lose nothing and never see 'database is locked'.

The stress run is ``bench/reliability.py`` with small numbers; the README's
figures come from the same code with bigger ones.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bench.reliability import open_race, stress
from memkit import DatabaseError, LLMRequest, MemoryDB, MemoryManager, NewCell, UpdateResult
from memkit.testing import NAMESPACE, KnownModel, exchange_text, expected_contents


def test_writer_reader_and_chat_threads_and_a_second_process_lose_nothing(tmp_path: Path) -> None:
    report = stress(tmp_path / "stress.db", seconds=2.0, writers=3, readers=2, processes=2)
    assert (report.lost, report.unexpected, report.errors, report.problems) == (0, 0, [], [])
    assert report.threads == 14 and report.cells > 0 and report.exchanges > 0


def test_programs_creating_one_new_file_at_once_all_succeed(tmp_path: Path) -> None:
    # Both used to fail: the second program ran the first migration again
    # ("table mem_cells already exists"), or switching to WAL said "database is locked".
    assert open_race(tmp_path, rounds=3, processes=4) == []


def test_a_database_made_in_one_thread_works_in_others(db_path: Path) -> None:
    db = MemoryDB(db_path)
    errors: list[BaseException] = []
    ids: list[int] = []

    def work() -> None:
        try:
            ids.append(db.add_cell(scene="s", cell_type="fact", salience=0.5, content="written from a thread"))
            db.search("thread")
        except BaseException as exc:  # pragma: no cover - the failure being tested for
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert errors == []
    assert [c.content for c in db.list_cells()] == ["written from a thread"]
    db.close()


def test_a_writer_waits_for_another_programs_write_lock(db_path: Path) -> None:
    db = MemoryDB(db_path, namespace=NAMESPACE)
    other = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute(
        "INSERT INTO mem_cells (namespace, scene, cell_type, salience, content, created_at)"
        " VALUES (?, 's', 'fact', 0.5, 'from the other program', '2026-01-01')",
        (NAMESPACE,),
    )
    timer = threading.Timer(0.3, other.execute, args=("COMMIT",))
    timer.start()
    cell_id = db.add_cell(scene="s", cell_type="fact", salience=0.5, content="from memkit")
    timer.join()
    assert [(c.id, c.content) for c in db.list_cells()] == [(1, "from the other program"), (cell_id, "from memkit")]
    other.close()
    db.close()


def test_a_lock_held_past_the_timeout_is_a_clear_error_and_changes_nothing(db_path: Path) -> None:
    MemoryDB(db_path).close()
    db = MemoryDB(db_path, timeout=0.2)
    db.add_cell(scene="s", cell_type="fact", salience=0.5, content="kept")
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(DatabaseError, match=r"stayed locked by another connection .* longer timeout="):
        db.add_cells([NewCell("s", "fact", 0.5, "one"), NewCell("s", "fact", 0.5, "two")])
    other.execute("ROLLBACK")
    other.close()
    assert [c.content for c in db.list_cells()] == ["kept"]
    assert db.search("kept")[0].content == "kept"  # reads never waited
    db.close()


def test_a_read_never_waits_for_a_write_on_the_same_memorydb(db_path: Path) -> None:
    db = MemoryDB(db_path)
    db.add_cell(scene="s", cell_type="fact", salience=0.5, content="committed before")
    inside, release = threading.Event(), threading.Event()

    def write() -> None:
        with db.transaction():
            db.add_cell(scene="s", cell_type="fact", salience=0.5, content="written, not yet committed")
            assert [c.content for c in db.list_cells()][-1] == "written, not yet committed"  # its own writes
            inside.set()
            release.wait(30)

    seen: list[object] = []

    def read() -> None:
        seen.append([c.content for c in db.list_cells()])
        seen.append([h.content for h in db.search("committed") if h.matched])
        seen.append(db.sql("SELECT COUNT(*) AS n FROM mem_cells"))

    writer = threading.Thread(target=write)
    writer.start()
    assert inside.wait(10)
    reader = threading.Thread(target=read)
    reader.start()
    reader.join(timeout=10)
    waited = reader.is_alive()
    release.set()
    writer.join()
    reader.join()
    assert not waited  # the read finished while the write was still open
    assert seen == [["committed before"], ["committed before"], [{"n": 1}]]  # what was committed, no more
    assert [c.content for c in db.list_cells()] == ["committed before", "written, not yet committed"]
    db.close()


class _Busy(KnownModel):
    """Extracts like :class:`KnownModel`, after waiting for ``release``."""

    def __init__(self) -> None:
        self.started, self.release = threading.Event(), threading.Event()

    def complete(self, request: LLMRequest) -> str:
        if request.task == "extract":
            self.started.set()
            self.release.wait(30)
        return super().complete(request)


def test_retry_leaves_alone_an_exchange_another_program_is_working_on(db_path: Path) -> None:
    text = exchange_text("busy", 3)
    busy = _Busy()
    mine, theirs = MemoryDB(db_path, namespace=NAMESPACE), MemoryDB(db_path, namespace=NAMESPACE)
    worker = threading.Thread(target=MemoryManager(mine, busy).update, args=(text, "ok"))
    worker.start()
    assert busy.started.wait(10)
    assert MemoryManager(theirs, KnownModel()).retry_failed() == []  # still being worked on: left alone
    busy.release.set()
    worker.join()
    assert MemoryManager(theirs, KnownModel()).retry_failed() == []
    assert sorted(c.content for c in theirs.list_cells()) == expected_contents(text)
    assert theirs.check_integrity() == []
    mine.close()
    theirs.close()


def test_a_lease_that_ran_out_is_taken_over_and_the_late_program_stores_nothing(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import memkit.claims

    monkeypatch.setattr(memkit.claims, "LEASE_SECONDS", 0.2)
    text = exchange_text("slow", 2)
    busy = _Busy()
    mine, theirs = MemoryDB(db_path, namespace=NAMESPACE), MemoryDB(db_path, namespace=NAMESPACE)
    late: list[UpdateResult] = []
    worker = threading.Thread(target=lambda: late.append(MemoryManager(mine, busy).update(text, "ok")))
    worker.start()
    assert busy.started.wait(10)
    time.sleep(0.3)
    (taken,) = MemoryManager(theirs, KnownModel()).retry_failed()  # the lease ran out: taken over
    assert sorted(c.content for c in taken.cells) == expected_contents(text)
    busy.release.set()
    worker.join()
    assert late[0].cells == ()  # finished by the other program; nothing stored twice
    assert sorted(c.content for c in theirs.list_cells()) == expected_contents(text)
    assert theirs.check_integrity() == []
    mine.close()
    theirs.close()


def test_the_check_sees_cells_of_one_exchange_stored_twice(db: MemoryDB) -> None:
    exchange = db.log_exchange([])
    for _ in range(2):  # what two programs processing one exchange used to do
        db.add_cells([NewCell("s", "fact", 0.5, "Stored twice.")], exchange_id=exchange)
    db.mark_exchange(exchange, "done")
    assert [p for p in db.check_integrity() if f"exchange {exchange}" in p and "twice" in p] != []


def test_a_cell_another_program_superseded_meanwhile_becomes_an_add(db_path: Path) -> None:
    import json

    from memkit import ScriptedBackend
    from memkit.lifecycle import supersede

    db, other = MemoryDB(db_path), MemoryDB(db_path)
    lisbon = db.add_cell(scene="home", cell_type="fact", salience=0.5, content="Ana lives in Lisbon.")

    def extract(request: LLMRequest) -> str:
        # While the model thinks, another program replaces the cell it was shown.
        supersede(other, lisbon, other.add_cell(scene="home", cell_type="fact", salience=0.6, content="Ana: Porto."))
        cell = {"scene": "home", "cell_type": "fact", "salience": 0.6, "content": "Ana moved to Berlin."}
        return json.dumps({"cells": [{**cell, "action": "update", "target": 1}]})

    result = MemoryManager(db, ScriptedBackend([extract], fallback=KnownModel())).update("I moved to Berlin.", "ok")
    assert db.unfinished_exchanges() == []
    assert [(r.action, r.content, r.asked) for r in result.revisions] == [("add", "Ana moved to Berlin.", "update 1")]
    assert "changed" in result.revisions[0].reason
    assert sorted(c.content for c in db.list_cells()) == ["Ana moved to Berlin.", "Ana: Porto."]
    assert db.check_integrity() == []
    db.close()
    other.close()


def test_a_scene_another_program_makes_between_two_reads_is_not_an_error(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The manager reads the scenes, then searches: another program may add a scene in between."""
    db, other = MemoryDB(db_path), MemoryDB(db_path)
    db.add_cell(scene="kitchen", cell_type="fact", salience=0.5, content="The kitchen budget is 15,000 euros.")
    search = MemoryDB.search

    def search_after_another_write(self: MemoryDB, query: str, *args: Any, **kwargs: Any) -> list[Any]:
        if other.get_scene("invoices") is None:
            other.add_cell(scene="invoices", cell_type="fact", salience=0.9, content="The kitchen invoice is due.")
        return search(self, query, *args, **kwargs)

    monkeypatch.setattr(MemoryDB, "search", search_after_another_write)
    MemoryManager(db).update("The kitchen invoice arrived today.", "ok")
    assert db.unfinished_exchanges() == []
    assert db.check_integrity() == []
    db.close()
    other.close()
