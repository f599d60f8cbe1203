"""Extractive, incremental scene summaries.

A summary is a list of sentences. Sentences restating a retired cell
(superseded or archived) are dropped; new cells are appended as sentences
(most salient first), near-duplicates of what the summary already says are
skipped, and while the summary is over :data:`MAX_WORDS` words the least
salient sentence (the oldest among equals) is dropped to make room for them
(retiring cells alone drops nothing else, so a longer summary a model wrote
keeps its other sentences). The same inputs
always give the same summary, and a sentence stays where it was until it is
pushed out, so summaries are stable from one update to the next.
"""

from __future__ import annotations

from collections.abc import Sequence

from .classify import classify, salience_of
from .text import split_sentences, stem, terms, word_count

__all__ = ["MAX_WORDS", "RETIRE_THRESHOLD", "consolidate", "near_duplicate"]

MAX_WORDS = 90  # under the 100-word promise, with room for a long last sentence


def _stem_set(text: str) -> set[str]:
    return {stem(t) for t in terms(text)}


def near_duplicate(a: str, b: str, threshold: float = 0.8) -> bool:
    """Whether two statements share most of their content words (Jaccard >= ``threshold``)."""
    sa, sb = _stem_set(a), _stem_set(b)
    if not sa or not sb:
        return a.strip().lower() == b.strip().lower()
    return len(sa & sb) / len(sa | sb) >= threshold


def _as_sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?", "…")) else text + "."


#: How much of a retired cell's wording a summary sentence must share to be dropped with it.
RETIRE_THRESHOLD = 0.6


def consolidate(
    summary: str,
    cells: Sequence[tuple[str, float, str]],
    retired: Sequence[str] = (),
    max_words: int = MAX_WORDS,
) -> str:
    """Fold new cells ``(cell_type, salience, content)`` into ``summary`` and drop what ``retired`` cells said."""
    sentences = split_sentences(summary) if summary.strip() else []
    sentences = [s for s in sentences if not any(near_duplicate(s, gone, RETIRE_THRESHOLD) for gone in retired)]
    for _, _, content in sorted(cells, key=lambda c: -c[1]):
        sentence = _as_sentence(content)
        if not any(near_duplicate(sentence, existing) for existing in sentences):
            sentences.append(sentence)
    # The salience of a sentence is recomputed from its text, so the order of
    # dropping does not depend on anything the summary does not show.
    weights = [salience_of(s, classify(s).cell_type) for s in sentences]
    while cells and len(sentences) > 1 and sum(word_count(s) for s in sentences) > max_words:
        weakest = min(range(len(sentences)), key=lambda i: (weights[i], i))
        del sentences[weakest]
        del weights[weakest]
    if cells and sentences and word_count(sentences[0]) > max_words:
        words = sentences[0].split()
        sentences[0] = " ".join(words[:max_words]) + "…"
    return " ".join(sentences)
