"""pandas views of memory: cells, scenes, search hits, recall, model calls, raw SQL, time, and history.

The only module that imports pandas, so the core stays light.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from .db import MemoryDB
from .forgetting import DecayRule, half_life, strengths
from .history import events, story
from .links import list_links
from .llm import LLMCall
from .types import Event, Hit

if TYPE_CHECKING:
    import pandas as pd

    from .agent import Recall
    from .llm.offline.statements import Reading

__all__ = [
    "calls_df",
    "cells_df",
    "explain_df",
    "history_df",
    "hits_df",
    "links_df",
    "reading_df",
    "recall_df",
    "scene_growth_df",
    "scene_timeline_df",
    "scenes_df",
    "search_df",
    "sql_df",
    "strengths_df",
]

_READING_COLUMNS = ["said", "statement", "cell_type", "salience", "about", "values", "change", "notes"]
_CELL_COLUMNS = ["id", "scene", "cell_type", "salience", "content", "source_id", "occurred_at", "created_at"]
_SCENE_COLUMNS = ["scene", "summary", "current_count", "cell_count", "updated_at"]
_HIT_COLUMNS = ["id", "score", "matched", "scene", "cell_type", "salience", "content", "source_id"]
_CALL_COLUMNS = [
    "task",
    "backend",
    "prompt_tokens",
    "response_tokens",
    "duration_s",
    "error",
    "finish_reason",
    "json_mode",
    "model",
    "server_prompt_tokens",
    "server_response_tokens",
    "prompt",
    "response",
]


def _frame(rows: Iterable[dict[str, object]], columns: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(list(rows), columns=list(columns))


def cells_df(db: MemoryDB, scene: str | None = None, *, include_history: bool = False) -> pd.DataFrame:
    """The current cells of the database's namespace (of one scene, if given), oldest first.

    With ``include_history=True``: superseded and archived cells too, with
    their status, how often each was stated and when it stopped being current.
    """
    cells = db.list_cells(scene, include_history=include_history)
    if not include_history:
        return _frame((asdict(c) for c in cells), _CELL_COLUMNS)
    rows = ({**asdict(c), "status": c.status} for c in cells)
    return _frame(rows, [*_CELL_COLUMNS[:5], "status", "seen_count", "valid_until", "archived_at", *_CELL_COLUMNS[5:]])


def scenes_df(db: MemoryDB, *, include_history: bool = False) -> pd.DataFrame:
    """The scenes: summary, current cells, all cells stored; last active first (archived ones on request)."""
    scenes = db.list_scenes(include_history=include_history)
    columns = [*_SCENE_COLUMNS, "archived_at"] if include_history else _SCENE_COLUMNS
    return _frame((asdict(s) for s in scenes), columns)


def hits_df(hits: Iterable[Hit]) -> pd.DataFrame:
    """Search hits as a table, in the order given, with their scores."""
    return _frame((asdict(h) for h in hits), _HIT_COLUMNS)


def explain_df(db: MemoryDB, query: str, limit: int = 10, **filters: object) -> pd.DataFrame:
    """Why each hit of a search ranks where it does: bm25 relevance, each cue's factor, the score."""
    rows = []
    for hit in db.search(query, limit, **filters):  # type: ignore[arg-type]
        row: dict[str, object] = {"id": hit.id, "content": hit.content}
        if hit.parts is not None:
            row |= {"bm25": hit.parts.relevance, **hit.parts.factors()}
        rows.append(row | {"score": hit.score})
    return _frame(
        rows, ["id", "bm25", "salience", "recency", "scene", "subject", "when", "date", "history", "score", "content"]
    )


def search_df(db: MemoryDB, query: str, limit: int = 10, **filters: object) -> pd.DataFrame:
    """Search results as a table, best first, with their scores (and whether each is current,
    when ``include_history=True`` asks for superseded and archived cells too)."""
    hits = db.search(query, limit, **filters)  # type: ignore[arg-type]
    if not filters.get("include_history"):
        return hits_df(hits)
    return _frame((asdict(h) for h in hits), [*_HIT_COLUMNS[:3], "current", *_HIT_COLUMNS[3:]])


def recall_df(recall: Recall | None) -> pd.DataFrame:
    """What an agent recalled for its last answer: cells with scores (empty before any answer)."""
    hits = recall.hits if recall is not None else ()
    return _frame((asdict(h) for h in hits), _HIT_COLUMNS)


def calls_df(calls: Iterable[LLMCall]) -> pd.DataFrame:
    """Model calls as a table: task, backend, token counts, duration, error, what the server said
    (why the reply ended, the JSON mode, the model that answered, its own token counts), prompt and reply."""
    return _frame((asdict(c) for c in calls), _CALL_COLUMNS)


def sql_df(db: MemoryDB, statement: str, params: Sequence[object] = ()) -> pd.DataFrame:
    """The rows of a read-only SQL statement (see :meth:`MemoryDB.sql`) as a table."""
    import pandas as pd

    return pd.DataFrame(db.sql(statement, params))


def _cell_times(db: MemoryDB) -> pd.DataFrame:
    """Cells with ``time``: when they were said (``occurred_at``), else when stored; naive times count as UTC."""
    import pandas as pd

    frame = cells_df(db)
    frame["time"] = pd.to_datetime(frame["occurred_at"].fillna(frame["created_at"]), utc=True, format="ISO8601")
    return frame.sort_values(["time", "id"], kind="stable").reset_index(drop=True)


def scene_growth_df(db: MemoryDB) -> pd.DataFrame:
    """One row per cell in time order: ``time``, ``scene``, ``cell_type`` and ``cells`` (the scene's size so far)."""
    frame = _cell_times(db)
    frame["cells"] = frame.groupby("scene").cumcount() + 1
    return frame[["time", "scene", "cell_type", "cells"]]


def scene_timeline_df(db: MemoryDB) -> pd.DataFrame:
    """One row per scene: its ``first`` and ``last`` cell times and its ``cells``, earliest scene first."""
    frame = _cell_times(db)
    timeline = frame.groupby("scene", sort=False).agg(
        first=("time", "min"), last=("time", "max"), cells=("id", "count")
    )
    return timeline.reset_index().sort_values(["first", "scene"], kind="stable").reset_index(drop=True)


_HISTORY_COLUMNS = ["id", "change_id", "when", "exchange_id", "what", "action", "before", "after", "why", "undone_at"]
#: The column that says what a row is about, shown whole when a row appears or goes.
_MAIN_COLUMN = {"cell": "content", "scene": "summary"}


def _side(event: Event, side: str) -> str:
    row = event.before if side == "before" else event.after
    other = event.after if side == "before" else event.before
    if row is None:
        return ""
    if other is None:  # the row appeared or went: say what it is
        if event.kind == "link":
            return f"{row['source']} {row['kind']} {row['target']}"
        return str(row.get(_MAIN_COLUMN[event.kind]) or "(empty)")
    changed = event.changed()
    return "; ".join(f"{column}: {values[0 if side == 'before' else 1]}" for column, values in changed.items())


def history_df(db: MemoryDB, cell_id: int | None = None) -> pd.DataFrame:
    """Every recorded change to memory, oldest first: what, before, after, why, when, which exchange.

    With ``cell_id``: that cell's whole story (its own events and its links'). ``before`` and
    ``after`` show the columns that changed, or the whole statement when a row appears or goes.
    """
    found = events(db) if cell_id is None else story(db, cell_id)
    rows: Iterable[dict[str, object]] = (
        {
            "id": e.id,
            "change_id": e.change_id,
            "when": e.created_at,
            "exchange_id": e.exchange_id,
            "what": f"{e.kind} {e.key}",
            "action": e.action,
            "before": _side(e, "before"),
            "after": _side(e, "after"),
            "why": e.reason,
            "undone_at": e.undone_at,
        }
        for e in found
    )
    frame = _frame(rows, _HISTORY_COLUMNS)
    frame["exchange_id"] = frame["exchange_id"].astype("Int64")
    return frame


def strengths_df(db: MemoryDB, rule: DecayRule = half_life, since: str = "last use") -> pd.DataFrame:
    """Every current cell's strength now, weakest first (:mod:`memkit.forgetting`; ``since="stored"``: by age)."""
    rows: Iterable[dict[str, object]] = (
        {
            "id": s.cell.id,
            "scene": s.cell.scene,
            "content": s.cell.content,
            "salience": s.cell.salience,
            "uses": s.uses,
            "last_used": s.last_used,
            "idle_days": s.idle_days,
            "strength": s.strength,
        }
        for s in sorted(strengths(db, rule=rule, since=since), key=lambda s: (s.strength, s.cell.id))
    )
    return _frame(rows, ["id", "scene", "content", "salience", "uses", "last_used", "idle_days", "strength"])


def links_df(db: MemoryDB) -> pd.DataFrame:
    """Every link of the namespace, oldest first, with the two cells' contents: source, kind, target."""
    contents = {c.id: c.content for c in db.list_cells(include_history=True)}
    rows: Iterable[dict[str, object]] = (
        {
            "id": x.id,
            "source": x.source,
            "kind": x.kind,
            "target": x.target,
            "source_content": contents.get(x.source),
            "target_content": contents.get(x.target),
            "reason": x.reason,
        }
        for x in list_links(db)
    )
    return _frame(rows, ["id", "source", "kind", "target", "source_content", "target_content", "reason"])


def reading_df(reading: Reading) -> pd.DataFrame:
    """What the offline engine read in a message (``OfflineEngine().read(text)``): one row per
    statement, then one per sentence it left out, with the reason in ``notes``."""
    rows: list[dict[str, object]] = []
    for s in reading.statements:
        rows.append(
            {
                "said": s.said,
                "statement": s.content,
                "cell_type": s.cell_type,
                "salience": s.salience,
                "about": ", ".join(sorted(s.facts.subject | s.facts.anchors)),
                "values": ", ".join(f"{v.kind}: {v.key}" for v in s.facts.values),
                "change": f"{s.change.kind} ('{s.change.cue}')" if s.change else "",
                "notes": "; ".join(s.notes),
            }
        )
    for skipped in reading.skipped:
        empty = dict.fromkeys(_READING_COLUMNS, "")
        rows.append({**empty, "said": skipped.said, "notes": f"left out: {skipped.reason}"})
    return _frame(rows, _READING_COLUMNS)
