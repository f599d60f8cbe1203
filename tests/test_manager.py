"""MemoryManager: extraction, storage, incremental consolidation, failures, ingest."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from memkit import (
    BackendError,
    Cell,
    ManualClock,
    MemoryDB,
    MemoryManager,
    ScriptedBackend,
    Utterance,
    WorkerAgent,
)
from memkit.links import list_links
from memkit.llm import estimate_tokens


def cells_reply(*cells: tuple[str, str, float, str]) -> str:
    return json.dumps({"cells": [{"scene": s, "cell_type": t, "salience": v, "content": c} for s, t, v, c in cells]})


def test_update_with_the_offline_engine_stores_cells_and_a_summary(db: MemoryDB) -> None:
    manager = MemoryManager(db)
    result = manager.update("We're repainting the living room in sage green.", "Sage green, noted.")
    assert [(c.cell_type, c.content) for c in result.cells] == [
        ("fact", "User is repainting the living room in sage green.")
    ]
    assert result.scenes == ("living-room",)
    scene = db.get_scene(result.scenes[0])
    assert scene is not None and scene.summary == "User is repainting the living room in sage green."
    assert [c.task for c in manager.calls.calls] == ["extract", "consolidate"]


def test_update_with_a_scripted_model(db: MemoryDB, scripted: ScriptedBackend) -> None:
    scripted.enqueue(
        "```json\n"
        + cells_reply(("Kitchen", "fact", 0.8, "Budget is 15,000 euros."), ("kitchen", "gossip", 0.5, "Ignored."))
        + "\n```",
        json.dumps({"summaries": [{"scene": "kitchen", "summary": "Kitchen budget: 15,000 euros."}]}),
    )
    manager = MemoryManager(db, scripted)
    result = manager.update("The kitchen budget is 15,000 euros.", "Noted.")
    assert [c.content for c in result.cells] == ["Budget is 15,000 euros."]
    assert [r.reason.split(";")[0] for r in result.rejected] == ["unknown cell_type 'gossip'"]
    assert db.get_scene("kitchen").summary == "Kitchen budget: 15,000 euros."  # type: ignore[union-attr]
    extract, consolidate = scripted.history
    assert "The kitchen budget is 15,000 euros." in extract.messages[1].content
    assert "Budget is 15,000 euros." in consolidate.messages[1].content


def test_consolidation_prompt_holds_the_summary_and_new_cells_only(db: MemoryDB, scripted: ScriptedBackend) -> None:
    manager = MemoryManager(db, scripted)
    for i in range(12):
        scripted.enqueue(
            cells_reply(("garden", "fact", 0.5, f"Garden note number {i} about the tomatoes.")),
            json.dumps({"summaries": [{"scene": "garden", "summary": "Tomatoes, staked and watered."}]}),
        )
        manager.update(f"note {i}", "ok")
    prompts = [c.prompt for c in manager.calls.calls if c.task == "consolidate"]
    assert "Garden note number 0 " in prompts[0]
    assert "Garden note number 0 " not in prompts[-1]
    assert estimate_tokens(prompts[-1]) == estimate_tokens(prompts[1]) + 0  # flat, not growing


def test_failed_extraction_keeps_the_exchange_for_a_retry(db: MemoryDB, scripted: ScriptedBackend) -> None:
    scripted.enqueue(BackendError("model is down"))
    manager = MemoryManager(db, scripted)
    with pytest.raises(BackendError, match="model is down"):
        manager.update("Remember the alarm code is 4411.", "Will do.")
    assert db.count_cells() == 0
    (exchange,) = db.unfinished_exchanges()
    assert exchange[1] == [Utterance("User", "Remember the alarm code is 4411."), Utterance("Assistant", "Will do.")]
    scripted.enqueue(cells_reply(("home", "fact", 0.9, "Alarm code is 4411.")), "")
    (result,) = manager.retry_failed()
    assert [c.content for c in result.cells] == ["Alarm code is 4411."]
    assert db.unfinished_exchanges() == []
    # the consolidation reply was unusable: the extractive fallback wrote the summary
    assert db.get_scene("home").summary == "Alarm code is 4411."  # type: ignore[union-attr]


def test_failed_consolidation_call_falls_back_and_keeps_cells(db: MemoryDB, scripted: ScriptedBackend) -> None:
    scripted.enqueue(cells_reply(("home", "fact", 0.9, "Alarm code is 4411.")), BackendError("timeout"))
    MemoryManager(db, scripted).update("x", "y")
    assert db.get_scene("home").summary == "Alarm code is 4411."  # type: ignore[union-attr]
    assert db.count_cells() == 1


def test_unparseable_extraction_stores_nothing_reports_why_and_keeps_the_exchange(
    db: MemoryDB, scripted: ScriptedBackend
) -> None:
    scripted.enqueue("I'm sorry, I can't help with that.")
    result = MemoryManager(db, scripted).update("x", "y")
    assert result.cells == ()
    assert result.rejected[0].reason == "the reply held no JSON object or array"
    assert [e[0] for e in db.unfinished_exchanges()] == [result.exchange_id]


def test_update_rejects_non_text(db: MemoryDB) -> None:
    with pytest.raises(TypeError, match="user must be a string"):
        MemoryManager(db).update(None, "x")  # type: ignore[arg-type]


def test_ingest_keeps_source_ids_times_and_speakers(db: MemoryDB) -> None:
    transcript = [
        {
            "speaker": "Caroline",
            "text": "I went to a support group yesterday and it was powerful.",
            "id": "D1:1",
            "time": "2023-05-08T13:56:00",
        },
        ("Melanie", "I painted a sunrise over the lake last year.", "D1:2", "2023-05-08T13:57:00"),
        Utterance("Caroline", "Hi!", "D1:3"),
    ]
    result = MemoryManager(db).ingest(transcript, progress=False)
    assert (result.messages, len(result.cells)) == (3, 3)
    assert all(cell.source_id for cell in result.cells)
    cells = db.list_cells()
    assert [(c.source_id, c.occurred_at, c.content) for c in cells] == [
        ("D1:1", "2023-05-08T13:56:00", "Caroline went to a support group yesterday."),
        ("D1:1", "2023-05-08T13:56:00", "Caroline: The support group was powerful."),  # who said it, first
        ("D1:2", "2023-05-08T13:57:00", "Melanie painted a sunrise over the lake last year."),
    ]
    assert all(s.summary for s in db.list_scenes())


def test_ingest_consolidates_in_batches(db: MemoryDB) -> None:
    manager = MemoryManager(db)
    lines = [("Sam", f"The garden shed needs part number {i} fitted.") for i in range(25)]
    manager.ingest(lines, progress=False, consolidate_every=10)
    assert [c.task for c in manager.calls.calls].count("consolidate") == 3


def test_ingest_rejects_bad_messages(db: MemoryDB) -> None:
    with pytest.raises(TypeError, match="speaker and a text"):
        MemoryManager(db).ingest([{"speaker": "A"}], progress=False)
    with pytest.raises(TypeError, match="must be an Utterance"):
        MemoryManager(db).ingest([42], progress=False)


def test_ingest_checks_every_message_before_it_stores_any(db: MemoryDB) -> None:
    messages = [
        {"speaker": "Ana", "text": f"Note {i} about the garden.", "time": f"2024-05-0{i + 1}"} for i in range(8)
    ]
    messages[5]["time"] = "the sixth of May"
    with pytest.raises(ValueError, match=r"ISO 8601.*sixth of May"):
        MemoryManager(db).ingest(messages, progress=False)
    assert db.sql("SELECT COUNT(*) AS n FROM mem_exchanges") == [{"n": 0}]
    assert db.count_cells(include_history=True) == 0


# -- memory that evolves: one decision per extracted cell, folded into extraction --------------


def decided(content: str, action: str | None = None, target: object = None, **extra: object) -> dict[str, object]:
    item: dict[str, object] = {"scene": "life", "cell_type": "fact", "salience": 0.6, "content": content}
    if action is not None:
        item.update(action=action, target=target)
    item.update(extra)
    return item


def reply(*items: dict[str, object]) -> str:
    return json.dumps({"cells": list(items)})


def test_saying_the_same_thing_twice_gives_one_cell_with_a_higher_count(db: MemoryDB, clock: ManualClock) -> None:
    manager = MemoryManager(db)
    manager.update("I prefer oak cabinets over white lacquer.", "Oak it is.")
    clock.advance(days=3)
    result = manager.update("I prefer oak cabinets over white lacquer.", "Noted.")
    assert result.cells == ()
    assert [(r.action, r.target_id, r.reason) for r in result.revisions] == [("reinforce", 1, "repeats cell 1")]
    assert db.list_cells(include_history=True) == [
        Cell(
            1,
            "oak-cabinets",
            "preference",
            0.6,
            "User prefers oak cabinets over white lacquer.",
            None,
            None,
            "2026-01-05T09:00:00+00:00",
            "default",
            seen_count=2,
            last_seen_at="2026-01-08T09:00:00+00:00",
            context="I prefer oak cabinets over white lacquer. Oak it is.",
        )
    ]
    assert [c.task for c in manager.calls.calls] == ["extract", "consolidate", "extract"]  # nothing new to fold in


def test_an_update_supersedes_exactly_the_old_cell_and_search_returns_the_new_one_first(db: MemoryDB) -> None:
    manager = MemoryManager(db)
    for text in (
        "I live in Lisbon with my partner.",
        "I work as a nurse at the Lisbon children's hospital.",
        "I prefer coffee in the morning.",
    ):
        manager.update(text, "Noted.")
    before = {c.id: c for c in db.list_cells()}
    result = manager.update("I moved from Lisbon to Berlin in March.", "Noted.")
    new, kept = result.cells
    assert new.content == "User moved from Lisbon to Berlin in March."
    assert kept.content == "User lives with User's partner."  # the part of cell 1 the move does not change
    assert [c.id for c in result.superseded] == [1]
    after = {c.id: c for c in db.list_cells(include_history=True)}
    assert after[1] == replace(before[1], valid_until="2026-01-05T09:00:00+00:00")
    assert {i: c for i, c in after.items() if i not in (1, new.id, kept.id)} == {
        i: c for i, c in before.items() if i != 1
    }
    assert db.search("Lisbon")[0].id == new.id
    history = [(h.id, h.current) for h in db.search("Lisbon", include_history=True)]
    assert history[0] == (new.id, True) and (1, False) in history
    assert [(link.source, link.kind, link.target) for link in list_links(db)] == [(new.id, "replaces", 1)]
    summary = db.get_scene(new.scene).summary  # type: ignore[union-attr]
    assert "User lives in Lisbon" not in summary and "moved from Lisbon to Berlin" in summary


def test_the_model_refers_to_cells_by_short_numbers(db: MemoryDB, scripted: ScriptedBackend) -> None:
    for i in range(40):  # push database ids well past the short numbers
        db.add_cell(scene="filler", cell_type="fact", salience=0.1, content=f"Filler note {i}.")
    coffee = db.add_cell(scene="food", cell_type="preference", salience=0.6, content="Ana prefers coffee.")
    porto = db.add_cell(scene="travel", cell_type="plan", salience=0.7, content="Ana plans a trip to Porto.")
    scripted.enqueue(
        reply(
            decided("Ana drinks green tea now.", "update", 1, reason="switched"),
            decided("The Porto trip is off.", "supersede", 2),
        ),
        json.dumps({"summaries": []}),
    )
    result = MemoryManager(db, scripted).update("I drink green tea now, not coffee. Also, Porto is off.", "Noted.")
    prompt = scripted.history[0].messages[1].content
    assert (
        "1. [preference, food] Ana prefers coffee." in prompt
        and "2. [plan, travel] Ana plans a trip to Porto." in prompt
    )
    assert str(coffee) not in prompt and str(porto) not in prompt
    assert [(r.action, r.target_id) for r in result.revisions] == [("update", coffee), ("supersede", porto)]
    assert [c.id for c in result.superseded] == [coffee, porto]
    retired = scripted.history[1].messages[1].content
    assert "<retired_cells>\n- Ana prefers coffee.\n</retired_cells>" in retired


def test_malformed_model_decisions_lose_nothing(db: MemoryDB, scripted: ScriptedBackend) -> None:
    kept = db.add_cell(scene="life", cell_type="fact", salience=0.6, content="Ana lives in Lisbon.")
    before = db.list_cells(include_history=True)
    scripted.enqueue(
        reply(
            decided("Ana lives in Berlin.", "update", 9),
            decided("Ana has a cat.", "fuse", 1),
            decided("Ana has a dog.", "supersede", "the Lisbon one"),
            decided("Ana likes jazz.", "update"),
            decided("Ana likes tea.", "ignore"),
            decided("Ana sings.", ["add"], 1),
            decided("Ana paints.", "add", 5, relation="cause"),
        ),
        "not json at all",
    )
    result = MemoryManager(db, scripted).update("...", "...")
    assert [c.content for c in result.cells] == [
        "Ana lives in Berlin.",
        "Ana has a cat.",
        "Ana has a dog.",
        "Ana likes jazz.",
        "Ana likes tea.",
        "Ana sings.",
        "Ana paints.",
    ]
    assert [(r.action, r.target_id, r.asked, r.reason) for r in result.revisions] == [
        ("add", None, "update 9", "update names number 9, but only numbers 1-1 were shown; stored as a new cell"),
        ("add", None, "fuse 1", "unknown action 'fuse'; stored as a new cell"),
        ("add", None, "supersede", "supersede names no cell; stored as a new cell"),
        ("add", None, "update", "update names no cell; stored as a new cell"),
        ("add", None, "ignore", "ignore names no cell; stored as a new cell"),
        ("add", None, "['add'] 1", "unknown action \"['add']\"; stored as a new cell"),
        ("add", None, None, "link to number 5 dropped: it was not shown"),
    ]
    assert db.list_cells(include_history=True)[:1] == before  # the stored cell is untouched
    assert db.get_cell(kept).status == "current"  # type: ignore[union-attr]
    assert list_links(db) == []
    assert db.unfinished_exchanges() == []


def test_a_turn_costs_three_calls_and_its_prompts_do_not_grow(db: MemoryDB) -> None:
    topics = [
        "I prefer coffee in the morning.",
        "The kitchen budget is {n},000 euros.",
        "We are planning a trip to Porto in May.",
        "My sister plays the cello in an orchestra.",
        "I need to renew my passport before the trip.",
        "The thesis chapter on coral reefs is due on Friday.",
        "I switched to green tea in the mornings.",
        "The marathon training plan has {n} long runs.",
    ]
    agent = WorkerAgent(MemoryManager(db))
    per_turn: list[list[tuple[str, int]]] = []
    for turn in range(120):
        seen = len(agent.calls)
        agent.answer(topics[turn % len(topics)].format(n=10 + turn))
        per_turn.append([(c.task, c.prompt_tokens) for c in agent.calls[seen:]])
    assert all(len(calls) <= 3 for calls in per_turn)
    assert {tuple(task for task, _ in calls) for calls in per_turn} <= {
        ("answer", "extract", "consolidate"),
        ("answer", "extract"),
    }
    for task in ("answer", "extract", "consolidate"):
        sizes = [tokens for calls in per_turn for t, tokens in calls if t == task]
        third = len(sizes) // 3
        middle, late = sizes[third : 2 * third], sizes[2 * third :]
        assert max(late) <= max(middle), (task, max(middle), max(late))  # no growth once memory has filled
    assert db.count_cells() < 24 < db.count_cells(include_history=True)


def test_cells_keep_the_words_around_them_as_context(db: MemoryDB) -> None:
    manager = MemoryManager(db)
    manager.ingest(
        [
            ("Ben", "What breed is your new dog?", "m1"),
            ("Ana", "A beagle. He chews everything.", "m2"),
            ("Ben", "Ha, mine did too.", "m3"),
        ],
        progress=False,
    )
    # "A beagle." is too short to be a cell, and the question is not one: the context keeps both findable,
    # with who said what; in a transcript between named people each cell says who said it.
    assert [(c.content, c.context) for c in db.list_cells() if c.source_id == "m2"] == [
        (
            "Ana: He chews everything.",
            "Ben: What breed is your new dog? Ana: A beagle. He chews everything. Ben: Ha, mine did too.",
        )
    ]
    assert db.search("Which breed is the dog? A beagle?")[0].source_id == "m2"
    manager.update("We picked the oak cabinets.", "Noted.")
    assert db.list_cells()[-1].context == "We picked the oak cabinets. Noted."
