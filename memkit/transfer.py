"""Export a namespace's memory to JSON Lines, and import it back.

One JSON object per line: ``{"kind": "cell", ...}`` or ``{"kind": "scene", ...}``.
Ids and creation times are not carried over: an imported cell gets a new id
and is created when it is imported. Everything else is.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from typing import Any

from .db import MemoryDB
from .errors import MemkitError
from .types import NewCell

__all__ = ["FORMAT_VERSION", "export_jsonl", "import_jsonl"]

FORMAT_VERSION = 1


def export_jsonl(db: MemoryDB, path: str | os.PathLike[str]) -> int:
    """Write the namespace's cells and scenes to ``path``; return the number of lines."""
    lines = [{"kind": "memkit-export", "version": FORMAT_VERSION, "namespace": db.namespace}]
    for cell in db.list_cells():
        record = asdict(cell)
        del record["id"], record["namespace"]
        lines.append({"kind": "cell", **record})
    for scene in db.list_scenes():
        lines.append({"kind": "scene", "scene": scene.scene, "summary": scene.summary})
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
    scenes: list[tuple[str, str]] = []
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
            elif kind == "scene":
                scenes.append((record["scene"], record.get("summary", "")))
            elif kind != "memkit-export":
                raise ValueError(f"unknown kind {kind!r}")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise MemkitError(f"{os.fspath(path)} line {number} is not a memkit record: {exc}") from exc
    with db.change(f"imported from {os.path.basename(os.fspath(path))}"):
        db.add_cells(cells)
        for scene, summary in scenes:
            db.upsert_scene(scene, summary)
    return len(cells)
