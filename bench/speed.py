"""Speed and scale: insert throughput and search latency at 1k, 10k and 100k cells on a file database.

    python bench/speed.py [--sizes 1000,10000,100000] [--plot bench/plots/latency_vs_size.png]

For each size, in a fresh temporary file:

- **bare**: plain ``sqlite3`` ``executemany`` of the same rows into ``mem_cells``
  (its FTS5 index kept by the same triggers), in one transaction: the physical
  limit of storing and indexing the cells, with nothing else;
- **raw**: the same, plus one history event per cell holding the row as JSON
  (prepared before the clock starts), as memkit writes them, with none of its checks;
- **memkit batch**: ``MemoryDB.add_cells`` of every cell in one call;
- **memkit one by one**: ``MemoryDB.add_cell`` per cell, each its own transaction
  (on the first ``--single`` cells only, so the run stays short);
- **search**: ``MemoryDB.search(query, limit=10)`` for ``--queries`` questions,
  reporting p50 and p95 latency, each the median of ``--rounds`` rounds (the
  machine may be shared, and one busy moment should not decide a figure);
- **disk per cell**: the database file's size over the number of cells.

Then **namespaces side by side** (``--isolation``, 200,000 by default; 0 skips it):
search p50/p95 in a namespace of 200 cells alone in its file, then beside a
namespace of ``--isolation`` cells in the same file, and that big namespace's
own search beside the small one. A namespace's search reads and scores only
its own cells, so the small one's figures should not move.

The cells are synthetic sentences over a vocabulary whose word frequencies
follow Zipf's law, as words in real text do, with function words ("the",
"and", ...) as the most frequent; the queries are questions whose content
words are drawn with the same frequencies, so some hit common words with
long posting lists.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import memkit
from bench.plotting import png
from memkit.db import MemoryDB
from memkit.retrieval import STOPWORDS

__all__ = ["main", "measure_isolation", "measure_size", "synthetic_cells", "synthetic_queries"]

_SYLLABLES = ["ka", "ri", "mo", "te", "lu", "sa", "ne", "vi", "do", "pa", "ha", "zu", "ro", "mi", "ta", "be", "lo"]
_TYPES = memkit.CELL_TYPES
#: The most frequent words of English prose are function words; the synthetic text uses memkit's stopwords there.
_FUNCTION_WORDS = sorted(w for w in STOPWORDS if "'" not in w and len(w) > 1)
_QUESTION_OPENERS = ["what did", "when did", "where is the", "how does", "who said the", "tell me about the"]


def _vocabulary(size: int) -> list[str]:
    """Function words first (the most frequent), then made-up content words."""
    rng = random.Random(1)
    words: dict[str, None] = dict.fromkeys(_FUNCTION_WORDS)
    while len(words) < size:
        words.setdefault("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))), None)
    return list(words)


def _zipf_weights(size: int) -> list[float]:
    return [1.0 / (rank + 1) for rank in range(size)]


def synthetic_cells(count: int, *, seed: int = 1, vocabulary: int = 20_000) -> list[memkit.NewCell]:
    """``count`` cells of 8-24 Zipf-distributed words, in 50 scenes, dated over a year."""
    rng = random.Random(seed)
    words = _vocabulary(vocabulary)
    cumulative = list(itertools.accumulate(_zipf_weights(vocabulary)))  # the same draws as weights=, made once
    cells = []
    for index in range(count):
        text = " ".join(rng.choices(words, cum_weights=cumulative, k=rng.randint(8, 24)))
        cells.append(
            memkit.NewCell(
                scene=f"scene-{rng.randrange(50)}",
                cell_type=rng.choice(_TYPES),
                salience=round(rng.random(), 2),
                content=text.capitalize() + ".",
                source_id=f"m{index}",
                occurred_at=f"2024-{1 + index * 12 // max(count, 1):02d}-{1 + index % 28:02d}T12:00:00",
            )
        )
    return cells


def synthetic_queries(count: int, *, seed: int = 2, vocabulary: int = 20_000) -> list[str]:
    """``count`` questions: an opener, then two or three content words drawn with the cells' frequencies."""
    words = _vocabulary(vocabulary)
    content = words[len(_FUNCTION_WORDS) :]
    cumulative = list(itertools.accumulate(_zipf_weights(vocabulary)[len(_FUNCTION_WORDS) :]))
    pick = random.Random(seed)

    def question() -> str:
        opener = pick.choice(_QUESTION_OPENERS)
        words = pick.choices(content, cum_weights=cumulative, k=pick.randint(2, 3))
        return f"{opener} {' '.join(words)}?"

    return [question() for _ in range(count)]


def _rows(db: MemoryDB, cells: Sequence[memkit.NewCell]) -> list[tuple[object, ...]]:
    now = db.now()
    return [
        (db.namespace, c.scene, c.cell_type, c.salience, c.content, c.source_id, c.occurred_at, now, None, c.context)
        for c in cells
    ]


_COLUMNS = ("namespace", "scene", "cell_type", "salience", "content", "source_id", "occurred_at", "created_at")
_HISTORY_INSERT = (
    "INSERT INTO mem_history (namespace, change_id, kind, key, action, before, after, reason, exchange_id, created_at)"
    " VALUES (?, 1, 'cell', ?, 'add', NULL, ?, '', NULL, ?)"
)


def _history_rows(rows: Sequence[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """The history events memkit writes beside new cells: one per cell, holding the whole row as JSON."""
    events = []
    for cell_id, row in enumerate(rows, start=1):
        after = {"id": cell_id, **dict(zip(_COLUMNS, row, strict=False))}
        events.append((row[0], str(cell_id), json.dumps(after, ensure_ascii=False), row[7]))
    return events


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def measure_size(size: int, folder: Path, *, single: int, queries: int, rounds: int = 3) -> dict[str, float]:
    """Every figure for one size (rates in cells/s, latencies in ms, disk in bytes per cell)."""
    cells = synthetic_cells(size)

    raw_path = folder / f"raw-{size}.db"
    MemoryDB(raw_path).close()  # memkit's schema, written by its migrations
    conn = sqlite3.connect(raw_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    rows = _rows(MemoryDB(), cells)
    events = _history_rows(rows)  # built before the clock starts: the baseline is the writing alone
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(MemoryDB._INSERT, rows)
    conn.executemany(_HISTORY_INSERT, events)
    conn.execute("COMMIT")
    raw_rate = size / (time.perf_counter() - started)
    conn.close()

    bare_path = folder / f"bare-{size}.db"  # the physical limit: the cells and their FTS index, nothing else
    MemoryDB(bare_path).close()
    conn = sqlite3.connect(bare_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(MemoryDB._INSERT, rows)
    conn.execute("COMMIT")
    bare_rate = size / (time.perf_counter() - started)
    conn.close()

    path = folder / f"memkit-{size}.db"
    db = MemoryDB(path)
    started = time.perf_counter()
    db.add_cells(cells)
    batch_rate = size / (time.perf_counter() - started)

    single_path = folder / f"single-{size}.db"
    one = MemoryDB(single_path)
    some = cells[: min(single, size)]
    started = time.perf_counter()
    for cell in some:
        one.add_cell(
            scene=cell.scene,
            cell_type=cell.cell_type,
            salience=cell.salience,
            content=cell.content,
            source_id=cell.source_id,
            occurred_at=cell.occurred_at,
        )
    single_rate = len(some) / (time.perf_counter() - started)
    one.close()

    asked = synthetic_queries(queries)
    for query in asked[:20]:  # warm the page cache, as a running application has it
        db.search(query, limit=10)
    p50s, p95s = [], []
    for _ in range(rounds):  # the machine may be shared: each figure is the median of the rounds
        latencies = []
        for query in asked:
            started = time.perf_counter()
            db.search(query, limit=10)
            latencies.append(time.perf_counter() - started)
        p50s.append(statistics.median(latencies))
        p95s.append(percentile(latencies, 0.95))
    db.query_rows("PRAGMA wal_checkpoint(TRUNCATE)", writer=True)
    db.close()
    disk = os.path.getsize(path) + sum(
        os.path.getsize(f"{path}{suffix}") for suffix in ("-wal", "-shm") if os.path.exists(f"{path}{suffix}")
    )
    return {
        "cells": size,
        "raw_rate": raw_rate,
        "batch_rate": batch_rate,
        "batch_share": batch_rate / raw_rate,
        "bare_rate": bare_rate,
        "bare_share": batch_rate / bare_rate,
        "single_rate": single_rate,
        "p50_ms": 1000 * statistics.median(p50s),
        "p95_ms": 1000 * statistics.median(p95s),
        "bytes_per_cell": disk / size,
    }


def _latencies(db: MemoryDB, queries: Sequence[str], rounds: int) -> tuple[float, float]:
    """Search p50 and p95 in ms over ``queries``, each the median of ``rounds`` rounds, after a warm-up."""
    for query in queries[:20]:
        db.search(query, limit=10)
    p50s, p95s = [], []
    for _ in range(rounds):
        latencies = []
        for query in queries:
            started = time.perf_counter()
            db.search(query, limit=10)
            latencies.append(time.perf_counter() - started)
        p50s.append(statistics.median(latencies))
        p95s.append(percentile(latencies, 0.95))
    return 1000 * statistics.median(p50s), 1000 * statistics.median(p95s)


def measure_isolation(
    big: int, folder: Path, *, small: int = 200, queries: int = 300, rounds: int = 3
) -> dict[str, float]:
    """Search latency in a small namespace alone, then beside a big one in the same file (ms)."""
    asked = synthetic_queries(queries, seed=3)
    mine = synthetic_cells(small, seed=5)
    alone = MemoryDB(folder / "alone.db", namespace="small")
    alone.add_cells(mine)
    figures = dict(zip(("alone_p50_ms", "alone_p95_ms"), _latencies(alone, asked, rounds), strict=True))
    alone.close()
    shared = MemoryDB(folder / "shared.db", namespace="small")
    shared.add_cells(mine)
    neighbour = shared.for_namespace("big")
    neighbour.add_cells(synthetic_cells(big, seed=6))
    figures.update(zip(("beside_p50_ms", "beside_p95_ms"), _latencies(shared, asked, rounds), strict=True))
    figures.update(zip(("big_p50_ms", "big_p95_ms"), _latencies(neighbour, asked, rounds), strict=True))
    shared.close()
    return {"small": small, "big": big, **figures}


def format_isolation(figures: dict[str, float]) -> str:
    """The namespace figures as a Markdown table."""
    return "\n".join(
        [
            "| search in | p50 ms | p95 ms |",
            "|---|---:|---:|",
            f"| a {figures['small']:,.0f}-cell namespace alone in its file | {figures['alone_p50_ms']:.2f}"
            f" | {figures['alone_p95_ms']:.2f} |",
            f"| the same namespace beside a {figures['big']:,.0f}-cell one | {figures['beside_p50_ms']:.2f}"
            f" | {figures['beside_p95_ms']:.2f} |",
            f"| the {figures['big']:,.0f}-cell namespace beside it | {figures['big_p50_ms']:.2f}"
            f" | {figures['big_p95_ms']:.2f} |",
        ]
    )


def format_results(results: Sequence[dict[str, float]]) -> str:
    """The figures as a Markdown table."""
    lines = [
        "| cells | bare executemany cells/s | raw executemany cells/s | memkit batch cells/s | batch / bare"
        " | batch / raw | memkit one by one cells/s | search p50 ms | search p95 ms | disk bytes/cell |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['cells']:,.0f} | {r['bare_rate']:,.0f} | {r['raw_rate']:,.0f} | {r['batch_rate']:,.0f}"
            f" | {100 * r['bare_share']:.0f}% | {100 * r['batch_share']:.0f}%"
            f" | {r['single_rate']:,.0f} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {r['bytes_per_cell']:,.0f} |"
        )
    return "\n".join(lines)


def plot(results: Sequence[dict[str, float]], path: Path) -> None:
    """Search latency (p50, p95) against the number of cells, log-scaled."""
    sizes = [r["cells"] for r in results]
    with png(path, (6.5, 4)) as axes:
        axes.plot(sizes, [r["p50_ms"] for r in results], "o-", label="p50")
        axes.plot(sizes, [r["p95_ms"] for r in results], "s-", label="p95")
        axes.axhline(5.0, color="grey", linestyle="--", linewidth=1, label="p95 target (5 ms)")
        axes.set_xscale("log")
        axes.set_xlabel("cells in the database (file, WAL)")
        axes.set_ylabel("search latency (ms)")
        axes.set_title("memkit search latency against size")
        axes.legend()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated cell counts")
    parser.add_argument("--single", type=int, default=2000, help="cells inserted one by one at each size")
    parser.add_argument("--queries", type=int, default=300, help="searches timed at each size")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of searches at each size (median reported)")
    parser.add_argument("--plot", type=Path, help="save a plot of latency against size to this PNG")
    parser.add_argument(
        "--isolation", type=int, default=200_000, help="cells of the big namespace beside a small one (0: skip)"
    )
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be comma-separated integers, got {args.sizes!r}")
    if not sizes or min(sizes) < 1:
        parser.error("--sizes needs at least one positive size")
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    print(f"memkit {memkit.__version__}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} cores")
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    results = []
    isolation = None
    with tempfile.TemporaryDirectory(prefix="memkit-bench-") as folder:
        for size in sizes:
            results.append(
                measure_size(size, Path(folder), single=args.single, queries=args.queries, rounds=args.rounds)
            )
        if args.isolation > 0:
            isolation = measure_isolation(args.isolation, Path(folder), queries=args.queries, rounds=args.rounds)
    print(format_results(results))
    if isolation is not None:
        print("\nNamespaces side by side in one file:\n")
        print(format_isolation(isolation))
    print(f"\nload average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.plot:
        plot(results, args.plot)
        print(f"plot saved to {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
