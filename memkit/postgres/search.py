"""Full-text matches on the PostgreSQL store, ranked by ``ts_rank_cd``.

The query is built from the same sanitised terms as on SQLite
(:func:`memkit.retrieval.query_terms`), any of them matching: each term is
bound as a parameter and turned into a ``tsquery`` by ``plainto_tsquery``
(a trailing ``*`` becomes a prefix match), so any text is a valid query.
The columns weigh as on SQLite (content, scene, context); ``ts_rank_cd``
reads nothing but the cell itself, so a namespace's scores never depend on
another's cells, and the GIN index on (namespace, document) means its
searches read only its own entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..retrieval import query_terms

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["best_matches", "tsquery"]


def tsquery(text: str, max_terms: int) -> tuple[str, list[str]]:
    """An SQL ``tsquery`` expression matching any term of ``text``, and its parameters.

    >>> tsquery("Where is the cat* (or DOG)?", 64)
    ("(to_tsquery('english', ?) || plainto_tsquery('english', ?))", ["'cat':*", 'dog'])
    """
    parts, params = [], []
    for term in query_terms(text)[:max_terms]:
        if term.endswith("*"):
            parts.append("to_tsquery('english', ?)")
            params.append("'" + term.rstrip("*").replace("'", "''") + "':*")
        else:
            parts.append("plainto_tsquery('english', ?)")
            params.append(term)
    return "(" + " || ".join(parts) + ")", params


def best_matches(
    store: Store,
    query: str,
    max_terms: int,
    weights: Sequence[float],
    columns: str,
    where: str,
    params: Sequence[Any],
    fetch: int,
) -> list[Any]:
    """The ``fetch`` best matching cells of the store's namespace passing ``where``, each with its ``relevance``.

    :param weights: the weights of the content, scene and context columns.
    :param columns: what to select of each cell (alias ``c``).
    """
    expression, terms = tsquery(query, max_terms)
    top = max(max(weights), 1e-9)  # ts_rank_cd takes weights from 0 to 1: only their ratios matter
    content, scene, context = (weight / top for weight in weights)
    return store.query_rows(
        f"""
        SELECT {columns}, f.relevance FROM (
            SELECT f.id, ts_rank_cd(CAST(? AS real[]), f.document, q.query, 1) AS relevance
            FROM mem_cells_fts f, (SELECT {expression} AS query) q
            WHERE f.namespace = ? AND f.document @@ q.query
        ) f JOIN mem_cells c ON c.id = f.id
        WHERE {where}
        ORDER BY f.relevance DESC, c.id LIMIT ?
        """,
        [[0.0, context, scene, content], *terms, store.namespace, *params, fetch],
    )
