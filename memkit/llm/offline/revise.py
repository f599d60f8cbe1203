"""Whether a new cell repeats, changes or relates to a cell memory already holds.

The extraction request lists related stored cells by number. For each new
cell the engine picks an action by these rules, in order:

1. **change**: the sentence has a change cue (:data:`CHANGE_CUES`: "moved
   from X to", "switched to", "instead of X", "changed my mind", "no longer",
   "cancelled", ...). The target is the listed cell that mentions the old
   value the cue names (X); when the cue names one that no listed cell
   mentions, the change is about something memory does not hold and nothing
   is targeted. A cue naming no old value targets the closest listed cell
   that shares a subject word with the new one. Replacement cues give ``update``; they may also
   target a cell close in topic only, if close enough
   (:data:`CHANGE_CLOSENESS`: "switched to tea" replaces "prefers coffee").
   Ending cues give ``supersede`` and need a shared word: ending something
   must name it. A listed cell the new one only repeats is never the target.
2. **opposite**: the same statement as a listed cell, but one of the two is
   negated ("likes coffee" / "does not like coffee"): ``supersede``.
3. **repeat**: a near-duplicate of a listed cell with the same numbers, or
   its subject words are a subset of at least half of one's (it adds
   nothing): ``reinforce``.
   The same statement with other numbers ("15,000 euros" / "20,000 euros")
   is a new value: ``update``.
4. **detail**: a listed cell of a compatible type says a strict subset of it
   (numbers included): ``update`` (the richer cell replaces the poorer).
A cue that says nothing of the new value ("I changed my mind about the
cabinets.", "Scratch that.", :data:`CARRIED_CUES`) applies to the next
sentence of the same message, which says it ("I prefer oak now.").

5. **related**: it shares :data:`LINK_SHARED` subject words with a listed
   cell, at least a third of the smaller cell's (one word is enough with a
   cause or consequence cue): ``add`` with a link,
   ``cause`` after "because"/"due to", ``follows-from`` after "so"/"that's
   why", ``same-subject`` otherwise.
6. otherwise a plain ``add``.

*Subject words* are a cell's content-word stems, minus generic words, the
speakers' names and the cue words themselves. *Closeness* to a listed cell
adds 2 per shared subject word, the cosine of the two topic profiles of
:mod:`memkit.llm.offline.lexicon` (0 to 1), and 0.5 when the cell types are
compatible (:data:`COMPATIBLE_TYPES`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from .lexicon import is_common, topics_of
from .summarise import near_duplicate
from .text import stem, terms

__all__ = [
    "CARRIED_CUES",
    "CAUSE_CUES",
    "CHANGE_CLOSENESS",
    "CHANGE_CUES",
    "COMPATIBLE_TYPES",
    "CONSEQUENCE_CUES",
    "Change",
    "carried_change",
    "decide",
]

#: A listed cell as the request carries it: (number, cell_type, scene, content).
Listed = tuple[int, str, str, str]
#: A change cue found in a sentence: (action, the cue's words, the old value it names or None).
Change = tuple[str, str, str | None]

_OLD = r"(?!(?:because|since|as|due|so)\b)(?P<old>[^,.;:!?]+?)"
_END = r"(?=$|[,.;:!?]|\s+(?:and|but|because|since|as|so|for|now)\b)"
_STOP_VERBS = r"cancel(?:l?ed|s|ling)?|called off|scrapped|dropped|abandoned|gave up|given up|quit|stopped"


def _cue(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


#: (action, pattern) pairs, checked in order; the first that matches decides.
#: A named group ``old`` captures the value being replaced or ended.
CHANGE_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "update",
        _cue(
            r"\b(?:moved|moving|relocated|switched|switching|changed|changing|went|gone|upgraded|migrated|"
            rf"migrating|converted|transferred)\b(?:\s+\w+){{0,3}}?\s+from\s+{_OLD}\s+(?:to|into|for)\b"
        ),
    ),
    ("update", _cue(rf"\binstead of\s+{_OLD}{_END}")),
    ("update", _cue(rf"\brather than\s+{_OLD}{_END}")),
    ("update", _cue(rf"\breplac(?:ed|ing|es|e)\s+{_OLD}\s+(?:with|by)\b")),
    ("update", _cue(r"\bchanged? (?:my|our|his|her|their) minds?\b")),
    ("update", _cue(r"\b(?:switched|switching|moved|moving|changed|changing) (?:over )?to\b")),
    ("update", _cue(r"\b(?:postponed|rescheduled|pushed back|brought forward)\b")),
    ("update", _cue(r"\bnow (?:prefers?|likes?|loves?|wants?|uses?|lives?|works?|drinks?|eats?|has|costs?)\b")),
    ("update", _cue(r"\b(?:is|are|am|'s|'re|'m|was|were) now\b")),
    ("update", _cue(r"^(?:actually|correction|scratch that|update|change of plans?)\b")),
    (
        "supersede",
        _cue(
            rf"\b(?:the|my|our|his|her|their)\s+{_OLD}\s+(?:is|was|are|were|has been|have been|got)\s+"
            r"(?:cancel(?:l?ed)|called off|scrapped|off)\b"
        ),
    ),
    ("supersede", _cue(rf"\b(?:{_STOP_VERBS})\s+(?:(?:the|my|our|his|her|their|that|this)\s+)?{_OLD}{_END}")),
    ("supersede", _cue(rf"\bno longer\s+{_OLD}{_END}")),
    ("supersede", _cue(rf"(?:\bnot|n't|\bnever)\s+{_OLD}\s+any ?more\b")),
    ("supersede", _cue(r"\b(?:cancel(?:l?ed|s|ling)?|called off|no longer|any ?more|not happening)\b")),
)

#: Change cues that announce a change without saying the new value: they
#: apply to the next sentence of the same message.
CARRIED_CUES = _cue(
    r"\bchanged? (?:my|our|his|her|their) minds?\b|^(?:correction|scratch that|update|change of plans?)\W*$"
    r"|\bchange of plans?\b"
)

#: A new cell giving the cause of a listed one.
CAUSE_CUES = _cue(r"\b(?:because|due to|caused by|the reason)\b")
#: A new cell following from a listed one.
CONSEQUENCE_CUES = _cue(r"^(?:so|therefore|thus|hence)\b|\b(?:that'?s why|as a result|which means|so (?:we|i))\b")

#: Cell types that can describe the same thing.
COMPATIBLE_TYPES: tuple[frozenset[str], ...] = (
    frozenset({"preference", "decision"}),
    frozenset({"plan", "task", "decision"}),
)
#: The closeness a change needs to target a cell without naming its old value.
CHANGE_CLOSENESS = 1.5
#: Shared subject words that make two cells related.
LINK_SHARED = 2

_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_NEGATION = _cue(r"\b(?:not|no|never|none|nothing|nobody|neither|nor|without|cannot)\b|n't\b")
#: Words of the cues themselves, which never count as subject words.
CUE_WORDS_TEXT = """moved moving move relocated switched switching switch changed changing change mind minds
    cancelled canceled cancel cancels cancelling called longer instead rather replaced replace anymore actually
    now scrapped dropped abandoned gave given quit stopped postponed rescheduled pushed brought correction scratch
    happening"""
_CUE_WORDS = frozenset(stem(w) for w in CUE_WORDS_TEXT.split())


def _subject(text: str, exclude: frozenset[str]) -> dict[str, str]:
    """Subject word stems of ``text``, each with the word it was found as."""
    found: dict[str, str] = {}
    for word in terms(text.replace("’", "'")):
        key = stem(word)
        if len(key) > 1 and not is_common(key) and key not in exclude and key not in _CUE_WORDS:
            found.setdefault(key, word)
    return found


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    dot = sum(value * b.get(key, 0.0) for key, value in a.items())
    if not dot:
        return 0.0
    return dot / (math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values())))


def _compatible(a: str, b: str) -> bool:
    return a == b or any(a in group and b in group for group in COMPATIBLE_TYPES)


def _closeness(words: set[str], kind: str, other: set[str], other_kind: str) -> float:
    score = 2.0 * len(words & other) + _cosine(topics_of(sorted(words)), topics_of(sorted(other)))
    return score + (0.5 if _compatible(kind, other_kind) else 0.0)


def _quoted(keys: set[str], words: dict[str, str]) -> str:
    return ", ".join(f"'{words[k]}'" for k in sorted(keys))


def carried_change(sentence: str) -> Change | None:
    """The change cue of ``sentence`` if it is one that applies to the next sentence."""
    said = sentence.replace("’", "'").strip()
    return _change(said) if CARRIED_CUES.search(said) else None


def _change(sentence: str) -> Change | None:
    """(action, cue text, old value) for the first change cue in ``sentence``."""
    for action, pattern in CHANGE_CUES:
        match = pattern.search(sentence)
        if match:
            old = match.groupdict().get("old")
            return action, " ".join(match.group().split()), old
    return None


def decide(
    sentence: str,
    content: str,
    cell_type: str,
    listed: Sequence[Listed],
    *,
    exclude: Sequence[str] = (),
    change: Change | None = None,
) -> dict[str, Any]:
    """The decision fields for one new cell: ``action``, ``target``, ``relation``, ``reason``.

    :param sentence: what was said (cues are read here).
    :param content: the cell made of it (subject words are read here).
    :param listed: the stored cells shown, as (number, cell_type, scene, content).
    :param exclude: words that never count as subject (the speakers' names).
    :param change: a change cue carried from the sentence before (see :func:`carried_change`),
        used when this sentence has none of its own.
    Returns an empty dict for a plain add.
    """
    if not listed:
        return {}
    excluded = frozenset(stem(w) for w in exclude)
    said = sentence.replace("’", "'").strip()
    surface = _subject(content, excluded)
    words = set(surface)
    cells: list[tuple[int, str, str, set[str]]] = []
    for number, kind, _scene, text in listed:
        found = _subject(text, excluded)
        cells.append((number, kind, text, set(found)))
        for key, word in found.items():
            surface.setdefault(key, word)
    negated = bool(_NEGATION.search(content))
    numbers = set(_NUMBER.findall(content))

    def same(text: str, other: set[str]) -> bool:
        return near_duplicate(content, text) or (bool(words) and words == other)

    def repeats(text: str, other: set[str]) -> bool:
        agrees = negated == bool(_NEGATION.search(text)) and numbers == set(_NUMBER.findall(text))
        return agrees and same(text, other)

    change = _change(said) or change
    if change is not None:
        action, cue, old = change
        old_words = set(_subject(old, excluded)) if old else set()
        best: tuple[float, int, str] | None = None
        for number, kind, text, other in cells:
            if repeats(text, other):
                continue
            named = old_words & other
            shared = words & other
            if named:  # among cells naming the old value, the closest to the new cell wins
                score = 10.0 + 2.0 * len(named) + _closeness(words, cell_type, other, kind)
                why = f"names {_quoted(named, surface)} of cell {number}"
            elif old_words:
                continue
            elif shared:
                score = _closeness(words, cell_type, other, kind)
                why = f"shares {_quoted(shared, surface)} with cell {number}"
            elif action == "update" and _closeness(words, cell_type, other, kind) >= CHANGE_CLOSENESS:
                score, why = _closeness(words, cell_type, other, kind), f"is close in topic to cell {number}"
            else:
                continue
            if best is None or score > best[0]:
                best = (score, number, why)
        if best is not None:
            return {"action": action, "target": best[1], "reason": f"change cue '{cue}' {best[2]}"}
    for number, _kind, text, other in cells:
        if not same(text, other):
            continue
        if negated != bool(_NEGATION.search(text)):
            return {"action": "supersede", "target": number, "reason": f"says the opposite of cell {number}"}
        if numbers == set(_NUMBER.findall(text)):
            return {"action": "reinforce", "target": number, "reason": f"repeats cell {number}"}
        if numbers:
            return {"action": "update", "target": number, "reason": f"gives new numbers for cell {number}"}
    for number, _kind, text, other in cells:
        if (
            len(words) >= 2
            and words < other
            and 2 * len(words) >= len(other)
            and negated == bool(_NEGATION.search(text))
            and numbers <= set(_NUMBER.findall(text))
        ):
            return {"action": "reinforce", "target": number, "reason": f"adds nothing to cell {number}"}
    for number, kind, text, other in cells:
        if (
            len(other) >= 2
            and other < words
            and _compatible(cell_type, kind)
            and negated == bool(_NEGATION.search(text))
            and set(_NUMBER.findall(text)) <= numbers
        ):
            return {"action": "update", "target": number, "reason": f"adds detail to cell {number}"}
    relation = "cause" if CAUSE_CUES.search(said) else "follows-from" if CONSEQUENCE_CUES.search(said) else None
    needed = 1 if relation else LINK_SHARED
    best_link: tuple[int, int, set[str]] | None = None
    for number, _kind, _text, other in cells:
        shared = words & other
        enough = len(shared) >= needed and 3 * len(shared) >= min(len(words), len(other))
        if enough and (best_link is None or len(shared) > best_link[0]):
            best_link = (len(shared), number, shared)
    if best_link is None:
        return {}
    _, number, shared = best_link
    return {
        "action": "add",
        "target": number,
        "relation": relation or "same-subject",
        "reason": f"shares {_quoted(shared, surface)} with cell {number}",
    }
