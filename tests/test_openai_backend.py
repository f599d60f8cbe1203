"""The OpenAI-compatible backend against a real HTTP server on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import memkit
from memkit import (
    BackendAuthError,
    BackendConnectionError,
    BackendError,
    BackendTimeoutError,
    MemoryDB,
    MemoryManager,
    MissingKeyError,
    OpenAIBackend,
)
from memkit.llm import invoke
from memkit.prompts import answer_request, extract_request
from memkit.types import Utterance

from .chat_server import ChatServer

SECRET = "sk-test-0123456789abcdefSECRET"


@pytest.fixture
def server() -> Iterator[ChatServer]:
    running = ChatServer().start()
    yield running
    running.stop()


def extraction() -> memkit.LLMRequest:
    return extract_request([Utterance("User", "I prefer tea.")], [])


def test_plain_chat_request_and_reply(server: ChatServer) -> None:
    backend = OpenAIBackend("llama3.2", base_url=server.base_url, max_retries=0)
    reply = backend.complete(answer_request("hi", [], []))
    assert reply == "hello from the test server"
    sent = server.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.body["model"] == "llama3.2"
    assert [m["role"] for m in sent.body["messages"]] == ["system", "user"]
    assert "response_format" not in sent.body


def test_structured_output_is_requested_first(server: ChatServer) -> None:
    backend = OpenAIBackend("m", base_url=server.base_url, max_retries=0)
    backend.complete(extraction())
    fmt = server.requests[0].body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "memory_cells"
    assert fmt["json_schema"]["schema"]["required"] == ["cells"]


def test_falls_back_to_json_mode_then_text_and_remembers(server: ChatServer) -> None:
    server.refuse = {"json_schema", "json_object"}
    server.reply = 'Here you go: {"cells": [{"scene": "drinks", "cell_type": "preference", "content": "Likes tea"}]}'
    backend = OpenAIBackend("m", base_url=server.base_url, max_retries=0)
    reply = backend.complete(extraction())
    kinds = [(r.body.get("response_format") or {}).get("type") for r in server.requests]
    assert kinds == ["json_schema", "json_object", None]
    assert memkit.parse_cells(reply).cells[0].content == "Likes tea"
    backend.complete(extraction())
    assert (server.requests[-1].body.get("response_format") or {}).get("type") is None
    assert len(server.requests) == 4


def test_custom_base_url_never_receives_the_environment_key(
    server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    OpenAIBackend("m", base_url=server.base_url, max_retries=0).complete(extraction())
    assert SECRET not in server.requests[0].headers.get("authorization", "")
    OpenAIBackend("m", base_url=server.base_url, use_env_key=True, max_retries=0).complete(extraction())
    assert server.requests[1].headers["authorization"] == f"Bearer {SECRET}"


def test_explicit_key_is_sent(server: ChatServer) -> None:
    OpenAIBackend("m", base_url=server.base_url, api_key=SECRET, max_retries=0).complete(extraction())
    assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"


def test_missing_key_for_openai_says_how_to_provide_one() -> None:
    with pytest.raises(MissingKeyError, match="OPENAI_API_KEY"):
        OpenAIBackend()


def test_timeout_becomes_a_memkit_error(server: ChatServer) -> None:
    server.delay = 2.0
    backend = OpenAIBackend("m", base_url=server.base_url, timeout=0.3, max_retries=0)
    with pytest.raises(BackendTimeoutError, match=r"did not answer within 0\.3 s"):
        backend.complete(extraction())


def test_unreachable_server_becomes_a_memkit_error() -> None:
    backend = OpenAIBackend("m", base_url="http://127.0.0.1:9/v1", timeout=2, max_retries=0)
    with pytest.raises(BackendConnectionError, match="cannot reach"):
        backend.complete(extraction())


def test_auth_and_server_errors(server: ChatServer) -> None:
    server.status = 401
    backend = OpenAIBackend("m", base_url=server.base_url, api_key=SECRET, max_retries=0)
    with pytest.raises(BackendAuthError) as auth:
        backend.complete(extraction())
    server.status = 500
    with pytest.raises(BackendError, match="HTTP 500") as failure:
        backend.complete(extraction())
    for error in (auth.value, failure.value):
        assert SECRET not in str(error)


def test_key_never_in_repr_describe_log_or_database(server: ChatServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    server.reply = json.dumps(
        {"cells": [{"scene": "drinks", "cell_type": "preference", "salience": 0.6, "content": "User prefers tea."}]}
    )
    backend = OpenAIBackend("m", base_url=server.base_url, api_key=SECRET, max_retries=0)
    db = MemoryDB()
    manager = MemoryManager(db, backend)
    manager.update("I prefer tea.", "Tea it is.")
    assert SECRET not in repr(backend) and SECRET not in backend.describe() and SECRET not in repr(manager)
    assert repr(backend).endswith("key=set)")
    assert SECRET not in caplog.text
    dump = "\n".join(db._shared.conn.iterdump())
    assert SECRET not in dump
    assert all(SECRET not in call.prompt + call.response for call in manager.calls.calls)


def test_invoke_records_a_failed_call(server: ChatServer) -> None:
    server.status = 500
    backend = OpenAIBackend("m", base_url=server.base_url, max_retries=0)
    log = memkit.CallLog()
    with pytest.raises(BackendError):
        invoke(backend, extraction(), log)
    assert len(log) == 1
    assert log.calls[0].error is not None and "HTTP 500" in log.calls[0].error
