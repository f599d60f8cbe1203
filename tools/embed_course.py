"""Re-make the course embeddings (``memkit/data/course_embeddings.npz``) with the sentence-embedding model.

    pip install -e ".[dense]" && python tools/embed_course.py

Embeds every message of the course conversation (``Speaker: text``), its
questions and the probes of :data:`memkit.dense.COURSE_PROBES`, so dense
search runs on them with no model. Run it after changing the conversation,
its questions or the probes: ``tests/test_dense.py`` fails while a question
has no shipped vector.
"""

from __future__ import annotations

from pathlib import Path

import memkit
from memkit.dense import COURSE_PROBES, compute_embeddings, message_text, save_embeddings

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "memkit" / "data" / "course_embeddings.npz"


def main() -> int:
    course = memkit.load_course_conversation()
    queries = [q.question for q in (*course.questions, *COURSE_PROBES)]
    embeddings = compute_embeddings(
        [m.source_id for m in course.messages], [message_text(m) for m in course.messages], queries
    )
    save_embeddings(embeddings, TARGET)
    size = TARGET.stat().st_size
    print(f"{len(embeddings.ids)} messages and {len(queries)} queries -> {TARGET.relative_to(ROOT)} ({size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
