"""Retrieval quality on long conversations: evidence recall@k and hit@k, memkit against baselines.

    python bench/retrieval_quality.py [--locomo PATH] [--plot bench/plots/recall_by_category.png]

Every system indexes the same turns of each conversation and answers the same
questions (categories 1-4; category 5 has no answer in the conversation):

- ``tutorial``: the tutorial's search (FTS5, OR of every word, no ranking);
- ``fts5-bm25``: FTS5 with the porter stemmer, stopwords dropped, ORDER BY bm25;
- ``bm25okapi``: rank_bm25's BM25Okapi over the raw turns;
- ``memkit-turns``: memkit storing each turn as one cell (``add_cells``), ``search``;
- ``memkit-ingest``: memkit's whole pipeline (``MemoryManager.ingest`` through
  the offline engine), ``search``, hits mapped back to turns by ``source_id``;
- ``memkit-turns-postgres`` (asked for by name only): ``memkit-turns`` on the PostgreSQL
  store, each conversation a namespace of one database: the same cues, ``ts_rank_cd`` instead
  of bm25. The server is ``--postgres URL``, else a throwaway cluster started for the run.
- ``dense-turns``: each turn embedded as ``Speaker: text`` with all-MiniLM-L6-v2, ranked by
  cosine similarity to the question (:mod:`memkit.dense`);
- ``hybrid-turns``: ``memkit-turns`` and ``dense-turns`` merged by reciprocal-rank fusion.

The last two run only when the ``dense`` extra is installed (``pip install -e ".[dense]"``); the
turns are embedded on the fly, and no embedding of LoCoMo is stored.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import memkit
from bench.locomo import Conversation, Turn, find_locomo, read_locomo
from bench.plotting import png
from bench.tutorial import TutorialMemoryDB
from memkit import dense
from memkit.datasets import Question
from memkit.evaluation import DEFAULT_KS, RetrievalReport, memkit_search, score_retrieval
from memkit.retrieval import STOPWORDS

__all__ = ["CATEGORY_NAMES", "HALVES", "SERVER_SYSTEMS", "SYSTEMS", "half", "main", "measure"]

#: What LoCoMo's question categories ask for.
CATEGORY_NAMES = {"1": "multi-hop", "2": "temporal", "3": "open-domain", "4": "single-hop", "all": "overall"}

Search = Callable[[str, int], Sequence[str]]


def _end_of(conversation: Conversation) -> datetime:
    dates = [t.occurred_at for t in conversation.turns if t.occurred_at]
    return datetime.fromisoformat(max(dates)) if dates else datetime(2024, 1, 1)


def tutorial_search(conversation: Conversation, captions: bool) -> Search:
    """The tutorial's storage and search; its rows are mapped back to turns by their content."""
    db = TutorialMemoryDB()
    by_content: dict[str, str] = {}
    for turn in conversation.turns:
        content = turn.unit(captions=captions)
        db.insert_cell({"scene": f"session-{turn.session}", "cell_type": "fact", "salience": 0.5, "content": content})
        by_content.setdefault(json.dumps(content), turn.source_id)

    def search(query: str, k: int) -> list[str]:
        try:
            rows = db.retrieve_scene_context(query, limit=k)
        except sqlite3.OperationalError:  # an FTS5 keyword in the question: the tutorial's search fails
            return []
        return [by_content[row["content"]] for row in rows]

    return search


def fts5_bm25_search(conversation: Conversation, captions: bool) -> Search:
    """Plain FTS5: porter stemmer, stopwords dropped, OR of the words, ORDER BY bm25."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE turns USING fts5(content, source_id UNINDEXED, tokenize='porter unicode61')")
    db.executemany(
        "INSERT INTO turns VALUES (?, ?)", [(t.unit(captions=captions), t.source_id) for t in conversation.turns]
    )

    def search(query: str, k: int) -> list[str]:
        words = [w for w in re.findall(r"[a-zA-Z0-9]+", query) if w.lower() not in STOPWORDS]
        if not words:
            return []
        expression = " OR ".join(f'"{w}"' for w in words)
        rows = db.execute(
            "SELECT source_id FROM turns WHERE turns MATCH ? ORDER BY bm25(turns) LIMIT ?", (expression, k)
        )
        return [row[0] for row in rows]

    return search


def bm25okapi_search(conversation: Conversation, captions: bool) -> Search:
    """rank_bm25's BM25Okapi over the raw turns (lower-cased words, nothing dropped)."""
    from rank_bm25 import BM25Okapi

    def tokens(text: str) -> list[str]:
        return re.findall(r"\w+", text.lower())

    ids = [t.source_id for t in conversation.turns]
    index = BM25Okapi([tokens(t.unit(captions=captions)) for t in conversation.turns])

    def search(query: str, k: int) -> list[str]:
        scores = index.get_scores(tokens(query))
        order = sorted(range(len(ids)), key=lambda i: (-scores[i], i))
        return [ids[i] for i in order[:k]]

    return search


#: The ranking memkit systems search with (``--ranking`` changes it, to measure one idea at a time).
RANKING = memkit.Ranking()


def exchange_context(turns: Sequence[Turn], index: int, captions: bool) -> str | None:
    """The turns either side of ``turns[index]`` in its session: the exchange it belongs to."""
    here = turns[index]
    around = [
        turns[i].message(captions=captions)
        for i in (index - 1, index + 1)
        if 0 <= i < len(turns) and turns[i].session == here.session
    ]
    return " ".join(around) or None


def memkit_turns_db(
    conversation: Conversation, captions: bool, target: str = ":memory:", namespace: str = "default"
) -> memkit.MemoryDB:
    """memkit, each turn one cell in its session's scene, dated, with the turns around it as context."""
    db = memkit.MemoryDB(target, namespace=namespace, clock=memkit.ManualClock(_end_of(conversation)), ranking=RANKING)
    turns = conversation.turns
    db.add_cells(
        memkit.NewCell(
            scene=f"session-{turn.session}",
            cell_type="fact",
            salience=0.5,
            content=f"{turn.speaker}: {turn.message(captions=captions)}",
            source_id=turn.source_id,
            occurred_at=turn.occurred_at,
            context=exchange_context(turns, index, captions),
        )
        for index, turn in enumerate(turns)
    )
    return db


def memkit_ingest_db(conversation: Conversation, captions: bool) -> memkit.MemoryDB:
    """memkit's whole pipeline: the conversation ingested through the offline engine."""
    db = memkit.MemoryDB(clock=memkit.ManualClock(_end_of(conversation)), ranking=RANKING)
    manager = memkit.MemoryManager(db, "offline")
    manager.ingest(
        [
            {"speaker": t.speaker, "text": t.message(captions=captions), "id": t.source_id, "time": t.occurred_at}
            for t in conversation.turns
        ],
        progress=False,
    )
    return db


def memkit_turns_search(conversation: Conversation, captions: bool) -> Search:
    """``memkit.MemoryDB.search`` over :func:`memkit_turns_db` (one cell per turn)."""
    return memkit_search(memkit_turns_db(conversation, captions), overfetch=1)


#: The PostgreSQL database ``memkit-turns-postgres`` writes to (set by :func:`main`, or by the caller).
POSTGRES_URL: str | None = None


def memkit_turns_postgres_search(conversation: Conversation, captions: bool) -> Search:
    """:func:`memkit_turns_search` on the PostgreSQL store, the conversation in a namespace of its own."""
    if POSTGRES_URL is None:
        raise SystemExit("memkit-turns-postgres needs a server: pass --postgres URL")
    namespace = f"{conversation.name}-{'captions' if captions else 'plain'}"
    db = memkit.MemoryDB(POSTGRES_URL, namespace=namespace)
    if db.count_cells(include_history=True) == 0:
        db.close()
        db = memkit_turns_db(conversation, captions, POSTGRES_URL, namespace)
    else:
        db.close()
        db = memkit.MemoryDB(
            POSTGRES_URL, namespace=namespace, clock=memkit.ManualClock(_end_of(conversation)), ranking=RANKING
        )
    return memkit_search(db, overfetch=1)


def memkit_ingest_search(conversation: Conversation, captions: bool) -> Search:
    """``memkit.MemoryDB.search`` over :func:`memkit_ingest_db`, hits mapped back to turns by source_id."""
    return memkit_search(memkit_ingest_db(conversation, captions))


#: The cues measured one at a time by ``--ablation`` (each set to 0, the rest as they are).
ABLATION = (
    "context_weight",
    "scene_signal_weight",
    "subject_weight",
    "time_weight",
    "date_weight",
    "recency_weight",
    "salience_weight",
)


def ablation(conversations: Sequence[Conversation], captions: bool, k: int = 10, fetch: int = max(DEFAULT_KS)) -> str:
    """recall@k of both memkit systems with all cues, then with each cue switched off (a Markdown table)."""
    builders = {"memkit-turns": (memkit_turns_db, 1), "memkit-ingest": (memkit_ingest_db, 3)}
    built = {name: [build(c, captions) for c in conversations] for name, (build, _) in builders.items()}
    variants: list[tuple[str, memkit.Ranking]] = [("(all cues, as shipped)", RANKING)]
    variants += [(f"{knob} = 0", dataclasses.replace(RANKING, **{knob: 0})) for knob in ABLATION]
    variants.append(
        ("all cues off (bm25 on 3 columns only)", dataclasses.replace(RANKING, **dict.fromkeys(ABLATION[1:], 0)))
    )
    lines = [f"| ranking | {' | '.join(f'{name} recall@{k}' for name in builders)} |", "|---|---:|---:|"]
    for label, ranking in variants:
        figures = []
        for name, (_, overfetch) in builders.items():
            found: list[tuple[Question, Sequence[str]]] = []
            for conversation, db in zip(conversations, built[name], strict=True):
                db.ranking = ranking
                search = memkit_search(db, overfetch=overfetch)
                found += [(q, search(q.question, fetch)) for q in conversation.questions]  # as the main run
            figures.append(f"{score_retrieval(found, (k,)).recall['all'][k]:.1f}")
        lines.append(f"| {label} | {' | '.join(figures)} |")
    return "\n".join(lines)


def dense_turns_search(conversation: Conversation, captions: bool) -> Search:
    """all-MiniLM-L6-v2 over the turns (``Speaker: text``, as memkit-turns stores them), by cosine similarity."""
    from memkit.dense import compute_embeddings, dense_sources

    turns = conversation.turns
    texts = [f"{t.speaker}: {t.message(captions=captions)}" for t in turns]
    questions = [q.question for q in conversation.questions]
    return dense_sources(compute_embeddings([t.source_id for t in turns], texts, questions))


def hybrid_turns_search(conversation: Conversation, captions: bool) -> Search:
    """memkit-turns and dense-turns, merged by reciprocal-rank fusion (each asked for 20 turns at least)."""
    from memkit.dense import hybrid_sources

    return hybrid_sources(memkit_turns_search(conversation, captions), dense_turns_search(conversation, captions))


SYSTEMS: dict[str, Callable[[Conversation, bool], Search]] = {
    "tutorial": tutorial_search,
    "fts5-bm25": fts5_bm25_search,
    "bm25okapi": bm25okapi_search,
    "memkit-turns": memkit_turns_search,
    "memkit-ingest": memkit_ingest_search,
}
#: Systems that need a PostgreSQL server: run only when named in ``--systems``.
SERVER_SYSTEMS: dict[str, Callable[[Conversation, bool], Search]] = {
    "memkit-turns-postgres": memkit_turns_postgres_search,
}
if dense.available():  # the optional extra: PyTorch and the model's weights
    SYSTEMS.update({"dense-turns": dense_turns_search, "hybrid-turns": hybrid_turns_search})


#: The two halves of a LoCoMo file: one to tune rules and weights on, one to report on.
HALVES = ("tune", "report")


def half(conversations: Sequence[Conversation], which: str | None) -> list[Conversation]:
    """The conversations of one half (alternating, so each half has early and late ones), or all."""
    if which is None:
        return list(conversations)
    return list(conversations[HALVES.index(which) :: 2])


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def measure(
    conversations: Sequence[Conversation],
    systems: Sequence[str],
    *,
    ks: Sequence[int] = DEFAULT_KS,
    captions: bool = True,
) -> dict[str, tuple[RetrievalReport, dict[str, float]]]:
    """Each system's report over all conversations, with its build time (s) and search latency (ms)."""
    deepest = max(ks)
    results = {}
    for name in systems:
        found: list[tuple[Question, Sequence[str]]] = []
        latencies: list[float] = []
        built = 0.0
        for conversation in conversations:
            started = time.perf_counter()
            search = {**SYSTEMS, **SERVER_SYSTEMS}[name](conversation, captions)
            built += time.perf_counter() - started
            for question in conversation.questions:
                started = time.perf_counter()
                found.append((question, search(question.question, deepest)))
                latencies.append(time.perf_counter() - started)
        timing = {
            "build_s": built,
            "messages_per_s": sum(len(c.turns) for c in conversations) / built if built else float("nan"),
            "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * percentile(latencies, 0.95),
        }
        results[name] = (score_retrieval(found, ks), timing)
    return results


def format_results(results: dict[str, tuple[RetrievalReport, dict[str, float]]]) -> str:
    """The figures as two Markdown tables: overall recall/hit at each k, and recall@10 per category."""
    names = list(results)
    first = results[names[0]][0]
    ks = first.ks
    lines = [
        "| system | "
        + " | ".join(f"recall@{k}" for k in ks)
        + " | "
        + " | ".join(f"hit@{k}" for k in ks)
        + " | search p50 ms | p95 ms | build s | messages/s |",
        "|---" * (3 + 2 * len(ks) + 2) + "|",
    ]
    for name in names:
        report, timing = results[name]
        lines.append(
            f"| {name} | "
            + " | ".join(f"{report.recall['all'][k]:.1f}" for k in ks)
            + " | "
            + " | ".join(f"{report.hit['all'][k]:.1f}" for k in ks)
            + f" | {timing['p50_ms']:.2f} | {timing['p95_ms']:.2f} | {timing['build_s']:.1f}"
            + f" | {timing['messages_per_s']:,.0f} |"
        )
    cut = 10 if 10 in ks else ks[-1]
    categories = first.categories
    lines += [
        "",
        f"recall@{cut} by question category (questions per category: "
        + ", ".join(f"{c} {CATEGORY_NAMES.get(c, c)}: {first.questions[c]}" for c in categories)
        + ")",
        "",
        "| system | " + " | ".join(f"{c} {CATEGORY_NAMES.get(c, c)}" for c in categories) + " |",
        "|---" * (1 + len(categories)) + "|",
    ]
    for name in names:
        report = results[name][0]
        lines.append(f"| {name} | " + " | ".join(f"{report.recall[c][cut]:.1f}" for c in categories) + " |")
    return "\n".join(lines)


def plot(results: dict[str, tuple[RetrievalReport, dict[str, float]]], path: Path, k: int = 10) -> None:
    """A bar chart of recall@k per question category, one bar per system."""
    names = list(results)
    categories = results[names[0]][0].categories
    width = 0.8 / len(names)
    with png(path, (9, 4.5)) as axes:
        for index, name in enumerate(names):
            report = results[name][0]
            xs = [i + (index - (len(names) - 1) / 2) * width for i in range(len(categories))]
            axes.bar(xs, [report.recall[c][k] for c in categories], width, label=name)
        axes.set_xticks(range(len(categories)), [CATEGORY_NAMES.get(c, c) for c in categories])
        axes.set_ylabel(f"evidence recall@{k} (%)")
        axes.set_ylim(0, 100)
        axes.set_title(f"Retrieval quality on LoCoMo (categories 1-4), recall@{k}")
        axes.legend(fontsize=8, ncols=len(names))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--locomo", help="a LoCoMo-format JSON file (default: ../shared/data/locomo_dev.json)")
    parser.add_argument(
        "--systems",
        default=",".join(SYSTEMS),
        help="comma-separated, from: " + ", ".join([*SYSTEMS, *SERVER_SYSTEMS]),
    )
    parser.add_argument(
        "--postgres", help="the PostgreSQL database for memkit-turns-postgres (default: a throwaway one)"
    )
    parser.add_argument("--conversations", type=int, default=None, help="only the first N conversations")
    parser.add_argument(
        "--half",
        choices=HALVES,
        help="only one half of the conversations: 'tune' (the 1st, 3rd, 5th, ...) to choose rules and weights "
        "on, 'report' (the 2nd, 4th, ...) to report figures no choice was made on",
    )
    parser.add_argument("--no-captions", action="store_true", help="leave out the captions of shared photos")
    parser.add_argument(
        "--ranking",
        default="",
        help="memkit ranking knobs to change, as name=value,... (e.g. context_weight=0,scene_signal_weight=0)",
    )
    parser.add_argument("--plot", type=Path, help="save a bar chart of recall@10 by category to this PNG")
    parser.add_argument(
        "--ablation", action="store_true", help="then measure memkit again with each ranking cue switched off"
    )
    args = parser.parse_args(argv)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in systems if s not in SYSTEMS and s not in SERVER_SYSTEMS]
    if unknown:
        parser.error(f"unknown system(s) {unknown}; choose from {', '.join([*SYSTEMS, *SERVER_SYSTEMS])}")
    global RANKING
    try:
        changes = dict(item.split("=", 1) for item in args.ranking.split(",") if item.strip())
        RANKING = dataclasses.replace(
            memkit.Ranking(), **{k.strip(): type(getattr(RANKING, k.strip()))(v) for k, v in changes.items()}
        )
    except (ValueError, TypeError, AttributeError) as exc:
        parser.error(f"--ranking {args.ranking!r}: {exc}")
    path = find_locomo(args.locomo)
    conversations = half(read_locomo(path), args.half)[: args.conversations]
    turns = sum(len(c.turns) for c in conversations)
    questions = sum(1 for c in conversations for q in c.questions if q.evidence)
    print(f"{path.name}: {len(conversations)} conversations, {turns} turns, {questions} questions with evidence")
    print(f"photo captions {'left out' if args.no_captions else 'included'}; memkit {memkit.__version__}; {RANKING}\n")
    global POSTGRES_URL
    cluster = None
    if any(s in SERVER_SYSTEMS for s in systems):
        if args.postgres:
            POSTGRES_URL = args.postgres
        else:
            from bench.pg_cluster import start_cluster

            cluster = start_cluster()
            POSTGRES_URL = cluster.create_database("locomo")
    try:
        results = measure(conversations, systems, captions=not args.no_captions)
    finally:
        if cluster is not None:
            cluster.stop()
    print(format_results(results))
    if args.plot:
        plot(results, args.plot)
        print(f"\nplot saved to {args.plot}")
    if args.ablation:
        print("\nmemkit with one ranking cue switched off at a time:\n")
        print(ablation(conversations, captions=not args.no_captions))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
