"""The capstone: a conversation of the student's own, questions with evidence, one change measured on a held-back half.

The student writes

- ``my_conversation()``: a conversation in the course's format (messages with ids, speakers and
  times; questions with answers and the ids of the messages that hold them);
- ``my_split(questions) -> (tune, held_back)``: two halves, to tune on the first only;
- ``my_search(db) -> search``: memkit's search with one change of their own (a ranking weight,
  a query rewrite), tuned on the first half;
- ``measure(db, questions) -> (default, changed)``: recall@k of memkit's search and of theirs;
- ``design_note()``: a page on what they changed, why, and what the held-back half says.

The check does not grade the size of the gain. It checks that the data is sound, the halves are
apart, the change was measured on the held-back half (the check measures it too), that the note
is a page and quotes figures, and it reports what the change won and lost on questions it was
not tuned on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from ..datasets import CourseConversation, DatasetError, Question, conversation_from_dict
from ..db import MemoryDB
from ..evaluation import RetrievalReport, SearchFunction, answer_kind, compare_retrieval, evaluate_retrieval
from ..evaluation import memkit_search as default_search
from .check_tweak import KS, course_memory
from .feedback import Checker, Feedback, run_checks

__all__ = ["MIN_MESSAGES", "MIN_QUESTIONS", "NOTE_WORDS", "capstone"]

#: At least this many messages, and questions with evidence.
MIN_MESSAGES = 20
MIN_QUESTIONS = 8
#: A page: at least the first number of words, at most the second.
NOTE_WORDS = (150, 700)

Split = Callable[[Sequence[Question]], object]
MySearch = Callable[[MemoryDB], SearchFunction]
Measure = Callable[[MemoryDB, Sequence[Question]], object]


def _same(a: RetrievalReport, b: RetrievalReport) -> bool:
    return a.ks == b.ks and a.recall == b.recall and a.questions == b.questions


def _data(c: Checker, data: Any) -> CourseConversation:
    try:
        conversation = conversation_from_dict(data, "my_conversation()")
    except DatasetError as error:
        c.require(False, "", f"{error}")
    c.require(
        len(conversation.messages) >= MIN_MESSAGES,
        f"your conversation has {len(conversation.messages)} messages",
        f"your conversation has {len(conversation.messages)} messages: write at least {MIN_MESSAGES}, over "
        "several days, so that memory has something to sort out",
    )
    answered = [q for q in conversation.questions if q.evidence]
    c.require(
        len(answered) >= MIN_QUESTIONS,
        f"{len(answered)} questions name the messages that answer them",
        f"{len(answered)} questions with evidence: write at least {MIN_QUESTIONS}, each with the ids of the "
        "messages that hold its answer",
    )
    kinds = sorted({answer_kind(q) for q in answered})
    c.check(
        len(kinds) >= 2,
        f"they ask more than one kind of thing: {', '.join(kinds)}",
        f"every question is {kinds[0]}: add a question whose answer needs two messages (multi-hop), a date "
        "(temporal) or a value that changed (update)",
    )
    return conversation


def _halves(c: Checker, split: object, questions: Sequence[Question]) -> tuple[list[Question], list[Question]]:
    c.require(
        isinstance(split, tuple) and len(split) == 2 and all(isinstance(half, list | tuple) for half in split),
        "my_split returns two halves",
        f"my_split returned {type(split).__name__}: return (tune, held_back), two lists of questions",
    )
    assert isinstance(split, tuple)
    tune, held_back = (list(half) for half in split)
    asked = {id(q) for q in questions}
    c.require(
        not {id(q) for q in tune} & {id(q) for q in held_back},
        "no question is in both halves",
        "some questions are in both halves: a question you tuned on says nothing about questions you did not",
    )
    c.require(
        {id(q) for q in tune} | {id(q) for q in held_back} == asked,
        "together the halves hold every question",
        "the halves do not hold every question with evidence, each once: split all of them",
    )
    c.require(
        len(held_back) >= max(4, len(questions) // 3),
        f"{len(held_back)} questions are held back",
        f"only {len(held_back)} questions are held back: keep at least a third of them (and 4) for the verdict",
    )
    return tune, held_back


def _note(c: Checker, note: object) -> None:
    text = note if isinstance(note, str) else ""
    words = len(text.split())
    low, high = NOTE_WORDS
    c.check(
        low <= words <= high,
        f"the design note is a page ({words} words)",
        f"the design note has {words} words: write {low}-{high}: what you changed, why, what the held-back "
        "half says, and what you would try next",
    )
    c.check(
        len(re.findall(r"\d+(?:\.\d+)?", text)) >= 2,
        "it quotes figures",
        "quote your figures in the note: recall@k before and after, on the held-back half",
    )


def capstone(
    my_conversation: Callable[[], Any],
    my_split: Split,
    my_search: MySearch,
    measure: Measure,
    design_note: Callable[[], object],
) -> Feedback:
    """Check the capstone (see the module's docstring)."""

    def checks(c: Checker) -> None:
        conversation = _data(c, c.call(my_conversation))
        questions = [q for q in conversation.questions if q.evidence]
        tune, held_back = _halves(c, c.call(my_split, questions), questions)
        with course_memory(conversation) as db, course_memory(conversation) as theirs:
            default = evaluate_retrieval(held_back, default_search(db), ks=KS)
            search = c.call(my_search, db)
            c.require(
                callable(search),
                "my_search(db) returns a search function",
                "return a function (query, k) -> message ids",
            )
            with c.student_code("your search"):
                changed = evaluate_retrieval(held_back, search, ks=KS)
            measured = c.call(measure, theirs, held_back)
            ok = (
                isinstance(measured, tuple)
                and len(measured) == 2
                and all(isinstance(r, RetrievalReport) for r in measured)
                and _same(measured[0], default)
                and _same(measured[1], changed)
            )
            c.check(
                ok,
                f"measured on the {len(held_back)} held-back questions, as the check measures them",
                "measure(db, held_back) should return (memkit's default, yours): evaluate_retrieval(held_back, "
                "memkit_search(db), ks=check.KS), then the same with my_search(db)",
            )
            compared = compare_retrieval(held_back, default_search(db), search, ks=KS)
        before, after = default.recall["all"], changed.recall["all"]
        c.info(
            "held back, recall@k memkit \N{RIGHTWARDS ARROW} yours: "
            + ", ".join(f"@{k} {before[k]:.1f} \N{RIGHTWARDS ARROW} {after[k]:.1f}" for k in KS)
        )
        gained = [q.question.question for q in compared if q.gained]
        lost = [q.question.question for q in compared if q.lost]
        c.info(f"won on {len(gained)} held-back question(s), lost on {len(lost)}" + (f": lost {lost}" if lost else ""))
        c.info(f"tuned on {len(tune)} questions; a change is judged on the others, gain or loss, and reported")
        _note(c, c.call(design_note))

    return run_checks("capstone", checks)
