"""Evaluation: recall@k and hit@k, reports per category, memkit as a search function, cost per turn."""

from __future__ import annotations

import pytest

import memkit
from memkit.datasets import Question
from memkit.evaluation import (
    ANSWER_KINDS,
    CostMeter,
    QuestionRecall,
    TurnCost,
    answer_kind,
    compare_retrieval,
    distinct_sources,
    evaluate_answers,
    evaluate_retrieval,
    hit_at_k,
    linear_slope,
    memkit_search,
    recall_at_k,
    score_retrieval,
    split_questions,
)


def test_recall_and_hit_at_k() -> None:
    found = ["a", "b", "c", "d"]
    assert [recall_at_k(found, {"b", "d"}, k) for k in (1, 2, 3, 4, 10)] == [0.0, 0.5, 0.5, 1.0, 1.0]
    assert [hit_at_k(found, {"b", "d"}, k) for k in (1, 2, 4)] == [0.0, 1.0, 1.0]
    assert hit_at_k([], {"a"}, 5) == 0.0


@pytest.mark.parametrize("k", [0, -1, True, 2.0])
def test_k_must_be_a_positive_integer(k: object) -> None:
    with pytest.raises(ValueError, match="k must be a positive integer"):
        recall_at_k(["a"], {"a"}, k)  # type: ignore[arg-type]


def test_recall_is_undefined_without_evidence() -> None:
    with pytest.raises(ValueError, match="no evidence"):
        recall_at_k(["a"], set(), 1)


def test_report_per_kind_and_overall() -> None:
    questions = [
        Question("q1", "", ("a",), "fact"),
        Question("q2", "", ("b", "c"), "fact"),
        Question("q3", "", ("d",), "changed"),
        Question("q4", "", (), "fact"),  # no evidence: skipped
    ]
    answers = {"q1": ["a", "x"], "q2": ["x", "b"], "q3": ["x", "y"], "q4": ["z"]}
    report = evaluate_retrieval(questions, lambda query, k: answers[query][:k], ks=(2, 1))
    assert report.ks == (1, 2)
    assert report.questions == {"fact": 2, "changed": 1, "all": 3}
    assert report.recall == {"fact": {1: 50.0, 2: 75.0}, "changed": {1: 0.0, 2: 0.0}, "all": {1: 100 / 3, 2: 50.0}}
    assert report.hit["all"] == {1: 100 / 3, 2: 200 / 3}
    assert report.rows()[0] == {
        "category": "changed",
        "questions": 1,
        "recall@1": 0.0,
        "recall@2": 0.0,
        "hit@1": 0.0,
        "hit@2": 0.0,
    }
    assert [row["category"] for row in report.rows()] == ["changed", "fact", "all"]


def test_compare_retrieval_says_which_questions_a_change_gained_and_lost() -> None:
    questions = [
        Question("q1", "", ("a",)),
        Question("q2", "", ("b", "c")),
        Question("q3", "", ("d",)),
        Question("q4", "", ()),  # no evidence: skipped
    ]
    before = {"q1": ["a", "x", "y"], "q2": ["x", "b", "c"], "q3": ["x", "y", "z"], "q4": ["z"]}
    after = {"q1": ["x", "a", "y"], "q2": ["b", "c", "x"], "q3": ["x", "y", "z"], "q4": []}
    asked: list[tuple[str, int]] = []

    def baseline(query: str, k: int) -> list[str]:
        asked.append((query, k))
        return before[query][:k]

    compared = compare_retrieval(questions, baseline, lambda query, k: after[query][:k], ks=(3, 1, 2))
    assert asked == [("q1", 3), ("q2", 3), ("q3", 3)]  # each question searched once, at the deepest cut-off
    assert compared == [
        QuestionRecall(questions[0], {1: 1.0, 2: 1.0, 3: 1.0}, {1: 0.0, 2: 1.0, 3: 1.0}),
        QuestionRecall(questions[1], {1: 0.0, 2: 0.5, 3: 1.0}, {1: 0.5, 2: 1.0, 3: 1.0}),
        QuestionRecall(questions[2], {1: 0.0, 2: 0.0, 3: 0.0}, {1: 0.0, 2: 0.0, 3: 0.0}),
    ]
    assert [(c.lost, c.gained) for c in compared] == [([1], []), ([], [1, 2]), ([], [])]
    with pytest.raises(ValueError, match="at least one cut-off"):
        compare_retrieval(questions, baseline, baseline, ks=())


def test_scoring_needs_questions_with_evidence_and_cutoffs() -> None:
    with pytest.raises(ValueError, match="no question has evidence"):
        score_retrieval([(Question("q", "", ()), ["a"])])
    with pytest.raises(ValueError, match="at least one cut-off"):
        score_retrieval([(Question("q", "", ("a",)), ["a"])], ks=())


def test_memkit_search_maps_cells_back_to_distinct_sources(db: memkit.MemoryDB) -> None:
    db.add_cells(
        [
            memkit.NewCell("pets", "fact", 0.5, "Ana adopted a beagle.", source_id="m1"),
            memkit.NewCell("pets", "fact", 0.5, "The beagle is called Biscuit.", source_id="m1"),
            memkit.NewCell("pets", "fact", 0.5, "Biscuit the beagle loves shoes.", source_id="m2"),
            memkit.NewCell("pets", "fact", 0.5, "A beagle without a source."),
        ]
    )
    search = memkit_search(db)
    assert sorted(search("beagle", 5)) == ["m1", "m2"]
    assert len(search("beagle", 1)) == 1
    assert distinct_sources(db.search("nothing matches this"), 5) == []  # the salience fallback is not a match
    with pytest.raises(ValueError, match="overfetch"):
        memkit_search(db, overfetch=0)


def test_cost_meter_splits_the_call_log_into_turns(db: memkit.MemoryDB) -> None:
    manager = memkit.MemoryManager(db, "offline")
    agent = memkit.WorkerAgent(manager)
    meter = CostMeter(manager.calls)
    with meter.turn():
        agent.answer("I prefer oak cabinets over white lacquer.")
    with meter.turn():
        pass
    first, empty = meter.turns
    calls = manager.calls.calls
    assert first == TurnCost(
        turn=1,
        calls=3,
        prompt_tokens=sum(c.prompt_tokens for c in calls),
        response_tokens=sum(c.response_tokens for c in calls),
        by_task={"answer": 1, "extract": 1, "consolidate": 1},
        prompt_tokens_by_task={call.task: call.prompt_tokens for call in calls},
    )
    assert empty == TurnCost(turn=2, calls=0, prompt_tokens=0, response_tokens=0, by_task={}, prompt_tokens_by_task={})
    with pytest.raises(TypeError, match="CallLog"):
        CostMeter([])  # type: ignore[arg-type]


def test_linear_slope() -> None:
    assert linear_slope([1, 2, 3, 4], [10, 12, 14, 16]) == 2.0
    assert linear_slope([1, 2, 3], [5, 5, 5]) == 0.0
    with pytest.raises(ValueError, match="equal length"):
        linear_slope([1], [1])
    with pytest.raises(ValueError, match="undefined"):
        linear_slope([2, 2], [1, 3])


def test_answer_kinds_follow_the_first_rule_that_applies() -> None:
    questions = [
        Question("Who is the dentist?", "-", ()),
        Question("When does Maya run again?", "In May.", ("m5", "m9"), "changed"),
        Question("When is the kitchen torn out?", "March 18.", ("m1", "m2")),
        Question("On which dates do they fly?", "May 10 and 15.", ("m3",)),
        Question("Where are they travelling?", "Lisbon.", ("m1", "m3")),
        Question("What is the budget?", "12,000 euros.", ("m1",)),
    ]
    assert [answer_kind(q) for q in questions] == ["absent", "update", "temporal", "temporal", "multi-hop", "single"]
    assert set(map(answer_kind, questions)) == set(ANSWER_KINDS)


def test_evaluate_answers_counts_verdicts_per_answer_kind() -> None:
    questions = [
        Question("What is the budget?", "12,000 euros.", ("m1",)),
        Question("Which finish?", "Oak.", ("m2",), "changed", stale="White lacquer."),
        Question("Who is the dentist?", "-", ()),
    ]
    replies = {"What is the budget?": "12,000 euros", "Which finish?": "white lacquer", "Who is the dentist?": "Lena"}
    counts = evaluate_answers(questions, replies.__getitem__).counts()
    assert {kind: {v: n for v, n in row.items() if n} for kind, row in counts.items()} == {
        "single": {"right": 1},
        "update": {"stale": 1},
        "absent": {"wrong": 1},
        "all": {"right": 1, "stale": 1, "wrong": 1},
    }


def test_split_questions_shares_each_kind_and_keeps_the_order() -> None:
    questions = [Question(f"Q{i}?", "A.", (f"m{i}",)) for i in range(5)]
    questions += [Question(f"When {i}?", "A.", (f"m{i}",)) for i in range(3)]
    questions += [Question("Who is the dentist?", "-", ())]
    tune, held_back = split_questions(questions, seed=3)
    assert sorted(map(id, tune + held_back)) == sorted(map(id, questions))
    assert [answer_kind(q) for q in tune].count("single") == 2 and [answer_kind(q) for q in held_back].count(
        "single"
    ) == 3
    assert [answer_kind(q) for q in tune].count("temporal") == 1 and [answer_kind(q) for q in held_back].count(
        "absent"
    ) == 1
    assert tune == sorted(tune, key=questions.index) and held_back == sorted(held_back, key=questions.index)
    assert split_questions(questions, seed=3) == (tune, held_back)
    assert split_questions(questions, seed=4) != (tune, held_back)
