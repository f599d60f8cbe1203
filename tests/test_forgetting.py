"""Forgetting: a replaceable decay rule, strengths on an injected clock, archiving that never deletes."""

from __future__ import annotations

import random
from typing import Any

import pandas as pd
import pytest

import memkit
from memkit import ManualClock, MemoryDB, MemoryManager, WorkerAgent
from memkit.forgetting import (
    THRESHOLD,
    Forgetting,
    Strength,
    decay_curve,
    forget,
    half_life,
    mark_recalled,
    strengths,
)
from memkit.history import events, undo
from memkit.lifecycle import reinforce
from memkit.views import strengths_df


@pytest.fixture
def db(store_db: memkit.MemoryDB) -> memkit.MemoryDB:
    """This module's tests run on both stores: a SQLite file and a PostgreSQL database."""
    return store_db


T0 = "2026-01-05T09:00:00+00:00"


def add(db: MemoryDB, content: str, salience: float = 0.5, scene: str = "home") -> int:
    return db.add_cell(scene=scene, cell_type="fact", salience=salience, content=content)


def everything(db: MemoryDB) -> list[tuple[Any, ...]]:
    """Every stored cell, every column but the archive mark."""
    return [
        (c.id, c.scene, c.cell_type, c.salience, c.content, c.created_at) for c in db.list_cells(include_history=True)
    ]


def test_half_life_halves_and_each_use_slows_it() -> None:
    assert half_life(0.8, 0, 0) == 0.8
    assert half_life(0.8, 30, 0) == pytest.approx(0.4)
    assert half_life(0.8, 60, 0) == pytest.approx(0.2)
    assert half_life(0.8, 60, 1) == pytest.approx(0.4)  # used once more: twice the half-life
    assert half_life(0.8, 10, 0, half_life_days=10) == pytest.approx(0.4)
    assert half_life(0.8, -5, -2) == 0.8  # time before the last use and negative counts do not count
    assert decay_curve(0.5, [0, 30, 60, 90]) == [(0.0, 0.5), (30.0, 0.25), (60.0, 0.125), (90.0, 0.0625)]
    assert decay_curve(0.5, [60], uses=1) == [(60.0, 0.25)]


def test_strength_counts_restatements_and_recalls_as_uses(db: MemoryDB, clock: ManualClock) -> None:
    a = add(db, "Ana lives in Lisbon.", 0.6)
    b = add(db, "Ana prefers coffee.", 0.5)
    c = add(db, "The boiler is serviced.", 0.4)
    clock.advance(days=10)
    reinforce(db, b)
    clock.advance(days=10)
    mark_recalled(db, [c, c, 999])  # a recall counts once per answer; unknown ids are ignored
    mark_recalled(db.for_namespace("other"), [a])  # another namespace cannot mark this one's cells
    clock.advance(days=10)
    found = strengths(db)
    assert [(s.cell.id, s.last_used, s.idle_days, s.uses) for s in found] == [
        (a, T0, 30.0, 0),
        (b, "2026-01-15T09:00:00+00:00", 20.0, 1),
        (c, "2026-01-25T09:00:00+00:00", 10.0, 1),
    ]
    assert [s.strength for s in found] == [0.3, round(0.55 * 0.5 ** (20 / 60), 4), round(0.4 * 0.5 ** (10 / 60), 4)]
    assert db.sql("SELECT cell_id, recall_count FROM mem_recalls") == [{"cell_id": c, "recall_count": 1}]
    assert [e.action for e in events(db)].count("reinforce") == 1  # recalls are usage, not history


def test_forget_archives_only_weak_cells_and_deletes_nothing(db: MemoryDB, clock: ManualClock) -> None:
    strong = add(db, "Ana is allergic to peanuts.", 0.95, scene="health")
    weak = add(db, "The garden gate squeaks.", 0.3, scene="garden")
    used = add(db, "Ana lives in Lisbon.", 0.3, scene="home")
    db.upsert_scene("garden", "The garden gate squeaks. The roses are red.")
    stored = everything(db)
    clock.advance(days=30)
    mark_recalled(db, [used])
    clock.advance(days=30)
    assert forget(db) == [weak]
    assert everything(db) == stored  # nothing deleted, nothing rewritten
    assert [c.id for c in db.list_cells()] == [strong, used]
    assert db.get_cell(weak).archived_at == "2026-03-06T09:00:00+00:00"  # type: ignore[union-attr]
    assert db.get_scene("garden").summary == "The roses are red."  # type: ignore[union-attr]
    assert [(e.key, e.action, e.reason) for e in events(db)][-2:] == [
        (str(weak), "archive", "strength 0.075 < 0.1 after 60 days unused"),
        ("garden", "summary", "forgotten"),
    ]
    assert forget(db) == []  # strength is computed, not stored: forgetting twice decays nothing twice
    assert [s.scene for s in db.list_scenes()] == ["home", "health"]
    assert "garden" in [s.scene for s in db.list_scenes(include_history=True)]
    assert [h.id for h in db.search("garden gate", include_history=True) if h.matched] == [weak]
    undo(db)
    assert [c.id for c in db.list_cells()] == [strong, weak, used]


def test_decay_never_deletes_over_a_long_random_life(db: MemoryDB, clock: ManualClock) -> None:
    rng = random.Random(3)
    manager = MemoryManager(db, forgetting=Forgetting(threshold=0.2))
    for i in range(60):
        clock.advance(days=rng.randint(0, 9))
        add(db, f"Note {i} about topic {rng.randint(0, 5)}.", round(rng.uniform(0.1, 0.9), 2), scene=f"s{i % 4}")
        if i % 5 == 0:
            mark_recalled(db, rng.sample([c.id for c in db.list_cells()], k=min(3, db.count_cells())))
        if i % 7 == 0:
            manager.forget()
    clock.advance(days=365)
    manager.forget()
    assert db.count_cells(include_history=True) == 60
    assert db.count_cells() == 0
    assert db.list_scenes() == [] and len(db.list_scenes(include_history=True)) == 4
    assert db.check_integrity() == []


def test_the_rule_and_threshold_are_replaceable(db: MemoryDB, clock: ManualClock) -> None:
    a = add(db, "Ana lives in Lisbon.", 0.9)
    b = add(db, "Ana prefers coffee.", 0.2)
    clock.advance(days=3)

    def cliff(salience: float, idle_days: float, uses: int) -> float:
        """Everything is forgotten after two days unless it was used."""
        return salience if idle_days < 2 or uses else 0.0

    assert [s.strength for s in strengths(db, rule=cliff)] == [0.0, 0.0]
    assert forget(db, Forgetting(threshold=0.25)) == [b]
    assert forget(db, Forgetting(rule=cliff)) == [a]
    with pytest.raises(TypeError, match="rule must be a function"):
        Forgetting(rule="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"threshold must be in \[0, 1\]"):
        Forgetting(threshold=2)


def test_answers_reinforce_what_they_recalled(db: MemoryDB, clock: ManualClock) -> None:
    manager = MemoryManager(db)
    agent = WorkerAgent(manager)
    agent.answer("I live in Lisbon with my partner.")
    agent.answer("The kitchen tiles are blue.")
    clock.advance(days=50)
    agent.answer("Where do I live?")
    recalled = {h.id for h in agent.last_recall.hits if h.matched}  # type: ignore[union-attr]
    assert recalled == {1}
    assert db.sql("SELECT cell_id, recall_count, last_recalled_at FROM mem_recalls") == [
        {"cell_id": 1, "recall_count": 1, "last_recalled_at": "2026-02-24T09:00:00+00:00"}
    ]
    clock.advance(days=40)
    assert manager.forget() == [2]  # the tiles, never recalled; Lisbon was used 40 days ago


def test_the_manager_can_forget_after_every_exchange(db: MemoryDB, clock: ManualClock) -> None:
    manager = MemoryManager(db, forgetting=Forgetting(threshold=0.3))
    manager.update("The garden gate squeaks.", "Noted.")
    clock.advance(days=40)
    manager.update("I bought a new bicycle.", "Noted.")
    assert [c.content for c in db.list_cells()] == ["User bought a new bicycle."]
    with pytest.raises(TypeError, match="forgetting must be"):
        MemoryManager(db, forgetting=0.3)  # type: ignore[arg-type]


def test_strengths_view(db: MemoryDB, clock: ManualClock) -> None:
    add(db, "Ana lives in Lisbon.", 0.6)
    add(db, "The gate squeaks.", 0.4)
    clock.advance(days=30)
    expected = pd.DataFrame(
        [
            {"id": 2, "scene": "home", "content": "The gate squeaks.", "salience": 0.4, "uses": 0,
             "last_used": T0, "idle_days": 30.0, "strength": 0.2},
            {"id": 1, "scene": "home", "content": "Ana lives in Lisbon.", "salience": 0.6, "uses": 0,
             "last_used": T0, "idle_days": 30.0, "strength": 0.3},
        ]
    )  # fmt: skip
    pd.testing.assert_frame_equal(strengths_df(db), expected)
    assert isinstance(strengths(db)[0], Strength)


def test_a_manual_clock_says_the_time_it_was_set_to() -> None:
    from memkit import ManualClock

    clock = ManualClock("2024-03-04T19:02:00")
    assert clock().isoformat() == "2024-03-04T19:02:00+00:00"
    clock.advance(days=30, hours=1)
    assert MemoryDB(clock=clock).now() == "2024-04-03T20:02:00+00:00"
    clock.set("2024-06-01T08:00:00+02:00")
    assert (clock().isoformat(), repr(clock)) == (
        "2024-06-01T08:00:00+02:00",
        "ManualClock('2024-06-01T08:00:00+02:00')",
    )
    with pytest.raises(ValueError, match="ISO 8601"):
        clock.set("tomorrow")


#: A summary a model wrote: longer than the offline engine's own, every sentence a fact worth keeping.
TRIP_SUMMARY = (
    "Ana is planning a two-week trip to Japan with her sister Marta in the spring. "
    "The flight leaves on May 10. "
    "The hotel in Kyoto has a blue door. "
    "They want to see the temples of Kyoto, the deer of Nara and the night markets of Osaka, "
    "and to take the slow train along the coast instead of the bullet train whenever they can. "
    "Marta is vegetarian and Ana cannot eat peanuts, so they will book restaurants ahead and carry a card "
    "that explains both in Japanese. "
    "Their budget is 3,000 euros each, flights included, and they share one suitcase to save on fees. "
    "Ana still has to renew her passport, which expires in June, before she can book the tickets."
)


def _trip(db: MemoryDB) -> int:
    add(db, "The flight leaves on May 10.", 0.95, scene="trip")
    weak = add(db, "The hotel in Kyoto has a blue door.", 0.2, scene="trip")
    db.upsert_scene("trip", TRIP_SUMMARY)
    return weak


def test_forgetting_folds_retired_cells_through_the_managers_model(db: MemoryDB, clock: ManualClock) -> None:
    from memkit import ScriptedBackend

    assert len(TRIP_SUMMARY.split()) > 100
    weak = _trip(db)
    clock.advance(days=90)
    rewritten = TRIP_SUMMARY.replace("The hotel in Kyoto has a blue door. ", "")
    model = ScriptedBackend([f'{{"summaries": [{{"scene": "trip", "summary": "{rewritten}"}}]}}'])
    manager = MemoryManager(db, model)
    assert manager.forget() == [weak]
    (request,) = model.history
    assert request.task == "consolidate" and "The hotel in Kyoto has a blue door." in request.messages[1].content
    assert db.get_scene("trip").summary == rewritten  # type: ignore[union-attr]
    assert [c.task for c in manager.calls.calls] == ["consolidate"]
    assert db.check_integrity() == []


def test_forgetting_without_a_model_drops_only_the_forgotten_sentences(db: MemoryDB, clock: ManualClock) -> None:
    _trip(db)
    clock.advance(days=90)
    forget(db)
    assert db.get_scene("trip").summary == TRIP_SUMMARY.replace(" The hotel in Kyoto has a blue door.", "")  # type: ignore[union-attr]


def test_forgetting_and_the_manager_leave_the_offline_engine_to_the_backend() -> None:
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "memkit"
    for module in ("manager.py", "forgetting.py"):
        tree = ast.parse((root / module).read_text(encoding="utf-8"))
        imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        assert [name for name in imported if "offline" in name] == [], module


def test_calendar_time_counts_from_storage_and_ignores_every_use(db: MemoryDB, clock: ManualClock) -> None:
    used = add(db, "Ana prefers coffee.", 0.5)
    idle = add(db, "The boiler is serviced.", 0.5)
    clock.advance(days=40)
    mark_recalled(db, [used])
    mark_recalled(db, [used])
    clock.advance(days=40)
    calendar = strengths(db, since="stored")
    assert [(s.cell.id, s.last_used, s.idle_days, s.uses) for s in calendar] == [
        (used, T0, 80.0, 0),
        (idle, T0, 80.0, 0),
    ]
    by_use = {s.cell.id: s.strength for s in strengths(db)}
    assert by_use[used] > by_use[idle] == calendar[1].strength == calendar[0].strength < THRESHOLD
    assert forget(db, Forgetting(since="stored")) == [used, idle]


def test_calendar_time_and_use_based_decay_archive_differently(db: MemoryDB, clock: ManualClock) -> None:
    used = add(db, "Ana prefers coffee.", 0.5)
    idle = add(db, "The boiler is serviced.", 0.5)
    clock.advance(days=40)
    mark_recalled(db, [used])
    clock.advance(days=40)
    assert forget(db) == [idle]
    with pytest.raises(ValueError, match="since must be one of 'last use', 'stored'"):
        Forgetting(since="yesterday")
    with pytest.raises(ValueError, match="since must be one of"):
        strengths(db, since="created")
    assert list(strengths_df(db, since="stored")["idle_days"]) == [80.0]
