"""Whether a new statement repeats, changes, ends or relates to what memory holds.

The extraction request lists stored cells by number (the few a model is
shown, then more current cells of the scenes in play). Each is read into
:class:`~memkit.llm.offline.facts.Facts`, and for each new statement the
engine decides, in this order:

1. **repeat**: it says what a listed cell says (the same content words, the
   same values, the same polarity), or less: ``reinforce``. The same words
   with the polarity flipped ("likes coffee" / "no longer likes coffee") are
   an ``supersede``.
2. **end** ("cancelled", "called off", "no longer", "fell through", "on
   hold"): every listed cell about the thing that ended (sharing a noun or a
   name with it) is retired: the closest as the target, the rest in
   ``retires``.
3. **done** ("fixed", "finished", "received"): the task or plan about the
   same thing is retired (``supersede``).
4. **replace** (a change cue: "moved to", "pushed to", "switched",
   "instead", "now", "actually", "scratch that", "turns out", or "new X is"):
   the cell holding the old value of the same *slot* is updated. The slot is
   found by the old value the cue names ("instead of Raman"), else by what
   the two are about (the same subject, shared nouns and names) and a value
   of the same kind (a date for a date, an amount for an amount).
5. **new value** with no cue: the same subject and a value of the same kind
   with another value ("The budget is 15,000 euros" / "The budget is 20,000
   euros"): ``update``.
6. **related**: two or more shared nouns or names (one is enough after
   "because" or "so"): ``add`` with a link (``cause``, ``follows-from`` or
   ``same-subject``). Otherwise a plain ``add``.

Each decision carries its reason in words, so a notebook can show why.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .facts import MEASURES, NAMES, Facts, has_phrase, value_key
from .nlp import parse
from .statements import Statement
from .vocabulary import Vocabulary
from .wording import finish, render

if TYPE_CHECKING:
    from spacy.tokens import Token
__all__ = ["REPEAT_SHARE", "Listed", "decide", "still_true"]

#: Share of content words two statements must have in common to say the same thing.
REPEAT_SHARE = 0.75
#: A statement says a cell again when it holds this share of the cell's words (and its values).
RESTATED_SHARE = 0.6
#: Cell types that can describe the same thing.
COMPATIBLE_TYPES: tuple[frozenset[str], ...] = (
    frozenset({"preference", "decision"}),
    frozenset({"plan", "task", "decision", "fact"}),
)
_SLOT_MINIMUM = 3.0


@dataclass(frozen=True)
class Listed:
    """A stored cell as the request lists it, with what the engine read in it."""

    number: int
    cell_type: str
    scene: str
    content: str
    facts: Facts


def _share(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _compatible(a: str, b: str) -> bool:
    return a == b or any(a in group and b in group for group in COMPATIBLE_TYPES)


def _words(keys: frozenset[str]) -> str:
    return ", ".join(f"'{k}'" for k in sorted(keys)) or "nothing"


def _same_values(a: Facts, b: Facts) -> bool:
    return a.values_of(MEASURES) == b.values_of(MEASURES)


def _restated(new: Facts, listed: Sequence[Listed]) -> Listed | None:
    """The cell whose value a statement says again, when the statement adds nothing memory lacks.

    Said in one breath, a fact stored in two cells ("The budget is 12,000 euros." and "Appliances
    included.") is one statement: it repeats the cell with its value, if every word of it is
    already in the listed cells (a new detail would be lost by a reinforcement, so it is not one).
    """
    if not new.values_of(MEASURES):
        return None
    known = frozenset().union(*(cell.facts.words for cell in listed))
    if not new.words <= known:
        return None
    for cell in listed:
        old = cell.facts
        said_again = len(old.words & new.words) >= RESTATED_SHARE * len(old.words)
        if old.negated == new.negated and _same_values(new, old) and said_again:
            return cell
    return None


def _about(new: Facts, old: Facts) -> frozenset[str]:
    """What two statements are both about: shared nouns and names, and a shared subject (not the speaker)."""
    shared = new.anchors & old.anchors
    subject = (new.subject & old.subject) - {"user"}
    return shared | subject


def _same_predicate(new: Facts, old: Facts, vocabulary: Vocabulary) -> bool:
    """The same main verb, or two verbs that both report what someone said ("says" / "wants")."""
    if new.predicate == old.predicate:
        return True
    return new.predicate in vocabulary.report_verbs and old.predicate in vocabulary.report_verbs


#: Words before a date that make it the day a change takes effect, not a new value of the date.
_EFFECTIVE = re.compile(r"\b(?:from|starting|as of|effective|beginning)\s+(?:the\s+)?([\w ]+)", re.IGNORECASE)


def _effective_dates(content: str) -> frozenset[str]:
    """What follows "from", "starting", "as of" in ``content``, lower-cased ("going to $44 from next month")."""
    return frozenset(m.group(1).lower().strip() for m in _EFFECTIVE.finditer(content))


def _new_value(new: Facts, old: Facts, *, effective: frozenset[str] = frozenset()) -> str | None:
    """The kind of value both hold with different values ("DATE"), or None.

    Names count as one kind ("NAME"): the parser may call the same firm an organisation in one
    sentence and a person in the next. Dates in ``effective`` (the day a change starts: "$44
    from next month") are not new values of a date.
    """
    for kind in ("DATE", "TIME", "MONEY", "PERCENT", "QUANTITY", "CARDINAL"):
        mine, theirs = new.values_of([kind]), old.values_of([kind])
        if kind == "DATE" and effective:
            mine = frozenset(key for key in mine if not any(e.startswith(key) for e in effective))
        if kind in ("DATE", "TIME") and not _shapes(new, kind) & _shapes(old, kind):
            continue  # "three weeks" does not replace "Tuesday morning"
        if mine and theirs and not mine <= theirs:
            return kind
    mine, theirs = new.values_of(NAMES), old.values_of(NAMES)
    if mine and theirs and not mine & theirs:
        return "NAME"
    return None


def decide(statement: Statement, listed: Sequence[Listed], scene: str, vocabulary: Vocabulary) -> dict[str, Any]:
    """The decision fields for one new statement: ``action``, ``target``, ``retires``, ``relation``, ``reason``.

    Returns an empty dict for a plain add (see the module docstring for the rules).
    """
    if not listed:
        return {}
    new = statement.facts
    for cell in listed:
        old = cell.facts
        same = _share(new.words, old.words) >= REPEAT_SHARE
        if same and new.negated == old.negated and _same_values(new, old):
            return _act("reinforce", cell, [], f"repeats cell {cell.number}")
    restated = _restated(new, listed)
    if restated is not None:
        return _act("reinforce", restated, [], f"says again what cell {restated.number} says")
    change = statement.change
    if change is not None and change.kind == "end":
        found = _ended(statement, listed, scene, vocabulary)
        if found:
            first, *rest = found
            about = (change.thing or new.anchors) & first.facts.anchors or _about(new, first.facts)
            about = about or (new.words & first.facts.words) - frozenset(change.cue.lower().split())
            return _act(
                "supersede", first, rest, f"'{change.cue}' ends what cell {first.number} says about {_words(about)}"
            )
    if change is not None and change.kind == "done":
        target = _best(listed, lambda c: _done_score(statement, c))
        if target is not None:
            return _act("supersede", target, [], f"'{change.cue}': cell {target.number} is done")
    narrated = statement.speaker.strip().lower() not in ("user", "you", "")
    if not narrated and _done_verbs(statement):  # "need to call the bank" / "called the bank today": each cell it did
        did = sorted(
            ((score, cell) for cell in listed if (score := _did_score(statement, cell, vocabulary)) > 0),
            key=lambda pair: (-pair[0], -pair[1].number),
        )
        if did:
            (_, target), *others = did
            why = f"'{', '.join(sorted(_done_verbs(statement)))}' done: what cell {target.number} asked for"
            return _act("supersede", target, [c for _, c in others], why)
    if change is not None and change.kind == "replace":
        target, why = _replaced(statement, listed, scene)
        if target is not None:
            return _act("update", target, _dependents(statement, target, listed), f"change cue '{change.cue}': {why}")
    for cell in listed:
        old = cell.facts
        if _share(new.words, old.words) >= REPEAT_SHARE and new.negated != old.negated:
            return _act("supersede", cell, [], f"says the opposite of cell {cell.number}")
        says_less = new.words and new.words <= old.words and len(new.words) >= 2 and new.negated == old.negated
        if says_less and new.values_of(MEASURES) <= old.values_of(MEASURES):
            return _act("reinforce", cell, [], f"adds nothing to cell {cell.number}")
    effective = _effective_dates(statement.content)
    for cell in listed if not narrated else ():  # in a transcript, a new date is a new event
        old = cell.facts
        kind = _new_value(new, old, effective=effective)
        if not kind or new.negated != old.negated or cell.scene != scene:
            continue
        if new.past or old.past:
            continue  # two events on two days are two events ("went to a group yesterday")
        subject = (new.subject & old.subject) - {"user"}
        if subject and kind != "NAME" and _same_predicate(new, old, vocabulary):
            return _act("update", cell, [], f"a new {kind.lower()} for {_words(subject)} of cell {cell.number}")
        named = new.names & old.names
        # the name is what the new statement is about ("Dana starts Wednesday"), not a word in passing,
        # and the two say more alike than the name ("Dana starts at the bakery" is not "flying with Dana")
        about_name = bool(named & _opening_subject(statement.content) and (new.words & old.words) - named - {"user"})
        about_name = about_name or _same_predicate(new, old, vocabulary)
        if named and about_name and kind in ("DATE", "TIME", "MONEY", "PERCENT", "QUANTITY"):
            return _act("update", cell, [], f"a new {kind.lower()} for {_words(named)} of cell {cell.number}")
    for cell in listed if not narrated else ():
        old = cell.facts
        if (
            len(old.words) >= 2
            and cell.scene == scene
            and old.subject == new.subject
            and old.words < new.words
            and _compatible(statement.cell_type, cell.cell_type)
            and new.negated == old.negated
            and old.values_of(MEASURES) <= new.values_of(MEASURES)
        ):
            return _act("update", cell, [], f"adds detail to cell {cell.number}")
    return _link(statement, listed, vocabulary)


def _opening_subject(content: str) -> frozenset[str]:
    """The lower-cased words of the subject of a statement's first sentence ("Dana" in "Dana starts
    Wednesday. Has to finish notice."); empty when it has none ("First week in Tokyo, at the ...")."""
    first = next(iter(parse(content).sents), None)
    if first is None:
        return frozenset()
    subject = next((c for c in first.root.children if c.dep_ in ("nsubj", "nsubjpass")), None)
    return frozenset(t.lemma_.lower() for t in subject.subtree) if subject is not None else frozenset()


def _act(action: str, target: Listed, also: Sequence[Listed], reason: str) -> dict[str, Any]:
    found: dict[str, Any] = {"action": action, "target": target.number, "reason": reason}
    if also:
        found["retires"] = [cell.number for cell in also]
        found["reason"] = reason + f"; also ends cells {', '.join(str(c.number) for c in also)}"
    return found


def _best(listed: Sequence[Listed], score: Any) -> Listed | None:
    best: tuple[float, Listed] | None = None
    for cell in listed:
        value = score(cell)
        if value > 0 and (best is None or value > best[0]):
            best = (value, cell)
    return best[1] if best else None


def _ended(statement: Statement, listed: Sequence[Listed], scene: str, vocabulary: Vocabulary) -> list[Listed]:
    """The listed cells about what a statement says has ended, closest first."""
    change = statement.change
    assert change is not None
    subject = change.subject - vocabulary.vague_nouns
    cue = frozenset(change.cue.lower().split())
    facts = statement.facts
    said = (facts.anchors | facts.subject | facts.words) - cue - vocabulary.vague_nouns - {"user"}
    thing = change.thing or subject or said
    scored = []
    for cell in listed:
        held = cell.facts.anchors | cell.facts.subject
        shared = thing & held
        if not shared or (cell.facts.negated and has_phrase(cell.content, vocabulary.end_phrases)):
            continue
        if subject and change.thing and not subject & held:
            continue  # "Maple no longer has space" ends Maple's space, not everyone's
        score = (
            2.0 * len(shared)
            + len(statement.facts.anchors & cell.facts.anchors)
            + (1.0 if cell.scene == scene else 0.0)
        )
        score += 1.0 if cell.cell_type in ("plan", "task", "decision") else 0.0
        score += len(statement.facts.values_of(MEASURES) & cell.facts.values_of(MEASURES))
        scored.append((score, -cell.number, cell, shared))
    scored.sort(key=lambda item: (-item[0], item[1]))
    if not scored:
        return []
    # A named thing that ends takes everything said about it ("Brightline cancelled": the order, the
    # pickup, the cakes); a common noun only the closest cell ("the long run" is not "the run plan").
    names = thing & (statement.facts.names | _names_of(listed))
    first = scored[0][2]
    rest = [cell for _, _, cell, shared in scored[1:] if shared & names or (len(thing) >= 2 and thing <= shared)]
    return [first, *rest]


def _dependents(statement: Statement, target: Listed, listed: Sequence[Listed]) -> list[Listed]:
    """The plans and tasks that were to be done by a party a change drops ("going with Atlas instead":
    "Maple will collect on 20 May" goes with the choice of Maple)."""
    dropped = target.facts.names - statement.facts.names - _held(statement.facts)
    if not dropped:
        return []
    return [
        cell
        for cell in listed
        if cell.number != target.number
        and cell.scene == target.scene
        and cell.cell_type in ("plan", "task")
        and cell.facts.subject & dropped
        and not cell.facts.past
        # a deed on a day ("will collect on 20 May"), not a price the party sets
        and cell.facts.values_of(["DATE", "TIME"])
        and not cell.facts.values_of(["MONEY"])
    ]


def _names_of(listed: Sequence[Listed]) -> frozenset[str]:
    return frozenset(word for cell in listed for word in cell.facts.names)


def _done_score(statement: Statement, cell: Listed) -> float:
    change = statement.change
    assert change is not None
    thing = change.thing | statement.facts.anchors
    shared = thing & cell.facts.anchors
    if not shared or (cell.facts.negated != statement.facts.negated and cell.cell_type not in ("task", "plan")):
        return 0.0
    score = 2.0 * len(shared) + (2.0 if cell.cell_type in ("task", "plan") else 0.0)
    return (
        score
        if cell.cell_type in ("task", "plan") or len(shared) >= 2 or cell.facts.predicate == statement.facts.predicate
        else 0.0
    )


def _done_verbs(statement: Statement) -> frozenset[str]:
    """Lemmas of the verbs a statement says were done ("I finally *trimmed* the hedge")."""
    return frozenset(t.lemma_.lower() for t in parse(statement.content) if t.tag_ == "VBD" and t.pos_ == "VERB")


def _did_score(statement: Statement, cell: Listed, vocabulary: Vocabulary) -> float:
    """How surely a statement of something done does what a cell asked for ("needs trimming",
    "need to call"): one of its verbs, done to the same thing; 0 when it does not."""
    old = cell.facts
    if statement.change is not None or statement.facts.negated or old.past or old.negated:
        return 0.0
    doc = parse(cell.content)
    needs = any(t.lemma_.lower() == "need" for t in doc)  # "the hedge needs trimming"
    if not (cell.cell_type in ("task", "plan") or needs or has_phrase(cell.content, vocabulary.task_phrases)):
        return 0.0
    verbs = _done_verbs(statement) & {t.lemma_.lower() for t in doc if t.pos_ == "VERB"}
    shared = (statement.facts.anchors & old.anchors) - verbs
    return 2.0 * len(shared) if verbs and shared else 0.0


def _replaced(statement: Statement, listed: Sequence[Listed], scene: str) -> tuple[Listed | None, str]:
    """The cell whose value a change cue replaces, and how it was found."""
    change = statement.change
    assert change is not None
    new = statement.facts
    if change.old:
        named = [c for c in listed if change.old & _held(c.facts)]
        if named:
            # among the cells naming the old value, the one most about it ("lives in Lisbon" rather
            # than "works at a Lisbon hospital"), then the closest to the new statement
            chosen = max(
                named,
                key=lambda c: (
                    len(change.old & _held(c.facts)) / max(1, len(c.facts.anchors)),
                    len(_about(new, c.facts)),
                    c.scene == scene,
                    c.number,
                ),
            )
            return chosen, f"names {_words(change.old & _held(chosen.facts))} of cell {chosen.number}"
    best: tuple[float, Listed, str] | None = None
    new_names = new.names | {v.key for v in new.values if v.kind not in MEASURES}
    for cell in listed:
        old = cell.facts
        if new_names and new_names <= (old.names | {v.key for v in old.values}):
            continue  # it already holds the new value: it is not where the old one was
        about = _about(new, old)
        kind = _new_value(new, old)
        also = (new.words & old.words) - about
        score = 2.0 * len(about) + 0.5 * len(also) + (3.0 if kind else 0.0) + (1.0 if cell.scene == scene else 0.0)
        score += 1.0 if kind in ("DATE", "TIME") and _shapes(new, kind) & _shapes(old, kind) else 0.0
        score += 0.5 if _compatible(statement.cell_type, cell.cell_type) else 0.0
        chose_other = (
            kind == "NAME" and cell.cell_type == statement.cell_type and cell.cell_type in ("decision", "preference")
        )
        if (
            not about
            and not chose_other
            and not (kind in ("DATE", "TIME") and cell.scene == scene and (_moves_in_time(change) or also))
        ):
            continue  # "going with Atlas instead" replaces the choice of Maple; "now April 2" the date
        if score >= _SLOT_MINIMUM and (
            best is None or score > best[0] or (score == best[0] and cell.number > best[1].number)
        ):
            why = (
                f"a new {kind.lower()} for {_words(about) if about else 'the same scene'}"
                if kind
                else f"about {_words(about)}"
            )
            best = (score, cell, f"{why} of cell {cell.number}")
    return (best[1], best[2]) if best else (None, "")


_TIME_MOVES = frozenset(
    [
        "now",
        "actually",
        "move",
        "moved",
        "moving",
        "push",
        "pushed",
        "pushing",
        "reschedule",
        "rescheduled",
        "postpone",
        "postponed",
        "delay",
        "delayed",
        "shift",
        "shifted",
        "bring",
        "brought",
    ]
)


def _moves_in_time(change: Any) -> bool:
    """A cue that moves something in time ("now", "moved to", "pushed", "rescheduled", "scratch that")."""
    cue = change.cue.lower()
    return cue in _TIME_MOVES or cue.startswith("scratch") or cue.split()[0] in _TIME_MOVES


_DURATION = re.compile(r"\b\d+(?:\.\d+)? (?:minute|hour|day|night|week|month|year)s?\b")


_BARE_NUMBER = re.compile(
    r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|[a-z]+teen|(?:twen|thir|for|fif|six|seven|eigh|nine)ty)",
    re.IGNORECASE,
)


def _shapes(facts: Facts, kind: str) -> set[str]:
    """Whether its dates are moments ("1 December"), spans ("two years") or bare numbers ("just turned
    six": an age the parse calls a date): a moment replaces a moment, a number a number."""
    shapes = set()
    for value in facts.values:
        if value.kind == kind:
            bare = _BARE_NUMBER.fullmatch(value.text.strip())
            shapes.add("number" if bare else "span" if _DURATION.search(value.key) else "moment")
    return shapes


#: Phrases that can leave a sentence and leave a sentence behind.
_DETACHABLE = frozenset({"conj", "appos", "npadvmod", "prep", "advcl", "relcl", "acl", "parataxis", "advmod"})


def still_true(cell: Listed, statement: Statement, vocabulary: Vocabulary) -> str | None:
    """What a cell a statement retires still says that the statement does not change, or None.

    A cell holding two facts ("Contracter quoted $14,000. Demo starts the 10th.") loses only the one
    that changed: the sentence, or the phrase ("and Dr. Webb, who will handle the spectroscopy"),
    holding the old value or the ended thing. None when nothing sensible is left.
    """
    new = statement.facts
    change = statement.change
    if _did_score(statement, cell, vocabulary) > 0:
        return None  # it did what the cell asked for: nothing of it is left to do
    if change is not None and change.kind in ("end", "done"):
        # "Marcus has withdrawn": what ended is Marcus's part, not the whole list of investigators
        changed = set(change.subject or change.thing)
    else:
        kinds = {v.kind for v in new.values}
        changed = {v.key for v in cell.facts.values if v.kind in kinds and v.key not in {n.key for n in new.values}}
        changed |= set(change.old) if change is not None else set()
    if not changed:
        return None
    doc = parse(cell.content)
    sentences = list(doc.sents)

    def touched(tokens: Sequence[Token]) -> list[Token]:
        return [
            t
            for t in tokens
            if t.lemma_.lower() in changed
            or value_key(t.text) in changed
            or (t.ent_type_ and any(value_key(e.text) in changed for e in doc.ents if e.start <= t.i < e.end))
        ]

    if len(sentences) > 1:
        kept = [sent for sent in sentences if not touched(list(sent))]
        if kept and len(kept) < len(sentences):
            return " ".join(sent.text.strip() for sent in kept)
        return None
    hits = touched(list(doc))
    if not hits:
        return None
    phrase = hits[0]
    while phrase.dep_ not in _DETACHABLE and phrase.head.i != phrase.i:
        phrase = phrase.head
    if phrase.dep_ not in _DETACHABLE or any(t not in set(phrase.subtree) for t in hits):
        return None
    gone = {t.i for t in phrase.subtree}
    before = phrase.left_edge.i - 1
    while before >= 0 and (doc[before].is_punct or doc[before].dep_ == "cc"):
        gone.add(before)
        before -= 1
    rest = [t for t in doc if t.i not in gone]
    left = finish(render(rest))
    if sum(1 for t in rest if t.pos_ in ("NOUN", "PROPN", "VERB", "NUM")) < 3 or not any(
        t.pos_ in ("VERB", "AUX") for t in rest
    ):
        return None
    return left


def _held(facts: Facts) -> frozenset[str]:
    """Every word and value key a statement holds."""
    return facts.anchors | facts.words | {v.key for v in facts.values}


def _link(statement: Statement, listed: Sequence[Listed], vocabulary: Vocabulary) -> dict[str, Any]:
    said = statement.said
    relation = "cause" if has_phrase(said, vocabulary.cause_phrases) else None
    if relation is None and has_phrase(said, vocabulary.consequence_phrases):
        relation = "follows-from"
    needed = 1 if relation else 2
    best: tuple[int, Listed, frozenset[str]] | None = None
    for cell in listed:
        shared = _about(statement.facts, cell.facts)
        if len(shared) >= needed and (best is None or len(shared) > best[0]):
            best = (len(shared), cell, shared)
    if best is None:
        return {}
    _, cell, shared = best
    return {
        "action": "add",
        "target": cell.number,
        "relation": relation or "same-subject",
        "reason": f"shares {_words(shared)} with cell {cell.number}",
    }
