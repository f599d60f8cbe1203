"""memkit.links.follow: a graph query that follows links hop by hop from the cells a search found."""

from __future__ import annotations

import pytest

import memkit
from memkit.lifecycle import archive
from memkit.links import follow, link


def _chain(db: memkit.MemoryDB) -> list[int]:
    ids = [
        db.add_cell(scene="kitchen", cell_type="fact", salience=0.5, content=text)
        for text in ("Tomas says the oak arrived early.", "Tomas warned the oak takes six weeks.", "Tomas builds it.")
    ]
    link(db, ids[0], ids[1], "same-subject")
    link(db, ids[1], ids[2], "follows-from")
    return ids


def test_follow_reaches_further_with_each_hop(db: memkit.MemoryDB) -> None:
    first, second, third = _chain(db)
    assert [(t.cell.id, t.start, t.hops) for t in follow(db, [first], hops=1)] == [(second, first, 1)]
    trails = follow(db, [first], hops=2)
    assert [(t.cell.id, t.start, t.hops) for t in trails] == [(second, first, 1), (third, first, 2)]
    assert [(x.source, x.kind, x.target) for x in trails[1].links] == [
        (first, "same-subject", second),
        (second, "follows-from", third),
    ]
    assert [(t.cell.id, t.hops) for t in follow(db, [first], hops=3)] == [(second, 1), (third, 2)]  # shortest
    assert [t.cell.id for t in follow(db, [third], hops=5)] == [second, first]  # links run both ways


def test_follow_reaches_a_cell_once_and_never_into_history(db: memkit.MemoryDB) -> None:
    first, second, third = _chain(db)
    link(db, first, third, "cause")
    assert [(t.cell.id, t.hops) for t in follow(db, [first], hops=3)] == [(third, 1), (second, 1)]
    archive(db, [third])
    assert [t.cell.id for t in follow(db, [first], hops=3)] == [second]


def test_follow_needs_a_positive_number_of_hops(db: memkit.MemoryDB) -> None:
    with pytest.raises(ValueError, match="hops must be a positive integer"):
        follow(db, [1], hops=0)
    assert follow(db, [], hops=2) == []
