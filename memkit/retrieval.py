"""How a query becomes an FTS5 MATCH expression, and how hits are ranked.

Kept apart from the SQL in :mod:`memkit.db` so the rules can be read,
tested and taught on their own.

Ranking
-------
FTS5 gives each matching cell a bm25 relevance (higher is better here).
memkit blends it with the cell's salience and recency::

    score = relevance * (1 + salience_weight * (salience - 0.5))
                      * (1 + recency_weight * 0.5 ** (age_days / half_life_days))

so salience moves a score by at most ``salience_weight / 2`` either way and
a brand-new cell gains at most ``recency_weight``. Relevance still decides
between cells that differ in how well they match; salience and recency break
near-ties. When no cell matches, search falls back to the most salient cells.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

__all__ = ["STOPWORDS", "Ranking", "blend_score", "build_match_expression", "query_terms"]

#: Words too common to say anything about what a query is looking for.
STOPWORDS: frozenset[str] = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "aren't",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "can't",
        "cannot",
        "could",
        "couldn't",
        "did",
        "didn't",
        "do",
        "does",
        "doesn't",
        "doing",
        "don't",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "hadn't",
        "has",
        "hasn't",
        "have",
        "haven't",
        "having",
        "he",
        "he'd",
        "he'll",
        "he's",
        "her",
        "here",
        "here's",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "how's",
        "i",
        "i'd",
        "i'll",
        "i'm",
        "i've",
        "if",
        "in",
        "into",
        "is",
        "isn't",
        "it",
        "it's",
        "its",
        "itself",
        "let's",
        "me",
        "more",
        "most",
        "mustn't",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "ought",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "shan't",
        "she",
        "she'd",
        "she'll",
        "she's",
        "should",
        "shouldn't",
        "so",
        "some",
        "such",
        "than",
        "that",
        "that's",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "there's",
        "these",
        "they",
        "they'd",
        "they'll",
        "they're",
        "they've",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "wasn't",
        "we",
        "we'd",
        "we'll",
        "we're",
        "we've",
        "were",
        "weren't",
        "what",
        "what's",
        "when",
        "when's",
        "where",
        "where's",
        "which",
        "while",
        "who",
        "who's",
        "whom",
        "why",
        "why's",
        "with",
        "won't",
        "would",
        "wouldn't",
        "you",
        "you'd",
        "you'll",
        "you're",
        "you've",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "also",
        "just",
        "really",
        "ever",
        "tell",
        "remember",
        "know",
        "did",
        "does",
        "anything",
        "something",
        "thing",
        "things",
        "s",
        "t",
        "d",
        "ll",
        "re",
        "ve",
        "m",
        "don",
        "doesn",
        "didn",
        "isn",
        "wasn",
        "won",
        "aren",
        "couldn",
        "wouldn",
        "shouldn",
        "haven",
        "hasn",
        "hadn",
        "weren",
        "ain",
        "mustn",
        "shan",
    ]
)

_TOKEN = re.compile(r"\w+\*?", re.UNICODE)


@dataclass(frozen=True)
class Ranking:
    """The knobs of the score blend (see the module docstring)."""

    content_weight: float = 1.0
    scene_weight: float = 0.3
    salience_weight: float = 0.5
    recency_weight: float = 0.1
    half_life_days: float = 30.0
    #: How many bm25 candidates to re-rank per requested hit.
    pool_factor: int = 4
    #: Score factor of superseded and archived cells, when history is searched.
    history_weight: float = 0.5


def query_terms(text: str) -> list[str]:
    """The searchable words of ``text``: lower-cased, de-duplicated, stopwords dropped.

    Anything that is not a word character is ignored, so FTS5 syntax in a
    query (quotes, ``AND``, ``NEAR``, ``-``, ``^``, parentheses, columns)
    can never cause a syntax error. A trailing ``*`` asks for a prefix match
    and is kept. If every word is a stopword, the words are kept after all:
    a query of only common words still deserves a try.
    """
    words = []
    for match in _TOKEN.finditer(text.lower()):
        word = match.group().replace("_", "")
        base = word.rstrip("*")
        if not base or (word.endswith("*") and len(base) < 2):
            word = base
        if base and word not in words:
            words.append(word)
    content = [w for w in words if w.rstrip("*") not in STOPWORDS]
    return content or words


def _quote(term: str) -> str:
    prefix = term.endswith("*")
    body = term.rstrip("*").replace('"', '""')
    return f'"{body}"*' if prefix else f'"{body}"'


def build_match_expression(text: str, *, max_terms: int = 64) -> str | None:
    """An FTS5 MATCH expression for ``text``, or None when it has no words.

    Every term is quoted (so it is a literal, never an operator) and the
    terms are joined with OR: bm25 then rewards cells matching more of them,
    and rarer ones more. Only the first ``max_terms`` terms are used, so a
    pasted page of text stays a fast query.
    """
    terms = query_terms(text)[:max_terms]
    if not terms:
        return None
    return " OR ".join(_quote(term) for term in terms)


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


def blend_score(
    relevance: float,
    salience: float,
    timestamp: str | None,
    now: datetime,
    ranking: Ranking,
) -> float:
    """Combine bm25 relevance (higher is better) with salience and recency."""
    score = relevance * (1.0 + ranking.salience_weight * (salience - 0.5))
    age = _age_days(timestamp, now)
    if age is not None and ranking.recency_weight:
        freshness = math.pow(0.5, age / ranking.half_life_days)
        score *= 1.0 + ranking.recency_weight * freshness
    return score
