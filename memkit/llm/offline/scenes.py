"""Which scene an exchange belongs to, and what to call a new one.

An exchange is described by the nouns and names of its statements (their
*anchors*); a scene by the anchors of its name, summary and recent cells.
The exchange joins the scene it scores best against, if the score reaches
:data:`JOIN_THRESHOLD`; otherwise it starts a new scene. The score adds:

- shared anchors: each counts 1 (a name: :data:`NAME_WEIGHT`), divided by
  the number of candidate scenes that also hold it (a word every scene uses
  tells them apart poorly), counted half if the scene used it only once;
  the sum is divided by the square root of the exchange's anchor count (a
  long message shares more by chance);
- shared area of life: the cosine of the two topic profiles
  (:data:`~memkit.llm.offline.vocabulary.TOPICS`), times :data:`TOPIC_WEIGHT`;
- continuity: :data:`CONTINUITY_BONUS` for the scene talked about last.

An exchange with no anchor at all ("sounds good, thanks") starts nothing:
it stays in the last scene.

A new scene is named as a person would name it, from the first exchange:
a heading or topic marker ("staff: ...", "regarding accommodation, ..."),
else the most topical noun phrase of its first statement (a compound such as
"book club", a "trip to Kyoto"), never a person's name alone.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...types import normalise_scene
from .facts import Facts
from .statements import Statement
from .vocabulary import Vocabulary

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token
__all__ = [
    "CONTINUITY_BONUS",
    "JOIN_THRESHOLD",
    "NAME_WEIGHT",
    "PERSON_WEIGHT",
    "TOPIC_WEIGHT",
    "SceneChoice",
    "choose_scene",
    "scene_name",
]

JOIN_THRESHOLD = 0.5
NAME_WEIGHT = 1.5
#: People recur across topics (the same sister, the same colleague): they tie an exchange to a scene weakly.
PERSON_WEIGHT = 0.3
#: A person only one scene has mentioned so far (the contractor of the renovation) is likely part of its topic.
SINGLE_SCENE_PERSON_WEIGHT = 0.7
TOPIC_WEIGHT = 0.3
CONTINUITY_BONUS = 0.1
_MAX_NAME_WORDS = 3
#: A scene of this many statements has words of its own; a word it used once is then an aside.
_GROWN = 3
_CHARACTERISTIC = 2
_TRAVEL_HEADS = frozenset({"trip", "visit", "move", "flight", "holiday", "vacation", "journey", "tour"})


@dataclass(frozen=True)
class SceneChoice:
    """The chosen scene, whether it is new, the score that decided it, and the words it was matched on."""

    scene: str
    is_new: bool
    score: float
    shared: tuple[str, ...] = ()


def _topics(words: Counter[str], vocabulary: Vocabulary) -> dict[str, float]:
    found: dict[str, float] = {}
    for word, count in words.items():
        areas = vocabulary.topics_of(word)
        for area in areas:
            found[area] = found.get(area, 0.0) + count / len(areas)
    return found


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    dot = sum(v * b.get(k, 0.0) for k, v in a.items())
    if not dot:
        return 0.0
    return dot / (math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values())))


def choose_scene(
    statements: Sequence[Statement],
    scenes: Sequence[tuple[str, Sequence[Facts]]],
    *,
    names: frozenset[str] = frozenset(),
    people: frozenset[str] = frozenset(),
    vocabulary: Vocabulary,
    new_name: Callable[[], str],
) -> SceneChoice:
    """Pick the scene for an exchange's statements among ``scenes`` ((name, facts of its text), most
    recently active first).

    :param names: anchors that are names (a place, a firm, a product): they count :data:`NAME_WEIGHT`.
    :param people: anchors that are people: they count :data:`PERSON_WEIGHT`.
    :param new_name: called for the name when a new scene is started.
    """
    words: Counter[str] = Counter()
    for statement in statements:
        words.update(statement.facts.anchors | (statement.facts.subject - {"user"}))
    if not scenes:
        return SceneChoice(new_name(), True, 0.0)
    if not words:
        return SceneChoice(scenes[0][0], False, 0.0)
    profiles = []
    for name, facts in scenes:
        counts: Counter[str] = Counter()
        for item in facts:
            counts.update(item.anchors | (item.subject - {"user"}))
        for word in name.split("-"):  # the name is written as said ("oak-cabinets"), anchors are lemmas
            counts[word] += 2
            if word.endswith("s") and len(word) > 3:
                counts[word[:-1]] += 2
        profiles.append(counts)
    spread = Counter(word for counts in profiles for word in counts)
    mine = _topics(words, vocabulary)
    best: SceneChoice | None = None
    for position, ((name, facts), counts) in enumerate(zip(scenes, profiles, strict=True)):
        shared = set(words) & set(counts)
        # a word a grown scene used once is an aside; in a young scene every word is all it has
        usual = _CHARACTERISTIC if len(facts) >= _GROWN else 1
        weight = sum(_weight(word, names, people, spread) * min(1.0, counts[word] / usual) for word in shared)
        score = weight / math.sqrt(min(max(len(words), 3), 4))
        theirs = _topics(counts, vocabulary)
        confidence = min(1.0, sum(theirs.values()) / 3)
        score += TOPIC_WEIGHT * _cosine(mine, theirs) * confidence
        if position == 0:
            score += CONTINUITY_BONUS
        if best is None or score > best.score:
            best = SceneChoice(name, False, round(score, 3), tuple(sorted(shared)))
    assert best is not None
    if best.score >= JOIN_THRESHOLD:
        return best
    return SceneChoice(new_name(), True, best.score)


def _weight(word: str, names: frozenset[str], people: frozenset[str], spread: Counter[str]) -> float:
    """How much one shared word ties an exchange to a scene: a name more, a person seen in several
    scenes (the same sister in every topic) much less, and any word less the more scenes use it."""
    if word in people:
        base = PERSON_WEIGHT if spread[word] >= 2 else SINGLE_SCENE_PERSON_WEIGHT
    else:
        base = NAME_WEIGHT if word in names else 1.0
    return base / spread[word]


def scene_name(
    docs: Sequence[Doc], statements: Sequence[Statement], vocabulary: Vocabulary, taken: Sequence[str] = ()
) -> str:
    """A short kebab-case name for a new scene (see the module docstring)."""
    candidates: list[tuple[float, int, str]] = []
    for order, doc in enumerate(docs):
        for sent in doc.sents:
            first = [t for t in sent if not t.is_punct][:_MAX_HEADING_TOKENS]
            colon = next((i for i, t in enumerate(sent) if t.text == ":" and i <= _MAX_HEADING_TOKENS), None)
            if colon:
                heading = [
                    t
                    for t in sent[:colon]
                    if t.pos_ in ("NOUN", "PROPN") and t.lemma_.lower() not in vocabulary.heading_words
                ]
                if (
                    heading
                    and len(heading) <= _MAX_NAME_WORDS
                    and heading[0].lemma_.lower() not in vocabulary.typed_headings
                ):
                    candidates.append((10.0, order, _slug(heading)))
            announced = next((i for i, t in enumerate(first) if t.lower_ in ("update", "news")), None)
            if announced:  # "Guest list update, ...", "Kitchen news: ..."
                named = [t for t in first[:announced] if t.pos_ in ("NOUN", "PROPN", "ADJ") or t.tag_ == "VBG"]
                if named and len(named) <= _MAX_NAME_WORDS and not any(_relative(t, vocabulary) for t in named):
                    candidates.append((9.5, order, _slug(named)))
            for i, t in enumerate(first):
                if t.lower_ in ("regarding", "re", "about") and i + 1 < len(first):
                    noun = next((x for x in first[i + 1 :] if x.pos_ in ("NOUN", "PROPN")), None)
                    if noun is not None:
                        candidates.append((9.0, order, _slug(_phrase(noun))))
        for chunk in doc.noun_chunks:
            head = chunk.root
            lemma = head.lemma_.lower()
            if lemma in vocabulary.vague_nouns:  # "the caterer situation": the caterer
                head = next((c for c in reversed(list(head.lefts)) if c.dep_ == "compound"), head)
                lemma = head.lemma_.lower()
            if (
                head.pos_ not in ("NOUN", "PROPN")
                or lemma in vocabulary.vague_nouns
                or lemma in vocabulary.units  # "500 euros", "3 sprints": an amount, not a topic
                or head.ent_type_ in ("DATE", "TIME", "MONEY", "CARDINAL", "PERCENT", "QUANTITY")
            ):
                continue
            if head.pos_ == "PRON" or lemma in ("user",):
                continue
            score = 1.0
            score += 1.5 if vocabulary.topics_of(lemma) else 0.0
            score += (
                1.0
                if head.dep_ in ("nsubj", "nsubjpass", "dobj", "pobj") and head.head.dep_ in ("ROOT", "prep")
                else 0.0
            )
            score += 0.5 if any(c.dep_ == "compound" for c in head.children) else 0.0
            if _relative(head, vocabulary) or (lemma in vocabulary.person_nouns and not vocabulary.topics_of(lemma)):
                score -= 2.0
            score -= 0.2 * order
            name = _slug(_phrase(head))
            if lemma in _TRAVEL_HEADS:  # "a trip to Kyoto": trip-to-kyoto
                place = next(
                    (g for c in head.children if c.dep_ == "prep" for g in c.children if g.ent_type_ in ("GPE", "LOC")),
                    None,
                )
                if place is not None:
                    name = normalise_scene(f"{head.text} {place.head.text} {place.text}")
                    score += 2.0
            candidates.append((score, order * 100 + chunk.start, name))
    candidates = [c for c in candidates if c[2]]
    if not candidates:
        anchors = sorted({w for s in statements for w in s.facts.anchors})
        return normalise_scene("-".join(anchors[:2])) if anchors else "general"
    candidates.sort(key=lambda c: (-c[0], c[1]))
    for _, _, name in candidates:
        if name not in taken:
            return name
    return candidates[0][2]


_MAX_HEADING_TOKENS = 5


def _relative(token: Token, vocabulary: Vocabulary) -> bool:
    """A named person or a relative: in every topic, so never what one is about ("mum" in the caterer talk)."""
    return token.ent_type_ == "PERSON" or token.lemma_.lower() in vocabulary.family_nouns


def _phrase(head: Token) -> list[Token]:
    """The head noun with its compound nouns ("book club", "Blue Card"), at most three words."""
    compounds = [c for c in head.lefts if c.dep_ == "compound" and c.pos_ in ("NOUN", "PROPN")]
    return [*compounds[-(_MAX_NAME_WORDS - 1) :], head]


def _slug(tokens: Sequence[Token]) -> str:
    words = [t.text for t in tokens if (not t.is_punct and not t.is_stop) or t.pos_ in ("NOUN", "PROPN")]
    words = [w for w in words if w.lower() not in ("the", "a", "an", "my", "our")]
    return normalise_scene(" ".join(words[: _MAX_NAME_WORDS + 1])) if words else ""
