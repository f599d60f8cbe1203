"""Many clients on one memory: a SQLite file and a PostgreSQL server side by side, as they grow.

    python bench/scale.py [--sizes 10000,100000,1000000] [--clients 16] [--seconds 60]
                          [--rate 0] [--plot-dir bench/plots]

One memory of ``--namespaces`` namespaces (1,000 by default) is grown to each
size in turn, on each store, and at each size ``--clients`` processes share it
for ``--seconds`` seconds, each in a loop of:

- nine times in ten a search (``MemoryDB.search``, limit 10) of a Zipf-drawn
  question: in the **probe** namespace three times in ten, else in a random one;
- once in ten a write (``MemoryDB.add_cell``: its own transaction, with its
  history event) to a random namespace other than the probe.

With ``--rate 0`` (the default) each client starts its next call as soon as the
last returns, so the clients keep every core busy and a latency includes the
wait for a core; ``--rate N`` paces each client to N calls a second, a load the
machine can serve (a late call starts at once, and is timed from then).

The probe namespace holds 1,000 cells at every size while the others grow
around it: its search time shows whether a namespace pays for the size of the
others. It is measured twice at each size: alone (one client, 1,000 searches,
before the load), which shows what the others' size costs it, and under the
load, which adds the wait for a core. Reported per store and size: search p50/p95 (every search and the
probe's), searches and writes per second over the whole run, and failed calls.

The cells are loaded in bulk around memkit (cells, scene counts and the
full-text index, as memkit's triggers keep them, but no history events):
``executemany`` batches on SQLite; on PostgreSQL ``COPY`` with the per-row
triggers switched off, then the index and scene counts filled by one statement
each and the GIN index built afresh. The PostgreSQL server is ``--postgres URL``
(an empty database) or a throwaway cluster started for the run, on the same
machine and the same cores as the clients.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import memkit
from bench.plotting import png
from bench.speed import synthetic_cells, synthetic_queries

__all__ = ["PROBE", "grow", "load", "main"]

#: The namespace whose size stays fixed while the others grow.
PROBE = "probe"
PROBE_CELLS = 1000
_CREATED = "2024-12-31T12:00:00+00:00"
_BATCH = 50_000


def namespaces(count: int) -> list[str]:
    """The probe, then ``count - 1`` others."""
    return [PROBE, *(f"ns-{i:04d}" for i in range(count - 1))]


def _cells(start: int, count: int, names: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    """Rows ``start`` .. ``start + count`` of the memory: the probe's first, then the others at random."""
    rng = random.Random(start)
    others = names[1:]
    for offset in range(0, count, _BATCH):
        made = synthetic_cells(min(_BATCH, count - offset), seed=start + offset)
        for index, cell in enumerate(made):
            position = start + offset + index
            namespace = PROBE if position < PROBE_CELLS else rng.choice(others)
            yield (namespace, cell.scene, cell.cell_type, cell.salience, cell.content, cell.source_id,
                   cell.occurred_at, _CREATED)  # fmt: skip


_COLUMNS = "namespace, scene, cell_type, salience, content, source_id, occurred_at, created_at"


def _load_sqlite(path: str, rows: Iterator[tuple[Any, ...]]) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == _BATCH:
                _sqlite_batch(conn, batch)
                batch = []
        if batch:
            _sqlite_batch(conn, batch)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _sqlite_batch(conn: sqlite3.Connection, batch: list[tuple[Any, ...]]) -> None:
    conn.execute("BEGIN")
    conn.executemany(f"INSERT INTO mem_cells ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", batch)
    conn.execute("COMMIT")


def _load_postgres(url: str, rows: Iterator[tuple[Any, ...]]) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        last = conn.execute("SELECT COALESCE(MAX(id), 0) FROM mem_cells").fetchone()[0]  # type: ignore[index]
        conn.execute("SET maintenance_work_mem = '512MB'")
        with conn.transaction():
            index = conn.execute("SELECT pg_get_indexdef('mem_cells_fts_document'::regclass)").fetchone()[0]  # type: ignore[index]
            conn.execute("ALTER TABLE mem_cells DISABLE TRIGGER USER")
            conn.execute("DROP INDEX mem_cells_fts_document")
            with conn.cursor().copy(f"COPY mem_cells ({_COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            conn.execute(
                "INSERT INTO mem_cells_fts (id, namespace, document)"
                " SELECT id, namespace, mem_cells_document(content, scene, context) FROM mem_cells WHERE id > %s",
                (last,),
            )
            conn.execute(
                "INSERT INTO mem_scenes (namespace, scene, summary, updated_at, cell_count)"
                " SELECT namespace, scene, '', MAX(created_at), COUNT(*) FROM mem_cells WHERE id > %s"
                " GROUP BY namespace, scene ON CONFLICT (namespace, scene)"
                " DO UPDATE SET cell_count = mem_scenes.cell_count + excluded.cell_count",
                (last,),
            )
            conn.execute(index)  # built afresh as memkit's migrations define it
            conn.execute("ALTER TABLE mem_cells ENABLE TRIGGER USER")
        conn.execute("VACUUM ANALYZE mem_cells")
        conn.execute("VACUUM ANALYZE mem_cells_fts")
        conn.execute("VACUUM ANALYZE mem_scenes")


def grow(target: str, have: int, size: int, names: Sequence[str]) -> float:
    """Add cells ``have`` .. ``size`` to the memory at ``target``; return the seconds it took."""
    started = time.perf_counter()
    rows = _cells(have, size - have, names)
    if target.startswith("postgresql://"):
        _load_postgres(target, rows)
    else:
        _load_sqlite(target, rows)
    return time.perf_counter() - started


def probe_alone(target: str, searches: int = 1000) -> dict[str, float]:
    """The probe namespace's search p50/p95 (ms) with nothing else running: what its size alone costs."""
    db = memkit.MemoryDB(target)
    try:
        probe = db.for_namespace(PROBE)
        queries = synthetic_queries(500, seed=7)
        rng = random.Random(1)
        for query in queries[:100]:  # warm the caches, as a busy server's are
            probe.search(query, limit=10)
        times = []
        for _ in range(searches):
            started = time.perf_counter()
            probe.search(rng.choice(queries), limit=10)
            times.append(time.perf_counter() - started)
    finally:
        db.close()
    return {"alone_p50_ms": _ms(times, 0.50), "alone_p95_ms": _ms(times, 0.95)}


def load(
    target: str, *, clients: int, seconds: float, names: Sequence[str], seed: int = 0, rate: float = 0.0
) -> dict[str, float]:
    """``clients`` processes searching and writing for ``seconds`` (``rate`` calls a second each, 0: flat out)."""
    start_at = time.time() + 1.0 + 0.2 * clients  # time for every client to start and open the memory
    common = [str(start_at), str(seconds)]
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "client", target, *common, str(seed + i), str(len(names)), str(rate)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(clients)
    ]
    reports = []
    for child in children:
        out, _ = child.communicate()
        reports.append(json.loads(out.strip().splitlines()[-1]))
    searches = [x for r in reports for x in r["search"]]
    probe = [x for r in reports for x in r["probe"]]
    writes = sum(r["writes"] for r in reports)
    return {
        "search_p50_ms": _ms(searches, 0.50),
        "search_p95_ms": _ms(searches, 0.95),
        "probe_p50_ms": _ms(probe, 0.50),
        "probe_p95_ms": _ms(probe, 0.95),
        "searches_per_s": len(searches) / seconds,
        "writes_per_s": writes / seconds,
        "write_p95_ms": _ms([x for r in reports for x in r["write"]], 0.95),
        "errors": sum(r["errors"] for r in reports),
    }


def _ms(values: Sequence[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def _client(target: str, start_at: float, seconds: float, seed: int, count: int, rate: float) -> None:
    """One client process: search and write until the time is up; print its latencies as JSON."""
    rng = random.Random(seed)
    names = namespaces(count)
    queries = synthetic_queries(500, seed=seed)
    db = memkit.MemoryDB(target, timeout=30)
    views = {name: db.for_namespace(name) for name in names}
    search, probe, write = [], [], []
    errors = writes = 0
    time.sleep(max(0.0, start_at - time.time()))
    deadline = start_at + seconds
    due = time.time()
    while time.time() < deadline:
        if rate:
            time.sleep(max(0.0, due - time.time()))
            due += 1.0 / rate
        started = time.perf_counter()
        try:
            if rng.random() < 0.1:
                view = views[rng.choice(names[1:])]
                view.add_cell(scene=f"scene-{rng.randrange(50)}", cell_type="fact", salience=0.5,
                              content=f"{rng.choice(queries)} noted by client {seed}")  # fmt: skip
                write.append(time.perf_counter() - started)
                writes += 1
            else:
                name = PROBE if rng.random() < 0.3 else rng.choice(names)
                views[name].search(rng.choice(queries), limit=10)
                (probe if name == PROBE else search).append(time.perf_counter() - started)
        except memkit.MemkitError:
            errors += 1
    db.close()
    print(json.dumps({"search": search + probe, "probe": probe, "write": write, "writes": writes, "errors": errors}))


def format_results(results: Sequence[dict[str, Any]]) -> str:
    """The figures as a Markdown table, one row per store and size."""
    lines = [
        "| store | cells | load s | probe alone p50 / p95 ms | search p50 ms | search p95 ms | probe p50 ms"
        " | probe p95 ms | searches/s | writes/s | write p95 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['store']} | {r['cells']:,} | {r['load_s']:.0f} | {r['alone_p50_ms']:.2f} / {r['alone_p95_ms']:.2f}"
            f" | {r['search_p50_ms']:.1f} | {r['search_p95_ms']:.1f}"
            f" | {r['probe_p50_ms']:.1f} | {r['probe_p95_ms']:.1f} | {r['searches_per_s']:,.0f}"
            f" | {r['writes_per_s']:,.0f} | {r['write_p95_ms']:.1f} | {r['errors']} |"
        )
    return "\n".join(lines)


def plot(results: Sequence[dict[str, Any]], folder: Path, rate: float = 0.0, clients: int = 16) -> list[Path]:
    """Search p95 and writes per second against size, one line per store (files named after the pace)."""
    suffix, pace = (f"_paced_{rate:g}", f"each client {rate:g} calls/s") if rate else ("", "clients flat out")
    stores = sorted({r["store"] for r in results})
    paths = [folder / f"scale_search_p95{suffix}.png", folder / f"scale_writes{suffix}.png"]
    with png(paths[0], (6.5, 4)) as axes:
        for store in stores:
            rows = [r for r in results if r["store"] == store]
            axes.plot([r["cells"] for r in rows], [r["search_p95_ms"] for r in rows], "o-", label=f"{store}: all")
            axes.plot([r["cells"] for r in rows], [r["probe_p95_ms"] for r in rows], "s--", label=f"{store}: probe")
        axes.axhline(20.0, color="grey", linestyle=":", linewidth=1, label="target (20 ms)")
        axes.set_xscale("log")
        axes.set_xlabel("cells in the memory (1,000 namespaces)")
        axes.set_ylabel("search p95 under load (ms)")
        axes.set_title(f"Search p95, {clients} clients searching and writing ({pace})")
        axes.legend(fontsize=8)
    with png(paths[1], (6.5, 4)) as axes:
        for store in stores:
            rows = [r for r in results if r["store"] == store]
            axes.plot([r["cells"] for r in rows], [r["writes_per_s"] for r in rows], "o-", label=store)
        axes.set_xscale("log")
        axes.set_xlabel("cells in the memory (1,000 namespaces)")
        axes.set_ylabel("writes per second (each its own transaction)")
        axes.set_title(f"Writes per second, {clients} clients searching and writing ({pace})")
        axes.legend(fontsize=8)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated cell counts, growing")
    parser.add_argument("--namespaces", type=int, default=1000, help="namespaces the cells are spread over")
    parser.add_argument("--clients", type=int, default=16, help="client processes sharing the memory")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the clients run at each size")
    parser.add_argument("--rate", type=float, default=0.0, help="calls a second per client (0: as fast as it can)")
    parser.add_argument("--stores", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--postgres", help="an empty PostgreSQL database (default: a throwaway cluster)")
    parser.add_argument("--plot-dir", type=Path, help="save the plots into this folder")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be comma-separated integers, got {args.sizes!r}")
    if not sizes or sizes != sorted(sizes) or sizes[0] < PROBE_CELLS:
        parser.error(f"--sizes must grow, from at least {PROBE_CELLS} (the probe namespace's cells)")
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if not stores or set(stores) - {"sqlite", "postgres"}:
        parser.error(f"--stores must name sqlite and/or postgres, got {args.stores!r}")
    if args.namespaces < 2:
        parser.error("--namespaces must be at least 2 (the probe and another)")
    names = namespaces(args.namespaces)
    pace = f"{args.rate:g} calls/s each" if args.rate else "flat out"
    print(f"memkit {memkit.__version__}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} cores; {args.clients}"
          f" clients ({pace}) for {args.seconds:g} s at each size, {args.namespaces} namespaces")  # fmt: skip
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    results: list[dict[str, Any]] = []
    cluster = None
    with tempfile.TemporaryDirectory(prefix="memkit-scale-") as folder:
        try:
            for store in stores:
                if store == "sqlite":
                    target = str(Path(folder) / "memory.db")
                elif args.postgres:
                    target = args.postgres
                else:
                    from bench.pg_cluster import start_cluster

                    cluster = start_cluster(settings={"shared_buffers": "512MB"})
                    target = cluster.create_database("scale")
                    print(f"PostgreSQL: {cluster.psql('SHOW server_version').split()[2]} (throwaway cluster)")
                memkit.MemoryDB(target).close()  # the schema
                have = 0
                for size in sizes:
                    took = grow(target, have, size, names)
                    have = size
                    alone = probe_alone(target)
                    figures = load(target, clients=args.clients, seconds=args.seconds, names=names, rate=args.rate)
                    results.append({"store": store, "cells": size, "load_s": took, **alone, **figures})
                    print(format_results(results[-1:]).splitlines()[-1], flush=True)
        finally:
            if cluster is not None:
                cluster.stop()
    print()
    print(format_results(results))
    by = {(r["store"], r["cells"]): r for r in results}
    for store in stores:
        small, big = by.get((store, sizes[0])), by.get((store, sizes[-1]))
        if small and big:
            print(f"\n{store}: probe p95 {small['probe_p95_ms']:.1f} ms at {sizes[0]:,} cells,"
                  f" {big['probe_p95_ms']:.1f} ms at {sizes[-1]:,}")  # fmt: skip
    print(f"\nload average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.plot_dir:
        for path in plot(results, args.plot_dir, args.rate, args.clients):
            print(f"plot saved to {path}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        _client(
            sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
        )
    else:
        raise SystemExit(main())
