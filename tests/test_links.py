"""Links: one-hop neighbours for recall, the graph as plain data, networkx, GraphML and a drawing."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import networkx as nx
import pandas as pd
import pytest

import memkit
from memkit import MemoryDB, MemoryManager, ScriptedBackend, WorkerAgent
from memkit.graph import draw_graph, to_networkx, write_graphml
from memkit.lifecycle import supersede
from memkit.links import graph, link, neighbours
from memkit.views import links_df


@pytest.fixture
def db(store_db: memkit.MemoryDB) -> memkit.MemoryDB:
    """This module's tests run on both stores: a SQLite file and a PostgreSQL database."""
    return store_db


matplotlib.use("Agg")

T0 = "2026-01-05T09:00:00+00:00"


def knee_memory(db: MemoryDB) -> dict[str, int]:
    add = db.add_cell
    ids = {
        "knee": add(scene="health", cell_type="risk", salience=0.8, content="Maya's knee hurts after downhill runs."),
        "physio": add(scene="health", cell_type="task", salience=0.6, content="Maya sees the physiotherapist Tuesday."),
        "hike": add(scene="hike", cell_type="plan", salience=0.7, content="Maya hikes in the Dolomites in June."),
        "swim": add(scene="health", cell_type="plan", salience=0.5, content="Maya swims twice a week instead."),
    }
    ids["off"] = add(scene="hike", cell_type="decision", salience=0.7, content="Maya cancelled the Dolomites hike.")
    supersede(db, ids["hike"], ids["off"], reason="cancelled")
    link(db, ids["knee"], ids["off"], "cause", reason="knee")
    link(db, ids["swim"], ids["knee"], "follows-from")
    link(db, ids["physio"], ids["knee"], "same-subject")
    return ids


def test_neighbours_follow_links_one_hop_to_current_cells(db: MemoryDB) -> None:
    ids = knee_memory(db)
    found = neighbours(db, [ids["knee"]], limit=5)
    # both directions; cause and consequence before a shared subject; never the superseded plan
    assert [(n.cell.id, n.link.kind, n.via) for n in found] == [
        (ids["off"], "cause", ids["knee"]),
        (ids["swim"], "follows-from", ids["knee"]),
        (ids["physio"], "same-subject", ids["knee"]),
    ]
    assert [n.cell.id for n in neighbours(db, [ids["knee"]], limit=1)] == [ids["off"]]
    assert [n.cell.id for n in neighbours(db, [ids["knee"]], exclude=[ids["off"]])] == [ids["swim"], ids["physio"]]
    # from the cancellation: its cause, but not the plan it replaced (history)
    assert [(n.cell.id, n.via) for n in neighbours(db, [ids["off"]])] == [(ids["knee"], ids["off"])]
    # a cell reached from several hits counts once, from the best hit
    assert [(n.cell.id, n.via) for n in neighbours(db, [ids["physio"], ids["off"]], limit=5)] == [
        (ids["knee"], ids["physio"])
    ]
    assert neighbours(db, []) == [] and neighbours(db, [ids["knee"]], limit=0) == []
    assert neighbours(db.for_namespace("other"), [ids["knee"]]) == []


def test_recall_brings_linked_cells_and_the_answer_uses_them(db: MemoryDB) -> None:
    ids = knee_memory(db)
    model = ScriptedBackend(["It was cancelled because of the knee."], fallback=None)
    manager = MemoryManager(db, ScriptedBackend(['{"cells": []}', '{"cells": []}']))
    agent = WorkerAgent(manager, llm=model)
    agent.answer("Is the Dolomites hike still on?")
    recall = agent.last_recall
    assert recall is not None
    assert [h.id for h in recall.hits if h.matched] == [ids["off"]]
    assert [(n.cell.id, n.link.kind) for n in recall.linked] == [(ids["knee"], "cause")]
    system = model.history[0].messages[0].content
    assert (
        f'<cell id="{ids["knee"]}" type="risk" scene="health" link="{ids["knee"]} cause {ids["off"]}">'
        "Maya&#x27;s knee hurts after downhill runs.</cell>"
        in system
        or f'link="{ids["knee"]} cause {ids["off"]}">Maya\'s knee hurts after downhill runs.</cell>' in system
    )
    assert model.history[0].data["linked"] == [("cause", "Maya's knee hurts after downhill runs.")]
    # the linked cell was used too: its decay restarts
    assert {r["cell_id"] for r in db.sql("SELECT cell_id FROM mem_recalls")} == {ids["off"], ids["knee"]}
    quiet = WorkerAgent(manager, llm=ScriptedBackend(["ok"]), follow_links=0)
    quiet.answer("Is the Dolomites hike still on?")
    assert quiet.last_recall.linked == ()  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="follow_links at least 0"):
        WorkerAgent(manager, follow_links=-1)


def test_the_offline_answer_adds_a_linked_cell_it_does_not_already_say(db: MemoryDB) -> None:
    knee_memory(db)
    agent = WorkerAgent(MemoryManager(db))
    reply = agent.answer("Is the Dolomites hike still on?")
    assert reply == (
        "From memory: Maya cancelled the Dolomites hike. Linked in memory: Maya's knee hurts after downhill runs."
    )


def test_graph_as_plain_data(db: MemoryDB) -> None:
    ids = knee_memory(db)
    current = graph(db, scenes=["hike"])
    assert current == {
        "nodes": [
            {"id": "scene:hike", "kind": "scene", "label": "hike", "summary": "", "archived": False},
            {
                "id": f"cell:{ids['off']}",
                "kind": "cell",
                "label": "Maya cancelled the Dolomites hike.",
                "cell_type": "decision",
                "scene": "hike",
                "salience": 0.7,
                "status": "current",
            },
        ],
        "edges": [{"source": f"cell:{ids['off']}", "target": "scene:hike", "kind": "in-scene"}],
    }
    full = graph(db, include_history=True)
    assert json.loads(json.dumps(full)) == full
    assert sorted((e["source"], e["kind"], e["target"]) for e in full["edges"] if e["kind"] != "in-scene") == sorted(
        [
            (f"cell:{ids['off']}", "replaces", f"cell:{ids['hike']}"),
            (f"cell:{ids['knee']}", "cause", f"cell:{ids['off']}"),
            (f"cell:{ids['swim']}", "follows-from", f"cell:{ids['knee']}"),
            (f"cell:{ids['physio']}", "same-subject", f"cell:{ids['knee']}"),
        ]
    )
    assert {n["status"] for n in full["nodes"] if n["kind"] == "cell"} == {"current", "superseded"}
    # without history, the link to the superseded plan is left out with it
    assert all(e["kind"] != "replaces" for e in graph(db)["edges"])


def test_networkx_graphml_and_drawing(db: MemoryDB, tmp_path: Path) -> None:
    ids = knee_memory(db)
    digraph = to_networkx(db, include_history=True)
    assert (digraph.number_of_nodes(), digraph.number_of_edges()) == (7, 9)
    assert digraph.edges[f"cell:{ids['knee']}", f"cell:{ids['off']}"] == {"kind": "cause", "reason": "knee"}
    write_graphml(db, tmp_path / "memory.graphml")
    back = nx.read_graphml(tmp_path / "memory.graphml")
    assert sorted(back.nodes) == sorted(digraph.nodes)
    assert back.nodes[f"cell:{ids['hike']}"]["status"] == "superseded"
    ax = draw_graph(db)
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend[:4] == ["same-subject", "cause", "follows-from", "replaces"]
    assert len(ax.texts) == 7  # one label per node
    matplotlib.pyplot.close("all")


def test_links_view(db: MemoryDB) -> None:
    ids = knee_memory(db)
    frame = links_df(db)
    assert frame.iloc[0].to_dict() == {
        "id": 1,
        "source": ids["off"],
        "kind": "replaces",
        "target": ids["hike"],
        "source_content": "Maya cancelled the Dolomites hike.",
        "target_content": "Maya hikes in the Dolomites in June.",
        "reason": "cancelled",
    }
    assert frame["kind"].tolist() == ["replaces", "cause", "follows-from", "same-subject"]
    assert isinstance(frame, pd.DataFrame)
