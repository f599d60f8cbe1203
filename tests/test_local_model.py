"""Opt-in: the course against a real model on this machine (skipped unless MEMKIT_LOCAL_MODEL=1).

    eval "$(tools/local_model.sh)"      # builds llama-server once, starts SmolLM2-135M, sets MEMKIT_*
    MEMKIT_LOCAL_MODEL=1 python -m pytest tests/test_local_model.py -s

Runs chapter 1 and a 20-message ingest against the server ``MEMKIT_BASE_URL``
names. It asserts only that nothing is lost (every message is logged, and each
exchange is either processed or kept for ``retry_failed()``) and that every
JSON reply the server finished under a schema (``json_schema`` mode) validates
against it; never the quality of what the model extracted. It prints the time
per turn and the share of valid replies.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import nbformat
import pytest
from nbclient import NotebookClient

import memkit
from memkit import prompts

ROOT = Path(__file__).resolve().parent.parent
#: Read when the module is imported, before the autouse fixture clears the environment.
SETTINGS = {name: os.environ.get(name) for name in ("MEMKIT_BACKEND", "MEMKIT_BASE_URL", "MEMKIT_MODEL")}
MESSAGES = 20

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("MEMKIT_LOCAL_MODEL") != "1" or not SETTINGS["MEMKIT_BASE_URL"],
        reason="opt-in: start a model server with tools/local_model.sh and set MEMKIT_LOCAL_MODEL=1",
    ),
    pytest.mark.timeout(7200),  # a small model on one CPU thread takes minutes per chapter
]

_SCENE = re.compile(r'<scene name="([^"]+)">')
#: What the kernel prints at the end of chapter 1: its exchanges and model calls.
_REPORT = """
import json
print("MEMKIT-REPORT " + json.dumps({
    "exchanges": [len(d.sql("SELECT id FROM mem_exchanges")) for d in (db, db2)],
    "calls": [[c.task, c.prompt, c.response, c.finish_reason, c.json_mode]
              for c in manager.calls.calls + agent2.manager.calls.calls],
}))
"""
#: A model call: task, prompt, reply, finish reason, JSON mode.
Call = tuple[str, str, str, "str | None", "str | None"]


@pytest.fixture
def model_server(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SETTINGS.items():
        if value:
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("MEMKIT_TIMEOUT", "600")
    Path(os.environ["HOME"]).mkdir(exist_ok=True)  # the kernel writes its settings there


def _schema(task: str, prompt: str) -> dict[str, Any]:
    """The schema a call asked for (a consolidation's names its scenes)."""
    if task == "extract":
        return dict(prompts.EXTRACT_SCHEMA["schema"])
    request = prompts.consolidate_request({name: ("", ()) for name in _SCENE.findall(prompt)})
    assert request.json_schema is not None
    return dict(request.json_schema["schema"])


def _tally(calls: Iterable[Call]) -> dict[str, Counter[str]]:
    """Per JSON task, how many replies were: all, valid, cut off, and finished under a schema but invalid."""
    tallies: dict[str, Counter[str]] = {}
    for task, prompt, response, finish, mode in calls:
        if task not in ("extract", "consolidate"):
            continue
        tally = tallies.setdefault(task, Counter())
        tally["replies"] += 1
        if finish == "length":
            tally["cut off"] += 1
            continue
        try:
            jsonschema.validate(json.loads(response), _schema(task, prompt))
            tally["valid"] += 1
        except (ValueError, jsonschema.ValidationError):
            tally["invalid under json_schema" if mode == "json_schema" else "invalid"] += 1
    return tallies


def _check(what: str, seconds: float, turns: int, calls: list[Call]) -> None:
    """Print the figures; fail if a reply the server finished under the schema does not validate."""
    answers = [c for c in calls if c[0] == "answer"]
    print(f"\n{what}: {turns} turns in {seconds:.0f} s, {seconds / turns:.1f} s per turn, {len(calls)} model calls")
    tallies = _tally(calls)
    for task, tally in tallies.items():
        print(f"  {task}: {tally['valid']}/{tally['replies']} valid, {dict(tally)}")
    print(f"  answer: {len(answers)} replies")
    assert all(tally["invalid under json_schema"] == 0 for tally in tallies.values())


@pytest.mark.usefixtures("model_server")
def test_chapter_1_loses_nothing_and_its_json_validates() -> None:
    path = ROOT / "notebooks" / "01-first-look.ipynb"
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(_REPORT))
    client = NotebookClient(
        notebook, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    started = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - started
    text = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    report = json.loads(text.split("MEMKIT-REPORT ", 1)[1])
    assert report["exchanges"] == [4, 1]  # three messages and a question, then one message: every one logged
    _check("chapter 1", seconds, 5, [tuple(call) for call in report["calls"]])


@pytest.mark.usefixtures("model_server")
def test_an_ingest_loses_nothing_and_its_json_validates() -> None:
    messages = memkit.load_course_conversation().messages[:MESSAGES]
    db = memkit.MemoryDB()
    manager = memkit.MemoryManager(db)
    assert isinstance(manager.llm, memkit.OpenAIBackend)
    started = time.perf_counter()
    result = manager.ingest(messages, progress=False)
    seconds = time.perf_counter() - started
    logged = db.sql("SELECT id, status FROM mem_exchanges ORDER BY id")
    assert len(logged) == MESSAGES
    kept = {exchange_id for exchange_id, _ in result.failed}
    assert {row["id"] for row in logged if row["status"] != "done"} == kept  # each kept for retry_failed()
    calls: list[Call] = [(c.task, c.prompt, c.response, c.finish_reason, c.json_mode) for c in manager.calls.calls]
    _check(f"ingest ({len(kept)} of {MESSAGES} messages kept for retry_failed)", seconds, MESSAGES, calls)
