"""The offline engine: sensible cells, stable scenes and summaries, answers from memory."""

from __future__ import annotations

import json

import pytest

from memkit import OfflineEngine, Utterance
from memkit.llm.offline.classify import classify, salience_of
from memkit.llm.offline.scenes import choose_scene, scene_name
from memkit.llm.offline.summarise import consolidate
from memkit.llm.offline.text import rewrite_person, split_sentences, strip_fillers
from memkit.prompts import answer_request, consolidate_request, extract_request
from memkit.types import Hit, NewCell, Scene


def extract(user: str, assistant: str = "", scenes: list[Scene] | None = None) -> list[dict[str, object]]:
    request = extract_request([Utterance("User", user), Utterance("Assistant", assistant)], scenes or [])
    return json.loads(OfflineEngine().complete(request))["cells"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("sentence", "cell_type"),
    [
        ("We moved to Porto last spring.", "fact"),
        ("My sister works as a nurse in Leeds.", "fact"),
        ("I love sourdough bread more than anything.", "preference"),
        ("Honestly I can't stand loud open offices.", "preference"),
        ("We went with Vue for the admin panel.", "decision"),
        ("The board agreed to postpone the launch.", "decision"),
        ("I need to renew my passport before June.", "task"),
        ("Email the landlord about the broken heater.", "task"),
        ("I'm going to learn Portuguese next year.", "plan"),
        ("We plan to visit my parents in the summer.", "plan"),
        ("The supplier might go bankrupt, which would delay our orders.", "risk"),
        ("I'm worried the API costs will keep growing.", "risk"),
    ],
)
def test_cell_types_from_cues(sentence: str, cell_type: str) -> None:
    assert classify(sentence).cell_type == cell_type


def test_salience_features_are_visible() -> None:
    assert salience_of("Call the bank.", "task") == 0.55  # base 0.65, short -0.10
    assert salience_of("It is really important to pay the rent on Friday.", "task") == 0.85  # +date +emphasis
    assert salience_of("Maybe we could look at other colours for the walls.", "fact") == 0.4  # hedged


def test_person_rewriting() -> None:
    assert (
        rewrite_person("I prefer tea and my brother drinks coffee.", "Sam")
        == "Sam prefers tea and Sam's brother drinks coffee."
    )
    assert (
        rewrite_person("I'm flying to Oslo; I have a meeting there.", "Sam")
        == "Sam is flying to Oslo; Sam has a meeting there."
    )
    assert (
        rewrite_person("I went home and I usually watch films.", "Sam")
        == "Sam went home and Sam usually watches films."
    )
    assert rewrite_person("I need a break.", "Sam") == "Sam needs a break."
    assert rewrite_person("I am tired and we are late.", "you") == "You are tired and you are late."


def test_fillers_and_sentences() -> None:
    assert strip_fillers("By the way, remember that the code is 4411.") == "The code is 4411."
    assert split_sentences("Dr. Lee called. She said hi!\nSee you") == ["Dr. Lee called.", "She said hi!", "See you"]


def test_extraction_gives_faithful_compressed_cells_not_placeholders() -> None:
    cells = extract(
        "Hi! By the way, I'm allergic to peanuts. I need to book the restaurant for Saturday. Sound good?",
        "Thanks for telling me. I'll avoid peanut dishes.",
    )
    assert [(c["cell_type"], c["content"]) for c in cells] == [
        ("risk", "User is allergic to peanuts."),
        ("task", "User needs to book the restaurant for Saturday."),
        ("plan", "Assistant will avoid peanut dishes."),
    ]
    assert all(c["scene"] == cells[0]["scene"] for c in cells)


def test_extraction_skips_small_talk_questions_and_echo() -> None:
    assert extract("Hello there! How are you?", "Great, thanks!") == []
    assert extract("Thanks, Melanie! Hey Mel! Wow, Caroline!", "Good to see you!") == []
    assert [c["content"] for c in extract("It's Shia Labeouf!", "Really?")] == ["It's Shia Labeouf!"]
    cells = extract("We adopted a puppy called Miso.", "A puppy called Miso, lovely.")
    assert [c["content"] for c in cells] == ["We adopted a puppy called Miso."]


def test_extraction_keeps_novel_assistant_statements() -> None:
    cells = extract(
        "Our router keeps dropping the connection.",
        "A firmware update on the router usually fixes dropped connections.",
    )
    assert len(cells) == 2


def test_extraction_of_a_long_message_is_bounded() -> None:
    text = " ".join(f"Fact number {i} is about the garden shed." for i in range(5000))
    assert len(extract(text)) == 6


def test_scene_choice_follows_topic_and_continuity() -> None:
    scenes = [("garden-shed", "User is building a garden shed from pine."), ("tax-return", "User must file taxes.")]
    assert choose_scene("The pine boards for the shed arrived.", scenes).scene == "garden-shed"
    assert choose_scene("The accountant wants the tax receipts.", scenes).scene == "tax-return"
    assert (
        choose_scene("I bought hinges and a padlock for the door.", scenes).scene == "garden-shed"
    )  # topic words + continuity
    new = choose_scene("My daughter starts violin lessons with Mrs Petrova.", scenes)
    assert new.is_new and new.scene == "daughter-violin"


def test_scene_names() -> None:
    assert scene_name("Our team migrated the billing service to Kubernetes.") == "team-kubernetes"
    assert scene_name("hello") == "general"


def test_consolidation_is_incremental_stable_and_short() -> None:
    first = consolidate("", [("fact", 0.5, "User is building a garden shed."), ("task", 0.8, "User must buy hinges.")])
    assert first == "User must buy hinges. User is building a garden shed."
    second = consolidate(
        first, [("fact", 0.5, "User is building a garden shed!"), ("plan", 0.6, "The roof goes on in May.")]
    )
    assert second == first + " The roof goes on in May."
    many = [("fact", 0.5, f"Observation {i} about the garden shed and its pine walls.") for i in range(30)]
    long = consolidate(second, many)
    assert len(long.split()) < 100
    assert long.startswith("User must buy hinges.")  # the most salient sentence survives


def test_engine_consolidation_reply_covers_every_scene() -> None:
    request = consolidate_request({"a": ("", [NewCell("a", "fact", 0.5, "Alpha fact.")]), "b": ("Old.", [])})
    reply = json.loads(OfflineEngine().complete(request))
    assert reply == {"summaries": [{"scene": "a", "summary": "Alpha fact."}, {"scene": "b", "summary": "Old."}]}


def test_answers_come_from_recalled_memory() -> None:
    engine = OfflineEngine()
    hit = Hit(1, "kitchen", "fact", 0.6, "The kitchen budget is 15,000 euros.", None, None, 3.2)
    assert engine.complete(answer_request("What is the kitchen budget?", [hit], [])) == (
        "From memory: The kitchen budget is 15,000 euros."
    )
    assert (
        engine.complete(answer_request("What is my dog called?", [], [])) == "I have nothing in memory about that yet."
    )
    assert engine.complete(answer_request("I prefer oak cabinets.", [hit], [])) == (
        "Noted: you prefer oak cabinets. Related memory: The kitchen budget is 15,000 euros."
    )


def test_engine_is_deterministic() -> None:
    request = extract_request([Utterance("User", "We decided to paint the hall green.")], [])
    assert len({OfflineEngine().complete(request) for _ in range(5)}) == 1


def test_one_shared_common_word_does_not_pull_a_new_topic_into_the_last_scene() -> None:
    kitchen = (
        "kitchen-flat",
        "Maya is renovating the kitchen; the budget is 12,000 euros. Tomas builds the oak cabinets. "
        "The order of work matters: plumbing first, cabinets next, the countertop last.",
    )
    choice = choose_scene("Work is hectic. The quarterly sales report for the client is due on Friday.", [kitchen])
    assert choice.is_new


def test_a_shared_name_joins_a_scene_that_is_not_the_last() -> None:
    scenes = [("knee", "Knee pain after the downhill run."), ("lisbon", "A trip to Lisbon in May with Ines.")]
    assert choose_scene("Ines is vegetarian, so we need good restaurants.", scenes).scene == "lisbon"


def test_a_message_naming_no_topic_stays_in_the_last_scene() -> None:
    scenes = [("pool-swimming", "Maya swims at the pool on Tuesdays."), ("kitchen", "Oak cabinets.")]
    assert choose_scene("Early lanes are usually quiet, a good time for steady lengths.", scenes).scene == (
        "pool-swimming"
    )


def test_scene_matching_uses_recent_cells_beyond_the_summary() -> None:
    def scene_for(profiles: dict[str, str] | None) -> str:
        request = extract_request(
            [Utterance("User", "The tiler starts on the bathroom walls on Monday.")],
            [Scene("weekend-notes", "A summary that lost its details.", "2026-01-01T00:00:00+00:00", 3, "default")],
            profiles=profiles,
        )
        (cell,) = json.loads(OfflineEngine().complete(request))["cells"]
        return str(cell["scene"])

    assert scene_for(None) == "tiler-bathroom"  # the summary alone says nothing of bathrooms
    assert scene_for({"weekend-notes": "The bathroom tiles are grey. The tiler is called Jan."}) == "weekend-notes"


def test_a_joint_subject_keeps_its_verb() -> None:
    assert (
        rewrite_person("My sister and I are flying to Lisbon.", "Maya")
        == "Maya's sister and Maya are flying to Lisbon."
    )
    assert rewrite_person("I went home and I usually cook.", "Maya") == "Maya went home and Maya usually cooks."


def test_the_engines_memory_reports_are_not_stored_again(db) -> None:  # type: ignore[no-untyped-def]
    from memkit import MemoryManager, WorkerAgent

    agent = WorkerAgent(db, MemoryManager(db))
    agent.answer("The kitchen budget is 12,000 euros.")
    assert agent.answer("What is the kitchen budget?").startswith("From memory:")
    agent.answer("We also want a new oven.")
    assert [c.content for c in db.list_cells()] == ["The kitchen budget is 12,000 euros.", "We also want a new oven."]


def test_a_sentence_leaning_on_the_one_before_joins_it() -> None:
    cells = extract("We had to say goodbye to our dog Max. He was part of the family for ten years.")
    assert [c["content"] for c in cells] == [
        "We had to say goodbye to our dog Max. He was part of the family for ten years."
    ]


@pytest.mark.parametrize(
    "sentence",
    ["Long time no see!", "You've got this!", "You're gonna make a huge difference!", "Wow, that is so cool!"],
)
def test_exclamations_that_say_nothing_of_the_speaker_are_small_talk(sentence: str) -> None:
    assert extract(sentence) == []


@pytest.mark.parametrize(
    "sentence", ["I ran my first 10k today!", "Ana got the job at Zeiss!", "You moved my keys again!"]
)
def test_exclamations_with_news_are_kept(sentence: str) -> None:
    assert len(extract(sentence)) == 1


def test_the_extraction_prompt_shows_a_brief_of_each_summary() -> None:
    long = " ".join(f"Sentence {i} about the garden shed." for i in range(20))
    request = extract_request([Utterance("User", "The shed roof leaks.")], [Scene("shed", long, "t", 3, "default")])
    line = next(x for x in request.messages[1].content.splitlines() if x.startswith("- shed:"))
    assert len(line.split()) == 2 + 30 + 1 and line.endswith("…")
    assert request.data["scenes"][0][1] == long  # the offline engine still gets the whole summary


def test_in_a_transcript_each_cell_says_who_said_it() -> None:
    def cells(speaker: str, text: str) -> list[str]:
        request = extract_request([Utterance(speaker, text)], [])
        return [c["content"] for c in json.loads(OfflineEngine().complete(request))["cells"]]

    assert cells("Melanie", "The kids loved the pottery class. I signed up for the spring course.") == [
        "Melanie: The kids loved the pottery class.",
        "Melanie signed up for the spring course.",
    ]
    assert cells("User", "The kids loved the pottery class.") == ["The kids loved the pottery class."]
