"""The offline engine's word tables, all in one place.

spaCy knows the grammar (sentences, parts of speech, lemmas, dependencies,
named entities and stop words); these tables hold what it cannot know: which
words announce a change, which are small talk, which cue a cell type, and
which areas of life words belong to. Words are given as lemmas (the
dictionary form spaCy reports: "cancel", not "cancelled").

Everything is plain data on a frozen :class:`Vocabulary`; build a changed
copy with :meth:`Vocabulary.extended` (or :func:`dataclasses.replace`) and
give it to :class:`~memkit.llm.offline.OfflineEngine` to try a rule change::

    vocab = DEFAULT_VOCABULARY.extended(topics={"pets": "dog cat vet kennel"})
    engine = OfflineEngine(vocabulary=vocab)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

__all__ = ["DEFAULT_VOCABULARY", "Vocabulary"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _phrases(text: str) -> tuple[str, ...]:
    """Phrases separated by ``|``, longest first (so "no longer" is tried before "no")."""
    found = {" ".join(p.split()) for p in text.split("|") if p.strip()}
    return tuple(sorted(found, key=lambda p: (-len(p.split()), p)))


#: Chat shorthand and frequent misspellings, written out before the text is parsed.
SHORTHAND = {
    "im": "I'm",
    "ive": "I've",
    "dont": "don't",
    "cant": "can't",
    "didnt": "didn't",
    "doesnt": "doesn't",
    "isnt": "isn't",
    "wasnt": "wasn't",
    "arent": "aren't",
    "havent": "haven't",
    "hasnt": "hasn't",
    "wouldnt": "wouldn't",
    "couldnt": "couldn't",
    "shouldnt": "shouldn't",
    "thats": "that's",
    "whats": "what's",
    "hows": "how's",
    "wheres": "where's",
    "theyre": "they're",
    "theyve": "they've",
    "theyll": "they'll",
    "youre": "you're",
    "youve": "you've",
    "shes": "she's",
    "hes": "he's",
    "itll": "it'll",
    "youll": "you'll",
    "gonna": "going to",
    "wanna": "want to",
    "prob": "probably",
    "probs": "probably",
    "tho": "though",
    "bf": "boyfriend",
    "gf": "girlfriend",
    "u": "you",
    "ur": "your",
    "r": "are",
    "n": "and",
    "w": "with",
    "b4": "before",
    "bc": "because",
    "cuz": "because",
    "coz": "because",
    "thx": "thanks",
    "thnx": "thanks",
    "ty": "thank you",
    "pls": "please",
    "plz": "please",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "abt": "about",
    "thru": "through",
    "rn": "right now",
    "ppl": "people",
    "bday": "birthday",
    "appt": "appointment",
    "approx": "about",
    "yr": "year",
    "yrs": "years",
    "hr": "hour",
    "hrs": "hours",
    "wk": "week",
    "wks": "weeks",
    "mins": "minutes",
    "idk": "I don't know",
    "definately": "definitely",
    "recieved": "received",
    "recieve": "receive",
    "untill": "until",
    "tommorow": "tomorrow",
    "tomorow": "tomorrow",
    "seperate": "separate",
    "accomodation": "accommodation",
    "wierd": "weird",
    "occured": "occurred",
    "alot": "a lot",
}

#: Words that open a message and say nothing themselves ("Well, ...", "Ugh, so: ...").
OPENERS = _phrases(
    """so | well | anyway | anyways | anyhow | ok | okay | oh | ah | uh | um | hmm | honestly | basically | also |
    btw | by the way | fyi | just so you know | heads up | quick update | quick note | small update | big news |
    good news | bad news | great news | update | note | news | one more thing | another thing | one further thing |
    unfortunately | sadly | regrettably | luckily | fortunately | thankfully | hopefully | ugh | lol | haha | omg |
    wow | yay | hey | hi | hello | right | alright | and | but | yes | yeah | yep | no | nope | then | plus |
    to be honest | tbh | ngl | kinda | literally | finally | just | please"""
)
#: A heading before a colon made only of these words is dropped ("One further change: ...").
HEADING_WORDS = _words(
    """update updates news note notes quick small big good bad great one another further more thing things
    change changes heads fyi also new latest just so and ok okay also thread topic item context ctx
    separate other different diff option options idea ideas question questions"""
)
#: A heading that names a cell type ("todo: call the vet", "risk: ...").
TYPED_HEADINGS = MappingProxyType(
    {
        "todo": "task",
        "to-do": "task",
        "task": "task",
        "reminder": "task",
        "decision": "decision",
        "decided": "decision",
        "risk": "risk",
        "warning": "risk",
        "worry": "risk",
        "plan": "plan",
        "goal": "plan",
        "preference": "preference",
    }
)

#: Words that make a sentence small talk when nothing else of substance is said.
SMALL_TALK = _words(
    """thank thanks cheers appreciate hi hello hey morning evening afternoon night bye goodbye later care
    lol haha hahaha hehe lmao rofl omg wow yay woo ugh meh hmm ok okay cool nice great awesome perfect
    sweet brilliant splendid excellent lovely wonderful fantastic amazing good sure yes yeah yep no nope
    congrats congratulations welcome sorry apologies luck please rock lifesaver star legend gem"""
)
#: Laughter and chat filler: dropped wherever they stand ("they feel like pillows lol").
FILLERS = _words("lol lolol haha hahaha hehe lmao rofl omg tbh ngl smh xd ugh meh")
#: Moods and reactions: a sentence saying only how the speaker feels is small talk.
EMOTIONS = _words(
    """happy sad glad excited thrilled nervous anxious worried stressed tired exhausted bummed upset
    annoyed frustrated overwhelmed daunting daunted relieved grateful thankful proud sorry awful terrible
    horrible fine okay ok great good bad amazing awesome crazy insane wild fun lucky unlucky scary scared
    weird strange hectic busy rough tough nice cool lovely exciting stressful overwhelming awkward
    disappointed disappointing confused bored boring thrilled delighted frantic giddy frazzled swamped
    drained knackered stoked pumped calm relaxed chill mush"""
)
#: Nouns too general to say what a statement is about.
VAGUE_NOUNS = _words(
    """thing stuff lot bit time times day days way ways part kind sort type everything anything something
    nothing everyone anyone someone people person undertaking mind situation process detail details whole fuss
    matter question answer idea point case fact news update note change today tonight tomorrow yesterday rest
    week month year moment while side end start lol haha ones one"""
)
#: Units and time words inside an amount ("4 runs a *week*", "30 *km*"): never what a statement is about.
UNITS = _words(
    """week weeks day days month months year years hour hours minute minutes second night nights km kilometre
    kilometer mile miles metre meter kg kilo kilogram gram lb lbs pound pounds ounce oz litre liter percent
    euro euros dollar dollars cent cents time times sack head person people piece pieces morning mornings
    afternoon afternoons evening evenings noon midnight today tomorrow yesterday tonight weekend weekends"""
)
#: Nouns for people (a "she" or "he" may stand for them; "it" may not).
PERSON_NOUNS = _words(
    """person man woman guy girl boy kid kids child children baby son daughter wife husband partner
    spouse boyfriend girlfriend fiance fiancee mother father mom mum dad parent parents sister brother
    sibling grandmother grandfather grandma grandpa aunt uncle cousin niece nephew friend buddy neighbour
    neighbor colleague coworker boss manager teacher tutor coach instructor trainer doctor dentist nurse
    physio physiotherapist therapist vet lawyer accountant agent landlord landlady tenant plumber
    electrician builder contractor carpenter painter mechanic baker chef waiter driver student professor
    supervisor advisor director assistant investigator researcher postdoc applicant client customer
    member teammate roommate flatmate owner host guest caterer photographer florist"""
)
#: Nouns for groups that may be called "they" ("HR said they would cover it").
COLLECTIVE_NOUNS = _words(
    """department company firm office team school clinic agency council committee board family club band
    group staff hr management bank shop store restaurant hotel airline landlord university college
    hospital practice studio council government"""
)
FEMININE = _words("she her hers herself")
MASCULINE = _words("he him his himself")
FEMALE_NOUNS = _words(
    "woman girl daughter wife mother mom mum sister grandmother grandma aunt niece girlfriend fiancee landlady"
)
MALE_NOUNS = _words("man guy boy son husband father dad brother grandfather grandpa uncle nephew boyfriend fiance")
#: The people of a life, who turn up in every topic (the same sister, the same kids).
FAMILY_NOUNS = FEMALE_NOUNS | MALE_NOUNS | _words("kid child parent partner spouse baby family sibling grandparent")

#: Change cues, by what they do to the value they touch.
#: - replace: a new value takes the place of the old ("moved to", "instead");
#: - end: the thing stops being true ("cancelled", "no longer");
#: - done: a task or a state is completed ("fixed", "finished").
REPLACE_VERBS = _words(
    """move push shift switch change reschedule postpone delay replace swap upgrade downgrade raise lower
    increase decrease reduce cut bump extend shorten convert transfer relocate rebook"""
)
#: Said anywhere in a statement, these announce that it replaces something ("now" and "new" are
#: read from the parse instead: "the crown is *now* April 2", "the *new* goal is 4:20").
REPLACE_PHRASES = _phrases(
    """instead | instead of | rather than | from now on | going forward | scratch that | turns out |
    it turns out | change of plan | change of plans | changed my mind | change my mind | on second thought |
    after all | going back to"""
)
#: Replace verbs that are a change whatever follows them; the others only with a direction
#: ("moved *to* Friday", "raised *to* $4", "pushed *back*"): "the plumber moved the pipes" is a deed.
CHANGE_VERBS = _words("switch change reschedule postpone delay replace swap rebook upgrade downgrade")
#: Openers that correct what was said before, without a change verb ("scratch that, Dana starts Wednesday").
CORRECTION_OPENERS = _phrases(
    "actually | correction | scratch that | turns out | it turns out | change of plan | change of plans | "
    "changed my mind | on second thought | wait | update | sorry | i mean"
)
END_VERBS = _words("""cancel scrap drop abandon quit stop withdraw end terminate cease discontinue""")
END_PHRASES = _phrases(
    """no longer | not anymore | not any more | called off | call off | calls off | calling off | fell through |
    fall through | falls through | gave up | give up | pulled out | pull out | backed out | back out |
    dropped out | drop out | is off | are off | 's off | on hold | not happening | won't happen |
    not going ahead | put off"""
)
DONE_VERBS = _words("finish complete fix repair pass receive submit deliver resolve return file pay done")
#: A cell a statement gives the reason for, or that follows from it.
CAUSE_PHRASES = _phrases("because | due to | caused by | owing to | thanks to | the reason | since")
CONSEQUENCE_PHRASES = _phrases("so | therefore | thus | hence | that's why | as a result | which means | meaning")

#: Cue lemmas per cell type (checked against the parse).
DECISION_VERBS = _words("decide choose pick opt settle agree commit select finalise finalize sign")
PREFERENCE_VERBS = _words("prefer like love enjoy hate dislike adore fancy detest loathe")
PREFERENCE_WORDS = _words("favourite favorite rather fan keen fond")
TASK_PHRASES = _phrases(
    "need to | needs to | have to | has to | had to | must | got to | gotta | should | ought to | remember to | "
    "don't forget | do not forget | make sure | remind me | due"
)
#: What someone does as a habit or a state: "now" before a new one is a change ("I drink tea now").
HABIT_VERBS = _words("use want go drink eat work live play take drive ride wear read study train")
PLAN_VERBS = _words("plan intend aim hope schedule expect")
PLAN_WORDS = _words("goal target plan deadline")
RISK_WORDS = _words(
    """risk risky danger dangerous worry worried worrying concern concerned afraid fear threat problem
    issue trouble hazard vulnerable shortage overrun delay delayed warning"""
)
RISK_PHRASES = _phrases(
    "might not | may not | could miss | might miss | run out | running out | over budget | behind schedule"
)

#: Salience features.
EMPHASIS = _words(
    "important critical crucial essential urgent asap deadline definitely key priority must absolutely serious vital"
)
HEDGES = _phrases("maybe | perhaps | i think | i guess | not sure | possibly | kind of | sort of | probably | might")

#: Verbs that say little by themselves ("I guess", "it seems", "I'll get"): not content.
LIGHT_VERBS = _words(
    "be have do get go make admit feel seem sound look guess suppose mean bear put know think say tell try let come"
)
#: What the assistant says it thinks or advises, never a deed of its own.
ADVICE_VERBS = _words(
    "think suggest recommend advise hope wish love like feel know see understand guess imagine bet mean say believe "
    "agree congratulate sound enjoy glad happy delight pleased"
)
#: Verbs a chat message opens with when "I" is left out ("want to keep it local"), not orders.
DROPPED_SUBJECT_VERBS = _words(
    "want need hope love like think wish plan prefer feel know guess miss owe have hate enjoy"
)
#: Verbs that only report where news came from ("I heard from HR", "Chris called last night").
REPORT_VERBS = _words("hear email call text message phone ring write say tell want recommend advise suggest allow")

#: Question words -> the kind of value the answer should hold (named-entity labels).
ASKED_KINDS = MappingProxyType(
    {
        "when": ("DATE", "TIME", "ORDINAL"),
        "what time": ("TIME",),
        "what day": ("DATE",),
        "what date": ("DATE",),
        "which day": ("DATE",),
        "how long": ("DATE", "TIME", "CARDINAL", "QUANTITY"),
        "by when": ("DATE", "TIME", "ORDINAL"),
        "how much": ("MONEY", "QUANTITY", "CARDINAL", "PERCENT"),
        "how many": ("CARDINAL", "QUANTITY"),
        "where": ("GPE", "LOC", "FAC", "ORG"),
        "who": ("PERSON", "ORG", "NORP"),
        "whose": ("PERSON",),
        "which company": ("ORG",),
        "which firm": ("ORG",),
    }
)
#: Words that ask for an amount of money.
MONEY_WORDS = _words("cost price pay charge budget spend fee rent salary quote owe")
#: Nouns that ask for a date ("what's the *date* of the wedding", "the *deadline* for the form").
DATE_WORDS = _words("date deadline")
#: Nouns that a "which/what X" question uses to ask for a kind of thing; the answer need not repeat them.
CATEGORY_NOUNS = _words(
    """company firm business organisation organization team one person people place day date time hour
    year month week thing kind type sort level method option way name number amount price cost size
    colour color brand model version material finish style shape pattern flavour flavor genre language
    breed design fabric texture shade variety format"""
)

#: Verbs a question and its answer often word differently ("which did Maya *want*" is answered by
#: "Maya *prefers* oak"): a question's verb of one class is matched by any verb of the class.
VERB_CLASSES = {
    "desire": "want wish prefer like love fancy",
    "choice": "choose pick decide select opt settle",
}

#: Areas of life, each with words (lemmas) that usually signal it. Used to tell topics apart when two
#: messages share no word, and to name scenes. A word may sit in two areas.
TOPICS = {
    "home": """house home flat apartment kitchen bathroom bedroom room hallway attic basement garage roof
        floor tile wall ceiling cabinet cupboard drawer sink tap faucet oven fridge freezer stove worktop
        counter plumber plumbing pipe electrician wiring socket furniture sofa couch bed mattress wardrobe
        renovation reno renovate remodel paint painter carpenter window door heating boiler radiator
        insulation rent landlord tenant mortgage lease neighbour neighbor yard fence shelf lamp curtain
        carpet dishwasher laundry cleaning vacuum shed diy drill contractor architect balcony terrace
        appliance shower tub bath toilet""",
    "garden": """garden gardening soil compost seed seedling plant planting tomato basil lettuce herb
        vegetable flower rose lawn mow hedge weed pest harvest greenhouse watering hose fertiliser
        fertilizer orchard fruit tree pot shrub""",
    "work": """work job office boss manager colleague coworker team meeting project client customer
        deadline report presentation career promotion salary hire hiring onboarding interview company
        startup business standup sprint roadmap stakeholder demo review sales operations contract
        department conference workshop shift overtime resignation employer employee intern position
        role staff""",
    "tech": """software code coding database server deploy deployment api backend frontend app website bug
        python javascript cloud dashboard monitoring test testing release repository pipeline model
        data algorithm computer laptop network migration schema query automation programming developer
        engineer router wifi internet phone smartphone firmware backup password""",
    "study": """thesis dissertation university college school course class exam homework lecture professor
        advisor supervisor student research paper literature chapter study degree phd master semester
        essay grade ethics lab seminar scholarship teacher lesson curriculum textbook revision syllabus
        grant application proposal funding journal publication methodology""",
    "language": """language spanish french german italian portuguese english chinese japanese grammar
        vocabulary fluent fluency accent pronunciation translation dictionary""",
    "health": """health doctor hospital clinic knee back pain injury sick illness medicine medication pill
        therapy therapist physio physiotherapist diet sleep stress anxiety dentist surgery recovery
        allergy symptom checkup blood weight ankle shoulder hip muscle tendon sprain fever flu cough
        prescription appointment nurse rehab crown tooth teeth molar filling insurance""",
    "sport": """run running runner marathon race training workout gym fitness exercise yoga swimming swim
        pool cycling bike hike hiking football soccer tennis basketball coach match league climbing ski
        skiing pace mile kilometre km sprint club trail stretching practice game team shoe""",
    "travel": """trip travel flight fly airport hotel vacation holiday passport visa luggage suitcase beach
        tour tourist booking itinerary abroad journey camping cruise destination hostel airbnb
        sightseeing train station ferry museum city""",
    "food": """food cook cooking recipe dinner lunch breakfast restaurant meal vegetarian vegan coffee tea
        wine beer bake baking cake bread pizza pasta chef grocery snack dessert cheese soup salad menu
        brunch flour butter sugar croissant sourdough cookie pastry""",
    "money": """money budget cost price euro dollar pound pay payment saving bank loan debt invoice expense
        tax invest investment income afford cheap expensive finance financial quote bill refund deposit
        insurance pension accountant""",
    "family": """family kid child son daughter wife husband partner parent mother father mom dad mum sister
        brother sibling baby grandma grandpa grandparent aunt uncle cousin niece nephew custody""",
    "events": """wedding marriage bride groom reception ceremony speech toast party birthday anniversary
        celebration guest invitation funeral graduation""",
    "hobby": """music guitar piano violin cello drum jazz gig rehearsal song band concert painting art
        artist drawing photography photo camera book reading novel poetry writing game gaming movie film
        theatre pottery craft knitting dance dancing chess choir club""",
    "vehicles": """car vehicle van truck motorbike motorcycle scooter mechanic brake tyre tire engine oil
        leak inspection mileage battery clutch dealership parking fuel petrol diesel charger""",
    "pets": """pet dog cat puppy kitten vet horse fish""",
    "admin": """visa permit paperwork form application registration register lawyer notary embassy
        consulate renewal renew license licence certificate document""",
}


@dataclass(frozen=True)
class Vocabulary:
    """Every word table the offline engine uses (see the module docstring)."""

    shorthand: Mapping[str, str] = field(default_factory=lambda: MappingProxyType(dict(SHORTHAND)))
    openers: tuple[str, ...] = OPENERS
    heading_words: frozenset[str] = HEADING_WORDS
    typed_headings: Mapping[str, str] = field(default_factory=lambda: TYPED_HEADINGS)
    small_talk: frozenset[str] = SMALL_TALK
    fillers: frozenset[str] = FILLERS
    emotions: frozenset[str] = EMOTIONS
    vague_nouns: frozenset[str] = VAGUE_NOUNS
    person_nouns: frozenset[str] = PERSON_NOUNS
    collective_nouns: frozenset[str] = COLLECTIVE_NOUNS
    family_nouns: frozenset[str] = FAMILY_NOUNS
    units: frozenset[str] = UNITS
    female_nouns: frozenset[str] = FEMALE_NOUNS
    male_nouns: frozenset[str] = MALE_NOUNS
    replace_verbs: frozenset[str] = REPLACE_VERBS
    change_verbs: frozenset[str] = CHANGE_VERBS
    replace_phrases: tuple[str, ...] = REPLACE_PHRASES
    correction_openers: tuple[str, ...] = CORRECTION_OPENERS
    end_verbs: frozenset[str] = END_VERBS
    end_phrases: tuple[str, ...] = END_PHRASES
    done_verbs: frozenset[str] = DONE_VERBS
    cause_phrases: tuple[str, ...] = CAUSE_PHRASES
    consequence_phrases: tuple[str, ...] = CONSEQUENCE_PHRASES
    decision_verbs: frozenset[str] = DECISION_VERBS
    preference_verbs: frozenset[str] = PREFERENCE_VERBS
    preference_words: frozenset[str] = PREFERENCE_WORDS
    task_phrases: tuple[str, ...] = TASK_PHRASES
    plan_verbs: frozenset[str] = PLAN_VERBS
    habit_verbs: frozenset[str] = HABIT_VERBS
    plan_words: frozenset[str] = PLAN_WORDS
    risk_words: frozenset[str] = RISK_WORDS
    risk_phrases: tuple[str, ...] = RISK_PHRASES
    emphasis: frozenset[str] = EMPHASIS
    hedges: tuple[str, ...] = HEDGES
    report_verbs: frozenset[str] = REPORT_VERBS
    light_verbs: frozenset[str] = LIGHT_VERBS
    advice_verbs: frozenset[str] = ADVICE_VERBS
    dropped_subject_verbs: frozenset[str] = DROPPED_SUBJECT_VERBS
    asked_kinds: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: ASKED_KINDS)
    category_nouns: frozenset[str] = CATEGORY_NOUNS
    verb_classes: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: MappingProxyType({name: _words(words) for name, words in VERB_CLASSES.items()})
    )
    money_words: frozenset[str] = MONEY_WORDS
    date_words: frozenset[str] = DATE_WORDS
    topics: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: MappingProxyType({name: _words(words) for name, words in TOPICS.items()})
    )

    def extended(self, *, topics: Mapping[str, str] | None = None, **words: str) -> Vocabulary:
        """A copy with more words: ``topics={"pets": "dog cat"}`` adds to (or creates) topic areas;
        any word-set field by name adds words, e.g. ``end_verbs="axe"``."""
        changes: dict[str, object] = {}
        if topics:
            merged = {name: set(found) for name, found in self.topics.items()}
            for name, text in topics.items():
                merged.setdefault(name, set()).update(text.split())
            changes["topics"] = MappingProxyType({name: frozenset(found) for name, found in merged.items()})
        for name, text in words.items():
            current = getattr(self, name, None)
            if isinstance(current, frozenset):
                changes[name] = current | _words(text)
            elif isinstance(current, tuple):
                changes[name] = _phrases("|".join([*current, *text.split("|")]))
            else:
                raise ValueError(f"{name!r} is not a word table of Vocabulary")
        return replace(self, **changes)  # type: ignore[arg-type]

    def verb_class(self, lemma: str) -> str | None:
        """The class of verbs ``lemma`` belongs to (see :data:`VERB_CLASSES`), as a marker, or None."""
        return next((f"~{name}" for name, verbs in self.verb_classes.items() if lemma in verbs), None)

    def topics_of(self, lemma: str) -> tuple[str, ...]:
        """The topic areas a lemma belongs to (empty if none)."""
        return tuple(name for name, found in self.topics.items() if lemma in found)


#: The vocabulary the offline engine uses unless given another.
DEFAULT_VOCABULARY = Vocabulary()
