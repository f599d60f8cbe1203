"""The offline engine reads messages into statements: whose they are, what is dropped, what they say."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import memkit
from memkit import OfflineEngine, Utterance
from memkit.errors import MissingPipelineError
from memkit.llm.offline import nlp
from memkit.llm.offline.revise import Listed, decide
from memkit.llm.offline.vocabulary import DEFAULT_VOCABULARY, Vocabulary
from memkit.prompts import extract_request
from memkit.types import Scene

ENGINE = OfflineEngine()


def contents(text: str, speaker: str = "User") -> list[str]:
    return [s.content for s in ENGINE.read(text, speaker).statements]


def extract(user: str, assistant: str = "", scenes: list[Scene] | None = None) -> list[dict[str, object]]:
    request = extract_request([Utterance("User", user), Utterance("Assistant", assistant)], scenes or [])
    return json.loads(ENGINE.complete(request))["cells"]  # type: ignore[no-any-return]


# -- one statement per cell -------------------------------------------------------------------------


def test_two_facts_in_one_sentence_are_two_statements_each_with_its_subject() -> None:
    assert contents("I teach chemistry at a school in Graz and coach the junior chess team.") == [
        "User teaches chemistry at a school in Graz.",
        "User coaches the junior chess team.",
    ]
    assert contents("Priya drafted the contract, and Tomasz signed it on Monday.") == [
        "Priya drafted the contract.",
        "Tomasz signed it on Monday.",
    ]


def test_a_second_subject_the_parse_hung_on_the_first_clause_gets_its_own_statement() -> None:
    said = contents("Noor's recital is at 6 with Ms. Ortiz and Sami's is at 7:30 with Mr. Hale.")
    assert len(said) == 2 and said[1].startswith("Sami's is at 7:30"), said


def test_first_person_becomes_third_with_the_verb_agreeing() -> None:
    said = " ".join(contents("I'm allergic to walnuts and my brother doesn't eat fish."))
    assert "User is allergic to walnuts" in said and "User's brother doesn't eat fish" in said
    assert contents("We've decided to sell the old van.") == ["User has decided to sell the old van."]
    assert contents("I don't like cold showers.") == ["User doesn't like cold showers."]
    (named,) = contents("I bought a kayak last weekend.", speaker="Rosa")
    assert named == "Rosa bought a kayak last weekend."


def test_chat_shorthand_is_written_out() -> None:
    (statement,) = contents("im getting the car serviced tmrw w/ my dad b4 work")
    assert statement.startswith("User is getting the car serviced tomorrow with User's dad before work")
    for shorthand in (" im ", "tmrw", "w/", "b4"):
        assert shorthand not in f" {statement} "
    (statement,) = contents("my sister's bf is driving us, hes got a van tho")
    assert "boyfriend" in statement and " hes " not in f" {statement} " and " tho" not in statement


def test_a_sentence_leaning_on_the_one_before_says_what_it_means() -> None:
    hotel, price = contents("We booked the Pension Adler in Innsbruck. It's 95 euros a night, breakfast included.")
    assert hotel == "User booked the Pension Adler in Innsbruck."
    assert price.startswith("The Pension Adler") and "95 euros a night" in price
    person = contents("My landlord Mr. Quist called. He wants to raise the rent in May.")
    assert person == ["Mr. Quist wants to raise the rent in May."]


def test_a_pronoun_with_nothing_to_stand_for_joins_the_sentence_before() -> None:
    (joined,) = contents("I repainted the hallway in dark green. They love the colour, apparently.")
    assert joined.startswith("User repainted the hallway in dark green.") and "love the colour" in joined
    assert contents("I ordered the blinds for the study. They arrive in two weeks.")[1].startswith("The blinds arrive")


def test_notes_under_a_heading_are_said_of_it() -> None:
    cells = contents("order: Ferrante wedding. 200 cupcakes + 1 tiered cake. delivery sat jun 7, 2pm.")
    assert all("Ferrante wedding" in c for c in cells), cells


# -- what stores nothing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "lol thx u rock",
        "Good morning!",
        "hows your day going",
        "haha ok cool",
        "Thanks so much, that really helps.",
        "honestly so tired today",
        "Sorry, long day.",
        "👍",
        "/help",
        "I'm so giddy I can't concentrate on anything today.",
        "I do hope you have a restful weekend yourself.",
    ],
)
def test_small_talk_stores_nothing(message: str) -> None:
    assert extract(message) == []


def test_a_mood_about_something_is_kept() -> None:
    (statement,) = contents("I'm really worried about the damp patch in the hallway.")
    assert "damp patch" in statement


def test_a_contracted_has_is_written_as_has() -> None:
    said = " ".join(contents("My aunt owns a print shop, and she's offered to print the menus for free."))
    assert "has offered to print the menus" in said


def test_a_pronoun_means_the_subject_a_clause_took_from_the_one_before() -> None:
    said = contents("Omar rents the flat below ours, works nights with Lena Park, and he offered to feed the cat.")
    assert any(s.startswith("Omar offered to feed the cat") for s in said), said


def test_it_means_the_thing_a_phrase_is_about_not_a_measure_or_a_place_qualifying_it() -> None:
    said = contents("We rented a cabin by Lake Tahoe for four nights. It's $250 a night but it has a hot tub.")
    assert any("The cabin is $250 a night" in s for s in said), said
    assert any(s.startswith("The cabin has a hot tub") for s in said), said
    # the qualifying noun is meant when the head cannot be "it"
    assert contents("We plan to sample ten ponds along the Avon. It is the cleanest river in the county.")[
        1
    ].startswith("The Avon is the cleanest river")


def test_a_subject_the_parse_hung_on_an_auxiliary_is_said_once() -> None:
    assert contents("We're also no longer inviting my old boss.") == [
        "User is also no longer inviting User's old boss."
    ]


def test_a_noun_phrase_after_a_name_that_the_parse_read_as_a_clause_stays_with_the_name() -> None:
    (said,) = contents(
        "We've put a deposit down on Ashby Orchard, a converted apple barn about forty minutes outside Dayton."
    )
    assert said.endswith("on Ashby Orchard, a converted apple barn about forty minutes outside Dayton.")


def test_a_name_said_before_its_pronoun_is_said_once() -> None:
    (statement,) = contents("My cousin, she is moving to Porto in June.")
    assert statement.startswith("User's cousin is moving to Porto")


def test_openers_and_headings_are_dropped() -> None:
    assert contents("Quick update: the locksmith comes on Friday at noon.") == [
        "The locksmith comes on Friday at noon."
    ]
    assert contents("Ugh, so the boiler broke again.") == ["The boiler broke again."]
    said = " ".join(contents("Deep breath. On the garden: the new fence goes up on Saturday."))
    assert said == "The new fence goes up on Saturday."
    (statement,) = contents("Quick update on the party: we've called off the magician.")
    assert "called off the magician" in statement


def test_a_question_is_not_a_fact_but_a_request_to_be_reminded_is_a_task() -> None:
    assert extract("What time does the pharmacy close?") == []
    (cell,) = extract("Can you remind me to water Helga's plants on Sunday?")
    assert cell["cell_type"] == "task" and cell["content"] == "User needs to water Helga's plants on Sunday."


def test_the_assistants_advice_is_never_the_users_fact_but_what_it_did_is_kept_as_its_own() -> None:
    cells = extract(
        "My flight to Porto leaves at 6am on Saturday.",
        "Great choice! I would pack the night before. You should check in online. I've set a reminder for Friday.",
    )
    assert [c["content"] for c in cells] == [
        "User's flight to Porto leaves at 6am on Saturday.",
        "Assistant has set a reminder for Friday.",
    ]
    cells = extract("The piano movers come on Monday.", "I'm enjoying hearing about the move! I've noted Monday.")
    assert not [c for c in cells if "enjoy" in str(c["content"])]


def test_a_sentence_said_twice_in_one_message_is_one_cell() -> None:
    assert len(extract("The gate code is 4417. " * 25)) == 1


# -- cell types and salience ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "cell_type"),
    [
        ("My sister works as a nurse in Leeds.", "fact"),
        ("I prefer the window seat on long flights.", "preference"),
        ("We decided to rent the cabin in Tromsø.", "decision"),
        ("I need to renew my passport before June.", "task"),
        ("I'm going to learn Portuguese next year.", "plan"),
        ("I'm worried the roof might not survive another winter.", "risk"),
    ],
)
def test_cell_types(sentence: str, cell_type: str) -> None:
    (statement,) = ENGINE.read(sentence).statements
    assert statement.cell_type == cell_type


def test_salience_rises_with_dates_names_and_emphasis() -> None:
    plain, dated = (ENGINE.read(t).statements[0] for t in ("I like tea.", "It is crucial to pay Anke by 3 March."))
    assert plain.salience < dated.salience


# -- what a statement says --------------------------------------------------------------------------


def test_facts_hold_the_subject_anchors_and_typed_values() -> None:
    facts = ENGINE.facts("The kitchen budget is 15,000 euros.")
    assert {"kitchen", "budget"} <= facts.anchors
    assert facts.values_of(["MONEY"]) == frozenset({"15000 euros"})
    assert ENGINE.facts("Mira no longer plays the cello.").negated


def test_the_reading_shows_the_parse_and_what_was_left_out() -> None:
    reading = ENGINE.read("Thanks for yesterday. I adopted a greyhound called Pip.")
    assert [s.content for s in reading.statements] == ["User adopted a greyhound called Pip."]
    assert [(s.said, s.reason) for s in reading.skipped] == [("Thanks for yesterday.", "thanks")]
    assert reading.docs and reading.docs[0].has_annotation("DEP")


# -- the word tables ----------------------------------------------------------------------------------


def test_the_vocabulary_can_be_extended_and_the_engine_uses_it() -> None:
    assert "shelve" not in DEFAULT_VOCABULARY.end_verbs
    vocabulary = DEFAULT_VOCABULARY.extended(end_verbs="shelve", topics={"pets": "axolotl"})
    assert "shelve" in vocabulary.end_verbs and "axolotl" in vocabulary.topics["pets"]
    engine = OfflineEngine(vocabulary=vocabulary)
    (statement,) = engine.read("The council shelved the bridge project.").statements
    assert statement.change is not None and statement.change.kind == "end"
    (default,) = ENGINE.read("The council shelved the bridge project.").statements
    assert default.change is None
    with pytest.raises(ValueError, match="not a word table"):
        DEFAULT_VOCABULARY.extended(nonsense="x")
    with pytest.raises(TypeError, match="Vocabulary"):
        OfflineEngine(vocabulary={"end_verbs": "axe"})  # type: ignore[arg-type]
    assert isinstance(engine.vocabulary, Vocabulary)


# -- the pipeline ---------------------------------------------------------------------------------------


def test_a_missing_pipeline_is_a_memkit_error_that_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nlp, "PIPELINE_PACKAGES", ("no_such_pipeline_package",))
    monkeypatch.setattr(nlp, "_loaded", {})
    with pytest.raises(MissingPipelineError, match="pip install"):
        nlp.load_pipeline()


def test_importing_memkit_does_not_load_spacy() -> None:
    code = "import sys, memkit; memkit.MemoryDB(); print('spacy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_engine_gives_the_same_cells_whatever_the_hash_seed() -> None:
    code = (
        "import json, memkit\n"
        "from memkit.prompts import extract_request\n"
        "r = extract_request([memkit.Utterance('User', 'Ugh, so the vet moved Biscuit to Thursday at 9, and "
        "I need to buy the worm tablets. They cost $18.')], [])\n"
        "print(memkit.OfflineEngine().complete(r))"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2024")
    }
    assert len(runs) == 1


def test_a_sentence_repeated_in_one_message_is_one_cell_stated_once() -> None:
    once, many = memkit.MemoryDB(), memkit.MemoryDB()
    memkit.WorkerAgent(memkit.MemoryManager(once)).answer("My cousin keeps bees in Gdansk.")
    reply = memkit.WorkerAgent(memkit.MemoryManager(many)).answer("My cousin keeps bees in Gdansk. " * 12)
    assert [(c.content, c.salience) for c in many.list_cells()] == [(c.content, c.salience) for c in once.list_cells()]
    assert reply.count("bees") == 1


def test_an_answer_matches_the_question_verb_by_its_kind_not_its_spelling() -> None:
    db = memkit.MemoryDB()
    agent = memkit.WorkerAgent(memkit.MemoryManager(db))
    agent.answer("Jonas wants everything delivered before his move in October.")
    agent.answer("Jonas prefers a walnut desk for the study.")
    agent.answer("Lea decided on a slate roof for the barn, because tiles crack in the frost.")
    assert "walnut" in agent.answer("Which finish does Jonas want for the desk?")
    assert "slate" in agent.answer("What material did Lea choose for the barn roof?")


def test_a_fact_said_again_in_one_breath_reinforces_the_cells_that_hold_it() -> None:
    db = memkit.MemoryDB()
    manager = memkit.MemoryManager(db)
    manager.ingest(
        [Utterance("Ravi", "We are rebuilding the garden shed. The quote is 3,400 euros, paint included.", "r1")],
        progress=False,
    )
    stored = db.count_cells()
    again = manager.update("Reminder: the shed quote is 3,400 euros, paint included.", "Noted.")
    assert [r.action for r in again.revisions] == ["reinforce"] and db.count_cells() == stored
    more = manager.update("The shed quote is 3,400 euros, paint included, and the roof is cedar.", "Noted.")
    # a new detail is never lost to a reinforcement: it is stored, in a new cell or one it updates
    assert "reinforce" not in [r.action for r in more.revisions]
    assert any("cedar" in cell.content for cell in db.list_cells())


def test_a_pronoun_stands_for_a_person_named_before_it_in_its_own_sentence() -> None:
    engine = OfflineEngine()
    reading = engine.read(
        "went to the dentist today, she says the filling can wait till march",
        context=["The Oral-B brush arrived.", "Philips sent the wrong head."],
    )
    (first, *_) = reading.statements
    assert "the dentist says" in first.content.lower() and "philips" not in first.content.lower()


def test_a_question_opening_on_a_preposition_is_a_question_not_a_statement() -> None:
    engine = OfflineEngine()
    asked = engine.read("In which town does Omar work these days?")
    assert asked.statements == () and [s.reason for s in asked.skipped] == ["a question"]
    assert engine.read("In March Omar starts at the harbour office.").statements


def test_a_new_span_with_instead_in_the_same_scene_replaces_the_old_one_even_without_a_shared_noun() -> None:
    (old,) = ENGINE.read("The pilot runs for six months.", "User").statements
    (new,) = ENGINE.read("Funding is short, so we run for four months instead.", "User").statements
    listed = [Listed(1, old.cell_type, "pilot", old.content, old.facts)]
    assert decide(new, listed, "pilot", ENGINE.vocabulary)["target"] == 1
    assert decide(new, listed, "garden", ENGINE.vocabulary) == {}  # in another scene it is another thing


def test_a_short_heading_keeps_the_note_under_it_in_one_statement() -> None:
    (said,) = contents("Audit owner: Mia, due Tuesday.")
    assert "owner" in said and "Mia" in said


def test_an_age_the_parse_calls_a_date_is_not_replaced_by_a_month() -> None:
    (old,) = ENGINE.read("Leo just turned six.", "User").statements
    (new,) = ENGINE.read("His class trip is moving to October.", "User").statements
    assert decide(new, [Listed(1, old.cell_type, "kids", old.content, old.facts)], "kids", ENGINE.vocabulary) == {}
    (moved,) = ENGINE.read("The class trip is moving to November.", "User").statements
    (trip,) = ENGINE.read("The class trip is in October.", "User").statements
    listed = [Listed(1, trip.cell_type, "kids", trip.content, trip.facts)]
    assert decide(moved, listed, "kids", ENGINE.vocabulary)["target"] == 1


def test_a_date_that_points_back_is_no_new_date() -> None:
    (old,) = ENGINE.read("Mondays are Sam's days from October.", "User").statements
    (new,) = ENGINE.read("Sam will pick the twins up from school on those days.", "User").statements
    assert "DATE" not in new.facts.value_kinds()
    assert decide(new, [Listed(1, old.cell_type, "kids", old.content, old.facts)], "kids", ENGINE.vocabulary) == {}
    (said,) = ENGINE.read("The plumber comes on Friday this week, the same day as the painter.", "User").statements
    assert "DATE" in said.facts.value_kinds()


def test_they_after_a_person_naming_a_firm_means_the_firm_and_its_verb_agrees() -> None:
    said = contents(
        "My cousin Noor recommended a dog-walking firm called Paws Plus."
        " They charge $30 a walk and they're open on Sundays."
    )
    assert "Paws Plus charges $30 a walk." in said, said
    assert "Paws Plus is open on Sundays." in said, said
    # a group of people stays "they"
    assert any("they" in s for s in contents("The Hendersons next door said they'd water the plants."))


def test_everyday_words_shouted_in_capitals_are_read_as_words_names_and_acronyms_stay() -> None:
    assert contents("FINISHED the quilt for Nora today.") == ["User finished the quilt for Nora today."]
    assert contents("My niece STARTED an internship at UNICEF.") == ["User's niece started an internship at UNICEF."]
    assert contents("SORRY, THE CLINIC MOVED MY SCAN TO FRIDAY.")  # a whole message in capitals is read as it is
