"""The conversation the course is built on, with questions whose answers it holds.

Nine dated chat sessions between Maya and her assistant: a kitchen
renovation, a client report at work, a knee injury, a trip to Lisbon. Topics
start, come back and change; one preference changes (the cabinet fronts)
and one plan is cancelled (the hike). Each question names the ids of the
messages that hold its answer, so retrieval can be measured against them
(see :mod:`memkit.evaluation`).

>>> from memkit.datasets import load_course_conversation
>>> conversation = load_course_conversation()
>>> conversation.messages[0].source_id, conversation.questions[0].evidence
('m01', ('m01',))
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from .errors import DatasetError
from .types import Utterance

__all__ = [
    "QUESTION_KINDS",
    "CourseConversation",
    "DatasetError",
    "Question",
    "conversation_from_dict",
    "load_conversation",
    "load_course_conversation",
]

#: What a question tests: a plain fact, something that changed later, a plan that was cancelled.
QUESTION_KINDS: tuple[str, ...] = ("fact", "changed", "cancelled")

_COURSE_FILE = "course_conversation.json"


@dataclass(frozen=True)
class Question:
    """A question about a conversation, its answer and the ids of the messages that hold it."""

    question: str
    answer: str
    evidence: tuple[str, ...]
    kind: str = "fact"
    #: For a question whose answer changed: what the answer was before (a reply that gives it is stale).
    stale: str | None = None


@dataclass(frozen=True)
class CourseConversation:
    """A dated conversation and questions about it."""

    title: str
    messages: tuple[Utterance, ...]
    questions: tuple[Question, ...]
    #: Questions the conversation does not answer: the right reply is that memory does not hold it.
    unanswerable: tuple[Question, ...] = ()

    def message(self, message_id: str) -> Utterance:
        """The message with this id.

        :raises KeyError: no message has that id.
        """
        for message in self.messages:
            if message.source_id == message_id:
                return message
        raise KeyError(f"no message with id {message_id!r}; ids run from {self.messages[0].source_id!r}")

    def sessions(self) -> list[tuple[Utterance, ...]]:
        """The messages grouped by the day they were sent, in order."""
        days: dict[str, list[Utterance]] = {}
        for message in self.messages:
            days.setdefault((message.occurred_at or "")[:10], []).append(message)
        return [tuple(group) for group in days.values()]


def _text(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise DatasetError(f"{where} needs a non-empty string {key!r}, got {value!r}")
    return value


def _parse(data: Any, source: str) -> CourseConversation:
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise DatasetError(f"{source}: expected an object with a 'messages' list and a 'questions' list")
    messages: list[Utterance] = []
    seen: set[str] = set()
    previous: datetime | None = None
    for index, item in enumerate(data["messages"]):
        where = f"{source}: message {index}"
        if not isinstance(item, dict):
            raise DatasetError(f"{where} must be an object with id, speaker, time and text")
        message_id = _text(item, "id", where)
        if message_id in seen:
            raise DatasetError(f"{where} repeats the id {message_id!r}; message ids must be unique")
        seen.add(message_id)
        time = _text(item, "time", where)
        try:
            moment = datetime.fromisoformat(time)
        except ValueError:
            raise DatasetError(f"{where} has time {time!r}, which is not ISO 8601 (2024-03-04T19:02:00)") from None
        if previous is not None and moment < previous:
            raise DatasetError(f"{where} ({message_id}) is dated {time}, before the message it follows")
        previous = moment
        messages.append(Utterance(_text(item, "speaker", where), _text(item, "text", where), message_id, time))
    questions: list[Question] = []
    for index, item in enumerate(data.get("questions", [])):
        where = f"{source}: question {index}"
        if not isinstance(item, dict):
            raise DatasetError(f"{where} must be an object with question, answer and evidence")
        evidence = item.get("evidence")
        if not isinstance(evidence, list) or not evidence or not all(isinstance(e, str) for e in evidence):
            raise DatasetError(f"{where} needs 'evidence': a non-empty list of message ids")
        unknown = [e for e in evidence if e not in seen]
        if unknown:
            raise DatasetError(f"{where} cites message ids that do not exist: {unknown}")
        kind = item.get("kind", "fact")
        if kind not in QUESTION_KINDS:
            raise DatasetError(f"{where} has kind {kind!r}; use one of {', '.join(QUESTION_KINDS)}")
        stale = item.get("stale")
        if stale is not None and (not isinstance(stale, str) or not stale.strip()):
            raise DatasetError(f"{where} has 'stale' {stale!r}; give the earlier answer as a string, or leave it out")
        questions.append(
            Question(_text(item, "question", where), _text(item, "answer", where), tuple(evidence), kind, stale)
        )
    unanswerable: list[Question] = []
    for index, item in enumerate(data.get("unanswerable", [])):
        where = f"{source}: unanswerable question {index}"
        if not isinstance(item, dict):
            raise DatasetError(f"{where} must be an object with a question")
        if item.get("evidence"):
            raise DatasetError(f"{where} cites evidence; a question the conversation answers belongs in 'questions'")
        unanswerable.append(Question(_text(item, "question", where), "Nothing in the conversation says.", ()))
    return CourseConversation(str(data.get("title", "")), tuple(messages), tuple(questions), tuple(unanswerable))


def conversation_from_dict(data: Any, source: str = "your conversation") -> CourseConversation:
    """A conversation written as data in the course's format (the JSON file's content), checked as a file is.

    :raises DatasetError: an id repeats, a time is out of order, or a question cites a message that does not exist.
    """
    return _parse(data, source)


def load_conversation(path: str | os.PathLike[str]) -> CourseConversation:
    """Read a conversation in the course's JSON format and check it.

    :raises DatasetError: the file is not JSON, an id repeats, a time is out
        of order, or a question cites a message that does not exist.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{os.fspath(path)!r} is not valid JSON: {exc}") from exc
    return _parse(data, os.path.basename(os.fspath(path)))


def load_course_conversation() -> CourseConversation:
    """The conversation shipped with memkit for the course (52 messages, 23 questions)."""
    text = resources.files("memkit").joinpath("data", _COURSE_FILE).read_text(encoding="utf-8")
    return _parse(json.loads(text), _COURSE_FILE)
