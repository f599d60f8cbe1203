"""From a message to the statements worth remembering.

A message is written out (chat shorthand, days and months), parsed, and cut
into sentences; each sentence into clauses ("A quoted X, and B quoted Y" is
two statements; "I live in Berlin and work as a nurse" is two, the second
given its subject). Then, for each clause:

- openers and headings that say nothing ("Quick update:", "Ugh, so") are
  dropped; a correction opener ("Scratch that", "Actually") is kept as a
  change cue for the statement it opens;
- questions, greetings, thanks, laughter and moods store nothing, and
  neither does a clause that only says where news came from ("I heard from
  HR"); a request to be reminded becomes a task;
- of the assistant's words, only what it did or will do ("I've set a
  reminder for Friday") is kept, said as the assistant's; advice and
  pleasantries are not the user's facts;
- a clause that leans on an earlier one ("It's $80 a night") has its
  pronoun replaced by what it stands for, found by agreement in the clauses
  before (a person for "she", a thing for "it", several for "they"); when
  none fits it is joined to the clause before;
- first person becomes third ("I prefer" -> "User prefers", "my sister" ->
  "User's sister"), from the parse, with the verb agreeing.

Every dropped sentence is recorded with its reason (:class:`Skipped`), so a
notebook can show what was left out and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .clauses import Clause, clause_skip_reason, requested, said, skip_reason, split_clauses, without_openers
from .facts import (
    Change,
    Facts,
    cell_type_of,
    changes_in,
    facts_of,
    is_first_person,
    salience_of,
    with_object,
    with_subject,
)
from .nlp import parse_many
from .reference import CONTRACTED, expanded, opens_leaning, phrase_tokens, resolve, with_topic, without_scraps
from .vocabulary import Vocabulary
from .wording import finish, normalise, render, third_person

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span
__all__ = ["ROLES", "Reading", "Skipped", "Statement", "read"]

ROLES = ("user", "assistant", "named")


@dataclass(frozen=True)
class Statement:
    """One thing worth remembering, said by one speaker.

    :param said: the words as they were said.
    :param content: the statement as a cell states it: self-contained, in the third person.
    :param notes: what the engine did to it (a pronoun resolved, a subject supplied, a cue found).
    """

    speaker: str
    said: str
    content: str
    cell_type: str
    salience: float
    facts: Facts
    change: Change | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skipped:
    """A sentence that stores nothing, and why."""

    speaker: str
    said: str
    reason: str


@dataclass(frozen=True)
class Reading:
    """What the engine read in one message: its statements, what it left out, and the parses."""

    statements: tuple[Statement, ...]
    skipped: tuple[Skipped, ...]
    docs: tuple[Doc, ...] = field(default=(), repr=False, compare=False)


def read(
    speaker: str, text: str, vocabulary: Vocabulary, *, role: str = "user", context: Sequence[str] = ()
) -> Reading:
    """The statements of one message (see the module docstring).

    :param role: ``"user"`` (the person memory is about: "User"), ``"assistant"`` (its
        commitments only, as "Assistant"), or ``"named"`` (a person in a transcript, by name).
    :param context: what was said just before, oldest first (recent cells): a message that
        opens on "It" or "She" may mean something said there.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")
    label = {"user": "User", "assistant": "Assistant"}.get(role, speaker.strip() or "User")
    lines = [line for line in normalise(text, vocabulary).splitlines() if line.strip()]
    docs = tuple(parse_many(lines)) if lines else ()
    clauses: list[Clause] = []
    skipped: list[Skipped] = []
    carried: Change | None = None
    for doc in docs:
        for sentence in doc.sents:
            if _apology(sentence):
                skipped.append(Skipped(speaker, said(sentence), "an apology"))
                continue
            remaining = without_openers(sentence, vocabulary)
            if not remaining:  # nothing but "Hi!" or "Okay, so"
                skipped.append(Skipped(speaker, said(sentence), "small talk"))
            for sent, change, typed in remaining:
                reason = skip_reason(sent, vocabulary, role)
                if reason == "request":
                    clauses.extend(requested(sent, label))
                    continue
                if reason:
                    skipped.append(Skipped(speaker, said(sent), reason))
                    continue
                for clause in split_clauses(sent, change or carried, typed):
                    carried = None
                    why = clause_skip_reason(clause, vocabulary, role)
                    if why:
                        skipped.append(Skipped(speaker, said(clause.tokens), why))
                        # "I changed my mind." says nothing itself, but the change is in the next statement
                        carried = clause.change or changes_in(clause.tokens, vocabulary)
                        clause.context_only = True
                    clauses.append(clause)
    if context and clauses and opens_leaning(clauses[0]):
        before = [
            Clause(list(s), s.root, None, [], None, None, context_only=True)
            for d in parse_many(context)
            for s in d.sents
        ]
        clauses = before + clauses
    statements = with_topic([c for c in resolve(clauses, label, vocabulary, role) if not c.context_only])
    if role != "named":
        statements = without_scraps(statements, vocabulary)
    made: dict[str, Statement] = {}
    for clause in statements:
        statement = _statement(speaker, clause, label, vocabulary, role)
        key = " ".join(statement.content.lower().split())
        if key in made:  # said twice in one message: one statement, as a repeat across messages is one cell
            skipped.append(Skipped(speaker, statement.said, "said again in the same message"))
        else:
            made[key] = statement
    return Reading(tuple(made.values()), tuple(skipped), docs)


def _person(clause: Clause, label: str) -> dict[int, str]:
    """First person as ``label``: "I" and "we" as the label, "my" and "our" as its possessive, the verb agreeing."""
    replace: dict[int, str] = {}
    tokens = clause.borrowed + clause.tokens
    for t in tokens:
        if not is_first_person(t):
            continue
        low = t.lower_
        if low in ("my", "our", "mine", "ours"):
            replace[t.i] = f"{label}'s"
        else:
            replace[t.i] = label
        if (
            low in ("i", "we")
            and t.dep_ in ("nsubj", "nsubjpass")
            and not any(c.dep_ == "conj" for c in t.head.children if c.dep_ == "conj" and c.pos_ == "PRON")
        ):
            verb = t.head
            aux = next((c for c in verb.children if c.dep_ in ("aux", "auxpass") and c.i > t.i), None)
            agreeing = aux if aux is not None else verb
            if agreeing.i != t.i:
                word = third_person(agreeing)
                if agreeing.text.startswith("'"):  # "I'll" -> "User will", "we're" -> "User is"
                    perfect = agreeing.lower_ in ("'s", "'d")  # "she's gone": has
                    word = " " + (expanded(agreeing) if perfect else CONTRACTED.get(word.lower(), word.lstrip("'")))
                replace[agreeing.i] = word
    if clause.borrowed and clause.subject is not None and is_first_person(clause.subject):
        head = clause.head
        if not any(c.dep_ in ("aux", "auxpass") for c in head.children) and head.tag_ in ("VBP", "VB"):
            replace[head.i] = third_person(head)
    return replace


def _supply_subject(clause: Clause, label: str, vocabulary: Vocabulary) -> None:
    """A clause with no subject ("got new shoes today") is said of the speaker; an order becomes a task."""
    if clause.subject is not None or clause.borrowed or clause.prefix:
        return
    head = clause.head
    first = clause.tokens[0]
    if head.pos_ not in ("VERB", "AUX") or (first.i > head.i and first.dep_ not in ("aux", "auxpass", "neg", "advmod")):
        return
    lead = first if first.dep_ in ("aux", "auxpass") else head
    if (
        lead.tag_ == "VB"
        and lead.lemma_.lower() not in vocabulary.dropped_subject_verbs
        and lead.i == clause.tokens[0].i
    ):
        clause.imperative = True
        clause.prefix = f"{label} needs to "
        clause.replace[lead.i] = lead.text.lower()
        clause.notes.append("an order, kept as a task")
        return
    if lead.tag_ == "VBN" and lead.lower_ == "been":
        clause.prefix = f"{label} has "
    elif lead.tag_ == "VBG":
        clause.prefix = f"{label} is "
    elif lead.tag_ in ("VB", "VBP"):
        clause.prefix = f"{label} "
        clause.replace[lead.i] = third_person(lead) if lead.lower_ not in ("am", "'m") else "is"
    else:
        clause.prefix = f"{label} "
    if lead.i == clause.tokens[0].i and lead.i not in clause.replace:
        clause.replace[lead.i] = lead.text.lower() if not lead.ent_type_ else lead.text
    clause.notes.append(f"said of {label}: the subject was left out")


def _bare_subject(clause: Clause) -> None:
    """ "plan is 4 runs a week": a bare singular noun as subject reads as "The plan ..."."""
    subject = clause.subject
    if subject is None or clause.borrowed or subject.pos_ != "NOUN" or subject.tag_ != "NN":
        return
    if any(c.dep_ in ("det", "poss", "nummod") for c in subject.children):
        return
    first = min(subject.subtree, key=lambda t: t.i)
    if first.i == clause.tokens[0].i:
        clause.replace.setdefault(first.i, "the " + first.text.lower())


def _apology(sentence: Span) -> bool:
    """ "Sorry for the chaos, my life is a mess": an apology that names no date, amount or name."""
    if sentence[0].lower_ not in ("sorry", "apologies"):
        return False
    return not any(t.like_num or t.ent_type_ for t in sentence)


def _its_mine(clause: Clause) -> None:
    """ "It's my turn to host book club": the turn is the speaker's; "It" stands for nothing."""
    subject, head = clause.subject, clause.head
    if subject is None or subject.lower_ != "it" or head.lemma_.lower() != "be" or clause.prefix:
        return
    owned = next((c for c in head.children if c.dep_ == "attr" and any(g.dep_ == "poss" for g in c.children)), None)
    if owned is None:
        return
    clause.tokens = [t for t in clause.tokens if t.i >= owned.left_edge.i]
    clause.subject, clause.head = None, owned
    clause.notes.append("'it is my ...' said of the speaker")


def _obligation(clause: Clause, label: str, vocabulary: Vocabulary) -> None:
    """ "It is crucial to pay Anke by Friday": a task of the speaker's, said without "It"."""
    subject, head = clause.subject, clause.head
    if subject is None or subject.lower_ != "it" or head.lemma_.lower() != "be" or clause.prefix:
        return
    adjective = next((c for c in head.children if c.dep_ == "acomp" and c.lemma_.lower() in vocabulary.emphasis), None)
    action = next((c for c in head.children if c.dep_ == "xcomp" and c.pos_ == "VERB"), None)
    if adjective is None or action is None:
        return
    clause.tokens = [t for t in action.subtree if not (t.dep_ == "aux" and t.head == action)]
    clause.subject, clause.head = None, action
    clause.prefix = f"{label} needs to "
    clause.typed = "task"
    clause.notes.append(f"'it is {adjective.text} to ...' kept as a task")


def _content(clause: Clause, label: str, vocabulary: Vocabulary) -> str:
    _supply_subject(clause, label, vocabulary)
    _bare_subject(clause)
    replace = _person(clause, label)
    replace.update(clause.replace)
    fillers = [t.i for t in clause.tokens if t.lower_ in vocabulary.fillers]
    borrowed = render(clause.borrowed, replace) if clause.borrowed else ""
    body = render(clause.tokens, replace, drop=fillers)
    return finish(" ".join(p for p in (clause.prefix.strip(), borrowed, body) if p))


def _statement(speaker: str, clause: Clause, label: str, vocabulary: Vocabulary, role: str) -> Statement:
    _obligation(clause, label, vocabulary)
    _its_mine(clause)
    group = [*clause.preceded, clause, *clause.joined]
    content = " ".join(_content(part, label, vocabulary) for part in group)
    if role == "named" and not content.lower().startswith(label.lower()):  # who said it comes first
        content = f"{label}: {content}"
    tokens = clause.borrowed + [t for part in group for t in part.tokens]
    first_person = clause.prefix.startswith(label) or any(
        is_first_person(t) for t in tokens if t.dep_ in ("nsubj", "nsubjpass")
    )
    cell_type = clause.typed or cell_type_of(
        tokens, vocabulary, first_person=first_person, imperative=clause.imperative
    )
    subject = clause.stands_for if clause.stands_for is not None else clause.subject
    facts = facts_of([*clause.topic, *tokens], vocabulary, labels=("user", label), head=clause.head, subject=subject)
    if clause.stands_for is not None:
        facts = with_subject(facts, phrase_tokens(clause.stands_for), vocabulary)
    if clause.acts_on is not None:
        facts = with_object(facts, phrase_tokens(clause.acts_on), vocabulary)
    change = next(
        (c for c in (part.change or changes_in(part.tokens, vocabulary) for part in group) if c is not None), None
    )
    notes = list(clause.notes)
    if change is not None:
        notes.append(f"change cue '{change.cue}' ({change.kind})")
    return Statement(
        speaker=speaker,
        said=said(clause.tokens),
        content=content,
        cell_type=cell_type,
        salience=salience_of(tokens, cell_type, vocabulary),
        facts=facts,
        change=change,
        notes=tuple(notes),
    )
