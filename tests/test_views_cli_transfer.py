"""DataFrame views, the command line, JSON Lines export/import, backend choice."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import memkit
from memkit import MemkitError, MemoryDB, MemoryManager, OfflineEngine, OpenAIBackend, WorkerAgent, choose_backend
from memkit.cli import main
from memkit.views import calls_df, cells_df, reading_df, recall_df, scenes_df, search_df


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
    agent = WorkerAgent(MemoryManager(db))
    assert recall_df(agent.last_recall).empty
    agent.answer("We bought a blue sofa for the flat.")
    agent.answer("Which sofa did we buy?")
    assert recall_df(agent.last_recall)["content"].tolist()[0] == "User bought a blue sofa for the flat."
    calls = calls_df(agent.calls)
    assert calls["task"].tolist() == ["answer", "extract", "consolidate", "answer", "extract"]
    assert (calls["prompt_tokens"] > 0).all()


def test_the_reading_view_has_a_row_per_statement_and_per_sentence_left_out() -> None:
    frame = reading_df(OfflineEngine().read("The kiln at the studio fires on Fridays. Haha ok cool."))
    assert list(frame["statement"]) == ["The kiln at the studio fires on Fridays.", ""]
    assert frame["notes"].iloc[1].startswith("left out:") and "kiln" in frame["about"].iloc[0]


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
    assert memkit.import_jsonl(copy, tmp_path / "memory.jsonl") == memkit.ImportResult(added=3, skipped=0)

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


def test_importing_the_same_file_twice_adds_nothing_the_second_time(
    tmp_path: Path, db: MemoryDB, capsys: pytest.CaptureFixture[str]
) -> None:
    from memkit.links import link, list_links

    tea = db.add_cell(scene="drinks", cell_type="preference", salience=0.5, content="Ana likes tea.")
    db.add_cell(scene="drinks", cell_type="preference", salience=0.5, content="Ana likes tea.")  # said twice: two cells
    cake = db.add_cell(scene="food", cell_type="fact", salience=0.5, content="Ana bakes cake.", source_id="m1")
    link(db, cake, tea, "same-subject")
    db.upsert_scene("drinks", "Ana likes tea.")
    path = tmp_path / "memory.jsonl"
    memkit.export_jsonl(db, path)
    copy = db.for_namespace("copy")
    assert memkit.import_jsonl(copy, path) == memkit.ImportResult(added=3, skipped=0)
    before = copy.list_cells(include_history=True), copy.list_scenes(include_history=True), list_links(copy)
    assert memkit.import_jsonl(copy, path) == memkit.ImportResult(added=0, skipped=3)
    assert (copy.list_cells(include_history=True), copy.list_scenes(include_history=True), list_links(copy)) == before
    assert [h.content for h in copy.search("tea")] == ["Ana likes tea.", "Ana likes tea."]
    file_db = tmp_path / "memory.db"
    for _ in range(2):
        assert main(["import", "--db", str(file_db), str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(" into ")[0] for line in out] == ["imported 3 cells", "imported 0 cells (3 already there)"]
    with MemoryDB(file_db) as imported:
        assert imported.count_cells() == 3


def test_export_from_a_missing_file_fails_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "memroy.db"
    assert main(["export", "--db", str(typo), str(tmp_path / "out.jsonl")]) == 1
    assert "no memkit database at" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_export_only_reads_the_database(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    with MemoryDB(path) as db:
        db.add_cell(scene="s", cell_type="fact", salience=0.5, content="kept")
        db._shared.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = path.read_bytes()
    with MemoryDB(path, read_only=True) as db:
        assert db.read_only
        assert memkit.export_jsonl(db, tmp_path / "out.jsonl") == 5  # header, cell, scene, two events
        with pytest.raises(memkit.DatabaseError, match="read-only"):
            db.add_cell(scene="s", cell_type="fact", salience=0.5, content="new")
    assert path.read_bytes() == before
    with pytest.raises(memkit.DatabaseError, match="no memkit database at"):
        MemoryDB(tmp_path / "missing.db", read_only=True)
    assert not (tmp_path / "missing.db").exists()


def test_imported_text_is_capped_as_model_output_is(tmp_path: Path, db: MemoryDB) -> None:
    from memkit.links import list_links

    path = tmp_path / "big.jsonl"
    words = "word " * 2_000_000  # 10 MB
    records = [
        {"kind": "cell", "ref": 1, "scene": "s", "cell_type": "fact", "salience": 0.5, "content": words},
        {
            "kind": "cell",
            "ref": 2,
            "scene": "s",
            "cell_type": "fact",
            "salience": 0.5,
            "content": "b",
            "context": words,
        },
        {"kind": "link", "source": 1, "target": 2, "link": "cause", "reason": words},
        {"kind": "scene", "scene": "s", "summary": words},
    ]
    path.write_text("\n".join(json.dumps(r) for r in records))
    memkit.import_jsonl(db, path)
    first, second = db.list_cells()
    assert first.content.startswith("word word") and first.content.endswith("…") and len(first.content) <= 2000
    assert second.context is not None and len(second.context) <= 2000
    assert len(list_links(db)[0].reason) <= 300
    assert len(db.get_scene("s").summary) <= 4000  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "record",
    [
        '{"kind": "cell", "scene": "a", "cell_type": "fact", "salience": 1' + "0" * 400 + ', "content": "x"}',
        '{"kind": "cell", "scene": "a", "cell_type": "fact", "salience": 0.5, "content": 42}',
        '{"kind": "cell", "scene": ["a"], "cell_type": "fact", "salience": 0.5, "content": "x"}',
        '{"kind": "cell", "scene": "a", "cell_type": "gossip", "salience": 0.5, "content": "x"}',
        '{"kind": "cell", "scene": "a", "cell_type": "fact", "salience": 0.5, "content": "x", "seen_count": 1'
        + "0" * 30
        + "}",
        '{"kind": "scene", "scene": "a", "summary": 7}',
        '{"kind": "link", "source": 1, "target": 2, "link": "cause", "reason": ["r"]}',
        '{"kind": "cell", "content": ' + "[" * 50_000 + "]" * 50_000 + "}",
        '["kind", "cell"]',
    ],
    ids=["huge salience", "number content", "list scene", "unknown type", "huge count", "number summary",
         "list reason", "deep nesting", "not an object"],
)  # fmt: skip
def test_a_bad_record_is_a_memkit_error_naming_its_line(tmp_path: Path, db: MemoryDB, record: str) -> None:
    path = tmp_path / "bad.jsonl"
    good = '{"kind": "cell", "ref": 1, "scene": "a", "cell_type": "fact", "salience": 0.5, "content": "fine"}'
    path.write_text(f"{good}\n{good.replace('1', '2')}\n{record}\n")
    with pytest.raises(MemkitError, match="line 3 is not a memkit record"):
        memkit.import_jsonl(db, path)
    assert db.count_cells(include_history=True) == 0


@pytest.mark.parametrize("root", [False, True])
def test_the_demo_ends_with_the_readmes_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, root: bool
) -> None:
    import os
    import re

    monkeypatch.setattr(os, "geteuid", lambda: 0 if root else 1000)
    assert main(["demo"]) == 0
    (command,) = re.findall(r"`(jupyter lab[^`]*)`", capsys.readouterr().out)
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert command in readme
    assert ("--allow-root" in command) is root
