"""MemoryManager: extraction, storage, incremental consolidation, failures, ingest."""

from __future__ import annotations

import json

import pytest

from memkit import (
    BackendError,
    MemoryDB,
    MemoryManager,
    ScriptedBackend,
    Utterance,
)
from memkit.llm import estimate_tokens


def cells_reply(*cells: tuple[str, str, float, str]) -> str:
    return json.dumps({"cells": [{"scene": s, "cell_type": t, "salience": v, "content": c} for s, t, v, c in cells]})


def test_update_with_the_offline_engine_stores_cells_and_a_summary(db: MemoryDB) -> None:
    manager = MemoryManager(db)
    result = manager.update("We're repainting the living room in sage green.", "Sage green, noted.")
    assert [(c.cell_type, c.content) for c in result.cells] == [
        ("fact", "We're repainting the living room in sage green.")
    ]
    assert result.scenes == (result.cells[0].scene,)
    scene = db.get_scene(result.scenes[0])
    assert scene is not None and scene.summary == "We're repainting the living room in sage green."
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


def test_unparseable_extraction_stores_nothing_and_reports_why(db: MemoryDB, scripted: ScriptedBackend) -> None:
    scripted.enqueue("I'm sorry, I can't help with that.")
    result = MemoryManager(db, scripted).update("x", "y")
    assert result.cells == ()
    assert result.rejected[0].reason == "the reply held no JSON object or array"
    assert db.unfinished_exchanges() == []


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
    assert (result.messages, result.cells) == (3, 2)
    cells = db.list_cells()
    assert [(c.source_id, c.occurred_at, c.content) for c in cells] == [
        ("D1:1", "2023-05-08T13:56:00", "Caroline went to a support group yesterday and it was powerful."),
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
