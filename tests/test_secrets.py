"""Secrets and isolation: no key in anything memkit writes or shows; namespaces never mix."""

from __future__ import annotations

import json
import os
import re
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from memkit import (
    BackendError,
    MemoryDB,
    MemoryManager,
    OpenAIBackend,
    WorkerAgent,
    export_jsonl,
    import_jsonl,
)
from memkit.llm.recording import RecordingBackend
from memkit.views import calls_df, cells_df, recall_df, scenes_df, search_df
from tests.chat_server import ChatServer

ROOT = Path(__file__).resolve().parent.parent
#: Shaped like real keys; nothing memkit writes or shows may contain either.
SECRET = "sk-proj-" + "Q7xW2mZ9" * 6
ENV_SECRET = "sk-" + "envK3yR4nd0m" * 4
KEY_LIKE = re.compile(r"sk-[A-Za-z0-9_\-]{16,}|Bearer\s+[A-Za-z0-9_\-.]{16,}")


@pytest.fixture
def server() -> Iterator[ChatServer]:
    chat = ChatServer().start()
    yield chat
    chat.stop()


def exception_text(error: BaseException) -> str:
    """Everything a traceback of ``error`` would print, chained exceptions included."""
    return "".join(traceback.format_exception(error))


def test_no_key_in_files_errors_reprs_exports_or_views(
    server: ChatServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", ENV_SECRET)
    server.echo_auth = True  # a careless server repeats the key in its error messages
    backend = OpenAIBackend("m", base_url=server.base_url, api_key=SECRET, max_retries=0)
    recording = RecordingBackend(backend, tmp_path / "lesson.jsonl")
    db = MemoryDB(tmp_path / "memory.db")
    manager = MemoryManager(db, recording)
    agent = WorkerAgent(db, manager)
    shown: list[str] = []
    for status in (401, 403, 429, 500):
        server.status = status
        with pytest.raises(BackendError) as failure:
            agent.answer("Which drinks do I like?")
        shown.append(exception_text(failure.value))
    assert SECRET in server.requests[0].headers["authorization"]  # the server did get the key
    assert SECRET in json.dumps(server.requests[-1].headers)
    server.status = 200
    # The user pastes both keys into the chat; the model echoes one back into a memory cell.
    server.reply = json.dumps({"cells": [{"scene": "keys", "cell_type": "fact", "salience": 0.9, "content": SECRET}]})
    agent.answer(f"My key is {SECRET} and the other one is {ENV_SECRET}, remember them.")
    server.status = 500
    with pytest.raises(BackendError) as failure:
        manager.update(f"again {SECRET}", "ok")
    shown.append(exception_text(failure.value))
    export_jsonl(db, tmp_path / "export.jsonl")
    assert os.path.exists(tmp_path / "memory.db-wal")  # scanned while still open, WAL included
    shown += [repr(x) for x in (backend, recording, manager, agent, db, manager.calls)]
    shown += [backend.describe(), recording.describe()]
    shown += [str(call) for call in agent.calls]
    shown += [
        frame.to_string()
        for frame in (
            cells_df(db),
            scenes_df(db),
            search_df(db, "key"),
            recall_df(agent.last_recall),
            calls_df(agent.calls),
        )
    ]
    files = {path.name: path.read_bytes().decode("utf-8", "replace") for path in tmp_path.iterdir() if path.is_file()}
    assert set(files) == {"memory.db", "memory.db-wal", "memory.db-shm", "lesson.jsonl", "export.jsonl"}
    db.close()
    files["memory.db after close"] = (tmp_path / "memory.db").read_bytes().decode("utf-8", "replace")
    leaks = {
        name: KEY_LIKE.findall(text) for name, text in [*files.items(), *enumerate(shown)] if KEY_LIKE.search(text)
    }
    assert leaks == {}
    assert "[redacted key]" in files["export.jsonl"]  # what was pasted is kept, as a marker


def test_the_cause_of_an_error_is_kept_when_it_holds_no_key(server: ChatServer) -> None:
    server.status = 500
    backend = OpenAIBackend("m", base_url=server.base_url, api_key=SECRET, max_retries=0)
    with pytest.raises(BackendError) as failure:
        MemoryManager(MemoryDB(), backend).update("hello there", "hi")
    assert failure.value.__cause__ is not None and "server says no" in str(failure.value.__cause__)


def test_no_committed_file_holds_a_key() -> None:
    """Notebooks (with their outputs), data, docs: every file of the project but the tests' fake keys."""
    skip_dirs = {"tests", "build", "dist", "node_modules", "__pycache__"}
    found = {}
    for folder, dirs, names in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in skip_dirs and not d.endswith(".egg-info")]
        for name in names:
            path = Path(folder, name)
            if path.suffix in {".db", ".sqlite", ".pyc"} or path.stat().st_size > 20_000_000:
                continue
            text = path.read_bytes().decode("utf-8", "replace")
            if KEY_LIKE.search(text):
                found[str(path.relative_to(ROOT))] = KEY_LIKE.findall(text)[:3]
    assert found == {}


def test_namespaces_never_see_each_other(tmp_path: Path) -> None:
    db = MemoryDB(tmp_path / "shared.db", namespace="alice")
    bob = db.for_namespace("bob")
    alice_agent = WorkerAgent(db, MemoryManager(db))
    bob_agent = WorkerAgent(bob, MemoryManager(bob))
    alice_agent.answer("Alice keeps the spare key under the blue flowerpot.")
    alice_agent.answer("Alice is planning a surprise party for Bob in June.")
    bob_agent.answer("Bob prefers the garden table for dinner.")
    # Bob asks about everything Alice said, with her words.
    reply = bob_agent.answer("Where is the spare key, and what is the surprise party in June?")
    assert reply.startswith("I have nothing in memory") and "flowerpot" not in reply and "party for Bob" not in reply
    bob_ids = {c.id for c in bob.list_cells()}
    recall = bob_agent.last_recall
    assert recall is not None and {hit.id for hit in recall.hits} <= bob_ids
    assert all(scene.namespace == "bob" for scene in recall.scenes)
    for query in ("spare key flowerpot", "surprise party June", "Alice", "*", ""):
        assert {hit.id for hit in bob.search(query)} <= bob_ids, query
    assert {c.namespace for c in bob.list_cells()} == {"bob"}
    assert all("Alice" not in s.summary for s in bob.list_scenes())
    assert all(bob.get_cell(c.id) is None for c in db.list_cells())
    assert bob.unfinished_exchanges() == [] and db.unfinished_exchanges() == []
    export_jsonl(bob, tmp_path / "bob.jsonl")
    exported = (tmp_path / "bob.jsonl").read_text()
    assert "Bob prefers the garden table" in exported
    assert "Alice" not in exported and "flowerpot" not in exported
    for frame in (cells_df(bob), scenes_df(bob), search_df(bob, "spare key flowerpot"), recall_df(recall)):
        assert "Alice" not in frame.to_string() and "flowerpot" not in frame.to_string()
    # An export names its namespace, but importing it writes into the importing database's own.
    carol = db.for_namespace("carol")
    assert import_jsonl(carol, tmp_path / "bob.jsonl") == len(bob.list_cells())
    assert {c.namespace for c in carol.list_cells()} == {"carol"}
    assert [c.content for c in db.list_cells()] == [
        c.content for c in MemoryDB(db.path, namespace="alice").list_cells()
    ]
    db.close()


def test_a_namespace_cannot_be_made_from_text_that_would_not_be_stored_as_is() -> None:
    for bad in ("a\x00b", "\udcff", "", "  "):
        with pytest.raises(ValueError, match="namespace must be a non-empty string"):
            MemoryDB(namespace=bad)
    with MemoryDB() as db, pytest.raises(ValueError, match="lone surrogates"):
        db.for_namespace("x\x00y")
