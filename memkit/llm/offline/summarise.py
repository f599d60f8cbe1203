"""Extractive, incremental scene summaries: the scene's current facts, compressed.

A summary is a list of statements. Statements restating a retired cell
(superseded or archived) are dropped; new cells are added (most salient
first), skipping what the summary already says; and while the summary is over
:data:`MAX_WORDS` words the least salient statement goes (the oldest among
equals). The same inputs always give the same summary, and a statement stays
where it was until it is pushed out, so summaries are stable.

The summariser works on text alone (no parse), so it is fast enough to run
after every exchange.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["MAX_WORDS", "RETIRE_SHARE", "consolidate", "near_duplicate", "split_statements"]

#: Under the 100-word promise, with room for a long last statement.
MAX_WORDS = 90
#: How much of a retired cell's wording a summary statement must share to be dropped with it.
RETIRE_SHARE = 0.6

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_END = re.compile(r"(?<=[.!?…])\s+(?=[\"'(\[]?[A-Z0-9À-ÖØ-Þ])")
_FUNCTION = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "has",
        "have",
        "had",
        "it",
        "its",
        "this",
        "that",
        "user",
        "user's",
        "s",
    ]
)


def split_statements(text: str) -> list[str]:
    """The statements of a summary (it is written one sentence per statement)."""
    return [part.strip() for part in _END.split(text) if part.strip()]


def _words(text: str) -> set[str]:
    return {w.lower().replace("’", "'") for w in _WORD.findall(text)} - _FUNCTION


def near_duplicate(a: str, b: str, threshold: float = 0.8) -> bool:
    """Whether two statements share most of their words (Jaccard >= ``threshold``)."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return a.strip().lower() == b.strip().lower()
    return len(wa & wb) / len(wa | wb) >= threshold


def _as_statement(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def _word_count(text: str) -> int:
    return len(_WORD.findall(text))


def consolidate(
    summary: str,
    cells: Sequence[tuple[str, float, str]],
    retired: Sequence[str] = (),
    max_words: int = MAX_WORDS,
) -> str:
    """Fold new cells ``(cell_type, salience, content)`` into ``summary``; drop what ``retired`` cells said."""
    gone = [_as_statement(text) for text in retired]
    kept: list[tuple[str, float]] = [
        (s, 0.5)
        for s in (split_statements(summary) if summary.strip() else [])
        if not any(s == g or near_duplicate(s, g, RETIRE_SHARE) for g in gone)
    ]
    for _, salience, content in sorted(cells, key=lambda c: -c[1]):
        statement = _as_statement(content)
        if statement in gone:
            continue
        if not any(near_duplicate(statement, existing) for existing, _ in kept):
            kept.append((statement, salience))
    # only new cells make room: retiring cells alone drops nothing else, so a longer summary a
    # model wrote keeps its other statements
    while cells and len(kept) > 1 and sum(_word_count(s) for s, _ in kept) > max_words:
        weakest = min(range(len(kept)), key=lambda i: (kept[i][1], i))
        del kept[weakest]
    text = " ".join(s for s, _ in kept)
    if cells and kept and _word_count(text) > max_words:
        text = " ".join(text.split()[:max_words]) + "…"
    return text
