"""History: every write is an event, undo restores the tables exactly, a cell's story, completeness."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import memkit
from memkit import HistoryConflictError, ManualClock, MemoryDB, MemoryManager, NewCell, ScriptedBackend
from memkit.history import KINDS, events, recorded_columns, story, undo
from memkit.lifecycle import archive, reinforce, restore, supersede
from memkit.links import link, unlink
from memkit.transfer import export_jsonl, import_jsonl
from memkit.views import history_df


@pytest.fixture
def db(store_db: memkit.MemoryDB) -> memkit.MemoryDB:
    """This module's tests run on both stores: a SQLite file and a PostgreSQL database."""
    return store_db


T0 = "2026-01-05T09:00:00+00:00"
#: The tables memory lives in (the full-text index is checked through search and integrity).
TABLES = ("mem_cells", "mem_scenes", "mem_links")


def tables(db: MemoryDB) -> dict[str, list[dict[str, Any]]]:
    """Whole table contents, every column, in key order."""
    return {table: db.sql(f"SELECT * FROM {table} ORDER BY 1, 2") for table in TABLES}


def indexed(db: MemoryDB, word: str) -> list[int]:
    if db._shared.dialect == "postgres":
        found = db.sql(
            "SELECT id FROM mem_cells_fts WHERE document @@ plainto_tsquery('english', ?) ORDER BY id", (word,)
        )
        return [row["id"] for row in found]
    return [row["rowid"] for row in db.sql("SELECT rowid FROM mem_cells_fts WHERE mem_cells_fts MATCH ?", (word,))]


def seeded(db: MemoryDB) -> dict[str, int]:
    ids = {
        "lisbon": db.add_cell(scene="home", cell_type="fact", salience=0.5, content="Ana lives in Lisbon."),
        "coffee": db.add_cell(scene="food", cell_type="preference", salience=0.6, content="Ana prefers coffee."),
        "trip": db.add_cell(scene="travel", cell_type="plan", salience=0.7, content="Ana plans a trip to Porto."),
    }
    db.upsert_scene("food", "Ana prefers coffee.")
    link(db, ids["coffee"], ids["lisbon"], "same-subject")
    archive(db, [ids["trip"]])
    return ids


def tea_replaces_coffee(db: MemoryDB, coffee: int) -> None:
    with db.change("switched"):
        tea = db.add_cell(scene="food", cell_type="preference", salience=0.6, content="Ana prefers tea.")
        supersede(db, coffee, tea, action="update")


def manager_exchange(db: MemoryDB) -> None:
    MemoryManager(db).update("I moved from Lisbon to Berlin.", "Noted.")


CHANGES: dict[str, Callable[[MemoryDB, dict[str, int]], object]] = {
    "add cells into a new scene": lambda db, ids: db.add_cells(
        [NewCell("garden", "fact", 0.4, "The roses need pruning."), NewCell("home", "task", 0.6, "Fix the tap.")]
    ),
    "edit a cell and move it to a new scene": lambda db, ids: db.update_cell(
        ids["lisbon"], content="Ana lives in Lisbon, in Alfama.", salience=0.9, scene="city"
    ),
    "delete a linked cell": lambda db, ids: db.delete_cell(ids["lisbon"]),
    "write a summary": lambda db, ids: db.upsert_scene("food", "Ana likes coffee in the morning."),
    "summarise a new scene": lambda db, ids: db.upsert_scene("empty", "Nothing yet."),
    "reinforce": lambda db, ids: reinforce(db, ids["coffee"], salience=0.9),
    "add a cell that supersedes another": lambda db, ids: tea_replaces_coffee(db, ids["coffee"]),
    "archive": lambda db, ids: archive(db, [ids["coffee"], ids["lisbon"]]),
    "restore": lambda db, ids: restore(db, ids["trip"]),
    "link": lambda db, ids: link(db, ids["trip"], ids["lisbon"], "cause"),
    "unlink": lambda db, ids: unlink(db, 1),
    "a whole exchange with a supersession": lambda db, ids: manager_exchange(db),
}


@pytest.mark.parametrize("name", list(CHANGES))
def test_undo_restores_every_table_exactly(db: MemoryDB, clock: ManualClock, name: str) -> None:
    ids = seeded(db)
    clock.advance(hours=1)
    before, words = tables(db), {w: indexed(db, w) for w in ("lisbon", "coffee", "roses", "berlin", "alfama", "tea")}
    CHANGES[name](db, ids)
    assert tables(db) != before
    clock.advance(hours=1)
    undone = undo(db)
    assert undone and {e.change_id for e in undone} == {undone[0].change_id}
    assert all(e.undone_at == "2026-01-05T11:00:00+00:00" for e in undone)
    assert tables(db) == before
    assert {w: indexed(db, w) for w in words} == words
    assert db.check_integrity() == []


def test_the_columns_an_event_records_are_read_from_the_schema_on_either_store(db: MemoryDB) -> None:
    first, second = db.add_cells(
        [
            NewCell("garden", "fact", 0.5, "The roses need pruning."),
            NewCell("garden", "plan", 0.5, "Prune them in March."),
        ]
    )
    link(db, second, first, "follows-from")
    recorded = {event.kind: set(event.after or {}) for event in events(db)}
    assert set(recorded) == set(KINDS)
    assert {kind: set(recorded_columns(kind)) for kind in KINDS} == recorded


def test_undo_walks_back_one_change_at_a_time_to_empty(db: MemoryDB) -> None:
    states = [tables(db)]
    seeded(db)  # four writes: cells, summary, link, archive
    manager_exchange(db)
    while True:
        current = tables(db)
        if not undo(db):
            break
        states_seen = tables(db)
        assert states_seen != current
    assert tables(db) == states[0]
    assert undo(db) == []
    assert all(e.undone_at for e in events(db))


def test_undo_refuses_to_overwrite_a_write_made_around_the_history(db: MemoryDB) -> None:
    cell = db.add_cell(scene="home", cell_type="fact", salience=0.5, content="Ana lives in Lisbon.")
    reinforce(db, cell)
    with db.transaction() as conn:
        conn.execute("UPDATE mem_cells SET content = 'Written by hand.' WHERE id = ?", (cell,))
    state = tables(db)
    with pytest.raises(HistoryConflictError, match=rf"cannot undo change \d+: cell {cell} no longer looks"):
        undo(db)
    assert tables(db) == state
    assert not any(e.undone_at for e in events(db))


def test_every_write_records_what_before_after_why_and_when(db: MemoryDB, clock: ManualClock) -> None:
    ids = seeded(db)
    recorded = [(e.change_id, e.kind, e.key, e.action, e.reason) for e in events(db)]
    assert recorded == [
        (1, "scene", "home", "create", "cells added"),
        (1, "cell", str(ids["lisbon"]), "add", "cells added"),
        (3, "scene", "food", "create", "cells added"),
        (3, "cell", str(ids["coffee"]), "add", "cells added"),
        (5, "scene", "travel", "create", "cells added"),
        (5, "cell", str(ids["trip"]), "add", "cells added"),
        (7, "scene", "food", "summary", "summary written"),
        (8, "link", "1", "link", "linked"),
        (9, "cell", str(ids["trip"]), "archive", "archived"),
    ]
    (archived,) = events(db, kind="cell", key=ids["trip"])[1:]
    assert archived.changed() == {"archived_at": (None, T0)}
    assert archived.created_at == T0 and archived.exchange_id is None and archived.namespace == "default"
    assert events(db, kind="scene", key="food")[1].changed() == {"summary": ("", "Ana prefers coffee.")}
    assert db.for_namespace("other").sql("SELECT COUNT(*) AS n FROM mem_history")[0]["n"] == 9
    assert events(db.for_namespace("other")) == []
    with pytest.raises(ValueError, match="kind must be one of cell, scene, link"):
        events(db, kind="table")


def test_a_change_block_groups_writes_into_one_step_of_undo(db: MemoryDB) -> None:
    before = tables(db)
    with db.change("tidy up", exchange_id=None) as change:
        a = db.add_cell(scene="home", cell_type="fact", salience=0.5, content="Ana lives in Lisbon.")
        reinforce(db, a)
        db.upsert_scene("home", "Lisbon.")
    assert {e.change_id for e in events(db)} == {change.id}
    assert [e.reason for e in events(db)] == ["tidy up"] * 4
    assert len(undo(db)) == 4 and tables(db) == before


def test_a_failed_change_leaves_no_events(db: MemoryDB) -> None:
    with pytest.raises(RuntimeError), db.change("doomed"):
        db.add_cell(scene="home", cell_type="fact", salience=0.5, content="Ana lives in Lisbon.")
        raise RuntimeError("boom")
    assert (events(db), db.count_cells(include_history=True)) == ([], 0)


def test_import_is_one_change(db: MemoryDB, tmp_path: Path) -> None:
    seeded(db)
    export_jsonl(db, tmp_path / "memory.jsonl")
    other = db.for_namespace("copy")
    import_jsonl(other, tmp_path / "memory.jsonl")
    own = [e for e in events(other) if e.change_id > 0]
    brought = [e for e in events(other) if e.change_id < 0]  # the history the cells had where they came from
    assert {e.reason for e in own} == {"imported from memory.jsonl", "state from the export"}
    assert [e.action for e in own if e.reason == "state from the export"] == ["edit"]  # the archived one
    assert len({e.change_id for e in own}) == 1
    assert {e.change_id for e in brought} == {-own[0].change_id} and brought[-1].id < own[0].id
    undo(other)
    assert other.list_cells(include_history=True) == [] and other.list_scenes(include_history=True) == []
    assert [e.id for e in events(other)] == [e.id for e in own]  # the import's own, marked undone


def test_a_cells_story_holds_its_events_and_its_links(db: MemoryDB, clock: ManualClock) -> None:
    coffee = db.add_cell(scene="food", cell_type="preference", salience=0.55, content="Ana prefers coffee.")
    clock.advance(days=1)
    reinforce(db, coffee, salience=0.5)
    clock.advance(days=1)
    tea = db.add_cell(scene="food", cell_type="preference", salience=0.6, content="Ana switched to tea.")
    supersede(db, coffee, tea, reason="switched", action="update")
    assert [(e.kind, e.key, e.action, e.reason) for e in story(db, coffee)] == [
        ("cell", str(coffee), "add", "cells added"),
        ("cell", str(coffee), "reinforce", "stated again"),
        ("cell", str(coffee), "update", "switched"),
        ("link", "1", "link", "switched"),
    ]
    frame = history_df(db, cell_id=coffee)
    expected = pd.DataFrame(
        {
            "id": [2, 3, 5, 6],
            "change_id": [1, 3, 5, 5],
            "when": [T0, "2026-01-06T09:00:00+00:00", "2026-01-07T09:00:00+00:00", "2026-01-07T09:00:00+00:00"],
            "exchange_id": pd.array([None] * 4, dtype="Int64"),
            "what": [f"cell {coffee}", f"cell {coffee}", f"cell {coffee}", "link 1"],
            "action": ["add", "reinforce", "update", "link"],
            "before": [
                "",
                "salience: 0.55; seen_count: 1; last_seen_at: None",
                "valid_until: None",
                "",
            ],
            "after": [
                "Ana prefers coffee.",
                "salience: 0.6; seen_count: 2; last_seen_at: 2026-01-06T09:00:00+00:00",
                "valid_until: 2026-01-07T09:00:00+00:00",
                f"{tea} replaces {coffee}",
            ],
            "why": ["cells added", "stated again", "switched", "switched"],
            "undone_at": [None] * 4,
        }
    )
    pd.testing.assert_frame_equal(frame, expected)


def replay(history: list[Any]) -> dict[str, dict[Any, dict[str, Any]]]:
    """Memory rebuilt from the history alone: each kept event's 'after', in order."""
    rebuilt: dict[str, dict[Any, dict[str, Any]]] = {"cell": {}, "scene": {}, "link": {}}
    for event in history:
        if event.undone_at is None:
            if event.after is None:
                del rebuilt[event.kind][event.key]
            else:
                rebuilt[event.kind][event.key] = event.after
    return rebuilt


def test_history_accounts_for_every_change_of_a_scripted_conversation(db: MemoryDB, clock: ManualClock) -> None:
    def cells(*items: dict[str, Any]) -> Callable[[Any], str]:
        """A reply naming stored cells by their content; the reply gives the number the prompt showed."""

        def reply(request: Any) -> str:
            number = {content: n for n, _, _, content in request.data["cells"]}
            found = [{**i, "target": number.get(i["target"], i["target"])} if "target" in i else i for i in items]
            return json.dumps({"cells": [{"scene": "life", "cell_type": "fact", "salience": 0.6, **i} for i in found]})

        return reply

    lisbon, coffee, sister = "Ana lives in Lisbon.", "Ana drinks coffee.", "Ana has a sister."
    model = ScriptedBackend(
        [
            cells({"content": lisbon}, {"content": coffee}, {"content": sister}),
            '{"summaries": [{"scene": "life", "summary": "Ana lives in Lisbon, drinks coffee, has a sister."}]}',
            cells({"content": lisbon, "action": "reinforce", "target": lisbon}),
            cells(
                {"content": "Ana moved to Berlin.", "action": "update", "target": lisbon, "reason": "moved"},
                {"content": "Ana drinks tea.", "action": "supersede", "target": coffee},
                {"content": "Ana's sister has a cat.", "action": "add", "target": sister, "relation": "same-subject"},
                {"content": "Ana paints.", "action": "fuse", "target": sister},
                {"content": sister, "action": "ignore", "target": sister},
                {"content": "Ana drinks green tea.", "action": "update", "target": coffee},
            ),
            '{"summaries": [{"scene": "life", "summary": "Ana lives in Berlin, drinks tea, has a sister."}]}',
            cells({"content": "Ana sings.", "action": "update", "target": 99}),
            "not json",  # this consolidation falls back to the offline rules
        ]
    )
    manager = MemoryManager(db, model)
    for text in ("one", "two", "three", "four"):
        clock.advance(minutes=5)
        manager.update(text, "ok")
    archive(db, [6], reason="decayed")
    db.upsert_scene("life", "Written by hand.")
    undo(db)  # the hand-written summary goes again

    history = events(db)
    fell_back = "; stored as a new cell"
    shown = {content: number for number, _, _, content in model.history[3].data["cells"]}  # the third exchange's
    replaced = f"number {shown[coffee]} was already replaced"
    listed = len(model.history[5].data["cells"])  # how many cells the fourth exchange's prompt showed
    assert [(e.id, e.change_id, e.exchange_id, e.kind, e.key, e.action, e.reason) for e in history] == [
        (1, 1, 1, "scene", "life", "create", "exchange 1"),
        (2, 1, 1, "cell", "1", "add", "exchange 1"),
        (3, 1, 1, "cell", "2", "add", "exchange 1"),
        (4, 1, 1, "cell", "3", "add", "exchange 1"),
        (5, 1, 1, "scene", "life", "summary", "summaries consolidated"),
        (6, 6, 2, "cell", "1", "reinforce", "exchange 2"),
        (7, 7, 3, "cell", "4", "add", "moved"),
        (8, 7, 3, "cell", "1", "update", "moved"),
        (9, 7, 3, "link", "1", "link", "moved"),
        (10, 7, 3, "cell", "5", "add", "exchange 3"),
        (11, 7, 3, "cell", "2", "supersede", "exchange 3"),
        (12, 7, 3, "link", "2", "link", "exchange 3"),
        (13, 7, 3, "cell", "6", "add", "exchange 3"),
        (14, 7, 3, "link", "3", "link", "exchange 3"),
        (15, 7, 3, "cell", "7", "add", "unknown action 'fuse'" + fell_back),
        (16, 7, 3, "cell", "8", "add", f"{replaced} by an earlier cell of this reply{fell_back}"),
        (17, 7, 3, "scene", "life", "summary", "summaries consolidated"),
        (18, 18, 4, "cell", "9", "add", f"update names number 99, but only numbers 1-{listed} were shown{fell_back}"),
        (19, 18, 4, "scene", "life", "summary", "summaries consolidated"),
        (20, 20, None, "cell", "6", "archive", "decayed"),
        (21, 21, None, "scene", "life", "summary", "summary written"),
    ]
    assert [e.undone_at is not None for e in history] == [False] * 20 + [True]
    # the ignored cell left no event: it was already there (cell 3), unchanged
    assert db.get_cell(3).seen_count == 1  # type: ignore[union-attr]
    # replaying the history alone rebuilds memory exactly as it is
    rebuilt = replay(history)
    assert rebuilt["cell"] == {str(row["id"]): row for row in db.sql("SELECT * FROM mem_cells")}
    assert rebuilt["link"] == {str(row["id"]): row for row in db.sql("SELECT * FROM mem_links")}
    scenes = db.sql("SELECT * FROM mem_scenes")
    assert rebuilt["scene"] == {row["scene"]: {k: v for k, v in row.items() if k != "cell_count"} for row in scenes}


def test_history_view_of_the_whole_namespace(db: MemoryDB) -> None:
    seeded(db)
    undo(db)
    frame = history_df(db)
    assert list(frame.columns) == [
        "id",
        "change_id",
        "when",
        "exchange_id",
        "what",
        "action",
        "before",
        "after",
        "why",
        "undone_at",
    ]
    assert frame["what"].tolist() == [
        "scene home",
        "cell 1",
        "scene food",
        "cell 2",
        "scene travel",
        "cell 3",
        "scene food",
        "link 1",
        "cell 3",
    ]
    assert frame["after"].tolist()[:2] == ["(empty)", "Ana lives in Lisbon."]
    assert frame["after"].tolist()[7] == "2 same-subject 1"
    assert frame["undone_at"].isna().tolist() == [True] * 8 + [False]
    assert frame["undone_at"].iloc[-1] == T0


def test_history_survives_reopening_the_file(db_path: Path) -> None:
    with MemoryDB(db_path) as first:
        seeded(first)
    with MemoryDB(db_path) as second:
        assert len(events(second)) == 9
        undo(second)
        assert second.get_cell(3).status == "current"  # type: ignore[union-attr]
    assert (
        sqlite3.connect(db_path).execute("SELECT COUNT(*) FROM mem_history WHERE undone_at IS NOT NULL").fetchone()[0]
        == 1
    )
