"""The PostgreSQL store's own promises: its schema, claims under many workers, lost connections, roles.

What it shares with the SQLite file (cells, search, history, links, forgetting)
is tested on both stores by the modules that use the ``store_db`` fixture.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import memkit
from memkit import DatabaseError, MemoryDB, NewCell
from memkit.postgres.migrations import MIGRATIONS
from memkit.postgres.roles import add_student


@pytest.fixture
def pg(pg_url: str, clock: memkit.ManualClock) -> Any:
    database = MemoryDB(pg_url, clock=clock)
    yield database
    database.close()


def cell(content: str, scene: str = "s") -> NewCell:
    return NewCell(scene, "fact", 0.5, content)


def test_a_url_opens_the_server_and_a_path_stays_a_file(pg: MemoryDB, tmp_path: Any) -> None:
    assert pg._shared.dialect == "postgres"
    assert pg.path.startswith("postgresql://postgres@") and "memkit_test_" in pg.path
    with MemoryDB(tmp_path / "memory.db") as file_db, MemoryDB(":memory:") as memory_db:
        assert (file_db._shared.dialect, memory_db._shared.dialect) == ("sqlite", "sqlite")


def test_migrations_are_numbered_and_recorded_with_a_gin_index_on_the_tsvector(pg: MemoryDB) -> None:
    assert pg.sql("SELECT position, name FROM _memkit_migrations ORDER BY position") == [
        {"position": i, "name": name} for i, (name, _) in enumerate(MIGRATIONS, start=1)
    ]
    assert pg.sql(
        "SELECT data_type FROM information_schema.columns WHERE table_name = 'mem_cells_fts' ORDER BY ordinal_position"
    ) == [
        {"data_type": "bigint"},
        {"data_type": "text"},
        {"data_type": "tsvector"},
    ]
    assert pg.sql("SELECT indexdef FROM pg_indexes WHERE indexname = 'mem_cells_fts_document'") == [
        {
            "indexdef": "CREATE INDEX mem_cells_fts_document ON public.mem_cells_fts USING gin (namespace, document)"
            " WITH (fastupdate=off)"
        }
    ]  # no pending list for searches to read through


def test_the_index_follows_raw_sql_writes_made_around_memkit(pg: MemoryDB, pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as raw:
        raw.execute(
            "INSERT INTO mem_cells (namespace, scene, cell_type, salience, content, created_at)"
            " VALUES ('default', 'garden', 'fact', 0.5, 'The tomatoes need staking.', '2026-01-01')"
        )
    assert [hit.content for hit in pg.search("tomato")] == ["The tomatoes need staking."]
    with psycopg.connect(pg_url, autocommit=True) as raw:
        raw.execute("UPDATE mem_cells SET content = 'The cucumbers climb.'")
    assert [hit.matched for hit in pg.search("tomato")] == [False]
    assert [hit.content for hit in pg.search("cucumber")] == ["The cucumbers climb."]
    assert pg.check_integrity() == []


def test_the_health_check_finds_an_index_out_of_step(pg: MemoryDB, pg_url: str) -> None:
    import psycopg

    (cell_id,) = pg.add_cells([cell("Ana lives in Lisbon.")])
    with psycopg.connect(pg_url, autocommit=True) as raw:
        raw.execute("UPDATE mem_cells_fts SET document = to_tsvector('english', 'Berlin')")
    assert [p.split(";")[0] for p in pg.check_integrity()] == [f"full-text index out of step with cell {cell_id}"]


def test_any_text_is_a_valid_query(pg: MemoryDB) -> None:
    pg.add_cells([cell("Ana's cat* is called (Tom) & she's 100% sure!")])
    for query in [
        "",
        "   ",
        "!",
        "'",
        "&",
        "|",
        ":*",
        "tom & !",
        "AND OR NOT",
        "a:b",
        "(((",
        "tom (((*",
        "sure !*",
        "\x00",
        "sure*",
        "é",
    ]:
        pg.search(query)
    assert [h.content for h in pg.search("tom & ! ('")] == ["Ana's cat* is called (Tom) & she's 100% sure!"]
    assert pg.search("100% sure")[0].matched


def test_two_workers_never_claim_one_exchange(pg_url: str) -> None:
    with MemoryDB(pg_url) as first:
        exchanges = [first.log_exchange([memkit.Utterance("Ana", f"message {i}")]) for i in range(40)]
    won: dict[int, list[str]] = {exchange: [] for exchange in exchanges}
    start = threading.Barrier(6)

    def worker(name: str) -> None:
        with MemoryDB(pg_url) as db:
            start.wait()
            for exchange in exchanges:
                if db.claim_exchange(exchange, name):
                    won[exchange].append(name)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {exchange: len(names) for exchange, names in won.items()} == {exchange: 1 for exchange in exchanges}


def test_a_claim_skips_an_exchange_another_program_is_claiming_instead_of_waiting(pg_url: str) -> None:
    with MemoryDB(pg_url) as first, MemoryDB(pg_url, timeout=30) as second:
        exchange = first.log_exchange([memkit.Utterance("Ana", "hello")])
        with first.transaction() as conn:
            conn.execute("SELECT id FROM mem_exchanges WHERE id = ? FOR UPDATE", (exchange,))
            assert second.claim_exchange(exchange, "second") is False  # told at once, not after 30 s
        assert second.claim_exchange(exchange, "second") is True
        assert first.claim_exchange(exchange, "first") is False  # the second's claim holds


def test_a_lost_connection_is_a_database_error_and_nothing_of_the_transaction_is_written(
    pg: MemoryDB, pg_cluster: Any
) -> None:
    pg.add_cells([cell("kept")])
    with pytest.raises(DatabaseError, match="lost the connection") as raised, pg.transaction() as conn:
        pg.add_cells([cell(f"half {i}") for i in range(50)])
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        pg_cluster.psql(f"SELECT pg_terminate_backend({pid})")
        pg.add_cells([cell("never")])
    assert "nothing of it was written" in str(raised.value)
    assert [c.content for c in pg.list_cells()] == ["kept"]  # the pool gave a new connection
    assert pg.check_integrity() == []


def test_after_the_server_drops_every_connection_the_next_calls_get_fresh_ones(
    pg: MemoryDB, pg_cluster: Any, pg_url: str
) -> None:
    from memkit.postgres.connection import CHECK_AFTER_IDLE_S

    pg.add_cells([cell("a note kept through the restart")])
    assert pg.search("restart")
    database = pg_url.split("@/")[1].split("?")[0]
    pg_cluster.psql(
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        f" WHERE datname = '{database}' AND pid != pg_backend_pid()"
    )
    time.sleep(CHECK_AFTER_IDLE_S + 0.2)
    assert [h.content for h in pg.search("restart")] == ["a note kept through the restart"]
    pg.add_cells([cell("written after it")])
    assert len(pg.list_cells()) == 2


def test_each_role_reads_and_writes_only_its_own_namespace_even_with_raw_sql(
    pg: MemoryDB, pg_cluster: Any, pg_url: str
) -> None:
    import psycopg

    add_student(pg, "alice")
    add_student(pg, "bob")
    database = pg_url.split("@/")[1].split("?")[0]
    alice_url, bob_url = pg_cluster.url(database, "alice"), pg_cluster.url(database, "bob")
    with MemoryDB(alice_url, namespace="alice") as alice:
        secret = alice.add_cell(scene="diary", cell_type="fact", salience=0.9, content="Alice's secret plan.")
        assert [h.id for h in alice.search("secret plan")] == [secret]
    with MemoryDB(bob_url, namespace="bob") as bob:
        bob.add_cell(scene="diary", cell_type="fact", salience=0.5, content="Bob's own note.")
        assert bob.sql("SELECT content FROM mem_cells") == [{"content": "Bob's own note."}]
        assert bob.for_namespace("alice").list_cells() == []
        assert not bob.for_namespace("alice").search("secret plan")
        with pytest.raises(DatabaseError, match="row-level security"):
            bob.for_namespace("alice").add_cell(scene="diary", cell_type="fact", salience=0.5, content="forged")
    with psycopg.connect(bob_url, autocommit=True) as raw:
        assert raw.execute("SELECT count(*) FROM mem_cells WHERE namespace = 'alice'").fetchone() == (0,)
        assert raw.execute("SELECT count(*) FROM mem_cells_fts").fetchone() == (1,)
        assert raw.execute("UPDATE mem_cells SET content = 'changed' WHERE id = %s", (secret,)).rowcount == 0
        assert raw.execute("DELETE FROM mem_cells WHERE id = %s", (secret,)).rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            raw.execute(
                "INSERT INTO mem_cells (namespace, scene, cell_type, salience, content, created_at)"
                " VALUES ('alice', 'diary', 'fact', 0.5, 'forged', '2026-01-01')"
            )
    assert [(c.namespace, c.content) for c in pg.for_namespace("alice").list_cells()] == [
        ("alice", "Alice's secret plan.")
    ]  # the teacher, owner of the tables, sees every namespace
    assert pg.check_integrity() == []


def test_a_read_only_database_refuses_writes(pg_url: str) -> None:
    with MemoryDB(pg_url) as db:
        db.add_cells([cell("Ana lives in Lisbon.")])
    with MemoryDB(pg_url, read_only=True) as db:
        assert [c.content for c in db.list_cells()] == ["Ana lives in Lisbon."]
        with pytest.raises(DatabaseError, match="read-only"):
            db.add_cells([cell("more")])
        with pytest.raises(DatabaseError, match="read-only transaction"):  # the server itself refuses
            db.query_rows("DELETE FROM mem_cells")
        assert db.count_cells() == 1


def test_another_programs_database_is_left_untouched(pg_cluster: Any) -> None:
    url = pg_cluster.create_database("someone_else")
    pg_cluster.psql("CREATE TABLE orders (id INT)", "someone_else")
    with pytest.raises(DatabaseError, match="holds tables of another program"):
        MemoryDB(url)


def test_an_unreachable_server_says_how_to_fix_it(tmp_path: Any) -> None:
    with pytest.raises(DatabaseError, match="check the server runs"):
        MemoryDB(f"postgresql://nobody@/nothing?host={tmp_path}", timeout=2)


def test_export_piped_into_import_moves_a_memory_from_the_file_to_the_server(pg_url: str, tmp_path: Any) -> None:
    import subprocess
    import sys

    from memkit.lifecycle import supersede
    from memkit.links import link
    from memkit.transfer import export_lines

    from .test_transfer_history import told

    path = tmp_path / "memory.db"
    with MemoryDB(path, namespace="ana") as source:
        coffee, lisbon, trip = source.add_cells(
            [cell("Ana prefers coffee.", "food"), cell("Ana lives in Lisbon.", "home"), cell("A trip to Porto.")]
        )
        tea = source.add_cell(scene="food", cell_type="preference", salience=0.6, content="Ana prefers tea.")
        supersede(source, coffee, tea, action="update")
        source.archive([trip])
        link(source, tea, lisbon, "same-subject", reason="both about Ana")
        source.upsert_scene("food", "Ana drinks tea now.")
        wanted = export_view(source)
        stories = {c.content: told(source, c.id) for c in source.list_cells(include_history=True)}
        lines = len(export_lines(source))
    export = subprocess.Popen(
        [sys.executable, "-m", "memkit", "export", "--db", str(path), "--namespace", "ana", "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    imported = subprocess.run(
        [sys.executable, "-m", "memkit", "import", "--db", pg_url, "--namespace", "ana", "-"],
        stdin=export.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert export.stdout is not None
    export.stdout.close()
    said = export.stderr.read() if export.stderr else b""
    assert (export.wait(), said) == (0, f"wrote {lines} lines to standard output\n".encode())
    assert lines > 10  # the events too
    assert (imported.returncode, imported.stderr) == (0, "")
    assert imported.stdout.startswith("imported 4 cells into postgresql://postgres@")
    with MemoryDB(pg_url, namespace="ana") as target:
        assert export_view(target) == wanted
        assert target.check_integrity() == []
        for c in target.list_cells(include_history=True):  # each cell's story, then the import's own events
            assert told(target, c.id)[: len(stories[c.content])] == stories[c.content]


def export_view(db: MemoryDB) -> dict[str, Any]:
    """What an export carries, without the ids and creation times it does not."""
    ids = {c.id: c.content for c in db.list_cells(include_history=True)}
    return {
        "cells": sorted(
            (c.scene, c.content, c.seen_count, c.valid_until, c.archived_at)
            for c in db.list_cells(include_history=True)
        ),
        "scenes": sorted((s.scene, s.summary) for s in db.list_scenes(include_history=True)),
        "links": sorted((ids[x.source], ids[x.target], x.kind, x.reason) for x in db.links()),
    }


def test_keys_never_reach_the_server_and_its_password_never_shows(pg_url: str) -> None:
    secret = "sk-proj-" + "Q7xW2mZ9" * 6
    with_password = pg_url.replace("postgres@", "postgres:Pa55-w0rd-not-shown@")
    with MemoryDB(with_password) as db:
        db.add_cell(scene="keys", cell_type="fact", salience=0.5, content=f"My key is {secret}.")
        db.log_exchange([memkit.Utterance("Ana", f"remember {secret}")], source_id=secret)
        stored = db.sql("SELECT content FROM mem_cells") + db.sql("SELECT utterances, source_id FROM mem_exchanges")
        history = db.sql("SELECT after FROM mem_history")
        shown = f"{db!r} {db.path}"
    assert secret not in f"{stored} {history}" and "[redacted key]" in str(stored)
    assert "Pa55-w0rd" not in shown and shown.startswith("MemoryDB(path='postgresql://postgres@")


def test_erasure_on_the_server_says_what_to_do_instead_and_changes_nothing(pg: MemoryDB) -> None:
    from memkit.erasure import erase_message

    manager = memkit.MemoryManager(pg)
    manager.update("The boiler service is on 4 March.", "Noted.")
    before = [c.content for c in pg.list_cells(include_history=True)]
    with pytest.raises(memkit.MemkitError, match="PostgreSQL"):
        erase_message(pg, "anything")
    assert [c.content for c in pg.list_cells(include_history=True)] == before
