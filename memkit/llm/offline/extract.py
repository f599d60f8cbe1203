"""Extraction: a conversation in, memory cells out (as the JSON a model would return).

Each utterance is split into sentences. A sentence becomes a cell unless it
is a question, a greeting or thanks, has fewer than two content words, or
(for the assistant) only repeats what the user said or what memory already
holds. Its content is the
sentence without conversational openers, with I/me/my replaced by the
speaker's name; its type and salience come from
:mod:`memkit.llm.offline.classify`; all cells of one exchange share the
scene :mod:`memkit.llm.offline.scenes` picks. Whether each one repeats,
changes or relates to a stored cell the request lists is decided by
:mod:`memkit.llm.offline.revise`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from ...retrieval import STOPWORDS
from .answer import MEMORY_REPORTS
from .classify import classify, salience_of
from .lexicon import is_common, topics_of
from .revise import CARRIED_CUES, Change, Listed, carried_change, decide
from .scenes import choose_scene
from .summarise import near_duplicate
from .text import MAX_CHARS_READ, rewrite_person, split_sentences, stem, strip_fillers, terms

__all__ = ["ASSISTANT_SPEAKERS", "MAX_CELLS", "extract_cells"]

#: At most this many cells per exchange (the most salient are kept).
MAX_CELLS = 6
_MAX_CONTENT_CHARS = 300
ASSISTANT_SPEAKERS = frozenset({"assistant", "ai", "bot", "agent"})
_SMALL_TALK = frozenset(
    [
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank",
        "great",
        "cool",
        "awesome",
        "nice",
        "ok",
        "okay",
        "sure",
        "yes",
        "yeah",
        "wow",
        "congrats",
        "congratulations",
        "bye",
        "goodbye",
        "good",
        "luck",
        "noted",
        "got",
        "glad",
        "happy",
        "welcome",
        "see",
        "hear",
        "cheers",
        "lol",
        "haha",
        "sounds",
        "perfect",
        "totally",
        "agree",
        "exactly",
        "right",
        "indeed",
    ]
)
_ECHO_SHARE = 0.5
_WORD = re.compile(r"[A-Za-z']+")
_DIGIT = re.compile(r"\d")
_SECOND_PERSON = frozenset({"you", "your", "you're", "you've", "you'll", "yours", "yourself"})
_FIRST_PERSON = frozenset({"i", "i'm", "i've", "i'll", "i'd", "my", "me", "mine", "we", "our", "us", "we're", "we've"})
#: An exclamation of at most this many words, naming no one and no number, says little.
_SHORT_EXCLAMATION = 6
#: Speakers named by their role, not by name: what they say needs no attribution.
_ROLE_NAMES = frozenset({"user", "you", *ASSISTANT_SPEAKERS})
#: A sentence opening with one of these leans on the sentence before it.
_LEANS_BACK = frozenset({"he", "she", "it", "they", "this", "that", "these", "those", "his", "her", "its", "their"})
#: An assistant sentence opening with one of these leans on context it does not carry.
_CONTEXT_BOUND = frozenset({"that", "this", "it", "those", "these", "that's", "it's", "sounds"})


_NAME = re.compile(r"(?<!^)(?<![.!?] )\b[A-Z][a-z]+\b")


def _is_small_talk(sentence: str, words: list[str]) -> bool:
    """Greetings, thanks and cheers, also when they name who they are said to ("Thanks, Ana!").

    Also exclamations said *to* the listener about nothing of the speaker's
    ("You've got this!", "You're gonna make a huge difference!"), and short
    exclamations with no name, number or first person in them ("Long time no see!").
    """
    if sentence.rstrip().endswith("!"):
        lowered = {w.lower() for w in _WORD.findall(sentence)}
        if lowered & _SECOND_PERSON and not lowered & _FIRST_PERSON and len(lowered) <= _SHORT_EXCLAMATION * 2:
            return True
        if (
            len(lowered) <= _SHORT_EXCLAMATION
            and not lowered & _FIRST_PERSON
            and not _NAME.search(sentence.strip())
            and not _DIGIT.search(sentence)
        ):
            return True
    if not any(w in _SMALL_TALK for w in words):
        return False  # "It's Shia Labeouf!" names someone, and says something
    names = {name.lower() for name in _NAME.findall(sentence.strip())}
    return all(w in _SMALL_TALK or w in names for w in words)


def _names_its_subject(content: str) -> bool:
    """Whether a statement opens with a name ("Ines would rather...", "Maya's knee..."), not a common word."""
    first = content.split(maxsplit=1)[0].rstrip(",:;") if content.strip() else ""
    word = first[:-2] if first.endswith(("'s", "’s")) else first
    if not word[:1].isupper() or not word.isalpha() or word.lower().endswith(("ing", "ed")):
        return False
    key = stem(word)
    return word.lower() not in STOPWORDS and not is_common(key) and not topics_of([key])


def _finish(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > _MAX_CONTENT_CHARS:
        text = text[: _MAX_CONTENT_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def _uncued(sentence: str) -> str:
    """``sentence`` without the change cue it passes on to the next one."""
    return CARRIED_CUES.sub("", sentence)


def _candidates(utterances: Sequence[tuple[str, str]], known: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(speaker, sentence) pairs worth remembering, in conversation order.

    ``known`` holds sentences memory already has (scene summaries, listed
    cells): an assistant sentence restating or quoting one of them is
    recall, not news.
    """
    known_stems = [stems for stems in ({stem(w) for w in terms(fact)} for fact in known) if len(stems) >= 2]
    user_stems: set[str] = set()
    found: list[tuple[str, str]] = []
    for speaker, text in utterances:
        is_assistant = speaker.strip().lower() in ASSISTANT_SPEAKERS
        kept_here = False  # whether found[-1] came from this utterance
        for sentence in split_sentences(text[:MAX_CHARS_READ]):
            if is_assistant and sentence.startswith(MEMORY_REPORTS):
                break  # the rest of this reply reports what memory already holds
            if sentence.rstrip().endswith("?"):
                continue
            words = terms(sentence)
            if len(words) < 2 or _is_small_talk(sentence, words):
                continue
            stems = {stem(w) for w in words}
            if is_assistant and (
                len(stems) < 3
                or len(stems & user_stems) >= _ECHO_SHARE * len(stems)
                or sentence.split()[0].lower() in _CONTEXT_BOUND
                or any(near_duplicate(sentence, fact) for fact in known)
                or any(fact <= stems for fact in known_stems)
            ):
                continue
            if not is_assistant:
                user_stems |= stems
            if (
                kept_here
                and sentence.split()[0].lower().strip(",") in _LEANS_BACK
                and len(found[-1][1]) + len(sentence) < _MAX_CONTENT_CHARS
            ):
                # "...say goodbye to Max. He was part of the family for 10 years."
                # "He" needs the sentence before it: one self-contained cell, not two
                found[-1] = (speaker, f"{found[-1][1]} {sentence}")
                continue
            found.append((speaker, sentence))
            kept_here = True
    return found


def extract_cells(
    utterances: Sequence[tuple[str, str]],
    scenes: Sequence[tuple[str, ...]],
    cell_types: Sequence[str] | None = None,
    listed: Sequence[Listed] = (),
) -> str:
    """The extraction reply, as JSON text: ``{"cells": [...]}``.

    :param scenes: candidate scenes, most recently active first, as (name,
        summary) or (name, summary, text of recent cells).

    :param listed: stored cells shown by number, (number, cell_type, scene,
        content); a cell that acts on one carries ``action``, ``target``,
        ``reason`` (and ``relation``); a plain add carries none of them.
    """
    known = [sentence for _, summary, *_ in scenes for sentence in split_sentences(summary)]
    known += [content for *_, content in listed]
    candidates = _candidates(utterances, known)
    if not candidates:
        return json.dumps({"cells": []})
    speakers = sorted({speaker for speaker, _ in utterances})
    whole = " ".join(text[:MAX_CHARS_READ] for _, text in utterances)
    profiles = [(name, " ".join(texts)) for name, *texts in scenes]
    scene = choose_scene(whole, profiles, exclude=speakers).scene
    cells: list[tuple[int, dict[str, Any]]] = []
    carried: Change | None = None
    for order, (speaker, sentence) in enumerate(candidates):
        who = speaker.strip() or "User"
        content = _finish(rewrite_person(strip_fillers(sentence), who))
        if who.lower() not in _ROLE_NAMES and not _names_its_subject(content):
            content = f"{who}: {content}"  # in a transcript between named people, who said it matters
        kind = classify(sentence, list(cell_types) if cell_types else None).cell_type
        cell = {"scene": scene, "cell_type": kind, "salience": salience_of(sentence, kind), "content": content}
        passes_on = carried_change(sentence) if listed else None
        if passes_on and order + 1 < len(candidates) and candidates[order + 1][0] == speaker:
            cell.update(decide(_uncued(sentence), content, kind, listed, exclude=speakers))
        else:
            cell.update(decide(sentence, content, kind, listed, exclude=speakers, change=carried))
            passes_on = None
        carried = passes_on
        cells.append((order, cell))
    kept = sorted(cells, key=lambda pair: (-pair[1]["salience"], pair[0]))[:MAX_CELLS]
    kept.sort(key=lambda pair: pair[0])
    return json.dumps({"cells": [cell for _, cell in kept]}, ensure_ascii=False)
