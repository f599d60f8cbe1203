"""pandas views of memory: cells, scenes, search hits, recall, model calls, raw SQL, and time.

The only module that imports pandas, so the core stays light.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from .db import MemoryDB
from .llm import LLMCall
from .types import Hit

if TYPE_CHECKING:
    import pandas as pd

    from .agent import Recall

__all__ = [
    "calls_df",
    "cells_df",
    "hits_df",
    "recall_df",
    "scene_growth_df",
    "scene_timeline_df",
    "scenes_df",
    "search_df",
    "sql_df",
]

_CELL_COLUMNS = ["id", "scene", "cell_type", "salience", "content", "source_id", "occurred_at", "created_at"]
_SCENE_COLUMNS = ["scene", "summary", "cell_count", "updated_at"]
_HIT_COLUMNS = ["id", "score", "matched", "scene", "cell_type", "salience", "content", "source_id"]
_CALL_COLUMNS = ["task", "backend", "prompt_tokens", "response_tokens", "duration_s", "error", "prompt", "response"]


def _frame(rows: Iterable[dict[str, object]], columns: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(list(rows), columns=list(columns))


def cells_df(db: MemoryDB, scene: str | None = None) -> pd.DataFrame:
    """Every cell of the database's namespace (of one scene, if given), oldest first."""
    return _frame((asdict(c) for c in db.list_cells(scene)), _CELL_COLUMNS)


def scenes_df(db: MemoryDB) -> pd.DataFrame:
    """Every scene of the namespace with its summary and cell count, last active first."""
    return _frame((asdict(s) for s in db.list_scenes()), _SCENE_COLUMNS)


def hits_df(hits: Iterable[Hit]) -> pd.DataFrame:
    """Search hits as a table, in the order given, with their scores."""
    return _frame((asdict(h) for h in hits), _HIT_COLUMNS)


def search_df(db: MemoryDB, query: str, limit: int = 10, **filters: object) -> pd.DataFrame:
    """Search results as a table, best first, with their scores."""
    return hits_df(db.search(query, limit, **filters))  # type: ignore[arg-type]


def recall_df(recall: Recall | None) -> pd.DataFrame:
    """What an agent recalled for its last answer: cells with scores (empty before any answer)."""
    hits = recall.hits if recall is not None else ()
    return _frame((asdict(h) for h in hits), _HIT_COLUMNS)


def calls_df(calls: Iterable[LLMCall]) -> pd.DataFrame:
    """Model calls as a table: task, backend, token counts, duration, prompt and reply."""
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
