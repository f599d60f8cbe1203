"""DataFrame views, the command line, JSON Lines export/import, backend choice."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import memkit
from memkit import MemkitError, MemoryDB, MemoryManager, OfflineEngine, OpenAIBackend, WorkerAgent, choose_backend
from memkit.cli import main
from memkit.views import calls_df, cells_df, recall_df, scenes_df, search_df


def test_views_show_whole_tables(db: MemoryDB) -> None:
    a = db.add_cell(scene="kitchen", cell_type="fact", salience=0.6, content="Budget is 15,000 euros.")
    db.upsert_scene("kitchen", "Budget is 15,000 euros.")
    db.for_namespace("other").add_cell(scene="x", cell_type="fact", salience=0.5, content="Not mine.")
    cells = cells_df(db)
    expected = pd.DataFrame(
        [
            {
                "id": a,
                "scene": "kitchen",
                "cell_type": "fact",
                "salience": 0.6,
                "content": "Budget is 15,000 euros.",
                "source_id": None,
                "occurred_at": None,
                "created_at": "2026-01-05T09:00:00+00:00",
            }
        ]
    )
    pd.testing.assert_frame_equal(cells, expected)
    pd.testing.assert_frame_equal(
        scenes_df(db),
        pd.DataFrame(
            [
                {
                    "scene": "kitchen",
                    "summary": "Budget is 15,000 euros.",
                    "current_count": 1,
                    "cell_count": 1,
                    "updated_at": "2026-01-05T09:00:00+00:00",
                }
            ]
        ),
    )
    hits = search_df(db, "budget")
    assert list(hits.columns) == ["id", "score", "matched", "scene", "cell_type", "salience", "content", "source_id"]
    assert hits["id"].tolist() == [a]


def test_recall_and_calls_views(db: MemoryDB) -> None:
    agent = WorkerAgent(db, MemoryManager(db))
    assert recall_df(agent.last_recall).empty
    agent.answer("We bought a blue sofa for the flat.")
    agent.answer("Which sofa did we buy?")
    assert recall_df(agent.last_recall)["content"].tolist()[0] == "User bought a blue sofa for the flat."
    calls = calls_df(agent.calls)
    assert calls["task"].tolist() == ["answer", "extract", "consolidate", "answer", "extract"]
    assert (calls["prompt_tokens"] > 0).all()


def test_demo_prints_scenes_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "backend: offline engine" in out
    assert "- projects (2 cells): User is building an agent that remembers projects long term." in out
    assert "[projects] fact       0.50  The agent should organize conversations into topics automatically." in out


def test_chat_session_persists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "chat.db"
    lines = iter(["I keep my bike in the basement.", "/cells", "/search bike", "/quit"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(lines))
    assert main(["chat", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert "agent> Noted: User keeps User's bike in the basement." in out
    assert "User keeps User's bike in the basement." in out
    with MemoryDB(path) as db:
        assert db.count_cells() == 1


def test_export_then_import_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "a.db"
    with MemoryDB(source) as db:
        MemoryManager(db).update("We planted three apple trees in March.", "Lovely.")
        db.for_namespace("bob").add_cell(scene="x", cell_type="fact", salience=0.5, content="Bob's secret.")
        before = [(c.scene, c.cell_type, c.salience, c.content, c.context) for c in db.list_cells()]
        summaries = [(s.scene, s.summary) for s in db.list_scenes()]
    export = tmp_path / "memory.jsonl"
    assert main(["export", "--db", str(source), str(export)]) == 0
    assert "Bob's secret" not in export.read_text()
    target = tmp_path / "b.db"
    assert main(["import", "--db", str(target), str(export)]) == 0
    with MemoryDB(target) as db:
        assert [(c.scene, c.cell_type, c.salience, c.content, c.context) for c in db.list_cells()] == before
        assert before[0][4] == "We planted three apple trees in March. Lovely."
        assert [(s.scene, s.summary) for s in db.list_scenes()] == summaries


def test_export_carries_history_state_and_links(tmp_path: Path, db: MemoryDB) -> None:
    from memkit.history import undo
    from memkit.lifecycle import archive, reinforce, supersede
    from memkit.links import link, list_links

    lisbon = db.add_cell(scene="home", cell_type="fact", salience=0.5, content="Ana lives in Lisbon.")
    berlin = db.add_cell(scene="home", cell_type="fact", salience=0.6, content="Ana moved to Berlin.")
    cat = db.add_cell(scene="home", cell_type="fact", salience=0.4, content="Ana has a cat.")
    supersede(db, lisbon, berlin, reason="moved", action="update")
    reinforce(db, berlin)
    archive(db, [cat])
    link(db, cat, berlin, "same-subject")
    memkit.export_jsonl(db, tmp_path / "memory.jsonl")
    copy = db.for_namespace("copy")
    assert memkit.import_jsonl(copy, tmp_path / "memory.jsonl") == 3

    def shape(memory: MemoryDB) -> list[tuple[object, ...]]:
        cells = memory.list_cells(include_history=True)
        return [(c.content, c.status, c.seen_count, c.last_seen_at, c.valid_until, c.archived_at) for c in cells]

    def links(memory: MemoryDB) -> list[tuple[str, str, str, str]]:
        content = {c.id: c.content for c in memory.list_cells(include_history=True)}
        return [(content[x.source], x.kind, content[x.target], x.reason) for x in list_links(memory)]

    assert shape(copy) == shape(db)
    assert (
        links(copy)
        == links(db)
        == [
            ("Ana moved to Berlin.", "replaces", "Ana lives in Lisbon.", "moved"),
            ("Ana has a cat.", "same-subject", "Ana moved to Berlin.", ""),
        ]
    )
    assert [c.content for c in copy.list_cells()] == ["Ana moved to Berlin."]
    undo(copy)  # the import was one change
    assert copy.list_cells(include_history=True) == [] and list_links(copy) == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"kind": "cell", "scene": "a", "cell_type": "fact", "salience": 0.5, "content": "x", "seen_count": 0}',
         "seen_count must be a whole number from 1"),
        ('{"kind": "cell", "scene": "a", "cell_type": "fact", "salience": 0.5, "content": "x", "valid_until": "soon"}',
         "valid_until must be an ISO 8601"),
        ('{"kind": "link", "source": 1, "target": 2, "link": "likes"}', "unknown link kind 'likes'"),
    ],
)  # fmt: skip
def test_import_rejects_bad_history_records(tmp_path: Path, db: MemoryDB, line: str, message: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(line + "\n")
    with pytest.raises(MemkitError, match=f"line 1 is not a memkit record: {message}"):
        memkit.import_jsonl(db, bad)
    dangling = tmp_path / "dangling.jsonl"
    dangling.write_text('{"kind": "link", "source": 1, "target": 2, "link": "cause"}\n')
    with pytest.raises(MemkitError, match=r"links cells it does not hold \(1 cause 2\)"):
        memkit.import_jsonl(db, dangling)
    assert db.count_cells(include_history=True) == 0


def test_import_of_a_bad_file_imports_nothing(tmp_path: Path, db: MemoryDB) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "cell", "scene": "a", "cell_type": "fact", "salience": 0.5, "content": "ok"}\nnot json\n')
    with pytest.raises(MemkitError, match="line 2 is not a memkit record"):
        memkit.import_jsonl(db, bad)
    assert db.count_cells() == 0


def test_cli_reports_errors_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"\x00garbage" * 500)
    assert main(["export", "--db", str(junk), str(tmp_path / "out.jsonl")]) == 1
    assert "memkit: " in capsys.readouterr().err


def test_choose_backend_order(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(choose_backend(), OfflineEngine)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    chosen = choose_backend()
    assert isinstance(chosen, OpenAIBackend) and chosen.base_url is None and chosen.model == "gpt-4o-mini"
    monkeypatch.setenv("MEMKIT_BACKEND", "offline")
    assert isinstance(choose_backend(), OfflineEngine)
    monkeypatch.delenv("MEMKIT_BACKEND")
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("MEMKIT_BASE_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.setenv("MEMKIT_MODEL", "llama3.2")
    local = choose_backend()
    assert isinstance(local, OpenAIBackend) and (local.base_url, local.model) == (
        "http://127.0.0.1:11434/v1",
        "llama3.2",
    )
    assert "llama3.2" in local.describe()
    engine = OfflineEngine()
    assert choose_backend(engine) is engine
    with pytest.raises(ValueError, match="unknown backend 'claude'"):
        choose_backend("claude")
    with pytest.raises(TypeError, match="not a backend"):
        choose_backend(42)  # type: ignore[arg-type]
