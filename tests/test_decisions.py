"""From model decisions to safe plans: parsing every shape, mapping short numbers, falling back to add."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memkit import Cell, parse_cells
from memkit.decisions import Plan, resolve
from memkit.parsing import parse_decision
from memkit.types import Decision


def cell(cell_id: int, content: str = "x y") -> Cell:
    return Cell(cell_id, "s", "fact", 0.5, content, None, None, "2026-01-01", "default")


SHOWN = [cell(101), cell(205), cell(317)]


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({}, Decision("add")),
        ({"action": "reinforce", "target": 2, "reason": "same"}, Decision("reinforce", 2, None, "same")),
        ({"action": "UPDATE", "target": "3"}, Decision("update", 3)),
        ({"decision": "replace", "target_id": "[1]"}, Decision("update", 1)),
        ({"operation": "DELETE", "target": "cell 2"}, Decision("supersede", 2)),
        ({"action": "NONE", "target": 1.0}, Decision("ignore", 1)),
        ({"action": "duplicate", "ref": "#2"}, Decision("reinforce", 2)),
        ({"action": "add", "target": 1, "relation": "Follows from"}, Decision("add", 1, "follows-from")),
        ({"action": "add", "target": None, "relation": None}, Decision("add")),
        ({"action": "merge_into", "target": 1}, Decision("merge-into", 1)),
        ({"action": ["update"], "target": 1}, Decision("['update']", 1)),
        ({"action": "update", "target": True}, Decision("update", None, None, "unreadable target True")),
        (
            {"action": "update", "target": "the coffee one", "reason": " changed  mind "},
            Decision("update", None, None, "changed mind; unreadable target 'the coffee one'"),
        ),
        (
            {"action": "add", "target": 2, "relation": "replaces"},
            Decision("add", 2, None, "unknown relation 'replaces'"),
        ),
    ],
)
def test_parse_decision_reads_what_models_write(item: dict[str, object], expected: Decision) -> None:
    assert parse_decision(item) == expected


def test_parse_cells_pairs_each_cell_with_its_decision() -> None:
    reply = json.dumps(
        {
            "cells": [
                {
                    "scene": "a",
                    "cell_type": "fact",
                    "salience": 0.5,
                    "content": "One.",
                    "action": "reinforce",
                    "target": 1,
                },
                {"scene": "a", "cell_type": "gossip", "salience": 0.5, "content": "Rejected.", "action": "update"},
                {"scene": "a", "cell_type": "fact", "salience": 0.5, "content": "Two."},
            ]
        }
    )
    parsed = parse_cells(reply)
    assert [c.content for c in parsed.cells] == ["One.", "Two."]
    assert parsed.decisions == (Decision("reinforce", 1), Decision("add"))


def test_resolve_maps_short_numbers_to_cells() -> None:
    decisions = [
        Decision("add"),
        Decision("reinforce", 1, None, "repeats cell 1, not cells 2 or 9"),
        Decision("update", 2),
        Decision("supersede", 3, None, "cancelled"),
        Decision("add", 1, "cause"),
        Decision("add", 3),
        Decision("ignore", 1),
    ]
    assert resolve(decisions, SHOWN) == [
        Plan("add"),
        Plan("reinforce", 101, None, "repeats cell 101, not cells 205 or 9"),
        Plan("update", 205),
        Plan("supersede", 317, None, "cancelled"),
        Plan("add", 101, "cause"),
        Plan("add", 317, "same-subject"),
        Plan("ignore", 101),
    ]


@pytest.mark.parametrize(
    ("decision", "shown", "expected"),
    [
        (
            Decision("merge-into", 1),
            SHOWN,
            Plan("add", None, None, "unknown action 'merge-into'; stored as a new cell", "merge-into 1"),
        ),
        (
            Decision("update", 9),
            SHOWN,
            Plan(
                "add",
                None,
                None,
                "update names number 9, but only numbers 1-3 were shown; stored as a new cell",
                "update 9",
            ),
        ),
        (
            Decision("reinforce", 0),
            SHOWN,
            Plan(
                "add",
                None,
                None,
                "reinforce names number 0, but only numbers 1-3 were shown; stored as a new cell",
                "reinforce 0",
            ),
        ),
        (
            Decision("supersede"),
            SHOWN,
            Plan("add", None, None, "supersede names no cell; stored as a new cell", "supersede"),
        ),
        (Decision("ignore"), SHOWN, Plan("add", None, None, "ignore names no cell; stored as a new cell", "ignore")),
        (
            Decision("update", 1),
            [],
            Plan("add", None, None, "update names number 1, but no cells were shown; stored as a new cell", "update 1"),
        ),
        (
            Decision("add", 7, "cause", "why"),
            SHOWN,
            Plan("add", None, None, "why; link to number 7 dropped: it was not shown"),
        ),
    ],
)
def test_decisions_memkit_cannot_follow_become_a_plain_add(
    decision: Decision, shown: list[Cell], expected: Plan
) -> None:
    assert resolve([decision], shown) == [expected]


def test_a_cell_replaced_once_in_an_exchange_is_not_replaced_again() -> None:
    plans = resolve([Decision("update", 1), Decision("supersede", 1), Decision("reinforce", 1)], SHOWN)
    assert plans == [
        Plan("update", 101),
        Plan(
            "add",
            None,
            None,
            "number 1 was already replaced by an earlier cell of this reply; stored as a new cell",
            "supersede 1",
        ),
        Plan(
            "add",
            None,
            None,
            "number 1 was already replaced by an earlier cell of this reply; stored as a new cell",
            "reinforce 1",
        ),
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.builds(
            Decision,
            st.one_of(st.sampled_from(["add", "reinforce", "update", "supersede", "ignore"]), st.text(max_size=8)),
            st.one_of(st.none(), st.integers(-3, 6)),
            st.one_of(st.none(), st.sampled_from(["same-subject", "cause", "follows-from", "replaces", "x"])),
        ),
        max_size=6,
    )
)
def test_every_decision_gets_a_plan_that_names_only_shown_cells(decisions: list[Decision]) -> None:
    plans = resolve(decisions, SHOWN)
    assert len(plans) == len(decisions)
    for plan in plans:
        assert plan.action in ("add", "reinforce", "update", "supersede", "ignore")
        assert plan.target_id in (None, 101, 205, 317)
        if plan.action != "add":
            assert plan.target_id is not None
        assert plan.relation in (None, "same-subject", "cause", "follows-from")
