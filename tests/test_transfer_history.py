"""The change journal in an export: events travel with their cells, map to the new ids, and stay safe to undo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from memkit import HistoryConflictError, ImportResult, ManualClock, MemkitError, MemoryDB
from memkit.history import events, story, undo
from memkit.lifecycle import archive, reinforce, supersede
from memkit.links import link, list_links, unlink
from memkit.transfer import FORMAT_VERSION, export_jsonl, export_lines, import_jsonl


def told(db: MemoryDB, cell_id: int) -> list[tuple[Any, ...]]:
    """A cell's story with every id, namespace and exchange replaced by what does not change in a move."""
    content = {c.id: c.content for c in db.list_cells(include_history=True)}

    def plain(row: dict[str, Any] | None) -> dict[str, Any] | None:
        if row is None:
            return None
        row = {k: v for k, v in row.items() if k not in ("namespace", "exchange_id")}
        if "source" in row:  # a link: named by its ends (a link that is gone has no id of its own in the target)
            row.pop("id")
            row["source"], row["target"] = content[row["source"]], content[row["target"]]
        elif "id" in row:
            row["id"] = content[row["id"]]
        return row

    return [
        (e.kind, e.action, e.reason, e.created_at, e.undone_at, e.exchange_id, plain(e.before), plain(e.after))
        for e in story(db, cell_id)
    ]


def scene_told(db: MemoryDB, scene: str) -> list[tuple[Any, ...]]:
    """A scene's events without the namespace."""

    def plain(row: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if row is None else {k: v for k, v in row.items() if k != "namespace"}

    return [(e.action, e.reason, e.created_at, e.undone_at, plain(e.before), plain(e.after))
            for e in events(db, kind="scene", key=scene)]  # fmt: skip


def lived(db: MemoryDB, clock: ManualClock) -> dict[str, int]:
    """A memory with some past: a correction, a repetition, an archived plan, a link made and removed, an undo."""
    ids = {}
    ids["early"] = db.add_cell(scene="orchard", cell_type="fact", salience=0.5, content="The quinces ripened in July.")
    clock.advance(hours=1)
    ids["late"] = db.add_cell(scene="orchard", cell_type="fact", salience=0.6, content="The quinces ripened in Sept.")
    clock.advance(hours=1)
    supersede(db, ids["early"], ids["late"], reason="the gardener checked", action="update")
    clock.advance(hours=1)
    reinforce(db, ids["late"], reason="said again")
    clock.advance(hours=1)
    ids["jam"] = db.add_cell(scene="kitchen", cell_type="plan", salience=0.4, content="Make quince jam on Sunday.")
    fleeting = link(db, ids["jam"], ids["late"], "same-subject", reason="both quinces")
    clock.advance(hours=1)
    unlink(db, fleeting.id)
    clock.advance(hours=1)
    link(db, ids["jam"], ids["late"], "cause", reason="ripe fruit, then jam")
    clock.advance(hours=1)
    reinforce(db, ids["jam"])
    undo(db)  # a mark that must travel too
    clock.advance(hours=1)
    archive(db, [ids["jam"]], reason="Sunday passed")
    db.upsert_scene("orchard", "Quinces ripen in September.")
    clock.advance(hours=1)
    return ids


def moved(source: MemoryDB, target: MemoryDB, old: int) -> int:
    """The id in ``target`` of the cell that is ``old`` in ``source`` (the contents here are unique)."""
    content = source.get_cell(old).content  # type: ignore[union-attr]
    return next(c.id for c in target.list_cells(include_history=True) if c.content == content)


def test_a_cells_story_travels_with_it(store_db: MemoryDB, clock: ManualClock, tmp_path: Path) -> None:
    ids = lived(store_db, clock)
    path = tmp_path / "quinces.jsonl"
    export_jsonl(store_db, path)
    copy = store_db.for_namespace("copy")
    assert import_jsonl(copy, path) == ImportResult(added=3, skipped=0)
    for old in ids.values():
        there, here = told(store_db, old), told(copy, moved(store_db, copy, old))
        assert here[: len(there)] == there
        assert {e[2] for e in here[len(there) :]} <= {"imported from quinces.jsonl", "state from the export", *[
            x.reason for x in list_links(store_db)]}  # fmt: skip
    jam = told(copy, moved(store_db, copy, ids["jam"]))
    assert [(e[0], e[1], e[4] is not None) for e in jam[:7]] == [
        ("cell", "add", False),
        ("link", "link", False),
        ("link", "unlink", False),
        ("link", "link", False),
        ("cell", "reinforce", True),  # undone where it happened, and still marked so
        ("cell", "archive", False),
        ("cell", "add", False),  # the import itself
    ]
    for scene in ("orchard", "kitchen"):
        there, here = scene_told(store_db, scene), scene_told(copy, scene)
        assert here[: len(there)] == there and len(here) > len(there)
    made, gone = [e for e in events(copy, kind="link") if e.reason in ("both quinces", "unlinked")]
    assert made.key == gone.key == str(-made.id)  # a link that is gone has no id there: named after its first event
    assert all(e.exchange_id is None for e in events(copy))


def test_undo_takes_back_the_import_and_its_history_then_the_namespaces_own(
    store_db: MemoryDB, clock: ManualClock, tmp_path: Path
) -> None:
    lived(store_db, clock)
    path = tmp_path / "quinces.jsonl"
    export_jsonl(store_db, path)
    copy = store_db.for_namespace("copy")
    mint = copy.add_cell(scene="orchard", cell_type="fact", salience=0.5, content="Mint grows by the gate.")
    copy.upsert_scene("orchard", "Mint by the gate.")
    own_before = events(copy)
    cells_before, scenes_before = copy.list_cells(include_history=True), copy.list_scenes(include_history=True)
    clock.advance(days=1)
    import_jsonl(copy, path)
    assert events(copy)[: len(own_before)] == own_before  # the namespace's own history is untouched
    assert [e.action for e in events(copy) if e.change_id < 0][:3] == ["add", "add", "update"]  # and the file's
    orchard = scene_told(copy, "orchard")
    assert [e[0] for e in orchard] == ["create", "summary", "summary"]  # the scene was there: its past stays its own
    latest = max(e.change_id for e in events(copy))
    assert events(copy)[-1].change_id == latest  # the import is the last change

    late = next(c for c in copy.list_cells(include_history=True) if c.content.endswith("Sept."))
    reinforce(copy, late.id, reason="heard once more")
    assert [e.action for e in undo(copy)] == ["reinforce"] and copy.get_cell(late.id) == late  # undone exactly
    assert {e.reason for e in undo(copy)} >= {"imported from quinces.jsonl"}
    assert copy.list_cells(include_history=True) == cells_before
    assert copy.list_scenes(include_history=True) == scenes_before and list_links(copy) == []
    assert all(e.change_id > 0 for e in events(copy))  # the history it brought went with it
    assert [e for e in events(copy) if e.id <= own_before[-1].id] == own_before
    undone = undo(copy)  # then the namespace's own past, as before
    assert [e.action for e in undone] == ["summary"] and copy.get_scene("orchard").summary == ""  # type: ignore[union-attr]
    assert copy.get_cell(mint) is not None


def test_undo_never_reaches_into_imported_events(store_db: MemoryDB, clock: ManualClock, tmp_path: Path) -> None:
    lived(store_db, clock)
    path = tmp_path / "quinces.jsonl"
    export_jsonl(store_db, path)
    copy = store_db.for_namespace("copy")
    import_jsonl(copy, path)
    with copy.transaction() as conn:  # the import's own events, deleted around memkit
        conn.execute("DELETE FROM mem_history WHERE namespace = ? AND change_id > 0", ("copy",))
    cells = copy.list_cells(include_history=True)
    with pytest.raises(HistoryConflictError, match="imported from another memory"):
        undo(copy)
    assert copy.list_cells(include_history=True) == cells and all(e.undone_at is None or e.change_id < 0
                                                                  for e in events(copy))  # fmt: skip


def test_importing_twice_brings_the_history_once(store_db: MemoryDB, clock: ManualClock, tmp_path: Path) -> None:
    ids = lived(store_db, clock)
    path = tmp_path / "quinces.jsonl"
    export_jsonl(store_db, path)
    copy = store_db.for_namespace("copy")
    import_jsonl(copy, path)
    first = events(copy)
    assert import_jsonl(copy, path) == ImportResult(added=0, skipped=3)
    assert events(copy) == first
    # a namespace that already holds one of the cells keeps its story as it is
    other = store_db.for_namespace("other")
    jam = other.add_cell(scene="kitchen", cell_type="plan", salience=0.4, content="Make quince jam on Sunday.")
    kept = told(other, jam)
    assert import_jsonl(other, path) == ImportResult(added=2, skipped=1)
    assert [e for e in told(other, jam) if e[0] == "cell"] == [e for e in kept if e[0] == "cell"]
    late = moved(store_db, other, ids["late"])
    assert told(other, late)[: len(told(store_db, ids["late"]))] == told(store_db, ids["late"])


def test_files_of_the_earlier_formats_still_import(db: MemoryDB, tmp_path: Path) -> None:
    cell = {"scene": "orchard", "cell_type": "fact", "salience": 0.5, "content": "Figs need a warm wall."}
    other = {**cell, "content": "The fig tree is twelve years old."}
    v1 = [{"kind": "memkit-export", "version": 1, "namespace": "x"}, {"kind": "cell", **cell}]
    v2 = [
        {"kind": "memkit-export", "version": 2, "namespace": "x"},
        {"kind": "cell", "ref": 7, **cell, "seen_count": 2},
        {"kind": "cell", "ref": 8, **other},
        {"kind": "link", "source": 8, "target": 7, "link": "same-subject", "reason": "figs"},
    ]
    for version, records in ((1, v1), (2, v2)):
        path = tmp_path / f"v{version}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
        target = db.for_namespace(f"v{version}")
        assert import_jsonl(target, path).added == len(records) - 1 - (version == 2)
        assert {e.change_id for e in events(target)} == {events(target)[0].change_id} and events(target)[0].id > 0
        assert undo(target) and target.list_cells(include_history=True) == []
    assert FORMAT_VERSION == 3


def _file(*events_: dict[str, Any]) -> str:
    cell = {"kind": "cell", "ref": 1, "scene": "orchard", "cell_type": "fact", "salience": 0.5, "content": "Plums."}
    row = {"id": 1, "scene": "orchard", "cell_type": "fact", "salience": 0.5, "content": "Plums."}
    lines = [{"kind": "memkit-export", "version": 3, "namespace": "x"}, cell]
    lines += [{"kind": "event", "about": "cell", "key": 1, "action": "add", "before": None, "after": row,
               "reason": "", "created_at": "2026-01-01T00:00:00+00:00", **e} for e in events_]  # fmt: skip
    return "".join(json.dumps(line) + "\n" for line in lines)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"about": "table"}, "an event must be about one of cell, scene, link"),
        ({"action": "explode"}, "unknown action 'explode' for a cell"),
        ({"key": "1"}, "a cell event's key must be a whole number"),
        ({"key": True}, "a cell event's key must be a whole number"),
        ({"after": ["Plums."]}, "an event's after must be an object or null, not list"),
        ({"after": None}, "an event needs a row before or after it"),
        ({"after": {"id": 1, "password": "x"}}, "has columns a cell does not have: password"),
        ({"after": {"id": 1, "content": {"nested": 1}}}, "after.content must be text, a number or null"),
        ({"after": {"id": 2}}, "after.id is 2, but the event is about cell 1"),
        ({"after": {"id": 1, "content": "x" * 20_000}}, "longer than 16,000 characters"),
        ({"created_at": "yesterday"}, "created_at must be an ISO 8601"),
        ({"undone_at": 5}, "undone_at must be an ISO 8601 string, not int"),
        ({"reason": ["why"]}, "reason must be a string, not list"),
        ({"about": "link", "action": "link", "after": {"id": 4, "source": 1}}, "after.target must be a whole"),
    ],
)  # fmt: skip
def test_a_bad_event_names_its_line_and_imports_nothing(
    db: MemoryDB, tmp_path: Path, event: dict[str, Any], message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(_file({}, event))
    with pytest.raises(MemkitError, match=f"line 4 is not a memkit record: .*{message}"):
        import_jsonl(db, path)
    assert db.count_cells(include_history=True) == 0 and events(db) == []


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"key": 9, "after": {"id": 9}}, "line 3 is not a memkit record: its event is about cell 9, which the file"),
        ({"about": "link", "key": 4, "action": "link", "after": {"id": 4, "source": 1, "target": 2}},
         "its event is about cell 2, which the file does not hold"),
    ],
)  # fmt: skip
def test_an_event_about_a_cell_the_file_does_not_hold_is_refused(
    db: MemoryDB, tmp_path: Path, event: dict[str, Any], message: str
) -> None:
    path = tmp_path / "dangling.jsonl"
    path.write_text(_file(event))
    with pytest.raises(MemkitError, match=message):
        import_jsonl(db, path)
    twice = tmp_path / "twice.jsonl"
    twice.write_text(_file() + _file().splitlines(keepends=True)[1])
    with pytest.raises(MemkitError, match="gives ref 1 to two cells"):
        import_jsonl(db, twice)
    assert db.count_cells(include_history=True) == 0 and events(db) == []


def test_imported_events_are_redacted_and_lose_their_exchange(store_db: MemoryDB, tmp_path: Path) -> None:
    secret = "sk-proj-" + "Pl7mQ2xZ" * 5
    path = tmp_path / "keyed.jsonl"
    path.write_text(
        _file({"after": {"id": 1, "content": f"Plums. {secret}", "exchange_id": 41}, "reason": f"from {secret}"})
    )
    import_jsonl(store_db, path)
    stored = json.dumps(store_db.query_rows("SELECT before, after, reason, exchange_id FROM mem_history"), default=list)
    assert secret not in stored and "[redacted key]" in stored
    (brought,) = [e for e in events(store_db) if e.change_id < 0]
    assert (brought.exchange_id, brought.after["exchange_id"], brought.reason) == (  # type: ignore[index]
        None,
        None,
        "from [redacted key]",
    )


def test_an_export_of_an_import_carries_the_history_on(db: MemoryDB, clock: ManualClock) -> None:
    ids = lived(db, clock)
    copy = db.for_namespace("copy")
    import_jsonl(copy, "first", text="".join(export_lines(db)))
    again = db.for_namespace("again")
    import_jsonl(again, "second", text="".join(export_lines(copy)))
    for old in ids.values():
        there = told(db, old)
        assert told(again, moved(db, again, old))[: len(there)] == there
