"""Text in and text out: chat shorthand written out before parsing, and spans
rendered back to text with some words replaced (first person made third
person, a pronoun replaced by what it stands for).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from .vocabulary import Vocabulary

if TYPE_CHECKING:
    from spacy.tokens import Span, Token
__all__ = ["finish", "normalise", "render", "third_person"]

_WORD = re.compile(r"(?<![\w'’/\-])([A-Za-z][A-Za-z0-9]*)(?![\w'’\-])")
_MONTHS = {
    "jan": "January",
    "feb": "February",
    "mar": "March",
    "apr": "April",
    "jun": "June",
    "jul": "July",
    "aug": "August",
    "sep": "September",
    "sept": "September",
    "oct": "October",
    "nov": "November",
    "dec": "December",
}
_FULL_MONTHS = {m.lower() for m in _MONTHS.values()} | {"may"}
_DAYS = {
    "mon": "Monday",
    "tue": "Tuesday",
    "tues": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "thur": "Thursday",
    "thurs": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
_FULL_DAYS = {d.lower() for d in _DAYS.values()}
#: Abbreviations that are also words: written out only beside a number or another day.
#: Tags and brackets (and their full-width look-alikes) carry no meaning in a message; the engine reads past them.
_TAG = re.compile(r"[<＜]/?([A-Za-z_]+)[^<>＜＞]*[>＞]")
_MARKUP = re.compile(r'[<>{}\[\]"＜＞｛｝［］]')
#: "its my turn": "its" before these is "it's".
_ITS = re.compile(
    r"\b([Ii]t)s(?=\s+(?:my|your|his|her|our|their|a|an|the|not|so|been|going|gonna|more|like|just|really|too|very|"
    r"ok|okay|fine|free|over|done|on|off|at|in|all|still|now|time|about|only|getting|probably|definitely)\b)"
)
#: "were reading it" at the start of a sentence is "we're reading it".
_WERE = re.compile(
    r"(?:(?<=^)|(?<=[.!?]\s)|(?<=\bso\s)|(?<=\band\s)|(?<=\bbut\s))([Ww])ere\s+(?=\w+ing\b|at\b|in\b|on\b|going\b|not\b|so\b)"
)
_AMBIGUOUS = {"sat", "sun", "mar", "dec", "jan"}
_NUMBER_NEAR = re.compile(r"^\s*(?:\d|the \d)|\d\s*$")
_MONTH_NEAR = re.compile(r"^\s*(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.IGNORECASE)


_SHOUTED = re.compile(r"\b[A-Z]{4,}\b")


def _unshouted(text: str) -> str:
    """Everyday words shouted in capitals written small ("FINISHED it!" is "finished it!"), so the parser
    does not read them as names; names and acronyms ("NASA", "UNICEF") and an all-capitals message stay."""
    from .nlp import is_common_word

    letters = [ch for ch in text if ch.isalpha()]
    if not letters or sum(ch.isupper() for ch in letters) > len(letters) / 2:
        return text
    return _SHOUTED.sub(lambda m: m.group().lower() if is_common_word(m.group().lower()) else m.group(), text)


def normalise(text: str, vocabulary: Vocabulary) -> str:
    """``text`` with chat shorthand written out, lone "i" as "I", and days and months spelt in full.

    ``"im off fri, appt w dr lee mar 3"`` becomes
    ``"I'm off Friday, appointment with dr lee March 3"``. Semicolons end sentences.
    """
    text = text.replace("’", "'").replace(";", ".")
    text = _MARKUP.sub(" ", _TAG.sub(r" \1 ", text))  # markup is not language: "</memory>" reads as "memory"
    text = re.sub(r"[ \t]+", " ", re.sub(r" +([.,!?;:])", r"\1", text)).strip()
    text = _ITS.sub(lambda m: m.group(1) + "'s", text)
    text = _WERE.sub(lambda m: ("W" if m.group(1) == "W" else "w") + "e're ", text)
    text = re.sub(r"\bw/(?=\s)", "with", text)
    text = _unshouted(text)

    def swap(match: re.Match[str]) -> str:
        word = match.group(1)
        low = word.lower()
        before, after = text[max(0, match.start() - 12) : match.start()], text[match.end() : match.end() + 12]
        if low in _MONTHS or low in _DAYS:
            near = _NUMBER_NEAR.search(after) or _NUMBER_NEAR.search(before) or _MONTH_NEAR.search(after)
            if low in _AMBIGUOUS and not near:
                return word
            return _MONTHS.get(low) or _DAYS[low]
        if low in _FULL_DAYS or (low in _FULL_MONTHS and low not in ("may", "march")):
            return word.capitalize()
        if low == "i":
            return "I"
        expansion = vocabulary.shorthand.get(low)
        if expansion is None or (word.isupper() and len(word) > 1):  # "HR" is not "hr"
            return word
        return expansion[0].upper() + expansion[1:] if word[0].isupper() else expansion

    return _WORD.sub(swap, text)


_BE = {"am": "is", "'m": "is", "are": "is", "'re": "is", "were": "was"}
_HAVE = {"have": "has", "'ve": "has"}


def third_person(token: Token) -> str:
    """The third-person singular form of a verb said in the first person ("prefer" -> "prefers")."""
    low = token.text.lower()
    if low in _BE:
        return _BE[low]
    if low in _HAVE:
        return _HAVE[low]
    if token.tag_ != "VBP" and not (token.tag_ == "VB" and token.dep_ in ("ROOT", "conj")):
        return token.text
    if low == "do":
        return "does"
    if low == "go":
        return "goes"
    if not low.isalpha():
        return token.text
    if low.endswith(("s", "sh", "ch", "x", "z", "o")):
        return token.text + "es"
    if len(low) > 2 and low.endswith("y") and low[-2] not in "aeiou":
        return token.text[:-1] + "ies"
    return token.text + "s"


def render(tokens: Iterable[Token], replace: Mapping[int, str] | None = None, drop: Iterable[int] = ()) -> str:
    """The text of ``tokens`` (in order), with token ``i`` written as ``replace[i]`` and ``drop`` left out.

    A replacement starting with a space (``" is"`` for ``'m``) attaches with that space.
    """
    replace = replace or {}
    dropped = set(drop)
    parts: list[str] = []
    previous: Token | None = None
    for token in sorted(tokens, key=lambda t: (t.doc is not None and id(t.doc), t.i)):
        if previous is not None and (token.doc is not previous.doc or token.i != previous.i + 1) and parts:
            parts[-1] = parts[-1].rstrip() + " "
        previous = token
        if token.i in dropped:
            if parts and token.whitespace_:
                parts[-1] = parts[-1].rstrip() + " "
            continue
        word = replace.get(token.i, token.text)
        if word.startswith(" ") and parts:
            parts[-1] = parts[-1].rstrip()
        parts.append(word + token.whitespace_)
    return "".join(parts).strip()


_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?%])")
_EDGE_PUNCT = re.compile(r"^[\s,;:.!?\-–—]+|[\s,;:\-–—]+$")


def finish(text: str, max_chars: int = 300) -> str:
    """A statement as a cell states it: one line, no stray edge punctuation, a capital, a full stop."""
    text = " ".join(text.split())
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = _EDGE_PUNCT.sub("", text)
    if not text:
        return ""
    if len(text) > max_chars:
        text = text[: max_chars - 1].rsplit(" ", 1)[0] + "…"
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def span_text(span: Span) -> str:
    """A span's text on one line."""
    return " ".join(span.text.split())
