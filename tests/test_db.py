"""MemoryDB: cells, scenes, transactions, persistence, namespaces, errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import memkit
from memkit import CellNotFoundError, DatabaseError, MemoryDB, NewCell


@pytest.fixture
def db(store_db: memkit.MemoryDB) -> memkit.MemoryDB:
    """This module's tests run on both stores: a SQLite file and a PostgreSQL database."""
    return store_db


def add(db: MemoryDB, content: str, scene: str = "kitchen", cell_type: str = "fact", salience: float = 0.5) -> int:
    return db.add_cell(scene=scene, cell_type=cell_type, salience=salience, content=content)


def test_get_cells_returns_the_asked_cells_of_this_namespace_in_the_order_asked(db: MemoryDB) -> None:
    ids = db.add_cells([NewCell("s", "fact", 0.5, f"note {i}") for i in range(1200)])
    elsewhere = db.for_namespace("other").add_cell(scene="s", cell_type="fact", salience=0.5, content="not yours")
    asked = [ids[5], 10**9, elsewhere, ids[0], ids[5], 2**70, *reversed(ids[600:])]
    got = db.get_cells(asked)
    assert [c.id for c in got] == [ids[5], ids[0], *reversed(ids[600:])]
    assert got[0] == db.get_cell(ids[5])
    assert db.get_cells([]) == []


def test_add_and_get_cell_round_trips_every_field(db: MemoryDB) -> None:
    cell_id = db.add_cell(
        scene="Kitchen Renovation",
        cell_type="decision",
        salience=0.7,
        content="  Keep the old floor tiles.  ",
        source_id="D1:3",
        occurred_at="2024-05-08T13:56:00",
    )
    assert db.get_cell(cell_id) == memkit.Cell(
        id=cell_id,
        scene="kitchen-renovation",
        cell_type="decision",
        salience=0.7,
        content="Keep the old floor tiles.",
        source_id="D1:3",
        occurred_at="2024-05-08T13:56:00",
        created_at="2026-01-05T09:00:00+00:00",
        namespace="default",
    )


def test_get_missing_cell_is_none(db: MemoryDB) -> None:
    assert db.get_cell(12345) is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cell_type", "rumour", "cell_type must be one of"),
        ("salience", 1.5, "salience must be in [0, 1]"),
        ("salience", float("nan"), "salience must be in [0, 1]"),
        ("salience", "high", "salience must be a number"),
        ("content", "   ", "content must contain some text"),
    ],
)
def test_add_cell_rejects_bad_values_with_a_clear_message(
    db: MemoryDB, field: str, value: object, message: str
) -> None:
    kwargs: dict[str, object] = {"scene": "s", "cell_type": "fact", "salience": 0.5, "content": "x y"}
    kwargs[field] = value
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        db.add_cell(**kwargs)  # type: ignore[arg-type]
    assert db.count_cells() == 0


def test_add_cell_rejects_non_iso_occurred_at(db: MemoryDB) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        db.add_cell(scene="s", cell_type="fact", salience=0.5, content="x", occurred_at="8 May, 2023")


def test_batch_insert_is_all_or_nothing(db: MemoryDB) -> None:
    good = NewCell("a", "fact", 0.5, "first")
    bad = NewCell("a", "fact", 2.0, "second")
    with pytest.raises(ValueError):
        db.add_cells([good, bad])
    assert db.count_cells() == 0
    ids = db.add_cells([good, NewCell("b", "risk", 0.9, "third")])
    assert [db.get_cell(i).content for i in ids] == ["first", "third"]  # type: ignore[union-attr]


def test_update_cell_changes_only_given_fields(db: MemoryDB) -> None:
    cell_id = add(db, "Budget is 15,000 euros.")
    updated = db.update_cell(cell_id, content="Budget is 20,000 euros.", salience=0.9)
    assert (updated.content, updated.salience, updated.cell_type, updated.scene) == (
        "Budget is 20,000 euros.",
        0.9,
        "fact",
        "kitchen",
    )


def test_update_and_delete_missing_cell(db: MemoryDB) -> None:
    with pytest.raises(CellNotFoundError, match="no memory cell with id 99"):
        db.update_cell(99, content="x")
    with pytest.raises(CellNotFoundError, match="no memory cell with id 99"):
        db.delete_cell(99)


def test_scene_cell_counts_follow_inserts_moves_and_deletes(db: MemoryDB) -> None:
    first = add(db, "one", scene="kitchen")
    add(db, "two", scene="kitchen")
    add(db, "three", scene="thesis")
    db.update_cell(first, scene="thesis")
    db.delete_cell(first)
    counts = {s.scene: s.cell_count for s in db.list_scenes()}
    assert counts == {"kitchen": 1, "thesis": 1}


def test_upsert_scene_creates_then_replaces_summary(db: MemoryDB, clock) -> None:  # type: ignore[no-untyped-def]
    db.upsert_scene("Thesis", "Coral reefs.")
    clock.advance(minutes=5)
    scene = db.upsert_scene("thesis", "Coral reefs in the Red Sea.")
    assert scene == memkit.Scene("thesis", "Coral reefs in the Red Sea.", "2026-01-05T09:05:00+00:00", 0, "default")
    assert db.get_scene("nope") is None


def test_list_scenes_puts_the_scene_with_the_newest_cell_first(db: MemoryDB) -> None:
    add(db, "a", scene="alpha")
    add(db, "b", scene="beta")
    add(db, "c", scene="alpha")
    assert [s.scene for s in db.list_scenes()] == ["alpha", "beta"]


def test_transaction_rolls_back_everything_on_error(db: MemoryDB) -> None:
    add(db, "kept")
    with pytest.raises(RuntimeError), db.transaction():
        add(db, "lost one")
        db.upsert_scene("lost-scene", "x")
        raise RuntimeError("boom")
    assert [c.content for c in db.list_cells()] == ["kept"]
    assert db.get_scene("lost-scene") is None
    assert db.check_integrity() == []


def test_nested_transaction_rolls_back_only_the_inner_block(db: MemoryDB) -> None:
    with db.transaction():
        add(db, "outer")
        with pytest.raises(RuntimeError), db.transaction():
            add(db, "inner")
            raise RuntimeError("inner fails")
    assert [c.content for c in db.list_cells()] == ["outer"]


def test_file_database_persists_across_reopen(db_path: Path) -> None:
    with MemoryDB(db_path) as first:
        cell_id = add(first, "Ana hates early meetings.", scene="team", cell_type="preference")
        first.upsert_scene("team", "Ana hates early meetings.")
    with MemoryDB(db_path) as second:
        assert second.get_cell(cell_id).content == "Ana hates early meetings."  # type: ignore[union-attr]
        assert second.get_scene("team").summary == "Ana hates early meetings."  # type: ignore[union-attr]
        assert [h.id for h in second.search("early meetings")] == [cell_id]


def test_file_database_uses_wal(file_db: MemoryDB, db_path: Path) -> None:
    add(file_db, "x y")
    mode = sqlite3.connect(db_path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_namespaces_never_mix(db: MemoryDB) -> None:
    alice = db.for_namespace("alice")
    bob = db.for_namespace("bob")
    a_id = add(alice, "Alice prefers green tea.", scene="drinks", cell_type="preference")
    add(bob, "Bob prefers black coffee.", scene="drinks", cell_type="preference")
    alice.upsert_scene("drinks", "Alice prefers green tea.")
    assert [h.content for h in alice.search("prefers coffee tea")] == ["Alice prefers green tea."]
    assert [h.content for h in bob.search("tea")] == ["Bob prefers black coffee."]  # salience fallback, own cells only
    assert bob.get_cell(a_id) is None
    assert bob.get_scene("drinks").summary == ""  # type: ignore[union-attr]
    with pytest.raises(CellNotFoundError):
        bob.delete_cell(a_id)
    with pytest.raises(CellNotFoundError):
        bob.update_cell(a_id, content="hijacked")
    assert (alice.count_cells(), bob.count_cells(), db.count_cells()) == (1, 1, 0)


def test_not_a_database_file_gives_a_memkit_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is a text file, not SQLite" * 100)
    with pytest.raises(DatabaseError, match="not a memkit database or is corrupt"):
        MemoryDB(path)
    assert path.read_bytes().startswith(b"this is a text file")


def test_directory_path_gives_a_memkit_error(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="is a directory"):
        MemoryDB(tmp_path)


def test_closed_database_says_so(db_path: Path) -> None:
    database = MemoryDB(db_path)
    database.close()
    with pytest.raises(DatabaseError, match="closed"):
        database.count_cells()


def test_invalid_namespace() -> None:
    with pytest.raises(ValueError, match="namespace"):
        MemoryDB(namespace=" ")


def test_exchange_log_tracks_status(db: MemoryDB) -> None:
    first = db.log_exchange([memkit.Utterance("User", "hello there")], source_id="x1")
    second = db.log_exchange([memkit.Utterance("User", "second one")])
    db.mark_exchange(first, "done")
    db.mark_exchange(second, "failed", "model timed out")
    assert db.unfinished_exchanges() == [(second, [memkit.Utterance("User", "second one")], None, None)]
