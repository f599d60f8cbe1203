"""A faithful re-implementation of the tutorial memkit grows from, as the baseline.

Same schema, same search (an FTS5 OR-query of every word, no ranking, the
most salient cells when nothing matches), same loop (extract, insert, then
re-summarise *every* cell of each touched scene), same prompts. Only the
model differs: ``TutorialLLM`` gives deterministic replies with memkit's
offline rules, and every call goes through :func:`memkit.llm.invoke` so it
is counted in a :class:`memkit.CallLog` exactly like memkit's own calls.
Used by the benchmarks only; nothing in the package depends on it.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime, timezone
from typing import Any

from memkit import CallLog, LLMRequest, Message, OfflineEngine
from memkit.baseline import tutorial_match_expression
from memkit.llm import invoke
from memkit.llm.offline.summarise import consolidate

__all__ = ["TutorialAgent", "TutorialLLM", "TutorialManager", "TutorialMemoryDB"]

_EXTRACT_PROMPT = """
Convert this interaction into structured memory cells.
Return JSON array with objects containing:
- scene
- cell_type (fact, plan, preference, decision, task, risk)
- salience (0-1)
- content (compressed, factual)
User: {user}
Assistant: {assistant}
"""

_SUMMARISE_PROMPT = """
Summarize this memory scene in under 100 words.
Keep it stable and reusable for future reasoning.
Cells:
{cells}
"""

_ANSWER_PROMPT = """
You are an intelligent agent with long-term memory.
Relevant memory:
{summaries}
User: {user}
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class TutorialMemoryDB:
    """The tutorial's storage: cells and scenes, and an FTS5 table holding a second copy of each cell."""

    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.row_factory = sqlite3.Row
        self.db.execute(
            "CREATE TABLE mem_cells (id INTEGER PRIMARY KEY, scene TEXT, cell_type TEXT,"
            " salience REAL, content TEXT, created_at TEXT)"
        )
        self.db.execute("CREATE TABLE mem_scenes (scene TEXT PRIMARY KEY, summary TEXT, updated_at TEXT)")
        self.db.execute("CREATE VIRTUAL TABLE mem_cells_fts USING fts5(content, scene, cell_type)")

    def insert_cell(self, cell: dict[str, Any]) -> None:
        content = json.dumps(cell["content"])
        self.db.execute(
            "INSERT INTO mem_cells VALUES (NULL, ?, ?, ?, ?, ?)",
            (cell["scene"], cell["cell_type"], cell["salience"], content, _now()),
        )
        self.db.execute("INSERT INTO mem_cells_fts VALUES (?, ?, ?)", (content, cell["scene"], cell["cell_type"]))
        self.db.commit()

    def get_scene(self, scene: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute("SELECT * FROM mem_scenes WHERE scene = ?", (scene,)).fetchone()
        return row

    def upsert_scene(self, scene: str, summary: str) -> None:
        self.db.execute(
            "INSERT INTO mem_scenes VALUES (?, ?, ?) ON CONFLICT(scene) DO UPDATE"
            " SET summary = excluded.summary, updated_at = excluded.updated_at",
            (scene, summary, _now()),
        )
        self.db.commit()

    def retrieve_scene_context(self, query: str, limit: int = 6) -> list[sqlite3.Row]:
        """Cells sharing any word with ``query``, in index order (no ranking).

        Like the tutorial, a word that is an FTS5 keyword (``AND``, ``OR``,
        ``NOT``, ``NEAR``) makes the query fail with ``sqlite3.OperationalError``.
        """
        expression = tutorial_match_expression(query)
        if expression is None:
            return []
        rows = self.db.execute(
            "SELECT scene, content FROM mem_cells_fts WHERE mem_cells_fts MATCH ? LIMIT ?", (expression, limit)
        ).fetchall()
        if not rows:
            rows = self.db.execute(
                "SELECT scene, content FROM mem_cells ORDER BY salience DESC LIMIT ?", (limit,)
            ).fetchall()
        return rows

    def retrieve_scene_summary(self, scene: str) -> str:
        row = self.get_scene(scene)
        return str(row["summary"]) if row else ""


#: How many of a scene's cells the stand-in model summarises (what is counted is the whole prompt).
_SUMMARISED_CELLS = 12
#: How many recent scenes the stand-in model may file a cell under (memkit shows its model 20 too).
_KNOWN_SCENES = 20


class TutorialLLM:
    """Deterministic stand-in for the tutorial's model: memkit's offline rules, the tutorial's reply formats.

    It reads the structured ``data`` of each request, as memkit's offline
    engine does; the prompt text (what is counted) is the tutorial's.
    """

    name = "tutorial-offline"

    def __init__(self) -> None:
        self.engine = OfflineEngine()

    def complete(self, request: LLMRequest) -> str:
        data = request.data
        if request.task == "extract":
            scenes = [(name, summary, []) for name, summary in data["scenes"]]
            asked = LLMRequest("extract", request.messages, data={"utterances": data["utterances"], "scenes": scenes})
            reply = json.loads(self.engine.complete(asked))
            return json.dumps(reply["cells"])  # the tutorial asks for a bare JSON array
        if request.task == "consolidate":
            # The prompt lists the cells most salient first; the summary (under 100 words either
            # way) is made from the first ones, so the stand-in's work does not grow with the scene.
            return consolidate("", data["cells"][:_SUMMARISED_CELLS])
        if request.task == "answer":
            asked = LLMRequest("answer", request.messages, data={"text": data["text"], "hits": data["hits"]})
            return self.engine.complete(asked)
        raise ValueError(f"unknown task {request.task!r}")

    def describe(self) -> str:
        return "the tutorial's model, replaced by memkit's offline rules"


def _request(task: str, prompt: str, **data: Any) -> LLMRequest:
    return LLMRequest(task=task, messages=(Message("user", prompt),), data=data)


class TutorialManager:
    """The tutorial's memory manager: extract, insert, re-summarise every cell of each touched scene."""

    def __init__(self, db: TutorialMemoryDB, llm: TutorialLLM, calls: CallLog) -> None:
        self.db = db
        self.llm = llm
        self.calls = calls

    def extract_cells(self, user: str, assistant: str) -> list[dict[str, Any]]:
        rows = self.db.db.execute(
            "SELECT scene, summary FROM mem_scenes ORDER BY updated_at DESC LIMIT ?", (_KNOWN_SCENES,)
        )
        scenes = [(row["scene"], row["summary"]) for row in rows]
        request = _request(
            "extract",
            _EXTRACT_PROMPT.format(user=user, assistant=assistant),
            utterances=[("User", user), ("Assistant", assistant)],
            scenes=scenes,
        )
        raw = re.sub(r"```json|```", "", invoke(self.llm, request, self.calls).strip())
        try:
            cells = json.loads(raw)
        except ValueError:
            return []
        return cells if isinstance(cells, list) else []

    def consolidate_scene(self, scene: str) -> None:
        rows = self.db.db.execute(
            "SELECT cell_type, salience, content FROM mem_cells WHERE scene = ? ORDER BY salience DESC", (scene,)
        ).fetchall()
        if not rows:
            return
        cells = [json.loads(row["content"]) for row in rows]
        request = _request(
            "consolidate",
            _SUMMARISE_PROMPT.format(cells=cells),
            cells=[(row["cell_type"], row["salience"], json.loads(row["content"])) for row in rows],
        )
        self.db.upsert_scene(scene, invoke(self.llm, request, self.calls).strip())

    def update(self, user: str, assistant: str) -> None:
        cells = self.extract_cells(user, assistant)
        for cell in cells:
            self.db.insert_cell(cell)
        for scene in dict.fromkeys(cell["scene"] for cell in cells):  # a set in the tutorial; ordered here
            self.consolidate_scene(scene)


class TutorialAgent:
    """The tutorial's worker agent: recall scene summaries, answer, then update memory (blocking)."""

    def __init__(self, db: TutorialMemoryDB, manager: TutorialManager) -> None:
        self.db = db
        self.manager = manager

    def answer(self, user_input: str) -> str:
        recalled = self.db.retrieve_scene_context(user_input)
        scenes = list(dict.fromkeys(row["scene"] for row in recalled))  # a set in the tutorial; ordered here
        summaries = "\n".join(f"[{scene}]\n{self.db.retrieve_scene_summary(scene)}" for scene in scenes)
        hits = [("fact", json.loads(row["content"]), 1.0, True, row["scene"]) for row in recalled]
        request = _request(
            "answer",
            _ANSWER_PROMPT.format(summaries=summaries, user=user_input),
            text=user_input,
            hits=hits,
            scenes=[(scene, self.db.retrieve_scene_summary(scene)) for scene in scenes],
        )
        reply = invoke(self.manager.llm, request, self.manager.calls).strip()
        self.manager.update(user_input, reply)
        return reply
