"""Memory that keeps up: the offline engine retires what changed, groups topics and answers from current facts.

Conversations here are written for these tests; each asserts behaviour (which cell is current, what
the answer names), not wording.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

import memkit
from memkit import Cell, MemoryDB, MemoryManager, WorkerAgent


@pytest.fixture
def db(store_db: memkit.MemoryDB) -> memkit.MemoryDB:
    """This module's tests run on both stores: a SQLite file and a PostgreSQL database."""
    return store_db


def remember(db: MemoryDB, *messages: str) -> MemoryManager:
    manager = MemoryManager(db)
    for message in messages:
        manager.update(message, "Noted.")
    return manager


def current(db: MemoryDB) -> list[str]:
    return [c.content for c in db.list_cells()]


def retired(db: MemoryDB) -> list[str]:
    return [c.content for c in db.list_cells(include_history=True) if c.status != "current"]


def holding(cells: Iterable[str], *words: str) -> list[str]:
    return [c for c in cells if all(w.lower() in c.lower() for w in words)]


# -- changes --------------------------------------------------------------------------------------------


def test_a_moved_appointment_retires_the_old_day(db: MemoryDB) -> None:
    remember(db, "The plumber comes on Tuesday at 8.", "The plumber moved our slot to Thursday.")
    assert holding(retired(db), "Tuesday") and not holding(current(db), "Tuesday")
    assert holding(current(db), "Thursday")


def test_a_name_mentioned_with_another_date_does_not_retire_what_else_it_was_in(db: MemoryDB) -> None:
    remember(
        db,
        "We're flying to Oslo with Ingrid and Sven on 3 May, back on the 17th.",
        "First week in Oslo at the Hotel Bristol, because Sven loves the breakfast.",
        "Ingrid starts at the clinic on Monday.",
    )
    assert not retired(db)
    remember(db, "Ingrid starts Thursday.")  # the same person doing the same thing on another day: a change
    assert holding(retired(db), "Monday") and holding(current(db), "3 May")


def test_an_ending_spoken_of_is_not_something_ending(db: MemoryDB) -> None:
    remember(
        db, "The film club meets on Fridays at the library.", "watched vertigo with the film club, that ending wow."
    )
    assert not retired(db)
    remember(db, "We are ending the film club in June.")
    assert holding(retired(db), "Fridays")


def test_a_change_that_only_could_happen_changes_nothing(db: MemoryDB) -> None:
    remember(
        db,
        "Ana's swim class is on Wednesdays at 4, in the beginner group.",
        "The coach says Ana can move up to the advanced group in March.",
    )
    assert not retired(db)
    remember(db, "Ana's swim class moved to Thursdays at 5.")
    assert holding(retired(db), "Wednesdays")


def test_a_change_done_to_it_finds_what_it_stands_for(db: MemoryDB) -> None:
    remember(db, "Audit owner: Mia, due Tuesday.")
    remember(db, "The audit slipped, Mia is out sick. Omar is picking it up instead, new due date Thursday.")
    assert holding(retired(db), "Tuesday") and holding(current(db), "Omar", "audit", "Thursday")
    remember(db, "Priya has the old exams from her brother, who took it last year.")  # no change: "it" left as said
    assert holding(current(db), "who took it last year")


def test_a_new_amount_replaces_the_old_one_however_it_is_said(db: MemoryDB) -> None:
    remember(db, "The fence quote came in at 2,400 dollars.", "Scratch that, the fence quote is now 2,750 dollars.")
    assert holding(retired(db), "2,400") and holding(current(db), "2,750")


def test_only_the_part_that_changed_is_retired(db: MemoryDB) -> None:
    remember(db, "The physics exam is on the 14th and counts for 30% of the grade.")
    remember(db, "The physics exam moved to the 21st.")
    assert not holding(current(db), "14th")
    assert holding(current(db), "30%")  # still true: it stays current
    assert holding(current(db), "21st")


def test_a_cancellation_retires_what_depended_on_it_and_nothing_else(db: MemoryDB) -> None:
    remember(
        db,
        "We hired Bella's Kitchen as the caterer for the reunion.",
        "Bella's Kitchen charges $40 a head.",
        "Our neighbours gave us a lemon tree.",
    )
    remember(db, "Bella's Kitchen cancelled on us.")
    assert not holding(current(db), "Bella's Kitchen charges")
    assert not holding(current(db), "hired Bella's Kitchen")
    assert holding(current(db), "lemon tree")  # "us" is no reason to retire it


def test_no_longer_ends_a_habit(db: MemoryDB) -> None:
    remember(db, "I drink two espressos every morning.", "I don't drink espresso anymore, doctor's orders.")
    assert holding(retired(db), "espressos every morning")


def test_a_task_done_is_retired(db: MemoryDB) -> None:
    remember(db, "I need to fix the brakes on my bike before the tour.", "Fixed the bike brakes today!")
    assert holding(retired(db), "fix the brakes")


def test_a_plan_put_on_hold_is_retired_even_when_called_a_thing(db: MemoryDB) -> None:
    remember(db, "My plan is 3 swims a week at the lido, building up to 2km by July.")
    remember(db, "The shoulder flared up again. So the 3 swims a week thing is on hold for now.")
    assert holding(retired(db), "3 swims a week at the lido")


def test_a_task_done_and_its_event_passed_leave_no_task_behind(db: MemoryDB) -> None:
    remember(db, "todo: replace the boiler valve before the gas safety check on the 12th.")
    remember(db, "boiler valve replaced. safety check passed, 9/10.")
    assert not [c for c in db.list_cells() if c.cell_type == "task" and "valve" in c.content]


def test_doing_what_a_task_asked_retires_it_and_only_it(db: MemoryDB) -> None:
    remember(db, "I need to ring the council about the bins before Friday.", "The gutters need clearing before winter.")
    remember(db, "I rang my brother last night.")
    assert not retired(db)
    remember(db, "It was dry enough today that I finally cleared the gutters. Also rang the council this morning.")
    assert holding(retired(db), "ring the council") and holding(retired(db), "gutters need clearing")


def test_instead_replaces_the_choice(db: MemoryDB) -> None:
    remember(db, "We chose Northwind Removals for the move.")
    remember(db, "Northwind Removals is fully booked, so we're going with Atlas Vans instead.")
    assert holding(retired(db), "chose Northwind")
    assert holding(current(db), "Atlas Vans")


def test_plans_that_went_with_a_dropped_choice_go_with_it(db: MemoryDB) -> None:
    remember(db, "We picked Greenleaf Catering for the party.", "Greenleaf Catering will deliver the food on 3 August.")
    remember(db, "Greenleaf can't do our date after all, so we're going with Olive Tree Kitchen instead.")
    assert holding(retired(db), "deliver the food") and not holding(current(db), "deliver the food")
    assert holding(current(db), "Olive Tree Kitchen")


def test_scratching_a_change_named_in_a_heading_retires_it(db: MemoryDB) -> None:
    remember(db, "We decided to cut the choir budget to 500 euros, bringing the total to 2,000 euros.")
    remember(db, "Scratch the cut: the parish covered the gap, so the choir budget goes back to 800 euros.")
    assert holding(retired(db), "cut the choir budget") and not holding(current(db), "cut")


def test_an_old_value_named_by_now_or_not_is_the_one_retired(db: MemoryDB) -> None:
    remember(db, "The gallery opening is on 12 April.")
    remember(db, "Harbour Dental wants team photos on 10 April at their office.")
    remember(db, "We're doing four nights in Lisbon, at the Casa Azul.")
    remember(db, "Harbour Dental moved the shoot: 10 April is now 15 April.")
    remember(db, "We're doing three nights in Lisbon now, not four.")
    assert holding(current(db), "12 April")
    assert holding(current(db), "at their office")  # what the date change left true
    assert holding(retired(db), "four nights") and not holding(current(db), "four nights in Lisbon, at")


def test_saying_it_again_reinforces_the_cell(db: MemoryDB) -> None:
    remember(db, "My sister Ilse lives in Graz.", "My sister Ilse lives in Graz.")
    (cell,) = holding((c.content for c in db.list_cells()), "Ilse")
    assert [c.seen_count for c in db.list_cells() if c.content == cell] == [2]


def test_events_on_two_days_in_a_transcript_are_both_kept(db: MemoryDB) -> None:
    MemoryManager(db).ingest(
        [
            ("Rosa", "I went to the pottery class on Monday.", "r1"),
            ("Jun", "Nice!", "j1"),
            ("Rosa", "I went to the pottery class again on Friday.", "r2"),
        ],
        progress=False,
    )
    assert retired(db) == []
    assert len(holding(current(db), "pottery")) == 2


def test_every_decision_says_why(db: MemoryDB) -> None:
    manager = remember(db, "The dentist appointment is on May 3.")
    result = manager.update("Change of plans: the dentist moved me to May 10.", "Noted.")
    (revision,) = [r for r in result.revisions if r.action == "update"]
    assert "May" in (db.get_cell(revision.target_id) or Cell).content  # type: ignore[union-attr]
    assert revision.reason  # the rule and the words it matched


# -- scenes -----------------------------------------------------------------------------------------


def test_topics_get_their_own_scenes_and_a_return_finds_the_old_one(db: MemoryDB) -> None:
    remember(
        db,
        "We're redoing the bathroom: new tiles, a walk-in shower and a heated towel rail.",
        "My dentist says I need a filling in my upper left molar.",
        "The tiler starts on the bathroom next Monday and the shower glass comes a week later.",
    )
    scenes = {c.content.split()[1] if c.content.startswith("User") else c.content: c.scene for c in db.list_cells()}
    bathroom = {c.scene for c in db.list_cells() if "bathroom" in c.content.lower() or "shower" in c.content}
    dentist = {c.scene for c in db.list_cells() if "filling" in c.content}
    assert len(bathroom) == 1 and len(dentist) == 1 and bathroom != dentist, scenes


def test_scene_names_are_what_a_person_would_call_the_topic(db: MemoryDB) -> None:
    remember(db, "We're planning a trip to Kyoto in April with my parents.")
    remember(db, "My dentist says I need a filling in my upper left molar.")
    names = {s.scene for s in db.list_scenes()}
    assert "trip-to-kyoto" in names
    assert any("dentist" in name or "filling" in name for name in names), names


def test_a_scene_is_named_for_its_topic_not_for_a_relative_in_it(db: MemoryDB) -> None:
    remember(db, "My brother keeps asking about the menu, but the caterer still hasn't sent the menu options.")
    remember(db, "Seating plan update, we have 9 tables of 8 and my aunt wants to sit near the door.")
    names = {s.scene for s in db.list_scenes()}
    assert not names & {"brother", "aunt"}, names
    assert any("seating" in name for name in names), names


# -- summaries --------------------------------------------------------------------------------------


def test_a_summary_states_current_facts_without_the_assistants_advice(db: MemoryDB) -> None:
    manager = MemoryManager(db)
    manager.update("The plumber comes on Tuesday at 8.", "Great! I would clear the cupboard under the sink first.")
    manager.update("The plumber moved our slot to Thursday.", "Good call to confirm it. You should ask for a text.")
    (scene,) = db.list_scenes()
    assert "Thursday" in scene.summary and "Tuesday" not in scene.summary
    assert "cupboard" not in scene.summary and "text" not in scene.summary
    assert len(scene.summary.split()) < 100


# -- answers ----------------------------------------------------------------------------------------


def ask(db: MemoryDB, question: str) -> str:
    return WorkerAgent(MemoryManager(db)).answer(question)


def test_the_answer_names_the_current_value_and_says_it_changed(db: MemoryDB) -> None:
    remember(db, "The plumber comes on Tuesday at 8.", "The plumber moved our slot to Thursday.")
    answer = ask(db, "When is the plumber coming?")
    assert "Thursday" in answer and "Tuesday" not in answer
    assert "moved" in answer or "updated" in answer  # it says it changed, not what it was
    remember(db, "My gym membership costs 35 euros a month.", "The gym membership is now 42 euros a month.")
    answer = ask(db, "How much is my gym membership?")
    assert "42" in answer and "35" not in answer


def test_another_kind_of_the_thing_asked_about_does_not_answer(db: MemoryDB) -> None:
    remember(db, "I have an appointment with my cardiologist, Dr. Rahman, on 3 May at nine.")
    assert "3 May" not in ask(db, "When is my dentist appointment?")
    assert "3 May" in ask(db, "When is my cardiologist appointment?")
    remember(db, "Priya Shah from the agency is the recruiter for the nursing job.")
    assert "Priya Shah" in ask(db, "Who is the recruiter on the night shift job?")  # a detail, not the thing asked


def test_a_when_question_is_answered_with_a_date(db: MemoryDB) -> None:
    remember(
        db,
        "The choir concert is on 14 December at St. Mary's.",
        "The choir concert programme has three carols and a Bach cantata.",
    )
    answer = ask(db, "When is the choir concert?")
    assert "14 December" in answer and "Bach" not in answer


def test_asking_for_the_date_of_something_is_answered_with_a_date(db: MemoryDB) -> None:
    remember(
        db,
        "We need to send the dates for the reunion to everyone.",
        "The reunion is on 6 June at the boathouse.",
        "The reunion playlist is mostly eighties songs.",
    )
    answer = ask(db, "What's the date of the reunion?")
    assert "6 June" in answer and "playlist" not in answer


def test_what_memory_does_not_hold_gets_a_plain_no(db: MemoryDB) -> None:
    remember(db, "The choir concert is on 14 December at St. Mary's.", "My car needs new winter tyres.")
    answer = ask(db, "Which bank holds my savings account?")
    assert answer.startswith("I have nothing in memory")
    assert "choir" not in answer and "tyres" not in answer


def test_words_like_week_or_rest_do_not_make_a_cell_an_answer(db: MemoryDB) -> None:
    remember(db, "The plumber comes next week to fix the boiler.", "The rest of the tiles arrive in May.")
    answer = ask(db, "Who is on call this week?")
    assert answer.startswith("I have nothing in memory") and "plumber" not in answer
    assert "plumber" in ask(db, "Who is fixing the boiler?").lower()


def test_a_question_in_two_parts_gets_both(db: MemoryDB) -> None:
    remember(db, "My accountant is Farida Osei.", "I owe about 640 pounds in tax this year.")
    answer = ask(db, "Who is my accountant, and how much tax do I owe?")
    assert "Farida" in answer and "640" in answer


def test_a_new_value_named_as_new_replaces_the_old_one_however_it_is_parsed() -> None:
    db = MemoryDB()
    manager = MemoryManager(db)
    manager.update("signed up for the lake swim in july, target is under 30 minutes", "Noted.")
    changed = manager.update("new target is just finish relaxed, like 35ish", "Noted.")
    assert [r.action for r in changed.revisions] == ["update"]
    current = " ".join(c.content for c in db.list_cells())
    assert "35" in current and "under 30" not in current


def test_a_new_price_from_a_date_replaces_the_price_not_the_schedule() -> None:
    db = MemoryDB()
    manager = MemoryManager(db)
    manager.update("Coffee beans from Hill Roasters. 1kg bags, $30 each.", "Noted.")
    manager.update("Hill Roasters delivers fridays.", "Noted.")
    manager.update("note: Hill Roasters going to $34/bag from next month. bad harvest.", "Noted.")
    current = " ".join(c.content for c in db.list_cells())
    assert "$34" in current and "$30" not in current and "fridays" in current.lower()
