"""Which scene an exchange belongs to, and what to call a new one.

An exchange joins the existing scene it scores best against, if that score
reaches :data:`JOIN_THRESHOLD`; otherwise it starts a new scene named after
its key terms. The score adds three visible parts:

- shared names: 1 per capitalised name both mention ("Jonas", "Lisbon");
- shared words: the other word stems the exchange shares with the scene's
  name, summary and recent cells (each counting half if the scene used it
  only once), divided by the square root of the number of distinct words in
  the exchange (a long message shares more by chance);
  :data:`~memkit.llm.offline.lexicon.COMMON_WORDS` never count;
- shared topic: the cosine between the two topic profiles of
  :mod:`memkit.llm.offline.lexicon` (0 to 1), scaled down while the scene
  has fewer than two topic words (a thin profile is weak evidence);
- continuity: :data:`CONTINUITY_BONUS` for the scenes talked about last
  (0.5 for the very last, less for the two before), because conversations
  tend to stay on a topic or come back to a recent one.

An exchange that names no topic word and no name at all never starts a
scene: with no evidence of a new topic, it stays in the last one.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .lexicon import is_common, topics_of
from .text import stem, terms

__all__ = ["CONTINUITY_BONUS", "JOIN_THRESHOLD", "SceneChoice", "choose_scene", "scene_name"]

JOIN_THRESHOLD = 1.0
CONTINUITY_BONUS = (0.5, 0.25, 0.15)
#: A word counts fully once the scene has used it this many times (an aside counts half).
_CHARACTERISTIC = 2
#: A name both share ("Jonas", "Lisbon") is strong evidence, whatever the exchange's length.
_NAME_WEIGHT = 1.0
#: A scene's topic profile counts fully once it holds this many topic words.
_TOPIC_EVIDENCE = 2.0

_POSSESSED = re.compile(r"\b(?:my|our|your|his|her|their)\s+(\w+)", re.IGNORECASE)
_DETERMINED = re.compile(r"\bthe\s+(\w+)", re.IGNORECASE)
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]+(?:[A-Z][a-z]+)*)\b")


@dataclass(frozen=True)
class SceneChoice:
    """The chosen scene, whether it is new, and the score that decided it."""

    scene: str
    is_new: bool
    score: float


def _proper_stems(text: str) -> set[str]:
    return {stem(m.group(1)) for m in _CAPITALISED.finditer(text)}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    dot = sum(value * b.get(key, 0.0) for key, value in a.items())
    if not dot:
        return 0.0
    return dot / (math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values())))


def _stems(text: str, exclude: set[str]) -> list[str]:
    return [s for s in (stem(t) for t in terms(text)) if not is_common(s) and s not in exclude and len(s) > 1]


def choose_scene(
    text: str,
    scenes: Sequence[tuple[str, str]],
    *,
    exclude: Sequence[str] = (),
) -> SceneChoice:
    """Pick the scene for ``text`` among ``scenes`` ((name, description), most recently active first).

    :param exclude: words never used to match or name (the speakers' names).
    """
    excluded = {stem(w) for w in exclude}
    words = _stems(text, excluded)
    proper = _proper_stems(text) - excluded
    word_set = set(words)
    topics = topics_of(words)
    best: SceneChoice | None = None
    for position, (name, summary) in enumerate(scenes):
        named = _stems(name.replace("-", " "), excluded)
        counts = Counter(_stems(summary, excluded) + named + named)  # the scene's name counts twice
        shared = word_set & set(counts)
        names = {w for w in shared if w in proper or w in _proper_stems(summary)}
        weight = sum(min(1.0, counts[w] / _CHARACTERISTIC) for w in shared - names)
        score = len(names) * _NAME_WEIGHT + weight / math.sqrt(max(len(word_set), 4))
        scene_topics = topics_of(_stems(name.replace("-", " ") + " " + summary, excluded))
        confidence = min(1.0, sum(scene_topics.values()) / _TOPIC_EVIDENCE)
        score += _cosine(topics, scene_topics) * confidence
        if position < len(CONTINUITY_BONUS):
            score += CONTINUITY_BONUS[position]
        if best is None or score > best.score:
            best = SceneChoice(name, False, round(score, 3))
    if best is not None and best.score >= JOIN_THRESHOLD:
        return best
    if scenes and not topics and not proper:
        # nothing here names a topic ("A sensible call, the mountains will wait"):
        # no evidence of a new one either, so the conversation stays where it was
        return SceneChoice(scenes[0][0], False, best.score if best else 0.0)
    return SceneChoice(scene_name(text, exclude=exclude), True, best.score if best else 0.0)


def scene_name(text: str, *, exclude: Sequence[str] = (), max_words: int = 2) -> str:
    """A short kebab-case name from the key terms of ``text``.

    Terms score by how often they occur, +1 if the topic lexicon knows them,
    +0.8 for a proper name, +1 after a possessive ("my thesis") or +0.5
    after "the", +0.3 for long words, -0.5 for words that look like verb
    forms; the best ``max_words`` are joined in text order.
    """
    excluded = {stem(w) for w in exclude}
    proper = _proper_stems(text)
    possessed = {stem(m.group(1)) for m in _POSSESSED.finditer(text)}
    determined = {stem(m.group(1)) for m in _DETERMINED.finditer(text)}
    surface: dict[str, str] = {}
    counts: dict[str, int] = {}
    order: dict[str, int] = {}
    for word in terms(text):
        key = stem(word)
        if is_common(key) or key in excluded or len(key) < 3:
            continue
        surface.setdefault(key, word)
        counts[key] = counts.get(key, 0) + 1
        order.setdefault(key, len(order))
    if not counts:
        return "general"

    def score(key: str) -> float:
        word = surface[key]
        value = float(counts[key])
        value += 1.0 if topics_of([key]) else 0.0
        value += 0.8 if key in proper else 0.0
        value += 1.0 if key in possessed else 0.5 if key in determined else 0.0
        value += 0.3 if len(word) >= 6 else 0.0
        if word.endswith(("ing", "ed")) and not topics_of([key]):
            value -= 0.5
        return value

    ranked = sorted(counts, key=lambda k: (-score(k), order[k]))[:max_words]
    ranked.sort(key=lambda k: order[k])
    return "-".join(surface[k] for k in ranked)
