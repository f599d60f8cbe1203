"""Measuring retrieval against questions whose evidence is known: recall@k and hit@k.

Each :class:`~memkit.datasets.Question` lists the messages (``evidence``, by
source id) that hold its answer. A search is scored by how many of them it
brings back in its first ``k`` results:

- **recall@k**: the share of a question's evidence found in the top ``k``;
- **hit@k**: 1 if at least one piece of evidence is in the top ``k``, else 0.

Both are averaged over questions, per category (the question's ``kind``)
and overall, in percent. Any search can be measured, as long as it is a
function ``(query, k) -> source ids``; :func:`memkit_search` adapts
:meth:`memkit.MemoryDB.search` to that shape. :func:`compare_retrieval` sets
two searches side by side, question by question, to say which questions a
change gained and which it lost.

Model cost is read from the :class:`~memkit.llm.CallLog` every memkit call
is recorded in: :class:`CostMeter` splits it into turns (calls, prompt and
reply tokens per turn) and :func:`linear_slope` says how fast it grows.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .datasets import Question
from .judging import AnswerReport, judge_answers
from .llm.base import CallLog
from .types import Hit

if TYPE_CHECKING:
    from .db import MemoryDB

__all__ = [
    "ANSWER_KINDS",
    "DEFAULT_KS",
    "CostMeter",
    "QuestionRecall",
    "RetrievalReport",
    "SearchFunction",
    "TurnCost",
    "answer_kind",
    "compare_retrieval",
    "distinct_sources",
    "evaluate_answers",
    "evaluate_retrieval",
    "first_rank",
    "hit_at_k",
    "linear_slope",
    "memkit_search",
    "recall_at_k",
    "score_retrieval",
    "split_questions",
]

#: The cut-offs reported by default.
DEFAULT_KS: tuple[int, ...] = (1, 5, 10, 20)

#: A search under test: query and how many results -> source ids, best first.
SearchFunction = Callable[[str, int], Sequence[str]]


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")


def recall_at_k(retrieved: Sequence[str], relevant: Collection[str], k: int) -> float:
    """The share of ``relevant`` found among the first ``k`` of ``retrieved``.

    :raises ValueError: ``k`` below 1, or nothing is relevant (recall is undefined).
    """
    _check_k(k)
    wanted = set(relevant)
    if not wanted:
        raise ValueError("relevant is empty: recall is undefined for a question with no evidence")
    return len(wanted & set(retrieved[:k])) / len(wanted)


def hit_at_k(retrieved: Sequence[str], relevant: Collection[str], k: int) -> float:
    """1.0 if any of ``relevant`` is among the first ``k`` of ``retrieved``, else 0.0."""
    _check_k(k)
    return 1.0 if set(relevant) & set(retrieved[:k]) else 0.0


def first_rank(retrieved: Sequence[str], relevant: Collection[str]) -> int | None:
    """The rank (from 1) of the first of ``relevant`` in ``retrieved``, or None when none is there."""
    wanted = set(relevant)
    return next((rank for rank, item in enumerate(retrieved, start=1) if item in wanted), None)


@dataclass
class RetrievalReport:
    """Mean recall@k and hit@k per category (question kind) and overall (``"all"``), in percent."""

    ks: tuple[int, ...]
    recall: dict[str, dict[int, float]] = field(default_factory=dict)
    hit: dict[str, dict[int, float]] = field(default_factory=dict)
    questions: dict[str, int] = field(default_factory=dict)

    @property
    def categories(self) -> list[str]:
        """The categories measured, ``"all"`` last."""
        return [*sorted(c for c in self.questions if c != "all"), "all"]

    def rows(self) -> list[dict[str, object]]:
        """One row per category: ``category``, ``questions``, then ``recall@k`` and ``hit@k`` for each k."""
        table = []
        for category in self.categories:
            row: dict[str, object] = {"category": category, "questions": self.questions[category]}
            row.update({f"recall@{k}": round(self.recall[category][k], 1) for k in self.ks})
            row.update({f"hit@{k}": round(self.hit[category][k], 1) for k in self.ks})
            table.append(row)
        return table


def _cutoffs(ks: Sequence[int]) -> tuple[int, ...]:
    cutoffs = tuple(sorted(set(ks)))
    if not cutoffs:
        raise ValueError("ks must name at least one cut-off, such as (1, 5, 10)")
    for k in cutoffs:
        _check_k(k)
    return cutoffs


def evaluate_retrieval(
    questions: Iterable[Question], search: SearchFunction, ks: Sequence[int] = DEFAULT_KS
) -> RetrievalReport:
    """Run ``search`` for every question and average recall@k and hit@k (see :func:`score_retrieval`)."""
    cutoffs = _cutoffs(ks)
    return score_retrieval(((q, search(q.question, cutoffs[-1])) for q in questions if q.evidence), cutoffs)


def score_retrieval(
    results: Iterable[tuple[Question, Sequence[str]]], ks: Sequence[int] = DEFAULT_KS
) -> RetrievalReport:
    """Average recall@k and hit@k over ``(question, retrieved source ids)`` pairs.

    Questions with no evidence are skipped (recall is undefined for them).

    :raises ValueError: no question has evidence, or a ``k`` below 1.
    """
    cutoffs = _cutoffs(ks)
    recall: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    hit: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for question, found in results:
        if not question.evidence:
            continue
        for category in (str(question.kind), "all"):
            for k in cutoffs:
                recall[category][k].append(recall_at_k(found, question.evidence, k))
                hit[category][k].append(hit_at_k(found, question.evidence, k))
    if "all" not in recall:
        raise ValueError("no question has evidence to measure against")
    report = RetrievalReport(cutoffs)
    for category, by_k in recall.items():
        report.questions[category] = len(by_k[cutoffs[0]])
        report.recall[category] = {k: 100.0 * sum(v) / len(v) for k, v in by_k.items()}
        report.hit[category] = {k: 100.0 * sum(v) / len(v) for k, v in hit[category].items()}
    return report


@dataclass(frozen=True)
class QuestionRecall:
    """One question's recall@k (0 to 1, per k) with a baseline search and with another."""

    question: Question
    before: dict[int, float]
    after: dict[int, float]

    @property
    def lost(self) -> list[int]:
        """The cut-offs at which the other search finds less of the evidence."""
        return [k for k in self.before if self.after[k] < self.before[k]]

    @property
    def gained(self) -> list[int]:
        """The cut-offs at which the other search finds more of the evidence."""
        return [k for k in self.before if self.after[k] > self.before[k]]


def compare_retrieval(
    questions: Iterable[Question], baseline: SearchFunction, other: SearchFunction, ks: Sequence[int] = DEFAULT_KS
) -> list[QuestionRecall]:
    """recall@k of every question with evidence, with ``baseline`` and with ``other``, in question order.

    Averages hide trades: a change can win one question and lose another
    and leave recall@k where it was. ``lost`` and ``gained`` say which.

    :raises ValueError: a ``k`` below 1, or no cut-off at all.
    """
    cutoffs = _cutoffs(ks)
    compared = []
    for question in questions:
        if not question.evidence:
            continue
        found = baseline(question.question, cutoffs[-1]), other(question.question, cutoffs[-1])
        before, after = ({k: recall_at_k(f, question.evidence, k) for k in cutoffs} for f in found)
        compared.append(QuestionRecall(question, before, after))
    return compared


def distinct_sources(hits: Iterable[Hit], limit: int) -> list[str]:
    """The source ids of matching ``hits`` in order, each once, at most ``limit``.

    Cells without a source id, and fallback hits that matched nothing, are skipped.
    """
    seen: dict[str, None] = {}
    for hit in hits:
        if hit.source_id is not None and hit.matched:
            seen.setdefault(hit.source_id, None)
            if len(seen) == limit:
                break
    return list(seen)


def memkit_search(db: MemoryDB, *, overfetch: int = 3) -> SearchFunction:
    """:meth:`MemoryDB.search` as a search function over source ids.

    One message can give several cells, so ``overfetch`` times more cells are
    fetched than messages asked for, and each message counts once, at its best cell.
    """
    if overfetch < 1:
        raise ValueError(f"overfetch must be at least 1, got {overfetch!r}")

    def search(query: str, k: int) -> list[str]:
        return distinct_sources(db.search(query, limit=k * overfetch), k)

    return search


# -- answers ------------------------------------------------------------------

#: What answering a question asks of memory, as the long-memory benchmarks group their questions.
ANSWER_KINDS: tuple[str, ...] = ("single", "multi-hop", "temporal", "update", "absent")
_TEMPORAL = re.compile(r"^\s*(?:when|on which dates?|what dates?|what time|how long)\b", re.IGNORECASE)


def answer_kind(question: Question) -> str:
    """The kind of a question, by the first rule that applies:

    - ``absent``: the conversation does not answer it (no evidence);
    - ``update``: its answer changed or its plan was cancelled (kind ``changed`` or ``cancelled``);
    - ``temporal``: it asks when (*When...*, *On which dates...*);
    - ``multi-hop``: its answer needs two messages or more;
    - ``single``: one message answers it.
    """
    if not question.evidence:
        return "absent"
    if question.kind in ("changed", "cancelled"):
        return "update"
    if _TEMPORAL.match(question.question):
        return "temporal"
    return "multi-hop" if len(question.evidence) > 1 else "single"


def evaluate_answers(questions: Iterable[Question], ask: Callable[[str], str]) -> AnswerReport:
    """Ask every question and judge the reply (:mod:`memkit.judging`), grouped by :func:`answer_kind`.

    ``report.counts()`` gives kind -> verdict (right, partly, stale, don't know, wrong) -> questions.
    """
    return judge_answers(list(questions), ask, kind=answer_kind)


def split_questions(questions: Iterable[Question], *, seed: int = 0) -> tuple[list[Question], list[Question]]:
    """Split questions in two halves, *tune* and *held back*, each kind (:func:`answer_kind`) shared between them.

    Tune a change on the first half only; judge it on the second, which it has not seen. The split is
    the same for the same questions and seed. With an odd number of a kind, the held-back half gets the extra one.
    """
    import random

    asked = list(questions)
    tune: list[Question] = []
    held_back: list[Question] = []
    by_kind: dict[str, list[Question]] = {}
    for question in asked:
        by_kind.setdefault(answer_kind(question), []).append(question)
    shuffle = random.Random(seed).shuffle
    for kind in sorted(by_kind):
        group = list(by_kind[kind])
        shuffle(group)
        half = len(group) // 2
        tune += group[:half]
        held_back += group[half:]
    order = {id(q): i for i, q in enumerate(asked)}
    return sorted(tune, key=lambda q: order[id(q)]), sorted(held_back, key=lambda q: order[id(q)])


# -- cost ---------------------------------------------------------------------


@dataclass(frozen=True)
class TurnCost:
    """The model calls one turn made: how many, and the prompt and reply tokens they used."""

    turn: int
    calls: int
    prompt_tokens: int
    response_tokens: int
    #: Calls per task (``"answer"``, ``"extract"``, ``"consolidate"``).
    by_task: dict[str, int]
    #: Prompt tokens per task.
    prompt_tokens_by_task: dict[str, int]


class CostMeter:
    """Splits a :class:`~memkit.llm.CallLog` into turns.

    >>> meter = CostMeter(manager.calls)     # doctest: +SKIP
    >>> with meter.turn():                   # doctest: +SKIP
    ...     agent.answer("hello")
    >>> meter.turns[-1].prompt_tokens        # doctest: +SKIP
    """

    def __init__(self, log: CallLog) -> None:
        if not isinstance(log, CallLog):
            raise TypeError(f"log must be a CallLog, not {type(log).__name__}")
        self.log = log
        self.turns: list[TurnCost] = []

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Count the calls recorded while the ``with`` block runs as one turn."""
        start = len(self.log)
        yield
        calls = self.log.calls[start:]
        by_task: dict[str, int] = {}
        tokens_by_task: dict[str, int] = {}
        for call in calls:
            by_task[call.task] = by_task.get(call.task, 0) + 1
            tokens_by_task[call.task] = tokens_by_task.get(call.task, 0) + call.prompt_tokens
        self.turns.append(
            TurnCost(
                turn=len(self.turns) + 1,
                calls=len(calls),
                prompt_tokens=sum(c.prompt_tokens for c in calls),
                response_tokens=sum(c.response_tokens for c in calls),
                by_task=by_task,
                prompt_tokens_by_task=tokens_by_task,
            )
        )


def linear_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """The slope of the least-squares line through the points ``(xs[i], ys[i])``.

    :raises ValueError: fewer than two points, lengths differ, or every x is the same.
    """
    if len(xs) != len(ys) or len(xs) < 2:
        raise ValueError(f"need two sequences of equal length >= 2, got {len(xs)} and {len(ys)}")
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        raise ValueError("every x is the same: the slope is undefined")
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
