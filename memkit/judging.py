"""Judging answers, not only recall: does the agent's reply say what the known answer says?

Each :class:`~memkit.datasets.Question` of the course ships its answer. An
answer is judged by the answer's **key terms**: the content words and numbers
of its first clause ("Oak. She first wanted white lacquer..." -> ``oak``;
"12,000 euros, appliances included." -> ``12,000 euros appliances included``),
the part that answers the question, before what explains it. A reply is

- ``"right"`` when it holds every number of the key terms and at least half of them (for an
  answer that opens with "No", when the reply says no, not, cancelled, off or never; with
  "Yes", when it says none of those);
- ``"partly"`` when it holds some of them;
- ``"stale"`` (right, but no longer) when it is not right and the question's ``stale`` answer,
  what the answer was before it changed, is judged right instead;
- ``"don't know"`` when it says memory does not hold the answer;
- ``"wrong"`` otherwise.

A question with no evidence (the conversation does not answer it) is answered right by a reply
that says memory does not hold it, and wrong by any other.

Word matching is a rough judge: it cannot tell "not oak" from "oak", and a
right answer in other words counts as wrong. It is deterministic, needs no
model, and says which terms it looked for, so a reader can check it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .datasets import Question
from .stopwords import STOPWORDS

__all__ = [
    "VERDICTS",
    "AnswerReport",
    "Verdict",
    "judge_answer",
    "judge_answers",
    "judge_question",
    "key_terms",
    "says_dont_know",
]

#: The verdicts, best first.
VERDICTS = ("right", "partly", "stale", "don't know", "wrong")
#: What a reply says when memory does not hold the answer.
_DONT_KNOW = re.compile(r"nothing in memory|don't know|do not know|no memory of|not sure", re.IGNORECASE)
_FIRST_CLAUSE = re.compile(r"[.;(]|\s(?:but|because|then|after|instead|which|who)\s", re.IGNORECASE)
_TERM = re.compile(r"\d[\d,.:]*\d|\d|[^\W\d_]+", re.UNICODE)
_YES_NO = re.compile(r"^\s*(yes|no)\b", re.IGNORECASE)
_SAYS_NO = re.compile(r"\b(?:no|not|never|cancel\w*|called off|off|no longer|n't)\b", re.IGNORECASE)


def _fold(word: str) -> str:
    word = word.lower()
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def key_terms(answer: str) -> tuple[str, ...]:
    """The content words and numbers of the first clause of a known answer, folded (lower case, no plural s)."""
    first = _FIRST_CLAUSE.split(answer, maxsplit=1)[0] or answer
    terms = [_fold(t) for t in _TERM.findall(first) if t.lower() not in STOPWORDS]
    return tuple(dict.fromkeys(terms))


def _is_number(term: str) -> bool:
    return term[0].isdigit()


def says_dont_know(reply: str) -> bool:
    """True when ``reply`` says memory does not hold the answer."""
    return bool(_DONT_KNOW.search(reply))


def judge_answer(reply: str, answer: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The verdict on ``reply`` for the known ``answer``, with the key terms found and missing."""
    yes_no = _YES_NO.match(answer)
    if yes_no is not None and not _DONT_KNOW.search(reply):
        says_no = bool(_SAYS_NO.search(reply.removeprefix("From memory:")))
        right = says_no == (yes_no.group(1).lower() == "no")
        return ("right" if right else "wrong"), (), ()
    wanted = key_terms(answer)
    said = {_fold(t) for t in _TERM.findall(reply)}
    found = tuple(t for t in wanted if t in said)
    missing = tuple(t for t in wanted if t not in said)
    if wanted and len(found) * 2 >= len(wanted) and not any(_is_number(t) for t in missing):
        return "right", found, missing
    if _DONT_KNOW.search(reply) and not found:
        return "don't know", found, missing
    return ("partly" if found else "wrong"), found, missing


def judge_question(question: Question, reply: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The verdict on ``reply`` to ``question``: :func:`judge_answer`, plus ``"stale"`` and questions with no answer."""
    if not question.evidence:
        return ("right" if says_dont_know(reply) else "wrong"), (), ()
    verdict, found, missing = judge_answer(reply, question.answer)
    if verdict not in ("right", "don't know") and question.stale and judge_answer(reply, question.stale)[0] == "right":
        return "stale", found, missing
    return verdict, found, missing


@dataclass(frozen=True)
class Verdict:
    """One question's answer, judged."""

    question: str
    kind: str
    expected: str
    reply: str
    verdict: str
    found: tuple[str, ...]
    missing: tuple[str, ...]


@dataclass(frozen=True)
class AnswerReport:
    """Verdicts for a set of questions, and counts of each verdict per question kind."""

    verdicts: tuple[Verdict, ...]

    def counts(self) -> dict[str, dict[str, int]]:
        """kind -> verdict -> number of questions (and the same over ``"all"``), every verdict listed."""
        table: dict[str, Counter[str]] = {}
        for v in self.verdicts:
            for kind in (v.kind, "all"):
                table.setdefault(kind, Counter())[v.verdict] += 1
        return {kind: {name: counted[name] for name in VERDICTS} for kind, counted in table.items()}

    def share_right(self) -> float:
        """The share of questions answered right, in percent."""
        return 100.0 * sum(v.verdict == "right" for v in self.verdicts) / len(self.verdicts) if self.verdicts else 0.0


def judge_answers(
    questions: Sequence[Question], ask: Callable[[str], str], kind: Callable[[Question], str] | None = None
) -> AnswerReport:
    """Ask every question (``ask(question) -> reply``, e.g. ``agent.answer``) and judge the replies.

    ``kind`` names each question's group in :meth:`AnswerReport.counts` (its ``kind`` by default).
    """
    verdicts = []
    for question in questions:
        reply = ask(question.question)
        verdict, found, missing = judge_question(question, reply)
        group = kind(question) if kind is not None else question.kind
        verdicts.append(Verdict(question.question, group, question.answer, reply, verdict, found, missing))
    return AnswerReport(tuple(verdicts))
