"""Search: FTS kept in sync by the database, ranking, hostile queries, the fallback."""

from __future__ import annotations

import dataclasses
import itertools
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memkit
from memkit import Hit, ManualClock, MemoryDB, NewCell
from memkit.retrieval import asks_when, build_match_expression, named_dates, query_terms, says_when, subject_of


@pytest.fixture
def db(store_db: memkit.MemoryDB) -> memkit.MemoryDB:
    """This module's tests run on both stores: a SQLite file and a PostgreSQL database."""
    return store_db


NOW = "2026-03-01T10:00:00"
LONG_AGO = "2025-06-01T10:00:00"


def ranked(db: MemoryDB, query: str, **weights: float) -> list[int]:
    """The ids ``db.search(query)`` gives with some ranking weights changed."""
    kept = db.ranking
    db.ranking = dataclasses.replace(kept, **weights)
    try:
        return [hit.id for hit in db.search(query)]
    finally:
        db.ranking = kept


def fts_rowids(db: MemoryDB, word: str) -> list[int]:
    if db._shared.dialect == "postgres":
        found = db.query_rows(
            "SELECT id FROM mem_cells_fts WHERE document @@ plainto_tsquery('english', ?) ORDER BY id", (word,)
        )
        return [row[0] for row in found]
    rows = db.query_rows("SELECT rowid FROM mem_cells_fts WHERE mem_cells_fts MATCH ? ORDER BY rowid", (f'"{word}"',))
    return [row[0] for row in rows]


def test_fts_follows_insert_update_and_delete_with_no_extra_call(db: MemoryDB) -> None:
    cell_id = db.add_cell(scene="garden", cell_type="fact", salience=0.5, content="The tomatoes need staking.")
    assert fts_rowids(db, "tomato") == [cell_id]
    db.update_cell(cell_id, content="The cucumbers need water.")
    assert fts_rowids(db, "tomato") == []
    assert fts_rowids(db, "cucumber") == [cell_id]
    db.update_cell(cell_id, salience=0.9)  # does not touch the index
    assert fts_rowids(db, "cucumber") == [cell_id]
    db.delete_cell(cell_id)
    assert fts_rowids(db, "cucumber") == []
    assert db.check_integrity() == []


def test_raw_sql_writes_are_indexed_too(db: MemoryDB) -> None:
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO mem_cells (scene, cell_type, salience, content, created_at)"
            " VALUES ('s', 'fact', 0.5, 'written around the API', '2026-01-01')"
        )
    assert [h.content for h in db.search("around")] == ["written around the API"]


def test_ranked_search_finds_the_right_cell_among_hundreds(db: MemoryDB) -> None:
    rng = random.Random(7)
    words = [
        "what",
        "the",
        "team",
        "said",
        "about",
        "meeting",
        "plans",
        "today",
        "with",
        "notes",
        "and",
        "ideas",
        "for",
        "later",
    ]
    filler = [
        NewCell("chatter", "fact", round(rng.random(), 2), " ".join(rng.choice(words) for _ in range(10)))
        for _ in range(400)
    ]
    db.add_cells(filler[:200])
    target = db.add_cell(scene="kitchen", cell_type="fact", salience=0.3, content="The kitchen budget is 15,000 euros.")
    db.add_cells(filler[200:])
    hits = db.search("What is the budget for the kitchen?", limit=5)
    assert hits[0].id == target
    assert hits[0].matched is True
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))


@pytest.mark.sqlite_only
def test_tutorial_style_or_query_would_return_old_rows_sharing_only_what(db: MemoryDB) -> None:
    """The reason ranking and stopwords matter: 'what' matches everything."""
    db.add_cells([NewCell("misc", "fact", 0.5, f"what we said in message {i}") for i in range(20)])
    target = db.add_cell(scene="kitchen", cell_type="fact", salience=0.5, content="Budget is 15,000 euros.")
    tutorial = db.query_rows(
        "SELECT rowid FROM mem_cells_fts WHERE mem_cells_fts MATCH ? LIMIT 6", ("what OR is OR the OR budget",)
    )
    assert target not in [row[0] for row in tutorial]
    assert db.search("what is the budget", limit=6)[0].id == target


def test_salience_breaks_ties_between_equal_matches(db: MemoryDB) -> None:
    high = db.add_cell(scene="s", cell_type="fact", salience=0.9, content="Bob likes tea.")
    low = db.add_cell(scene="s", cell_type="fact", salience=0.1, content="Ana likes tea.")
    assert [h.id for h in db.search("tea")] == [high, low]
    assert [h.id for h in db.search("tea")] != ranked(db, "tea", salience_weight=0)  # else: the newer first


def test_recency_breaks_ties_between_equal_matches(db: MemoryDB) -> None:
    new = db.add_cell(scene="s", cell_type="fact", salience=0.5, content="Bob likes tea.", occurred_at=NOW)
    old = db.add_cell(scene="s", cell_type="fact", salience=0.5, content="Ana likes tea.", occurred_at=LONG_AGO)
    assert [h.id for h in db.search("tea")] == [new, old]
    assert ranked(db, "tea", recency_weight=0) == [old, new]  # else: the newer row first


def test_no_match_falls_back_to_the_most_salient_cells(db: MemoryDB) -> None:
    db.add_cell(scene="s", cell_type="fact", salience=0.2, content="low")
    top = db.add_cell(scene="s", cell_type="risk", salience=0.9, content="high")
    hits = db.search("zebra", limit=1)
    assert hits == [Hit(top, "s", "risk", 0.9, "high", None, None, 0.0, matched=False)]


def test_filters_by_scene_and_cell_type(db: MemoryDB) -> None:
    a = db.add_cell(scene="kitchen", cell_type="task", salience=0.5, content="Call the plumber.")
    db.add_cell(scene="kitchen", cell_type="fact", salience=0.5, content="The plumber is Joe.")
    db.add_cell(scene="office", cell_type="task", salience=0.5, content="Call the plumber about the office.")
    assert [h.id for h in db.search("plumber", scene="Kitchen", cell_types=["task"])] == [a]
    with pytest.raises(ValueError, match="unknown cell type"):
        db.search("plumber", cell_types=["gossip"])


@pytest.mark.parametrize("limit", [0, -1, 1.5, True])
def test_bad_limit(db: MemoryDB, limit: object) -> None:
    with pytest.raises(ValueError, match="limit must be a positive integer"):
        db.search("x", limit=limit)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        '"',
        '""',
        "AND",
        "OR OR",
        "NOT",
        "a AND",
        "(budget",
        "budget)",
        "-budget",
        "bud*",
        "*",
        "col:budget",
        "NEAR(a b)",
        "^start",
        "budget + euros",
        "{x}",
        "\x00",
        "😀😀",
        "café crème",
        "预算是多少",
        "What's the plan?!",
        "'; DROP TABLE mem_cells; --",
    ],
)
def test_hostile_and_unicode_queries_never_raise(db: MemoryDB, query: str) -> None:
    db.add_cell(scene="kitchen", cell_type="fact", salience=0.5, content="The budget is 15,000 euros; café ok.")
    hits = db.search(query)
    assert len(hits) == 1
    assert db.count_cells() == 1


def test_accents_fold_and_prefix_works(db: MemoryDB) -> None:
    cell = db.add_cell(scene="s", cell_type="preference", salience=0.5, content="Prefers the café on Rue Crème.")
    assert [h.id for h in db.search("cafe creme")] == [cell]
    assert [h.id for h in db.search("crè*")] == [cell]


def test_query_terms_drop_stopwords_and_operators() -> None:
    assert query_terms('What is the "budget" AND (kitchen)?') == ["budget", "kitchen"]
    assert query_terms("what is it") == ["what", "is", "it"]  # only stopwords: keep them
    assert build_match_expression("budget* -tiles") == '"budget"* OR "tiles"'
    assert build_match_expression("?!") is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_valid_query(query: str) -> None:
    db = MemoryDB()
    db.add_cell(scene="s", cell_type="fact", salience=0.5, content="some stored text")
    hits = db.search(query)
    assert len(hits) == 1
    assert isinstance(hits[0], Hit)
    db.close()


def test_context_is_searchable_weighted_below_content_and_kept_in_sync(db: MemoryDB) -> None:
    in_context = db.add_cell(
        scene="s", cell_type="fact", salience=0.5, content="Ana said yes.", context="Will you run the marathon?"
    )
    in_content = db.add_cell(scene="s", cell_type="fact", salience=0.5, content="Ben will run the marathon.")
    assert [h.id for h in db.search("marathon")] == [in_content, in_context]
    assert db.search("marathon")[1].score > 0  # its context is what scores it: weight 0, and it scores 0
    db.ranking = dataclasses.replace(db.ranking, context_weight=0)
    assert db.search("marathon")[1].score == 0
    db.ranking = dataclasses.replace(db.ranking, context_weight=0.5)
    assert db.get_cell(in_context).context == "Will you run the marathon?"  # type: ignore[union-attr]
    with db.transaction() as conn:
        conn.execute("UPDATE mem_cells SET context = 'Will you bake the cake?' WHERE id = ?", (in_context,))
    assert [h.id for h in db.search("marathon")] == [in_content]
    assert [h.id for h in db.search("cake")] == [in_context]
    assert db.check_integrity() == []


def test_context_is_cleaned_and_checked(db: MemoryDB) -> None:
    cell = db.add_cell(scene="s", cell_type="fact", salience=0.5, content="x", context="  two\n  lines\x00 ")
    assert db.get_cell(cell).context == "two lines"  # type: ignore[union-attr]
    empty = db.add_cell(scene="s", cell_type="fact", salience=0.5, content="y", context="   ")
    assert db.get_cell(empty).context is None  # type: ignore[union-attr]
    with pytest.raises(TypeError, match="context must be a string or None"):
        db.add_cell(scene="s", cell_type="fact", salience=0.5, content="z", context=42)  # type: ignore[arg-type]


def test_a_query_naming_the_cells_subject_prefers_it(db: MemoryDB) -> None:
    mentions = db.add_cell(scene="s", cell_type="fact", salience=0.5, content="Thanks to Ana, the class was fun.")
    about = db.add_cell(
        scene="s",
        cell_type="fact",
        salience=0.5,
        content="Ana took a pottery class at the community centre in May with her neighbour.",
    )
    question = "What class did Ana take?"
    assert ranked(db, question, subject_weight=0) == [mentions, about]  # bm25 alone: the shorter cell
    assert ranked(db, question) == [about, mentions]  # the cue: the cell whose subject is Ana
    assert db.search("class fun thanks")[0].id == mentions


@pytest.mark.sqlite_only  # the margins are bm25's: ts_rank_cd weighs length differently
def test_when_questions_prefer_cells_that_say_when(db: MemoryDB) -> None:
    undated = db.add_cell(scene="a", cell_type="fact", salience=0.5, content="Ana ran the charity race.")
    dated = db.add_cell(scene="b", cell_type="fact", salience=0.5, content="Ana ran the charity race last Saturday.")
    assert [h.id for h in db.search("When did Ana run the charity race?")] == [dated, undated]
    assert db.search("Did Ana run the charity race?")[0].id == undated  # shorter, so bm25 prefers it


def test_a_month_or_year_in_the_query_prefers_cells_dated_then(db: MemoryDB) -> None:
    may = db.add_cell(
        scene="a", cell_type="fact", salience=0.5, content="Ben went camping.", occurred_at="2023-05-08T10:00:00"
    )
    june = db.add_cell(
        scene="b", cell_type="fact", salience=0.5, content="Ben went camping.", occurred_at="2023-06-20T10:00:00"
    )
    assert [h.id for h in db.search("Where did Ben go camping in June?")] == [june, may]
    assert [h.id for h in db.search("Where did Ben go camping in May 2023?")] == [may, june]


def test_cells_in_a_scene_full_of_matches_rank_first(db: MemoryDB) -> None:
    lone = db.add_cell(scene="work", cell_type="fact", salience=0.5, content="The garden report is due.")
    db.add_cell(scene="allotment", cell_type="fact", salience=0.5, content="Tomatoes grow along the garden fence.")
    db.add_cell(scene="allotment", cell_type="fact", salience=0.5, content="Garden beds get compost in spring.")
    grouped = db.add_cell(
        scene="allotment", cell_type="fact", salience=0.5, content="The garden needs some water tonight."
    )
    alone = ranked(db, "garden", scene_signal_weight=0)
    assert alone.index(lone) < alone.index(grouped)  # bm25 alone: the shorter cell
    hits = ranked(db, "garden")
    assert hits.index(grouped) < hits.index(lone)  # the signal: its scene is full of matches


def test_search_fills_its_pool_when_other_namespaces_hold_the_best_matches(db: MemoryDB) -> None:
    other = db.for_namespace("other")
    other.add_cells([NewCell("s", "fact", 0.5, "tea tea tea") for _ in range(300)])
    mine = db.add_cell(scene="s", cell_type="fact", salience=0.5, content="I drink tea at breakfast with honey.")
    assert [h.id for h in db.search("tea")] == [mine]
    assert len(other.search("tea", limit=200)) == 200


def test_time_and_date_cues() -> None:
    assert [asks_when(q) for q in ("When did it start?", "How long ago was that?", "What did Ana eat?")] == [
        True,
        True,
        False,
    ]
    assert [says_when(t) for t in ("I went yesterday.", "We met last week.", "Back in 2019.", "I like tea.")] == [
        True,
        True,
        True,
        False,
    ]
    assert named_dates("What happened in June 2023 or in Sept?") == (frozenset({6, 9}), frozenset({2023}))
    assert named_dates("It may rain in May.") == (frozenset({5}), frozenset())
    assert subject_of("Ana's dog barks.") == "ana"
    assert subject_of("...") == ""


# -- namespaces share one file, never their statistics ----------------------------------------

QUERIES = ["kitchen budget", "What did Ana say about the oak cabinets?", "garden tomatoes", "budget*", "walnut"]


def _results(db: MemoryDB) -> list[list[tuple[int, float]]]:
    return [[(h.id, h.score) for h in db.search(q, limit=5, include_history=True)] for q in QUERIES]


def _alice(db: MemoryDB) -> None:
    rng = random.Random(4)
    words = ["kitchen", "budget", "oak", "cabinets", "garden", "tomatoes", "walnut", "tiles", "paint", "Ana"]
    words += [f"word{i}" for i in range(40)]  # rarer words, so idf is not at its floor
    db.add_cells(
        [
            NewCell(f"scene-{i % 4}", "fact", 0.5, " ".join(rng.choices(words, k=rng.randint(3, 9))) + ".", context=w)
            for i, w in enumerate(rng.choices(words, k=40))
        ]
    )


def test_a_namespaces_search_does_not_depend_on_another_namespace(tmp_path: Path) -> None:
    """Bob's cells, however many and whatever they say, change nothing in Alice's results or scores."""
    alice = MemoryDB(tmp_path / "shared.db", namespace="alice", clock=ManualClock("2026-01-05T09:00:00"))
    _alice(alice)
    alone = _results(alice)
    assert all(alone) and len({score for result in alone for _, score in result}) > 10
    bob = alice.for_namespace("bob")
    bob.add_cell(scene="kitchen", cell_type="fact", salience=0.9, content="Bob's kitchen budget is tiny.")
    assert _results(alice) == alone  # one cell of Bob's
    bob.add_cells(
        [NewCell("kitchen", "fact", 0.5, f"Kitchen budget note {i} with oak and walnut.") for i in range(3000)]
    )
    assert _results(alice) == alone  # thousands, all matching Alice's words
    bob_results = _results(bob)
    alice.add_cells([NewCell("garden", "fact", 0.5, f"Walnut garden note {i}.") for i in range(50)])
    assert _results(bob) == bob_results  # and the other way round
    alice.close()


def test_each_hit_explains_its_score_cue_by_cue(db: MemoryDB) -> None:
    about = db.add_cell(scene="pottery", cell_type="fact", salience=0.9, content="Ana took a pottery class.")
    db.add_cell(scene="pottery", cell_type="fact", salience=0.2, content="The pottery class meets on Fridays.")
    db.add_cell(scene="pottery", cell_type="fact", salience=0.5, content="Old class notes.")
    db.archive([db.search("Old class notes")[0].id])
    hits = db.search("What class did Ana take?", include_history=True)
    for hit in hits:
        assert hit.parts is not None and hit.parts.score == hit.score  # the breakdown is the score, exactly
        assert hit.explain().startswith("bm25 ")
    best = hits[0]
    assert best.id == about and best.parts is not None
    assert best.parts.subject > 1 and best.parts.salience > 1  # named subject, high salience
    others = {hit.content: hit.parts for hit in hits[1:]}
    assert others["The pottery class meets on Fridays."].subject == 1  # type: ignore[union-attr]
    assert others["Old class notes."].history == db.ranking.history_weight  # type: ignore[union-attr]
    assert "no word of the query matched" in db.search("zebra")[0].explain()


def test_the_explanation_table_shows_every_cue(db: MemoryDB) -> None:
    from memkit.views import explain_df

    db.add_cell(scene="s", cell_type="fact", salience=0.5, content="Ana likes tea.")
    table = explain_df(db, "tea")
    assert list(table.columns[:2]) == ["id", "bm25"] and "subject" in table.columns
    assert table["score"].iloc[0] == db.search("tea")[0].score


@pytest.mark.sqlite_only
def test_the_plain_bm25_baseline_ranks_by_bm25_alone_over_current_cells(db: MemoryDB) -> None:
    from memkit.baseline import bm25_search

    low = db.add_cell(scene="s", cell_type="fact", salience=0.1, content="Ana likes tea.")
    high = db.add_cell(scene="s", cell_type="fact", salience=0.9, content="Bob likes green tea every morning.")
    gone = db.add_cell(scene="s", cell_type="fact", salience=0.5, content="Cem likes tea.")
    db.archive([gone])
    assert [hit.id for hit in bm25_search(db, "tea")] == [low, high]  # the shorter match first, salience ignored
    assert db.search("tea")[0].id == high  # memkit's salience cue turns it round
    assert bm25_search(db, 'tea" AND (NEAR') and bm25_search(db, "...") == []
