"""Reliability figures: threads and processes on one file, SIGKILL mid-update, fuzzing.

Run ``python bench/reliability.py`` (a few minutes; ``--quick`` for a short run).
It prints how many threads, processes, operations, kills and fuzz cases were
run and how many writes were lost (the answer should be none). The tests in
``tests/test_concurrency.py`` and ``tests/test_crash.py`` run the same code
with smaller numbers.

Every write is made with a content that names it, by a model whose replies
are known in advance (:class:`memkit.testing.KnownModel`, the oracle the tests
use too), so after the run the database
can be compared with what must be there, exactly: every cell, every
exchange with all of its cells or none, and a full-text index that matches
the table (:meth:`memkit.MemoryDB.check_integrity`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import memkit
from memkit import MemoryDB, MemoryManager, NewCell, WorkerAgent
from memkit.migrations import MIGRATIONS
from memkit.testing import NAMESPACE, KnownModel, check_exchanges, exchange_text, properties

_WORDS = ["budget", "garden", "thesis", "kitchen", "holiday", "invoice", "piano", "bicycle", "coral", "lantern"]


# -- concurrency: threads and processes on one file ------------------------------


@dataclass
class Tally:
    """What the threads of one process did, and what they expect to find afterwards."""

    expected: dict[str, int | None] = field(default_factory=dict)  # content -> id (None: id not known)
    writes: int = 0
    reads: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expect(self, content: str, cell_id: int | None) -> None:
        with self.lock:
            self.expected[content] = cell_id
            self.writes += 1

    def forget(self, content: str) -> None:
        with self.lock:
            del self.expected[content]
            self.writes += 1

    def read(self) -> None:
        with self.lock:
            self.reads += 1

    def error(self, where: str, exc: BaseException) -> None:
        with self.lock:
            self.errors.append(f"{where}: {type(exc).__name__}: {exc}")


def _cell_writer(db: MemoryDB, tally: Tally, tag: str, stop: float, seed: int) -> None:
    """Add cells one by one and in batches, edit and delete some of its own."""
    rng = random.Random(seed)
    mine: list[tuple[int, str]] = []
    n = 0
    while time.monotonic() < stop:
        n += 1
        try:
            choice = rng.random()
            if choice < 0.45 or not mine:
                content = f"Writer {tag} cell {n} about the {rng.choice(_WORDS)}."
                cell_id = db.add_cell(scene=rng.choice(_WORDS), cell_type="fact", salience=0.5, content=content)
                tally.expect(content, cell_id)
                mine.append((cell_id, content))
            elif choice < 0.75:
                contents = [f"Writer {tag} batch {n} cell {j} about the {rng.choice(_WORDS)}." for j in range(3)]
                ids = db.add_cells([NewCell(rng.choice(_WORDS), "plan", 0.4, c) for c in contents])
                for cell_id, content in zip(ids, contents, strict=True):
                    tally.expect(content, cell_id)
                    mine.append((cell_id, content))
            elif choice < 0.9:
                index = rng.randrange(len(mine))
                cell_id, old = mine[index]
                content = f"Writer {tag} edit {n} about the {rng.choice(_WORDS)}."
                with db.transaction():  # the edit and its bookkeeping commit together or not at all
                    db.update_cell(cell_id, content=content, scene=rng.choice(_WORDS))
                tally.forget(old)
                tally.expect(content, cell_id)
                mine[index] = (cell_id, content)
            else:
                cell_id, old = mine.pop(rng.randrange(len(mine)))
                db.delete_cell(cell_id)  # raises CellNotFoundError if it vanished before
                tally.forget(old)
        except Exception as exc:
            tally.error(f"writer {tag}", exc)
            return


def _chat(db: MemoryDB, tally: Tally, tag: str, stop: float, seed: int) -> None:
    """The chat box: answer messages while memory updates in the background."""
    rng = random.Random(seed)
    agent = WorkerAgent(MemoryManager(db, KnownModel()), background=True)
    n = 0
    try:
        while time.monotonic() < stop:
            n += 1
            agent.answer(exchange_text(f"{tag}.{n}", rng.randint(0, 4)))
            tally.read()
        for result in agent.wait(timeout=60):
            for cell in result.cells:
                tally.expect(cell.content, cell.id)
    except Exception as exc:
        tally.error(f"chat {tag}", exc)
    finally:
        agent.close()


def _reader(db: MemoryDB, tally: Tally, stop: float, seed: int) -> None:
    """A notebook cell reading the tables while everything else writes."""
    rng = random.Random(seed)
    while time.monotonic() < stop:
        try:
            query = rng.choice([*_WORDS, "writer cell", "exchange", "zebra", "budget OR (kitchen"])
            for hit in db.search(query, limit=5):
                if db.get_cell(hit.id) is None and hit.matched:
                    pass  # deleted since the search: allowed
            db.list_cells(limit=20)
            db.list_scenes()
            db.count_cells()
            tally.read()
        except Exception as exc:
            tally.error("reader", exc)
            return


def run_threads(path: str, seconds: float, writers: int, readers: int, tag: str, seed: int = 0) -> Tally:
    """Writers, a chat box with background updates and readers on one MemoryDB for ``seconds``.

    One reader uses a second MemoryDB on the same file (its own connection).
    """
    tally = Tally()
    db = MemoryDB(path, namespace=NAMESPACE)
    other = MemoryDB(path, namespace=NAMESPACE) if path != ":memory:" else db
    stop = time.monotonic() + seconds
    threads = [
        threading.Thread(target=_cell_writer, args=(db, tally, f"{tag}w{i}", stop, seed + i)) for i in range(writers)
    ]
    threads.append(threading.Thread(target=_chat, args=(db, tally, f"{tag}c", stop, seed + 100)))
    threads += [
        threading.Thread(target=_reader, args=(other if i == 0 else db, tally, stop, seed + 200 + i))
        for i in range(readers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if other is not db:
        other.close()
    db.close()
    return tally


@dataclass
class StressReport:
    """The outcome of :func:`stress`."""

    threads: int
    processes: int
    seconds: float
    writes: int
    reads: int
    cells: int
    exchanges: int
    lost: int
    unexpected: int
    errors: list[str]
    problems: list[str]


def stress(
    path: str | os.PathLike[str], *, seconds: float = 2.0, writers: int = 3, readers: int = 2, processes: int = 2
) -> StressReport:
    """Hammer one database file from threads here and in ``processes - 1`` other processes.

    Each process runs ``writers`` cell writers, a chat box with background
    updates and ``readers`` readers. Then the file is checked: every cell
    written (and not deleted) is there with its content, nothing else is,
    every exchange has all its cells, and :meth:`MemoryDB.check_integrity`
    finds nothing.
    """
    path = os.fspath(path)
    MemoryDB(path).close()  # create the file first, as the chat box would
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "threads", path, str(seconds), str(writers), str(readers), f"p{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(1, processes)
    ]
    tally = run_threads(path, seconds, writers, readers, "p0")
    for child in children:
        out, err = child.communicate(timeout=120 + seconds)
        if child.returncode != 0:
            tally.errors.append(f"process exited {child.returncode}: {err.strip()[-500:]}")
            continue
        report = json.loads(out)
        tally.expected.update(report["expected"])
        tally.writes += report["writes"]
        tally.reads += report["reads"]
        tally.errors += report["errors"]
    with MemoryDB(path, namespace=NAMESPACE) as db:
        found = {cell.content: cell.id for cell in db.list_cells()}
        lost = [c for c, i in tally.expected.items() if c not in found or (i is not None and found[c] != i)]
        unexpected = [c for c in found if c not in tally.expected]
        problems = db.check_integrity() + check_exchanges(db, all_done=True)
        exchanges = len(db.query_rows("SELECT id FROM mem_exchanges WHERE namespace = ?", (NAMESPACE,)))
    return StressReport(
        threads=processes * (writers + readers + 2),  # + the chat thread and its background updater
        processes=processes,
        seconds=seconds,
        writes=tally.writes,
        reads=tally.reads,
        cells=len(found),
        exchanges=exchanges,
        lost=len(lost),
        unexpected=len(unexpected),
        errors=tally.errors,
        problems=problems + [f"lost: {c}" for c in lost[:5]] + [f"unexpected: {c}" for c in unexpected[:5]],
    )


def _open_child(path: str, start: float, tag: str) -> None:
    """Wait for ``start``, then open (perhaps create) the file and write one cell."""
    time.sleep(max(0.0, start - time.time()))
    try:
        with MemoryDB(path, namespace=NAMESPACE) as db:
            db.add_cell(scene="opening", cell_type="fact", salience=0.5, content=f"Opened by {tag}.")
        print("ok")
    except memkit.MemkitError as exc:
        print(f"{type(exc).__name__}: {exc}")


def open_race(folder: str | os.PathLike[str], *, rounds: int = 5, processes: int = 4) -> list[str]:
    """``processes`` programs create and open one new file at the same moment, ``rounds`` times.

    Returns the problems: an error in a program, a migration applied twice,
    a missing cell, an integrity problem (empty when all went well).
    """
    problems = []
    for round_ in range(rounds):
        path = os.path.join(os.fspath(folder), f"race{round_}.db")
        start = time.time() + 0.5
        children = [
            subprocess.Popen(
                [sys.executable, __file__, "open-child", path, str(start), f"r{round_}p{i}"],
                stdout=subprocess.PIPE,
                text=True,
            )
            for i in range(processes)
        ]
        outcomes = [child.communicate(timeout=60)[0].strip() for child in children]
        problems += [f"round {round_}: {outcome}" for outcome in outcomes if outcome != "ok"]
        with MemoryDB(path, namespace=NAMESPACE) as db:
            cells = sorted(cell.content for cell in db.list_cells())
            wanted = sorted(f"Opened by r{round_}p{i}." for i in range(processes))
            if cells != wanted:
                problems.append(f"round {round_}: cells {cells}, expected {wanted}")
            recorded = [row[0] for row in db.query_rows("SELECT name FROM _memkit_migrations ORDER BY rowid")]
            if recorded != [name for name, _ in MIGRATIONS]:
                problems.append(f"round {round_}: migrations recorded {recorded}")
            problems += [f"round {round_}: {problem}" for problem in db.check_integrity()]
    return problems


# -- crash safety: SIGKILL in the middle of updates -------------------------------


def _crash_child(path: str, tag: str) -> None:
    """Remember exchanges (and retry interrupted ones) until killed."""
    db = MemoryDB(path, namespace=NAMESPACE)
    manager = MemoryManager(db, KnownModel())
    print("ready", flush=True)
    rng = random.Random(tag)
    n = 0
    while True:
        n += 1
        if n % 5 == 0:
            manager.retry_failed()
        manager.update(exchange_text(f"{tag}.{n}", rng.randint(1, 6)), "ok")


@dataclass
class CrashReport:
    """The outcome of :func:`crash`."""

    kills: int
    during_open: int
    interrupted_exchanges: int
    exchanges: int
    cells: int
    lost: int
    problems: list[str]
    owed_summaries: int = 0  # scene summaries found owed after a kill (each written later by retry_failed)


def crash(path: str | os.PathLike[str], *, kills: int = 10, max_delay: float = 0.3, seed: int = 0) -> CrashReport:
    """Start a process that updates memory, SIGKILL it at a random moment, check the file; ``kills`` times.

    After every kill the file must open, pass :meth:`MemoryDB.check_integrity`,
    and hold, for every exchange, all of its cells (done) or none (pending,
    to be retried). One kill in four lands while the process is still
    opening (and, the first time, creating) the file. At the end,
    ``retry_failed()`` must leave every exchange done and no summary owed.
    """
    path = os.fspath(path)
    rng = random.Random(seed)
    problems: list[str] = []
    interrupted = during_open = owed = 0
    done_before = 0
    for kill in range(kills):
        child = subprocess.Popen(
            [sys.executable, __file__, "crash-child", path, f"k{kill}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert child.stdout is not None
        if rng.random() < 0.25:
            time.sleep(rng.uniform(0, 0.05))
            during_open += 1
        else:
            child.stdout.readline()
            time.sleep(rng.uniform(0, max_delay))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        try:
            with MemoryDB(path, namespace=NAMESPACE) as db:
                found = db.check_integrity() + check_exchanges(db, all_done=False)
                problems += [f"after kill {kill + 1}: {p}" for p in found]
                interrupted += len(db.unfinished_exchanges())
                owed += len(db.query_rows("SELECT scene FROM mem_owed_summaries"))
                done = db.query_rows("SELECT COUNT(*) FROM mem_exchanges WHERE status = 'done'")[0][0]
                if done < done_before:
                    problems.append(f"after kill {kill + 1}: {done_before - done} done exchanges vanished")
                done_before = done
        except memkit.MemkitError as exc:
            problems.append(f"after kill {kill + 1}: the file does not open: {exc}")
    with MemoryDB(path, namespace=NAMESPACE) as db:
        MemoryManager(db, KnownModel()).retry_failed()
        left = db.query_rows("SELECT scene FROM mem_owed_summaries") + db.query_rows(
            "SELECT id FROM mem_exchanges WHERE status != 'done'"
        )
        problems += [f"after retry_failed(): {len(left)} exchanges or summaries still unfinished"] if left else []
        problems += [f"after retry_failed(): {p}" for p in db.check_integrity() + check_exchanges(db, all_done=True)]
        exchanges = len(db.query_rows("SELECT id FROM mem_exchanges"))
        cells = db.count_cells()
    return CrashReport(kills, during_open, interrupted, exchanges, cells, len(problems), problems, owed)


# -- fuzzing ----------------------------------------------------------------------


#: Pieces of model replies, so the fuzzer builds almost-JSON as often as noise.
def fuzz(cases: int) -> dict[str, int]:
    """Run every property with ``cases`` examples; return how many ran. Raises on the first failure."""
    from hypothesis import HealthCheck, given, settings

    counts: dict[str, int] = {}
    for name, (strategy, check) in properties().items():
        seen: list[object] = []
        settings(max_examples=cases, deadline=None, suppress_health_check=list(HealthCheck))(
            given(strategy)(_counted(check, seen))
        )()
        counts[name] = len(seen)
    return counts


def _counted(check: Callable[[Any], None], seen: list[object]) -> Callable[[Any], None]:
    def run(value: Any) -> None:
        seen.append(value)
        check(value)

    return run


# -- the command line -------------------------------------------------------------


def _print_stress(report: StressReport) -> None:
    print(
        f"concurrency: {report.threads} threads in {report.processes} processes on one file for"
        f" {report.seconds:g} s: {report.writes} writes, {report.reads} reads, {report.exchanges} exchanges;"
        f" {report.cells} cells checked, {report.lost} lost, {report.unexpected} unexpected,"
        f" {len(report.errors)} errors, {len(report.problems)} integrity problems"
    )
    for line in report.errors[:5] + report.problems[:5]:
        print(f"  {line}")


def _print_crash(report: CrashReport) -> None:
    print(
        f"crash safety: {report.kills} SIGKILLs ({report.during_open} while opening);"
        f" {report.interrupted_exchanges} exchanges caught mid-update, {report.owed_summaries} summaries owed,"
        f" {report.exchanges} exchanges and {report.cells} cells checked after every kill, all finished by"
        f" retry_failed(); {report.lost} problems"
    )
    for line in report.problems[:5]:
        print(f"  {line}")


def main(argv: list[str] | None = None) -> int:
    """Print the reliability figures; exit 1 if anything was lost."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (seconds, not minutes)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    seconds, rounds, kills, cases = (3.0, 5, 20, 300) if args.quick else (30.0, 30, 200, 3000)
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        report = stress(Path(folder) / "stress.db", seconds=seconds, writers=4, readers=3, processes=2)
        _print_stress(report)
        failed |= bool(report.lost or report.unexpected or report.errors or report.problems)
        raced = open_race(folder, rounds=rounds, processes=4)
        print(f"opening: {rounds} times 4 programs created and opened one new file at once; {len(raced)} problems")
        for line in raced[:5]:
            print(f"  {line}")
        failed |= bool(raced)
        crashed = crash(Path(folder) / "crash.db", kills=kills, seed=args.seed)
        _print_crash(crashed)
        failed |= bool(crashed.problems)
        counts = fuzz(cases)
        print(
            f"fuzzing: {sum(counts.values())} cases ("
            + ", ".join(f"{name} {n}" for name, n in counts.items())
            + "), 0 failures"
        )
        print(f"total time {time.perf_counter() - started:.0f} s; {'FAILED' if failed else 'nothing lost'}")
    return 1 if failed else 0


def _child(argv: list[str]) -> None:
    """Entry points of the processes this script starts."""
    if argv[0] == "crash-child":
        _crash_child(argv[1], argv[2])
    elif argv[0] == "open-child":
        _open_child(argv[1], float(argv[2]), argv[3])
    elif argv[0] == "threads":
        path, seconds, writers, readers, tag = argv[1], float(argv[2]), int(argv[3]), int(argv[4]), argv[5]
        tally = run_threads(path, seconds, writers, readers, tag, seed=sum(map(ord, tag)))
        print(
            json.dumps(
                {"expected": tally.expected, "writes": tally.writes, "reads": tally.reads, "errors": tally.errors}
            )
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("crash-child", "open-child", "threads"):
        _child(sys.argv[1:])
    else:
        sys.exit(main())
