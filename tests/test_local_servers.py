"""The OpenAI-compatible backend against the ways local servers really behave, on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import memkit
from memkit import BackendError, BackendTimeoutError, ConfigurationError, OpenAIBackend
from memkit.cli import main
from memkit.llm import choose_backend, invoke
from memkit.prompts import answer_request, extract_request
from memkit.types import Utterance

from .chat_server import ChatServer, SilentServer

CELLS = json.dumps({"cells": [{"scene": "drinks", "cell_type": "preference", "salience": 0.6, "content": "Tea."}]})


@pytest.fixture
def server() -> Iterator[ChatServer]:
    running = ChatServer(reply=CELLS).start()
    yield running
    running.stop()


def extraction() -> memkit.LLMRequest:
    return extract_request([Utterance("User", "I prefer tea.")], [])


def formats(server: ChatServer) -> list[str | None]:
    return [(r.body.get("response_format") or {}).get("type") for r in server.requests if r.body]


# -- structured output: stepping down, and remembering what works --------------


def test_a_500_naming_the_response_format_steps_down_to_json_mode(server: ChatServer) -> None:
    server.refuse, server.refuse_status = {"json_schema"}, 500  # llama-cpp-python's server
    backend = OpenAIBackend("m", base_url=server.base_url, max_retries=2)
    assert json.loads(backend.complete(extraction())) == json.loads(CELLS)
    backend.complete(extraction())
    assert formats(server) == ["json_schema", "json_object", "json_object"]


def test_any_5xx_on_first_use_steps_down_but_not_once_a_level_worked(server: ChatServer) -> None:
    server.status, server.fail_first = 503, 1
    backend = OpenAIBackend("m", base_url=server.base_url, max_retries=2)
    backend.complete(extraction())
    assert formats(server) == ["json_schema", "json_object"]
    server.fail_first = 0  # now every request fails: the server is down, not refusing a format
    with pytest.raises(BackendError, match="HTTP 503"):
        backend.complete(extraction())
    assert set(formats(server)[2:]) == {"json_object"}


def test_a_level_that_never_worked_is_not_remembered(server: ChatServer) -> None:
    server.status = 500
    backend = OpenAIBackend("m", base_url=server.base_url, max_retries=0)
    with pytest.raises(BackendError, match="HTTP 500"):
        backend.complete(extraction())
    server.status = 200
    backend.complete(extraction())
    assert formats(server)[-1] == "json_schema"


# -- what the server said about its reply ---------------------------------------


def test_the_reply_carries_finish_reason_mode_model_and_usage(server: ChatServer) -> None:
    server.refuse, server.answered_by, server.usage = {"json_schema"}, "smollm2-135m", (321, 45)
    server.replies = [(CELLS, "length"), (CELLS, "stop")]
    log = memkit.CallLog()
    invoke(OpenAIBackend("m", base_url=server.base_url, max_retries=0), extraction(), log)
    first, second = log.calls[-2:]
    assert (first.finish_reason, first.json_mode, first.model) == ("length", "json_object", "smollm2-135m")
    assert (first.server_prompt_tokens, first.server_response_tokens) == (321, 45)
    assert second.finish_reason == "stop"


# -- timeouts: settable everywhere, and the real wait is stated ------------------


def test_timeout_message_states_the_whole_wait_and_how_to_raise_it(server: ChatServer) -> None:
    server.delay = 1.0
    backend = OpenAIBackend("m", base_url=server.base_url, timeout=0.2, max_retries=1)
    with pytest.raises(BackendTimeoutError) as caught:
        backend.complete(answer_request("hi", [], []))
    message = str(caught.value)
    assert "2 attempts" in message and "MEMKIT_TIMEOUT" in message


def test_timeout_from_the_environment_argument_cli_and_magic(monkeypatch: pytest.MonkeyPatch) -> None:
    from memkit.cli import build_parser
    from memkit.magics import MemkitMagics

    monkeypatch.setenv("MEMKIT_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("MEMKIT_MODEL", "m")
    monkeypatch.setenv("MEMKIT_TIMEOUT", "123")
    backend = choose_backend()
    assert isinstance(backend, OpenAIBackend) and backend.timeout == 123
    assert choose_backend(timeout=7).timeout == 7  # type: ignore[attr-defined]
    assert build_parser().parse_args(["demo", "--timeout", "42"]).timeout == 42
    magics = MemkitMagics(None)  # type: ignore[arg-type]
    magics.memkit("backend openai --base-url http://127.0.0.1:9/v1 --model m --timeout 42")
    assert magics.session.backend.timeout == 42  # type: ignore[attr-defined]
    monkeypatch.setenv("MEMKIT_TIMEOUT", "soon")
    with pytest.raises(ConfigurationError, match="MEMKIT_TIMEOUT"):
        choose_backend()


# -- settings that are wrong say so ----------------------------------------------


def test_unknown_backend_in_the_environment_is_a_clean_cli_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MEMKIT_BACKEND", "ollama")
    assert main(["demo"]) != 0
    err = capsys.readouterr().err
    assert "MEMKIT_BACKEND" in err and "Traceback" not in err


@pytest.mark.parametrize("url", ["localhost:8080/v1", "127.0.0.1:8080", "ftp://example.org/v1"])
def test_a_base_url_without_http_scheme_says_what_is_missing(url: str) -> None:
    with pytest.raises(ConfigurationError, match="http://"):
        OpenAIBackend("m", base_url=url)


def test_https_to_a_plain_http_server_says_to_use_http(server: ChatServer) -> None:
    url = server.base_url.replace("http://", "https://")
    with pytest.raises(BackendError, match="http://"):
        OpenAIBackend("m", base_url=url, timeout=2, max_retries=0).complete(extraction())


def test_a_tls_handshake_nobody_answers_fails_fast_and_says_to_use_http() -> None:
    silent = SilentServer()
    try:
        backend = OpenAIBackend("m", base_url=f"https://127.0.0.1:{silent.port}/v1", timeout=0.5, max_retries=0)
        with pytest.raises(BackendError, match="http://"):
            backend.complete(extraction())
    finally:
        silent.stop()
    slow = OpenAIBackend("m", base_url="https://example.invalid/v1", timeout=600)
    assert slow.connect_timeout <= 10  # a handshake is given seconds, a reply the whole timeout


def test_without_a_model_name_a_local_server_is_asked_which_it_serves(server: ChatServer) -> None:
    server.models = ["smollm2-135m"]
    backend = OpenAIBackend(base_url=server.base_url, max_retries=0)
    backend.complete(extraction())
    assert server.requests[-1].body["model"] == "smollm2-135m"
    assert "smollm2-135m" in backend.describe()


def test_a_server_that_lists_no_models_gets_a_warning(server: ChatServer) -> None:
    backend = OpenAIBackend(base_url=server.base_url, max_retries=0)
    with pytest.warns(UserWarning, match="MEMKIT_MODEL"):
        backend.complete(extraction())
    server.models = ["a", "b"]
    with pytest.warns(UserWarning, match="MEMKIT_MODEL"):
        OpenAIBackend(base_url=server.base_url, max_retries=0).complete(extraction())
    assert server.requests[-1].body["model"] == "a"


def test_the_calls_table_and_the_chat_box_show_what_the_server_said(db: memkit.MemoryDB, server: ChatServer) -> None:
    from memkit.views import calls_df
    from memkit.widgets import ChatBox

    server.answered_by, server.usage = "smollm2-135m", (321, 45)
    agent = memkit.WorkerAgent(memkit.MemoryManager(db, OpenAIBackend("m", base_url=server.base_url)))
    chat = ChatBox(agent)
    chat.send("I prefer tea.")
    table = calls_df(agent.calls)
    row = table[table.task == "extract"].iloc[0]
    assert (row.finish_reason, row.json_mode, row.model) == ("stop", "json_schema", "smollm2-135m")
    assert (row.server_prompt_tokens, row.server_response_tokens) == (321, 45)
    tab = chat.tables["LLM calls"].value
    assert "json_schema" in tab and "smollm2-135m" in tab and "321" in tab
    chat.close()


# -- bounded schemas: a small model under a grammar cannot write past its budget -------


def _unbounded(schema: object, where: str = "") -> list[str]:
    """Paths of the strings without maxLength, arrays without maxItems and number ranges a grammar cannot hold."""
    if isinstance(schema, list):
        return [path for i, item in enumerate(schema) for path in _unbounded(item, f"{where}[{i}]")]
    if not isinstance(schema, dict):
        return []
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    found = []
    if "string" in kinds and "enum" not in schema and "maxLength" not in schema:
        found.append(where)
    if "array" in kinds and "maxItems" not in schema:
        found.append(where)
    if "number" in kinds and "enum" not in schema and ("minimum" in schema or "maximum" in schema):
        found.append(where)  # grammars (llama.cpp's) bound integers and enums, not numbers
    return found + [path for key, value in schema.items() for path in _unbounded(value, f"{where}/{key}")]


def _longest(schema: dict[str, object]) -> object:
    """The longest reply a schema allows: every array full, every string at its maxLength."""
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if "enum" in schema:
        return max(schema["enum"], key=lambda v: len(json.dumps(v)))  # type: ignore[arg-type]
    if kind == "object":
        return {k: _longest(v) for k, v in schema["properties"].items()}  # type: ignore[attr-defined]
    if kind == "array":
        return [_longest(schema["items"])] * schema["maxItems"]  # type: ignore[arg-type,operator]
    if kind == "string":
        return "word " * (int(schema["maxLength"]) // 5)  # type: ignore[call-overload]
    return 0.123


@pytest.mark.parametrize(
    "request_",
    [
        extraction(),
        memkit.prompts.consolidate_request({"kitchen": ("", ())}),
        memkit.prompts.consolidate_request({f"scene-{i}-with-a-long-name": ("", ()) for i in range(5)}),
    ],
)
def test_reply_schemas_are_bounded_and_fit_the_token_budget(request_: memkit.LLMRequest) -> None:
    assert request_.json_schema is not None
    schema = request_.json_schema["schema"]
    assert _unbounded(schema) == []
    longest = json.dumps(_longest(schema))
    assert len(longest) / 3 <= request_.max_tokens  # BPE tokens average more than 3 characters
