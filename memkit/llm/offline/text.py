"""Text helpers for the offline engine: sentences, terms, stems, person rewriting."""

from __future__ import annotations

import re

from ...retrieval import STOPWORDS

#: Only the start of a very long message is read.
MAX_CHARS_READ = 20_000

__all__ = ["MAX_CHARS_READ", "rewrite_person", "split_sentences", "stem", "strip_fillers", "terms", "word_count"]

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9À-ÖØ-Þ])|\n+")
_ABBREVIATIONS = ("mr.", "mrs.", "ms.", "dr.", "prof.", "e.g.", "i.e.", "etc.", "vs.", "st.", "approx.")
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
_FILLERS = re.compile(
    r"^(?:(?:oh|ah|well|so|ok(?:ay)?|anyway|also|actually|btw|by the way|fyi|just so you know|"
    r"(?:please )?(?:remember|note|keep in mind|don't forget|do not forget) that|"
    r"i (?:think|guess|believe|feel like|wanted to (?:say|tell you|let you know))(?: that)?|"
    r"just (?:wanted to )?(?:say|mention|let you know)(?: that)?)[,:;!]?\s+)+",
    re.IGNORECASE,
)


def word_count(text: str) -> int:
    """Number of words in ``text``."""
    return len(_WORD.findall(text))


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences (a sentence ends at . ! ? or a line break)."""
    pieces = [p.strip() for p in _SENTENCE_END.split(text) if p and p.strip()]
    merged: list[str] = []
    for piece in pieces:
        if merged and merged[-1].lower().endswith(_ABBREVIATIONS):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged


def stem(word: str) -> str:
    """A light suffix-stripping stemmer: ``running``, ``runs`` and ``run`` share ``run``."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) <= 3 or not w.isalpha():
        return w
    for suffix, replacement in (
        ("ational", "ate"),
        ("ization", "ize"),
        ("ations", "ate"),
        ("ation", "ate"),
        ("ements", ""),
        ("ement", ""),
        ("ments", ""),
        ("ment", ""),
        ("ities", ""),
        ("ity", ""),
        ("iness", "y"),
        ("ness", ""),
        ("ously", "ous"),
        ("fully", "ful"),
        ("ings", ""),
        ("ing", ""),
        ("ies", "y"),
        ("ied", "y"),
        ("edly", ""),
        ("ed", ""),
        ("ers", ""),
        ("er", ""),
        ("ly", ""),
        ("es", ""),
        ("s", ""),
    ):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            if suffix == "s" and w.endswith(("ss", "us", "is")):
                return w
            if suffix == "es" and not w.endswith(("ches", "shes", "sses", "xes", "zes")):
                w = w[:-1]
                break
            w = w[: len(w) - len(suffix)] + replacement
            break
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    return w


def terms(text: str) -> list[str]:
    """Content words of ``text``, lower-cased, stopwords and numbers-only tokens dropped."""
    found = []
    for raw in _WORD.findall(text):
        word = raw.lower().replace("’", "'")
        base = word.split("'")[0]
        if base in STOPWORDS or word in STOPWORDS or len(base) < 2 or base.isdigit():
            continue
        found.append(base if "'" in word else word)
    return found


# -- person rewriting ----------------------------------------------------------

_MODALS = {
    "can",
    "could",
    "will",
    "would",
    "shall",
    "should",
    "may",
    "might",
    "must",
    "was",
    "had",
    "did",
    "can't",
    "couldn't",
    "won't",
    "wouldn't",
    "shouldn't",
    "mustn't",
    "didn't",
    "wasn't",
    "hadn't",
    "cannot",
    "used",
    "ought",
}
_ADVERBS = {
    "always",
    "never",
    "often",
    "also",
    "just",
    "still",
    "usually",
    "sometimes",
    "really",
    "actually",
    "even",
    "only",
    "already",
    "generally",
    "normally",
    "rarely",
    "seldom",
    "mostly",
    "definitely",
    "probably",
    "totally",
    "absolutely",
    "finally",
    "recently",
    "currently",
    "now",
    "kind",
    "sort",
    "truly",
    "honestly",
    "personally",
    "both",
    "all",
    "sincerely",
    "barely",
}
_PRESENT_EED = {"need", "feed", "proceed", "succeed", "exceed", "bleed", "breed", "speed", "heed", "seed", "weed"}
_IRREGULAR_PAST = set(
    [
        "went",
        "got",
        "made",
        "saw",
        "took",
        "came",
        "gave",
        "found",
        "thought",
        "told",
        "became",
        "left",
        "felt",
        "brought",
        "began",
        "kept",
        "held",
        "wrote",
        "stood",
        "heard",
        "meant",
        "met",
        "ran",
        "paid",
        "sat",
        "spoke",
        "lay",
        "led",
        "grew",
        "lost",
        "fell",
        "sent",
        "built",
        "understood",
        "drew",
        "broke",
        "spent",
        "rose",
        "drove",
        "bought",
        "wore",
        "chose",
        "sang",
        "swam",
        "ate",
        "drank",
        "flew",
        "forgot",
        "won",
        "taught",
        "caught",
        "sold",
        "fought",
        "hung",
        "slept",
        "woke",
        "knew",
        "did",
        "said",
        "was",
        "had",
        "dug",
        "hid",
        "put",
        "set",
        "cut",
        "hit",
        "let",
        "hurt",
        "quit",
        "shut",
        "read",
        "spread",
        "cost",
        "bet",
        "burst",
        "fit",
        "split",
        "became",
        "forgave",
        "froze",
        "rode",
        "shook",
        "stole",
        "struck",
        "swore",
        "threw",
        "tore",
        "bit",
        "blew",
        "dealt",
        "fed",
        "fled",
        "lent",
        "lit",
        "shot",
        "sank",
        "sought",
        "slid",
        "spun",
        "stuck",
        "stung",
        "strove",
        "swept",
        "swung",
        "wept",
        "wound",
        "withdrew",
        "overcame",
        "undertook",
    ]
)
#: "and I" this early in a sentence (with no "I" before) joins a subject: "My sister Ines and I".
_JOINT_SUBJECT_WORDS = 5
_IRREGULAR = {
    "are": "are",
    "were": "were",
    "have": "has",
    "do": "does",
    "go": "goes",
    "am": "is",
    "don't": "doesn't",
    "haven't": "hasn't",
}
_CONTRACTIONS = {
    "i'm": "{S} is",
    "i've": "{S} has",
    "i'll": "{S} will",
    "i'd": "{S} would",
}
_SECOND = {
    "i": "you",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "i'm": "you're",
    "i've": "you've",
    "i'll": "you'll",
    "i'd": "you'd",
    "am": "are",
    "we": "you",
    "us": "you",
    "our": "your",
    "ours": "yours",
    "ourselves": "yourselves",
    "we're": "you're",
    "we've": "you've",
    "we'll": "you'll",
    "we'd": "you'd",
}


def _third_person(verb: str) -> str:
    low = verb.lower()
    if low in _IRREGULAR:
        return _IRREGULAR[low]
    if low in _MODALS or low in _IRREGULAR_PAST or not low.isalpha():
        return verb
    if low.endswith("ed") and low not in _PRESENT_EED:
        return verb
    if low.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if len(low) > 2 and low.endswith("y") and low[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


_TOKENS = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?|[^A-Za-z]+")


def rewrite_person(sentence: str, speaker: str) -> str:
    """Rewrite first-person words as ``speaker`` (third person) or, for ``"you"``, second person.

    ``rewrite_person("I prefer oak over lacquer.", "Ana")`` gives
    ``"Ana prefers oak over lacquer."``; ``"We" / "our"`` are kept in third
    person (they include others), but become ``"you" / "your"`` in second.
    """
    tokens = _TOKENS.findall(sentence)
    out: list[str] = []
    second = speaker.lower() == "you"
    conjugate_next = False
    previous_word = ""
    words_seen = 0
    subject_seen = False
    for token in tokens:
        if not token[0].isalpha():
            out.append(token)
            continue
        words_seen += 1
        low = token.lower().replace("’", "'")
        replacement: str | None = None
        if second:
            if low == "am" and previous_word != "i":
                replacement = None
            elif low == "was" and previous_word == "i":
                replacement = "were"
            else:
                replacement = _SECOND.get(low)
        else:
            if low in _CONTRACTIONS:
                replacement = _CONTRACTIONS[low].format(S=speaker)
            elif low == "i":
                replacement = speaker
                # "My sister and I like...": a joint subject opening the sentence keeps its verb
                joint = previous_word == "and" and not subject_seen and words_seen <= _JOINT_SUBJECT_WORDS
                conjugate_next = not joint
                subject_seen = True
            elif low in ("me", "myself"):
                replacement = speaker
            elif low in ("my", "mine"):
                replacement = f"{speaker}'s"
            elif conjugate_next:
                if low in _ADVERBS:
                    out.append(token)
                    previous_word = low
                    continue
                replacement = "is" if low == "am" else _third_person(token)
                conjugate_next = False
        if replacement is not None and token[0].isupper() and not out:
            replacement = replacement[0].upper() + replacement[1:]
        out.append(replacement if replacement is not None else token)
        if token[0].isalpha() and low != "i":
            conjugate_next = conjugate_next and low in _ADVERBS
        previous_word = low
    text = "".join(out)
    if second and text[:3] == "you":
        text = "You" + text[3:]
    return text


def strip_fillers(sentence: str) -> str:
    """Drop conversational openers ("Well,", "Remember that", "By the way,") from a sentence."""
    stripped = _FILLERS.sub("", sentence).strip()
    if not stripped:
        return sentence.strip()
    return stripped[0].upper() + stripped[1:]
