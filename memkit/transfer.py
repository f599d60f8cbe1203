"""Export a namespace's memory to JSON Lines, and import it back.

One JSON object per line: ``{"kind": "cell", ...}``, ``{"kind": "scene", ...}``
or ``{"kind": "link", ...}``. History travels too: superseded and archived
cells with their state, and the links between cells. Ids and creation times
are not carried over: an imported cell gets a new id and is created when it
is imported (a cell's ``ref`` is its id in the exported memory, which its
links use). Everything else is.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from typing import Any

from .db import MemoryDB, to_iso
from .errors import MemkitError
from .links import link, list_links
from .types import LINK_KINDS, NewCell

__all__ = ["FORMAT_VERSION", "export_jsonl", "import_jsonl"]

#: 2: cells carry their state and a ``ref``, and links are exported. Files of version 1 import too.
FORMAT_VERSION = 2
#: A cell's state: how often it was stated, and whether it was superseded or archived.
_STATE = ("seen_count", "last_seen_at", "valid_until", "archived_at")


def _state(record: dict[str, Any]) -> dict[str, Any]:
    """The state columns a cell record carries, checked.

    :raises ValueError: a count that is not a whole number from 1, or a time that is not ISO 8601.
    """
    state = {k: record[k] for k in _STATE if record.get(k) is not None}
    count = state.get("seen_count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"seen_count must be a whole number from 1, got {count!r}")
    for column in _STATE[1:]:
        if column in state:
            to_iso(state[column], column)
    return state


def export_jsonl(db: MemoryDB, path: str | os.PathLike[str]) -> int:
    """Write the namespace's cells (history included), scenes and links to ``path``; return the number of lines."""
    lines: list[dict[str, Any]] = [{"kind": "memkit-export", "version": FORMAT_VERSION, "namespace": db.namespace}]
    for cell in db.list_cells(include_history=True):
        record = asdict(cell)
        ref = record.pop("id")
        del record["namespace"]
        lines.append({"kind": "cell", "ref": ref, **record})
    for scene in db.list_scenes(include_history=True):
        lines.append({"kind": "scene", "scene": scene.scene, "summary": scene.summary})
    for x in list_links(db):
        lines.append({"kind": "link", "source": x.source, "target": x.target, "link": x.kind, "reason": x.reason})
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return len(lines)


def import_jsonl(db: MemoryDB, path: str | os.PathLike[str]) -> int:
    """Add the cells and scene summaries in ``path`` to ``db``'s namespace; return cells added.

    The whole file is read and checked before anything is written, and it is
    written in one transaction: a bad line imports nothing.

    :raises MemkitError: a line is not valid JSON or not a memkit record.
    """
    cells: list[NewCell] = []
    states: list[tuple[Any, dict[str, Any]]] = []  # (ref, state) per cell, in order
    scenes: list[tuple[str, str]] = []
    links: list[tuple[Any, Any, str, str]] = []
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except UnicodeDecodeError as exc:
        raise MemkitError(f"{os.fspath(path)} is not a memkit export: it is not UTF-8 text ({exc})") from exc
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines: U+2028 may be in a string
        if not line.strip():
            continue
        try:
            record: dict[str, Any] = json.loads(line)
            kind = record.get("kind")
            if kind == "cell":
                cells.append(
                    NewCell(
                        scene=record["scene"],
                        cell_type=record["cell_type"],
                        salience=record["salience"],
                        content=record["content"],
                        source_id=record.get("source_id"),
                        occurred_at=record.get("occurred_at"),
                        context=record.get("context"),
                    )
                )
                states.append((record.get("ref"), _state(record)))
            elif kind == "link":
                if record["link"] not in LINK_KINDS:
                    raise ValueError(f"unknown link kind {record['link']!r}")
                links.append((record["source"], record["target"], record["link"], str(record.get("reason", ""))))
            elif kind == "scene":
                scenes.append((record["scene"], record.get("summary", "")))
            elif kind != "memkit-export":
                raise ValueError(f"unknown kind {kind!r}")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise MemkitError(f"{os.fspath(path)} line {number} is not a memkit record: {exc}") from exc
    with db.change(f"imported from {os.path.basename(os.fspath(path))}") as change:
        ids = db.add_cells(cells)
        new_id = {ref: cell_id for (ref, _), cell_id in zip(states, ids, strict=True) if ref is not None}
        for (_, state), cell_id in zip(states, ids, strict=True):
            if state and state != {"seen_count": 1}:
                with change.tracking(db.namespace, "cell", cell_id, "edit", "state from the export"):
                    assignments = ", ".join(f"{column} = ?" for column in state)
                    change.conn.execute(f"UPDATE mem_cells SET {assignments} WHERE id = ?", [*state.values(), cell_id])
        for scene, summary in scenes:
            db.upsert_scene(scene, summary)
        for source, target, kind, reason in links:
            if source not in new_id or target not in new_id:
                raise MemkitError(f"{os.fspath(path)} links cells it does not hold ({source} {kind} {target})")
            link(db, new_id[source], new_id[target], kind, reason=reason)
    return len(cells)
