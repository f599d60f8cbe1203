"""Crash safety: a process killed with SIGKILL mid-update leaves a healthy file, each exchange whole or absent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bench.reliability import crash
from memkit import DatabaseError, MemoryDB, MemoryManager, NewCell
from memkit.testing import NAMESPACE, KnownModel, check_exchanges, exchange_text, expected_contents

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


def run_until(code: str, signal_line: str) -> None:
    """Run ``code`` in a new Python process and SIGKILL it as soon as it prints ``signal_line``."""
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == signal_line
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    child.stdout.close()


def kill_inside_a_big_transaction(target: str, setup: str = "") -> None:
    """Kill a program while it holds 3,000 uncommitted cells open in one transaction on ``target``."""
    run_until(
        f"""
        from memkit import MemoryDB, NewCell
        db = MemoryDB({target!r}, namespace={NAMESPACE!r})
        {setup}
        exchange = db.log_exchange([])
        with db.transaction():
            db.add_cells([NewCell("big", "fact", 0.5, f"Uncommitted cell {{i}} " + "x" * 200) for i in range(3000)],
                         exchange_id=exchange)
            print("inside", flush=True)
            import time; time.sleep(60)
        """,
        "inside",
    )


def test_random_kills_leave_a_healthy_store_with_whole_exchanges(store_url: str) -> None:
    """On the file and on the server alike (there, the server rolls back what a killed client left open)."""
    report = crash(store_url, kills=8, seed=5)
    assert report.problems == []
    assert report.kills == 8 and report.exchanges > 0
    with MemoryDB(store_url, namespace=NAMESPACE) as db:
        MemoryManager(db, KnownModel()).retry_failed()  # what was interrupted is finished now
        assert db.unfinished_exchanges() == []
        assert check_exchanges(db, all_done=True) == []
        assert db.check_integrity() == []


def test_kill_inside_a_big_write_transaction_keeps_none_of_it(db_path: Path) -> None:
    with MemoryDB(db_path, namespace=NAMESPACE) as db:
        MemoryManager(db, KnownModel()).update(exchange_text("before", 2), "ok")
    # A tiny page cache makes SQLite spill the uncommitted pages into the WAL file before the kill.
    kill_inside_a_big_transaction(str(db_path), 'db._shared.conn.execute("PRAGMA cache_size = 5")')
    assert os.path.getsize(f"{db_path}-wal") > 100_000  # the transaction had reached the disk
    with MemoryDB(db_path, namespace=NAMESPACE) as db:
        assert db.check_integrity() == []
        assert sorted(c.content for c in db.list_cells()) == expected_contents(exchange_text("before", 2))
        assert db.search("uncommitted")[0].matched is False


def test_kill_inside_a_big_write_transaction_on_the_server_keeps_none_of_it(pg_url: str) -> None:
    with MemoryDB(pg_url, namespace=NAMESPACE) as db:
        MemoryManager(db, KnownModel()).update(exchange_text("before", 2), "ok")
    kill_inside_a_big_transaction(pg_url)
    with MemoryDB(pg_url, namespace=NAMESPACE, timeout=30) as db:
        db.add_cells([NewCell("after", "fact", 0.5, "Written once the killed writer's lock was gone.")])
        assert db.check_integrity() == []
        wanted = [*expected_contents(exchange_text("before", 2)), "Written once the killed writer's lock was gone."]
        assert sorted(c.content for c in db.list_cells()) == sorted(wanted)
        assert db.search("uncommitted")[0].matched is False


def test_kill_while_the_model_extracts_keeps_the_exchange_for_a_retry(db_path: Path) -> None:
    text = exchange_text("interrupted", 3)
    run_until(
        f"""
        import time
        from memkit.testing import KnownModel
        from memkit import MemoryDB, MemoryManager

        class SlowModel(KnownModel):
            def complete(self, request):
                if request.task == "extract":
                    print("extracting", flush=True)
                    time.sleep(60)
                return super().complete(request)

        db = MemoryDB({str(db_path)!r}, namespace={NAMESPACE!r})
        MemoryManager(db, SlowModel()).update({text!r}, "ok")
        """,
        "extracting",
    )
    with MemoryDB(db_path, namespace=NAMESPACE) as db:
        assert db.check_integrity() == []
        (pending,) = db.unfinished_exchanges()
        assert pending[1][0].text == text and db.count_cells() == 0
        (result,) = MemoryManager(db, KnownModel()).retry_failed()
        assert sorted(c.content for c in result.cells) == expected_contents(text)
        assert check_exchanges(db, all_done=True) == []


def test_a_failure_between_storing_cells_and_marking_done_stores_no_cells(
    db: MemoryDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The point a kill could land on, made certain: cells and the done mark commit together."""
    mark = MemoryDB.mark_exchange

    def fail_on_done(self: MemoryDB, exchange_id: int, status: str, error: str | None = None, **claim: str) -> bool:
        if status == "done":
            raise DatabaseError("the disk went away")
        return mark(self, exchange_id, status, error, **claim)

    monkeypatch.setattr(MemoryDB, "mark_exchange", fail_on_done)
    db = db.for_namespace(NAMESPACE)
    with pytest.raises(DatabaseError, match="the disk went away"):
        MemoryManager(db, KnownModel()).update(exchange_text("torn", 4), "ok")
    assert db.count_cells() == 0
    assert [(e[0], e[1][0].text) for e in db.unfinished_exchanges()] == [(1, exchange_text("torn", 4))]
    assert db.check_integrity() == []


def test_commits_are_synced_to_the_disk_when_asked(db_path: Path) -> None:
    """A power cut cannot be tested here; the setting that decides what it takes back can."""
    with MemoryDB(db_path) as db:
        assert db.query_rows("PRAGMA synchronous", writer=True)[0][0] == 1  # NORMAL: checkpoints are synced
    with MemoryDB(db_path, durable=True) as db:
        assert db.query_rows("PRAGMA synchronous", writer=True)[0][0] == 2  # FULL: every commit is synced
        db.add_cell(scene="s", cell_type="fact", salience=0.5, content="kept")


def test_a_kill_before_the_summary_is_written_leaves_it_owed_and_retry_writes_it(db_path: Path) -> None:
    text = exchange_text("owed", 3)
    run_until(
        f"""
        import time
        import memkit.claims
        from memkit.testing import KnownModel
        from memkit import MemoryDB, MemoryManager

        memkit.claims.LEASE_SECONDS = 0.2  # so the check below need not wait ten minutes

        class SlowSummaries(KnownModel):
            def complete(self, request):
                if request.task == "consolidate":
                    print("consolidating", flush=True)
                    time.sleep(60)
                return super().complete(request)

        db = MemoryDB({str(db_path)!r}, namespace={NAMESPACE!r})
        MemoryManager(db, SlowSummaries()).update({text!r}, "ok")
        """,
        "consolidating",
    )
    time.sleep(0.3)
    with MemoryDB(db_path, namespace=NAMESPACE) as db:
        assert db.unfinished_exchanges() == [] and db.count_cells() == 3  # the exchange itself committed
        assert db.get_scene("exchanges").summary == ""  # type: ignore[union-attr]
        assert [p for p in db.check_integrity() if "exchanges" in p and "summary" in p] != []
        MemoryManager(db, KnownModel()).retry_failed()
        assert db.get_scene("exchanges").summary == "3 new cells."  # type: ignore[union-attr]
        assert db.check_integrity() == []


def test_an_interrupted_ingest_leaves_every_message_owed_to_its_summary(db_path: Path) -> None:
    run_until(
        f"""
        import time
        from memkit.testing import KnownModel, exchange_text
        from memkit import MemoryDB, MemoryManager

        class SlowSummaries(KnownModel):
            def complete(self, request):
                if request.task == "consolidate":
                    print("consolidating", flush=True)
                    time.sleep(60)
                return super().complete(request)

        db = MemoryDB({str(db_path)!r}, namespace={NAMESPACE!r})
        messages = [("Ana", exchange_text(f"m{{i}}", 2)) for i in range(9)]
        MemoryManager(db, SlowSummaries()).ingest(messages, progress=False, consolidate_every=10)
        """,
        "consolidating",
    )
    with MemoryDB(db_path, namespace=NAMESPACE) as db:
        assert db.count_cells() == 18 and db.get_scene("exchanges").summary == ""  # type: ignore[union-attr]
        MemoryManager(db, KnownModel()).retry_failed()
        assert db.get_scene("exchanges").summary == "18 new cells."  # type: ignore[union-attr]
        assert db.check_integrity() == []
