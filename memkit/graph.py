"""The graph of memory as a networkx graph: drawn with matplotlib, written as GraphML.

The data comes from :func:`memkit.links.graph` (plain dicts, in the core);
this presentation module only converts and draws it, and imports networkx
and matplotlib when called (``pip install "memkit[notebooks]"``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .db import MemoryDB
from .links import graph

if TYPE_CHECKING:
    import networkx as nx
    from matplotlib.axes import Axes

__all__ = ["LINK_COLOURS", "TYPE_COLOURS", "draw_graph", "scene_layout", "to_networkx", "write_graphml"]

#: Node colour per cell type.
TYPE_COLOURS: dict[str, str] = {
    "fact": "#4c78a8",
    "plan": "#59a14f",
    "preference": "#f28e2b",
    "decision": "#b07aa1",
    "task": "#edc948",
    "risk": "#e15759",
}
#: Edge colour per link kind.
LINK_COLOURS: dict[str, str] = {
    "in-scene": "#d0d0d0",
    "same-subject": "#7f7f7f",
    "cause": "#e15759",
    "follows-from": "#59a14f",
    "replaces": "#4c78a8",
}


def _networkx() -> Any:
    try:
        import networkx
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError('drawing the memory graph needs networkx: pip install "memkit[notebooks]"') from exc
    return networkx


def to_networkx(db: MemoryDB, *, include_history: bool = False, scenes: Iterable[str] | None = None) -> nx.DiGraph:
    """A directed graph of cells and scenes: node and edge attributes as in :func:`memkit.links.graph`."""
    data = graph(db, include_history=include_history, scenes=scenes)
    digraph = _networkx().DiGraph()
    for node in data["nodes"]:
        digraph.add_node(node["id"], **{k: v for k, v in node.items() if k != "id"})
    for edge in data["edges"]:
        digraph.add_edge(
            edge["source"], edge["target"], **{k: v for k, v in edge.items() if k not in ("source", "target")}
        )
    return digraph


def write_graphml(db: MemoryDB, path: str | os.PathLike[str], *, include_history: bool = True) -> None:
    """Write the graph as GraphML (for Gephi, yEd, Cytoscape...)."""
    _networkx().write_graphml(to_networkx(db, include_history=include_history), os.fspath(path))


def scene_layout(digraph: nx.DiGraph) -> dict[str, tuple[float, float]]:
    """Positions with each scene on a circle and its cells in a ring around it.

    Deterministic (the same memory is always drawn the same way), and a
    scene's cells never hide behind one another.
    """
    scenes = [n for n, a in digraph.nodes(data=True) if a["kind"] == "scene"]
    members: dict[str, list[str]] = {s: [] for s in scenes}
    for node, attributes in digraph.nodes(data=True):
        if attributes["kind"] == "cell" and f"scene:{attributes['scene']}" in members:
            members[f"scene:{attributes['scene']}"].append(node)
    radius = max([1.0 + 0.12 * len(cells) for cells in members.values()] or [1.0])
    spread = 0.0 if len(scenes) == 1 else radius * 1.25 / math.sin(math.pi / max(2, len(scenes)))
    positions: dict[str, tuple[float, float]] = {}
    for i, scene in enumerate(scenes):
        angle = 2 * math.pi * i / len(scenes)
        cx, cy = spread * math.cos(angle), spread * math.sin(angle)
        positions[scene] = (cx, cy)
        ring = 1.0 + 0.12 * len(members[scene])
        for j, cell in enumerate(members[scene]):
            around = 2 * math.pi * j / max(1, len(members[scene])) + angle
            positions[cell] = (cx + ring * math.cos(around), cy + ring * math.sin(around))
    return positions


def _short(text: str, width: int = 28) -> str:
    return text if len(text) <= width else text[: width - 1].rsplit(" ", 1)[0] + "…"


def draw_graph(
    db: MemoryDB,
    *,
    include_history: bool = True,
    scenes: Iterable[str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw cells (coloured by type, faded when not current), scenes (grey squares) and links.

    :param scenes: draw only these scenes and their cells.
    The layout is :func:`scene_layout`, so the same memory is drawn the same way.
    """
    nx = _networkx()
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    digraph = to_networkx(db, include_history=include_history, scenes=scenes)
    if ax is None:
        _, ax = plt.subplots(figsize=(12, 8))
    positions = scene_layout(digraph)
    scenes = [n for n, a in digraph.nodes(data=True) if a["kind"] == "scene"]
    cells = [n for n, a in digraph.nodes(data=True) if a["kind"] == "cell"]
    nx.draw_networkx_nodes(
        digraph, positions, nodelist=scenes, node_shape="s", node_color="#bbbbbb", node_size=900, ax=ax
    )
    for status, alpha in (("current", 1.0), ("superseded", 0.35), ("archived", 0.2)):
        chosen = [n for n in cells if digraph.nodes[n]["status"] == status]
        colours = [TYPE_COLOURS.get(digraph.nodes[n]["cell_type"], "#999999") for n in chosen]
        nx.draw_networkx_nodes(
            digraph, positions, nodelist=chosen, node_color=colours, alpha=alpha, node_size=260, ax=ax
        )
    for kind, colour in LINK_COLOURS.items():
        chosen = [(u, v) for u, v, a in digraph.edges(data=True) if a["kind"] == kind]
        style = "dotted" if kind == "in-scene" else "solid"
        nx.draw_networkx_edges(
            digraph, positions, edgelist=chosen, edge_color=colour, style=style, arrows=kind != "in-scene", ax=ax
        )
    labels = {n: digraph.nodes[n]["label"] if n in scenes else _short(digraph.nodes[n]["label"]) for n in digraph}
    nx.draw_networkx_labels(digraph, positions, labels=labels, font_size=7, ax=ax)
    handles = [Line2D([], [], color=colour, label=kind) for kind, colour in LINK_COLOURS.items() if kind != "in-scene"]
    handles += [Line2D([], [], marker="o", linestyle="", color=c, label=t) for t, c in TYPE_COLOURS.items()]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    ax.set_axis_off()
    return ax
