"""Cell states: reinforce, supersede, archive, restore; current reads, history reads, links."""

from __future__ import annotations

import pytest

import memkit
from memkit import Cell, CellNotFoundError, DatabaseError, Hit, LinkNotFoundError, ManualClock, MemoryDB, Scene
from memkit.lifecycle import archive, reinforce, reinforced_salience, restore, supersede
from memkit.links import link, links_of, list_links, unlink
from memkit.types import Link
from memkit.views import search_df


@pytest.fixture
def db(store_db: memkit.MemoryDB) -> memkit.MemoryDB:
    """This module's tests run on both stores: a SQLite file and a PostgreSQL database."""
    return store_db


T0 = "2026-01-05T09:00:00+00:00"


def add(db: MemoryDB, content: str, scene: str = "home", cell_type: str = "fact", salience: float = 0.5) -> int:
    return db.add_cell(scene=scene, cell_type=cell_type, salience=salience, content=content)


def test_reinforce_counts_notes_when_and_raises_salience(db: MemoryDB, clock: ManualClock) -> None:
    cell_id = add(db, "Ana prefers oak cabinets.", cell_type="preference", salience=0.6)
    clock.advance(days=2)
    cell = reinforce(db, cell_id, salience=0.4)
    assert cell == Cell(
        cell_id,
        "home",
        "preference",
        0.65,
        "Ana prefers oak cabinets.",
        None,
        None,
        T0,
        "default",
        seen_count=2,
        last_seen_at="2026-01-07T09:00:00+00:00",
    )
    assert reinforce(db, cell_id, salience=0.9).salience == 0.95
    assert reinforced_salience(0.98, 0.99) == 1.0


def test_supersede_keeps_the_old_cell_with_a_validity_end_and_a_link(db: MemoryDB, clock: ManualClock) -> None:
    old = add(db, "Ana lives in Lisbon.")
    keep = add(db, "Ana works as a nurse in Lisbon.")
    clock.advance(days=30)
    new = add(db, "Ana moved from Lisbon to Berlin.")
    gone = supersede(db, old, new, reason="moved")
    assert gone == Cell(
        old,
        "home",
        "fact",
        0.5,
        "Ana lives in Lisbon.",
        None,
        None,
        T0,
        "default",
        valid_until="2026-02-04T09:00:00+00:00",
    )
    assert gone.status == "superseded"
    assert [c.id for c in db.list_cells()] == [keep, new]
    assert [c.id for c in db.list_cells(include_history=True)] == [old, keep, new]
    assert (db.count_cells(), db.count_cells(include_history=True)) == (2, 3)
    assert list_links(db) == [Link(1, new, old, "replaces", "moved", "2026-02-04T09:00:00+00:00", "default")]
    assert links_of(db, old) == links_of(db, new) == list_links(db)


def test_search_shows_current_cells_and_history_on_request_new_one_first(db: MemoryDB) -> None:
    old = add(db, "The kitchen budget is 15,000 euros.")
    new = add(db, "The kitchen budget is 20,000 euros.")
    supersede(db, old, new)
    assert [(h.id, h.current) for h in db.search("kitchen budget")] == [(new, True)]
    assert [(h.id, h.current) for h in db.search("kitchen budget", include_history=True)] == [
        (new, True),
        (old, False),
    ]
    history = db.search("kitchen budget", include_history=True)
    assert history[1].score == pytest.approx(history[0].score * db.ranking.history_weight)
    assert search_df(db, "kitchen budget", include_history=True)[["id", "current"]].values.tolist() == [
        [new, True],
        [old, False],
    ]
    assert "current" not in search_df(db, "kitchen budget").columns
    # the no-match fallback hides history too
    assert [h.id for h in db.search("zebra")] == [new]
    assert db.search("zebra")[0] == Hit(
        new, "home", "fact", 0.5, "The kitchen budget is 20,000 euros.", None, None, 0.0, False, True
    )


def test_archive_hides_but_keeps_and_restore_brings_back(db: MemoryDB, clock: ManualClock) -> None:
    a = add(db, "The garden gate squeaks.", scene="garden")
    b = add(db, "The roses need pruning.", scene="garden")
    c = add(db, "The boiler is serviced.")
    clock.advance(days=90)
    with pytest.raises(CellNotFoundError, match="999"):
        archive(db, [a, c, 999])
    assert db.get_cell(a).status == "current"  # type: ignore[union-attr]  # nothing archived
    assert archive(db, [a, a, c]) == [a, c]
    assert archive(db, [a]) == []  # already archived: skipped
    assert [x.id for x in db.list_cells()] == [b]
    assert [x.id for x in db.list_cells(include_history=True)] == [a, b, c]
    assert db.get_cell(a).archived_at == "2026-04-05T09:00:00+00:00"  # type: ignore[union-attr]
    assert [(h.id, h.matched) for h in db.search("gate squeaks")] == [(b, False)]  # only the fallback
    assert [h.id for h in db.search("gate squeaks", include_history=True) if h.matched] == [a]
    assert restore(db, a).status == "current"
    with pytest.raises(ValueError, match="is current; only a archived cell"):
        restore(db, a)


def test_a_scene_with_no_current_cells_is_archived_and_listed_with_history(db: MemoryDB, clock: ManualClock) -> None:
    a = add(db, "Trip to Porto in May.", scene="porto-trip", cell_type="plan")
    add(db, "The boiler is serviced.")
    db.upsert_scene("porto-trip", "Trip to Porto in May.")
    db.upsert_scene("empty", "A scene with no cells yet.")
    clock.advance(days=1)
    archive(db, [a])
    assert [s.scene for s in db.list_scenes()] == ["home", "empty"]
    assert [s.scene for s in db.list_scenes(include_history=True)] == ["home", "porto-trip", "empty"]
    assert db.get_scene("porto-trip") == Scene(
        "porto-trip", "Trip to Porto in May.", T0, 1, "default", archived_at="2026-01-06T09:00:00+00:00"
    )
    restore(db, a)
    assert db.get_scene("porto-trip").archived_at is None  # type: ignore[union-attr]


def test_a_scene_counts_its_current_cells_apart_from_all_it_stored(db: MemoryDB) -> None:
    old = add(db, "We fly to Porto on Friday.", scene="trip", cell_type="plan")
    new = add(db, "We fly to Porto on Saturday.", scene="trip", cell_type="plan")
    supersede(db, old, new)
    scene = db.get_scene("trip")
    assert (scene.current_count, scene.cell_count) == (1, 2)  # type: ignore[union-attr]


@pytest.mark.parametrize("status", ["superseded", "archived"])
def test_only_current_cells_change_state(db: MemoryDB, status: str) -> None:
    a, b = add(db, "one thing"), add(db, "another thing")
    if status == "superseded":
        supersede(db, a, b)
    else:
        archive(db, [a])
    with pytest.raises(ValueError, match=f"cell {a} is {status}"):
        reinforce(db, a)
    with pytest.raises(ValueError, match=f"the superseded cell {a} is {status}"):
        supersede(db, a, b)
    with pytest.raises(ValueError, match=f"the replacing cell {a} is {status}"):
        supersede(db, b, a)


def test_state_changes_reject_missing_cells_and_self_reference(db: MemoryDB) -> None:
    a = add(db, "one thing")
    with pytest.raises(CellNotFoundError, match="no memory cell with id 99"):
        reinforce(db, 99)
    with pytest.raises(CellNotFoundError, match="no memory cell with id 99"):
        supersede(db, a, 99)
    with pytest.raises(ValueError, match="cannot supersede itself"):
        supersede(db, a, a)
    assert db.for_namespace("other").get_cell(a) is None
    with pytest.raises(CellNotFoundError):
        reinforce(db.for_namespace("other"), a)


def test_links_are_checked_idempotent_and_removable(db: MemoryDB) -> None:
    a, b = add(db, "The knee hurts."), add(db, "The marathon is off.")
    first = link(db, a, b, "cause", reason="knee")
    assert link(db, a, b, "cause") == first
    assert list_links(db) == [first] and list_links(db, "replaces") == []
    with pytest.raises(ValueError, match="kind must be one of same-subject, cause, follows-from, replaces"):
        link(db, a, b, "likes")
    with pytest.raises(ValueError, match="cannot be linked to itself"):
        link(db, a, a, "cause")
    with pytest.raises(CellNotFoundError):
        link(db, a, 404, "cause")
    with pytest.raises(CellNotFoundError):
        link(db.for_namespace("other"), a, b, "cause")
    unlink(db, first.id)
    with pytest.raises(LinkNotFoundError, match=f"no link with id {first.id}"):
        unlink(db, first.id)
    assert list_links(db) == []


def test_deleting_a_cell_takes_its_links_and_raw_sql_cannot_orphan_them(db: MemoryDB) -> None:
    a, b = add(db, "The knee hurts."), add(db, "The marathon is off.")
    link(db, a, b, "cause")
    with (
        pytest.raises(DatabaseError, match=r"FOREIGN KEY constraint failed|violates foreign key constraint"),
        db.transaction() as conn,
    ):
        conn.execute("DELETE FROM mem_cells WHERE id = ?", (a,))
    assert db.get_cell(a) is not None
    db.delete_cell(a)
    assert (list_links(db), db.get_cell(a)) == ([], None)
    with pytest.raises(CellNotFoundError):
        db.delete_cell(a)
