"""Exercise 7, measure your own retrieval tweak: recall@k on the course conversation, against memkit's default.

The student writes ``my_search(db)``, a search function like
:func:`memkit.evaluation.memkit_search` with a tweak of their own (a query
rewrite, a :class:`~memkit.retrieval.Ranking` change, anything), and
``measure(db)``, which scores memkit's default and the tweak with
:func:`memkit.evaluation.evaluate_retrieval`. The check measures both
itself, each on a memory of its own, and says whether the tweak helped
(recall@k rose at some k and fell at none), by how much, and which
questions it lost or won.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..connection import ManualClock
from ..datasets import CourseConversation, Question, load_course_conversation
from ..db import MemoryDB
from ..evaluation import QuestionRecall, RetrievalReport, SearchFunction, compare_retrieval, evaluate_retrieval
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


def _judge(c: Checker, default: RetrievalReport, yours: RetrievalReport, compared: list[QuestionRecall]) -> None:
    """Whether the tweak helped, by how much, and which questions it lost and won."""
    before, after = default.recall["all"], yours.recall["all"]
    c.info(
        "recall@k, memkit's default \N{RIGHTWARDS ARROW} yours: "
        + ", ".join(
            f"@{k} {before[k]:.1f} \N{RIGHTWARDS ARROW} {after[k]:.1f}"
            + (f" ({_points(after[k] - before[k])})" if after[k] != before[k] else "")
            for k in KS
        )
    )
    lost = [q for q in compared if q.lost]
    gained = [q for q in compared if q.gained]
    rose = [k for k in KS if after[k] > before[k]]
    fell = [k for k in KS if after[k] < before[k]]

    def moves(ks: list[int]) -> str:
        return ", ".join(f"recall@{k} {_points(after[k] - before[k])}" for k in ks)

    if not lost and not gained:
        verdict = (
            "your search finds exactly what memkit's does for every question: the tweak changes nothing yet. "
            f"Look at the questions memkit misses at k={TOP_K} and what would bring their evidence up"
        )
    elif not rose and not fell:
        verdict = "recall@k is the same at every k: what your tweak wins on some questions it loses on others"
    elif fell and rose:
        verdict = f"{moves(rose)}, but {moves(fell)}: a trade, not a win. Make the tweak narrower"
    elif fell:
        verdict = f"your tweak lowers recall: {moves(fell)}. Undo it, or make it narrower"
    else:
        verdict = ""
    c.check(
        not verdict,
        f"your tweak helps: {moves(rose)}, and recall falls at no k (one question of {len(compared)} is worth "
        f"{100.0 / len(compared):.1f} points)",
        verdict,
    )
    c.check(
        not lost,
        "it loses nothing: every question finds at least the evidence it found before, at every k",
        f"it loses evidence on {len(lost)} question{'s' if len(lost) > 1 else ''} that memkit's search did "
        f"better on: {_listed(lost, lost=True)}. A tweak that wins some and loses others is a trade: "
        "make it narrower, so it leaves these alone"
        if lost
        else "",
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
        _judge(c, default, yours, compared)
        with course_memory(course) as db:
            measured = c.call(measure, db)
        hint = _measure_hint(measured, default, yours, len(questions))
        c.check(not hint, "measure(db) gives the check's figures: memkit's default, then yours", hint)

    return run_checks("measure your own retrieval tweak", checks)
