"""What the manager takes in and gives back: messages in any shape, the context a cell keeps, the results.

:func:`as_utterance` reads one message of a transcript (an :class:`~memkit.types.Utterance`,
a dict or a tuple); :func:`exchange_context` is what a cell keeps of the words around it;
:class:`UpdateResult` and :class:`IngestResult` say what an exchange or a transcript did to memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .types import Cell, Rejection, Revision, Utterance

__all__ = ["IngestResult", "UpdateResult", "as_utterance", "exchange_context"]


@dataclass(frozen=True)
class UpdateResult:
    """What one exchange did to memory.

    ``cells`` are the cells it stored, ``superseded`` the stored cells it
    replaced, ``revisions`` what was done with each extracted cell. ``error``
    says why nothing could be taken from the model's reply (cut off, or no
    usable JSON): the exchange is then kept, failed, for
    :meth:`MemoryManager.retry_failed`; None when it was processed.
    """

    exchange_id: int
    cells: tuple[Cell, ...]
    rejected: tuple[Rejection, ...]
    scenes: tuple[str, ...]
    revisions: tuple[Revision, ...] = ()
    superseded: tuple[Cell, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class IngestResult:
    """What importing a transcript added to memory.

    ``cells`` are the cells it stored (later messages of the transcript may
    have replaced some since, as in :class:`UpdateResult`). ``failed`` holds
    (exchange id, why) for each message that is logged but not yet in memory;
    :meth:`MemoryManager.retry_failed` processes them.
    """

    messages: int
    cells: tuple[Cell, ...]
    rejected: tuple[Rejection, ...]
    scenes: tuple[str, ...]
    failed: tuple[tuple[int, str], ...] = ()


def as_utterance(item: Any) -> Utterance:
    if isinstance(item, Utterance):
        return item
    if isinstance(item, Mapping):
        speaker = item.get("speaker", item.get("role"))
        text = item.get("text", item.get("content"))
        source_id = item.get("id", item.get("source_id", item.get("dia_id")))
        occurred_at = item.get("time", item.get("occurred_at"))
    elif isinstance(item, (tuple, list)) and len(item) in (2, 3, 4):
        speaker, text, source_id, occurred_at = (*item, None, None)[:4]
    else:
        raise TypeError(f"a message must be an Utterance, a dict or a (speaker, text) tuple; got {item!r:.80}")
    if not isinstance(speaker, str) or not isinstance(text, str):
        raise TypeError(f"a message needs a speaker and a text as strings; got {item!r:.80}")
    if isinstance(occurred_at, datetime):
        occurred_at = occurred_at.isoformat(timespec="seconds")
    return Utterance(speaker, text, None if source_id is None else str(source_id), occurred_at)


def exchange_context(utterances: Sequence[Utterance], *, speakers: bool = False) -> str:
    """What a cell keeps of the conversation around it: the words of the exchange it came from.

    :param speakers: prefix each message with who said it (for transcripts
        between named people, where "who" is part of what a question asks).
    """
    if speakers:
        return " ".join(f"{u.speaker}: {u.text}" for u in utterances)
    return " ".join(u.text for u in utterances)
