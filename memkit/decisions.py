"""From what the extraction step decided to what memory safely does.

The extraction prompt shows up to a few related cells numbered 1..k (short
numbers, never database ids). For each new cell the model answers an
action from :data:`memkit.types.ACTIONS` and, when it acts on one, the
number of a shown cell. :func:`resolve` maps numbers back to cells and
checks every decision. A decision memkit cannot follow (an unknown action,
a number that was not shown, a cell already replaced in this exchange, a
cell another program changed while the model was deciding) becomes a plain
``add``: the new cell is kept, and the plan says why.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import cast

from .types import ACTIONS, LINK_KINDS, Action, Cell, Decision, LinkKind

__all__ = ["Plan", "resolve"]

_NUMBERED = re.compile(r"\b(cells?) (\d+)\b", re.IGNORECASE)
_ADD_RELATIONS = tuple(kind for kind in LINK_KINDS if kind != "replaces")
#: Actions that need a target cell.
NEEDS_TARGET = frozenset({"reinforce", "update", "supersede", "ignore"})


@dataclass(frozen=True)
class Plan:
    """What memory will do with one new cell.

    :param action: the action to apply (one of :data:`memkit.types.ACTIONS`).
    :param target_id: the database id of the existing cell acted on (or linked to).
    :param relation: for ``add``: the kind of link to ``target_id``.
    :param reason: why (the model's reason, or memkit's when it changed the decision).
    :param asked: what the model asked, when memkit did something else; None when followed.
    :param retire_ids: ids of other existing cells the new one makes untrue as well.
    """

    action: Action
    target_id: int | None = None
    relation: LinkKind | None = None
    reason: str = ""
    asked: str | None = None
    retire_ids: tuple[int, ...] = ()


def _fallback(decision: Decision, why: str) -> Plan:
    asked = decision.action + (f" {decision.target}" if decision.target is not None else "")
    return Plan("add", None, None, f"{why}; stored as a new cell", asked)


def _with_ids(reason: str, shown: Sequence[Cell]) -> str:
    """``reason`` with "cell 2" (a number the prompt showed) written as the cell's id."""

    def to_id(match: re.Match[str]) -> str:
        number = int(match.group(2))
        return f"{match.group(1)} {shown[number - 1].id}" if 1 <= number <= len(shown) else match.group()

    return _NUMBERED.sub(to_id, reason)


def resolve(decisions: Sequence[Decision], shown: Sequence[Cell], changed: Collection[int] = ()) -> list[Plan]:
    """One :class:`Plan` per decision, in order.

    :param decisions: the parsed decisions, one per new cell.
    :param shown: the cells the prompt listed; number ``n`` is ``shown[n - 1]``.
        Numbers in a decision's reason ("repeats cell 2") are written as ids.
    :param changed: ids of shown cells that are no longer current (another program
        superseded, archived or deleted them since): nothing acts on them or links to them.
    """
    decisions = [replace(d, reason=_with_ids(d.reason, shown)) for d in decisions]
    plans: list[Plan] = []
    replaced: set[int] = set()  # ids replaced by an earlier decision
    for decision in decisions:
        reason = decision.reason
        if decision.action not in ACTIONS:
            plans.append(_fallback(decision, f"unknown action {decision.action!r}"))
            continue
        action = cast(Action, decision.action)  # one of ACTIONS, checked above
        target = decision.target
        valid = target is not None and 1 <= target <= len(shown)
        if decision.action in NEEDS_TARGET and not valid:
            if target is None:
                why = f"{decision.action} names no cell"
            elif shown:
                why = f"{decision.action} names number {target}, but only numbers 1-{len(shown)} were shown"
            else:
                why = f"{decision.action} names number {target}, but no cells were shown"
            plans.append(_fallback(decision, why))
            continue
        target_id = shown[target - 1].id if valid and target is not None else None
        if target_id is not None and target_id in changed:
            if decision.action != "add":
                plans.append(_fallback(decision, f"number {target} changed since it was shown (another program)"))
                continue
            target_id = None  # an add still stores its cell, without the link
        if target_id in replaced and decision.action != "add":
            why = f"number {target} was already replaced by an earlier cell of this reply"
            plans.append(_fallback(decision, why))
            continue
        if decision.action == "add":
            if target is not None and not valid:
                plans.append(
                    Plan("add", None, None, f"{reason}; link to number {target} dropped: it was not shown".lstrip("; "))
                )
                continue
            relation: LinkKind = "same-subject"
            if decision.relation in _ADD_RELATIONS:
                relation = cast(LinkKind, decision.relation)
            plans.append(Plan("add", target_id, relation if target_id is not None else None, reason))
            continue
        if decision.action in ("update", "supersede") and target_id is not None:
            replaced.add(target_id)
        retire_ids = _retired_ids(decision, shown, replaced) if decision.action in ("update", "supersede") else ()
        plans.append(Plan(action, target_id, None, reason, retire_ids=retire_ids))
    return plans


def _retired_ids(decision: Decision, shown: Sequence[Cell], replaced: set[int]) -> tuple[int, ...]:
    """The ids of the shown cells a decision also retires; numbers not shown, or already replaced, are left out."""
    found: list[int] = []
    for number in decision.retires:
        if 1 <= number <= len(shown) and shown[number - 1].id not in replaced:
            found.append(shown[number - 1].id)
            replaced.add(shown[number - 1].id)
    return tuple(found)
