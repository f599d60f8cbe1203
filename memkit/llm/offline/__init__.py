"""The offline engine: memkit's three model jobs done by readable rules over a real parse.

No network, no key, the same output for the same input. It reads text with
spaCy's English pipeline (:mod:`.nlp`) and works from the structured
``data`` of each request (never the prompt text), so nothing in a
conversation can steer it. The rules of each job live in their own module:
reading statements (:mod:`.statements`), what they say (:mod:`.facts`),
changes (:mod:`.revise`), scenes (:mod:`.scenes`), summaries
(:mod:`.summarise`) and answers (:mod:`.answer`); every word table is in
:mod:`.vocabulary`.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence

from ...errors import BackendError
from ..base import LLMRequest
from .answer import compose_answer
from .extract import extract_cells, role_of
from .facts import Facts, facts_of
from .nlp import parse, parse_many, pipeline_name
from .statements import Reading, read
from .summarise import consolidate
from .vocabulary import DEFAULT_VOCABULARY, Vocabulary
from .wording import normalise

__all__ = ["OfflineEngine", "Vocabulary"]

#: How many cell contents the engine keeps the reading of (so a stored cell is parsed once).
FACTS_CACHE_SIZE = 50_000


class OfflineEngine:
    """A deterministic stand-in for a language model (the default backend).

    :param vocabulary: the word tables its rules use (see :mod:`memkit.llm.offline.vocabulary`).
    """

    name = "offline"

    def __init__(self, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> None:
        if not isinstance(vocabulary, Vocabulary):
            raise TypeError(f"vocabulary must be a memkit Vocabulary, not {type(vocabulary).__name__}")
        self.vocabulary = vocabulary
        self._facts: OrderedDict[str, Facts] = OrderedDict()
        self._lock = threading.Lock()

    # -- what the engine reads ---------------------------------------------------------------------

    def read(self, text: str, speaker: str = "User", role: str | None = None, context: Sequence[str] = ()) -> Reading:
        """The statements the engine finds in one message, what it left out and why, and the parse.

        ``engine.read("I moved to Porto. It's lovely.").statements[0].content`` is
        ``"User moved to Porto."``; ``reading.docs[0]`` is the spaCy ``Doc`` (for ``displacy.render``).

        :param context: what was said just before (a message opening on "It" may mean something there).
        """
        return read(speaker, text, self.vocabulary, role=role or role_of(speaker), context=context)

    def prepare(self, texts: Sequence[str]) -> None:
        """Parse several messages in one batch, ahead of the requests that will carry them
        (what :meth:`memkit.MemoryManager.ingest` does; a batch parses faster than one at a time)."""
        lines = [line for text in texts for line in normalise(text, self.vocabulary).splitlines() if line.strip()]
        parse_many(lines)

    def facts(self, content: str) -> Facts:
        """What a cell's content says (:class:`~memkit.llm.offline.facts.Facts`), read once and kept."""
        with self._lock:
            found = self._facts.get(content)
            if found is not None:
                self._facts.move_to_end(content)
                return found
        doc = parse(content)
        found = facts_of(list(doc), self.vocabulary, head=next(iter(doc.sents)).root if len(doc) else None)
        self._remember(content, found)
        return found

    def _remember(self, content: str, facts: Facts) -> None:
        with self._lock:
            self._facts[content] = facts
            self._facts.move_to_end(content)
            while len(self._facts) > FACTS_CACHE_SIZE:
                self._facts.popitem(last=False)

    # -- the backend contract --------------------------------------------------------------------------

    def complete(self, request: LLMRequest) -> str:
        """Do the request's task from its structured ``data``."""
        data = request.data
        try:
            if request.task == "extract":
                cells = extract_cells(
                    data["utterances"],
                    [(name, summary, recent) for name, summary, recent in data.get("scenes", ())],
                    data.get("cell_types"),
                    data.get("cells", ()),
                    read=lambda speaker, text, role, context: self.read(text, speaker, role, context),
                    facts_of=self.facts,
                    remember=self._remember,
                    vocabulary=self.vocabulary,
                )
                return json.dumps({"cells": cells}, ensure_ascii=False)
            if request.task == "consolidate":
                summaries = [
                    {"scene": scene, "summary": consolidate(entry["summary"], entry["cells"], entry.get("retired", ()))}
                    for scene, entry in data["scenes"].items()
                ]
                return json.dumps({"summaries": summaries}, ensure_ascii=False)
            if request.task == "answer":
                return compose_answer(
                    data["text"],
                    data.get("hits", ()),
                    data.get("scenes", ()),
                    data.get("linked", ()),
                    facts_of=self.facts,
                    reading=lambda text, before: self.read(text, context=before),
                    vocabulary=self.vocabulary,
                    changed=data.get("changed", ()),
                    contexts=data.get("contexts", ()),
                    order=data.get("order", ()),
                )
        except KeyError as exc:
            raise BackendError(
                f"the offline engine needs the request's data[{exc.args[0]!r}]; build requests with memkit.prompts"
            ) from exc
        raise BackendError(f"the offline engine does not know the task {request.task!r}")

    def describe(self) -> str:
        """One line for humans."""
        return f"offline engine (readable rules over spaCy's {pipeline_name()}; no network, no key)"

    def __repr__(self) -> str:
        return "OfflineEngine()" if self.vocabulary is DEFAULT_VOCABULARY else "OfflineEngine(vocabulary=...)"
