"""Judging answers against known answers, by the key terms of the answer's first clause."""

from __future__ import annotations

from memkit.datasets import Question
from memkit.judging import VERDICTS, judge_answer, judge_answers, judge_question, key_terms


def test_key_terms_are_the_first_clauses_content_words_and_numbers() -> None:
    assert key_terms("Walnut. He first wanted pine, then changed his mind.") == ("walnut",)
    assert key_terms("1,250 dollars, delivery included.") == ("1,250", "dollar", "delivery", "included")
    assert key_terms("At 7:30 on Fridays; the hall closes at ten.") == ("7:30", "friday")


def test_a_reply_is_right_partly_wrong_or_dont_know() -> None:
    answer = "1,250 dollars, delivery included."
    assert judge_answer("From memory: The sofa cost 1,250 dollars.", answer)[0] == "right"
    assert judge_answer("From memory: The sofa cost 1,400 dollars, delivery included.", answer)[0] == "partly"
    assert judge_answer("From memory: The sofa is grey.", answer)[0] == "wrong"
    assert judge_answer("I have nothing in memory about the sofa.", answer)[0] == "don't know"


def test_yes_and_no_answers_are_judged_by_what_the_reply_says() -> None:
    answer = "No. The trip to Oslo was called off."
    assert judge_answer("From memory: Lea cancelled the Oslo trip.", answer)[0] == "right"
    assert judge_answer("From memory: The Oslo trip is in August.", answer)[0] == "wrong"
    assert judge_answer("From memory: The Oslo trip is in August.", "Yes, in August.")[0] == "right"


def test_a_report_counts_every_verdict_per_kind() -> None:
    questions = [
        Question("What sofa did Lea buy?", "A grey sofa.", ("m1",), "fact"),
        Question("Is the Oslo trip on?", "No, it was called off.", ("m2",), "cancelled"),
    ]
    replies = {"What sofa did Lea buy?": "From memory: Lea bought a grey sofa.", "Is the Oslo trip on?": "Yes."}
    report = judge_answers(questions, replies.__getitem__)
    assert [v.verdict for v in report.verdicts] == ["right", "wrong"]
    assert report.counts()["all"] == dict.fromkeys(VERDICTS, 0) | {"right": 1, "wrong": 1}
    assert report.share_right() == 50.0


def test_a_reply_with_the_earlier_answer_is_stale() -> None:
    changed = Question("Which finish?", "Oak.", ("m2",), "changed", stale="White lacquer.")
    assert judge_question(changed, "Maya prefers oak fronts now.")[0] == "right"
    assert judge_question(changed, "Maya wants white lacquer fronts.")[0] == "stale"
    assert judge_question(changed, "I have nothing in memory about finishes.")[0] == "don't know"
    plain = Question("Which finish?", "Oak.", ("m2",), "changed")
    assert judge_question(plain, "Maya wants white lacquer fronts.")[0] == "wrong"


def test_a_question_memory_cannot_answer_is_answered_right_by_saying_so() -> None:
    absent = Question("Who is the dentist?", "Nothing in the conversation says.", ())
    assert judge_question(absent, "I have nothing in memory about a dentist.") == ("right", (), ())
    assert judge_question(absent, "From memory: Maya's physiotherapist is Lena Brandt.") == ("wrong", (), ())


def test_answers_can_be_grouped_by_any_kind() -> None:
    questions = [Question("Q1?", "Oak.", ("m1",)), Question("Q2?", "Nothing.", ())]
    report = judge_answers(questions, lambda q: "oak", kind=lambda q: "absent" if not q.evidence else "single")
    assert [(v.kind, v.verdict) for v in report.verdicts] == [("single", "right"), ("absent", "wrong")]
