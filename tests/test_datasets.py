"""The course conversation: consistent ids, evidence and times, and a loader that says what is wrong."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from memkit import DatasetError, MemoryDB, MemoryManager
from memkit.datasets import (
    QUESTION_KINDS,
    CourseConversation,
    Question,
    conversation_from_dict,
    load_conversation,
    load_course_conversation,
)
from memkit.types import Utterance


@pytest.fixture(scope="module")
def course() -> CourseConversation:
    return load_course_conversation()


def test_size_and_shape(course: CourseConversation) -> None:
    assert course.title == "Maya's spring"
    assert len(course.messages) == 52
    assert len(course.questions) == 23
    assert {m.speaker for m in course.messages} == {"Maya", "Assistant"}
    assert course.messages[0] == Utterance(
        "Maya",
        "Hi! I'm finally renovating the kitchen in my flat in Leipzig. "
        "The budget is 12,000 euros, appliances included.",
        "m01",
        "2024-03-04T19:02:00",
    )
    assert course.questions[0] == Question(
        "What is the budget for the kitchen renovation?", "12,000 euros, appliances included.", ("m01",), "fact"
    )


def test_ids_are_unique_and_evidence_exists(course: CourseConversation) -> None:
    ids = [m.source_id for m in course.messages]
    assert len(set(ids)) == len(ids)
    cited = {e for q in course.questions for e in q.evidence}
    assert cited <= set(ids)
    assert all(q.evidence for q in course.questions)


def test_times_are_ordered_and_span_several_sessions(course: CourseConversation) -> None:
    times = [datetime.fromisoformat(m.occurred_at or "") for m in course.messages]
    assert times == sorted(times)
    sessions = course.sessions()
    assert [s[0].occurred_at for s in sessions] == [
        "2024-03-04T19:02:00",
        "2024-03-06T12:31:00",
        "2024-03-11T20:15:00",
        "2024-03-15T08:40:00",
        "2024-03-19T18:20:00",
        "2024-03-22T13:05:00",
        "2024-03-27T17:45:00",
        "2024-04-03T21:10:00",
        "2024-04-12T19:30:00",
    ]
    assert sum(len(s) for s in sessions) == len(course.messages)


def test_a_preference_changes_and_a_plan_is_cancelled(course: CourseConversation) -> None:
    kinds = {q.kind for q in course.questions}
    assert kinds == set(QUESTION_KINDS)
    (cancelled,) = [q for q in course.questions if q.kind == "cancelled"]
    assert cancelled.evidence == ("m15", "m35")
    assert "cancelled the Dolomites hike" in course.message("m35").text
    assert "prefer oak" in course.message("m23").text and "white lacquer" in course.message("m03").text


def test_message_lookup_names_a_missing_id(course: CourseConversation) -> None:
    assert course.message("m52").speaker == "Assistant"
    with pytest.raises(KeyError, match="no message with id 'm99'"):
        course.message("m99")


def test_every_evidence_message_leaves_a_cell_offline(course: CourseConversation) -> None:
    db = MemoryDB()
    MemoryManager(db).ingest(course.messages, progress=False)
    stored = {cell.source_id for cell in db.list_cells(include_history=True)}
    missing = sorted({e for q in course.questions for e in q.evidence} - stored)
    assert missing == []
    # the changed preference, the report handed in and the cancelled plan are kept as history
    replaced = [(c.source_id, c.status) for c in db.list_cells(include_history=True) if c.status != "current"]
    assert replaced == [("m03", "superseded"), ("m07", "superseded"), ("m15", "superseded")]


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "conversation.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _message(mid: str, time: str = "2024-01-01T10:00:00") -> dict[str, str]:
    return {"id": mid, "speaker": "Ana", "time": time, "text": "Hello there."}


def test_load_conversation_reads_a_valid_file(tmp_path: Path) -> None:
    data = {
        "title": "tiny",
        "messages": [_message("a"), _message("b", "2024-01-01T10:05:00")],
        "questions": [{"question": "Q?", "answer": "A.", "evidence": ["b"]}],
    }
    conversation = load_conversation(_write(tmp_path, data))
    assert conversation == CourseConversation(
        "tiny",
        (
            Utterance("Ana", "Hello there.", "a", "2024-01-01T10:00:00"),
            Utterance("Ana", "Hello there.", "b", "2024-01-01T10:05:00"),
        ),
        (Question("Q?", "A.", ("b",), "fact"),),
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected an object with a 'messages' list"),
        ({"messages": [_message("a"), _message("a")]}, "repeats the id 'a'"),
        ({"messages": [_message("a", "2024-01-02T00:00:00"), _message("b")]}, r"\(b\) is dated .* before"),
        ({"messages": [_message("a", "yesterday")]}, "not ISO 8601"),
        ({"messages": [{"id": "a", "speaker": "Ana", "time": "2024-01-01"}]}, "non-empty string 'text'"),
        (
            {"messages": [_message("a")], "questions": [{"question": "Q", "answer": "A", "evidence": ["z"]}]},
            r"do not exist: \['z'\]",
        ),
        (
            {"messages": [_message("a")], "questions": [{"question": "Q", "answer": "A", "evidence": []}]},
            "non-empty list of message ids",
        ),
        (
            {
                "messages": [_message("a")],
                "questions": [{"question": "Q", "answer": "A", "evidence": ["a"], "kind": "x"}],
            },
            "kind 'x'",
        ),
        (
            {
                "messages": [_message("a")],
                "questions": [{"question": "Q", "answer": "A", "evidence": ["a"], "stale": 3}],
            },
            "'stale' 3",
        ),
        (
            {"messages": [_message("a")], "unanswerable": [{"question": "Q", "evidence": ["a"]}]},
            "belongs in 'questions'",
        ),
    ],
)
def test_load_conversation_rejects_inconsistent_files(tmp_path: Path, data: Any, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        load_conversation(_write(tmp_path, data))


def test_a_question_may_say_its_earlier_answer_and_some_have_none(tmp_path: Path) -> None:
    data = {
        "messages": [_message("a")],
        "questions": [{"question": "Q?", "answer": "Oak.", "evidence": ["a"], "kind": "changed", "stale": "Lacquer."}],
        "unanswerable": [{"question": "Who is the dentist?"}],
    }
    conversation = load_conversation(_write(tmp_path, data))
    assert conversation.questions == (Question("Q?", "Oak.", ("a",), "changed", "Lacquer."),)
    assert conversation.unanswerable == (Question("Who is the dentist?", "Nothing in the conversation says.", ()),)


def test_the_course_says_what_changed_answers_were_and_asks_what_it_cannot_answer(
    course: CourseConversation,
) -> None:
    changed = [q for q in course.questions if q.kind in ("changed", "cancelled")]
    assert changed and all(q.stale for q in changed)
    assert all(q.stale is None for q in course.questions if q.kind == "fact")
    assert len(course.unanswerable) >= 3 and all(not q.evidence for q in course.unanswerable)


def test_load_conversation_rejects_bad_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(DatasetError, match="is not valid JSON"):
        load_conversation(path)


def test_a_conversation_written_as_data_is_checked_as_a_file_is() -> None:
    data = {"messages": [_message("a")], "questions": [{"question": "Q?", "answer": "A.", "evidence": ["a"]}]}
    assert conversation_from_dict(data).questions == (Question("Q?", "A.", ("a",), "fact"),)
    with pytest.raises(DatasetError, match=r"^my notes: question 0 cites message ids that do not exist: \['z'\]"):
        conversation_from_dict(
            {"messages": [_message("a")], "questions": [{**data["questions"][0], "evidence": ["z"]}]}, "my notes"
        )
