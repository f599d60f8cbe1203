"""Schema migrations: the exact schema, upgrades from every earlier step, newer files refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from memkit import Cell, MemoryDB, SchemaVersionError
from memkit.forgetting import strengths
from memkit.history import events
from memkit.links import list_links
from memkit.migrations import MIGRATIONS, MIGRATIONS_TABLE, applied_migrations, migrate

NAMES = [name for name, _ in MIGRATIONS]


def schema(conn: sqlite3.Connection) -> dict[str, str]:
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"
        " AND NOT (type = 'table' AND name LIKE 'mem_cells_fts_%') ORDER BY name"
    )
    return {name: " ".join(sql.split()) for name, sql in rows}


def test_migration_names_are_numbered_in_order() -> None:
    assert sorted(NAMES) == NAMES
    assert [name[:4] for name in NAMES] == [f"m{i:03d}" for i in range(1, len(NAMES) + 1)]


def test_empty_file_gets_every_migration_recorded(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    MemoryDB(path).close()
    conn = sqlite3.connect(path)
    assert applied_migrations(conn) == NAMES
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(NAMES)


def test_schema_tables_and_triggers() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn)
    found = schema(conn)
    assert set(found) == {
        MIGRATIONS_TABLE,
        "mem_cells",
        "mem_cells_namespace_scene",
        "mem_scenes",
        "mem_cells_fts",
        "mem_cells_fts_insert",
        "mem_cells_fts_delete",
        "mem_cells_fts_update",
        "mem_cells_count_insert",
        "mem_cells_count_delete",
        "mem_cells_count_move",
        "mem_exchanges",
        "mem_exchanges_status",
        "mem_links",
        "mem_links_target",
        "mem_history",
        "mem_history_key",
        "mem_history_change",
        "mem_recalls",
        "mem_owed_summaries",
        "mem_cells_fts_source",
        "sqlite_sequence",
    }
    assert "tokenize='porter unicode61 remove_diacritics 2'" in found["mem_cells_fts"]
    assert found["mem_cells_fts_update"].startswith(
        "CREATE TRIGGER mem_cells_fts_update AFTER UPDATE OF content, scene, context, namespace ON mem_cells"
    )
    assert found["mem_cells"].startswith('CREATE TABLE "mem_cells" ( id INTEGER PRIMARY KEY AUTOINCREMENT,')
    assert "fts5( content, scene, context, ns," in found["mem_cells_fts"]
    assert "content='mem_cells_fts_source'" in found["mem_cells_fts"]
    columns = [row[1] for row in conn.execute("PRAGMA table_info(mem_cells)")]
    assert columns == [
        "id",
        "namespace",
        "scene",
        "cell_type",
        "salience",
        "content",
        "source_id",
        "occurred_at",
        "created_at",
        "exchange_id",
        "seen_count",
        "last_seen_at",
        "valid_until",
        "archived_at",
        "context",
    ]
    assert [row[1] for row in conn.execute("PRAGMA table_info(mem_scenes)")] == [
        "namespace",
        "scene",
        "summary",
        "updated_at",
        "cell_count",
    ]
    assert [row[1] for row in conn.execute("PRAGMA table_info(mem_exchanges)")][-2:] == ["owner", "lease_until"]


def test_migrating_twice_applies_nothing() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    assert migrate(conn) == NAMES
    assert migrate(conn) == []


@pytest.mark.parametrize("upto", NAMES[:-1])
def test_upgrade_from_every_earlier_schema_keeps_data_and_indexes_it(tmp_path: Path, upto: str) -> None:
    path = tmp_path / f"{upto}.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, upto=upto)
    assert applied_migrations(conn) == NAMES[: NAMES.index(upto) + 1]
    conn.execute(
        "INSERT INTO mem_cells (namespace, scene, cell_type, salience, content, created_at)"
        " VALUES ('default', 'garden', 'fact', 0.6, 'The tomatoes need staking.', '2025-01-01T00:00:00+00:00')"
    )
    conn.execute(
        "INSERT INTO mem_scenes (namespace, scene, summary, updated_at)"
        " VALUES ('default', 'garden', 'Tomatoes.', '2025-01-01T00:00:00+00:00')"
        " ON CONFLICT (namespace, scene) DO UPDATE SET summary = excluded.summary"
    )
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "mem_links" in tables:
        conn.execute(
            "INSERT INTO mem_cells (namespace, scene, cell_type, salience, content, created_at)"
            " VALUES ('default', 'garden', 'fact', 0.5, 'Staked on Monday.', '2025-01-02T00:00:00+00:00')"
        )
        conn.execute(
            "INSERT INTO mem_links (source, target, kind, created_at) VALUES (2, 1, 'follows-from', '2025-01-02')"
        )
    if "mem_recalls" in tables:
        conn.execute("INSERT INTO mem_recalls (cell_id, recall_count, last_recalled_at) VALUES (1, 2, '2025-01-03')")
    if "mem_history" in tables:
        conn.execute(
            "INSERT INTO mem_history (change_id, kind, key, action, after, created_at)"
            " VALUES (1, 'cell', '2', 'add', '{}', '2025-01-02')"
        )
    conn.close()
    with MemoryDB(path) as db:
        assert [h.content for h in db.search("tomato")] == ["The tomatoes need staking."]
        assert db.get_cell(1) == Cell(
            1, "garden", "fact", 0.6, "The tomatoes need staking.", None, None, "2025-01-01T00:00:00+00:00", "default"
        )
        scene = db.get_scene("garden")
        count = 2 if "mem_links" in tables else 1
        assert (scene.summary, scene.cell_count, scene.archived_at) == ("Tomatoes.", count, None)  # type: ignore[union-attr]
        assert [(x.source, x.kind, x.target) for x in list_links(db)] == (
            [(2, "follows-from", 1)] if count == 2 else []
        )
        assert [e.action for e in events(db)] == (["add"] if "mem_history" in tables else [])
        assert [s.uses for s in strengths(db)][:1] == [2 if "mem_recalls" in tables else 0]
        assert db.check_integrity() == []
        # ids are never given twice, also to cells stored before the upgrade
        second = db.add_cell(scene="garden", cell_type="fact", salience=0.5, content="Water at dawn.")
        db.delete_cell(second)
        assert db.add_cell(scene="garden", cell_type="fact", salience=0.5, content="Water at dusk.") == second + 1
        assert db.check_integrity() == []
    assert applied_migrations(sqlite3.connect(path)) == NAMES


def test_database_from_a_newer_memkit_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    MemoryDB(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"INSERT INTO {MIGRATIONS_TABLE} VALUES ('m999_from_the_future', '2030-01-01')")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(SchemaVersionError, match=r"newer memkit.*m999_from_the_future"):
        MemoryDB(path)
    assert path.read_bytes() == before
