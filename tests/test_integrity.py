"""check_integrity() reports each way a memory file can be broken behind memkit's back."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

import memkit
from memkit import MemkitError, MemoryDB, MemoryManager


@pytest.fixture
def db(store_db: memkit.MemoryDB) -> memkit.MemoryDB:
    """This module's tests run on both stores: a SQLite file and a PostgreSQL database."""
    return store_db


def healthy(path: Path) -> None:
    with MemoryDB(path) as db:
        MemoryManager(db).update("My allotment is plot 14 by the river.", "Noted.")
        MemoryManager(db).update("The plot has a shed with a green door.", "Noted.")
        assert db.check_integrity() == []


def skew_a_scene_count(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE mem_scenes SET cell_count = cell_count + 3")


def leave_an_exchange_half_done(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE mem_exchanges SET status = 'failed' WHERE id = (SELECT MIN(exchange_id) FROM mem_cells)")


def unindex_a_cell(conn: sqlite3.Connection) -> None:
    (trigger,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'mem_cells_fts_insert'").fetchone()
    conn.execute("DROP TRIGGER mem_cells_fts_insert")
    conn.execute(
        "INSERT INTO mem_cells (namespace, scene, cell_type, salience, content, created_at)"
        " SELECT namespace, scene, cell_type, salience, 'an unindexed cell', created_at FROM mem_cells LIMIT 1"
    )
    conn.execute(trigger)  # the schema looks whole again; the index misses one row


def drop_a_trigger(conn: sqlite3.Connection) -> None:
    conn.execute("DROP TRIGGER mem_cells_fts_delete")


def plant_a_trigger(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TRIGGER planted AFTER INSERT ON mem_cells BEGIN DELETE FROM mem_history; END")


@pytest.mark.parametrize(
    ("damage", "reported"),
    [
        pytest.param(skew_a_scene_count, "records", id="scene-count"),
        pytest.param(leave_an_exchange_half_done, "already has", id="half-done-exchange"),
        pytest.param(unindex_a_cell, "index", id="unindexed-cell"),
        pytest.param(drop_a_trigger, "mem_cells_fts_delete", id="dropped-trigger"),
        pytest.param(plant_a_trigger, "planted", id="planted-trigger"),
    ],
)
def test_each_kind_of_damage_is_reported(
    tmp_path: Path, damage: Callable[[sqlite3.Connection], None], reported: str
) -> None:
    path = tmp_path / "memory.db"
    healthy(path)
    with sqlite3.connect(path) as conn:
        damage(conn)
    try:
        with MemoryDB(path) as db:
            problems = db.check_integrity()
    except MemkitError as refused:  # a file memkit will not even open says why
        problems = [str(refused)]
    assert any(reported in problem for problem in problems), problems
