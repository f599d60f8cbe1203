"""Sentences into clauses: what is dropped (openers, questions, small talk, advice) and why.

A sentence is cut into clauses at coordinated verbs ("A quoted X, and B quoted Y"; "I live in
Berlin and work as a nurse", the second given the subject of the first). Openers and headings that
say nothing ("Quick update:", "Ugh, so") are dropped first; a correction opener ("Scratch that",
"Actually") is kept as a change cue. Questions, greetings, thanks, moods and clauses that only say
where news came from store nothing; of the assistant's words only what it did or will do is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .facts import Change, has_phrase, is_first_person
from .nlp import parse
from .vocabulary import Vocabulary

if TYPE_CHECKING:
    from spacy.tokens import Span, Token
__all__ = [
    "Clause",
    "clause_skip_reason",
    "is_content",
    "requested",
    "said",
    "skip_reason",
    "split_clauses",
    "without_openers",
]

_WH = frozenset({"what", "when", "where", "who", "whom", "whose", "why", "how", "which"})


_COMMIT_AUX = frozenset({"have", "'ve", "will", "'ll", "has", "am", "'m", "shall"})


_MODALS = frozenset({"would", "could", "should", "might", "may", "can", "'d", "must", "ought"})


_MAX_HEADING = 6


_SPECIFIC_DATES = frozenset(
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "mondays",
        "tuesdays",
        "wednesdays",
        "thursdays",
        "fridays",
        "saturdays",
        "sundays",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)


@dataclass
class Clause:
    tokens: list[Token]
    head: Token
    subject: Token | None
    borrowed: list[Token]  # the subject (and auxiliaries) of the clause it was split from
    change: Change | None
    typed: str | None
    prefix: str = ""
    replace: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    imperative: bool = False
    leans: bool = False
    context_only: bool = False  # not a statement, but what its pronouns may stand for
    stands_for: Token | None = None  # what its subject pronoun was read as
    acts_on: Token | None = None  # what the "it" its verb acts on was read as
    joined: list[Clause] = field(default_factory=list)  # clauses after it that lean on it
    preceded: list[Clause] = field(default_factory=list)  # short clauses before it, kept with it
    topic: list[Token] = field(default_factory=list)  # the note heading it stands under


def said(tokens: Span | Sequence[Token]) -> str:
    return " ".join("".join(t.text_with_ws for t in tokens).split())


def without_openers(sent: Span, vocabulary: Vocabulary) -> list[tuple[Span, Change | None, str | None]]:
    """The sentence with openers and headings dropped (re-parsed if anything was), with the change cue
    and the cell type a dropped opener or heading carried."""
    tokens = list(sent)
    start = 0
    change: Change | None = None
    typed: str | None = None
    reparse = False  # a heading read as the sentence's verb ("Quick update: ...") misleads the parse
    while start < len(tokens):
        rest = tokens[start:]
        colon = next((i for i, t in enumerate(rest[:_MAX_HEADING]) if t.text in (":", "-", "–", "—")), None)
        if colon:
            heading = [t.lower_ for t in rest[:colon] if not t.is_punct]
            if len(heading) == 1 and heading[0] in vocabulary.typed_headings:
                typed = vocabulary.typed_headings[heading[0]]
                start += colon + 1
                reparse = True
                continue
            announces = heading and heading[-1] in vocabulary.heading_words  # "Kitchen news:", "Leo update:"
            # "On food:", "For once:": a phrase that only says what follows is about
            announces = announces or (
                rest[0].pos_ == "ADP" and len(heading) <= 3 and not any(t.pos_ in ("VERB", "AUX") for t in rest[:colon])
            )
            if announces or (
                heading and all(w in vocabulary.heading_words or w in vocabulary.small_talk for w in heading)
            ):
                change = _cue_of(" ".join(heading), vocabulary) or change
                start += colon + 1
                reparse = True
                continue
        words = [t.lower_ for t in rest]
        matched = None
        for phrase in vocabulary.correction_openers + vocabulary.openers:
            parts = phrase.split()
            if words[: len(parts)] == parts:
                following = rest[len(parts)] if len(parts) < len(rest) else None
                bare_ok = phrase not in ("no", "yes", "yeah", "yep", "nope", "right", "then", "well", "wait", "sorry")
                if following is None or following.is_punct or bare_ok:
                    matched = parts
                    break
        if matched is None:
            if words[:1] == ["scratch"] and len(rest) > 2:  # "scratch the 28th, ..." names the old value
                comma = next((i for i, t in enumerate(rest[:6]) if t.text in (",", ":", "-", "—")), None)
                if comma:
                    old = frozenset(
                        t.text.lower().rstrip("stndrh") if any(ch.isdigit() for ch in t.text) else t.lemma_.lower()
                        for t in rest[1:comma]
                        if t.like_num or t.pos_ in ("NUM", "NOUN", "PROPN")
                    )
                    change = Change("replace", said(rest[:comma]), old=old)
                    start += comma + 1
                    reparse = True
                    continue
            break
        phrase = " ".join(matched)
        if phrase in vocabulary.correction_openers:
            change = Change("replace", phrase)
        start += len(matched)
        while start < len(tokens) and tokens[start].is_punct:
            start += 1
    if start == 0:
        return [(sent, None, None)]
    rest_text = said(tokens[start:])
    if not any(ch.isalnum() for ch in rest_text):
        return []
    if not reparse:  # a dropped "So," or "Honestly," leaves the parse as it was
        return [(sent.doc[tokens[start].i : sent.end], change, typed)]
    return [(s, change if i == 0 else None, typed) for i, s in enumerate(parse(rest_text).sents)]


def _cue_of(heading: str, vocabulary: Vocabulary) -> Change | None:
    found = has_phrase(heading, vocabulary.correction_openers)
    return Change("replace", found) if found else None


def skip_reason(sent: Span, vocabulary: Vocabulary, role: str) -> str | None:
    """Why a whole sentence stores nothing (None when it may)."""
    tokens = [t for t in sent if not t.is_space]
    if not tokens or not any(t.is_alpha for t in tokens):
        return "no words"
    lemmas = [t.lemma_.lower() for t in tokens]
    asks_to_keep = "remind" in lemmas or (lemmas[0] in ("remember", "note") and role != "assistant")
    if asks_to_keep and any(t.dep_ in ("xcomp", "ccomp") for t in tokens):
        return "request" if role != "assistant" else "assistant's words"
    if _is_question(tokens):
        return "a question"
    root = sent.root
    if lemmas[0] in ("thank", "thanks", "thx") or root.lemma_.lower() in ("thank", "thanks", "appreciate"):
        return "thanks"
    subject = next((c for c in root.children if c.dep_ in ("nsubj", "nsubjpass")), None)
    if role != "assistant" and subject is not None and subject.lower_ in ("you", "u"):
        return "said to the assistant"
    listener = any(t.lower_ in ("you", "u", "yourself") and t.dep_ in ("nsubj", "dobj") for t in tokens)
    if role != "assistant" and listener and root.lemma_.lower() in ("hope", "wish", "trust"):
        return "said to the assistant"  # "I do hope you are having a pleasant day"
    if (
        subject is not None
        and subject.lower_ in ("that", "this", "it")
        and root.lemma_.lower() in ("sound", "seem", "look")
    ):
        return "a reaction"
    content = [t for t in tokens if is_content(t, vocabulary)]
    if not content:
        return "small talk"
    words = [t for t in tokens if t.is_alpha]
    if len(words) <= 2 and not any(t.pos_ in ("VERB", "AUX") or t.like_num or t.ent_type_ for t in tokens):
        return "an aside"  # "Deep breath.", "Total heartbreak."
    if "sorry" in lemmas[:3] and len(content) <= 2:
        return "an apology"
    quoted = next((c for c in root.children if c.dep_ == "ccomp"), None)
    reported = root.lemma_.lower() in vocabulary.report_verbs and quoted is not None
    if reported and not any(is_content(t, vocabulary) for t in quoted.subtree):  # type: ignore[union-attr]
        return "only reports a reaction"  # "the coach says that's fine"
    return None


def is_content(token: Token, vocabulary: Vocabulary) -> bool:
    lemma = token.lemma_.lower()
    if token.like_num or token.ent_type_ in ("MONEY", "PERSON", "ORG", "GPE", "FAC", "PRODUCT"):
        return not token.is_punct
    if token.ent_type_ in ("DATE", "TIME"):  # "tonight" says little; "Friday", "June 3" say when
        return token.lower_ in _SPECIFIC_DATES
    if token.pos_ not in ("NOUN", "PROPN", "VERB", "ADJ", "NUM"):
        return False
    if token.is_stop or is_first_person(token) or token.lower_ in ("you", "u"):
        return False
    if token.pos_ == "VERB" and lemma in vocabulary.light_verbs:
        return False
    return not (lemma in vocabulary.small_talk or lemma in vocabulary.emotions or lemma in vocabulary.vague_nouns)


def _is_question(tokens: Sequence[Token]) -> bool:
    """A question: a wh-word or an inverted verb first, or a question mark on words said to "you".
    A statement ending in "??" ("the office stopped taking my insurance??") is surprise, not a question."""
    first = tokens[0].lower_
    if first in _WH and tokens[0].tag_ in ("WRB", "WP", "WDT", "WP$"):
        return True
    if tokens[0].pos_ == "ADP" and len(tokens) > 1 and tokens[1].lower_ in _WH:
        return True  # "on which dates...", "with whom...", "for how long..."
    if tokens[0].pos_ == "AUX" and len(tokens) > 1 and tokens[1].pos_ in ("PRON", "PROPN", "NOUN", "DET"):
        return True
    asks = any(t.text.startswith("?") for t in tokens[-3:])
    return asks and (any(t.lower_ in ("you", "your", "u", "ur") for t in tokens) or len(tokens) <= 4)


def requested(sent: Span, label: str) -> list[Clause]:
    """ "Remind me to call the vet" / "Remember that the vet is closed Mondays" as the statement it asks to keep."""
    for t in sent:
        if t.lemma_.lower() == "remind":
            action = next((c for c in t.children if c.dep_ == "xcomp"), None)
            if action is not None:
                tokens = [x for x in action.subtree if x.dep_ != "aux" or x.head != action]
                clause = Clause(tokens, action, None, [], None, "task", prefix=f"{label} needs to ")
                clause.notes.append("a request to be reminded, kept as a task")
                return [clause]
        if t.lemma_.lower() in ("remember", "note"):
            said = next((c for c in t.children if c.dep_ == "ccomp"), None)
            if said is not None:
                tokens = [x for x in said.subtree if not (x.dep_ == "mark" and x.head == said)]
                subject = next((c for c in said.children if c.dep_ in ("nsubj", "nsubjpass")), None)
                return [Clause(tokens, said, subject, [], None, None)]
    return []


def split_clauses(sent: Span, change: Change | None, typed: str | None, *, split: bool = True) -> list[Clause]:
    """Split a sentence into clauses: coordinated verbs with their own subject, or a shared one.

    :param split: False keeps the sentence whole (a transcript line is found by the whole of it).
    """
    root = sent.root
    heads = [root]
    for token in sent if split else ():
        if token.dep_ in ("conj", "parataxis") and token.pos_ in ("VERB", "AUX") and token.head in heads:
            if _misread_apposition(token):
                continue
            if _own_subject(token) is not None or _complete(token.head):
                heads.append(token)
        elif token.dep_ in ("conj", "ccomp") and token.pos_ in ("VERB", "AUX") and _stranded_subject(token):
            heads.append(token)  # "... with Mr. Feld and Leo's is at 4:10": a clause of its own
        elif (
            token.dep_ == "ccomp"
            and token.head == root
            and token.i < root.i
            and _own_subject(token) is not None
            and any(t.text == "," for t in sent[token.right_edge.i - sent.start + 1 : root.i - sent.start])
        ):
            heads.append(token)  # a comma splice: "It's free, it ends at 4:30"
    stranded = {head.i: words for head in heads[1:] if (words := _stranded_subject(head))}
    taken = {t.i for words in stranded.values() for t in words}
    found = []
    for head in heads:
        nested = [h for h in heads if h is not head and head in h.ancestors]
        excluded = {t.i for h in nested for t in h.subtree} | taken
        tokens = [t for t in head.subtree if t.i not in excluded and sent.start <= t.i < sent.end]
        if head.i in stranded:
            tokens = sorted([*stranded[head.i], *tokens], key=lambda t: t.i)
        while tokens and (tokens[0].dep_ == "cc" or tokens[0].is_punct):
            tokens.pop(0)
        while tokens and (tokens[-1].dep_ == "cc" or tokens[-1].is_punct or tokens[-1].lower_ in ("and", "but", "so")):
            tokens.pop()
        if not tokens:
            continue
        subject = _own_subject(head) or next((t for t in stranded.get(head.i, ()) if t.pos_ != "PART"), None)
        borrowed: list[Token] = []
        if subject is None and head is not root and head.dep_ == "conj":
            parent_subject = _own_subject(head.head)
            if parent_subject is not None:
                borrowed = list(parent_subject.subtree)
                if head.tag_ in ("VBG", "VBN", "VB") and not any(c.dep_ in ("aux", "auxpass") for c in head.children):
                    borrowed += [c for c in head.head.children if c.dep_ in ("aux", "auxpass") and c.i < head.head.i]
                subject = parent_subject
        found.append(Clause(tokens, head, subject, borrowed, change if head is root else None, typed))
    return sorted(found, key=lambda clause: clause.tokens[0].i)  # in the order they were said


def _misread_apposition(head: Token) -> bool:
    """A noun phrase after a comma that the parse read as a clause ("on Hollow Farm, a converted *barn*
    near the river": "barn" a verb of "a converted"): a singular "a ..." subject cannot take a plural
    verb, so the "verb" is a noun and the phrase says what the name before it is."""
    subject = _own_subject(head)
    if subject is None or head.tag_ != "VBP" or any(c.dep_ in ("aux", "auxpass") for c in head.children):
        return False
    first = subject.left_edge
    before = head.doc[first.i - 1] if first.i > 0 else None
    return first.lower_ in ("a", "an") and before is not None and before.text == ","


def _stranded_subject(head: Token) -> list[Token]:
    """The subject a parse hung on the clause before ("Maya's is at 3:40 with Mr. Feld and *Leo's* is at
    4:10": "Leo" read as a second Mr. Feld): a name or noun right after "and", right before the verb."""
    if _own_subject(head) is not None or head.i < 3:
        return []
    doc = head.doc
    end = head.i - 1
    words = [doc[end]] if doc[end].lower_ in ("'s", "’s") else []
    noun = doc[end - len(words)]
    before = doc[noun.i - 1]
    if noun.pos_ not in ("PROPN", "NOUN") or noun.head == head or before.lower_ not in ("and", "but"):
        return []
    return [noun, *words]


def _own_subject(head: Token) -> Token | None:
    """The verb's subject; of two ("Ugh, so my sister moved ..." parsed with "Ugh" as one too), the
    one nearest before the verb. A subject the parse hung on the verb's auxiliary ("*We* 're also no
    longer inviting him") is the verb's."""
    auxiliaries = [c for c in head.children if c.dep_ in ("aux", "auxpass")]
    subjects = [c for x in (head, *auxiliaries) for c in x.children if c.dep_ in ("nsubj", "nsubjpass", "expl")]
    subjects.sort(key=lambda c: c.i)
    before = [c for c in subjects if c.i < head.i]
    return before[-1] if before else (subjects[0] if subjects else None)


def _complete(head: Token) -> bool:
    """Whether a clause says something before a coordinated verb takes its subject on."""
    return any(c.dep_ in ("dobj", "attr", "acomp", "prep", "xcomp", "ccomp", "oprd", "npadvmod") for c in head.children)


#: Words after a mood that say what it is about ("worried *about* the roof"): then it is news.
_ABOUT = frozenset({"about", "over", "with", "of", "for", "by", "at", "that"})
_NEWS_ENTITIES = frozenset({"PERSON", "ORG", "GPE", "FAC", "MONEY", "PRODUCT", "EVENT"})


def _only_a_mood(head: Token, vocabulary: Vocabulary) -> bool:
    """Whether a clause only says how the speaker feels ("I'm so giddy I can't focus", "I feel less
    frantic"), not what about ("I'm worried about the roof leak") nor anything named."""
    moods = [head] if head.pos_ == "ADJ" else [c for c in head.children if c.dep_ in ("acomp", "attr")]
    if head.lemma_.lower() not in ("be", "feel") and head.pos_ != "ADJ":
        return False
    if not moods or not all(m.lemma_.lower() in vocabulary.emotions for m in moods):
        return False
    tokens = list(head.subtree)
    if any(t.ent_type_ in _NEWS_ENTITIES or t.lower_ in _SPECIFIC_DATES for t in tokens):
        return False
    for mood in moods:
        for child in mood.children:
            if child.lower_ in _ABOUT:
                return False
            said = next((c for c in child.children if c.dep_ in ("nsubj", "nsubjpass")), None)
            if child.dep_ == "ccomp" and said is not None and not is_first_person(said):
                return False  # "worried the roof might not survive": about the roof
    return True


def clause_skip_reason(clause: Clause, vocabulary: Vocabulary, role: str) -> str | None:
    tokens = clause.tokens
    content = [t for t in tokens if is_content(t, vocabulary)]
    subject = clause.subject
    if subject is not None and not is_first_person(subject) and subject.lower_ not in ("it", "that", "this", "you"):
        # how someone else feels is news about them ("Leo is nervous about the water")
        content += [t for t in tokens if t.pos_ == "ADJ" and t.lemma_.lower() in vocabulary.emotions]
    enough = 1 if any(t.like_num for t in tokens) or (role == "named" and subject is not None) else 2
    if len(content) < enough and not clause.borrowed:
        return "too little to say" if content else "small talk"
    head = clause.head
    lemma = head.lemma_.lower()
    if subject is not None and is_first_person(subject) and _only_a_mood(head, vocabulary):
        return "a mood"
    if lemma == "change" and any(c.dep_ == "dobj" and c.lemma_.lower() == "mind" for c in head.children):
        return "announces a change (kept for the statement after it)"
    objects = [c for c in head.children if c.dep_ in ("dobj", "ccomp", "xcomp", "attr", "acomp")]
    phrasal = any(c.dep_ == "prt" or (c.lower_ in ("off", "up", "back") and c.i == head.i + 1) for c in head.children)
    if lemma in vocabulary.report_verbs and not objects and not phrasal:  # "called off" is not a call
        return "only says where news came from"
    if role == "assistant":
        if subject is None or not is_first_person(subject):
            return "the assistant's advice or pleasantry"
        aux = {c.lower_ for c in head.children if c.dep_ in ("aux", "auxpass")}
        if aux & _MODALS or lemma in vocabulary.advice_verbs:
            return "the assistant's advice or pleasantry"
        if not (aux & _COMMIT_AUX or head.tag_ == "VBD"):
            return "the assistant's advice or pleasantry"
    return None
