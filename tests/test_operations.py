"""The everyday operations are methods of the MemoryDB people hold, with one rule for what is missing."""

from __future__ import annotations

import pytest

import memkit
from memkit import CellNotFoundError, LinkNotFoundError, MemoryDB, NotFoundError


@pytest.fixture
def db(store_db: memkit.MemoryDB) -> memkit.MemoryDB:
    """This module's tests run on both stores: a SQLite file and a PostgreSQL database."""
    return store_db


def add(db: MemoryDB, content: str, scene: str = "garden") -> int:
    return db.add_cell(scene=scene, cell_type="fact", salience=0.6, content=content)


def test_links_history_and_undo_are_reached_from_the_database(db: MemoryDB) -> None:
    gate, roses = add(db, "The garden gate squeaks."), add(db, "The roses need pruning.")
    made = db.link(gate, roses, "same-subject", reason="both garden chores")
    assert [x.id for x in db.links(gate)] == [made.id] == [x.id for x in db.links()]
    assert db.links(gate, kinds=["cause"]) == []
    assert [e.action for e in db.history(gate)] == ["add", "link"]
    assert [edge["kind"] for edge in db.graph()["edges"]] == ["in-scene", "in-scene", "same-subject"]
    undone = db.undo()
    assert [e.action for e in undone] == ["link"] and db.links() == []
    db.unlink(db.link(gate, roses, "cause").id)
    assert db.links() == []


def test_archive_and_restore_are_methods_too(db: MemoryDB) -> None:
    gate = add(db, "The garden gate squeaks.")
    assert db.archive([gate], reason="fixed") == [gate]
    assert db.list_cells() == [] and db.get_cell(gate).status == "archived"  # type: ignore[union-attr]
    assert db.restore(gate).status == "current"
    assert [e.action for e in db.history(gate)][-2:] == ["archive", "restore"]


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(lambda db: db.delete_cell(404), id="delete_cell"),
        pytest.param(lambda db: db.update_cell(404, content="x"), id="update_cell"),
        pytest.param(lambda db: db.archive([404]), id="archive"),
        pytest.param(lambda db: db.restore(404), id="restore"),
        pytest.param(lambda db: db.link(404, 405, "cause"), id="link"),
    ],
)
def test_every_operation_on_a_missing_cell_raises_and_getters_return_none(db: MemoryDB, operation: object) -> None:
    before = db.count_cells(include_history=True)
    with pytest.raises(CellNotFoundError, match="404"):
        operation(db)  # type: ignore[operator]
    assert db.get_cell(404) is None
    assert db.count_cells(include_history=True) == before


def test_a_missing_link_raises_the_same_family_of_error(db: MemoryDB) -> None:
    with pytest.raises(LinkNotFoundError) as raised:
        db.unlink(7)
    assert isinstance(raised.value, NotFoundError) and isinstance(raised.value, KeyError)
    assert str(raised.value) == "no link with id 7 in namespace 'default'"
