"""The offline engine's replies, built from what memory recalled and nothing else.

A **question** is read for what it asks about (its *focus*: nouns, names,
verbs; "which company" asks for a company, so "company" need not be
matched) and what kind of value would answer it ("when": a date or time;
"how much": an amount). Each recalled cell is scored by how much of the
focus it covers, with a bonus when it holds a value of the asked kind. The
best cell answers; a question with two parts ("who ..., and which ...")
gets the best cell for each. When no recalled cell covers a focus noun, or
the question asks for a kind of value none of the matching cells holds,
the answer says memory holds nothing about it, instead of offering loosely
related cells. When the answering cell replaced an older one, the answer
says so.

A **statement** is acknowledged with what the engine reads in it (what
memory will keep), or with nothing to keep.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .facts import Facts, has_phrase
from .nlp import parse
from .statements import Reading, Statement
from .summarise import near_duplicate
from .vocabulary import Vocabulary
from .wording import normalise

if TYPE_CHECKING:
    from spacy.tokens import Token
__all__ = ["FROM_MEMORY", "MEMORY_REPORTS", "NOTED", "NOTHING", "compose_answer"]

#: How the offline engine's replies report what memory holds. What follows
#: one of these in a reply is recalled memory, not news: extraction skips it.
NOTED = "Noted:"
FROM_MEMORY = "From memory:"
NOTHING = "I have nothing in memory"
NOTHING_TO_KEEP = "Nothing to remember there."
LINKED = "Linked in memory:"
CHANGED = "(This was updated: it replaces an earlier note.)"
MEMORY_REPORTS = (NOTED, FROM_MEMORY, NOTHING, NOTHING_TO_KEEP, LINKED)

_WH = frozenset({"what", "when", "where", "who", "whom", "whose", "which", "why", "how"})
_OPENERS = (
    "do ",
    "does ",
    "did ",
    "is ",
    "are ",
    "was ",
    "were ",
    "can ",
    "could ",
    "should ",
    "would ",
    "will ",
    "have ",
    "has ",
    "any ",
    "tell me",
    "remind me",
    "list ",
    "show me",
    "summari",
    "recall ",
)
_PART_SPLIT = re.compile(r",?\s+and\s+(?=(?:what|when|where|who|whose|which|how|why)\b)", re.IGNORECASE)
_FOCUS_POS = {"NOUN": 2.0, "PROPN": 2.0, "VERB": 1.5, "ADJ": 1.0, "NUM": 2.0}
#: The verb a question is built on ("who is *handling* it", "when do I *start*") is what it asks about.
ROOT_VERB_WEIGHT = 3.0
#: Kinds of value without which a cell cannot answer ("when" needs a date, "how much" an amount).
_REQUIRED = frozenset({"DATE", "TIME", "MONEY", "CARDINAL", "QUANTITY", "PERCENT", "ORDINAL"})
_WEAK_VERBS = frozenset(["be", "have", "do", "get", "go", "make", "say", "tell", "know", "think", "use", "take"])
#: How much being the most recently stored of the recalled cells counts.
RECENCY = 0.05
#: A cell must cover at least this share of a question's focus to answer it.
MIN_COVER = 0.34


@dataclass(frozen=True)
class _Question:
    text: str
    focus: dict[str, float]
    nouns: frozenset[str]
    kinds: tuple[str, ...]
    about: str
    #: Nouns that say which one of a thing is asked about ("*dentist* appointment"): memory must know one.
    qualifiers: frozenset[str] = frozenset()


def is_question(text: str) -> bool:
    """Whether ``text`` asks something ("whats the plan" as much as "What's the plan?")."""
    stripped = text.strip().lower().replace("’", "'")
    first = re.split(r"[\s']", stripped, maxsplit=1)[0]
    first = first[:-1] if first.endswith("s") and first[:-1] in _WH else first
    return stripped.endswith("?") or first in _WH or stripped.startswith(_OPENERS)


def _read_question(text: str, vocabulary: Vocabulary) -> _Question:
    doc = parse(normalise(text, vocabulary))
    low = " ".join(t.lower_ for t in doc)
    kinds: tuple[str, ...] = ()
    for phrase in sorted(vocabulary.asked_kinds, key=len, reverse=True):
        if re.search(rf"\b{re.escape(phrase)}\b", low):
            kinds = vocabulary.asked_kinds[phrase]
            break
    if not kinds and any(t.lemma_.lower() in vocabulary.money_words for t in doc):
        kinds = ("MONEY",)  # "what is the reno costing", "what's the budget": an amount of money
    if not kinds and any(t.lemma_.lower() in vocabulary.date_words and t.pos_ == "NOUN" for t in doc):
        kinds = ("DATE", "TIME")  # "what's the date of the wedding": a date
    focus: dict[str, float] = {}
    nouns: set[str] = set()
    about_tokens: list[Token] = []
    for t in doc:
        lemma = t.lemma_.lower()
        weight = _FOCUS_POS.get(t.pos_)
        if (
            weight is None
            or (t.is_stop and t.pos_ not in ("NUM",))
            or lemma in _WEAK_VERBS
            or t.lower_ in ("i", "me", "my", "we", "our", "us")
        ):
            continue
        if (
            lemma in vocabulary.small_talk
            or lemma in ("now", "currently", "still")
            or (lemma == "right" and t.i + 1 < len(doc) and doc[t.i + 1].lower_ == "now")
        ):
            continue
        if t.pos_ in ("NOUN", "PROPN") and lemma in vocabulary.vague_nouns:
            continue  # "the rest of our things" asks about nothing in particular
        if t.dep_ == "ROOT" and t.pos_ == "VERB":
            weight = ROOT_VERB_WEIGHT
        if (
            t.pos_ in ("NOUN", "PROPN")
            and lemma in vocabulary.category_nouns
            and any(c.lower_ in _WH for c in t.children)
        ):
            continue  # "which company": asks for a company, needs not match the word
        if t.pos_ in ("NOUN", "PROPN") and lemma in vocabulary.category_nouns and t.i > 0 and t.nbor(-1).lower_ in _WH:
            continue
        if kinds and lemma in vocabulary.date_words:
            continue  # "the date of the wedding" asks for a date, which need not say "date"
        if t.pos_ == "VERB":
            lemma = vocabulary.verb_class(lemma) or lemma  # "want" is matched by "prefer" too
        focus[lemma] = max(focus.get(lemma, 0.0), weight)
        if t.pos_ in ("NOUN", "PROPN") and lemma not in vocabulary.vague_nouns:
            nouns.add(lemma)
            about_tokens.append(t)
    about = " ".join(t.text for t in about_tokens[:4]) or text.strip().rstrip("?")
    qualifiers = frozenset(
        t.lemma_.lower()
        for t in about_tokens
        if t.dep_ == "compound"
        and t.head.pos_ in ("NOUN", "PROPN")
        and t.head.lemma_.lower() in nouns
        and t.head.dep_ in ("nsubj", "nsubjpass", "attr", "dobj", "ROOT")  # the thing asked about, not a detail
    )
    return _Question(text, focus, frozenset(nouns), kinds, about, qualifiers)


_CONTEXT_WORD = re.compile(r"[a-z0-9]+")
#: A focus word found only in the words around a cell (not in the cell) counts this much.
CONTEXT_CREDIT = 0.5


def _have(facts: Facts, scene: str, vocabulary: Vocabulary) -> set[str]:
    have = set(facts.words | facts.anchors | facts.subject | set(scene.split("-")) | {v.key for v in facts.values})
    return have | {marker for word in facts.words if (marker := vocabulary.verb_class(word))}


def _around(context: str) -> set[str]:
    words = set(_CONTEXT_WORD.findall(context.lower()))
    return words | {w[:-1] for w in words if w.endswith("s") and len(w) > 3}


def _cover(question: _Question, have: set[str], around: set[str]) -> float:
    total = sum(question.focus.values()) or 1.0
    found = sum(
        w if lemma in have else CONTEXT_CREDIT * w if lemma in around else 0.0 for lemma, w in question.focus.items()
    )
    return found / total


#: How many of the statements read in a message the acknowledgement repeats.
NOTED_SHOWN = 3


def _tells_change(content: str, vocabulary: Vocabulary) -> bool:
    words = re.findall(r"[a-z']+", content.lower())
    verbs = vocabulary.end_verbs | vocabulary.change_verbs | vocabulary.replace_verbs
    said = has_phrase(content, (*vocabulary.end_phrases, *vocabulary.replace_phrases))
    return bool(said) or any(w.startswith(v) and len(w) - len(v) <= 3 for w in words for v in verbs)


def _noted(statements: Sequence[Statement]) -> str:
    """What memory will keep, as it will keep it (the first few statements, and how many more)."""
    shown = " ".join(s.content for s in statements[:NOTED_SHOWN])
    more = len(statements) - NOTED_SHOWN
    return shown + (f" (and {more} more)" if more > 0 else "")


def compose_answer(
    text: str,
    hits: Sequence[tuple[str, str, float, bool, str]],
    scenes: Sequence[tuple[str, str]],
    linked: Sequence[tuple[str, str]],
    *,
    facts_of: Callable[[str], Facts],
    reading: Callable[[str, Sequence[str]], Reading],
    vocabulary: Vocabulary,
    changed: Sequence[bool] = (),
    contexts: Sequence[str] = (),
    order: Sequence[int] = (),
) -> str:
    """Reply to ``text`` from recalled ``hits`` (type, content, score, matched, scene) and ``linked`` cells
    (link kind, content), as the module docstring describes.

    :param facts_of: reads a cell's content (cached by the engine).
    :param reading: reads a message into statements, given what was said before (to acknowledge one).
    :param changed: for each hit, whether it replaced an older cell.
    :param contexts: for each hit, the words around it where it was said.
    :param order: for each hit, a number that grows with when it was stored (its id).
    """
    if not is_question(text):
        before = [h[1] for h in sorted(hits, key=lambda h: not h[3])][:2]  # what it may lean on
        statements = reading(text, before).statements
        if not statements:
            return NOTHING_TO_KEEP
        return f"{NOTED} " + _noted(statements)
    parts = [p for p in _PART_SPLIT.split(text.strip()) if p.strip()] or [text]
    ranks = {number: position for position, number in enumerate(sorted(order))}
    newness = [ranks[order[i]] / max(1, len(order) - 1) if i < len(order) else 0.0 for i in range(len(hits))]
    pool = [
        (h, changed[i] if i < len(changed) else False, contexts[i] if i < len(contexts) else "", newness[i])
        for i, h in enumerate(hits)
        if h[3]
    ]
    pool += [(("fact", content, 0.0, True, ""), False, "", 0.0) for _, content in linked]
    reasons = [(kind, content) for kind, content in linked if kind in ("cause", "follows-from")]
    answers: list[str] = []
    used: set[str] = set()
    read = [(_have(facts_of(h[1]), h[4], vocabulary), _around(context)) for h, _, context, _ in pool]
    known = frozenset().union(*(have | around for have, around in read))
    for part in parts:
        question = _read_question(part, vocabulary)
        # "my dentist appointment" when nothing recalled says "dentist": another appointment does not answer
        unknown_kind = bool(question.qualifiers) and not question.qualifiers & known
        best: tuple[float, str, bool] | None = None
        for rank, ((_, content, _score, _matched, _scene), was_changed, _context, new) in enumerate(pool):
            facts = facts_of(content)
            have, around = read[rank]
            fits = bool(question.kinds and set(question.kinds) & facts.value_kinds())
            named = not question.nouns or question.nouns & have or (fits and question.nouns & around)
            cover = _cover(question, have, around)
            if not named or cover < MIN_COVER:
                continue
            if unknown_kind:
                continue
            if not fits and set(question.kinds) <= _REQUIRED and question.kinds:
                continue  # "when" wants a date, "how much" an amount: a cell without one cannot answer
            # between cells that answer alike, the later one is more likely still true
            value = cover + (0.5 if fits else 0.0) - 0.02 * rank + RECENCY * new
            if best is None or value > best[0]:
                best = (value, content, was_changed)
        if best is None:
            answers.append(f"{NOTHING} about {question.about}.")
            continue
        _, content, was_changed = best
        if content in used:
            continue
        used.add(content)
        # say that it changed, unless the cell says so itself ("Maya cancelled the hike")
        tells = _tells_change(content, vocabulary)
        answers.append(content.strip() + (f" {CHANGED}" if was_changed and not tells else ""))
    if all(a.startswith(NOTHING) for a in answers):
        return " ".join(answers)
    reply = f"{FROM_MEMORY} " + " ".join(answers)
    asked = _read_question(text, vocabulary)
    why = next(
        (
            c
            for kind, c in reasons
            if c not in used
            and not any(near_duplicate(c, u, 0.6) for u in used)
            # a cause explains the answer; what follows from it only when it is about what was asked
            and (kind == "cause" or asked.nouns & (facts_of(c).anchors | facts_of(c).words))
        ),
        None,
    )
    if why is not None:  # a cause or a consequence linked to the answer, about what was asked, explains it
        reply += f" {LINKED} {why.strip()}"
    return reply
