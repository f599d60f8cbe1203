"""Extraction: a conversation in, memory cells out (as the JSON a model would return).

Each utterance is read into statements (:mod:`.statements`); the exchange
is given one scene (:mod:`.scenes`); each statement becomes a cell, with
the decision of :mod:`.revise` against the stored cells the request lists.
A statement said twice in one exchange is kept once, and at most
:data:`MAX_CELLS` cells (the most salient) come from one exchange.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from .answer import MEMORY_REPORTS
from .facts import Facts
from .revise import Listed, decide, still_true
from .scenes import choose_scene, scene_name
from .statements import Reading, Statement
from .summarise import near_duplicate, split_statements
from .vocabulary import Vocabulary

__all__ = ["ASSISTANT_SPEAKERS", "MAX_CELLS", "extract_cells", "role_of"]

#: At most this many cells per exchange (the most salient are kept).
MAX_CELLS = 8
#: Speakers that are the assistant, not a person memory is about.
ASSISTANT_SPEAKERS = frozenset({"assistant", "ai", "bot", "agent", "model"})
_USER_SPEAKERS = frozenset({"user", "you", "me", "human"})
#: How many of the last scene's newest cells a message opening on "It" or "She" may refer to.
_CONTEXT_CELLS = 2


def role_of(speaker: str) -> str:
    """``"assistant"``, ``"user"`` or ``"named"`` (a person in a transcript)."""
    low = speaker.strip().lower()
    if low in ASSISTANT_SPEAKERS:
        return "assistant"
    return "user" if low in _USER_SPEAKERS or not low else "named"


def extract_cells(
    utterances: Sequence[tuple[str, str]],
    scenes: Sequence[tuple[str, str, Sequence[str]]],
    cell_types: Sequence[str] | None,
    listed: Sequence[tuple[int, str, str, str]],
    *,
    read: Callable[[str, str, str, Sequence[str]], Reading],
    facts_of: Callable[[str], Facts],
    remember: Callable[[str, Facts], None],
    vocabulary: Vocabulary,
) -> list[dict[str, Any]]:
    """The extracted cells, as dicts a model's JSON reply would hold.

    :param scenes: candidate scenes, most recently active first: (name, summary, contents of recent cells).
    :param listed: stored cells shown by number: (number, cell_type, scene, content).
    :param read: reads one utterance (speaker, text, role, what was said before) into statements.
    :param facts_of: reads a stored cell's content (cached).
    :param remember: records what a new cell's content says, so it is not read again.
    """
    readings: list[Reading] = []
    context = list(reversed(scenes[0][2][:_CONTEXT_CELLS])) if scenes else []
    for speaker, text in utterances:
        role = role_of(speaker)
        if role == "assistant" and text.strip().startswith(MEMORY_REPORTS):
            continue  # the engine's own report of what memory holds is not news
        readings.append(read(speaker, text, role, context))
    statements: list[Statement] = []
    for reading in readings:
        for statement in reading.statements:
            if any(near_duplicate(statement.content, kept.content, 0.9) for kept in statements):
                continue  # said twice in one exchange: kept once
            statements.append(statement)
    if not statements:
        return []
    shown = [Listed(number, kind, scene, content, facts_of(content)) for number, kind, scene, content in listed]
    # a scene is described by its recent cells (read once, when they were stored); by its summary
    # only when it has none (a model's summary is new text each time, and costs a parse)
    profiles = [
        (name, [facts_of(s) for s in (recent or split_statements(summary))]) for name, summary, recent in scenes
    ]
    people = [s for s in statements if role_of(s.speaker) != "assistant"] or statements
    names = frozenset(word for s in people for word in s.facts.names)
    persons = frozenset(word for s in people for word in s.facts.people)
    docs = [doc for reading in readings for doc in reading.docs]
    choice = choose_scene(
        people,
        profiles,
        names=names,
        people=persons | frozenset(w for _, facts in profiles for f in facts for w in f.people),
        vocabulary=vocabulary,
        new_name=lambda: scene_name(docs, people, vocabulary, taken=[name for name, *_ in scenes]),
    )
    allowed = list(cell_types) if cell_types else None
    cells: list[tuple[int, dict[str, Any]]] = []
    retiring: dict[int, list[tuple[int, Statement]]] = {}
    for order, statement in enumerate(statements):
        kind = statement.cell_type
        if allowed is not None and kind not in allowed:
            kind = "fact" if "fact" in allowed else allowed[0]
        cell: dict[str, Any] = {
            "scene": choice.scene,
            "cell_type": kind,
            "salience": statement.salience,
            "content": statement.content,
        }
        cell.update(decide(statement, shown, choice.scene, vocabulary))
        remember(statement.content, statement.facts)
        cells.append((order, cell))
        if cell.get("action") in ("update", "supersede"):
            # a replaced value leaves the rest of its cell; plans that went with it go whole
            dependents = cell.get("retires", ()) if cell["action"] == "supersede" else ()
            for number in (cell["target"], *dependents):
                retiring.setdefault(number, []).append((order, statement))
    for old in (c for c in shown if c.number in retiring):
        # what is left once every statement that changes it has taken its part ("fixed the seal"
        # and "passed the inspection" both retire "fix the seal before the inspection": nothing is left)
        left: str | None = old.content
        for _, statement in retiring[old.number]:
            left = still_true(replace(old, content=left, facts=facts_of(left)), statement, vocabulary) if left else None
        if left and left != old.content:
            cell = {
                "scene": old.scene,
                "cell_type": old.cell_type,
                "salience": retiring[old.number][0][1].salience,
                "content": left,
                "action": "add",
                "reason": f"what cell {old.number} still says",
            }
            cells.append((retiring[old.number][0][0], cell))
    kept = sorted(cells, key=lambda pair: (-pair[1]["salience"], pair[0]))[:MAX_CELLS]
    kept.sort(key=lambda pair: pair[0])
    return [cell for _, cell in kept]
