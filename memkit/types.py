"""The small value types memkit passes around.

All are frozen dataclasses: a :class:`Cell` read from the database is a
snapshot, and changing memory goes through :class:`memkit.MemoryDB`.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

from .redact import KEY_ENV, redact_secrets

if TYPE_CHECKING:
    from .retrieval import ScoreParts

__all__ = [
    "ACTIONS",
    "CELL_TYPES",
    "DEFAULT_SCENE",
    "LINK_KINDS",
    "MAX_RETIRES",
    "Action",
    "Cell",
    "CellType",
    "Decision",
    "Event",
    "Hit",
    "Link",
    "LinkKind",
    "Message",
    "NewCell",
    "ParsedCells",
    "Rejection",
    "Revision",
    "Scene",
    "Utterance",
    "clean_text",
    "fits_sqlite_integer",
    "normalise_scene",
    "validate_salience",
]

#: The six kinds of memory cell.
CellType = Literal["fact", "plan", "preference", "decision", "task", "risk"]
CELL_TYPES: tuple[str, ...] = get_args(CellType)

#: What memory can do with a newly extracted cell (see :class:`Decision`).
Action = Literal["add", "reinforce", "update", "supersede", "ignore"]
ACTIONS: tuple[str, ...] = get_args(Action)

#: How two cells can be linked: ``source`` *kind* ``target``. ``cause``: the
#: source is a cause of the target; ``follows-from``: the source follows from
#: the target; ``replaces``: the source superseded the target.
LinkKind = Literal["same-subject", "cause", "follows-from", "replaces"]
LINK_KINDS: tuple[str, ...] = get_args(LinkKind)

#: At most this many other cells one new cell may retire (see :class:`Decision`).
MAX_RETIRES = 4

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
    folded; a key in the name becomes ``redacted-key``. An empty result
    falls back to :data:`DEFAULT_SCENE`.
    """
    if not isinstance(name, str):
        raise TypeError(f"scene must be a string, not {type(name).__name__}")
    return _scene_slug(name, os.environ.get(KEY_ENV))


@functools.lru_cache(maxsize=4096)
def _scene_slug(name: str, _key: str | None) -> str:
    """:func:`normalise_scene` for one name, remembered (a batch names few scenes, many times);
    the environment's key is part of what is remembered, since redaction depends on it."""
    folded = unicodedata.normalize("NFKD", redact_secrets(name))
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    words = re.findall(r"\w+", folded.lower().replace("_", " "))
    slug = "-".join(words)[:_SCENE_MAX_CHARS].strip("-")
    return slug or DEFAULT_SCENE


def fits_sqlite_integer(value: int) -> bool:
    """Whether SQLite can store ``value`` as an INTEGER (64 bits): an id outside that range names no row."""
    return -(2**63) <= value < 2**63


def validate_salience(value: float) -> float:
    """Return ``value`` as a float in [0, 1] or raise ``ValueError``."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
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
    #: The words around the statement where it was said (searchable, weighted low).
    context: str | None = None


@dataclass(frozen=True)
class Cell:
    """A stored memory cell.

    ``seen_count`` counts how often it was stated (``last_seen_at`` is the
    last restatement, None while it was said once). A superseded cell has a
    ``valid_until``; a cell that decayed has an ``archived_at``. Both are kept
    and hidden from default reads (see :meth:`memkit.MemoryDB.search`).
    """

    id: int
    scene: str
    cell_type: str
    salience: float
    content: str
    source_id: str | None
    occurred_at: str | None
    created_at: str
    namespace: str
    seen_count: int = 1
    last_seen_at: str | None = None
    valid_until: str | None = None
    archived_at: str | None = None
    context: str | None = None

    @property
    def status(self) -> str:
        """``"current"``, ``"superseded"`` or ``"archived"``."""
        if self.archived_at is not None:
            return "archived"
        return "superseded" if self.valid_until is not None else "current"


@dataclass(frozen=True)
class Scene:
    """A scene: a group of related cells and its consolidated summary.

    ``cell_count`` counts every cell stored in the scene, history included;
    ``current_count`` only its current cells (what recall and the views show).
    ``archived_at`` is set when none of its cells is current any more.
    """

    scene: str
    summary: str
    updated_at: str
    cell_count: int
    namespace: str
    archived_at: str | None = None
    current_count: int = 0


@dataclass(frozen=True)
class Hit:
    """One search result, best first in a list.

    ``matched`` is False for the salience fallback, used when no cell
    shares a word with the query. ``current`` is False for a superseded or
    archived cell (found only when history is asked for). ``parts`` says how
    a search made the score (see :meth:`explain`).
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
    current: bool = True
    parts: ScoreParts | None = field(default=None, compare=False, repr=False)

    def explain(self) -> str:
        """Why this hit scored what it did: bm25 relevance times each ranking cue's factor."""
        if self.parts is not None:
            return str(self.parts)
        return "no word of the query matched: shown for its salience (score 0)" if not self.matched else "not ranked"


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
class Decision:
    """What the extraction step said to do with one new cell.

    :param action: one of :data:`ACTIONS`.
    :param target: the short number (1, 2, ...) of the existing cell it acts
        on, as listed in the extraction prompt; for ``add``, an optional
        related cell.
    :param relation: for ``add`` with a target, the link kind to make.
    :param reason: the model's words, or why the parser changed the decision.
    :param retires: short numbers of other listed cells the new one makes untrue as well
        (a cancellation ends everything that depended on what was cancelled).
    """

    action: str = "add"  # as the model wrote it: an unknown action is kept, and the cell stored as new
    target: int | None = None
    relation: str | None = None
    reason: str = ""
    retires: tuple[int, ...] = ()


@dataclass(frozen=True)
class ParsedCells:
    """What the cell parser made of a model reply.

    ``decisions[i]`` is the decision for ``cells[i]``. ``error`` says why the
    reply as a whole was unusable (no JSON, or JSON that is not a list of
    cells); None when it was usable, even if it held no cells.
    """

    cells: tuple[NewCell, ...] = ()
    rejected: tuple[Rejection, ...] = field(default_factory=tuple)
    decisions: tuple[Decision, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class Link:
    """A stored link: ``source`` *kind* ``target`` (see :data:`LINK_KINDS`)."""

    id: int
    source: int
    target: int
    kind: LinkKind
    reason: str
    created_at: str
    namespace: str


@dataclass(frozen=True)
class Revision:
    """What memory did with one extracted cell.

    :param action: what was done (one of :data:`ACTIONS`).
    :param content: the extracted cell's content.
    :param cell_id: the cell stored (add, update, supersede) or reinforced.
    :param target_id: the existing cell acted on, or linked to by an add.
    :param relation: the link kind made by an add.
    :param reason: why: the model's reason, or memkit's when it did not follow the model.
    :param asked: what the model asked (``"update 9"``) when memkit did something else.
    """

    action: Action
    content: str
    cell_id: int | None
    target_id: int | None = None
    relation: str | None = None
    reason: str = ""
    asked: str | None = None


@dataclass(frozen=True)
class Event:
    """One recorded change to a cell, a scene or a link (see :mod:`memkit.history`).

    ``before`` and ``after`` are the whole row (None when it did not exist);
    ``change_id`` groups the events undone together.
    """

    id: int
    change_id: int
    kind: str
    key: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str
    exchange_id: int | None
    created_at: str
    undone_at: str | None
    namespace: str

    def changed(self) -> dict[str, tuple[Any, Any]]:
        """The columns whose value differs: ``{column: (before, after)}``."""
        before, after = self.before or {}, self.after or {}
        return {
            column: (before.get(column), after.get(column))
            for column in dict.fromkeys([*before, *after])
            if before.get(column) != after.get(column)
        }
