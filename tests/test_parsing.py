"""The parser of model output: everything real models return, and the reasons for rejects."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memkit import NewCell, ParsedCells, Rejection, parse_cells
from memkit.parsing import parse_summaries
from memkit.types import Decision

CELL = {"scene": "Kitchen", "cell_type": "fact", "salience": 0.8, "content": "Budget is 15,000 euros."}
EXPECTED = NewCell("kitchen", "fact", 0.8, "Budget is 15,000 euros.")


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps([CELL]),
        json.dumps({"cells": [CELL]}),
        json.dumps(CELL),
        f"```json\n{json.dumps([CELL])}\n```",
        f"Sure! Here are the memory cells:\n```\n{json.dumps({'cells': [CELL]})}\n```\nLet me know.",
        f"Here you go: {json.dumps([CELL])} (that is all)",
        json.dumps({"memories": [CELL]}),
        json.dumps([CELL], indent=2).replace("}\n]", "},\n]"),  # trailing comma
        str([CELL]),  # Python literal with single quotes
    ],
)
def test_accepts_the_shapes_models_return(raw: str) -> None:
    assert parse_cells(raw) == ParsedCells((EXPECTED,), (), (Decision("add"),))


@pytest.mark.parametrize(
    ("salience", "expected"),
    [
        ("0.8", 0.8),
        ("80%", 0.8),
        (8, 0.8),
        (80, 0.8),
        (1.7, 0.17),
        (-3, 0.0),
        (1000, 1.0),
        ("high", 0.8),
        ("very low", 0.1),
        ("unsure", 0.5),
        (None, 0.5),
        (True, 0.5),
        (float("nan"), 0.5),
    ],
)
def test_salience_in_any_form_ends_in_range(salience: object, expected: float) -> None:
    item = {**CELL, "salience": salience}
    raw = (
        json.dumps([item])
        if salience == salience
        else '[{"scene":"k","cell_type":"fact","salience":NaN,"content":"x"}]'
    )
    (cell,) = parse_cells(raw).cells
    assert cell.salience == expected


@pytest.mark.parametrize(
    ("alias", "cell_type"),
    [
        ("Fact", "fact"),
        ("facts", "fact"),
        ("goal", "plan"),
        ("todo", "task"),
        ("action item", "task"),
        ("concern", "risk"),
        ("choice", "decision"),
        ("likes", "preference"),
    ],
)
def test_cell_type_synonyms(alias: str, cell_type: str) -> None:
    (cell,) = parse_cells(json.dumps([{**CELL, "cell_type": alias}])).cells
    assert cell.cell_type == cell_type


def test_alternative_field_names_and_missing_fields() -> None:
    raw = json.dumps(
        [
            {"type": "task", "text": "Call the plumber.", "importance": "0.7", "topic": "House Work"},
            {"cell_type": "fact", "content": "No scene or salience."},
        ]
    )
    assert parse_cells(raw, default_scene="misc").cells == (
        NewCell("house-work", "task", 0.7, "Call the plumber."),
        NewCell("misc", "fact", 0.5, "No scene or salience."),
    )


def test_bad_items_are_rejected_with_reasons_and_good_ones_kept() -> None:
    raw = json.dumps(
        [
            CELL,
            {"cell_type": "gossip", "content": "x"},
            {"cell_type": "fact"},
            "loose text",
            7,
            {"cell_type": "fact", "content": "   "},
        ]
    )
    parsed = parse_cells(raw)
    assert parsed.cells == (EXPECTED,)
    assert [r.reason for r in parsed.rejected] == [
        "unknown cell_type 'gossip'; expected one of fact, plan, preference, decision, task, risk",
        "the cell has no text content",
        "a cell must be a JSON object, got str",
        "a cell must be a JSON object, got int",
        "the cell has no text content",
    ]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "the reply was empty"),
        ("I could not find anything to remember.", "the reply held no JSON object or array"),
        ('{"status": "ok"}', 'the JSON was neither a list of cells nor {"cells": [...]}'),
        ("[1, 2", "the reply held no JSON"),
    ],
)
def test_unusable_replies_give_one_reason(raw: str, reason: str) -> None:
    parsed = parse_cells(raw)
    assert parsed.cells == ()
    assert len(parsed.rejected) == 1 and parsed.rejected[0].reason.startswith(reason)


def test_restricted_cell_types() -> None:
    parsed = parse_cells(json.dumps([CELL]), cell_types=("plan",))
    assert parsed.cells == () and isinstance(parsed.rejected[0], Rejection)


def test_long_content_is_cut_at_a_word() -> None:
    (cell,) = parse_cells(json.dumps([{**CELL, "content": "word " * 1000}]), max_content_chars=50).cells
    assert len(cell.content) <= 50 and cell.content.endswith("word…")


def test_parse_summaries_shapes() -> None:
    assert parse_summaries('{"summaries": [{"scene": "Kitchen", "summary": "A  b."}]}', ["kitchen"]) == {
        "kitchen": "A b."
    }
    assert parse_summaries('{"kitchen": "K.", "other": "ignored"}', ["kitchen"]) == {"kitchen": "K."}
    assert parse_summaries("Plain text summary.", ["kitchen"]) == {"kitchen": "Plain text summary."}
    assert parse_summaries("Plain text summary.", ["kitchen", "thesis"]) == {}
    assert parse_summaries("", ["kitchen"]) == {}


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_parser_never_raises_on_arbitrary_text(raw: str) -> None:
    parsed = parse_cells(raw)
    for cell in parsed.cells:
        assert 0.0 <= cell.salience <= 1.0 and cell.content.strip()


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["scene", "cell_type", "type", "salience", "content", "cells", "x"]), children, max_size=5
        )
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_parser_never_raises_on_arbitrary_json(value: object) -> None:
    parsed = parse_cells(json.dumps(value))
    assert all(0.0 <= c.salience <= 1.0 for c in parsed.cells)
