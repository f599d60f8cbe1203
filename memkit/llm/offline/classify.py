"""Cell type and salience from cue phrases and simple features.

The rules are deliberately readable: each cell type has a list of cue
patterns, checked in a fixed order of precedence, and salience is a base
value per type adjusted by features anyone can see in the sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["BASE_SALIENCE", "TYPE_CUES", "Classification", "classify", "salience_of"]


def _cues(*patterns: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b", re.IGNORECASE)


_IMPERATIVE_VERBS = (
    "add|ask|book|bring|buy|call|cancel|check|clean|contact|create|email|file|finish|fix|follow up|"
    "get|install|invite|look into|make sure|order|pay|pick up|prepare|print|remind|renew|reply|"
    "reserve|review|schedule|send|set up|sign|submit|text|update|upload|write|draft|migrate|deploy|"
    "test|move|pack|plan|register|apply|confirm|arrange|organize|organise|collect|return|mail"
)

#: Cue patterns per cell type. A sentence takes the first type, in
#: :data:`PRECEDENCE` order, whose cues it contains; "fact" is the default.
TYPE_CUES: dict[str, re.Pattern[str]] = {
    "decision": _cues(
        r"decided",
        r"decide to",
        r"we'?ve decided",
        r"agreed",
        r"agree to",
        r"chose",
        r"chosen",
        r"settled on",
        r"opted",
        r"went with",
        r"going with",
        r"go with",
        r"switched to",
        r"switching to",
        r"picked",
        r"let'?s (?:use|go|do|keep|stick)",
        r"final decision",
        r"confirmed",
        r"we'?ll use",
        r"will use",
        r"committed to",
        r"signed off",
    ),
    "risk": _cues(
        r"risks?",
        r"risky",
        r"danger\w*",
        r"worr(?:y|ied|ies)",
        r"concern(?:ed|s)?",
        r"afraid",
        r"delay(?:ed|s)?",
        r"problems?",
        r"injur\w*",
        r"hurt\w*",
        r"pain\w*",
        r"fail\w*",
        r"late",
        r"miss(?:ed|ing)? (?:the |a |my |our )?\w*\s?deadline",
        r"could miss",
        r"might miss",
        r"overrun",
        r"over budget",
        r"behind schedule",
        r"unsafe",
        r"threat\w*",
        r"warn\w*",
        r"broken",
        r"breaks? down",
        r"run out",
        r"running out",
        r"shortage",
        r"allerg\w*",
        r"vulnerab\w*",
        r"outage",
        r"bug",
        r"crash\w*",
        r"sick",
        r"ill",
    ),
    "task": _cues(
        r"need to",
        r"needs to",
        r"have to",
        r"has to",
        r"had better",
        r"must",
        r"got to",
        r"gotta",
        r"remember to",
        r"don'?t forget",
        r"do not forget",
        r"to-?do",
        r"reminder",
        r"remind me",
        r"due (?:by|on|before|next|this|tomorrow|today|in)",
        r"i should",
        r"we should",
        r"make sure",
        r"todo",
    ),
    "preference": _cues(
        r"prefer\w*",
        r"(?:i|we|they|he|she|you)(?: really| also| do| don'?t| still| just| would)? "
        r"(?:like|love|enjoy|hate)",
        r"likes",
        r"loves",
        r"enjoy\w*",
        r"hates",
        r"dislike\w*",
        r"can'?t stand",
        r"favou?rite",
        r"rather",
        r"fan of",
        r"keen on",
        r"not a fan",
        r"doesn'?t like",
        r"fond of",
        r"adore\w*",
        r"would like",
        r"i'?d like",
        r"wish",
    ),
    "plan": _cues(
        r"plan\w*",
        r"going to",
        r"gonna",
        r"will",
        r"i'?ll",
        r"we'?ll",
        r"intend\w*",
        r"aim\w* to",
        r"hope to",
        r"want to",
        r"wants to",
        r"next (?:week|month|year|time|quarter|sprint)",
        r"schedul\w*",
        r"training for",
        r"preparing for",
        r"tomorrow",
        r"upcoming",
        r"soon",
        r"by (?:january|february|march|april|may|june|july|august|september|october|november|december)",
        r"later this",
        r"this (?:weekend|summer|winter|spring|autumn|fall)",
        r"should",
        r"roadmap",
        r"goal",
        r"target",
    ),
}

_IMPERATIVE = re.compile(rf"^(?:please\s+)?(?:{_IMPERATIVE_VERBS})\b", re.IGNORECASE)
_WEAK_RISK = _cues(r"might", r"could", r"may not", r"if")
_NEGATIVE_OUTCOME = _cues(r"not (?:finish|make|arrive|work|be ready)", r"miss", r"lose", r"losing", r"slip")

#: The order in which cues are checked when a sentence has several.
PRECEDENCE: tuple[str, ...] = ("decision", "risk", "task", "preference", "plan")

#: Starting salience of each type, before features adjust it.
BASE_SALIENCE: dict[str, float] = {
    "decision": 0.7,
    "risk": 0.7,
    "task": 0.65,
    "plan": 0.6,
    "preference": 0.55,
    "fact": 0.5,
}

_NUMBER = re.compile(r"\d")
_MONTHS_DAYS = re.compile(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|"
    r"may|june|july|august|september|october|november|december|today|tomorrow|tonight|yesterday|"
    r"week|month|year)\b",
    re.IGNORECASE,
)
_EMPHASIS = _cues(
    r"important",
    r"critical",
    r"crucial",
    r"essential",
    r"always",
    r"never",
    r"urgent",
    r"asap",
    r"deadline",
    r"definitely",
    r"key",
    r"priority",
    r"must",
    r"really",
    r"absolutely",
    r"serious\w*",
)
_HEDGE = _cues(r"maybe", r"perhaps", r"i think", r"i guess", r"not sure", r"possibly", r"kind of", r"sort of")
_PROPER = re.compile(r"(?<=[a-z,;:] )[A-Z][a-zA-Z]+")


@dataclass(frozen=True)
class Classification:
    """A sentence's cell type and the cue that decided it (``None`` for the fact default)."""

    cell_type: str
    cue: str | None


def classify(sentence: str, cell_types: tuple[str, ...] | list[str] | None = None) -> Classification:
    """The cell type of a sentence, by the first matching cue in precedence order."""
    allowed = set(cell_types) if cell_types else None

    def ok(kind: str) -> bool:
        return allowed is None or kind in allowed

    if ok("task"):
        imperative = _IMPERATIVE.search(sentence)
        if imperative:  # an order ("Email the landlord...") is a task whatever else it mentions
            return Classification("task", imperative.group())
    for kind in PRECEDENCE:
        if not ok(kind):
            continue
        if kind == "risk":
            match = TYPE_CUES["risk"].search(sentence)
            weak = _WEAK_RISK.search(sentence)
            if match and (match.group().lower() not in ("late", "ill", "bug") or weak):
                return Classification("risk", match.group())
            if weak and _NEGATIVE_OUTCOME.search(sentence):
                return Classification("risk", weak.group())
            continue
        match = TYPE_CUES[kind].search(sentence)
        if match:
            return Classification(kind, match.group())
    return Classification("fact" if ok("fact") else next(iter(sorted(allowed or {"fact"}))), None)


def salience_of(sentence: str, cell_type: str) -> float:
    """Salience in [0.05, 0.95]: the type's base, adjusted by visible features.

    +0.10 for a number, date or day; +0.05 for a proper name (not a day or month); +0.10 for
    emphasis ("important", "never", "deadline"); -0.10 for hedging
    ("maybe", "I think"); -0.10 for a very short sentence.
    """
    value = BASE_SALIENCE.get(cell_type, 0.5)
    if _NUMBER.search(sentence) or _MONTHS_DAYS.search(sentence):
        value += 0.10
    if any(not _MONTHS_DAYS.fullmatch(name) for name in _PROPER.findall(sentence)):
        value += 0.05
    if _EMPHASIS.search(sentence):
        value += 0.10
    if _HEDGE.search(sentence):
        value -= 0.10
    if len(sentence.split()) < 5:
        value -= 0.10
    return round(min(0.95, max(0.05, value)), 2)
