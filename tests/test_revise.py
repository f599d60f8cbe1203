"""The offline engine's rules for repeats, changes, opposites, details and links."""

from __future__ import annotations

import json

import pytest

from memkit import Cell, OfflineEngine, Utterance
from memkit.llm.offline.revise import decide
from memkit.prompts import extract_request

MEMORY = [
    (1, "fact", "home", "Ana lives in Lisbon."),
    (2, "preference", "food", "Ana prefers coffee in the morning."),
    (3, "plan", "travel", "Ana plans a trip to Porto in May."),
    (4, "fact", "tech", "The team uses Postgres for the backend."),
    (5, "fact", "money", "The kitchen budget is 15,000 euros."),
    (6, "fact", "food", "Ana eats meat every day."),
    (7, "task", "work", "Ana needs to renew the gym membership."),
    (8, "plan", "study", "Ana will defend the thesis in June."),
]


def action(sentence: str, cell_type: str = "fact", content: str | None = None) -> tuple[str, int | None]:
    found = decide(
        sentence, content or sentence.replace("I ", "Ana ").replace("my ", "Ana's "), cell_type, MEMORY, exclude=["Ana"]
    )
    return found.get("action", "add"), found.get("target")


@pytest.mark.parametrize(
    ("sentence", "cell_type", "expected"),
    [
        # a cue naming the old value
        ("I moved from Lisbon to Berlin.", "fact", ("update", 1)),
        ("We switched from Postgres to SQLite for the backend.", "decision", ("update", 4)),
        ("We'll use SQLite instead of Postgres.", "decision", ("update", 4)),
        ("We replaced Postgres with SQLite.", "decision", ("update", 4)),
        # a replacement cue, the target found by subject or topic
        ("I switched to green tea.", "decision", ("update", 2)),
        ("I changed my mind: the thesis defence will be in September.", "plan", ("update", 8)),
        ("The kitchen budget is now 20,000 euros.", "fact", ("update", 5)),
        ("The thesis defence was postponed to September.", "plan", ("update", 8)),
        # an ending cue
        ("The Porto trip is cancelled.", "plan", ("supersede", 3)),
        ("We called off the trip to Porto.", "plan", ("supersede", 3)),
        ("I cancelled the gym membership.", "task", ("supersede", 7)),
        ("I no longer eat meat.", "fact", ("supersede", 6)),
        ("I don't drink coffee anymore.", "preference", ("supersede", 2)),
        # an ending cue that names nothing memory holds changes nothing
        ("The concert was cancelled.", "fact", ("add", None)),
        ("I don't smoke anymore.", "fact", ("add", None)),
        # no cue: repeats, opposites, details
        ("Ana lives in Lisbon.", "fact", ("reinforce", 1)),
        ("I prefer coffee in the morning.", "preference", ("reinforce", 2)),
        ("Ana lives in Lisbon", "fact", ("reinforce", 1)),
        ("The team uses Postgres.", "fact", ("reinforce", 4)),
        ("Ana does not live in Lisbon.", "fact", ("supersede", 1)),
        ("The team uses Postgres 16 with pgvector for the backend.", "fact", ("update", 4)),
        # the same statement with other numbers is a new value
        ("The kitchen budget is 20,000 euros.", "fact", ("update", 5)),
        ("Ana's kitchen budget: 15,000 euros.", "fact", ("reinforce", 5)),
        # unrelated
        ("My sister plays the cello.", "fact", ("add", None)),
    ],
)
def test_decisions_follow_visible_rules(sentence: str, cell_type: str, expected: tuple[str, int | None]) -> None:
    assert action(sentence, cell_type) == expected


def test_reasons_say_which_rule_and_which_words() -> None:
    assert decide(
        "I moved from Lisbon to Berlin.", "Ana moved from Lisbon to Berlin.", "fact", MEMORY, exclude=["Ana"]
    ) == {
        "action": "update",
        "target": 1,
        "reason": "change cue 'moved from Lisbon to' names 'lisbon' of cell 1",
    }
    assert decide("I switched to green tea.", "Ana switched to green tea.", "decision", MEMORY, exclude=["Ana"]) == {
        "action": "update",
        "target": 2,
        "reason": "change cue 'switched to' is close in topic to cell 2",
    }
    assert decide("Ana lives in Lisbon.", "Ana lives in Lisbon.", "fact", MEMORY, exclude=["Ana"])["reason"] == (
        "repeats cell 1"
    )


@pytest.mark.parametrize(
    ("sentence", "relation"),
    [
        ("The kitchen budget has a reserve of 2,000 euros.", "same-subject"),
        ("The gym is closing because the membership fees went up.", "cause"),
        ("So the thesis chapter on corals comes first.", "follows-from"),
    ],
)
def test_related_cells_are_linked(sentence: str, relation: str) -> None:
    found = decide(sentence, sentence, "fact", MEMORY, exclude=["Ana"])
    assert (found["action"], found["relation"]) == ("add", relation)


def test_nothing_listed_means_a_plain_add() -> None:
    assert decide("I moved from Lisbon to Berlin.", "Ana moved from Lisbon to Berlin.", "fact", []) == {}


def test_the_engine_reads_listed_cells_from_the_request_data_only() -> None:
    related = [
        Cell(900 + n, scene, kind, 0.5, text, None, None, "2026-01-01", "default") for n, kind, scene, text in MEMORY
    ]
    request = extract_request(
        [Utterance("Ana", "I moved from Lisbon to Berlin."), Utterance("Assistant", "Noted.")], [], related=related
    )
    prompt = request.messages[1].content
    assert "1. [fact, home] Ana lives in Lisbon." in prompt
    assert "900" not in prompt and "901" not in prompt  # short numbers, never database ids
    assert request.data["cells"][0] == (1, "fact", "home", "Ana lives in Lisbon.")
    (cell,) = json.loads(OfflineEngine().complete(request))["cells"]
    assert (cell["content"], cell["action"], cell["target"]) == ("Ana moved from Lisbon to Berlin.", "update", 1)
    plain = extract_request([Utterance("Ana", "I moved from Lisbon to Berlin.")], [])
    assert "<memory>\n(none)\n</memory>" in plain.messages[1].content
    assert "action" not in json.loads(OfflineEngine().complete(plain))["cells"][0]
