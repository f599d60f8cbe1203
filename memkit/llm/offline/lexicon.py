"""A small topic lexicon: common words grouped by the area of life they belong to.

The offline engine has no word embeddings, so "oak cabinets" and "kitchen"
share no letters. This lexicon lets it see that both are about the home.
It is a plain, editable table: add a word to a group, or a group, and the
scene assignment uses it.
"""

from __future__ import annotations

from functools import cache

from .text import stem

__all__ = ["TOPIC_WORDS", "topics_of"]

#: Area of life -> words that usually signal it.
TOPIC_WORDS: dict[str, str] = {
    "home": """house home flat apartment kitchen bathroom bedroom living room garden garage roof
        floor tiles wall walls cabinet cabinets sink oven fridge stove countertop counter plumber
        plumbing electrician wiring furniture sofa couch renovation renovate renovating paint
        painting carpenter window windows door doors heating boiler rent landlord mortgage
        lease move moving neighbour neighbor yard fence shelf shelves lamp curtains decor lacquer
        oak wood laminate dishwasher washing cleaning shed diy drill screws nails hammer hinges
        padlock lock lumber plank planks boards pine""",
    "work": """work job office boss manager colleague colleagues coworker team meeting meetings
        project projects client clients customer customers deadline deadlines report reports
        presentation career promotion salary hire hiring interview company startup business
        standup sprint roadmap stakeholder stakeholders demo quarterly okr okrs review""",
    "tech": """software code coding database databases server servers staging production deploy
        deployment api backend frontend app apps website bug bugs python javascript postgres
        sqlite mysql docker kubernetes cloud aws dashboard dashboards grafana monitoring test
        tests testing release git github repository pipeline agent agents model models llm
        memory system systems data algorithm computer laptop network migration schema query
        search index automation automate automatically programming developer engineers""",
    "study": """thesis dissertation university college school course courses class classes exam
        exams homework lecture lectures professor advisor supervisor student students research
        paper papers literature chapter chapters study studying degree phd masters semester
        essay grade grades ethics lab seminar scholarship teacher learning learn tutorial""",
    "health": """health doctor doctors hospital clinic knee back pain injury injured sick illness
        medicine medication therapy therapist physio physiotherapy diet sleep tired stress
        anxiety mental dentist surgery recovery allergy allergic symptoms checkup blood weight""",
    "sport": """run running runs runner marathon race races training train workout gym fitness
        exercise yoga swimming swim cycling bike biking hike hiking football soccer tennis
        basketball coach match league climbing ski skiing pace miles kilometres km sprint""",
    "travel": """trip travel travelling traveling flight flights airport hotel hotels vacation
        holiday holidays passport visa luggage beach tour tourist booking train station road
        abroad journey itinerary camping cruise destination""",
    "food": """food cook cooking recipe recipes dinner lunch breakfast restaurant restaurants meal
        meals vegetarian vegan coffee tea wine beer bake baking cake bread pizza pasta chef
        groceries grocery snack dessert""",
    "money": """money budget budgets cost costs price prices euro euros dollar dollars pound pounds
        pay paid payment savings save saving bank loan debt invoice invoices expense expenses
        tax taxes invest investment investing income afford cheap expensive finance financial""",
    "family": """family kids kid children child son daughter wife husband partner parents mother
        father mom dad mum sister brother baby grandma grandpa grandparents wedding birthday
        marriage married adoption adopt friends friend""",
    "hobby": """music guitar piano violin cello drums lessons song songs band concert painting art
        artist drawing photography photo photos camera book books reading novel poetry writing
        garden gardening game games gaming movie movies film films theatre pottery craft crafts
        knitting dance dancing""",
    "nature": """nature ocean sea reef coral climate environment forest animals wildlife birds
        river lake mountain mountains weather ecology species marine conservation""",
    "pets": """pet pets dog dogs cat cats puppy kitten vet horse fish""",
}


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
