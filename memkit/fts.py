"""One namespace's share of the full-text index: its own matches, statistics and bm25.

Every namespace's cells are in one FTS5 index, ``mem_cells_fts``, each with
its namespace as a single token of the column ``ns``. FTS5's ``bm25()``
counts rows, tokens and rows per term over the whole index, and reads every
row of a term to count them: on its own, one namespace's scores would move
with another's cells, and its searches would slow down with another's size.
So:

- a namespace alone in its file is ranked by ``bm25()`` itself (the whole
  index is its own);
- otherwise its matches are found with ``ns : "<its token>" AND ...``, so
  FTS5 reads none of another namespace's rows, and :func:`relevance` scores
  them with FTS5's own formula and the namespace's own statistics: its
  number of rows, of tokens, and of rows holding each term.

Either way a namespace gets the same scores, computed from nothing but its
own cells.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, MutableMapping, Sequence

__all__ = ["TEXT_COLUMNS", "namespace_token", "relevance", "shares_index", "text_expression"]

#: The columns a query's words are matched in (never ``ns``).
TEXT_COLUMNS = "{content scene context}"
#: FTS5's bm25 constants.
_K1, _B = 1.2, 0.75
#: FTS5 gives a term in more than half the rows this idf instead of a negative one.
_IDF_FLOOR = 1e-6
#: What highlight() puts before each match (characters prose does not hold).
_MARK = "\x1f\x1e"
#: The row of ``mem_cells_fts_data`` holding the number of rows and tokens of the whole index.
_AVERAGES_ROWID = 1

#: A cache of a namespace's (rows, tokens): (connection id, namespace) -> (version, rows, tokens).
Totals = MutableMapping[tuple[int, str], tuple[tuple[int, int], int, int]]


def namespace_token(namespace: str) -> str:
    """The phrase that matches a namespace's cells in the ``ns`` column (its UTF-8 bytes in hex)."""
    return f'"{namespace.encode("utf-8").hex()}"'


def text_expression(phrases: Sequence[str], namespace: str | None = None) -> str:
    """A MATCH expression for ``phrases`` (any of them) in the text columns, in ``namespace`` if given."""
    words = f"{TEXT_COLUMNS} : ({' OR '.join(phrases)})"
    return words if namespace is None else f"ns : {namespace_token(namespace)} AND {words}"


def shares_index(conn: sqlite3.Connection, namespace: str) -> bool:
    """Whether another namespace has cells in the index too."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM mem_scenes WHERE namespace != ? AND cell_count > 0)", (namespace,)
    ).fetchone()
    return bool(row[0])


def relevance(
    conn: sqlite3.Connection,
    namespace: str,
    phrases: Sequence[str],
    weights: Sequence[float],
    totals: Totals,
) -> dict[int, float]:
    """Every cell of ``namespace`` matching any of ``phrases``: its bm25 relevance from the namespace's statistics.

    The same number FTS5's ``-bm25(mem_cells_fts, *weights)`` gives when the
    namespace is alone in the index. Only the namespace's rows are read.

    :param weights: the weights of the content, scene and context columns.
    :param totals: a cache of the namespace's row and token counts, kept between calls.
    """
    rows, tokens = _totals(conn, namespace, totals)
    if not rows:
        return {}
    frequencies: dict[int, list[tuple[int, float]]] = {}  # rowid -> (phrase, weighted frequency) where found
    idf: list[float] = []
    for index, phrase in enumerate(phrases):
        marked = conn.execute(
            "SELECT rowid, highlight(mem_cells_fts, 0, ?, ''), highlight(mem_cells_fts, 1, ?, ''),"
            " highlight(mem_cells_fts, 2, ?, '') FROM mem_cells_fts WHERE mem_cells_fts MATCH ?",
            (_MARK, _MARK, _MARK, f"ns : {namespace_token(namespace)} AND {TEXT_COLUMNS} : {phrase}"),
        ).fetchall()
        for rowid, *columns in marked:
            frequency = 0.0
            for weight, text in zip(weights, columns, strict=True):
                for _ in range(text.count(_MARK) if text else 0):  # one addition per match, as FTS5 adds them
                    frequency += weight
            frequencies.setdefault(rowid, []).append((index, frequency))
        value = math.log((rows - len(marked) + 0.5) / (len(marked) + 0.5))
        idf.append(value if value > 0.0 else _IDF_FLOOR)
    average = tokens / rows
    sizes = _sizes(conn, frequencies)
    scores = {}
    for rowid, found in frequencies.items():
        score, norm = 0.0, _K1 * (1 - _B + _B * sizes.get(rowid, 0) / average)
        for index, f in found:  # as fts5Bm25Function sums them, phrase by phrase (an absent one adds 0.0)
            score += idf[index] * ((f * (_K1 + 1.0)) / (f + norm))
        scores[rowid] = score
    return scores


def _totals(conn: sqlite3.Connection, namespace: str, cache: Totals) -> tuple[int, int]:
    """The namespace's number of indexed rows and of tokens in them (all columns), cached until the file changes.

    Read from the side that is smaller: the namespace's own rows, or the
    others' taken from the totals of the whole index.
    """
    version = (conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes)
    cached = cache.get((id(conn), namespace))
    if cached is not None and cached[0] == version:
        return cached[1], cached[2]
    rows = conn.execute("SELECT COALESCE(SUM(cell_count), 0) FROM mem_scenes WHERE namespace = ?", (namespace,))
    own = int(rows.fetchone()[0])
    block = conn.execute("SELECT block FROM mem_cells_fts_data WHERE id = ?", (_AVERAGES_ROWID,)).fetchone()
    counts = _varints(block[0]) if block else [0]
    everyone, everything = counts[0], sum(counts[1:])
    sizes = "SELECT d.sz FROM mem_cells c JOIN mem_cells_fts_docsize d ON d.id = c.id WHERE c.namespace"
    if own * 2 <= everyone:
        tokens = sum(sum(_varints(sz)) for (sz,) in conn.execute(f"{sizes} = ?", (namespace,)))
    else:
        others = conn.execute(f"{sizes} < ?1 UNION ALL {sizes} > ?1", (namespace,))
        tokens = everything - sum(sum(_varints(sz)) for (sz,) in others)
    cache[(id(conn), namespace)] = (version, own, tokens)
    return own, tokens


def _sizes(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, int]:
    """The number of tokens (all columns) of each row."""
    wanted = list(ids)
    sizes: dict[int, int] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = conn.execute(
            f"SELECT id, sz FROM mem_cells_fts_docsize WHERE id IN ({', '.join('?' * len(chunk))})", chunk
        )
        sizes.update((rowid, sum(sz) if max(sz, default=0) < 0x80 else sum(_varints(sz))) for rowid, sz in rows)
    return sizes


def _varints(blob: bytes) -> list[int]:
    """The SQLite varints FTS5 writes its counts in (7 bits a byte, high bit set when more follow; 9 bytes at most)."""
    values: list[int] = []
    value = length = 0
    for byte in blob:
        length += 1
        if length == 9:
            values.append((value << 8) | byte)
            value = length = 0
        elif byte & 0x80:
            value = (value << 7) | (byte & 0x7F)
        else:
            values.append((value << 7) | byte)
            value = length = 0
    return values
