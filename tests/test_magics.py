"""The IPython extension, driven through IPython's own test shell."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.testing.globalipapp import start_ipython

import memkit
from memkit.magics import USAGE, MemkitMagics

ip: Any = start_ipython()


def origin(function: Any) -> str:
    """The class a magic comes from (IPython loads some of its own lazily, on first use)."""
    spec = getattr(function, "spec", None)  # IPython.core.magic.LazyMagic: "module:Class"
    if spec is not None:
        return str(spec)
    bound = getattr(function, "__self__", None)
    if bound is None:  # IPython.core.magic.MagicAlias, e.g. %%! for %%sx
        return repr(function)
    return f"{type(bound).__module__}:{type(bound).__name__}"


BUILTINS_BEFORE = {
    kind: {name: origin(f) for name, f in table.items()} for kind, table in ip.magics_manager.magics.items()
}
ip.run_line_magic("load_ext", "storemagic")  # %store comes from an extension IPython ships
STORE = ip.magics_manager.magics["line"]["store"]
ip.run_line_magic("load_ext", "memkit")


@pytest.fixture(autouse=True)
def fresh_memory() -> Iterator[MemkitMagics]:
    magics: MemkitMagics = ip.magics_manager.registry["MemkitMagics"]
    ip.run_line_magic("memkit", "open :memory:")
    ip.run_line_magic("memkit", "backend offline")
    magics.session.manager.calls.clear()
    yield magics
    ip.user_ns.pop("agent", None)


def run(line: str) -> Any:
    return ip.run_line_magic("memkit", line)


def test_loading_adds_two_magics_and_shadows_none_of_ipythons() -> None:
    after = ip.magics_manager.magics
    for kind, table in BUILTINS_BEFORE.items():
        for name, source in table.items():
            assert origin(after[kind][name]) == source, f"%{name} was replaced"
    assert after["line"]["store"] is STORE
    added = {(kind, name) for kind, table in after.items() for name in table if name not in BUILTINS_BEFORE[kind]}
    assert added == {("line", "memkit"), ("cell", "remember"), ("line", "store")}
    for name in ("recall", "history", "rerun", "save", "load", "reset"):
        assert origin(after["line"][name]).startswith("IPython.core.magics."), name
    assert origin(after["line"]["memkit"]) == origin(after["cell"]["remember"]) == "memkit.magics:MemkitMagics"


def test_ipythons_recall_still_recalls_input_history(capsys: pytest.CaptureFixture[str]) -> None:
    result = ip.run_cell("%recall 1")
    assert result.error_in_exec is None and result.error_before_exec is None


def test_status_says_which_memory_and_backend(capsys: pytest.CaptureFixture[str]) -> None:
    run("")
    assert capsys.readouterr().out == (
        "memory: in memory (gone when the kernel stops), namespace 'default': 0 cells in 0 scenes\n"
        f"backend: {memkit.OfflineEngine().describe()}\n"
    )
    run("help")
    assert capsys.readouterr().out == USAGE + "\n"


def test_remember_cell_magic_stores_the_cells_text_as_memory(capsys: pytest.CaptureFixture[str]) -> None:
    result = ip.run_cell("%%remember\nI prefer oak cabinets over white lacquer.\nThe kitchen budget is 15,000 euros.\n")
    assert result.error_in_exec is None
    assert capsys.readouterr().out == (
        "remembered 2 cells in 'oak-cabinets':\n"
        "  #1 preference (0.55): User prefers oak cabinets over white lacquer.\n"
        "  #2 fact (0.60): The kitchen budget is 15,000 euros.\n"
    )
    ip.run_cell("%%remember --speaker Maya\nHi!\n")
    assert capsys.readouterr().out == (
        "nothing to remember in that text (no statement the memory manager could keep)\n"
    )
    cells = run("cells")
    assert cells[["id", "scene", "cell_type", "content"]].to_dict("records") == [
        {
            "id": 1,
            "scene": "oak-cabinets",
            "cell_type": "preference",
            "content": "User prefers oak cabinets over white lacquer.",
        },
        {"id": 2, "scene": "oak-cabinets", "cell_type": "fact", "content": "The kitchen budget is 15,000 euros."},
    ]
    scenes = run("scenes")
    assert scenes[["scene", "summary", "cell_count"]].to_dict("records") == [
        {
            "scene": "oak-cabinets",
            "summary": "The kitchen budget is 15,000 euros. User prefers oak cabinets over white lacquer.",
            "cell_count": 2,
        }
    ]


def test_recall_returns_a_dataframe_of_hits() -> None:
    ip.run_cell("%%remember\nI prefer oak cabinets over white lacquer.\nThe kitchen budget is 15,000 euros.\n")
    hits = run("recall -k 1 what budget for the kitchen?")
    assert hits[["id", "matched", "content"]].to_dict("records") == [
        {"id": 2, "matched": True, "content": "The kitchen budget is 15,000 euros."}
    ]
    assert list(hits.columns) == ["id", "score", "matched", "scene", "cell_type", "salience", "content", "source_id"]
    assert len(run("recall kitchen")) == 2


def test_ask_answers_from_memory_and_remembers_the_exchange(
    fresh_memory: MemkitMagics, capsys: pytest.CaptureFixture[str]
) -> None:
    run("ask I prefer oak cabinets over white lacquer.")
    run("ask Which cabinets do I prefer?")
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "Noted: User prefers oak cabinets over white lacquer.",
        "From memory: User prefers oak cabinets over white lacquer.",
    ]
    calls = run("calls")
    assert calls["task"].tolist() == ["answer", "extract", "consolidate", "answer", "extract"]
    assert set(calls["backend"]) == {"offline"}


def test_open_a_database_file_and_namespace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "memory.db"
    run(f"open {path} --namespace maya")
    ip.run_cell("%%remember\nThe kitchen budget is 15,000 euros.\n")
    capsys.readouterr()
    run("open :memory:")
    with memkit.MemoryDB(path, namespace="maya") as db:
        assert [c.content for c in db.list_cells()] == ["The kitchen budget is 15,000 euros."]
    run(f"open {path} --namespace maya")
    assert capsys.readouterr().out.splitlines()[-2] == f"memory: {str(path)!r}, namespace 'maya': 1 cells in 1 scenes"


def test_record_then_replay_a_conversation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "lesson.jsonl"
    run(f"backend record {path}")
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"backend: {memkit.OfflineEngine().describe()}, recording to {str(path)!r}"
    )
    run("ask I prefer oak cabinets over white lacquer.")
    run("backend offline")
    run("open :memory:")
    run(f"backend replay {path}")
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"backend: replay of {str(path)!r} (3 calls recorded with {memkit.OfflineEngine().describe()})"
    )
    run("ask I prefer oak cabinets over white lacquer.")
    assert capsys.readouterr().out == "Noted: User prefers oak cabinets over white lacquer.\n"
    with pytest.raises(
        UsageError, match=re.escape("holds no reply for this answer request. The prompt ends with:\n  [user] Hello?")
    ):
        run("ask Hello?")
    with pytest.raises(UsageError, match="already holds a recording; pass mode='a'"):
        run(f"backend record {path}")


def test_use_works_on_the_notebooks_own_agent(capsys: pytest.CaptureFixture[str]) -> None:
    db = memkit.MemoryDB()
    agent = memkit.WorkerAgent(memkit.MemoryManager(db))
    agent.answer("The kitchen budget is 15,000 euros.")
    ip.user_ns["agent"] = agent
    run("use agent")
    assert run("recall budget")["content"].tolist() == ["The kitchen budget is 15,000 euros."]
    calls_before = len(agent.calls)
    run("ask What is the kitchen budget?")
    assert capsys.readouterr().out.splitlines()[-1] == "From memory: The kitchen budget is 15,000 euros."
    assert [c.task for c in agent.calls][calls_before:][:2] == ["answer", "extract"]
    run("open :memory:")  # switching away leaves the notebook's database open
    assert db.list_cells()[0].content == "The kitchen budget is 15,000 euros."
    db.close()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "frobnicate",
            "%memkit has no subcommand 'frobnicate'; use one of: status, open, backend, use, chat, ask, recall",
        ),
        ("recall", "%memkit recall needs a query: %memkit recall kitchen budget"),
        ("recall -k zero budget", "%memkit recall -k needs a positive number"),
        ("ask", "%memkit ask needs a message"),
        ("chat now", "%memkit chat takes no arguments"),
        ("backend gemini", "%memkit backend: argument kind: invalid choice: 'gemini'"),
        ("backend record", "%memkit backend record needs a file"),
        ("backend replay /nonexistent/lesson.jsonl", "no recording at '/nonexistent/lesson.jsonl'"),
        ("backend openai", "no OpenAI API key: pass api_key=..., or set the OPENAI_API_KEY environment variable"),
        ("use 3x", "%memkit use needs the name of a variable"),
        ("use nothing_here", "there is no variable 'nothing_here' in this notebook"),
        ("use USAGE_TEXT", "USAGE_TEXT is a str; give a WorkerAgent, a MemoryManager or a MemoryDB"),
        ("open", "%memkit open: the following arguments are required: path"),
    ],
)
def test_mistakes_are_usage_errors_that_say_the_fix(line: str, message: str) -> None:
    ip.user_ns["USAGE_TEXT"] = USAGE
    with pytest.raises(UsageError) as caught:
        run(line)
    assert str(caught.value).startswith(message)


def test_a_mistake_in_a_cell_is_reported_not_raised(capsys: pytest.CaptureFixture[str]) -> None:
    result = ip.run_cell("%memkit frobnicate")
    assert isinstance(result.error_in_exec, UsageError)
    assert "%memkit has no subcommand 'frobnicate'" in capsys.readouterr().err
    result = ip.run_cell("%%remember\n\n")
    assert str(result.error_in_exec) == "%%remember needs some text in the cell below the magic"


def test_replay_with_no_file_replays_the_course_lesson(capsys: pytest.CaptureFixture[str]) -> None:
    from memkit.classroom.course import LESSON, course_recording_path

    run("backend replay")
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"backend: replay of {str(course_recording_path())!r}")
    for message in LESSON:
        run(f"ask {message}")
    assert capsys.readouterr().out.splitlines()[-1] == (
        "From memory: A carpenter called Tomas is building the cabinets."
    )


def test_chat_opens_a_chat_box_on_the_same_memory(fresh_memory: MemkitMagics) -> None:
    from memkit.widgets import ChatBox

    chat = run("chat")
    assert isinstance(chat, ChatBox)
    assert (
        chat.send("I prefer oak cabinets over white lacquer.") == "Noted: User prefers oak cabinets over white lacquer."
    )
    assert run("cells")["content"].tolist() == ["User prefers oak cabinets over white lacquer."]
    chat.close()
