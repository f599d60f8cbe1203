"""How a query becomes an FTS5 MATCH expression, and how hits are ranked.

Kept apart from the SQL in :mod:`memkit.db` so the rules can be read,
tested and taught on their own.

Ranking
-------
FTS5 gives each matching cell a bm25 relevance (higher is better here),
over three columns: the cell's content, its scene name and its context (the
words around it where it was said), weighted by :class:`Ranking`. memkit
takes the best ``pool`` candidates and blends in what bm25 cannot see::

    score = relevance
            * (1 + scene_signal_weight * scene_share)       # its scene matches too
            * (1 + subject_weight)  if the query names the cell's subject (its first word)
            * (1 + time_weight)   if the query asks when and the cell says when
            * (1 + date_weight)   if the query names the month or year the cell is dated
            * (1 + salience_weight * (salience - 0.5))
            * (1 + recency_weight * 0.5 ** (age_days / half_life_days))

``scene_share`` is the summed relevance of the candidates in the cell's
scene, over the largest such sum (0 to 1): a cell in a scene where many
cells match is more likely on topic than a lone match. A cell's subject is
its first word: extraction writes cells as "Ana prefers oak...", naming who
they are about first, so "What does Ana like?" should prefer cells about Ana
over cells that only mention her. Relevance still decides between cells
that differ in how well they match; the factors break near-ties. When
history is searched, superseded and archived cells are scaled by
``history_weight``. When no cell matches, search falls back to the most
salient cells.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from .stopwords import STOPWORDS

__all__ = [
    "STOPWORDS",
    "Candidate",
    "Ranking",
    "ScoreParts",
    "asks_when",
    "build_match_expression",
    "match_phrases",
    "named_dates",
    "query_terms",
    "says_when",
    "score_parts",
    "subject_of",
]

_TOKEN = re.compile(r"\w+\*?", re.UNICODE)


@dataclass(frozen=True)
class Ranking:
    """The knobs of the score blend (see the module docstring)."""

    content_weight: float = 1.0
    scene_weight: float = 0.3
    context_weight: float = 0.5
    salience_weight: float = 0.5
    recency_weight: float = 0.1
    half_life_days: float = 30.0
    scene_signal_weight: float = 0.5
    subject_weight: float = 0.5
    time_weight: float = 0.25
    date_weight: float = 0.25
    #: How many bm25 candidates to re-rank per requested hit ...
    pool_factor: int = 4
    #: ... and at least this many.
    min_pool: int = 50
    #: Score factor of superseded and archived cells, when history is searched.
    history_weight: float = 0.5

    def pool(self, limit: int) -> int:
        """How many bm25 candidates to re-rank for ``limit`` hits."""
        return max(limit * self.pool_factor, self.min_pool, limit)


@dataclass(frozen=True)
class Candidate:
    """A bm25 match waiting to be re-ranked."""

    relevance: float
    salience: float
    timestamp: str | None
    scene: str
    content: str


_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_MONTH_NUMBER = {name: number for number, name in enumerate(_MONTHS, start=1)}
_MONTH_NUMBER.update({name[:3]: number for name, number in _MONTH_NUMBER.items() if name != "may"})
_MONTH_NUMBER["sept"] = 9
_YEAR = re.compile(r"\b(1[89]\d\d|2[01]\d\d)\b")
_MONTH_WORD = re.compile(r"\b(" + "|".join(sorted(_MONTH_NUMBER, key=len, reverse=True)) + r")\b\.?", re.IGNORECASE)
_ASKS_WHEN = re.compile(
    r"\b(?:when|how long|how soon|how often|what (?:time|date|day|year|month|week)|which (?:day|year|month|week)"
    r"|how many (?:days|weeks|months|years|times))\b",
    re.IGNORECASE,
)
_SAYS_WHEN = re.compile(
    r"\b(?:yesterday|today|tonight|tomorrow|ago|recently|lately|earlier|soon|since|until"
    r"|(?:last|next|this|past|coming) (?:\w+ )?(?:week|weekend|month|year|night|morning|evening|time|summer|winter"
    r"|spring|fall|autumn|monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?"
    r"|mondays?|tuesdays?|wednesdays?|thursdays?|fridays?|saturdays?|sundays?|weekends?"
    r"|january|february|march|april|june|july|august|september|october|november|december"
    r"|\d{1,2}(?::\d\d)? ?(?:am|pm)|(?:19|20)\d\d|\d+ (?:days?|weeks?|months?|years?))\b",
    re.IGNORECASE,
)


def asks_when(query: str) -> bool:
    """Whether ``query`` asks about time ("When did...", "How long ago...", "What year...")."""
    return bool(_ASKS_WHEN.search(query))


def says_when(text: str) -> bool:
    """Whether ``text`` says when something happened ("yesterday", "last week", "in 2022", "on Friday")."""
    return bool(_SAYS_WHEN.search(text))


def named_dates(query: str) -> tuple[frozenset[int], frozenset[int]]:
    """The months (1-12) and years a query names: ``"in June 2023"`` gives ``({6}, {2023})``.

    "May" counts as a month only when written with a capital, so "may" the verb does not.
    """
    months = set()
    for match in _MONTH_WORD.finditer(query):
        word = match.group(1)
        if word.lower() == "may" and word != "May":
            continue
        months.add(_MONTH_NUMBER[word.lower()])
    years = {int(y) for y in _YEAR.findall(query)}
    return frozenset(months), frozenset(years)


def subject_of(content: str) -> str:
    """The first word of ``content``, lower-cased, without a possessive ``'s`` ("" if none)."""
    match = _TOKEN.search(content)
    return match.group().lower().rstrip("*").replace("_", "") if match else ""


def _dated_in(timestamp: str | None, months: frozenset[int], years: frozenset[int]) -> bool:
    if not timestamp or not (months or years):
        return False
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return False
    return (not months or moment.month in months) and (not years or moment.year in years)


@dataclass(frozen=True)
class ScoreParts:
    """Why a hit scored what it did: bm25 relevance times one factor per cue (1.0 where it did not apply).

    ``score`` multiplies them in the order the module docstring lists them, so
    it is exactly the hit's score.
    """

    relevance: float
    salience: float = 1.0
    recency: float = 1.0
    scene: float = 1.0
    subject: float = 1.0
    when: float = 1.0
    date: float = 1.0
    history: float = 1.0

    def factors(self) -> dict[str, float]:
        """The cue factors by name, in the order they apply."""
        return {name: getattr(self, name) for name in _FACTORS}

    @property
    def score(self) -> float:
        """The final score: the relevance times every factor."""
        score = self.relevance
        for factor in self.factors().values():
            score *= factor
        return score

    def __str__(self) -> str:
        shown = [f"bm25 {self.relevance:.3g}"] + [f"{name} ×{value:.2f}" for name, value in self.factors().items()]
        return " · ".join(shown) + f" = {self.score:.3g}"


_FACTORS = ("salience", "recency", "scene", "subject", "when", "date", "history")


def score_parts(candidates: Sequence[Candidate], query: str, now: datetime, ranking: Ranking) -> list[ScoreParts]:
    """How each candidate's score is made (see :class:`ScoreParts`), in the same order."""
    by_scene: dict[str, float] = {}
    for candidate in candidates:
        by_scene[candidate.scene] = by_scene.get(candidate.scene, 0.0) + max(candidate.relevance, 0.0)
    top = max(by_scene.values(), default=0.0) or 1.0
    asked = {term.rstrip("*") for term in query_terms(query)}
    when = ranking.time_weight and asks_when(query)
    months, years = named_dates(query) if ranking.date_weight else (frozenset(), frozenset())
    parts = []
    for candidate in candidates:
        age = _age_days(candidate.timestamp, now)
        recency = 1.0
        if age is not None and ranking.recency_weight:
            recency = 1.0 + ranking.recency_weight * math.pow(0.5, age / ranking.half_life_days)
        parts.append(
            ScoreParts(
                relevance=candidate.relevance,
                salience=1.0 + ranking.salience_weight * (candidate.salience - 0.5),
                recency=recency,
                scene=1.0 + ranking.scene_signal_weight * by_scene[candidate.scene] / top,
                subject=1.0 + ranking.subject_weight
                if ranking.subject_weight and subject_of(candidate.content) in asked
                else 1.0,
                when=1.0 + ranking.time_weight if when and says_when(candidate.content) else 1.0,
                date=1.0 + ranking.date_weight if _dated_in(candidate.timestamp, months, years) else 1.0,
            )
        )
    return parts


def query_terms(text: str) -> list[str]:
    """The searchable words of ``text``: lower-cased, de-duplicated, stopwords dropped.

    Anything that is not a word character is ignored, so FTS5 syntax in a
    query (quotes, ``AND``, ``NEAR``, ``-``, ``^``, parentheses, columns)
    can never cause a syntax error. A trailing ``*`` asks for a prefix match
    and is kept. If every word is a stopword, the words are kept after all:
    a query of only common words still deserves a try.
    """
    return list(_recent_terms(text) if len(text) <= _CACHED_QUERY_CHARS else _terms(text))


#: Queries up to this long keep their terms for the next read: a search reads them several times
#: (phrases, ranking cues, the server's query); a longer text is not kept alive by a cache.
_CACHED_QUERY_CHARS = 2000


@lru_cache(maxsize=256)
def _recent_terms(text: str) -> tuple[str, ...]:
    return _terms(text)


def _terms(text: str) -> tuple[str, ...]:
    words: dict[str, None] = {}
    for match in _TOKEN.finditer(text.lower()):
        word = match.group().replace("_", "")
        base = word.rstrip("*")
        if not base or (word.endswith("*") and len(base) < 2):
            word = base
        if base:
            words.setdefault(word)
    content = tuple(w for w in words if w.rstrip("*") not in STOPWORDS)
    return content or tuple(words)


def _quote(term: str) -> str:
    prefix = term.endswith("*")
    body = term.rstrip("*").replace('"', '""')
    return f'"{body}"*' if prefix else f'"{body}"'


def match_phrases(text: str, *, max_terms: int = 64) -> list[str]:
    """The FTS5 phrases of ``text``: its first ``max_terms`` terms, each quoted (a literal, never an operator)."""
    return [_quote(term) for term in query_terms(text)[:max_terms]]


def build_match_expression(text: str, *, max_terms: int = 64) -> str | None:
    """An FTS5 MATCH expression for ``text``, or None when it has no words.

    Every term is quoted (so it is a literal, never an operator) and the
    terms are joined with OR: bm25 then rewards cells matching more of them,
    and rarer ones more. Only the first ``max_terms`` terms are used, so a
    pasted page of text stays a fast query.
    """
    phrases = match_phrases(text, max_terms=max_terms)
    return " OR ".join(phrases) if phrases else None


def _age_days(timestamp: str | None, now: datetime) -> float | None:
    if not timestamp:
        return None
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - moment).total_seconds() / 86400.0)
