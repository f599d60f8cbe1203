"""The everyday operations on a memory, as methods of :class:`~memkit.MemoryDB`.

History and undo, links and the graph, archive and restore are implemented
in :mod:`memkit.history`, :mod:`memkit.links` and :mod:`memkit.lifecycle`;
this mixin exposes them on the object people already hold, so ``db.undo()``
is the one way to undo. A getter returns None for something missing; every
other operation raises :class:`~memkit.errors.NotFoundError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from .history import events, story
from .history import undo as undo_last
from .lifecycle import archive as archive_cells
from .lifecycle import restore as restore_cell
from .links import graph as memory_graph
from .links import link as add_link
from .links import links_of, list_links
from .links import unlink as remove_link
from .types import Cell, Event, Link, LinkKind

if TYPE_CHECKING:
    from .db import MemoryDB

__all__ = ["MemoryOperations"]


class MemoryOperations:
    """History, undo, links, graph, archive and restore for :class:`~memkit.MemoryDB`."""

    @property
    def _db(self) -> MemoryDB:
        return cast("MemoryDB", self)

    def history(self, cell_id: int | None = None, *, kind: str | None = None) -> list[Event]:
        """What happened to this memory, oldest first.

        :param cell_id: only this cell's story: its own events and those of its links.
        :param kind: only events about ``"cell"``, ``"scene"``, ``"link"`` or ``"exchange"`` rows.
        """
        if cell_id is not None:
            return story(self._db, cell_id)
        return events(self._db, kind=kind)

    def undo(self) -> list[Event]:
        """Undo the last change not yet undone; return its events (empty when nothing is left).

        :raises HistoryConflictError: a row was changed around memkit since; nothing is undone.
        """
        return undo_last(self._db)

    def link(self, source: int, target: int, kind: LinkKind, *, reason: str = "") -> Link:
        """Link two cells (a kind of :data:`~memkit.types.LINK_KINDS`); return the link.

        :raises CellNotFoundError: either cell is missing. :raises ValueError: an unknown kind.
        """
        return add_link(self._db, source, target, kind, reason=reason)

    def unlink(self, link_id: int) -> None:
        """Remove a link.

        :raises LinkNotFoundError: there is no such link.
        """
        remove_link(self._db, link_id)

    def links(self, cell_id: int | None = None, *, kinds: Iterable[str] | None = None) -> list[Link]:
        """Links oldest first: those from or to ``cell_id`` if given, else all (of some ``kinds``)."""
        found = list_links(self._db, kinds) if cell_id is None else links_of(self._db, cell_id)
        if cell_id is not None and kinds is not None:
            wanted = {kinds} if isinstance(kinds, str) else set(kinds)
            found = [x for x in found if x.kind in wanted]
        return found

    def graph(
        self, *, include_history: bool = False, scenes: Iterable[str] | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """Cells, scenes and links as plain data: ``{"nodes": [...], "edges": [...]}``.

        See :func:`memkit.links.graph` for what the nodes and edges hold.
        """
        return memory_graph(self._db, include_history=include_history, scenes=scenes)

    def archive(self, cell_ids: Iterable[int] | Mapping[int, str], *, reason: str = "") -> list[int]:
        """Hide current cells from recall (they are kept); return the ids archived.

        :raises CellNotFoundError: an id names no cell; nothing is archived.
        """
        return archive_cells(self._db, cell_ids, reason=reason)

    def restore(self, cell_id: int, *, reason: str = "") -> Cell:
        """Bring an archived cell back into current memory.

        :raises CellNotFoundError: no such cell. :raises ValueError: the cell is not archived.
        """
        return restore_cell(self._db, cell_id, reason=reason)
