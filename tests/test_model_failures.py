"""When a real model fails or replies badly, memory loses nothing: every word is kept for a retry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from memkit import (
    BackendConnectionError,
    BackendError,
    MemoryDB,
    MemoryManager,
    OpenAIBackend,
    ScriptedBackend,
    UpdateFailedError,
    Utterance,
    WorkerAgent,
)
from memkit.llm.offline.summarise import consolidate as extractive

from .chat_server import ChatServer


def cells_reply(*cells: tuple[str, str, float, str]) -> str:
    return json.dumps({"cells": [{"scene": s, "cell_type": t, "salience": v, "content": c} for s, t, v, c in cells]})


TEA = cells_reply(
    ("drinks", "preference", 0.6, "User prefers green tea."), ("drinks", "fact", 0.4, "User has a kettle.")
)
#: The same reply cut off by the token limit after its first cell.
TEA_CUT = TEA[: TEA.index("}") + 3]
SUMMARY_CUT = '{"summaries": [{"scene": "drinks", "summary": "The user prefers green tea and has a ke'


@pytest.fixture
def server() -> Iterator[ChatServer]:
    running = ChatServer().start()
    yield running
    running.stop()


def model(server: ChatServer) -> OpenAIBackend:
    return OpenAIBackend("m", base_url=server.base_url, max_retries=0)


def sent_budgets(server: ChatServer) -> list[int]:
    return [r.body["max_tokens"] for r in server.requests if r.body]


# -- replies cut off at max_tokens ------------------------------------------------


def test_a_cut_off_reply_is_asked_again_with_a_larger_budget(db: MemoryDB, server: ChatServer) -> None:
    server.replies = [(TEA_CUT, "length"), (TEA, "stop"), ('{"summaries": []}', "stop")]
    result = MemoryManager(db, model(server)).update("I prefer green tea; I have a kettle.", "Noted.")
    assert [c.content for c in result.cells] == ["User prefers green tea.", "User has a kettle."]
    first, second = sent_budgets(server)[:2]
    assert second > first


def test_a_reply_cut_off_twice_is_rejected_and_the_exchange_kept(db: MemoryDB, server: ChatServer) -> None:
    server.replies = [(TEA_CUT, "length"), (TEA_CUT, "length")]
    manager = MemoryManager(db, model(server))
    result = manager.update("I prefer green tea; I have a kettle.", "Noted.")
    assert result.cells == () and db.count_cells() == 0  # never stored as if whole
    assert len(result.rejected) == 1 and "cut off" in result.rejected[0].reason
    assert [e[0] for e in db.unfinished_exchanges()] == [result.exchange_id]
    server.replies = [(TEA, "stop"), ('{"summaries": []}', "stop")]
    (retried,) = manager.retry_failed()
    assert len(retried.cells) == 2


def test_a_cut_off_consolidation_never_becomes_the_summary(db: MemoryDB, server: ChatServer) -> None:
    server.replies = [(TEA, "stop"), (SUMMARY_CUT, "length"), (SUMMARY_CUT, "length")]
    MemoryManager(db, model(server)).update("I prefer green tea; I have a kettle.", "Noted.")
    scene = db.get_scene("drinks")
    cells = [(c.cell_type, c.salience, c.content) for c in db.list_cells("drinks")]
    assert scene is not None and scene.summary == extractive("", cells, ())


# -- replies with no usable JSON -----------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "I'm sorry, I can't help with that.",
        "",
        '{"answer": 42}',
        json.dumps({"cells": [{"scene": "x", "cell_type": "vibe", "content": "Nope."}]}),
    ],
)
def test_an_unusable_extraction_reply_keeps_the_exchange_for_a_retry(db: MemoryDB, reply: str) -> None:
    scripted = ScriptedBackend([reply])
    manager = MemoryManager(db, scripted)
    result = manager.update("Remember the alarm code is 4411.", "Will do.")
    assert result.cells == () and result.rejected
    (kept,) = db.unfinished_exchanges()
    assert kept[1][0] == Utterance("User", "Remember the alarm code is 4411.")
    scripted.enqueue(cells_reply(("home", "fact", 0.9, "Alarm code is 4411.")), "")
    (retried,) = manager.retry_failed()
    assert [c.content for c in retried.cells] == ["Alarm code is 4411."]
    assert db.unfinished_exchanges() == []


# -- the agent never throws a user's words away ----------------------------------------


def test_a_failed_memory_update_still_returns_the_reply(db: MemoryDB) -> None:
    manager = MemoryManager(db, ScriptedBackend([BackendError("extraction failed")]))
    agent = WorkerAgent(manager, llm=ScriptedBackend(["Locker 42, noted."]))
    with pytest.warns(UserWarning, match="retry_failed"):
        assert agent.answer("Remember my locker is 42.") == "Locker 42, noted."
    (kept,) = db.unfinished_exchanges()
    assert kept[1] == [Utterance("User", "Remember my locker is 42."), Utterance("Assistant", "Locker 42, noted.")]
    with pytest.raises(UpdateFailedError, match="retry_failed"):
        agent.wait()


def test_the_users_message_is_logged_before_the_answer_call(db: MemoryDB) -> None:
    manager = MemoryManager(db, "offline")
    agent = WorkerAgent(manager, llm=ScriptedBackend([BackendConnectionError("cannot reach the model")]))
    with pytest.raises(BackendConnectionError):
        agent.answer("My bike is a blue Gazelle.")
    (kept,) = db.unfinished_exchanges()
    assert kept[1] == [Utterance("User", "My bike is a blue Gazelle.")]
    manager.retry_failed()
    assert "blue Gazelle" in " ".join(c.content for c in db.list_cells())


# -- ingest: log everything first, process what can be processed ---------------------------


MESSAGES = [("Maya", f"Note {i}: the kitchen needs item number {i}.") for i in range(6)]


def test_ingest_goes_on_after_a_failure_and_reports_it(db: MemoryDB) -> None:
    scripted = ScriptedBackend(
        [
            cells_reply(("kitchen", "fact", 0.5, "Item 0.")),
            BackendError("the model server hiccuped"),
            *(cells_reply(("kitchen", "fact", 0.5, f"Item {i}.")) for i in range(2, 6)),
        ]
    )
    scripted.enqueue(json.dumps({"summaries": [{"scene": "kitchen", "summary": "Items 0, 2-5."}]}))
    with pytest.warns(UserWarning, match="retry_failed"):
        result = MemoryManager(db, scripted).ingest(MESSAGES, progress=False, consolidate_every=10)
    assert result.messages == 6 and len(result.cells) == 5
    assert [reason for _, reason in result.failed] == ["the model server hiccuped"]
    (kept,) = db.unfinished_exchanges()
    assert kept[1] == [Utterance(*MESSAGES[1])]
    assert db.get_scene("kitchen").summary == "Items 0, 2-5."  # type: ignore[union-attr]


def test_ingest_stops_calling_a_dead_server_but_keeps_every_message(db: MemoryDB) -> None:
    scripted = ScriptedBackend([BackendConnectionError("cannot reach the model")] * 6)
    with pytest.warns(UserWarning, match="retry_failed"):
        result = MemoryManager(db, scripted).ingest(MESSAGES, progress=False)
    assert len(scripted.history) == 3  # three failures in a row: the rest wait for retry_failed()
    assert [u for _, (u,), _, _ in db.unfinished_exchanges()] == [Utterance(*m) for m in MESSAGES]
    assert len(result.failed) == 6 and result.cells == ()


def test_the_chat_box_shows_the_reply_and_a_failed_update(db: MemoryDB) -> None:
    from memkit.widgets import ChatBox, ChatLine

    manager = MemoryManager(db, ScriptedBackend(["no JSON here"]))
    chat = ChatBox(WorkerAgent(manager, llm=ScriptedBackend(["Locker 42, noted."])))
    with pytest.warns(UserWarning):
        chat.send("Remember my locker is 42.")
    assert chat.lines[-1] == ChatLine("agent", "Locker 42, noted.")
    assert chat.failure is not None and "retry_failed" in chat.failure
    assert "memory update failed" in chat.status.value
    chat.close()


def test_a_replayed_recording_says_what_the_server_said(tmp_path: Path, server: ChatServer) -> None:
    from memkit import RecordingBackend, ReplayBackend

    server.replies = [(TEA_CUT, "length"), (TEA, "stop"), ('{"summaries": []}', "stop")]
    path = tmp_path / "lesson.jsonl"
    live = MemoryManager(MemoryDB(), RecordingBackend(model(server), path))
    live.update("I prefer green tea; I have a kettle.", "Noted.")
    replayed = MemoryManager(MemoryDB(), ReplayBackend(path))
    result = replayed.update("I prefer green tea; I have a kettle.", "Noted.")
    assert len(result.cells) == 2  # the cut-off reply was asked again, as it was live
    assert [(c.finish_reason, c.json_mode) for c in replayed.calls.calls] == [
        (c.finish_reason, c.json_mode) for c in live.calls.calls
    ]


def test_remember_magic_says_when_the_text_is_kept_for_a_retry(capsys: pytest.CaptureFixture[str]) -> None:
    from memkit.magics import MemkitMagics

    magics = MemkitMagics(None)  # type: ignore[arg-type]
    magics.session.set_backend(ScriptedBackend(["no JSON here"]))
    magics.remember("", "Remember my locker is 42.")
    said = capsys.readouterr().out
    assert "retry_failed" in said and "nothing to remember" not in said


def test_a_cut_off_answer_is_returned_as_it_is_not_asked_again(db: MemoryDB, server: ChatServer) -> None:
    server.replies = [("The kitchen budget is twelve thousand euros and", "length")]
    agent = WorkerAgent(MemoryManager(db, "offline"), llm=model(server))
    assert agent.answer("What is the kitchen budget?") == "The kitchen budget is twelve thousand euros and"
    assert len([r for r in server.requests if r.body]) == 1  # prose cut short still reads; JSON cut short does not
