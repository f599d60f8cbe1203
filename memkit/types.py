"""The small value types memkit passes around.

All are frozen dataclasses: a :class:`Cell` read from the database is a
snapshot, and changing memory goes through :class:`memkit.MemoryDB`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "CELL_TYPES",
    "DEFAULT_SCENE",
    "Cell",
    "Hit",
    "Message",
    "NewCell",
    "ParsedCells",
    "Rejection",
    "Scene",
    "Utterance",
    "clean_text",
    "normalise_scene",
    "validate_salience",
]

#: The six kinds of memory cell.
CELL_TYPES: tuple[str, ...] = ("fact", "plan", "preference", "decision", "task", "risk")

#: The scene used when nothing better is known.
DEFAULT_SCENE = "general"

_SCENE_MAX_CHARS = 60


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` as SQLite and JSON can store it: null characters removed and
    lone surrogates (undecodable bytes, e.g. from ``errors="surrogateescape"``)
    replaced by U+FFFD. Ordinary text comes back unchanged.
    """
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.isascii():
        text = _LONE_SURROGATE.sub("\ufffd", text)
    return text


def normalise_scene(name: str) -> str:
    """Turn any scene label into a stable lower-case kebab name.

    ``"Kitchen Renovation!"`` and ``" kitchen_renovation"`` both become
    ``"kitchen-renovation"``. Letters of any script are kept; accents are
    folded. An empty result falls back to :data:`DEFAULT_SCENE`.
    """
    if not isinstance(name, str):
        raise TypeError(f"scene must be a string, not {type(name).__name__}")
    folded = unicodedata.normalize("NFKD", name)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    words = re.findall(r"\w+", folded.lower().replace("_", " "))
    slug = "-".join(words)[:_SCENE_MAX_CHARS].strip("-")
    return slug or DEFAULT_SCENE


def validate_salience(value: float) -> float:
    """Return ``value`` as a float in [0, 1] or raise ``ValueError``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"salience must be a number in [0, 1], got {value!r}") from None
    if not 0.0 <= number <= 1.0:  # also rejects NaN
        raise ValueError(f"salience must be in [0, 1], got {value!r}")
    return number


@dataclass(frozen=True)
class NewCell:
    """A memory cell that is not stored yet (what extraction produces)."""

    scene: str
    cell_type: str
    salience: float
    content: str
    source_id: str | None = None
    occurred_at: str | None = None


@dataclass(frozen=True)
class Cell:
    """A stored memory cell."""

    id: int
    scene: str
    cell_type: str
    salience: float
    content: str
    source_id: str | None
    occurred_at: str | None
    created_at: str
    namespace: str


@dataclass(frozen=True)
class Scene:
    """A scene: a group of related cells and its consolidated summary."""

    scene: str
    summary: str
    updated_at: str
    cell_count: int
    namespace: str


@dataclass(frozen=True)
class Hit:
    """One search result, best first in a list.

    ``matched`` is False for the salience fallback, used when no cell
    shares a word with the query.
    """

    id: int
    scene: str
    cell_type: str
    salience: float
    content: str
    source_id: str | None
    occurred_at: str | None
    score: float
    matched: bool = True


Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    """One chat message sent to a language model."""

    role: Role
    content: str

    def as_dict(self) -> dict[str, str]:
        """The OpenAI chat format: ``{"role": ..., "content": ...}``."""
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class Utterance:
    """One turn of a conversation: who said what, and optionally its id and time."""

    speaker: str
    text: str
    source_id: str | None = None
    occurred_at: str | None = None


@dataclass(frozen=True)
class Rejection:
    """An item of model output that could not become a cell, and why."""

    item: object
    reason: str


@dataclass(frozen=True)
class ParsedCells:
    """What the cell parser made of a model reply."""

    cells: tuple[NewCell, ...] = ()
    rejected: tuple[Rejection, ...] = field(default_factory=tuple)
