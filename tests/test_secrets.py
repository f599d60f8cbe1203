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
ENV_SECRET = "plainEnvKey" + "Zq8vTn4w" * 3  # no key shape: only the environment path can redact it
KEY_LIKE = re.compile(
    r"sk-[A-Za-z0-9_\-]{16,}|Bearer\s+[A-Za-z0-9_\-.]{16,}|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{30,}"
    r"|github_pat_\w{30,}|\bAIza[\w\-]{30,}|\bxox[abposre]-[\w\-]{10,}|\beyJ[\w\-]{8,}\.[\w\-]{4,}\.[\w\-]{4,}"
)


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
    agent = WorkerAgent(manager)
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
    assert [name for name, text in [*files.items(), *enumerate(shown)] if ENV_SECRET in text] == []
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
    alice_agent = WorkerAgent(MemoryManager(db))
    bob_agent = WorkerAgent(MemoryManager(bob))
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
    assert import_jsonl(carol, tmp_path / "bob.jsonl").added == len(bob.list_cells())
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


# -- keys of every shape, and every place text goes in ---------------------------------

#: Obviously fake, correctly shaped keys of the kinds people paste by mistake.
FAKE_KEYS = {
    "openai": SECRET,
    "anthropic": "sk-ant-api03-" + "FAKEfake0000" * 6,
    "aws": "AKIAIOSFODNN7EXAMPLE",  # AWS's own documentation example
    "github": "ghp_" + "FAKEfake0123456789" * 2,
    "github fine-grained": "github_pat_11FAKE0000_" + "FAKEfake0123456789" * 4,
    "google": "AIza" + "FAKEfake0123456789-_FAKEfake0123456",
    "slack": "xoxb-0000000000-0000000000-FAKEfakeFAKEfake00000000",
    "jwt": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJGQUtFIn0.ZmFrZS1zaWduYXR1cmUtRkFLRQ",
    "bearer": "Bearer FAKEfake0123456789FAKEfake",
}


@pytest.mark.parametrize("kind", sorted(FAKE_KEYS))
def test_every_key_shape_is_redacted(kind: str) -> None:
    from memkit.redact import redact_secrets

    key = FAKE_KEYS[kind]
    redacted = redact_secrets(f"my key: {key}, thanks")
    assert key not in redacted and key.split()[-1] not in redacted
    assert "[redacted key]" in redacted and redacted.startswith("my key: ") and redacted.endswith(", thanks")


@pytest.mark.parametrize("kind", ["openai", "aws", "github", "google", "jwt"])
def test_a_key_split_by_invisible_characters_is_redacted(kind: str) -> None:
    from memkit.redact import redact_secrets

    key = FAKE_KEYS[kind]
    for mark in ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"):
        split = key[:3] + mark + key[3:10] + mark + key[10:]
        redacted = redact_secrets(f"key {split} end")
        assert redacted == "key [redacted key] end", (kind, repr(mark))


def test_ordinary_text_is_left_alone() -> None:
    from memkit.redact import redact_secrets

    for text in (
        "Ask the AKIA team; the sk- prefix; Bearer of bad news arrived today.",
        "The family 👨\u200d👩\u200d👧 went to the sea-side in June.",
        "See https://example.org/path?q=1 and user@example.org.",
        "eyJ is how a base64 object starts.",
    ):
        assert redact_secrets(text) == text


def test_the_openai_base_url_variable_names_a_custom_server(
    server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The openai client reads OPENAI_BASE_URL itself: memkit must see it too, and keep the key home."""
    from memkit import choose_backend
    from memkit.prompts import answer_request

    monkeypatch.setenv("OPENAI_API_KEY", ENV_SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    for backend in (OpenAIBackend("m", max_retries=0), choose_backend()):
        assert isinstance(backend, OpenAIBackend)
        assert server.base_url in backend.describe() and "at OpenAI" not in backend.describe()
        assert server.base_url in repr(backend)
        backend.complete(answer_request("hi", [], []))
    chats = [r for r in server.requests if r.path.endswith("/chat/completions")]  # choose_backend() asks /models too
    assert len(chats) == 2
    assert all(ENV_SECRET not in json.dumps(r.headers) for r in server.requests)
    OpenAIBackend("m", use_env_key=True, max_retries=0).complete(answer_request("hi", [], []))
    assert server.requests[-1].headers["authorization"] == f"Bearer {ENV_SECRET}"


def test_credentials_in_a_base_url_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    password = "FAKEpass0123456789"
    url = f"http://student:{password}@127.0.0.1:9/v1"
    backend = OpenAIBackend("m", base_url=url, timeout=2, max_retries=0)
    with pytest.raises(BackendError) as failure:
        MemoryManager(MemoryDB(), backend).update("hello", "hi")
    for text in (repr(backend), backend.describe(), exception_text(failure.value)):
        assert password not in text and "student:" not in text
        assert "127.0.0.1:9/v1" in text or text is exception_text(failure.value)


def _fake_model(key: str) -> str:
    """An echoing model: every field it writes holds the key."""
    return json.dumps(
        {
            "cells": [
                {"scene": f"keys {key}", "cell_type": "fact", "salience": 0.9, "content": f"The key is {key}.",
                 "action": "add", "reason": f"because {key}"},
                {"scene": "drinks", "cell_type": "fact", "salience": 0.5, "content": "User likes tea.",
                 "action": "add", "target": 1, "relation": "same-subject", "reason": f"linked by {key}"},
            ]
        }
    )  # fmt: skip


@pytest.mark.parametrize("kind", sorted(FAKE_KEYS))
def test_no_text_column_ever_holds_a_key(tmp_path: Path, kind: str) -> None:
    """Scene names, reasons, source ids, errors, summaries: every way in, from the model, the user or a file."""
    from memkit import NewCell, ScriptedBackend
    from memkit.links import link

    key = FAKE_KEYS[kind]
    db = MemoryDB(tmp_path / "memory.db")
    model = ScriptedBackend()
    manager = MemoryManager(db, model)
    db.add_cell(scene="drinks", cell_type="fact", salience=0.5, content="User likes coffee.")
    model.enqueue(_fake_model(key), json.dumps({"summaries": [{"scene": "drinks", "summary": f"Tea, {key}."}]}))
    manager.update(f"I like tea, my key is {key}", "ok", source_id=f"msg {key}")
    model.enqueue(BackendError(f"server says no to {key}"))
    with pytest.raises(BackendError):
        manager.update("again", "ok")
    cell = db.add_cell(scene=key, cell_type="fact", salience=0.5, content="c", source_id=key, context=key)
    other = db.add_cells([NewCell(key, "fact", 0.5, "d", key, None, key)])[0]
    link(db, cell, other, "cause", reason=key)
    db.upsert_scene(f"notes {key}", f"Summary {key}")
    export_jsonl(db, tmp_path / "export.jsonl")
    imported = db.for_namespace("imported")
    records = [
        {
            "kind": "cell",
            "ref": 1,
            "scene": key,
            "cell_type": "fact",
            "salience": 0.5,
            "content": "e",
            "source_id": key,
        },
        {"kind": "cell", "ref": 2, "scene": "s", "cell_type": "fact", "salience": 0.5, "content": "f", "context": key},
        {"kind": "link", "source": 1, "target": 2, "link": "cause", "reason": key},
        {"kind": "scene", "scene": key, "summary": key},
    ]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(record) for record in records))
    import_jsonl(imported, tmp_path / "in.jsonl")
    texts = [p.read_bytes().decode("utf-8", "replace") for p in tmp_path.iterdir() if p.name != "in.jsonl"]
    texts.append("\n".join(db._shared.conn.iterdump()))
    db.close()
    longest = max(re.findall(r"[A-Za-z0-9]+", key), key=len).lower()
    assert [text for text in texts if longest in text.lower()] == []
