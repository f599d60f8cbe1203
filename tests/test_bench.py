"""Smoke runs of the benchmarks at tiny sizes, so they cannot rot (the figures come from bench/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import memkit
import memkit.dense
from bench import llm_cost, retrieval_quality, speed
from bench.locomo import Turn, find_locomo, read_locomo
from memkit.datasets import Question

#: A tiny conversation in LoCoMo's format, written for these tests.
TINY_LOCOMO = [
    {
        "sample_id": "tiny-1",
        "conversation": {
            "speaker_a": "Ana",
            "speaker_b": "Ben",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [
                {"speaker": "Ana", "dia_id": "D1:1", "text": "Hi Ben! I adopted a puppy called Biscuit yesterday."},
                {"speaker": "Ben", "dia_id": "D1:2", "text": "Congrats! What breed is Biscuit?"},
                {"speaker": "Ana", "dia_id": "D1:3", "text": "A beagle. He loves chewing my running shoes."},
                {
                    "speaker": "Ben",
                    "dia_id": "D1:4",
                    "text": "I started pottery classes on Tuesday.",
                    "blip_caption": "a photo of a clay bowl",
                },
            ],
            "session_2_date_time": "10:00 am on 2 June, 2023",
            "session_2": [
                {"speaker": "Ben", "dia_id": "D2:1", "text": "Hey Ana, how is the beagle doing?"},
                {"speaker": "Ana", "dia_id": "D2:2", "text": "Biscuit finished obedience school last week!"},
                {"speaker": "Ben", "dia_id": "D2:3", "text": "My pottery teacher says my bowls are getting better."},
                {"speaker": "Ana", "dia_id": "D2:4", "text": "I am training for a half marathon in the autumn."},
            ],
        },
        "qa": [
            {"question": "When did Ana adopt Biscuit?", "answer": "7 May 2023", "evidence": ["D1:1"], "category": 2},
            {"question": "What breed is Ana's dog?", "answer": "beagle", "evidence": ["D1:3"], "category": 4},
            {
                "question": "What has Biscuit done?",
                "answer": "chewed shoes, obedience school",
                "evidence": ["D1:3; D2:2"],
                "category": 1,
            },
            {"question": "What does Ben make in pottery?", "answer": "bowls", "evidence": ["D2:3"], "category": 4},
            {"question": "What is Ben's cat called?", "adversarial_answer": "Tom", "evidence": [], "category": 5},
        ],
    }
]


@pytest.fixture
def locomo_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny_locomo.json"
    path.write_text(json.dumps(TINY_LOCOMO), encoding="utf-8")
    return path


def test_read_locomo_turns_dates_captions_and_evidence(locomo_file: Path) -> None:
    [conversation] = read_locomo(locomo_file)
    assert conversation.name == "tiny-1"
    assert conversation.turns[3] == Turn(
        "D1:4",
        "Ben",
        "I started pottery classes on Tuesday.",
        1,
        "2023-05-08T13:56",
        "a photo of a clay bowl",
        "1:56 pm on 8 May, 2023",
    )
    assert conversation.turns[3].unit() == (
        "[1:56 pm on 8 May, 2023] Ben: I started pottery classes on Tuesday. [shared a photo of a clay bowl]"
    )
    assert conversation.turns[3].message(captions=False) == "I started pottery classes on Tuesday."
    assert conversation.questions[2] == Question(
        "What has Biscuit done?", "chewed shoes, obedience school", ("D1:3", "D2:2"), "1"
    )
    assert [q.kind for q in conversation.questions] == ["2", "4", "1", "4"]  # category 5 is left out


def test_read_locomo_refuses_other_json(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"messages": []}', encoding="utf-8")
    with pytest.raises(ValueError, match="not a LoCoMo file"):
        read_locomo(path)
    with pytest.raises(SystemExit, match="--locomo PATH"):
        find_locomo(str(tmp_path / "missing.json"))


def test_retrieval_benchmark_smoke(locomo_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    [conversation] = read_locomo(locomo_file)
    results = retrieval_quality.measure([conversation], list(retrieval_quality.SYSTEMS), ks=(1, 5))
    dense_systems = ["dense-turns", "hybrid-turns"] if memkit.dense.available() else []
    assert list(results) == ["tutorial", "fts5-bm25", "bm25okapi", "memkit-turns", "memkit-ingest", *dense_systems]
    for report, timing in results.values():
        assert report.questions == {"1": 1, "2": 1, "4": 2, "all": 4}
        assert set(timing) == {"build_s", "messages_per_s", "p50_ms", "p95_ms"}
        assert timing["messages_per_s"] * timing["build_s"] == pytest.approx(8)  # the file's 8 turns
    assert results["memkit-turns"][0].recall["all"] == {1: 25.0, 5: 100.0}
    assert results["memkit-ingest"][0].hit["all"][5] == 100.0
    plot = locomo_file.parent / "recall.png"
    assert retrieval_quality.main(["--locomo", str(locomo_file), "--systems", "memkit-turns", "--plot", str(plot)]) == 0
    printed = capsys.readouterr().out
    assert "tiny_locomo.json: 1 conversations, 8 turns, 4 questions" in printed
    assert "| memkit-turns | 25.0 | 100.0 | 100.0 | 100.0 |" in printed
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_the_two_halves_split_the_conversations_alternately_and_share_none() -> None:
    conversations = [f"c{i}" for i in range(5)]
    tune, report = (retrieval_quality.half(conversations, which) for which in retrieval_quality.HALVES)  # type: ignore[arg-type]
    assert tune == ["c0", "c2", "c4"] and report == ["c1", "c3"]
    assert retrieval_quality.half(conversations, None) == conversations  # type: ignore[arg-type]


def test_retrieval_benchmark_rejects_unknown_systems_and_knobs(locomo_file: Path) -> None:
    with pytest.raises(SystemExit):
        retrieval_quality.main(["--locomo", str(locomo_file), "--systems", "grep"])
    with pytest.raises(SystemExit):
        retrieval_quality.main(["--locomo", str(locomo_file), "--ranking", "no_such_knob=1"])


def test_speed_benchmark_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    figures = speed.measure_size(200, tmp_path, single=20, queries=10, rounds=2)
    assert set(figures) == {
        "cells",
        "bare_rate",
        "bare_share",
        "raw_rate",
        "batch_rate",
        "batch_share",
        "single_rate",
        "p50_ms",
        "p95_ms",
        "bytes_per_cell",
    }
    assert figures["cells"] == 200
    assert speed.synthetic_cells(3) == speed.synthetic_cells(3)  # the same cells every run
    assert (
        speed.main(
            ["--sizes", "50,100", "--single", "5", "--queries", "5", "--rounds", "1", "--plot", str(tmp_path / "l.png"),
             "--isolation", "300"]
        )
        == 0
    )  # fmt: skip
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert [line.split(" | ")[0] for line in table] == [
        "| cells",
        "| 50",
        "| 100",
        "| search in",
        "| a 200-cell namespace alone in its file",
        "| the same namespace beside a 300-cell one",
        "| the 300-cell namespace beside it",
    ]
    with pytest.raises(SystemExit):
        speed.main(["--sizes", "many"])


def test_cost_benchmark_smoke(locomo_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source, texts = llm_cost.messages(10, str(locomo_file))
    assert source == "tiny_locomo.json, conversation tiny-1, repeated to 10 turns"
    assert texts[8] == texts[0] == "Hi Ben! I adopted a puppy called Biscuit yesterday."
    memkit_turns = llm_cost.run_memkit(texts)
    tutorial_turns = llm_cost.run_tutorial(texts)
    assert [t.turn for t in memkit_turns] == list(range(1, 11))
    assert max(t.calls for t in memkit_turns) <= 3
    assert memkit_turns[0].by_task == {"answer": 1, "extract": 1, "consolidate": 1}
    assert tutorial_turns[0].by_task == {"answer": 1, "extract": 1, "consolidate": 1}
    assert llm_cost.main(["--turns", "4", "--locomo", str(locomo_file)]) == 0
    assert "| memkit: calls | 3 |" in capsys.readouterr().out


def test_scale_benchmark_smoke(pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench import scale

    plots = tmp_path / "plots"
    argv = ["--sizes", "1000,1200", "--namespaces", "5", "--clients", "2", "--seconds", "1", "--rate", "50"]
    argv += ["--postgres", pg_url]
    assert scale.main([*argv, "--plot-dir", str(plots)]) == 0
    table = [line.split(" | ") for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    header, rows = table[-5], table[-4:]
    assert [row[:2] for row in rows] == [
        ["| sqlite", "1,000"],
        ["| sqlite", "1,200"],
        ["| postgres", "1,000"],
        ["| postgres", "1,200"],
    ]
    figures = [dict(zip(header, row, strict=True)) for row in rows]
    assert all(float(f["searches/s"].replace(",", "")) > 0 and f["errors |"] == "0 |" for f in figures)
    assert all(0 < float(f["probe alone p50 / p95 ms"].split(" / ")[0]) < 1000 for f in figures)
    assert [path.name for path in sorted(plots.iterdir())] == [
        "scale_search_p95_paced_50.png",
        "scale_writes_paced_50.png",
    ]
    assert scale.namespaces(3) == ["probe", "ns-0000", "ns-0001"]
    with pytest.raises(SystemExit):
        scale.main(["--sizes", "5000,2000"])
