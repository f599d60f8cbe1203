"""Exercise 5, a decay rule: a :data:`~memkit.forgetting.DecayRule` of your own, plugged into ``forget()``.

The student writes ``my_rule(salience, idle_days, uses) -> strength`` and
``forget_faded(db) -> archived ids``. The rule is tried on a grid of
saliences, idle days and uses; then ``forget_faded`` runs on a memory whose
cells were stored, stated again and recalled at known times, and what it
archived is compared with what :func:`memkit.forgetting.strengths` says the
rule makes of each cell.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime, timezone
from itertools import pairwise

from ..connection import ManualClock
from ..db import MemoryDB
from ..forgetting import THRESHOLD, DecayRule, Strength, half_life, mark_recalled, strengths
from ..history import events
from ..lifecycle import reinforce
from ..types import NewCell
from .feedback import Checker, Feedback, run_checks

__all__ = ["NOW", "decay_rule", "forgetting_memory"]

#: The moment the exercise forgets at.
NOW = datetime(2024, 7, 1, 9, 0, tzinfo=timezone.utc)

#: (stored at, cell, stated again at, recalled at): Maya's memory, used and left alone.
_HISTORY: tuple[tuple[str, NewCell, tuple[str, ...], tuple[str, ...]], ...] = (
    ("2014-05-01T10:00:00", NewCell("flat", "fact", 0.8, "Maya's first flat, in 2014, had a gas stove."), (), ()),
    (
        "2024-03-04T19:02:00",
        NewCell("kitchen", "fact", 0.9, "The kitchen budget is 12,000 euros."),
        (),
        ("2024-06-30T09:00:00",),
    ),
    (
        "2024-03-04T19:05:00",
        NewCell("kitchen", "fact", 0.6, "A carpenter called Tomas is building the cabinets."),
        ("2024-03-19T18:20:00", "2024-03-26T18:40:00"),
        (),
    ),
    ("2024-03-04T19:09:00", NewCell("kitchen", "fact", 0.6, "The old kitchen gets torn out on March 18."), (), ()),
    ("2024-03-04T19:12:00", NewCell("kitchen", "fact", 0.4, "White lacquer looks crisp."), (), ()),
    (
        "2024-03-19T18:25:00",
        NewCell("kitchen", "plan", 0.5, "The plumber comes on April 9 to move the sink pipes."),
        (),
        ("2024-04-09T08:00:00",),
    ),
    (
        "2024-04-12T18:30:00",
        NewCell("family", "plan", 0.7, "Maya's sister Ines visits in June."),
        (),
        ("2024-06-20T12:00:00",),
    ),
)
#: The cell recalled the day before :data:`NOW`.
_YESTERDAY = "The kitchen budget is 12,000 euros."

#: The grid the rule is tried on; the first values are the ones feedback shows first.
_SALIENCES = (0.5, 0.9, 0.2, 1.0)
_USES = (0, 1, 3, 10)
_IDLE = (0.0, 0.5, 1.0, 7.0, 30.0, 90.0, 365.0, 3650.0)
_TOLERANCE = 1e-9

Rule = Callable[[float, float, int], object]
ForgetFaded = Callable[[MemoryDB], object]


def forgetting_memory() -> MemoryDB:
    """Maya's memory at :data:`NOW`: cells stored, stated again and recalled at known times, some long ago."""
    clock = ManualClock(NOW)
    db = MemoryDB(clock=clock)
    steps: list[tuple[str, str, int]] = []
    for index, (stored, _cell, stated, recalled) in enumerate(_HISTORY):
        steps += [(stored, "store", index), *((t, "state", index) for t in stated)]
        steps += [(t, "recall", index) for t in recalled]
    ids: dict[int, int] = {}
    for when, what, index in sorted(steps):
        clock.set(when)
        if what == "store":
            ids[index] = db.add_cells([_HISTORY[index][1]])[0]
        elif what == "state":
            reinforce(db, ids[index], reason="said again")
        else:
            mark_recalled(db, [ids[index]])
    clock.set(NOW)
    return db


def _readable(pair: tuple[float, float]) -> int:
    """Show a month of idle days (or a pair of idle days ending at a month) before the others."""
    return abs(_IDLE.index(pair[1]) - _IDLE.index(30.0))


def _shown(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else repr(value)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _call(s: float, d: float, u: int) -> str:
    return f"my_rule({s}, {d}, {u})"


def _rule_table(c: Checker, rule: Rule) -> dict[tuple[float, float, int], float]:
    calls = {(0.5, 10.0, 1): c.call(rule, 0.5, 10.0, 1)}
    for s in _SALIENCES:
        for u in _USES:
            for d in _IDLE:
                calls[s, d, u] = c.call(rule, s, d, u, name=_call(s, d, u))
    odd = next((key for key, value in calls.items() if not _is_number(value)), None)
    c.require(
        odd is None,
        "my_rule returns a number",
        f"{_call(*odd)} returned {calls[odd]!r} ({type(calls[odd]).__name__}): return the strength, a number "
        "from 0 to 1"
        if odd is not None
        else "",
    )
    return {key: float(value) for key, value in calls.items()}  # type: ignore[arg-type]


def _check_rule(c: Checker, v: dict[tuple[float, float, int], float]) -> None:
    wrong = [s for s in _SALIENCES if not math.isclose(v[s, 0.0, 0], s, abs_tol=1e-6)]
    c.check(
        not wrong,
        "a cell used a moment ago is as strong as its salience",
        f"{_call(wrong[0], 0.0, 0)} = {_shown(v[wrong[0], 0.0, 0])}, not {wrong[0]}: a cell used a moment ago is "
        "as strong as its salience. Start from the salience and let it fade: salience * (what is left after "
        "idle_days)"
        if wrong
        else "",
    )
    grew = [
        (s, d1, d2, u)
        for s in _SALIENCES
        for u in _USES
        for d1, d2 in sorted(pairwise(_IDLE), key=_readable)
        if v[s, d2, u] > v[s, d1, u] + _TOLERANCE
    ]
    if grew:
        s, d1, d2, u = grew[0]
        hint = (
            f"{_call(s, d2, u)} = {_shown(v[s, d2, u])} is more than {_call(s, d1, u)} = {_shown(v[s, d1, u])}: "
            "strength grew with time. A memory left unused fades: multiply the salience by a factor that shrinks "
            "as idle_days grows, such as 0.5 ** (idle_days / 30)"
        )
    c.check(not grew, "strength never grows while a cell goes unused", hint if grew else "")
    outside = [key for key, value in v.items() if not 0.0 <= value <= 1.0]
    if outside:
        s, d, u = outside[0]
        value = v[s, d, u]
        hint = (
            f"{_call(s, d, u)} = {_shown(value)}, above 1: strength is a share of full strength, at most 1. "
            "Let uses slow the fading instead of adding strength, or cap it with min(1.0, ...)"
            if value > 1.0
            else f"{_call(s, d, u)} = {_shown(value)}, below 0: strength is never negative. Subtracting from the "
            "salience goes below 0 after a while: multiply it by a fading factor instead, or clamp with max(0.0, ...)"
        )
    c.check(not outside, "strength stays between 0 and 1", hint if outside else "")
    faster = [
        (s, d, u1, u2)
        for s in _SALIENCES
        for d in sorted(_IDLE[1:], key=lambda d: _readable((d, d)))
        for u1, u2 in pairwise(_USES)
        if v[s, d, u2] < v[s, d, u1] - _TOLERANCE
    ]
    slower = any(v[s, d, 3] > v[s, d, 0] + _TOLERANCE for s in _SALIENCES for d in _IDLE)
    if faster:
        s, d, u1, u2 = faster[0]
        hint = (
            f"{_call(s, d, u2)} = {_shown(v[s, d, u2])} is less than {_call(s, d, u1)} = {_shown(v[s, d, u1])}: "
            "more uses made the cell fade faster. Each use (stated again, recalled) should slow the fading, "
            "e.g. a half-life of 30 * (1 + uses) days"
        )
    else:
        hint = (
            f"{_call(0.5, 90.0, 3)} = {_call(0.5, 90.0, 0)} = {_shown(v[0.5, 90.0, 0])}: uses changes nothing. "
            "A cell stated again or recalled three times should fade more slowly than one never used again, "
            "e.g. with a half-life of 30 * (1 + uses) days"
        )
    c.check(not faster and slower, "each use slows the fading", hint)
    yesterday = v[0.5, 1.0, 1]
    c.check(
        yesterday >= THRESHOLD,
        "a cell recalled yesterday is kept",
        f"{_call(0.5, 1.0, 1)} = {_shown(yesterday)}, below THRESHOLD ({THRESHOLD}): a cell recalled yesterday "
        "would be archived. Memories should fade over weeks and months, not in a day",
    )
    decade = v[1.0, 3650.0, 0]
    c.check(
        decade < THRESHOLD,
        "a cell unused for ten years is forgotten",
        f"{_call(1.0, 3650.0, 0)} = {_shown(decade)}: ten years unused and still above THRESHOLD ({THRESHOLD}), "
        "so nothing would ever be forgotten. Let strength fall towards 0 as idle_days grows",
    )
    c.info(
        f"a cell of salience 0.5, 90 days unused: {_shown(v[0.5, 90.0, 0])} with your rule, "
        f"{_shown(half_life(0.5, 90.0, 0))} with memkit's half_life; used 3 times: {_shown(v[0.5, 90.0, 3])} and "
        f"{_shown(half_life(0.5, 90.0, 3))}"
    )


def _days(now: datetime, timestamp: str) -> float:
    moment = datetime.fromisoformat(timestamp)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return max(0.0, (now - moment).total_seconds() / 86400.0)


#: How a hand-written loop may count idle days and uses, and what to say when it does.
_IDLE_FROM = {
    "last use": "",
    "last statement": "a recall restarts the clock",
    "storing": "idle days run from the last use (stored, stated again or recalled), not from when the cell was stored",
}
_USES_FROM = {
    "all": "",
    "statements": "a recall counts as a use",
    "none": "pass the uses to your rule (times stated again plus times recalled)",
}
_BOTH = {("last statement", "statements"): "a recall is a use: it restarts the clock and counts among the uses"}


def _slips(db: MemoryDB, rule: Rule, theirs: dict[int, Strength]) -> dict[tuple[str, str], list[int]]:
    """The cells a loop counting idle days and uses each wrong way would archive, under the student's rule."""
    now = db.clock()
    found = {}
    for idle_from in _IDLE_FROM:
        for uses_from in _USES_FROM:
            weak = []
            for i, s in theirs.items():
                cell = s.cell
                idle = {
                    "last use": s.idle_days,
                    "last statement": _days(now, max(cell.created_at, cell.last_seen_at or "")),
                    "storing": _days(now, cell.created_at),
                }[idle_from]
                uses = {"all": s.uses, "statements": cell.seen_count - 1, "none": 0}[uses_from]
                if round(float(rule(cell.salience, idle, uses)), 4) < THRESHOLD:  # type: ignore[arg-type]
                    weak.append(i)
            found[idle_from, uses_from] = weak
    return found


def _archived_too_many(
    archived: list[int],
    extra: list[int],
    theirs: dict[int, Strength],
    slips: dict[tuple[str, str], list[int]],
    threshold: float | None,
) -> str:
    """Why cells the rule keeps were archived: another threshold, a counting slip, else the threshold."""
    s = theirs[extra[0]]
    cell = f"cell #{s.cell.id} ({s.cell.content!r}) was archived, but under your rule its strength is {s.strength}"
    if threshold is not None and threshold != THRESHOLD:
        return f"{cell}: you archived below {threshold}; keep memkit's THRESHOLD ({THRESHOLD})"
    for (idle_from, uses_from), weak in slips.items():
        if weak == archived and (idle_from, uses_from) != ("last use", "all"):
            fixes = _BOTH.get((idle_from, uses_from)) or "; ".join(
                fix for fix in (_IDLE_FROM[idle_from], _USES_FROM[uses_from]) if fix
            )
            return f"{cell}: {fixes}. memkit.forgetting.strengths() and forget() count both"
    return f"{cell}, not below THRESHOLD ({THRESHOLD}): archive only the cells below memkit's threshold"


_REASON = re.compile(r"^strength (?P<strength>-?[\d.]+) < (?P<threshold>[\d.]+) ")


def _history_hint(
    reasons: dict[int, str], archived: list[int], theirs: dict[int, Strength], default: dict[int, Strength]
) -> str:
    """'' when the history gives every archived cell its strength under the student's rule, else what is wrong."""
    if not archived:
        return "nothing was archived, so the history says nothing: forget(db, Forgetting(rule=my_rule))"
    parsed = {i: _REASON.match(reasons.get(i, "")) for i in archived}
    bare = [i for i, match in parsed.items() if match is None]
    if bare:
        return (
            f"the history gives no strength for cell #{bare[0]} (its reason: {reasons.get(bare[0], '')!r}): archive "
            "through memkit.forgetting.forget(db, Forgetting(rule=my_rule)), which records each cell's strength"
        )
    matches = {i: m for i, m in parsed.items() if m is not None}
    other = [i for i, m in matches.items() if float(m["threshold"]) != THRESHOLD]
    if other:
        return (
            f"cell #{other[0]} was archived below a threshold of {matches[other[0]]['threshold']}: keep memkit's "
            f"THRESHOLD ({THRESHOLD}), Forgetting(rule=my_rule)"
        )

    def given(strength_of: dict[int, Strength]) -> list[int]:
        return [i for i, m in matches.items() if m["strength"] != f"{strength_of[i].strength:.3f}"]

    if not given(default) and given(theirs):
        return (
            "the history gives each archived cell its strength under memkit's default rule, not yours: "
            "pass your rule, forget(db, Forgetting(rule=my_rule))"
        )
    if given(theirs):
        odd = given(theirs)[0]
        return (
            f"the history gives cell #{odd} strength {matches[odd]['strength']}, your rule gives it "
            f"{theirs[odd].strength}: forget() was given another rule, or cells you changed. Call "
            "forget(db, Forgetting(rule=my_rule)) on the cells as they are stored"
        )
    return ""


def _check_forgetting(c: Checker, rule: Rule, forget_faded: ForgetFaded) -> None:
    db = forgetting_memory()
    with c.student_code("my_rule"):
        theirs = {s.cell.id: s for s in strengths(db, rule=rule)}  # type: ignore[arg-type]
        slips = _slips(db, rule, theirs)
    default = {s.cell.id: s for s in strengths(db)}
    expected = sorted(i for i, s in theirs.items() if s.strength < THRESHOLD)
    by_default = sorted(i for i, s in default.items() if s.strength < THRESHOLD)
    before = {cell.id: cell for cell in db.list_cells(include_history=True)}
    yesterday = next(i for i, cell in before.items() if cell.content == _YESTERDAY)

    returned = c.call(forget_faded, db)
    after = {cell.id: cell for cell in db.list_cells(include_history=True)}
    gone = [i for i in before if i not in after]
    c.require(
        not gone,
        "nothing was deleted",
        f"cell #{gone[0]} ({before[gone[0]].content!r}) is gone from the database: forgetting never deletes. "
        "Archive instead, with memkit.forgetting.forget: an archived cell is kept, can be restored, and its "
        "story stays in the history"
        if gone
        else "",
    )
    changed = [i for i in before if after[i].salience != before[i].salience]
    c.check(
        not changed,
        "stored saliences are unchanged",
        f"cell #{changed[0]} has salience {after[changed[0]].salience} now, {before[changed[0]].salience} before: "
        "stored salience never changes with time. Strength is computed when asked, so forgetting twice never "
        "decays a cell twice"
        if changed
        else "",
    )
    archived = sorted(i for i, cell in after.items() if cell.status == "archived")
    reasons = {int(e.key): e.reason for e in events(db, kind="cell") if e.action == "archive"}
    thresholds = [float(m["threshold"]) for i in archived if (m := _REASON.match(reasons.get(i, "")))]
    threshold = max(thresholds, key=lambda t: t != THRESHOLD) if thresholds else None
    extra = sorted((i for i in archived if i not in expected), key=lambda i: (i == yesterday, i))
    missing = [i for i in expected if i not in archived]
    if changed and extra:
        too_many = (
            f"cells {extra} were archived because their stored salience was lowered first: leave the cells "
            "as they are and let forget(db, Forgetting(rule=my_rule)) compute each strength"
        )
    else:
        too_many = _archived_too_many(archived, extra, theirs, slips, threshold) if extra else ""
    c.check(
        yesterday not in archived,
        f"the cell recalled yesterday ({_YESTERDAY!r}) is still current",
        (
            _archived_too_many(archived, [yesterday], theirs, slips, threshold)
            if theirs[yesterday].strength >= THRESHOLD
            else f"cell #{yesterday} ({_YESTERDAY!r}) was recalled yesterday and archived: your rule gives it "
            f"{theirs[yesterday].strength} after one day. Fade over weeks, not days"
        ),
    )
    if archived == by_default != expected:
        hint = (
            f"you archived cells {by_default}, as memkit's default rule would; your rule says {expected}: "
            "pass yours, forget(db, Forgetting(rule=my_rule))"
        )
    elif extra:
        hint = too_many
    elif missing:
        s = theirs[missing[0]]
        hint = (
            f"cell #{missing[0]} ({s.cell.content!r}) has strength {s.strength} under your rule, below THRESHOLD, "
            "and is still current: archive every cell below it, forget(db, Forgetting(rule=my_rule))"
        )
    c.check(
        archived == expected,
        f"it archives exactly the cells your rule says faded below THRESHOLD ({THRESHOLD}): {expected}",
        hint if archived != expected else "",
    )
    history = _history_hint(reasons, archived, theirs, default)
    c.check(
        not history,
        "the history says why each cell was archived: its strength under your rule (forget() wrote it)",
        history,
    )
    ids = sorted(returned) if isinstance(returned, (list, tuple)) else returned
    c.check(
        ids == archived,
        "it returns the ids of the cells it archived",
        f"forget_faded returned {returned!r}; it archived {archived}: return the ids forget() gives back",
    )
    c.call(forget_faded, db)
    again = sorted(cell.id for cell in db.list_cells(include_history=True) if cell.status == "archived")
    more = [i for i in again if i not in archived]
    c.check(
        not more,
        "running it again archives nothing more (decay is never applied twice)",
        f"running forget_faded a second time archived cells {more} too: the decay was applied twice. "
        "Compute strength when asked (forget() does) and never write it into the cells"
        if more
        else "",
    )
    c.info(
        f"your rule archived {len(expected)} of {len(before)} cells; memkit's half_life would archive {len(by_default)}"
    )
    db.close()


def decay_rule(my_rule: DecayRule, forget_faded: ForgetFaded) -> Feedback:
    """Check exercise 5: ``my_rule(salience, idle_days, uses) -> strength`` and ``forget_faded(db) -> ids``."""

    def checks(c: Checker) -> None:
        table = _rule_table(c, my_rule)
        copied = all(
            math.isclose(value, half_life(s, d, u), rel_tol=1e-9, abs_tol=1e-12) for (s, d, u), value in table.items()
        )
        c.require(
            not copied,
            "the rule is your own, not memkit's half_life",
            "your rule gives memkit's half_life to the last digit, for every salience, idle time and use: that is "
            "memkit's solution, not yours. Decide what should fade differently (a risk never, a fact seen once "
            "sooner, a step instead of a curve) and write that",
        )
        _check_rule(c, table)
        _check_forgetting(c, my_rule, forget_faded)

    return run_checks("a decay rule of your own, plugged into forget()", checks)
