"""Reading memory's raw tables, the time views the plots use, and the tutorial's search kept as a baseline."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from memkit import DatabaseError, ManualClock, MemoryDB
from memkit.baseline import tutorial_match_expression, unranked_search
from memkit.types import Hit
from memkit.views import hits_df, scene_growth_df, scene_timeline_df, sql_df


def _cells(db: MemoryDB) -> list[int]:
    return [
        db.add_cell(scene="kitchen", cell_type="preference", salience=0.6, content="Maya prefers oak fronts.",
                    source_id="m1", occurred_at="2024-03-04T19:00:00"),
        db.add_cell(scene="trip", cell_type="plan", salience=0.7, content="A trip to Lisbon in May.",
                    source_id="m2", occurred_at="2024-03-11T20:00:00"),
        db.add_cell(scene="kitchen", cell_type="decision", salience=0.8, content="A quartz countertop for the kitchen.",
                    source_id="m3", occurred_at="2024-03-19T18:00:00"),
    ]  # fmt: skip


def test_sql_reads_any_table_as_dicts(db: MemoryDB) -> None:
    first, *_ = _cells(db)
    assert db.sql("SELECT rowid, content FROM mem_cells_fts WHERE mem_cells_fts MATCH ?", ["prefer"]) == [
        {"rowid": first, "content": "Maya prefers oak fronts."}
    ]
    assert db.sql("SELECT COUNT(*) AS n FROM mem_cells") == [{"n": 3}]


def test_sql_refuses_to_write_and_memory_stays_writable(db: MemoryDB) -> None:
    _cells(db)
    with pytest.raises(DatabaseError, match=r"db.sql\(\) only reads; change memory with add_cell"):
        db.sql("DELETE FROM mem_cells")
    assert db.count_cells() == 3
    db.add_cell(scene="kitchen", cell_type="fact", salience=0.5, content="Still writable.")
    assert db.count_cells() == 4
    with pytest.raises(DatabaseError, match='near "SELEC": syntax error'):
        db.sql("SELEC 1")
    with pytest.raises(TypeError, match="statement must be a string of SQL"):
        db.sql(b"SELECT 1")  # type: ignore[arg-type]


def test_sql_df(db: MemoryDB) -> None:
    _cells(db)
    frame = sql_df(db, "SELECT scene, cell_count FROM mem_scenes ORDER BY scene")
    pd.testing.assert_frame_equal(frame, pd.DataFrame({"scene": ["kitchen", "trip"], "cell_count": [2, 1]}))


def test_scene_growth_counts_each_scene_in_time_order(db: MemoryDB, clock: ManualClock) -> None:
    _cells(db)
    db.add_cell(scene="trip", cell_type="fact", salience=0.5, content="Said today.")  # no occurred_at: stored time
    expected = pd.DataFrame(
        {
            "time": pd.to_datetime(
                ["2024-03-04T19:00:00", "2024-03-11T20:00:00", "2024-03-19T18:00:00", "2026-01-05T09:00:00"], utc=True
            ),
            "scene": ["kitchen", "trip", "kitchen", "trip"],
            "cell_type": ["preference", "plan", "decision", "fact"],
            "cells": [1, 1, 2, 2],
        }
    )
    pd.testing.assert_frame_equal(scene_growth_df(db), expected)


def test_scene_timeline(db: MemoryDB) -> None:
    _cells(db)
    expected = pd.DataFrame(
        {
            "scene": ["kitchen", "trip"],
            "first": pd.to_datetime(["2024-03-04T19:00:00", "2024-03-11T20:00:00"], utc=True),
            "last": pd.to_datetime(["2024-03-19T18:00:00", "2024-03-11T20:00:00"], utc=True),
            "cells": [2, 1],
        }
    )
    pd.testing.assert_frame_equal(scene_timeline_df(db), expected)


def test_tutorial_expression_joins_raw_words() -> None:
    assert tutorial_match_expression("Which cabinets, Maya?") == "Which OR cabinets OR Maya"
    assert tutorial_match_expression("?!") is None


def test_unranked_search_returns_matches_without_scores(db: MemoryDB) -> None:
    ids = _cells(db)
    hits = unranked_search(db, "Which kitchen countertop?", limit=5)
    # "kitchen" also matches the scene name of the oak cell, which comes back first
    assert hits == [
        Hit(ids[0], "kitchen", "preference", 0.6, "Maya prefers oak fronts.", "m1", "2024-03-04T19:00:00", 0.0),
        Hit(
            ids[2], "kitchen", "decision", 0.8, "A quartz countertop for the kitchen.", "m3", "2024-03-19T18:00:00", 0.0
        ),
    ]
    assert hits_df(hits[1:])[["id", "score", "matched", "content"]].to_dict("records") == [
        {"id": ids[2], "score": 0.0, "matched": True, "content": "A quartz countertop for the kitchen."}
    ]


def test_unranked_search_falls_back_to_salience_and_breaks_on_keywords(db: MemoryDB) -> None:
    ids = _cells(db)
    assert [(h.id, h.matched) for h in unranked_search(db, "xylophone", limit=2)] == [(ids[2], False), (ids[1], False)]
    with pytest.raises(DatabaseError, match='fts5: syntax error near "AND"'):
        unranked_search(db, "oak AND", limit=2)
    assert db.search("oak AND", limit=1)[0].id == ids[0]  # memkit's own search treats it as words
    with pytest.raises(ValueError, match="limit must be a positive integer"):
        unranked_search(db, "oak", limit=0)


@pytest.mark.parametrize(
    "statement",
    [
        "PRAGMA journal_mode = DELETE",
        "PRAGMA synchronous = OFF",
        "PRAGMA foreign_keys = OFF",
        "PRAGMA user_version = 9",
        "PRAGMA application_id = 9",
        "PRAGMA writable_schema = ON",
        "ATTACH DATABASE 'attached.db' AS other",
        "VACUUM INTO 'copy.db'",
        "VACUUM",
        "CREATE TEMP TABLE scratch (x)",
        "INSERT INTO mem_cells_fts (mem_cells_fts) VALUES ('rebuild')",
        "WITH x AS (SELECT 1) DELETE FROM mem_cells",
    ],
)
def test_sql_refuses_every_change_before_it_happens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, statement: str
) -> None:
    monkeypatch.chdir(tmp_path)
    db = MemoryDB(tmp_path / "memory.db")
    _cells(db)
    settings = "journal_mode", "synchronous", "foreign_keys", "user_version", "application_id"
    before = [db._shared.conn.execute(f"PRAGMA {name}").fetchone()[0] for name in settings]
    with pytest.raises(DatabaseError, match=r"db.sql\(\) only reads"):
        db.sql(statement)
    assert [db._shared.conn.execute(f"PRAGMA {name}").fetchone()[0] for name in settings] == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["memory.db", "memory.db-shm", "memory.db-wal"]
    assert db.count_cells() == 3 and db.check_integrity() == []
    db.close()


def test_sql_still_reads_pragmas_and_plans(db: MemoryDB) -> None:
    _cells(db)
    assert [row["name"] for row in db.sql("PRAGMA table_info(mem_links)")][:3] == ["id", "namespace", "source"]
    assert db.sql("PRAGMA foreign_keys") == [{"foreign_keys": 1}]
    assert db.sql("EXPLAIN QUERY PLAN SELECT * FROM mem_cells WHERE namespace = 'default'") != []
    assert db.sql("WITH n AS (SELECT COUNT(*) AS c FROM mem_cells) SELECT c FROM n") == [{"c": 3}]
    assert db.sql("SELECT name FROM pragma_table_info('mem_scenes') LIMIT 1") == [{"name": "namespace"}]
