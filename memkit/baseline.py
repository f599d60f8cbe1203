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
"""

from __future__ import annotations

import re

from .db import MemoryDB
from .errors import DatabaseError
from .evaluation import SearchFunction, distinct_sources
from .types import Hit

__all__ = ["tutorial_match_expression", "unranked_search", "unranked_sources"]

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
