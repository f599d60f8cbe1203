"""Chapters follow the environment: pointed at a model server, they call it and say so."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .chat_server import ChatServer, stub_model

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def server() -> Iterator[ChatServer]:
    running = ChatServer(reply=stub_model).start()
    yield running
    running.stop()


def _outputs(notebook: nbformat.NotebookNode) -> str:
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", "") + str(output.get("data", {}).get("text/plain", "")))
    return "\n".join(texts)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "tasks"),
    [
        ("01-first-look.ipynb", {"extract", "consolidate", "answer"}),
        ("04-memory-manager.ipynb", {"extract"}),
        ("05-worker-agent.ipynb", {"extract", "consolidate", "answer"}),
        ("06-chat-box.ipynb", {"extract", "answer"}),
        ("07-looking-at-memory.ipynb", {"extract", "consolidate"}),
        ("08-changes-and-history.ipynb", {"extract", "consolidate", "answer"}),
        ("09-links-and-the-graph.ipynb", {"extract", "consolidate", "answer"}),
        ("10-forgetting.ipynb", {"extract", "consolidate", "answer"}),
        ("11-evaluating-memory.ipynb", {"extract", "consolidate", "answer"}),
    ],
)
def test_a_chapter_pointed_at_a_model_server_calls_it(
    name: str, tasks: set[str], server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMKIT_BACKEND", "openai")
    monkeypatch.setenv("MEMKIT_BASE_URL", server.base_url)
    monkeypatch.setenv("MEMKIT_MODEL", "stub-model")
    Path(os.environ["HOME"]).mkdir(exist_ok=True)  # the kernel writes its settings there
    path = ROOT / "notebooks" / name
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    asked = {
        "extract"
        if "<conversation>" in r.body["messages"][-1]["content"]
        else "consolidate"
        if "<new_cells>" in r.body["messages"][-1]["content"]
        else "answer"
        for r in server.requests
        if r.body
    }
    assert tasks <= asked
    assert {r.body["model"] for r in server.requests if r.body} == {"stub-model"}
    assert f"'stub-model' at {server.base_url}" in _outputs(notebook)  # the chapter says which backend it uses
