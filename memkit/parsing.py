"""Turn what a model replies into memory cells and scene summaries.

Real models wrap JSON in code fences, add prose around it, return one
object instead of a list, quote numbers, invent cell types or leave fields
out. The parser accepts everything it can make sense of and rejects the
rest item by item, each with a reason the caller can show.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Sequence
from typing import Any

from .llm.base import Reply
from .types import (
    ACTIONS,
    CELL_TYPES,
    DEFAULT_SCENE,
    LINK_KINDS,
    MAX_RETIRES,
    Decision,
    NewCell,
    ParsedCells,
    Rejection,
    clean_text,
    normalise_scene,
)

__all__ = [
    "ACTION_SYNONYMS",
    "CELL_TYPE_SYNONYMS",
    "MAX_CONTENT_CHARS",
    "MAX_REASON_CHARS",
    "MAX_SUMMARY_CHARS",
    "find_json",
    "parse_cells",
    "parse_decision",
    "parse_summaries",
]

#: Words models use for a cell type, mapped to memkit's own.
CELL_TYPE_SYNONYMS: dict[str, str] = {
    "facts": "fact",
    "info": "fact",
    "information": "fact",
    "knowledge": "fact",
    "observation": "fact",
    "detail": "fact",
    "context": "fact",
    "event": "fact",
    "note": "fact",
    "statement": "fact",
    "goal": "plan",
    "intention": "plan",
    "intent": "plan",
    "schedule": "plan",
    "objective": "plan",
    "like": "preference",
    "dislike": "preference",
    "preferences": "preference",
    "pref": "preference",
    "opinion": "preference",
    "taste": "preference",
    "choice": "decision",
    "agreement": "decision",
    "resolution": "decision",
    "conclusion": "decision",
    "todo": "task",
    "to-do": "task",
    "action": "task",
    "action_item": "task",
    "action-item": "task",
    "reminder": "task",
    "chore": "task",
    "assignment": "task",
    "concern": "risk",
    "issue": "risk",
    "problem": "risk",
    "blocker": "risk",
    "danger": "risk",
    "warning": "risk",
    "threat": "risk",
}

#: Words models use for an action on an existing cell, mapped to memkit's own.
ACTION_SYNONYMS: dict[str, str] = {
    "new": "add",
    "create": "add",
    "insert": "add",
    "store": "add",
    "keep": "add",
    "duplicate": "reinforce",
    "repeat": "reinforce",
    "same": "reinforce",
    "merge": "reinforce",
    "confirm": "reinforce",
    "strengthen": "reinforce",
    "modify": "update",
    "change": "update",
    "edit": "update",
    "revise": "update",
    "correct": "update",
    "replace": "update",
    "contradict": "supersede",
    "invalidate": "supersede",
    "cancel": "supersede",
    "delete": "supersede",
    "remove": "supersede",
    "retire": "supersede",
    "end": "supersede",
    "none": "ignore",
    "noop": "ignore",
    "no-op": "ignore",
    "skip": "ignore",
    "nothing": "ignore",
}

_WORD_SALIENCE = {
    "critical": 0.95,
    "very high": 0.9,
    "high": 0.8,
    "medium": 0.5,
    "moderate": 0.5,
    "normal": 0.5,
    "low": 0.25,
    "very low": 0.1,
    "none": 0.0,
}
_DEFAULT_SALIENCE = 0.5
_CONTAINER_KEYS = ("cells", "memory_cells", "memories", "memory", "items", "results", "data", "output")
_CONTENT_KEYS = ("content", "text", "memory", "statement", "fact", "value")
_TYPE_KEYS = ("cell_type", "type", "kind", "category")
_SALIENCE_KEYS = ("salience", "importance", "score", "priority", "weight")
_SCENE_KEYS = ("scene", "topic", "subject", "theme")
_ACTION_KEYS = ("action", "decision", "operation", "op", "event")
_TARGET_KEYS = ("target", "target_id", "target_cell", "cell_id", "existing", "ref")
_RELATION_KEYS = ("relation", "link", "link_kind")
_RETIRES_KEYS = ("retires", "also_retires", "retire", "ends")
_REASON_KEYS = ("reason", "why", "rationale", "because")
_TARGET_TEXT = re.compile(r"^\s*(?:cell\s*|no\.?\s*|number\s*)?[#\[(]?\s*(\d{1,6})\s*[\])]?\s*$", re.IGNORECASE)
_FENCE = re.compile(r"```[a-zA-Z0-9_-]*")
#: Where a JSON value may start, only the first this many brackets are tried.
_MAX_JSON_STARTS = 32
_MAX_LITERAL_CHARS = 100_000
#: A cell's content from a model (or an import) is cut to this length.
MAX_CONTENT_CHARS = 2000
#: A decision's reason from a model is cut to this length.
MAX_REASON_CHARS = 300
#: A scene summary from a model is cut to this length (the prompt asks for under 100 words).
MAX_SUMMARY_CHARS = 4000


def _strip_fences(text: str) -> str:
    return _FENCE.sub("", text)


def _loads_lenient(text: str) -> Any:
    """json.loads, then a repair of trailing commas, then Python literal syntax."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        pass
    repaired = re.sub(r",\s*([\]}])", r"\1", text)
    try:
        return json.loads(repaired)
    except (json.JSONDecodeError, RecursionError):
        pass
    if len(repaired) > _MAX_LITERAL_CHARS:  # Python syntax is a repair for small replies, and slow on big ones
        raise ValueError("not JSON")
    try:
        return ast.literal_eval(repaired)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        raise ValueError("not JSON") from None


def find_json(text: str) -> Any:
    """The first JSON value in ``text``, ignoring code fences and prose around it.

    :raises ValueError: there is no JSON object or array in the text.
    """
    body = _strip_fences(text).strip()
    try:
        return _loads_lenient(body)
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    for number, match in enumerate(re.finditer(r"[\[{]", body)):
        if number == _MAX_JSON_STARTS:  # a reply of brackets would otherwise take quadratic time
            break
        start = match.start()
        try:
            value, _ = decoder.raw_decode(body, start)
            return value
        except (json.JSONDecodeError, RecursionError):
            closing = "]" if body[start] == "[" else "}"
            end = body.rfind(closing)
            if end > start:
                try:
                    return _loads_lenient(body[start : end + 1])
                except ValueError:
                    continue
    raise ValueError("no JSON object or array found")


def _cut(text: str, limit: int) -> str:
    """``text`` cut at a word to at most ``limit`` characters, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _first(item: dict[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        if key in item and item[key] not in (None, ""):
            return item[key]
    return None


def _salience(value: Any) -> float:
    if value is None or isinstance(value, bool):
        return _DEFAULT_SALIENCE
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _WORD_SALIENCE:
            return _WORD_SALIENCE[word]
        percent = word.endswith("%")
        try:
            number = float(word.rstrip("%").strip())
        except ValueError:
            return _DEFAULT_SALIENCE
        value = number / 100 if percent else number
    try:
        number = float(value)
    except OverflowError:  # an integer of hundreds of digits: past either end of the scale
        return 1.0 if value > 0 else 0.0
    except (TypeError, ValueError):
        return _DEFAULT_SALIENCE
    if math.isnan(number):
        return _DEFAULT_SALIENCE
    if 1 < number <= 10:  # a 1-10 scale
        number /= 10
    elif 10 < number <= 100:  # a percentage
        number /= 100
    return round(min(1.0, max(0.0, number)), 3)


def _cell_type(value: Any, allowed: Sequence[str]) -> str | None:
    if not isinstance(value, str):
        return None
    word = value.strip().lower().replace(" ", "_")
    if word in allowed:
        return word
    if word.endswith("s") and word[:-1] in allowed:
        return word[:-1]
    for candidate in (word, word.replace("_", "-"), word[:-1] if word.endswith("s") else word):
        mapped = CELL_TYPE_SYNONYMS.get(candidate)
        if mapped in allowed:
            return mapped
    return None


def _items(value: Any) -> list[Any] | None:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        for key in _CONTAINER_KEYS:
            if isinstance(value.get(key), list):
                return list(value[key])
        if _first(value, _CONTENT_KEYS) is not None:
            return [value]
        if len(value) == 1:
            only = next(iter(value.values()))
            if isinstance(only, list):
                return only
    return None


def _target(value: Any) -> tuple[int | None, str | None]:
    """A short cell number and, when the value was unusable, why."""
    if value is None or value == "" or (isinstance(value, str) and value.strip().lower() in ("null", "none")):
        return None, None
    if isinstance(value, bool):
        return None, f"unreadable target {value!r}"
    if isinstance(value, int):
        return value, None
    if isinstance(value, float) and value.is_integer():
        return int(value), None
    if isinstance(value, str):
        match = _TARGET_TEXT.match(value)
        if match:
            return int(match.group(1)), None
    return None, f"unreadable target {value!r:.40}"


def parse_decision(item: dict[str, Any]) -> Decision:
    """The decision a reply item states for its cell (``add`` when it states none).

    Never raises: an unknown action is kept as written (memkit then stores
    the cell as new and says why), an unreadable target becomes None and an
    unknown relation is dropped, each noted in the reason.
    """
    problems: list[str] = []
    raw_action = _first(item, _ACTION_KEYS)
    if raw_action is None:
        action = "add"
    elif isinstance(raw_action, str):
        word = raw_action.strip().lower().replace("_", "-")
        action = word if word in ACTIONS else ACTION_SYNONYMS.get(word, word)
    else:
        action = f"{raw_action!r:.40}"
    target, problem = _target(_first(item, _TARGET_KEYS))
    if problem:
        problems.append(problem)
    relation: str | None = None
    raw_relation = _first(item, _RELATION_KEYS)
    if raw_relation is not None:
        word = str(raw_relation).strip().lower().replace("_", "-").replace(" ", "-")
        if word in LINK_KINDS and word != "replaces":
            relation = word
        else:
            problems.append(f"unknown relation {raw_relation!r:.40}")
    retires: list[int] = []
    raw_retires = _first(item, _RETIRES_KEYS)
    if raw_retires is not None:
        for value in raw_retires if isinstance(raw_retires, list) else [raw_retires]:
            number, problem = _target(value)
            if number is not None and number not in retires and number != target:
                retires.append(number)
            elif problem:
                problems.append(f"retires: {problem}")
        if len(retires) > MAX_RETIRES:
            problems.append(f"retires named {len(retires)} cells; only the first {MAX_RETIRES} were kept")
            retires = retires[:MAX_RETIRES]
    reason = _first(item, _REASON_KEYS)
    parts = [_cut(" ".join(clean_text(reason).split()), MAX_REASON_CHARS)] if isinstance(reason, str) else []
    parts = [part for part in parts if part]
    return Decision(action, target, relation, "; ".join(parts + problems), tuple(retires))


def parse_cells(
    raw: str,
    *,
    cell_types: Sequence[str] = CELL_TYPES,
    default_scene: str = DEFAULT_SCENE,
    max_content_chars: int = MAX_CONTENT_CHARS,
) -> ParsedCells:
    """Parse a model's extraction reply into cells, with a reason for each rejected item.

    Never raises on bad model output. A reply with nothing usable (empty, cut
    off at its token limit, no JSON, JSON that is not a list of cells, or
    only items that are rejected) gives no cells and says why in ``error``.
    """
    if isinstance(raw, Reply) and raw.cut_off:  # never taken as if whole
        return _unusable(raw[:500], "the reply was cut off at its token limit, also when asked with a larger one")
    if not isinstance(raw, str) or not raw.strip():
        return _unusable(raw, "the reply was empty")
    try:
        value = find_json(raw)
    except ValueError:
        return _unusable(raw[:500], "the reply held no JSON object or array")
    items = _items(value)
    if items is None:
        return _unusable(value, 'the JSON was neither a list of cells nor {"cells": [...]}')
    cells: list[NewCell] = []
    decisions: list[Decision] = []
    rejected: list[Rejection] = []
    for item in items:
        if not isinstance(item, dict):
            rejected.append(Rejection(item, f"a cell must be a JSON object, got {type(item).__name__}"))
            continue
        content = _first(item, _CONTENT_KEYS)
        if not isinstance(content, str) or not clean_text(content).strip():
            rejected.append(Rejection(item, "the cell has no text content"))
            continue
        raw_type = _first(item, _TYPE_KEYS)
        cell_type = _cell_type(raw_type, cell_types)
        if cell_type is None:
            reason = "the cell has no cell_type" if raw_type is None else f"unknown cell_type {raw_type!r}"
            rejected.append(Rejection(item, f"{reason}; expected one of {', '.join(cell_types)}"))
            continue
        scene = _first(item, _SCENE_KEYS)
        text = " ".join(clean_text(content).split())
        text = _cut(text, max_content_chars)
        cells.append(
            NewCell(
                scene=normalise_scene(scene) if isinstance(scene, str) else normalise_scene(default_scene),
                cell_type=cell_type,
                salience=_salience(_first(item, _SALIENCE_KEYS)),
                content=text,
            )
        )
        decisions.append(parse_decision(item))
    error = f"none of the {len(rejected)} items of the reply could be used" if rejected and not cells else None
    return ParsedCells(tuple(cells), tuple(rejected), tuple(decisions), error)


def _unusable(item: Any, reason: str) -> ParsedCells:
    return ParsedCells((), (Rejection(item, reason),), error=reason)


def parse_summaries(raw: str, scenes: Sequence[str]) -> dict[str, str]:
    """Parse a consolidation reply into ``{scene: summary}`` for the requested scenes.

    Accepts ``{"summaries": [{"scene", "summary"}]}``, a plain ``{scene:
    summary}`` object, or (when one scene was asked for) plain text that is
    not broken JSON. Scenes the reply does not cover are left out; the caller
    keeps their old summary.
    """
    wanted = {normalise_scene(s): s for s in scenes}
    found: dict[str, str] = {}
    if not isinstance(raw, str) or not raw.strip():
        return found
    try:
        value = find_json(raw)
    except ValueError:
        value = None
    entries: list[tuple[Any, Any]] = []
    if isinstance(value, dict) and isinstance(value.get("summaries"), list):
        entries = [(e.get("scene"), e.get("summary")) for e in value["summaries"] if isinstance(e, dict)]
    elif isinstance(value, list):
        entries = [(e.get("scene"), e.get("summary")) for e in value if isinstance(e, dict)]
    elif isinstance(value, dict):
        if "summary" in value and len(wanted) == 1:
            entries = [(value.get("scene", next(iter(wanted))), value["summary"])]
        else:
            entries = list(value.items())
    for scene, summary in entries:
        if isinstance(scene, str) and isinstance(summary, str) and summary.strip():
            key = normalise_scene(scene)
            if key in wanted:
                found[wanted[key]] = _cut(" ".join(clean_text(summary).split()), MAX_SUMMARY_CHARS)
    if not found and value is None and len(wanted) == 1:
        text = " ".join(_strip_fences(raw).split())
        if text and not text.startswith(("{", "[")):  # JSON that does not parse is no summary
            found[next(iter(wanted.values()))] = _cut(clean_text(text), MAX_SUMMARY_CHARS)
    return found
