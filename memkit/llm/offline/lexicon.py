"""A small topic lexicon: common words grouped by the area of life they belong to.

The offline engine has no word embeddings, so "oak cabinets" and "kitchen"
share no letters. This lexicon lets it see that both are about the home.
It is a plain, editable table: add a word to a group, or a group, and the
scene assignment uses it.
"""

from __future__ import annotations

from functools import cache

from .text import stem

__all__ = ["COMMON_WORDS", "TOPIC_WORDS", "is_common", "topics_of"]

#: Area of life -> words that usually signal it. A word may sit in two areas
#: ("garden" is home and hobby); it then counts half in each.
TOPIC_WORDS: dict[str, str] = {
    "home": """house home flat apartment kitchen bathroom bedroom living room rooms hallway attic
        basement cellar garage roof floor floors tiles tile wall walls ceiling cabinet cabinets
        cupboard cupboards drawer drawers sink tap faucet oven fridge freezer stove hob
        countertop worktop counter plumber plumbing pipes pipe electrician electrics wiring
        socket sockets furniture sofa couch bed mattress wardrobe table chairs renovation
        renovations renovate renovating remodel paint painting painter carpenter
        window windows door doors heating boiler radiator insulation rent landlord
        tenant mortgage lease neighbour neighbours neighbor neighbors yard fence shelf shelves
        lamp curtains decor lacquer oak laminate parquet carpet dishwasher laundry washing
        cleaning vacuum shed diy drill screws nails hammer hinges padlock lumber plank planks
        boards pine marble quartz granite tiler contractor architect balcony terrace
        appliances appliance moving movers""",
    "garden": """garden gardening raised beds bed soil compost seeds seed seedlings plant plants
        planted planting tomato tomatoes basil lettuce herbs vegetables vegetable flowers
        flower roses lawn mow mowing hedge weeds weeding slugs snails pests harvest
        greenhouse watering hose fertiliser fertilizer heirloom hybrid hybrids orchard fruit
        trees pots shrubs""",
    "work": """work job jobs office boss manager managers colleague colleagues coworker coworkers
        team teams meeting meetings project projects client clients customer customers
        deadline deadlines report reports presentation present career promotion salary hire
        hiring hired onboarding onboard interview company startup business standup sprint
        roadmap stakeholder stakeholders demo quarterly okr okrs review reviews sales
        operations contract contracts department conference workshop shift overtime
        resignation resign employer employee employees intern logistics proposal budget""",
    "tech": """software code coding database databases server servers staging production deploy
        deployment api backend frontend app apps website bug bugs python javascript postgres
        sqlite mysql docker kubernetes cloud aws dashboard dashboards grafana monitoring test
        tests testing release git github repository pipeline agent agents model models llm
        memory system systems data algorithm computer laptop network migration schema query
        queries search index automation automate automatically programming developer engineers
        engineer router wifi internet phone smartphone firmware backup password""",
    "study": """thesis dissertation university college school course courses class classes exam
        exams homework lecture lectures professor advisor supervisor student students research
        paper papers literature chapter chapters study studying degree phd masters semester
        essay grade grades ethics lab seminar scholarship teacher learning learn tutorial
        tutor tutoring lesson lessons curriculum textbook revision syllabus""",
    "language": """language languages spanish french german italian portuguese english chinese
        japanese grammar vocabulary fluent fluency accent pronunciation duolingo b1 b2 a2 c1
        dele delf ielts toefl listening speaking translation dictionary verbs""",
    "health": """health doctor doctors hospital clinic knee knees back pain injury injured sick
        illness medicine medication pills therapy therapist physio physiotherapist
        physiotherapy diet sleep tired stress anxiety mental dentist surgery recovery recover
        allergy allergic symptoms checkup blood weight ankle shoulder hip muscle tendon
        sprain fever flu cold cough prescription appointment nurse rehab""",
    "sport": """run running runs runner marathon race races training workout gym fitness
        exercise yoga swimming swim pool cycling bike biking hike hiking hikes football
        soccer tennis basketball coach match league climbing ski skiing pace miles
        kilometres km sprint club trail trails stretching stretches""",
    "travel": """trip trips travel travelling traveling flight flights fly flying airport hotel
        hotels vacation holiday holidays passport visa luggage suitcase beach tour tours
        tourist booking booked book itinerary abroad journey camping cruise destination
        guesthouse hostel airbnb sightseeing sights tram train trains station ferry museum
        museums castle city cities""",
    "food": """food cook cooking recipe recipes dinner lunch breakfast restaurant restaurants meal
        meals vegetarian vegan coffee tea wine beer bake baking cake bread pizza pasta chef
        groceries grocery snack dessert cheese soup salad menu kitchenware brunch""",
    "money": """money budget budgets cost costs price prices euro euros dollar dollars pound pounds
        pay paid payment savings save saving bank loan debt invoice invoices expense expenses
        tax taxes invest investment investing income afford cheap expensive finance financial
        quote quoted bill bills refund deposit insurance pension""",
    "family": """family kids kid children child son daughter wife husband partner parents mother
        father mom dad mum sister brother siblings baby grandma grandpa grandparents
        grandmother grandfather aunt uncle cousin niece nephew adoption adopt""",
    "events": """wedding weddings married marry marriage bride groom reception ceremony best man
        speech toast bachelor hen party parties birthday anniversary celebration celebrate
        guests invitation invitations funeral christening graduation""",
    "friends": """friend friends friendship buddy mates""",
    "hobby": """music guitar piano violin cello drums bass jazz gig gigs rehearse rehearsal song songs
        band concert painting art
        artist drawing photography photo photos camera book books reading novel poetry writing
        garden gardening game games gaming movie movies film films theatre pottery craft crafts
        knitting dance dancing chess choir""",
    "vehicles": """car cars vehicle van truck motorbike motorcycle scooter garage mechanic
        mechanics brakes brake pads tyres tires tyre engine oil leak inspection mot mileage
        battery clutch gearbox dealership parking fuel petrol diesel charger""",
    "nature": """nature ocean sea reef coral climate environment forest animals wildlife birds
        river lake mountain mountains weather ecology species marine conservation""",
    "pets": """pet pets dog dogs cat cats puppy kitten vet horse fish""",
    "admin": """visa permit paperwork form forms application apply registration register lawyer
        notary contract tax office embassy appointment deadline renewal renew license licence""",
}

#: Frequent English words that say little about what a conversation is about;
#: they never tie an exchange to a scene and never name one.
COMMON_WORDS = """time times day days week weeks month months year years today tomorrow yesterday
    tonight morning mornings evening evenings night nights weekend hour hours minute minutes
    monday tuesday wednesday thursday friday saturday sunday january february march april may june
    july august september october november december
    good great nice bad better best worse worst fine fun real sure true fair easy hard
    thing things lot lots way ways people person part parts place point bit kind sort stuff
    something anything everything nothing someone anyone everyone somebody
    new old big small little long short high low early late last next first second third
    half whole full empty own same different other another such many much more most less few
    get gets got getting make makes made making take takes took taking taken give gives gave
    given put puts keep keeps kept keeping find finds found try tries tried trying start starts
    started starting begin began stop stops stopped end ends ended finish finished use uses
    used using want wants wanted need needs needed going go goes went gone come comes came
    coming see sees saw seen seeing look looks looked looking think thinks thought feel feels
    felt say says said tell tells told know knows knew known ask asks asked call called help
    helps helped show shows showed leave left turn turned move seem seems let lets mean means
    meant hope hoped like liked love loved wish
    yes yeah okay ok thanks thank hey hello hi wow cool awesome amazing glad happy sorry right
    well still even back able ever also just really always never often sometimes usually maybe
    perhaps probably actually quite rather pretty enough almost already soon again away around
    user assistant noted remember
    one two three four five six seven eight nine ten hundred thousand"""


@cache
def _index() -> dict[str, frozenset[str]]:
    index: dict[str, set[str]] = {}
    for topic, words in TOPIC_WORDS.items():
        for word in words.split():
            index.setdefault(stem(word), set()).add(topic)
    return {word: frozenset(topics) for word, topics in index.items()}


def topics_of(stems: list[str]) -> dict[str, float]:
    """Count of words per topic among ``stems`` (a word in two topics counts half in each)."""
    index = _index()
    counts: dict[str, float] = {}
    for word in stems:
        topics = index.get(word)
        if topics:
            share = 1.0 / len(topics)
            for topic in topics:
                counts[topic] = counts.get(topic, 0.0) + share
    return counts


@cache
def _common() -> frozenset[str]:
    return frozenset(stem(word) for word in COMMON_WORDS.split())


def is_common(word_stem: str) -> bool:
    """Whether a (stemmed) word is one of :data:`COMMON_WORDS`."""
    return word_stem in _common()
