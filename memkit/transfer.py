"""Export a namespace's memory to JSON Lines, and import it back.

One JSON object per line: a header ``{"kind": "memkit-export", "version": 3,
...}``, then ``{"kind": "cell", ...}``, ``{"kind": "scene", ...}``,
``{"kind": "link", ...}`` and ``{"kind": "event", ...}`` records. History
travels too: superseded and archived cells with their state, the links
between cells, and the change journal (see :mod:`memkit.transfer_events`):
after an import, :func:`memkit.history.story` of a cell tells what it told
in the exported memory, with the target's ids, followed by the import itself.

Ids and creation times are not carried over: an imported cell gets a new id
and is created when it is imported (a cell's or link's ``ref`` is its id in
the exported memory, which links and events use). Exchanges do not travel,
so events lose their exchange id. Everything else is. Importing is
idempotent: cells already there are skipped, and so are their events. The
import is one change, the last of the history: :func:`memkit.history.undo`
takes back the cells, links and scenes it added and the events it brought;
the imported events are never undone themselves (undo stops there).

Files of format 1 (no state, refs or links) and 2 (no events) import too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .db import MemoryDB, to_iso
from .errors import MemkitError
from .history import Change
from .links import link, list_links
from .parsing import MAX_CONTENT_CHARS, MAX_REASON_CHARS, MAX_SUMMARY_CHARS, _cut
from .redact import redact_secrets
from .transfer_events import EventRecord, bring_events, event_records, read_event
from .types import LINK_KINDS, NewCell, fits_sqlite_integer, normalise_scene

__all__ = ["FORMAT_VERSION", "ImportResult", "export_jsonl", "export_lines", "import_jsonl"]

#: 2: cells carry their state and a ``ref``, and links are exported.
#: 3: links carry a ``ref`` too, and the history's events are exported. Files of versions 1 and 2 import too.
FORMAT_VERSION = 3
#: A cell's state: how often it was stated, and whether it was superseded or archived.
_STATE = ("seen_count", "last_seen_at", "valid_until", "archived_at")


def _state(record: dict[str, Any]) -> dict[str, Any]:
    """The state columns a cell record carries, checked.

    :raises ValueError: a count that is not a whole number from 1, or a time that is not ISO 8601.
    """
    state = {k: record[k] for k in _STATE if record.get(k) is not None}
    count = state.get("seen_count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1 or not fits_sqlite_integer(count):
        raise ValueError(f"seen_count must be a whole number from 1, got {count!r}")
    for column in _STATE[1:]:
        if column in state:
            to_iso(state[column], column)
    return state


def export_lines(db: MemoryDB) -> list[str]:
    """The namespace's cells (history included), scenes, links and events as JSON Lines (each ending in a newline)."""
    lines: list[dict[str, Any]] = [{"kind": "memkit-export", "version": FORMAT_VERSION, "namespace": db.namespace}]
    cells: set[int] = set()
    scenes: set[str] = set()
    for cell in db.list_cells(include_history=True):
        record = asdict(cell)
        ref = record.pop("id")
        del record["namespace"]
        lines.append({"kind": "cell", "ref": ref, **record})
        cells.add(ref)
    for scene in db.list_scenes(include_history=True):
        lines.append({"kind": "scene", "scene": scene.scene, "summary": scene.summary})
        scenes.add(scene.scene)
    for x in list_links(db):
        lines.append(
            {"kind": "link", "ref": x.id, "source": x.source, "target": x.target, "link": x.kind, "reason": x.reason}
        )
    lines.extend(event_records(db, cells, scenes))
    return [json.dumps(line, ensure_ascii=False) + "\n" for line in lines]


def export_jsonl(db: MemoryDB, path: str | os.PathLike[str]) -> int:
    """Write the namespace's cells (history included), scenes and links to ``path``; return the number of lines."""
    lines = export_lines(db)
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.writelines(lines)
    os.replace(tmp, path)
    return len(lines)


@dataclass(frozen=True)
class ImportResult:
    """What an import did: cells added, and cells skipped because the namespace already held them."""

    added: int
    skipped: int


def _cell_key(row: Sequence[Any]) -> tuple[Any, ...]:
    """What makes two cells the same for an import: scene, type, content, source and time, as stored."""
    return tuple(redact_secrets(v) if isinstance(v, str) else v for v in row)


def _read_records(db: MemoryDB, path: str | os.PathLike[str], text: str | None = None) -> tuple[list[Any], ...]:
    """Every record of the file (or of ``text``, read from it already), checked and capped as model output is;
    nothing is written.

    :raises MemkitError: a line is not valid JSON or not a memkit record (the message names it).
    """
    cells: list[tuple[Any, NewCell, dict[str, Any]]] = []  # (ref, cell, state)
    scenes: list[tuple[str, str]] = []
    links: list[tuple[Any, Any, Any, str, str]] = []  # (ref, source, target, kind, reason)
    events: list[EventRecord] = []
    if text is None:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except UnicodeDecodeError as exc:
            raise MemkitError(f"{os.fspath(path)} is not a memkit export: it is not UTF-8 text ({exc})") from exc
    now = db.now()
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines: U+2028 may be in a string
        if not line.strip():
            continue
        try:
            record: dict[str, Any] = json.loads(line)
            kind = record.get("kind")
            if kind == "cell":
                content = record["content"]
                cell = NewCell(
                    scene=record["scene"],
                    cell_type=record["cell_type"],
                    salience=record["salience"],
                    content=_cut(content, MAX_CONTENT_CHARS) if isinstance(content, str) else content,
                    source_id=record.get("source_id"),
                    occurred_at=record.get("occurred_at"),
                    context=record.get("context"),
                )
                db._row_values(cell, None, now)  # the checks add_cells makes, made here to name the line
                cells.append((_ref(record), cell, _state(record)))
            elif kind == "link":
                if record["link"] not in LINK_KINDS:
                    raise ValueError(f"unknown link kind {record['link']!r}")
                reason = _text(record.get("reason", ""), "reason")
                links.append(
                    (_ref(record), record["source"], record["target"], record["link"], _cut(reason, MAX_REASON_CHARS))
                )
            elif kind == "event":
                events.append(read_event(record, number))
            elif kind == "scene":
                summary = _text(record.get("summary", ""), "summary")
                scenes.append((normalise_scene(record["scene"]), _cut(summary, MAX_SUMMARY_CHARS)))
            elif kind != "memkit-export":
                raise ValueError(f"unknown kind {kind!r}")
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError) as exc:
            raise MemkitError(f"{os.fspath(path)} line {number} is not a memkit record: {exc}") from exc
    _check_refs(path, cells, links, events)
    return cells, scenes, links, events


def _ref(record: dict[str, Any]) -> int | None:
    """A record's ``ref`` (its id in the exported memory), if it has one.

    :raises ValueError: a ref that is not a whole number.
    """
    ref = record.get("ref")
    if ref is not None and (isinstance(ref, bool) or not isinstance(ref, int) or not fits_sqlite_integer(ref)):
        raise ValueError(f"ref must be a whole number, got {ref!r}")
    return ref


def _check_refs(
    path: str | os.PathLike[str],
    cells: list[tuple[Any, NewCell, dict[str, Any]]],
    links: list[tuple[Any, Any, Any, str, str]],
    events: list[EventRecord],
) -> None:
    """Every ref named once, and every event about cells the file holds.

    :raises MemkitError: a ref given to two cells or two links, or an event about a cell not in the file.
    """
    for what, refs in (("cell", [c[0] for c in cells]), ("link", [x[0] for x in links])):
        seen: set[int] = set()
        for ref in refs:
            if ref in seen:
                raise MemkitError(f"{os.fspath(path)} gives ref {ref} to two {what}s; each must have its own")
            if ref is not None:
                seen.add(ref)
    in_file = {c[0] for c in cells if c[0] is not None}
    for event in events:
        missing = sorted(event.cells() - in_file)
        if missing:
            raise MemkitError(
                f"{os.fspath(path)} line {event.line} is not a memkit record: "
                f"its event is about cell {missing[0]}, which the file does not hold"
            )


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, not {type(value).__name__}")
    return value


def _scene_names(db: MemoryDB, change: Change) -> set[str]:
    """The scenes of ``db``'s namespace, as the change being written sees them."""
    return {row[0] for row in change.conn.execute("SELECT scene FROM mem_scenes WHERE namespace = ?", (db.namespace,))}


def import_jsonl(db: MemoryDB, path: str | os.PathLike[str], *, text: str | None = None) -> ImportResult:
    """Add the cells, scene summaries, links and events in ``path`` to ``db``'s namespace.

    The whole file is read and checked before anything is written, and it is
    written in one transaction: a bad line imports nothing. A cell the
    namespace already holds (same scene, type, content, source and time) is
    skipped, and so are its events, so importing a file twice adds nothing
    the second time. Events come along for the cells the import adds, the
    links to or from them and the scenes it creates; the namespace's own
    history is left as it was. Text is capped as model output is (a cell's
    content at 2,000 characters) and redacted as everything stored is.

    :param text: the export itself, already read (``path`` then only names it, as ``"-"`` for standard input).
    :raises MemkitError: a line is not valid JSON or not a memkit record, or
        an event or link is about a cell the file does not hold.
    """
    cells, scenes, links, events = _read_records(db, path, text)
    with db.change(f"imported from {os.path.basename(os.fspath(path))}") as change:
        scenes_before = _scene_names(db, change)
        present: dict[tuple[Any, ...], list[int]] = {}
        for row in change.conn.execute(
            "SELECT id, scene, cell_type, content, source_id, occurred_at FROM mem_cells WHERE namespace = ?"
            " ORDER BY id",
            (db.namespace,),
        ):
            present.setdefault(tuple(row[1:]), []).append(row[0])
        now = db.now()
        new_id: dict[Any, int] = {}
        added: list[tuple[Any, NewCell, dict[str, Any]]] = []
        for ref, cell, state in cells:
            values = db._row_values(cell, None, now)
            same = present.get(_cell_key([values[1], values[2], values[4], values[5], values[6]]))
            if same:
                existing = same.pop(0)
                if ref is not None:
                    new_id[ref] = existing  # links in the file still find it
            else:
                added.append((ref, cell, state))
        ids = db.add_cells([cell for _, cell, _ in added])
        for (ref, _, state), cell_id in zip(added, ids, strict=True):
            if ref is not None:
                new_id[ref] = cell_id
            if state and state != {"seen_count": 1}:
                with change.tracking(db.namespace, "cell", cell_id, "edit", "state from the export"):
                    assignments = ", ".join(f"{column} = ?" for column in state)
                    change.conn.execute(f"UPDATE mem_cells SET {assignments} WHERE id = ?", [*state.values(), cell_id])
        grown = {normalise_scene(cell.scene) for _, cell, _ in added}
        for scene, summary in scenes:
            found = db.get_scene(scene)
            if summary and (found is None or (found.summary != summary and (not found.summary or scene in grown))):
                db.upsert_scene(scene, summary)
        link_id: dict[int, int] = {}
        for ref, source, target, kind, reason in links:
            if source not in new_id or target not in new_id:
                raise MemkitError(f"{os.fspath(path)} links cells it does not hold ({source} {kind} {target})")
            made = link(db, new_id[source], new_id[target], kind, reason=reason)
            if ref is not None:
                link_id[ref] = made.id
        created = _scene_names(db, change) - scenes_before
        bring_events(db, change, events, new_id, {ref for ref, _, _ in added if ref is not None}, link_id, created)
    return ImportResult(added=len(added), skipped=len(cells) - len(added))
