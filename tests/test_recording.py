"""Recording a backend's calls to JSON Lines and replaying them without a model."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from memkit import (
    BackendError,
    BackendTimeoutError,
    CallLog,
    ManualClock,
    MemoryDB,
    MemoryManager,
    OfflineEngine,
    OpenAIBackend,
    RecordingBackend,
    RecordingError,
    ReplayBackend,
    ReplayMismatchError,
    ScriptedBackend,
    WorkerAgent,
)
from memkit.cli import DEMO_MESSAGES
from memkit.llm import invoke
from memkit.llm.recording import redact_secrets, request_record
from memkit.prompts import answer_request
from tests.conftest import START

from .chat_server import ChatServer

SECRET = "sk-test-0123456789abcdefSECRET"
ENV_SECRET = "env-key-0123456789-ENVSECRET"


def read_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def conversation(db: MemoryDB, backend: object) -> list[str]:
    agent = WorkerAgent(MemoryManager(db, backend))  # type: ignore[arg-type]
    return [agent.answer(m) for m in (*DEMO_MESSAGES, "What should the memory system support?")]


def cells(db: MemoryDB) -> list[tuple[str, str, float, str]]:
    return [(c.scene, c.cell_type, c.salience, c.content) for c in db.list_cells()]


def test_a_recording_holds_a_header_then_every_call(tmp_path: Path) -> None:
    path = tmp_path / "talk.jsonl"
    backend = RecordingBackend(OfflineEngine(), path, note="offline demo")
    request = answer_request("hello there", [], [])
    reply = backend.complete(request)
    header, call = read_lines(path)
    assert header == {
        "kind": "memkit-recording",
        "version": 1,
        "backend": "offline",
        "description": OfflineEngine().describe(),
        "note": "offline demo",
    }
    assert call == {"kind": "call", "request": request_record(request), "response": reply}
    assert call["request"] == {
        "task": "answer",
        "messages": [m.as_dict() for m in request.messages],
        "json_schema": None,
        "temperature": 0.3,
        "max_tokens": 600,
    }
    assert backend.recorded == 1
    assert backend.name == "recording:offline"


def test_a_replayed_conversation_gives_the_same_replies_and_the_same_memory(tmp_path: Path) -> None:
    path = tmp_path / "talk.jsonl"
    with MemoryDB(clock=ManualClock(START)) as recorded_db:
        recorder = RecordingBackend(OfflineEngine(), path)
        replies = conversation(recorded_db, recorder)
        recorded_cells = cells(recorded_db)
    assert recorder.recorded == len(read_lines(path)) - 1 == 11  # 4 answers, 4 extractions, 3 consolidations

    replay = ReplayBackend(path)
    assert replay.calls == 11 and replay.unused == 11
    with MemoryDB(clock=ManualClock(START)) as replayed_db:
        assert conversation(replayed_db, replay) == replies
        assert cells(replayed_db) == recorded_cells
    assert replay.unused == 0
    assert replay.describe() == f"replay of {str(path)!r} (11 calls recorded with {OfflineEngine().describe()})"


def test_an_unmatched_request_names_the_prompt_and_where_it_differs(tmp_path: Path) -> None:
    path = tmp_path / "talk.jsonl"
    RecordingBackend(ScriptedBackend(["15,000 euros."]), path).complete(answer_request("What is the budget?", [], []))
    replay = ReplayBackend(path)
    with pytest.raises(ReplayMismatchError) as caught:
        replay.complete(answer_request("What is the kitchen budget?", [], []))
    assert isinstance(caught.value, BackendError)
    assert str(caught.value) == (
        f"{str(path)!r} holds no reply for this answer request. The prompt ends with:\n"
        "  [user] What is the kitchen budget?\n"
        "The closest recorded answer request differs in messages[1] (user):\n"
        "  recorded: 'What is the budget?'\n"
        "  asked:    'What is the kitchen budget?'\n"
        "A replay answers only the requests that were recorded: run the same cells in the same order "
        "on the same data, or record again (memkit.RecordingBackend)."
    )
    with pytest.raises(ReplayMismatchError, match="The recording has no extract request at all"):
        replay.complete(replace(answer_request("What is the budget?", [], []), task="extract"))


def test_a_fallback_answers_what_the_recording_lacks_and_the_call_log_says_so(tmp_path: Path) -> None:
    path = tmp_path / "talk.jsonl"
    RecordingBackend(ScriptedBackend(["15,000 euros."]), path).complete(answer_request("What is the budget?", [], []))
    replay = ReplayBackend(path, fallback=ScriptedBackend(["I do not know yet."]))
    log = CallLog()
    assert invoke(replay, answer_request("What is the budget?", [], []), log) == "15,000 euros."
    assert invoke(replay, answer_request("Who is the plumber?", [], []), log) == "I do not know yet."
    assert [call.model for call in log] == [None, "scripted (not recorded)"]
    assert replay.fallbacks == 1 and "what it lacks" in replay.describe()


def test_exactly_means_task_messages_schema_temperature_and_max_tokens(tmp_path: Path) -> None:
    path = tmp_path / "talk.jsonl"
    base = replace(
        answer_request("Which cabinets?", [], []),
        json_schema={"name": "reply", "schema": {"type": "object", "required": ["a"]}},
    )
    RecordingBackend(ScriptedBackend(["oak"]), path).complete(base)
    replay = ReplayBackend(path)
    same_schema_other_key_order = {"schema": {"required": ["a"], "type": "object"}, "name": "reply"}
    assert replay.complete(replace(base, json_schema=same_schema_other_key_order)) == "oak"
    assert replay.complete(replace(base, data={"text": "anything at all"})) == "oak"
    different = {
        "temperature": replace(base, temperature=0.7),
        "max_tokens": replace(base, max_tokens=10),
        "json_schema": replace(base, json_schema=None),
        "messages[0] (system)": replace(
            base, messages=(replace(base.messages[0], content="Be brief."), base.messages[1])
        ),
    }
    for field, request in different.items():
        with pytest.raises(ReplayMismatchError, match=re.escape(f"differs in {field}:")):
            replay.complete(request)
    with pytest.raises(ReplayMismatchError, match="differs in the number of messages:\n  recorded: 2\n  asked:    1"):
        replay.complete(replace(base, messages=base.messages[:1]))


def test_a_request_recorded_twice_replays_its_replies_in_order_then_the_last_again(tmp_path: Path) -> None:
    path = tmp_path / "talk.jsonl"
    recorder = RecordingBackend(ScriptedBackend(["first", "second"]), path)
    request = answer_request("Say something", [], [])
    assert [recorder.complete(request), recorder.complete(request)] == ["first", "second"]
    replay = ReplayBackend(path)
    assert [replay.complete(request) for _ in range(3)] == ["first", "second", "second"]


def test_a_failed_call_is_recorded_and_replays_as_the_same_error(tmp_path: Path) -> None:
    path = tmp_path / "talk.jsonl"
    recorder = RecordingBackend(ScriptedBackend([BackendTimeoutError("no answer within 5 s")]), path)
    request = answer_request("Anyone there?", [], [])
    with pytest.raises(BackendTimeoutError):
        recorder.complete(request)
    assert read_lines(path)[1]["error"] == {"type": "BackendTimeoutError", "message": "no answer within 5 s"}
    with pytest.raises(BackendTimeoutError, match=r"^\(replayed\) no answer within 5 s$"):
        ReplayBackend(path).complete(request)


def test_calls_through_invoke_are_logged_under_the_wrapper_names(tmp_path: Path) -> None:
    from memkit import CallLog

    log = CallLog()
    path = tmp_path / "talk.jsonl"
    invoke(RecordingBackend(OfflineEngine(), path), answer_request("hello there", [], []), log)
    invoke(ReplayBackend(path), answer_request("hello there", [], []), log)
    assert [(c.backend, c.response) for c in log.calls] == [
        ("recording:offline", "Nothing to remember there."),
        ("replay", "Nothing to remember there."),
    ]


def test_modes_new_append_and_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "talk.jsonl"
    RecordingBackend(ScriptedBackend(["one"]), path).complete(answer_request("1", [], []))
    with pytest.raises(RecordingError, match="already holds a recording; pass mode='a' to add to it"):
        RecordingBackend(ScriptedBackend(["two"]), path)
    RecordingBackend(ScriptedBackend(["two"]), path, mode="a").complete(answer_request("2", [], []))
    kinds = [line["kind"] for line in read_lines(path)]
    assert kinds == ["memkit-recording", "call", "call"]
    RecordingBackend(ScriptedBackend(["three"]), path, mode="w").complete(answer_request("3", [], []))
    assert [line.get("response") for line in read_lines(path)] == [None, "three"]
    with pytest.raises(ValueError, match="mode must be 'x' \\(new\\), 'a' \\(append\\) or 'w' \\(overwrite\\)"):
        RecordingBackend(OfflineEngine(), path, mode="r")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="is not a backend"):
        RecordingBackend(object(), path)  # type: ignore[arg-type]


def test_files_that_are_not_recordings_are_refused_with_the_line(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=r"no recording at .*; record one with memkit\.RecordingBackend"):
        ReplayBackend(tmp_path / "missing.jsonl")
    other = tmp_path / "export.jsonl"
    other.write_text('{"kind": "memkit-export", "version": 1}\n', encoding="utf-8")
    for make in (lambda: ReplayBackend(other), lambda: RecordingBackend(OfflineEngine(), other, mode="a")):
        with pytest.raises(RecordingError, match="its first line is not a 'memkit-recording' header"):
            make()
    newer = tmp_path / "newer.jsonl"
    newer.write_text('{"kind": "memkit-recording", "version": 2}\n', encoding="utf-8")
    with pytest.raises(RecordingError, match="is a version 2 recording; this memkit reads version 1: upgrade memkit"):
        ReplayBackend(newer)
    broken = tmp_path / "broken.jsonl"
    broken.write_text(
        '{"kind": "memkit-recording", "version": 1}\n\n{"kind": "call", "request": {"task": "answer"}}\n',
        encoding="utf-8",
    )
    with pytest.raises(RecordingError, match="line 3 is not a recorded call: 'messages'"):
        ReplayBackend(broken)


@pytest.fixture
def server() -> Iterator[ChatServer]:
    running = ChatServer(reply=f"Your key is {SECRET}, keep it safe.").start()
    yield running
    running.stop()


def test_keys_never_reach_a_recording(tmp_path: Path, server: ChatServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", ENV_SECRET)
    path = tmp_path / "talk.jsonl"
    model = OpenAIBackend("m", base_url=server.base_url, api_key=SECRET, use_env_key=True, max_retries=0)
    recorder = RecordingBackend(model, path)
    with MemoryDB(clock=ManualClock(START)) as db:
        agent = WorkerAgent(MemoryManager(db, recorder))
        reply = agent.answer(f"My keys are {SECRET} and {ENV_SECRET}, please remember them.")
    assert reply == f"Your key is {SECRET}, keep it safe."  # the caller still gets the real reply
    assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"  # the key was used...
    text = path.read_text(encoding="utf-8")
    assert SECRET not in text and ENV_SECRET not in text and "SECRET" not in text  # ...and never written
    assert "My keys are [redacted key] and [redacted key], please remember them." in text
    assert read_lines(path)[0]["description"] == f"OpenAI-compatible model 'm' at {server.base_url}"
    # A replay, with the key still set, redacts the request the same way, so it matches.
    replayed = ReplayBackend(path).complete(
        answer_request(f"My keys are {SECRET} and {ENV_SECRET}, please remember them.", [], [])
    )
    assert replayed == "Your key is [redacted key], keep it safe."


def test_redact_secrets() -> None:
    assert redact_secrets(f"a {SECRET} b sk-short c", ["hunter2-long"]) == "a [redacted key] b sk-short c"
    assert redact_secrets("pass hunter2-long here", ["hunter2-long", "tiny"]) == "pass [redacted key] here"
    assert redact_secrets("tiny secrets are left alone", ["tiny"]) == "tiny secrets are left alone"


def test_line_separators_inside_text_keep_a_recording_replayable(tmp_path: Path) -> None:
    """U+2028, U+2029 and U+0085 come with text pasted from web pages and word processors."""
    path = tmp_path / "talk.jsonl"
    text = "Pasted\u2028from the web\u2029and Word\x85and\rold Macs."
    RecordingBackend(ScriptedBackend([f"Reply: {text}"]), path).complete(answer_request(text, [], []))
    assert len(path.read_bytes().split(b"\n")) == 3  # the header, the call, and the end of the last line
    assert not any(mark in path.read_text(encoding="utf-8") for mark in "\u2028\u2029\x85")
    assert ReplayBackend(path).complete(answer_request(text, [], [])) == f"Reply: {text}"


def test_a_last_line_cut_short_by_a_kill_is_left_out_and_appending_starts_a_new_line(tmp_path: Path) -> None:
    path = tmp_path / "talk.jsonl"
    RecordingBackend(ScriptedBackend(["one"]), path).complete(answer_request("first", [], []))
    whole = path.read_text(encoding="utf-8")
    path.write_text(whole + '{"kind": "call", "request": {"task": "ans', encoding="utf-8")
    replay = ReplayBackend(path)
    assert replay.calls == 1 and replay.complete(answer_request("first", [], [])) == "one"
    RecordingBackend(ScriptedBackend(["two"]), path, mode="a").complete(answer_request("second", [], []))
    replay = ReplayBackend(path)
    assert replay.calls == 2 and replay.complete(answer_request("second", [], [])) == "two"
    path.write_text(whole + '{"kind": "call", "request": {"task": "ans\n' + whole.splitlines()[1] + "\n")
    with pytest.raises(RecordingError, match="line 3 is not a recorded call"):  # cut short in the middle: refused
        ReplayBackend(path)


@pytest.mark.parametrize(
    "line",
    [
        '{"kind": "call", "request": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"kind": "call", "request": {"task": "answer", "messages": [], "max_tokens": Infinity}, "response": "x"}',
        '{"kind": "call", "request": {"task": "answer", "messages": [], "max_tokens": 1e999}, "response": "x"}',
        '{"kind": "call", "request": {"task": "answer", "messages": [], "temperature": "hot"}, "response": "x"}',
        "[1, 2, 3]",
    ],
    ids=["deep nesting", "Infinity", "1e999", "a word for a number", "not an object"],
)
def test_hostile_lines_are_refused_with_their_number(tmp_path: Path, line: str) -> None:
    path = tmp_path / "talk.jsonl"
    path.write_text('{"kind": "memkit-recording", "version": 1}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(RecordingError, match="line 2 is not a recorded call"):
        ReplayBackend(path)
