"""The offline engine's replies: built from what memory recalled, nothing else.

A question is answered with the best-matching cells; a statement is
acknowledged in the second person, with a related memory if one matched.
"""

from __future__ import annotations

from collections.abc import Sequence

from .summarise import near_duplicate
from .text import MAX_CHARS_READ, rewrite_person, split_sentences, strip_fillers

__all__ = ["MEMORY_REPORTS", "compose_answer"]

#: How the offline engine's replies report what memory holds. What follows
#: one of these in a reply is recalled memory, not news: extraction skips it.
NOTED = "Noted:"
FROM_MEMORY = "From memory:"
RELATED = "Related memory:"
NOTHING = "I have nothing in memory"
LINKED = "Linked in memory:"
MEMORY_REPORTS = (NOTED, FROM_MEMORY, RELATED, NOTHING, LINKED)

_QUESTION_OPENERS = (
    "what",
    "when",
    "where",
    "who",
    "whom",
    "which",
    "why",
    "how",
    "do",
    "does",
    "did",
    "is",
    "are",
    "was",
    "were",
    "can",
    "could",
    "should",
    "would",
    "will",
    "have",
    "has",
    "any",
    "tell me",
    "remind me",
    "list",
    "show me",
    "summarize",
    "summarise",
    "recall",
)
_MAX_RECALLED = 3
_MAX_RESTATED_CHARS = 300
_LOWERABLE = {"You", "Your", "You're", "We", "Our", "The", "A", "An", "It", "This", "That", "There", "Let's"}


def _is_question(text: str) -> bool:
    stripped = text.strip().lower()
    return stripped.endswith("?") or stripped.startswith(_QUESTION_OPENERS)


def _joined(contents: Sequence[str]) -> str:
    parts = [c.strip().rstrip(".") for c in contents]
    return "; ".join(parts) + "."


def compose_answer(
    text: str,
    hits: Sequence[tuple[str, str, float, bool, str]],
    scenes: Sequence[tuple[str, str]],
    linked: Sequence[tuple[str, str]] = (),
) -> str:
    """Reply to ``text`` from recalled ``hits`` (type, content, score, matched, scene), scene
    summaries and ``linked`` cells (link kind, content): a question's answer adds the first
    linked cell it does not already say."""
    matched = [h for h in hits if h[3]]
    if _is_question(text):
        if matched:
            said = [h[1] for h in matched[:_MAX_RECALLED]]
            reply = f"{FROM_MEMORY} " + _joined(said)
            extra = [c for _, c in linked if not any(near_duplicate(c, s, threshold=0.6) for s in said)]
            if extra:
                reply += f" {LINKED} {extra[0].strip().rstrip('.')}."
            return reply
        if scenes and scenes[0][1].strip():
            return f"{NOTHING} that answers that directly. What I know about {scenes[0][0]}: {scenes[0][1].strip()}"
        return f"{NOTHING} about that yet."
    sentences = split_sentences(text[:MAX_CHARS_READ])
    first = strip_fillers(sentences[0]) if sentences else text.strip()
    if len(first) > _MAX_RESTATED_CHARS:  # a long message is acknowledged, not echoed back whole
        first = first[: _MAX_RESTATED_CHARS - 1].rsplit(" ", 1)[0] + "…"
    restated = rewrite_person(first, "you").rstrip(".!")
    head, _, rest = restated.partition(" ")
    if head in _LOWERABLE:
        restated = f"{head.lower()} {rest}".strip()
    reply = f"{NOTED} {restated}."
    related = [h for h in matched if not near_duplicate(h[1], first, threshold=0.6)]
    if related:
        reply += f" {RELATED} {related[0][1].strip().rstrip('.')}."
    return reply
