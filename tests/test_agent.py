"""WorkerAgent: recall, answer, update (inline and in the background)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from memkit import BackendError, MemoryDB, MemoryManager, ScriptedBackend, UpdateFailedError, WorkerAgent
from memkit.cli import DEMO_MESSAGES


def test_tutorial_conversation_offline(db: MemoryDB) -> None:
    agent = WorkerAgent(MemoryManager(db))
    replies = [agent.answer(m) for m in DEMO_MESSAGES]
    # each message is acknowledged with what memory keeps of it: a statement that stands alone
    assert replies == [
        "Noted: User is building an agent that remembers projects long term.",
        "Noted: The agent should organize conversations into topics automatically.",
        "Noted: This memory system should support future reasoning.",
    ]
    assert db.count_cells() == 3
    project = db.get_scene("projects")
    assert project is not None and project.cell_count == 2  # "the agent" goes on about the project
    assert project.summary.startswith("User is building an agent that remembers projects long term.")


def test_answer_recalls_cells_and_summaries_and_shows_them_to_the_model(db: MemoryDB) -> None:
    MemoryManager(db).update("The kitchen budget is 15,000 euros.", "Got it.")
    model = ScriptedBackend(["It is 15,000 euros."], fallback=None)
    manager = MemoryManager(db, ScriptedBackend(['{"cells": []}']))
    agent = WorkerAgent(manager, llm=model)
    assert agent.answer("What is the kitchen budget?") == "It is 15,000 euros."
    recall = agent.last_recall
    assert recall is not None and [h.content for h in recall.hits][:1] == ["The kitchen budget is 15,000 euros."]
    assert [s.scene for s in recall.scenes] == [recall.hits[0].scene]
    system = model.history[0].messages[0].content
    assert "<memory>" in system and "The kitchen budget is 15,000 euros." in system
    assert [c.task for c in agent.calls] == ["answer", "extract"]


def test_background_update_does_not_hold_back_the_reply(db: MemoryDB) -> None:
    release = threading.Event()

    def slow_extract(request):  # type: ignore[no-untyped-def]
        release.wait(5)
        return json.dumps({"cells": [{"scene": "s", "cell_type": "fact", "salience": 0.5, "content": "Slow fact."}]})

    manager = MemoryManager(db, ScriptedBackend([slow_extract, '{"summaries": []}']))
    agent = WorkerAgent(manager, llm=ScriptedBackend(["quick reply"]), background=True)
    assert agent.answer("hello world") == "quick reply"
    assert agent.updating and db.count_cells() == 0
    release.set()
    (result,) = agent.wait(timeout=5)
    assert [c.content for c in result.cells] == ["Slow fact."]
    assert not agent.updating
    agent.close()


def test_background_failure_surfaces_on_wait_and_keeps_the_exchange(db: MemoryDB) -> None:
    manager = MemoryManager(db, ScriptedBackend([BackendError("extraction failed")]))
    agent = WorkerAgent(manager, llm=ScriptedBackend(["reply"]), background=True)
    agent.answer("Remember my locker is 42.")
    with pytest.raises(UpdateFailedError, match="retry_failed"):
        agent.wait(timeout=5)
    assert len(db.unfinished_exchanges()) == 1
    agent.close()


def test_agent_argument_checks(db: MemoryDB) -> None:
    with pytest.raises(TypeError, match="manager must be a MemoryManager"):
        WorkerAgent(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"WorkerAgent\(MemoryManager\(db\)\)"):
        WorkerAgent(db, MemoryManager(MemoryDB()))  # type: ignore[arg-type]
    with pytest.warns(DeprecationWarning, match=r"WorkerAgent\(manager\)"):
        older = WorkerAgent(db, MemoryManager(db))  # type: ignore[arg-type]
    assert older.db is db and older.llm is older.manager.llm
    agent = WorkerAgent(MemoryManager(db))
    with pytest.raises(TypeError, match="text must be a string"):
        agent.answer(b"bytes")  # type: ignore[arg-type]


def test_the_agent_reads_the_memory_its_manager_writes(tmp_path: Path) -> None:
    with MemoryDB(tmp_path / "a.db") as first, MemoryDB(tmp_path / "b.db") as second:
        agent = WorkerAgent(MemoryManager(second))
        agent.answer("Remember that my locker number is 42.")
        assert agent.db is second
        assert first.count_cells() == 0 and second.count_cells() > 0
        assert "42" in agent.answer("What is my locker number?")


def test_the_agent_and_its_manager_share_one_call_log(db: MemoryDB) -> None:
    agent = WorkerAgent(MemoryManager(db))
    agent.answer("My locker number is 42.")
    assert agent.calls is agent.manager.calls
    assert [call.task for call in agent.calls][:2] == ["answer", "extract"]
    assert agent.calls[0].task == "answer" and len(agent.calls[-1:]) == 1
