"""What the extraction step is shown of stored memory: related cells, candidate scenes, the cells a change may touch.

Each list is bounded, so an extraction prompt does not grow with memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from .db import MemoryDB
from .prompts import MAX_CELLS_IN_PROMPT
from .types import Cell, Hit, NewCell, Scene, Utterance

__all__ = [
    "MAX_CANDIDATE_SCENES",
    "MAX_SLOT_CELLS",
    "RECENT_CELLS",
    "candidate_scenes",
    "exchange_matches",
    "related_cells",
    "scene_profiles",
    "slot_cells",
]

#: How many existing scenes the extraction step is shown (the last active one
#: plus those whose cells best match the exchange).
MAX_CANDIDATE_SCENES = 5
#: How many of a candidate scene's newest cells describe it to the extraction step.
_PROFILE_CELLS = 15
#: Of those, how many are simply the most recently active (a topic can return
#: in words its earlier cells never used).
_RECENT_SCENES = 3
#: How many of the cells shown to extraction are the newest of the last
#: active scene (the rest are the best matches of the exchange).
RECENT_CELLS = 3
#: How many further current cells the offline engine reads for facts an exchange changes.
MAX_SLOT_CELLS = 60
_SLOT_MATCHES = 20


def exchange_matches(db: MemoryDB, utterances: Sequence[Utterance]) -> list[Hit]:
    """The stored cells that best match an exchange: one search, read by each list below."""
    text = " ".join(u.text for u in utterances)[:2000]
    return [hit for hit in db.search(text, limit=max(_SLOT_MATCHES, 3 * MAX_CANDIDATE_SCENES)) if hit.matched]


def related_cells(db: MemoryDB, matches: Sequence[Hit], scenes: Sequence[Scene]) -> list[Cell]:
    """The stored cells extraction is shown: best matches of the exchange and the newest of the last scene."""
    best = [hit.id for hit in matches[:MAX_CELLS_IN_PROMPT]]
    recent = [c.id for c in db.list_cells(scenes[0].scene, limit=RECENT_CELLS, newest_first=True)] if scenes else []
    head = best[: MAX_CELLS_IN_PROMPT - len(recent)]
    ids = list(dict.fromkeys([*head, *recent, *best]))[:MAX_CELLS_IN_PROMPT]
    return db.get_cells(ids)


def candidate_scenes(
    matches: Sequence[Hit],
    scenes: Sequence[Scene],
    pending: Mapping[str, Sequence[NewCell]] | None = None,
) -> list[Scene]:
    """The most recently active scenes, then those whose cells best match the exchange."""
    if not scenes:
        return []
    chosen = [scene.scene for scene in scenes[:_RECENT_SCENES]]
    by_name = {s.scene: s for s in scenes}
    for hit in matches:
        # a scene another program made since the scenes were read is not offered this time
        if hit.scene not in chosen and hit.scene in by_name:
            chosen.append(hit.scene)
        if len(chosen) == MAX_CANDIDATE_SCENES:
            break
    result = []
    for name in chosen:
        scene = by_name[name]
        extra = pending.get(name) if pending else None
        if extra:  # cells not yet folded into the summary still describe the scene
            summary = " ".join([scene.summary, *(c.content for c in extra)])
            scene = replace(scene, summary=summary)
        result.append(scene)
    return result


def scene_profiles(db: MemoryDB, scenes: Sequence[Scene]) -> dict[str, list[str]]:
    """The contents of the newest current cells of each scene.

    A summary stays under 100 words however large its scene grows; the
    scene's own recent cells say more about which words belong to it.
    """
    return {
        scene.scene: [cell.content for cell in db.list_cells(scene.scene, limit=_PROFILE_CELLS, newest_first=True)]
        for scene in scenes
    }


def slot_cells(db: MemoryDB, matches: Sequence[Hit], scenes: Sequence[Scene], shown: Sequence[Cell]) -> list[Cell]:
    """More current cells that may hold a fact this exchange changes (listed after the shown ones).

    A changed fact may sit in any cell of its scene, not only among the best matches of
    the exchange: every current cell of the candidate scenes (the newest first), then the
    further matches of the exchange, up to :data:`MAX_SLOT_CELLS`.
    """
    seen = {cell.id for cell in shown}
    found: list[Cell] = []
    for cell in db.get_cells(hit.id for hit in matches[:_SLOT_MATCHES] if hit.id not in seen):
        seen.add(cell.id)
        found.append(cell)
    for scene in scenes:
        for cell in db.list_cells(scene.scene, limit=MAX_SLOT_CELLS, newest_first=True):
            if cell.id not in seen:
                seen.add(cell.id)
                found.append(cell)
    return found[:MAX_SLOT_CELLS]
