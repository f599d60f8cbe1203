"""Exercise 8, questions with evidence: the questions that make a conversation measurable.

The student writes a short conversation and questions about it, each with its answer and the ids
of the messages that hold it. The check reads each question as a benchmark would: the evidence
exists, the answer's key terms (:func:`memkit.judging.key_terms`) are in the evidence, each
evidence message holds some word of the answer, and the set asks more than one kind of thing
(:func:`memkit.evaluation.answer_kind`), a changed answer and one nothing answers included.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..datasets import DatasetError, conversation_from_dict
from ..evaluation import answer_kind, evaluate_retrieval, memkit_search
from ..judging import key_terms
from ..stopwords import STOPWORDS
from .check_tweak import course_memory
from .feedback import Checker, Feedback, run_checks

__all__ = ["questions_with_evidence"]

#: At least this many messages and questions with evidence.
MIN_MESSAGES, MIN_QUESTIONS = 8, 5
_WORD = re.compile(r"\d[\d,.:]*\d|\d|[^\W\d_]+", re.UNICODE)


def _fold(word: str) -> str:
    word = word.lower()
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def questions_with_evidence(my_conversation: Callable[[], Any]) -> Feedback:
    """Check exercise 8: ``my_conversation() -> dict`` in the course's format, questions with evidence."""

    def checks(c: Checker) -> None:
        data = c.call(my_conversation)
        try:
            conversation = conversation_from_dict(data, "my_conversation()")
        except DatasetError as error:
            c.require(False, "", str(error))
        c.require(
            len(conversation.messages) >= MIN_MESSAGES,
            f"{len(conversation.messages)} messages",
            f"{len(conversation.messages)} messages: write at least {MIN_MESSAGES}",
        )
        answered = [q for q in conversation.questions if q.evidence]
        c.require(
            len(answered) >= MIN_QUESTIONS,
            f"{len(answered)} questions with evidence",
            f"{len(answered)} questions with evidence: write at least {MIN_QUESTIONS}",
        )
        words = {m.source_id: {_fold(w) for w in _WORD.findall(m.text)} for m in conversation.messages}
        missing, idle = [], []
        for question in answered:
            terms = set(key_terms(question.answer))
            held = set().union(*(words[e] for e in question.evidence))
            if terms - held:
                missing.append(f"{question.question!r} (its answer says {sorted(terms - held)}, its evidence does not)")
            said = {_fold(w) for w in _WORD.findall(question.answer) if w.lower() not in STOPWORDS}
            idle += [f"{e} for {question.question!r}" for e in question.evidence if not said & words[e]]
        c.check(
            not missing,
            "every answer is in the messages named as its evidence",
            f"the answer is not in the evidence of {missing[0]}: name the message that says it, or write the "
            "answer in the conversation's words"
            if missing
            else "",
        )
        c.check(
            not idle,
            "every evidence message holds part of its answer",
            f"an evidence message adds nothing to its answer: {idle[0]}. Name only the messages that hold it, "
            "or recall@k measures the wrong thing"
            if idle
            else "",
        )
        kinds = {answer_kind(q) for q in (*answered, *conversation.unanswerable)}
        for kind, how in (
            ("multi-hop", "a question whose answer needs two messages"),
            ("update", 'a question whose answer changed, with kind "changed" and its earlier answer as "stale"'),
            ("absent", 'a question nothing in the conversation answers, under "unanswerable"'),
        ):
            c.check(kind in kinds, f"there is {how}", f"add {how}")
        c.check(
            all(q.stale for q in answered if q.kind in ("changed", "cancelled")),
            "each changed answer says what it was before",
            'give each changed question its earlier answer as "stale", so a reply that gives it is judged stale',
        )
        with course_memory(conversation) as db:
            report = evaluate_retrieval(answered, memkit_search(db), ks=(1, 5))
        c.info(
            f"memkit finds {report.recall['all'][5]:.1f}% of this evidence in its first five results "
            f"({report.recall['all'][1]:.1f}% first)"
        )

    return run_checks("questions with evidence", checks)
