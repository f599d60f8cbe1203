"""What a leaning clause stands on: pronouns resolved, short and bare clauses joined.

A clause that leans on an earlier one ("It's $80 a night", "delivers Tuesdays") has its pronoun, or
its missing subject, replaced by what it stands for: the nearest earlier noun that agrees with it (a
person for "she", a thing for "it", several or a firm for "they"). When none fits it is joined to the
statement before. Notes under a heading ("Order: Brightline party. 150 cookies.") are said of the
heading, and statements of a word or two are kept with their neighbour.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .clauses import Clause, is_content
from .facts import changes_in, is_first_person
from .vocabulary import Vocabulary
from .wording import render, third_person

if TYPE_CHECKING:
    from spacy.tokens import Token
__all__ = [
    "CONTRACTED",
    "MIN_STATEMENT_WORDS",
    "expanded",
    "noun_phrase",
    "opens_leaning",
    "phrase_tokens",
    "resolve",
    "with_topic",
    "without_scraps",
]

_LEANING = frozenset({"it", "they", "she", "he", "this", "that", "these", "those", "them", "him", "her"})


_LEANING_POSSESSIVE = frozenset({"its", "their", "his", "her"})


_EXPLETIVE_HEADS = frozenset(["rain", "snow", "seem", "appear", "take", "turn", "look", "matter", "depend"])


_DETERMINERS_TO_THE = frozenset({"a", "an", "another", "some", "this", "that", "these", "those"})


#: "That's another $2,300": a demonstrative stands for what the sentence before said, not for one noun.
_DEMONSTRATIVE = frozenset({"this", "that", "these", "those"})


MEASURE_LABELS = frozenset({"DATE", "TIME", "MONEY", "CARDINAL", "PERCENT", "QUANTITY", "ORDINAL"})


#: Where an antecedent is looked for first: the subject, then the object, then the rest.
_PRIORITY = ("nsubj", "nsubjpass", "dobj", "attr", "ROOT", "pobj", "appos", "conj", "compound")


CONTRACTED = {"'s": "is", "'re": "are", "'ll": "will", "'ve": "have", "'d": "would", "'m": "am"}
#: Before a past participle (not a passive), "'s" is "has" and "'d" is "had": "he's offered to help".
_PERFECT = {"'s": "has", "'d": "had"}


def expanded(token: Token) -> str:
    """The word a contraction stands for ("'re" is "are"; "'s" is "is", or "has" in "she's gone")."""
    low = token.lower_.replace("’", "'")
    verb = token.head
    perfect = (
        token.dep_ == "aux"
        or verb.lower_ in ("been", "gone", "got", "had")
        or any(c.dep_ == "xcomp" for c in verb.children)
    )  # "she's offered to drive" is "has offered", whatever the parser says
    if low in _PERFECT and verb.tag_ == "VBN" and perfect:
        return _PERFECT[low]
    return CONTRACTED.get(low, token.text.lstrip("'"))


#: A statement with fewer content words than this is kept together with its neighbour.
MIN_STATEMENT_WORDS = 3


def resolve(clauses: list[Clause], label: str, vocabulary: Vocabulary, role: str) -> list[Clause]:
    """Replace leaning pronouns by what they stand for; join a clause to the one before when none fits.

    Clauses marked ``context_only`` (skipped sentences) are searched for what a pronoun stands for
    ("Leo update!! He put his face in the water"), but are never joined to.
    """
    kept: list[Clause] = []
    resolved: dict[int, str] = {}  # token -> what it was read as, for clauses that borrow that subject
    for clause in clauses:
        for token in clause.borrowed:
            if token.i in resolved:
                clause.replace[token.i] = resolved[token.i]
        subject = clause.subject if not clause.borrowed else None
        target = None
        possessive = False
        real = [c for c in kept if not c.context_only]
        if subject is not None and subject.lower_ in _DEMONSTRATIVE and real and not clause.context_only:
            clause.leans = True  # "that's another $2,300": about the sentence before, not one noun of it
        elif subject is not None and subject.lower_ in _LEANING and not _expletive(subject, clause.head):
            target = subject
        elif subject is not None:
            target = next((c for c in subject.children if c.dep_ == "poss" and c.lower_ in _LEANING_POSSESSIVE), None)
            possessive = target is not None
        if target is None and not clause.context_only and _third_person_without_subject(clause):
            # "delivers tuesdays", "has to finish notice": said of someone or something, not the speaker
            found = _antecedent(clause.head, kept, vocabulary)
            if found is not None:
                clause.prefix = noun_phrase(found, label) + " "
                clause.stands_for = found
                clause.notes.append(f"said of '{clause.prefix.strip()}': the subject was left out")
            else:
                clause.leans = True
        elif target is None and not clause.context_only and _bare_fragment(clause, vocabulary):
            clause.leans = True  # "25kg sacks, $38 each." says something about the sentence before
        if target is not None and not clause.context_only:
            found = _antecedent(target, kept, vocabulary, nearest=possessive, own=clause)
            if found is not None:
                text = noun_phrase(found, label)
                clause.replace[target.i] = text + ("'s" if possessive else "")
                named = {t.i for t in found.subtree if t.i < target.i}
                between = [t for t in clause.tokens if found.i < t.i < target.i and t.i not in named]
                if found in clause.tokens and between and all(t.is_punct for t in between):
                    # "Tom, he's the dad of Ava": said once, as "Tom is the dad of Ava"
                    dropped = named | {t.i for t in between}
                    clause.tokens = [t for t in clause.tokens if t.i not in dropped]
                clause.stands_for = found if not possessive else None
                resolved[target.i] = clause.replace[target.i]
                clause.notes.append(f"'{target.text}' read as '{text}'")
                following = target.nbor(1) if target.i + 1 < len(target.doc) else None
                if not possessive and following is not None and following.text.startswith("'"):
                    clause.replace[following.i] = " " + expanded(following)
                if target.lower_ == "they" and not _plural(found):
                    _agree_singular(clause, target)  # "they charge" read as "Paws Plus charges"
            elif not possessive:
                clause.leans = True
        if target is None and not clause.context_only and not clause.leans:
            _resolve_object(clause, kept, label, vocabulary)
        statements = [c for c in kept if not c.context_only]
        if clause.leans and statements and not clause.context_only:
            statements[-1].joined.append(clause)
            statements[-1].notes.append("joined with the sentence after it, which leans on it")
            continue
        kept.append(clause)
    return kept


def _resolve_object(clause: Clause, before: Sequence[Clause], label: str, vocabulary: Vocabulary) -> None:
    """In a change ("Omar is picking *it* up instead", "they moved it to Friday"), the "it" the verb acts on
    read as the thing it stands for, when an earlier subject or object agrees: the change must find
    what it changes. Elsewhere an "it" is left as said."""
    pronoun = next((t for t in clause.tokens if t.dep_ == "dobj" and t.lower_ == "it" and t.head == clause.head), None)
    changes = clause.change or changes_in(clause.tokens, vocabulary)
    if pronoun is None or pronoun.i in clause.replace or changes is None:
        return
    found = _antecedent(pronoun, [c for c in before if c is not clause], vocabulary)
    if found is None:
        return
    text = noun_phrase(found, label)
    clause.replace[pronoun.i] = "the" + text[3:] if text.startswith("The ") else text
    clause.acts_on = found
    clause.notes.append(f"'{pronoun.text}' read as '{clause.replace[pronoun.i]}'")


def _verbless(clause: Clause) -> bool:
    """A note with no verb of its own ("200 cupcakes + 1 tiered cake"): its main word is not a verb."""
    return clause.head.pos_ not in ("VERB", "AUX")


def with_topic(clauses: list[Clause]) -> list[Clause]:
    """Notes: a message opening on a bare name of a thing ("Order: Brightline office party.") makes the
    bare phrases after it ("150 cookies.", "Pickup Friday 9am.") about that thing."""
    if len(clauses) < 2 or not _verbless(clauses[0]) or clauses[0].joined:
        return clauses
    topic = render(clauses[0].tokens).rstrip(".:;,!")
    for clause in clauses[1:]:
        if (
            _verbless(clause)
            and not clause.prefix
            and not any(t.ent_type_ in ("ORG", "PERSON", "GPE", "FAC") for t in clause.tokens)
        ):
            clause.prefix = f"{topic}: "
            clause.topic = list(clauses[0].tokens)
            clause.notes.append(f"a note under '{topic}'")
    return clauses


def without_scraps(clauses: list[Clause], vocabulary: Vocabulary) -> list[Clause]:
    """Very short statements ("Maya is nine.", "Taxes filed.") joined to the statement before them (or
    after, for the first): a cell of two words says too little to be found or understood alone.
    (In a transcript between named people each line keeps its own cells: who said it is news.)"""
    if len(clauses) < 2:
        return clauses
    kept: list[Clause] = []
    waiting: list[Clause] = []
    for clause in clauses:
        words = sum(
            1 for t in [*clause.tokens, *(x for j in clause.joined for x in j.tokens)] if is_content(t, vocabulary)
        )
        words += 1 if clause.stands_for is not None else 0  # "It" read as "the Pension Adler" says what it is about
        changes = clause.change or changes_in(clause.tokens, vocabulary)
        if changes is not None and changes.kind == "replace":  # it acts on a value: it stays itself
            waiting, clause.preceded = [], [*waiting, *clause.preceded]
            kept.append(clause)
            continue
        if words < MIN_STATEMENT_WORDS and not clause.borrowed:
            if kept and not _replaces(kept[-1], vocabulary):
                kept[-1].joined.append(clause)
                kept[-1].notes.append("kept with a short statement after it")
            else:
                waiting.append(clause)
            continue
        if waiting:
            clause.preceded = waiting + clause.preceded
            clause.notes.append("kept with a short statement before it")
            waiting = []
        kept.append(clause)
    if waiting:  # every statement was short: keep them together as one
        first, *rest = waiting
        first.joined.extend(rest)
        kept.append(first)
    return kept


def _replaces(clause: Clause, vocabulary: Vocabulary) -> bool:
    change = clause.change or changes_in(clause.tokens, vocabulary)
    return change is not None and change.kind == "replace"


def _third_person_without_subject(clause: Clause) -> bool:
    if clause.subject is not None or clause.borrowed or clause.prefix:
        return False
    first = clause.tokens[0]
    lead = first if first.dep_ in ("aux", "auxpass") else clause.head
    return lead.tag_ == "VBZ" and lead.i == first.i


def _bare_fragment(clause: Clause, vocabulary: Vocabulary) -> bool:
    """A clause with no verb and nothing it is about, only amounts ("25kg sacks, $38 each")."""
    if any(t.pos_ in ("VERB", "AUX") for t in clause.tokens):
        return False
    return not any(
        t.pos_ in ("NOUN", "PROPN") and t.ent_type_ not in MEASURE_LABELS and t.lemma_.lower() not in vocabulary.units
        for t in clause.tokens
    )


def opens_leaning(clause: Clause) -> bool:
    subject = clause.subject
    return subject is not None and (
        subject.lower_ in _LEANING
        or any(c.dep_ == "poss" and c.lower_ in _LEANING_POSSESSIVE for c in subject.children)
    )


def _expletive(pronoun: Token, head: Token) -> bool:
    """ "It's raining", "it turns out", "it is too early to say": an "it" that stands for nothing."""
    if pronoun.lower_ != "it":
        return False
    if pronoun.dep_ == "expl" or head.lemma_.lower() in _EXPLETIVE_HEADS:
        return True
    if head.lemma_.lower() == "be" and any(
        c.dep_ == "attr" and any(g.dep_ == "poss" for g in c.children) for c in head.children
    ):
        return True  # "it's my turn"
    return (
        head.lemma_.lower() == "be"
        and any(c.dep_ in ("ccomp", "xcomp", "csubj") for c in head.children)
        and any(c.dep_ in ("acomp", "attr") for c in head.children)
    )


def _antecedent(
    pronoun: Token,
    before: Sequence[Clause],
    vocabulary: Vocabulary,
    *,
    nearest: bool = False,
    own: Clause | None = None,
) -> Token | None:
    """The noun the pronoun stands for: the nearest earlier subject or object that agrees with it.

    The message's own words come first: its earlier clauses, then the words before the pronoun in its
    own clause (``own``: "saw the physio again, she thinks..."), and only then what was said before.

    :param nearest: take the closest agreeing noun, whatever its role (for a possessive: "her name").
    """
    low = pronoun.lower_
    read_as = {_key(c.subject): c.stands_for for c in before if c.subject is not None and c.stands_for is not None}
    mine = [c for c in before if not c.context_only]
    earlier = [c for c in before if c.context_only]
    if own is not None:
        leading = [t for t in own.tokens if t.i < pronoun.i and t.doc is pronoun.doc]
        if leading:
            earlier.append(Clause(leading, leading[0], None, [], None, None, context_only=True))
    for clause in [*reversed(mine), *reversed(earlier)]:
        positions = {t.i for t in clause.tokens}
        named_first = low not in _LEANING and low not in _LEANING_POSSESSIVE  # a verb wants someone who acts
        group = low in ("they", "them", "their")
        # a clause that took its subject from the one before ("Tom lives on Birch Street") is about it,
        # and a borrowed "he" is whoever it was read as there
        subjects = [t for t in clause.borrowed if t.dep_ in ("nsubj", "nsubjpass")]
        said_by = [read_as.get(_key(t), t) for t in subjects]
        if clause.stands_for is not None and not clause.borrowed:  # "It's $80 a night": what "it" was read as
            said_by.append(clause.stands_for)
        acting = {_key(t) for t in said_by}
        said = [*clause.tokens, *said_by]
        ordered = sorted(
            (t for t in said if t.pos_ in ("NOUN", "PROPN")),
            key=lambda t: (
                named_first and t.ent_type_ not in ("ORG", "PERSON"),
                group and _single_person(t, vocabulary),  # "they charge $65": the firm, not the one who named it
                0 if nearest or _key(t) in acting else _rank(t),
                0 if nearest or _key(t) in acting else _embedded(t, low, vocabulary),
                -t.i,
            ),
        )
        for noun in ordered:
            if noun.dep_ == "compound" and noun.head.i in positions and noun.pos_ != "PROPN":
                continue
            if _agrees(low, noun, vocabulary):
                return noun
    return None


def _plural(noun: Token) -> bool:
    return noun.tag_ in ("NNS", "NNPS") or any(c.dep_ == "conj" for c in noun.children)


def _agree_singular(clause: Clause, subject: Token) -> None:
    """The verb of a "they" read as one thing, made to agree with it ("charge" -> "charges", "are" -> "is")."""
    verb = subject.head
    auxiliaries = [c for c in verb.children if c.dep_ in ("aux", "auxpass") and c.i > subject.i]
    agreeing = auxiliaries[0] if auxiliaries else verb
    if agreeing.tag_ != "VBP":
        return
    word = third_person(agreeing)
    clause.replace[agreeing.i] = " " + word if agreeing.text.startswith("'") else word  # "they're" -> "it is"


def _single_person(noun: Token, vocabulary: Vocabulary) -> bool:
    """One named person or one relative ("Noor", "my cousin"): a "they" means them only when nothing else fits."""
    person = noun.ent_type_ == "PERSON" or noun.lemma_.lower() in vocabulary.person_nouns
    return person and noun.tag_ not in ("NNS", "NNPS") and not any(c.dep_ == "conj" for c in noun.children)


def _rank(token: Token) -> int:
    """How likely a noun's role makes it what a later pronoun means: a subject first, then an object."""
    return _PRIORITY.index(token.dep_) if token.dep_ in _PRIORITY else len(_PRIORITY)


def _embedded(token: Token, pronoun: str, vocabulary: Vocabulary) -> int:
    """1 when a noun only qualifies another noun the pronoun could stand for ("a cabin by *the lake*"):
    the phrase's head is meant first. ("Six sites along the Douro. It is ...": "sites" cannot be "it".)"""
    head = token.head
    while head.i != head.head.i and head.pos_ not in ("VERB", "AUX", "NOUN", "PROPN"):
        head = head.head
    qualified = head.pos_ in ("NOUN", "PROPN") and head.i != token.i
    return 1 if qualified and _agrees(pronoun, head, vocabulary) else 0


def _key(token: Token) -> tuple[int, int]:
    """A token's place, across the several parses of one message."""
    return id(token.doc), token.i


def _agrees(pronoun: str, noun: Token, vocabulary: Vocabulary) -> bool:
    lemma = noun.lemma_.lower()
    if lemma in ("user", "assistant"):
        return False  # the speaker, as memory names them, is never what "it" stands for
    if pronoun not in _LEANING and pronoun not in _LEANING_POSSESSIVE:  # a verb with no subject: anyone singular
        return noun.ent_type_ not in MEASURE_LABELS and lemma not in vocabulary.vague_nouns and noun.tag_ != "NNS"
    if (
        noun.ent_type_ in ("DATE", "TIME", "MONEY", "CARDINAL", "PERCENT", "QUANTITY")
        or lemma in vocabulary.vague_nouns
    ):
        return False
    if lemma in vocabulary.units and (noun.dep_ == "npadvmod" or any(c.dep_ == "nummod" for c in noun.children)):
        return False  # "$250 a night", "for four nights": a measure, not a thing spoken of
    person = (
        noun.ent_type_ == "PERSON"
        or lemma in vocabulary.person_nouns
        or (
            noun.pos_ == "PROPN"
            and (noun.ent_type_ in ("", "NORP") or (noun.ent_type_ == "ORG" and len(phrase_tokens(noun)) == 1))
            and pronoun in ("she", "her", "hers", "he", "him", "his")
        )
    )
    plural = noun.tag_ in ("NNS", "NNPS") or any(c.dep_ == "conj" for c in noun.children)
    if pronoun in ("she", "her", "hers"):
        return person and not plural and lemma not in vocabulary.male_nouns
    if pronoun in ("he", "him", "his"):
        return person and not plural and lemma not in vocabulary.female_nouns
    if pronoun in ("they", "them", "their", "these", "those"):
        group = noun.ent_type_ == "ORG" or lemma in vocabulary.collective_nouns
        return plural or group or (noun.pos_ == "PROPN" and noun.ent_type_ not in ("GPE", "LOC", "DATE"))
    # "it": a thing; a role noun such as "agent" may be one, a named person or a relative may not
    return noun.ent_type_ != "PERSON" and lemma not in vocabulary.female_nouns | vocabulary.male_nouns and not plural


def phrase_tokens(noun: Token) -> list[Token]:
    """The tokens that name what ``noun`` stands for: its whole entity ("Mill Creek Farms"), or itself."""
    if noun.ent_type_ and noun.ent_iob_ in ("B", "I"):
        for ent in noun.doc.ents:
            if ent.start <= noun.i < ent.end:
                return list(ent)
    return [noun]


def noun_phrase(noun: Token, label: str) -> str:
    """The noun with its determiners and modifiers (and a short "on Belgradstrasse"), as "the ..."."""
    named = next((c for c in noun.children if c.dep_ == "appos" and c.pos_ == "PROPN"), None)
    if named is not None:  # "my landlord Mr. Quist": the name says who
        return (
            render(phrase_tokens(named))
            if len(phrase_tokens(named)) > 1
            else render([t for t in named.subtree if t.dep_ in ("compound",) or t == named])
        )
    entity = phrase_tokens(noun)
    if len(entity) > 1:
        return render(entity)
    left = [t for t in noun.subtree if t.i <= noun.i and t.dep_ not in ("punct", "cc") and t.dep_ != "conj"]
    left = [t for t in left if t.i >= min((x.i for x in left if x.head == noun or x == noun), default=noun.i)]
    right: list[Token] = []
    for child in noun.rights:
        if child.dep_ == "prep":
            objects = [g for g in child.children if g.dep_ == "pobj"]
            phrase = list(child.subtree)
            if objects and objects[0].pos_ == "PROPN" and len(phrase) <= 4:
                right = phrase
            break
    tokens = left + right
    replace = {}
    for t in tokens:
        if t.dep_ == "det" and t.lower_ in _DETERMINERS_TO_THE:
            replace[t.i] = "the"
        elif is_first_person(t):
            replace[t.i] = f"{label}'s" if t.tag_ == "PRP$" else label
    text = render(tokens, replace)
    if noun.pos_ == "NOUN" and not any(t.dep_ in ("det", "poss") for t in left):
        text = "the " + text
    return text
