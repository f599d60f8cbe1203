"""recall@k and hit@k over questions with evidence, and the course's measurement of two searches."""

from __future__ import annotations

import pytest

from memkit import MemoryDB, MemoryManager
from memkit.baseline import unranked_sources
from memkit.datasets import Question, load_course_conversation
from memkit.evaluation import distinct_sources, evaluate_retrieval, hit_at_k, memkit_search, recall_at_k
from memkit.types import Hit


def test_recall_and_hit_at_k() -> None:
    assert recall_at_k(["m1", "m2", "m3"], {"m2", "m9"}, 1) == 0.0
    assert recall_at_k(["m1", "m2", "m3"], {"m2", "m9"}, 2) == 0.5
    assert hit_at_k(["m1", "m2"], ["m2"], 1) == 0.0
    assert hit_at_k(["m1", "m2"], ["m2"], 2) == 1.0
    with pytest.raises(ValueError, match="recall is undefined"):
        recall_at_k(["m1"], [], 1)
    with pytest.raises(ValueError, match="k must be a positive integer, got 0"):
        hit_at_k(["m1"], ["m1"], 0)


def test_report_averages_per_kind_and_overall() -> None:
    questions = [
        Question("Where?", "Lisbon.", ("m1",), "fact"),
        Question("When?", "May.", ("m2", "m3"), "fact"),
        Question("Still on?", "No.", ("m4",), "cancelled"),
    ]
    found = {"Where?": ["m1", "m7"], "When?": ["m7", "m3"], "Still on?": []}
    report = evaluate_retrieval(questions, lambda query, k: found[query][:k], ks=(2, 1))
    assert report.rows() == [
        {"category": "cancelled", "questions": 1, "recall@1": 0.0, "recall@2": 0.0, "hit@1": 0.0, "hit@2": 0.0},
        {"category": "fact", "questions": 2, "recall@1": 50.0, "recall@2": 75.0, "hit@1": 50.0, "hit@2": 100.0},
        {"category": "all", "questions": 3, "recall@1": 33.3, "recall@2": 50.0, "hit@1": 33.3, "hit@2": 66.7},
    ]
    with pytest.raises(ValueError, match="at least one cut-off"):
        evaluate_retrieval(questions, lambda query, k: [], ks=())


def test_distinct_sources_counts_each_message_once_and_skips_fallbacks() -> None:
    def hit(source: str | None, matched: bool = True) -> Hit:
        return Hit(1, "s", "fact", 0.5, "text", source, None, 1.0, matched)

    hits = [hit("m1"), hit("m1"), hit(None), hit("m2", matched=False), hit("m3"), hit("m4")]
    assert distinct_sources(hits, 2) == ["m1", "m3"]


def test_memkit_search_beats_the_unranked_query_on_the_course_conversation() -> None:
    course = load_course_conversation()
    db = MemoryDB()
    MemoryManager(db, "offline").ingest(course.messages, progress=False)
    tutorial = evaluate_retrieval(course.questions, unranked_sources(db), ks=(5,))
    memkit = evaluate_retrieval(course.questions, memkit_search(db), ks=(5,))
    assert memkit.recall["all"][5] >= tutorial.recall["all"][5] + 40
    assert unranked_sources(db)("the cabinets AND", 3) == []  # an FTS5 keyword breaks the unranked query
    (found,) = memkit_search(db)("the cabinets AND", 1)  # memkit reads it as words
    assert "cabinets" in course.message(found).text
    with pytest.raises(ValueError, match="overfetch must be at least 1"):
        unranked_sources(db, overfetch=0)
