"""Exercise 7, measure your own retrieval tweak: recall@k on the course conversation, against memkit's default.

The student writes ``my_search(db)``, a search function like
:func:`memkit.evaluation.memkit_search` with a tweak of their own (a query
rewrite, a :class:`~memkit.retrieval.Ranking` change, anything), and
``measure(db)``, which scores memkit's default and the tweak with
:func:`memkit.evaluation.evaluate_retrieval`. The check measures both
itself, each on a memory of its own, and reports what the tweak won and
lost, on all questions and on the held-back half of
:func:`memkit.evaluation.split_questions` (the questions to judge it by when
it was tuned on the others). It grades that the tweak changes something and
that the measurement is right, never the size of the gain: a tweak that
loses one question of 23, reported, passes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..connection import ManualClock
from ..datasets import CourseConversation, Question, load_course_conversation
from ..db import MemoryDB
from ..evaluation import (
    QuestionRecall,
    RetrievalReport,
    SearchFunction,
    compare_retrieval,
    evaluate_retrieval,
    split_questions,
)
from ..evaluation import memkit_search as default_search
from ..manager import MemoryManager
from ..types import Hit
from .feedback import Checker, Feedback, run_checks

__all__ = ["KS", "TOP_K", "course_memory", "retrieval_tweak"]

#: The cut-offs measured.
KS: tuple[int, ...] = (1, 3, 5, 10)
#: The cut-off to look at first: about as many cells as the agent recalls for an answer.
TOP_K = 5

MySearch = Callable[[MemoryDB], SearchFunction]
Measure = Callable[[MemoryDB], object]


def course_memory(conversation: CourseConversation | None = None) -> MemoryDB:
    """A fresh memory of the course conversation, through the offline pipeline, searched as it ends."""
    course = conversation or load_course_conversation()
    db = MemoryDB(clock=ManualClock(course.messages[-1].occurred_at or "2024-01-01"))
    MemoryManager(db, "offline").ingest(course.messages, progress=False)
    return db


def _shape_problem(found: object, k: int, known: set[str]) -> str:
    """What is wrong with one result of the student's search ('' when it is a list of message ids)."""
    if not isinstance(found, (list, tuple)):
        return f"returned {type(found).__name__}: return a list of message ids, such as ['m01', 'm05']"
    if any(isinstance(item, Hit) for item in found):
        return "returned hits: return their message ids instead, with memkit.evaluation.distinct_sources(hits, k)"
    if any(isinstance(item, int) for item in found):
        return (
            f"returned {list(found)[:3]!r}, cell ids: return the ids of the messages the cells came from "
            "(hit.source_id), e.g. with memkit.evaluation.distinct_sources(hits, k)"
        )
    odd = [item for item in found if item not in known]
    if odd:
        return (
            f"returned {odd[0]!r}, which is no message id of the conversation (they run from "
            f"{min(known)!r} to {max(known)!r}): return hit.source_id"
        )
    if len(found) > k:
        return f"returned {len(found)} ids for k={k}: return at most k, best first"
    twice = next((item for index, item in enumerate(found) if item in found[:index]), None)
    if twice is not None:
        return (
            f"returned {twice!r} twice: each message once, at its best place "
            "(memkit.evaluation.distinct_sources does that)"
        )
    return ""


def _found(recall: float, question: Question) -> int:
    return round(recall * len(set(question.evidence)))


def _moved(change: QuestionRecall, ks: Sequence[int]) -> str:
    k = min(ks)
    total = len(set(change.question.evidence))
    before, after = _found(change.before[k], change.question), _found(change.after[k], change.question)
    messages = "message" if total == 1 else "messages"
    return f"{change.question.question!r} (top {k}: {before} of {total} evidence {messages} before, {after} now)"


def _listed(changes: Sequence[QuestionRecall], lost: bool) -> str:
    shown = [_moved(q, q.lost if lost else q.gained) for q in changes[:3]]
    more = f", and {len(changes) - 3} more" if len(changes) > 3 else ""
    return "; ".join(shown) + more


def _same(a: RetrievalReport, b: RetrievalReport) -> bool:
    return (a.ks, a.recall, a.hit, a.questions) == (b.ks, b.recall, b.hit, b.questions)


def _measure_hint(measured: object, default: RetrievalReport, yours: RetrievalReport, questions: int) -> str:
    """'' when ``measured`` is (memkit's default report, the tweak's report), else what to fix."""
    if not (
        isinstance(measured, tuple) and len(measured) == 2 and all(isinstance(r, RetrievalReport) for r in measured)
    ):
        return (
            f"measure(db) returned {type(measured).__name__}: return two reports, (memkit's default, yours), "
            "each from evaluate_retrieval"
        )
    theirs, mine = measured
    if _same(theirs, default) and _same(mine, yours):
        return ""
    if _same(theirs, yours) and _same(mine, default) and not _same(default, yours):
        return "the two reports are swapped: return (memkit's default, yours)"
    if theirs.ks != KS or mine.ks != KS:
        return f"you measured at ks={theirs.ks if theirs.ks != KS else mine.ks}: measure at ks=check.KS, {KS}"
    if theirs.questions.get("all") != questions or mine.questions.get("all") != questions:
        return (
            f"you measured on {theirs.questions.get('all')} and {mine.questions.get('all')} questions: measure on "
            f"all {questions} questions of the course, memkit.load_course_conversation().questions"
        )
    if _same(theirs, yours) and not _same(default, yours):
        return (
            "your report of memkit's default gives your tweak's figures: my_search changed db before the default "
            "was measured (db.ranking?). Measure memkit_search(db) first, then my_search(db)"
        )
    if _same(mine, default) and not _same(default, yours):
        return "your report of the tweak gives memkit's default figures: measure my_search(db) for yours"
    return (
        "your figures differ from the check's: evaluate_retrieval(course.questions, memkit_search(db), "
        "ks=check.KS), then the same with my_search(db)"
    )


def _points(delta: float) -> str:
    return f"{delta:+.1f} points".replace("-", "\N{MINUS SIGN}")


def _judge(
    c: Checker,
    default: RetrievalReport,
    yours: RetrievalReport,
    compared: list[QuestionRecall],
    held_back: Sequence[Question],
) -> None:
    """What the tweak won and lost: reported, not graded, on all questions and on the held-back half."""
    before, after = default.recall["all"], yours.recall["all"]
    lost = [q for q in compared if q.lost]
    gained = [q for q in compared if q.gained]
    c.check(
        bool(lost or gained),
        "your tweak changes what search finds",
        "your search finds exactly what memkit's does for every question: the tweak changes nothing yet. "
        f"Look at the questions memkit misses at k={TOP_K} and what would bring their evidence up",
    )
    if not (lost or gained):
        return
    c.info(
        "recall@k, memkit's default \N{RIGHTWARDS ARROW} yours: "
        + ", ".join(
            f"@{k} {before[k]:.1f} \N{RIGHTWARDS ARROW} {after[k]:.1f}"
            + (f" ({_points(after[k] - before[k])})" if after[k] != before[k] else "")
            for k in KS
        )
    )
    held = {id(q) for q in held_back}
    on_held = [q for q in compared if id(q.question) in held]
    won_held, lost_held = sum(bool(q.gained) for q in on_held), sum(bool(q.lost) for q in on_held)
    verdict = (
        "a gain" if won_held and not lost_held else "a loss" if lost_held and not won_held
        else "a trade" if won_held else "no change"
    )  # fmt: skip
    c.info(
        f"on the {len(on_held)} held-back questions (memkit.evaluation.split_questions, seed 0), the ones to judge "
        f"a tweak by if you tuned on the others: won {won_held}, lost {lost_held}, {verdict}. One question of "
        f"{len(on_held)} is {100.0 / max(1, len(on_held)):.1f} points: read a move of one as noise"
    )
    if lost:
        c.info(
            f"it loses evidence on {len(lost)} question{'s' if len(lost) > 1 else ''}: {_listed(lost, lost=True)}. "
            "Report it with the gain: a tweak that wins some and loses others is a trade"
        )
    if gained:
        c.info(f"it finds more for: {_listed(gained, lost=False)}")


def retrieval_tweak(my_search: MySearch, measure: Measure) -> Feedback:
    """Check exercise 7: ``my_search(db) -> search(query, k)`` and ``measure(db) -> (default, yours)``."""
    course = load_course_conversation()
    questions = [q for q in course.questions if q.evidence]
    known = {message.source_id for message in course.messages if message.source_id}

    def checks(c: Checker) -> None:
        with course_memory(course) as db, course_memory(course) as memkit_db:
            search = c.call(my_search, db)
            c.require(
                callable(search),
                "my_search(db) returns a search function",
                f"my_search(db) returned {type(search).__name__}: return a function (query, k) -> message ids, "
                "as memkit_search(db) does",
            )
            with c.student_code("your search"):
                problem = next(
                    (
                        f"for {q.question!r} at k={k}, your search {problem}"
                        for q in questions
                        for k in (1, KS[-1])
                        if (problem := _shape_problem(search(q.question, k), k, known))
                    ),
                    "",
                )
            c.require(not problem, "your search returns at most k message ids, best first, each once", problem)
            baseline = default_search(memkit_db)
            with c.student_code("your search"):
                default = evaluate_retrieval(questions, baseline, ks=KS)
                yours = evaluate_retrieval(questions, search, ks=KS)
                compared = compare_retrieval(questions, baseline, search, ks=KS)
        _judge(c, default, yours, compared, split_questions(questions, seed=0)[1])
        with course_memory(course) as db:
            measured = c.call(measure, db)
        hint = _measure_hint(measured, default, yours, len(questions))
        c.check(not hint, "measure(db) gives the check's figures: memkit's default, then yours", hint)

    return run_checks("measure your own retrieval tweak", checks)
