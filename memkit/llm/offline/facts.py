"""What a statement says, in a form two statements can be compared by.

From the parse of a statement the engine reads its :class:`Facts`: the
things it is about (*anchors*: lemmas of its nouns and names), its subject,
its main verb, its *values* (dates, times, amounts of money, numbers,
places, organisations, people, as spaCy's named entities label them),
whether it is negated, and every content word. Two statements are about the
same *slot* when they share their subject or anchors and hold values of the
same kind; a new value for a slot is a change (:mod:`.revise`).

The same module gives a statement its cell type and salience, and finds the
change cues in it (:class:`Change`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .vocabulary import Vocabulary

if TYPE_CHECKING:
    from spacy.tokens import Span, Token
__all__ = [
    "VALUE_KINDS",
    "Change",
    "Facts",
    "Value",
    "cell_type_of",
    "changes_in",
    "facts_of",
    "has_phrase",
    "salience_of",
    "with_object",
    "with_subject",
]

#: Entity labels that hold a value a slot can take.
VALUE_KINDS = frozenset(
    {
        "DATE",
        "TIME",
        "MONEY",
        "PERCENT",
        "CARDINAL",
        "QUANTITY",
        "ORDINAL",
        "GPE",
        "LOC",
        "FAC",
        "ORG",
        "PERSON",
        "PRODUCT",
        "EVENT",
        "WORK_OF_ART",
        "NORP",
        "LANGUAGE",
    }
)
#: Value kinds that measure (a number, a date): never the thing a statement is about.
MEASURES = frozenset({"DATE", "TIME", "MONEY", "PERCENT", "CARDINAL", "QUANTITY", "ORDINAL"})
#: Value kinds that name something: they may be what a statement is about.
NAMES = frozenset({"GPE", "LOC", "FAC", "ORG", "PERSON", "PRODUCT", "EVENT", "WORK_OF_ART", "NORP", "LANGUAGE"})
_CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "NUM"})
_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
_ORDINAL = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3})")
_SUBJECT_CUES = frozenset({"new", "latest"})
_CURRENCIES = frozenset({"euro", "dollar", "pound", "quid", "buck", "franc", "krona", "krone", "yen", "rupee", "cent"})
_FIRST_PERSON = frozenset({"i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "ourselves"})


@dataclass(frozen=True)
class Value:
    """A value a statement holds: its kind (an entity label), the words, and a key to compare by."""

    kind: str
    text: str
    key: str


@dataclass(frozen=True)
class Facts:
    """What a statement says, for comparing it with others (see the module docstring)."""

    anchors: frozenset[str]
    subject: frozenset[str]
    predicate: str
    values: tuple[Value, ...]
    negated: bool
    words: frozenset[str]
    #: The anchors that are names (a person, a place, a firm, a product).
    names: frozenset[str] = frozenset()
    #: The anchors that are people close to the speaker (a person's name, "sister", "kids").
    people: frozenset[str] = frozenset()
    #: Whether it tells of something that happened (its main verb in the past tense).
    past: bool = False

    def value_kinds(self) -> frozenset[str]:
        """The kinds of value it holds."""
        return frozenset(v.kind for v in self.values)

    def values_of(self, kinds: Iterable[str]) -> frozenset[str]:
        """The keys of its values of these kinds."""
        wanted = set(kinds)
        return frozenset(v.key for v in self.values if v.kind in wanted)


@dataclass(frozen=True)
class Change:
    """A change cue in a statement.

    :param kind: ``"replace"`` (a new value takes the old one's place), ``"end"`` (something
        stops being true) or ``"done"`` (a task or state is completed).
    :param cue: the words that said so.
    :param old: lemmas of the old value the cue names ("instead of *Raman*"), if any.
    :param thing: lemmas of what was ended or done ("the *order* is cancelled"), if any.
    """

    kind: str
    cue: str
    old: frozenset[str] = frozenset()
    thing: frozenset[str] = frozenset()
    #: Lemmas of the subject of the clause the cue is in (empty when the speaker is the subject).
    subject: frozenset[str] = frozenset()


_POINTING = frozenset({"that", "those", "same", "such"})


def _points_back(ent: Span) -> bool:
    """A date or time that only points at one said before ("on *those days*", "the *same day*"): no
    number, no name of a day or month, led by a demonstrative."""
    words = [t for t in ent if not t.is_punct]
    return (
        bool(words)
        and words[0].lower_ in _POINTING | {"the"}
        and any(t.lower_ in _POINTING for t in words)
        and not any(t.like_num or t.pos_ == "PROPN" for t in words)
    )


def value_key(text: str) -> str:
    """A value's words in a form that compares equal across spellings ("1,800" = "1800", "12th" = "12")."""
    low = " ".join(text.lower().replace("’", "'").split())
    low = re.sub(r"^(?:the|a|an|about|around|like|roughly|approximately|just|only|max|min)\s+", "", low)
    low = _THOUSANDS.sub("", low)
    low = _ORDINAL.sub(r"\1", low)
    words = [_NUMBER_WORDS.get(w, w) for w in re.findall(r"[\w.:$£€%]+", low)]
    return " ".join(w for w in words if w not in ("the", "of", "on", "at", "ish"))


def _lemma(token: Token) -> str:
    return token.lemma_.lower().replace("’", "'")


def is_first_person(token: Token) -> bool:
    """Whether ``token`` is I, me, my, we, us, our and the like."""
    return token.pos_ == "PRON" and token.lower_ in _FIRST_PERSON


def content_lemmas(tokens: Iterable[Token], vocabulary: Vocabulary, labels: Iterable[str] = ()) -> frozenset[str]:
    """Lemmas of the content words: nouns, names, verbs, adjectives and numbers, stop words and labels left out."""
    skip = {label.lower() for label in labels}
    found = set()
    for t in tokens:
        if t.pos_ not in _CONTENT_POS or (t.is_stop and t.pos_ != "NUM") or is_first_person(t):
            continue
        lemma = _lemma(t)
        if lemma in skip or lemma in vocabulary.small_talk or not any(ch.isalnum() for ch in lemma):
            continue
        found.add(_NUMBER_WORDS.get(lemma, lemma))
    return frozenset(found)


def facts_of(
    tokens: Sequence[Token],
    vocabulary: Vocabulary,
    labels: Iterable[str] = ("user",),
    *,
    head: Token | None = None,
    subject: Token | None = None,
) -> Facts:
    """The :class:`Facts` of a statement's tokens.

    :param labels: words that stand for a speaker ("User", a speaker's name): never an anchor.
    :param head: the statement's main word (found from the tokens when not given).
    :param subject: its subject, when the caller knows it (a clause may borrow one).
    """
    labels = {label.lower() for label in labels}
    positions = {(id(t.doc), t.i) for t in tokens}
    values: list[Value] = []
    in_value: set[tuple[int, int]] = set()
    in_date: set[tuple[int, int]] = set()
    docs = list({id(t.doc): t.doc for t in tokens}.values())
    for doc in docs:
        for ent in doc.ents:
            if ent.label_ == "CARDINAL" and ent.text.lower() == "one":
                continue  # "the 8am one": a pronoun, not a number
            if ent.label_ in ("DATE", "TIME") and _points_back(ent):
                continue  # "on those days", "that morning": said before, not a value
            if (id(doc), ent.start) in positions and ent.label_ in VALUE_KINDS and ent.text.lower() not in labels:
                values.append(Value(ent.label_, ent.text, value_key(ent.text)))
                if ent.label_ in MEASURES:
                    in_value.update((id(doc), i) for i in range(ent.start, ent.end))
                if ent.label_ in ("DATE", "TIME"):
                    in_date.update((id(doc), i) for i in range(ent.start, ent.end))
    for t in tokens:  # "15,000 euros": a number of a currency is money, whatever the parser called it
        following = t.nbor(1) if t.i + 1 < len(t.doc) else None
        if t.like_num and following is not None and following.lemma_.lower() in _CURRENCIES:
            values = [v for v in values if v.key != value_key(t.text)]
            values.append(Value("MONEY", f"{t.text} {following.text}", value_key(f"{t.text} {following.text}")))
            in_value.update({(id(t.doc), t.i), (id(t.doc), following.i)})
    for t in tokens:
        if t.like_num and (id(t.doc), t.i) not in in_value and not t.ent_type_ and t.lower_ != "one":
            values.append(Value("CARDINAL", t.text, value_key(t.text)))
            in_value.add((id(t.doc), t.i))
    anchors = set()
    names = set()
    people = set()
    for t in tokens:
        key = (id(t.doc), t.i)
        if t.pos_ not in ("NOUN", "PROPN") or is_first_person(t):
            continue
        if key in in_date and (t.pos_ == "PROPN" or _lemma(t) in vocabulary.units):
            continue  # "Friday", "mornings": when, not what; "two *espressos* every morning" is still espresso
        if key in in_value and _lemma(t) in vocabulary.units:
            continue
        lemma = _lemma(t)
        if lemma in labels or lemma in vocabulary.vague_nouns or not lemma.isalpha() or len(lemma) < 2:
            continue
        if lemma in vocabulary.fillers:
            continue  # "Ugh", "lol" parsed as nouns say nothing about what a statement is about
        anchors.add(lemma)
        if is_name(t):
            names.add(lemma)
        if t.ent_type_ == "PERSON" or lemma in vocabulary.family_nouns:
            people.add(lemma)
    head = head if head is not None else _head(tokens)
    subj = subject
    if subj is None and head is not None:
        subj = next(
            (c for c in head.children if c.dep_ in ("nsubj", "nsubjpass") and (id(c.doc), c.i) in positions), None
        )
    if subj is None or is_first_person(subj):
        subject_words = frozenset({"user"})
    elif subj.lower_ in labels:
        subject_words = frozenset({subj.lower_})
    else:
        subject_words = (
            frozenset(_lemma(c) for c in [subj, *subj.children] if c == subj or c.dep_ in ("compound", "amod"))
            - vocabulary.vague_nouns
        )
    negated = any(t.dep_ == "neg" or t.lower_ in ("no", "never", "nothing", "none", "without") for t in tokens)
    return Facts(
        anchors=frozenset(anchors),
        subject=subject_words,
        predicate=_lemma(head) if head is not None else "",
        values=tuple(dict.fromkeys(values)),
        negated=negated,
        words=content_lemmas(tokens, vocabulary, labels),
        names=frozenset(names),
        people=frozenset(people),
        past=head is not None and head.tag_ == "VBD",
    )


def with_subject(facts: Facts, tokens: Sequence[Token], vocabulary: Vocabulary) -> Facts:
    """``facts`` of a statement whose subject was supplied from elsewhere ("It" read as ``tokens``)."""
    lemmas = {_lemma(t) for t in tokens if t.pos_ in ("NOUN", "PROPN") and _lemma(t) not in vocabulary.vague_nouns}
    names = {_lemma(t) for t in tokens if is_name(t)}
    people = {_lemma(t) for t in tokens if t.ent_type_ == "PERSON" or _lemma(t) in vocabulary.family_nouns}
    return replace(
        facts,
        anchors=facts.anchors | lemmas,
        subject=frozenset(lemmas) or facts.subject,
        names=facts.names | names,
        people=facts.people | people,
    )


def with_object(facts: Facts, tokens: Sequence[Token], vocabulary: Vocabulary) -> Facts:
    """``facts`` of a statement whose "it" was read as ``tokens`` ("picking it up": the audit). Its words,
    not its anchors: what a statement is about, and so its scene, comes from what it names itself."""
    lemmas = {_lemma(t) for t in tokens if t.pos_ in ("NOUN", "PROPN") and _lemma(t) not in vocabulary.vague_nouns}
    return replace(facts, words=facts.words | lemmas)


def is_name(token: Token) -> bool:
    """Whether a token is part of a name: written with a capital (not only because it opens a
    sentence) and tagged a proper noun or a named entity. Lower-case chat never makes names."""
    if not token.text[:1].isupper() or token.ent_type_ in MEASURES:
        return False
    if token.ent_type_ in NAMES:
        return True
    return token.pos_ == "PROPN" and not token.is_sent_start


def _head(tokens: Sequence[Token]) -> Token | None:
    """The token of ``tokens`` whose head lies outside them (the clause's main word)."""
    positions = {t.i for t in tokens}
    for t in tokens:
        if t.head.i not in positions or t.head == t:
            return t
    return tokens[0] if tokens else None


def has_phrase(text: str, phrases: Iterable[str]) -> str | None:
    """The first of ``phrases`` found in ``text`` as whole words (case-insensitive), or None."""
    low = " " + " ".join(re.findall(r"[\w']+", text.lower().replace("’", "'"))) + " "
    for phrase in phrases:
        if f" {phrase} " in low:
            return phrase
    return None


def changes_in(tokens: Sequence[Token], vocabulary: Vocabulary) -> Change | None:
    """The change cue among ``tokens``, if any (see :class:`Change`), with the subject of its clause."""
    change = _change_in(tokens, vocabulary)
    if change is None:
        return None
    subject = next((t for t in tokens if t.dep_ in ("nsubj", "nsubjpass") and t.head.pos_ in ("VERB", "AUX")), None)
    if subject is None or is_first_person(subject) or subject.pos_ == "PRON":
        return change
    return replace(change, subject=frozenset(_noun_lemmas(subject, vocabulary)))


def _change_in(tokens: Sequence[Token], vocabulary: Vocabulary) -> Change | None:
    text = " ".join(t.text for t in tokens)
    lemmas = [_lemma(t) for t in tokens]
    joined = " ".join(lemmas)
    ended = has_phrase(text, vocabulary.end_phrases) or has_phrase(joined, vocabulary.end_phrases)
    for t in tokens:
        lemma = _lemma(t)
        if t.pos_ == "VERB" and lemma in vocabulary.end_verbs and not _bare_gerund(t):
            return Change("end", t.text, thing=_affected(t, tokens, vocabulary, objects_first=True))
    anymore = next(
        (t for t in tokens if t.lower_ in ("anymore", "longer") and t.i > 0 and t.nbor(-1).lower_ in ("any", "no")),
        None,
    )
    anymore = anymore or next((t for t in tokens if t.lower_ == "anymore"), None)
    if anymore is not None and any(t.dep_ == "neg" or t.lower_ in ("no", "never") for t in tokens):
        verb = anymore.head  # "I don't drink espresso anymore": drinking espresso ended
        return Change("end", "not anymore", thing=_affected(verb, tokens, vocabulary, objects_first=True))
    if ended:
        words = ended.split()
        anchor = next((t for t in tokens if t.lower_ in words or _lemma(t) in words), tokens[0])
        cue = [t for t in tokens if t.lower_ in words or _lemma(t) in words]
        rest = [t for t in tokens if t not in cue]
        return Change("end", ended, thing=_affected(anchor, rest, vocabulary, objects_first=True))
    for t in tokens:
        lemma = _lemma(t)
        if t.pos_ == "VERB" and lemma in vocabulary.replace_verbs and _says_where_to(t, vocabulary) and not _maybe(t):
            return Change("replace", t.text, old=_named_old(tokens, vocabulary), thing=_affected(t, tokens, vocabulary))
    phrase = has_phrase(text, [p for p in vocabulary.replace_phrases if p not in _SUBJECT_CUES])
    if phrase:
        return Change("replace", phrase, old=_named_old(tokens, vocabulary))
    for t in tokens:  # "the new goal is...", "the new one is Dr Reyes": a new value of the subject
        if (
            t.lower_ in _SUBJECT_CUES
            and t.dep_ == "amod"
            and t.head.dep_ in ("nsubj", "nsubjpass")
            and _is_copula(t.head)
        ):
            return Change("replace", f"{t.text} {t.head.text}")
    for t in tokens:  # "the crown is now April 2", "croissant now $4.25": a new value, now
        if t.lower_ == "now" and (_holds_value(tokens) or _states_a_choice(tokens, vocabulary)):
            return Change("replace", "now", old=_named_old(tokens, vocabulary))
    for t in tokens:
        if t.pos_ in ("VERB", "ADJ") and _lemma(t) in vocabulary.done_verbs and t.tag_ in ("VBD", "VBN", "JJ"):
            if any((c.dep_ == "aux" and c.lower_ in ("will", "'ll", "to")) or c.dep_ == "prt" for c in t.children):
                continue  # "will fix" is a plan, "signed up" a start, not a done deed
            return Change("done", t.text, thing=_affected(t, tokens, vocabulary))
    return None


def _bare_gerund(verb: Token) -> bool:
    """An "-ing" form with no auxiliary and no object ("that *ending*!", "the stopping point"): a noun
    the parse read as a verb, not something ending ("is ending the lease", "cancelling the order")."""
    acts = any(
        c.dep_ in ("aux", "auxpass", "prt") or (c.dep_ == "dobj" and c.pos_ in ("NOUN", "PROPN", "PRON"))
        for c in verb.children
    )
    return verb.tag_ == "VBG" and not acts


def _is_copula(subject: Token) -> bool:
    """Whether ``subject`` is the subject of "is": "the new goal *is* 4:20" (the parser may hang a
    complement it misreads, "is just finish comfortably", under a verb with "is" as its auxiliary)."""
    head = subject.head
    return _lemma(head) == "be" or any(c.lemma_ == "be" and c.dep_ in ("aux", "auxpass", "cop") for c in head.children)


def _states_a_choice(tokens: Sequence[Token], vocabulary: Vocabulary) -> bool:
    """Whether the statement says what someone prefers, chose or does ("I prefer oak now")."""
    verbs = vocabulary.preference_verbs | vocabulary.decision_verbs | vocabulary.habit_verbs
    return any(t.pos_ == "VERB" and _lemma(t) in verbs for t in tokens)


def _holds_value(tokens: Sequence[Token]) -> bool:
    """Whether the statement holds a date, a time, an amount or a number."""
    return any(t.like_num or t.ent_type_ in MEASURES for t in tokens)


#: Auxiliaries that make a change a possibility ("Leo can move up in November"), not a change made.
_POSSIBLE = frozenset({"can", "could", "may", "might"})


def _maybe(verb: Token) -> bool:
    """Whether the verb says only that the change could happen ("can move up", "might push it back")."""
    return any(c.dep_ == "aux" and c.lower_ in _POSSIBLE for c in verb.children)


def _says_where_to(verb: Token, vocabulary: Vocabulary) -> bool:
    """A verb of motion is a change cue only when it says where to ("moved *to* Friday", "pushed *back*");
    "the plumber moved the pipes" is a deed, not a change."""
    if _lemma(verb) in vocabulary.change_verbs:
        return True
    after = [t for t in verb.subtree if verb.i < t.i <= verb.i + 6]
    return any(t.lower_ in ("to", "from", "back", "forward", "until", "till", "into", "by") for t in after)


def _affected(
    verb: Token, tokens: Sequence[Token], vocabulary: Vocabulary, *, objects_first: bool = False
) -> frozenset[str]:
    """Lemmas of what ``verb`` acts on: its object, or its subject when it has none ("the trip is cancelled").

    :param objects_first: only the object when there is one ("Maple no longer has *space*").
    """
    positions = {t.i for t in tokens}
    objects: set[str] = set()
    subjects: set[str] = set()
    head = verb
    while head.pos_ not in ("VERB", "AUX", "ADJ") and head.head.i != head.i:
        head = head.head  # "no longer" modifies the verb it stands before
    for child in head.children:
        if child.i not in positions or is_first_person(child):
            continue
        if child.dep_ in ("dobj", "pobj", "attr"):
            objects |= _noun_lemmas(child, vocabulary)
        elif child.dep_ in ("nsubjpass", "nsubj"):
            subjects |= _noun_lemmas(child, vocabulary)
        elif child.dep_ == "prep":
            for grandchild in child.children:
                if grandchild.dep_ == "pobj":
                    objects |= _noun_lemmas(grandchild, vocabulary)
    if objects_first and objects:
        return frozenset(objects)
    return frozenset(objects | subjects)


def _noun_lemmas(token: Token, vocabulary: Vocabulary) -> set[str]:
    """Lemmas of the nouns and names in ``token``'s phrase (its compounds and modifiers included)."""
    found = set()
    for t in token.subtree:
        if t.pos_ in ("NOUN", "PROPN") and not t.is_stop and not is_first_person(t):
            lemma = _lemma(t)
            if lemma not in vocabulary.vague_nouns and lemma.isalpha():
                found.add(lemma)
    return found


def _named_old(tokens: Sequence[Token], vocabulary: Vocabulary) -> frozenset[str]:
    """Lemmas of an old value a cue names: "from X to", "instead of X", "rather than X", "replace X with"."""
    for i, t in enumerate(tokens):
        low = t.lower_
        after = tokens[i + 1 : i + 6]
        if low == "from" and any(a.lower_ == "to" for a in after):
            stop = next(j for j, a in enumerate(after) if a.lower_ == "to")
            return _words_of(after[:stop], vocabulary)
        if low == "of" and i > 0 and tokens[i - 1].lower_ == "instead":
            return _words_of(_phrase_after(tokens, i + 1), vocabulary)
        if low == "than" and i > 0 and tokens[i - 1].lower_ == "rather":
            return _words_of(_phrase_after(tokens, i + 1), vocabulary)
        if low == "now" and _lemma(t.head) == "be":  # "10 April is now 15 April": the subject was the value
            subject = next((c for c in t.head.children if c.dep_ in ("nsubj", "nsubjpass")), None)
            if subject is not None and (subject.like_num or subject.ent_type_ in MEASURES):
                return frozenset({value_key(" ".join(w.text for w in subject.subtree))})
        if low == "not" and i > 0 and tokens[i - 1].text == "," and after:  # "four nights now, not five"
            value = [a for a in _phrase_after(tokens, i + 1) if a.like_num or a.ent_type_ in MEASURES]
            if value:
                return _words_of(value, vocabulary)
        if _lemma(t) in ("replace", "swap", "scratch") and after:
            stop = next((j for j, a in enumerate(after) if a.lower_ in ("with", "for", "by", ",", ".")), len(after))
            return _words_of(after[:stop], vocabulary)
    return frozenset()


def _phrase_after(tokens: Sequence[Token], start: int) -> Sequence[Token]:
    end = start
    while end < len(tokens) and not tokens[end].is_punct and tokens[end].pos_ not in ("VERB", "AUX", "CCONJ", "SCONJ"):
        end += 1
    return tokens[start:end]


def _words_of(tokens: Sequence[Token], vocabulary: Vocabulary) -> frozenset[str]:
    return frozenset(
        _NUMBER_WORDS.get(_lemma(t), value_key(t.text))
        for t in tokens
        if (t.pos_ in ("NOUN", "PROPN", "NUM") or t.like_num) and _lemma(t) not in vocabulary.vague_nouns
    )


# -- cell type and salience ------------------------------------------------------------------------


def cell_type_of(tokens: Sequence[Token], vocabulary: Vocabulary, *, first_person: bool, imperative: bool) -> str:
    """The cell type of a statement, from its verbs and cue words.

    In order: a decision verb (decide, choose, go with, switch to); a risk word (risk, worried,
    might not); a task phrase said of oneself (need to, have to, must) or an order; a preference
    verb said of oneself (prefer, love, hate, would rather); a plan (will, going to, plan, goal,
    or a date still to come); otherwise a fact.
    """
    text = " ".join(t.text for t in tokens)
    lemmas = {_lemma(t) for t in tokens}
    verbs = {_lemma(t) for t in tokens if t.pos_ in ("VERB", "AUX")}
    if verbs & vocabulary.decision_verbs or _goes_with(tokens) or ("switch" in verbs and first_person):
        return "decision"
    if lemmas & vocabulary.risk_words or has_phrase(text, vocabulary.risk_phrases):
        return "risk"
    if imperative or (has_phrase(text, vocabulary.task_phrases) and first_person):
        return "task"
    if first_person and (verbs & vocabulary.preference_verbs or lemmas & vocabulary.preference_words):
        return "preference"
    if _is_plan(tokens, vocabulary, verbs, lemmas):
        return "plan"
    return "fact"


def _goes_with(tokens: Sequence[Token]) -> bool:
    return any(_lemma(t) == "go" and any(c.lower_ == "with" for c in t.children) for t in tokens)


def _is_plan(tokens: Sequence[Token], vocabulary: Vocabulary, verbs: set[str], lemmas: set[str]) -> bool:
    """Said of the future ("will", "going to"), a plan verb ("plan", "intend") or a plan as subject ("the goal is")."""
    if verbs & vocabulary.plan_verbs:
        return True
    if any(
        t.lower_ in ("will", "'ll", "shall") or (t.lower_ == "going" and t.nbor(1).lower_ == "to")
        for t in tokens
        if t.i + 1 < len(t.doc)
    ):
        return True
    return any(t.dep_ in ("nsubj", "nsubjpass") and _lemma(t) in vocabulary.plan_words for t in tokens)


_PROPER = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART"})

#: Starting salience of each type, before features adjust it.
BASE_SALIENCE: dict[str, float] = {
    "decision": 0.7,
    "risk": 0.7,
    "task": 0.65,
    "plan": 0.6,
    "preference": 0.55,
    "fact": 0.5,
}


def salience_of(span: Span | Sequence[Token], cell_type: str, vocabulary: Vocabulary) -> float:
    """Salience in [0.05, 0.95]: the type's base, adjusted by what anyone can see in the statement.

    +0.10 for a number, date or time; +0.05 for a name (a person, place, organisation);
    +0.10 for emphasis ("important", "deadline", "must"); -0.10 for hedging ("maybe",
    "I think"); -0.10 for a statement of fewer than five words.
    """
    tokens = list(span)
    text = " ".join(t.text for t in tokens)
    value = BASE_SALIENCE.get(cell_type, 0.5)
    if any(t.like_num or t.ent_type_ in ("DATE", "TIME", "MONEY", "PERCENT") for t in tokens):
        value += 0.10
    if any(t.ent_type_ in _PROPER for t in tokens):
        value += 0.05
    if any(_lemma(t) in vocabulary.emphasis for t in tokens):
        value += 0.10
    if has_phrase(text, vocabulary.hedges):
        value -= 0.10
    if sum(1 for t in tokens if t.is_alpha) < 5:
        value -= 0.10
    return round(min(0.95, max(0.05, value)), 2)
