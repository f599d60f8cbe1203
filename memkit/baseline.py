"""The tutorial's retrieval, kept as a baseline to measure memkit's search against.

The tutorial memkit grows from turns a query into an FTS5 expression by
joining every run of letters and digits with ``OR``, and returns the first
rows that match, in whatever order the index yields them. Two weaknesses
follow, and the course measures both:

- no ranking: a word such as "the" or a name said in every message matches
  almost every cell, and which of them come back has nothing to do with the question;
- no sanitising: a word that is an FTS5 keyword (``AND``, ``OR``, ``NOT``,
  ``NEAR``) makes the expression invalid, and the search fails.

When nothing matches, it falls back to the most salient cells, as memkit does.

:func:`bm25_search` is the honest middle ground: memkit's sanitised query,
ranked by FTS5's own ``bm25()`` and nothing else (no salience, recency, scene
or question cues), over current cells as memkit's search.
"""

from __future__ import annotations

import re

from .db import MemoryDB
from .errors import DatabaseError
from .evaluation import SearchFunction, distinct_sources
from .retrieval import build_match_expression
from .types import Hit

__all__ = ["bm25_search", "bm25_sources", "tutorial_match_expression", "unranked_search", "unranked_sources"]

_WORD = re.compile(r"[A-Za-z0-9]+")
_COLUMNS = "c.id, c.scene, c.cell_type, c.salience, c.content, c.source_id, c.occurred_at"


def tutorial_match_expression(query: str) -> str | None:
    """Every word of ``query`` joined by ``OR``, unquoted (None when there is no word)."""
    words = _WORD.findall(query)
    return " OR ".join(words) if words else None


def unranked_search(db: MemoryDB, query: str, limit: int = 6) -> list[Hit]:
    """The first ``limit`` cells matching any word of ``query``, unranked (score 0).

    :raises DatabaseError: the query holds an FTS5 keyword, so the expression is invalid.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive integer, got {limit!r}")
    expression = tutorial_match_expression(query)
    rows = []
    if expression is not None:
        expression = f"{{content scene}} : ({expression})"  # the tutorial indexed no context column
        rows = db.sql(
            f"SELECT {_COLUMNS} FROM mem_cells_fts JOIN mem_cells c ON c.id = mem_cells_fts.rowid"
            " WHERE mem_cells_fts MATCH ? AND c.namespace = ? LIMIT ?",
            (expression, db.namespace, limit),
        )
    if rows:
        return [Hit(**row, score=0.0) for row in rows]
    rows = db.sql(
        f"SELECT {_COLUMNS} FROM mem_cells c WHERE c.namespace = ? ORDER BY c.salience DESC LIMIT ?",
        (db.namespace, limit),
    )
    return [Hit(**row, score=0.0, matched=False) for row in rows]


def unranked_sources(db: MemoryDB, *, overfetch: int = 3) -> SearchFunction:
    """:func:`unranked_search` as a search function over source ids (see :mod:`memkit.evaluation`).

    Fetches like :func:`memkit.evaluation.memkit_search`, so the two compare
    fairly. A query the tutorial's search cannot run finds nothing.
    """
    if overfetch < 1:
        raise ValueError(f"overfetch must be at least 1, got {overfetch!r}")

    def search(query: str, k: int) -> list[str]:
        try:
            hits = unranked_search(db, query, limit=k * overfetch)
        except DatabaseError:
            return []
        return distinct_sources(hits, k)

    return search


def bm25_search(db: MemoryDB, query: str, limit: int = 6) -> list[Hit]:
    """The current cells matching ``query`` (memkit's quoted terms), best first by FTS5's ``bm25()`` alone.

    The score is ``-bm25``, higher is better; an empty list when nothing matches.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive integer, got {limit!r}")
    expression = build_match_expression(query)
    if expression is None:
        return []
    rows = db.sql(
        f"SELECT {_COLUMNS}, -bm25(mem_cells_fts) AS score FROM mem_cells_fts"
        " JOIN mem_cells c ON c.id = mem_cells_fts.rowid"
        " WHERE mem_cells_fts MATCH ? AND c.namespace = ? AND c.valid_until IS NULL AND c.archived_at IS NULL"
        " ORDER BY bm25(mem_cells_fts) LIMIT ?",
        (f"{{content scene context}} : ({expression})", db.namespace, limit),
    )
    return [Hit(**row) for row in rows]


def bm25_sources(db: MemoryDB, *, overfetch: int = 3) -> SearchFunction:
    """:func:`bm25_search` as a search function over source ids, fetching as the others do."""
    if overfetch < 1:
        raise ValueError(f"overfetch must be at least 1, got {overfetch!r}")
    return lambda query, k: distinct_sources(bm25_search(db, query, limit=k * overfetch), k)
