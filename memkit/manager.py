"""MemoryManager: turns exchanges into memory cells and keeps scene summaries current.

The manager is the only part that writes memory. For each exchange it

1. records the raw exchange (so nothing is lost if a later step fails),
2. asks the backend to extract cells, showing it a few related stored cells
   by short number; for each new cell the reply says whether to add it,
   reinforce a stored one, update or supersede one, or ignore it (one call:
   the decision is part of extraction), and the reply is parsed robustly,
3. applies the decisions (see :mod:`memkit.decisions`; a decision it cannot
   follow becomes an add) and marks the exchange done in one transaction,
4. consolidates every touched scene *incrementally*: the prompt holds the
   current summary, the new cells and the cells retired by this exchange
   only, so its size does not grow with the scene.

A turn costs at most three model calls (answer, extract, consolidate) and
none of their prompts grows with the conversation.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from .claims import new_owner
from .db import MemoryDB, to_iso
from .decisions import Plan, resolve
from .errors import MemkitError
from .exchanges import IngestResult, UpdateResult, as_utterance, exchange_context
from .forgetting import Forgetting, forget, mark_recalled
from .lifecycle import reinforce, supersede
from .links import link
from .llm import Backend, CallLog, choose_backend, invoke
from .parsing import parse_cells
from .prompts import extract_request
from .redact import redact_secrets
from .shown import (
    MAX_CANDIDATE_SCENES,
    MAX_SLOT_CELLS,
    RECENT_CELLS,
    candidate_scenes,
    exchange_matches,
    related_cells,
    scene_profiles,
    slot_cells,
)
from .summaries import as_new_cell, owe, settle, summarise
from .types import Cell, Decision, NewCell, Rejection, Revision, Utterance, clean_text

__all__ = [
    "MAX_CANDIDATE_SCENES",
    "MAX_SLOT_CELLS",
    "PROGRESS_FROM",
    "RECENT_CELLS",
    "IngestResult",
    "MemoryManager",
    "UpdateResult",
]

#: ``ingest`` shows a progress bar, unless told otherwise, from this many messages on.
PROGRESS_FROM = 50

#: After this many backend errors in a row, ``ingest`` stops calling the backend
#: (a server that is down); the messages left wait, logged, for ``retry_failed``.
MAX_FAILURES_IN_A_ROW = 3
#: How many messages of a transcript a backend that reads ahead (``prepare``) is given at once.
_READ_AHEAD = 64


class MemoryManager:
    """Extracts memory cells from exchanges and consolidates scenes.

    Three ways in, one per situation:

    ============  ==========================================  ==================  ===============================
    method        for                                         context of a cell   scene summaries
    ============  ==========================================  ==================  ===============================
    ``update``    one live user/assistant exchange            the exchange        rewritten at once
    ``remember``  any run of utterances you already hold      the utterances      at once (``consolidate=False``:
                                                                                  owed, written later)
    ``ingest``    a whole transcript, one message at a time   the message and     every ``consolidate_every``
                                                              its neighbours,     messages, and at the end
                                                              with speakers
    ============  ==========================================  ==================  ===============================

    :param db: where memory lives.
    :param llm: a backend, ``"offline"``/``"openai"``, or None to pick one
        (see :func:`memkit.llm.choose_backend`).
    :param calls: the call log to record into (shared with the agent).
    :param forgetting: archive cells that decayed (see :mod:`memkit.forgetting`)
        after each exchange; None (the default) forgets only when :meth:`forget` is called.
    """

    def __init__(
        self,
        db: MemoryDB,
        llm: Backend | str | None = None,
        *,
        calls: CallLog | None = None,
        forgetting: Forgetting | None = None,
    ) -> None:
        if not isinstance(db, MemoryDB):
            raise TypeError(f"db must be a MemoryDB, not {type(db).__name__}")
        if forgetting is not None and not isinstance(forgetting, Forgetting):
            raise TypeError(f"forgetting must be a memkit.forgetting.Forgetting or None, not {forgetting!r}")
        self.forgetting = forgetting
        self.db = db
        self.llm = choose_backend(llm)
        self.calls = calls if calls is not None else CallLog()
        #: Who this manager is when it claims work other programs may pick up too (see :mod:`memkit.claims`).
        self.owner = new_owner()
        self._lock = threading.RLock()  # one exchange at a time, so each sees the scenes of the last

    def __repr__(self) -> str:
        return f"MemoryManager(db={self.db!r}, llm={self.llm!r})"

    # -- one exchange ---------------------------------------------------------

    def update(
        self,
        user: str,
        assistant: str,
        *,
        source_id: str | None = None,
        occurred_at: str | datetime | None = None,
        exchange_id: int | None = None,
    ) -> UpdateResult:
        """Remember one user/assistant exchange: extract cells, store them, consolidate their scenes.

        :param exchange_id: the id :meth:`log_message` gave the user's message
            when it was logged before being answered; the reply joins that exchange.
        """
        for name, value in (("user", user), ("assistant", assistant)):
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a string, not {type(value).__name__}")
        utterances = [Utterance("User", user), Utterance("Assistant", assistant)]
        if exchange_id is None:
            return self.remember(utterances, source_id=source_id, occurred_at=occurred_at)
        when = to_iso(occurred_at, "occurred_at")
        with self._lock:
            self.db.extend_exchange(exchange_id, utterances[1:])
            return self._process(exchange_id, utterances, source_id, when, True, exchange_context(utterances))

    def log_message(self, text: str, *, speaker: str = "User") -> int:
        """Log a message before it is answered, so it is kept whatever happens next; return its exchange id.

        Give the id to :meth:`update` with the reply. If no reply comes,
        :meth:`no_reply` marks the exchange failed, and :meth:`retry_failed`
        remembers the message on its own.
        """
        return self.db.log_exchange([Utterance(speaker, text)])

    def no_reply(self, exchange_id: int, error: str) -> None:
        """Mark a message logged by :meth:`log_message` as failed: it got no reply, for ``error``."""
        self.db.mark_exchange(exchange_id, "failed", f"no reply: {error}")

    def remember(
        self,
        utterances: Sequence[Utterance],
        *,
        source_id: str | None = None,
        occurred_at: str | datetime | None = None,
        consolidate: bool = True,
    ) -> UpdateResult:
        """Remember any run of utterances (one exchange, or one message of a transcript).

        :raises BackendError: the backend failed; the exchange stays logged
            as failed and :meth:`retry_failed` can process it later.
        """
        when = to_iso(occurred_at, "occurred_at")
        with self._lock:
            exchange_id = self.db.log_exchange(utterances, source_id=source_id, occurred_at=when, owner=self.owner)
            return self._process(
                exchange_id, list(utterances), source_id, when, consolidate, exchange_context(utterances)
            )

    def _process(
        self,
        exchange_id: int,
        utterances: list[Utterance],
        source_id: str | None,
        occurred_at: str | None,
        consolidate: bool,
        context: str | None,
        pending: Mapping[str, Sequence[NewCell]] | None = None,
    ) -> UpdateResult:
        utterances = [
            replace(u, speaker=redact_secrets(clean_text(u.speaker)), text=redact_secrets(clean_text(u.text)))
            for u in utterances
        ]
        try:
            scenes = self.db.list_scenes()
            matches = exchange_matches(self.db, utterances)
            related = related_cells(self.db, matches, scenes)
            candidates = candidate_scenes(matches, scenes, pending)
            on_slot = slot_cells(self.db, matches, candidates, related)
            request = extract_request(
                utterances,
                candidates,
                cell_types=self.db.cell_types,
                related=related,
                profiles=scene_profiles(self.db, candidates),
                candidates=on_slot,
            )
            parsed = parse_cells(invoke(self.llm, request, self.calls), cell_types=self.db.cell_types)
            if parsed.error is not None:  # nothing usable in the reply: keep the exchange for retry_failed()
                self.db.mark_exchange(exchange_id, "failed", parsed.error, owner=self.owner)
                return UpdateResult(exchange_id, (), parsed.rejected, (), error=parsed.error)
            new_cells = [
                replace(c, source_id=source_id, occurred_at=occurred_at, context=context) for c in parsed.cells
            ]
            decisions = parsed.decisions or tuple(Decision() for _ in new_cells)
            with self.db.change(f"exchange {exchange_id}", exchange_id=exchange_id) as change:
                # The cells shown were read before the model call: read them again under the write lock.
                shown = [*related, *on_slot]
                plans = resolve(decisions, shown, self._changed(shown))
                revisions = tuple(self._apply(c, plan, exchange_id) for c, plan in zip(new_cells, plans, strict=True))
                cells, superseded = self._outcome(revisions, plans)
                owe(change.conn, self.db, self.owner, _ids_by_scene(cells), _retired(superseded))
                if not self.db.mark_exchange(exchange_id, "done", owner=self.owner):
                    raise _Taken  # another program finished it meanwhile: roll back, store nothing twice
        except _Taken:
            return UpdateResult(exchange_id, (), parsed.rejected, ())
        except MemkitError as exc:
            self.db.mark_exchange(exchange_id, "failed", str(exc), owner=self.owner)
            raise
        touched = tuple(dict.fromkeys(cell.scene for cell in cells))
        if consolidate and (cells or superseded):
            self._settle([*touched, *_retired(superseded)], exchange_id=exchange_id, continues=change.id)
        if self.forgetting is not None:
            self.forget(self.forgetting)
        return UpdateResult(exchange_id, cells, parsed.rejected, touched, revisions, superseded)

    # -- use and decay ---------------------------------------------------------

    def recalled(self, cell_ids: Iterable[int]) -> None:
        """Note that an answer used these cells: a use, which slows their decay (see :mod:`memkit.forgetting`)."""
        mark_recalled(self.db, cell_ids)

    def forget(self, policy: Forgetting | None = None) -> list[int]:
        """Archive the cells that decayed below the policy's threshold (default: the manager's, else
        :class:`~memkit.forgetting.Forgetting`); return their ids. Nothing is deleted.

        Their scenes' summaries are rewritten by this manager's backend, which drops what they said.
        """
        with self._lock:
            return forget(self.db, policy or self.forgetting, backend=self.llm, calls=self.calls, owner=self.owner)

    def _changed(self, shown: Sequence[Cell]) -> set[int]:
        """The ids of ``shown`` cells that are no longer current (another program changed them)."""
        now = {cell.id: cell for cell in self.db.get_cells(cell.id for cell in shown)}
        return {cell.id for cell in shown if cell.id not in now or now[cell.id].status != "current"}

    def _outcome(
        self, revisions: Sequence[Revision], plans: Sequence[Plan]
    ) -> tuple[tuple[Cell, ...], tuple[Cell, ...]]:
        """The cells an exchange stored, and the cells it superseded (those it also retired included)."""
        stored = [r.cell_id for r in revisions if r.action in ("add", "update", "supersede") and r.cell_id]
        replaced = [r.target_id for r in revisions if r.action in ("update", "supersede") and r.target_id]
        replaced += [i for plan in plans if plan.action in ("update", "supersede") for i in plan.retire_ids]
        return tuple(self.db.get_cells(stored)), tuple(self.db.get_cells(replaced))

    def _settle(self, scenes: Sequence[str] | None = None, **change: Any) -> dict[str, str]:
        """Write the summaries this namespace owes (of ``scenes`` only, if given) with this manager's backend."""
        return settle(self.db, self.llm, self.owner, scenes=scenes, calls=self.calls, **change)

    def _apply(self, cell: NewCell, plan: Plan, exchange_id: int) -> Revision:
        """Carry out one plan inside the caller's transaction."""
        if plan.action == "ignore":
            return Revision("ignore", cell.content, None, plan.target_id, None, plan.reason, plan.asked)
        if plan.action == "reinforce" and plan.target_id is not None:
            reinforce(self.db, plan.target_id, salience=cell.salience, reason=plan.reason)
            return Revision("reinforce", cell.content, plan.target_id, plan.target_id, None, plan.reason, plan.asked)
        (new_id,) = self.db.add_cells([cell], exchange_id=exchange_id, reason=plan.reason)
        if plan.action in ("update", "supersede") and plan.target_id is not None:
            supersede(self.db, plan.target_id, new_id, reason=plan.reason, action=plan.action)
            for other in plan.retire_ids:
                supersede(self.db, other, new_id, reason=plan.reason, action="supersede")
        elif plan.target_id is not None and plan.relation is not None:
            link(self.db, new_id, plan.target_id, plan.relation, reason=plan.reason)
        return Revision(plan.action, cell.content, new_id, plan.target_id, plan.relation, plan.reason, plan.asked)

    # -- consolidation ----------------------------------------------------------

    def consolidate(
        self,
        new_cells: Mapping[str, Sequence[NewCell]],
        retired: Mapping[str, Sequence[str]] | None = None,
    ) -> dict[str, str]:
        """Fold new cells into their scenes' summaries (one model call for all scenes).

        :param retired: scene -> contents of cells that stopped being current,
            which the summary should stop saying.

        Scenes the reply leaves out, or all of them if the backend fails or
        its reply is cut off, are consolidated extractively by the offline
        rules, so a summary is never lost or left behind its cells.
        """
        retired = {scene: list(gone) for scene, gone in (retired or {}).items() if gone}
        updates: dict[str, tuple[str, Sequence[NewCell]]] = {}
        for scene in dict.fromkeys([*new_cells, *retired]):
            cells = new_cells.get(scene, ())
            if cells or scene in retired:
                current = self.db.get_scene(scene)
                updates[scene] = (current.summary if current else "", cells)
        if not updates:
            return {}
        summaries = summarise(self.llm, updates, retired, self.calls)
        with self.db.change("summaries consolidated"):
            for scene, summary in summaries.items():
                self.db.upsert_scene(scene, summary)
        return summaries

    # -- transcripts ------------------------------------------------------------

    def ingest(
        self,
        messages: Iterable[Any],
        *,
        progress: bool | None = None,
        consolidate_every: int = 10,
    ) -> IngestResult:
        """Import an existing chat transcript, one message at a time.

        Each message's cells keep the message and its neighbours, with who said each, as context
        (:attr:`memkit.NewCell.context`): a question, a greeting or a detail
        extraction leaves out stays findable through the cells around it.

        :param messages: :class:`~memkit.types.Utterance` objects, dicts with
            ``speaker``, ``text`` and optional ``id``/``time``, or
            ``(speaker, text[, id[, time]])`` tuples.
        :param progress: show a progress bar; by default, only for transcripts of
            at least :data:`PROGRESS_FROM` messages (a short one is done before a bar helps).
        :param consolidate_every: fold new cells into scene summaries after this
            many messages (and at the end).

        Every message is logged before any is processed. A message the
        backend fails on is kept, failed, and the next one is processed; after
        :data:`MAX_FAILURES_IN_A_ROW` errors in a row the backend is not called
        again and the messages left stay logged. ``failed`` in the result lists
        them all; :meth:`retry_failed` processes them later.
        """
        from tqdm.auto import tqdm

        if consolidate_every < 1:
            raise ValueError(f"consolidate_every must be at least 1, got {consolidate_every}")
        items = list(messages)
        utterances = [as_utterance(item) for item in items]
        for number, utterance in enumerate(utterances, start=1):  # every message is checked before any is stored
            to_iso(utterance.occurred_at, f"the time of message {number}")
        pending: dict[str, list[NewCell]] = {}
        pending_retired: dict[str, list[str]] = {}
        rejected: list[Rejection] = []
        failed: list[tuple[int, str]] = []
        stored: list[Cell] = []
        scenes: dict[str, None] = {}
        with self._lock:
            with self.db.transaction():
                ids = [
                    self.db.log_exchange([u], source_id=u.source_id, occurred_at=u.occurred_at, owner=self.owner)
                    for u in utterances
                ]
            in_a_row = 0
            read_ahead = getattr(self.llm, "prepare", None)  # a backend may read a batch at once (faster)
            show = len(utterances) >= PROGRESS_FROM if progress is None else progress
            for index, utterance in enumerate(tqdm(utterances, desc="ingest", unit="msg", disable=not show)):
                if callable(read_ahead) and index % _READ_AHEAD == 0:
                    read_ahead([u.text for u in utterances[index : index + _READ_AHEAD]])
                if in_a_row >= MAX_FAILURES_IN_A_ROW:
                    failed.append((ids[index], f"not tried: the backend failed {in_a_row} times in a row"))
                    continue
                context = exchange_context(utterances[max(0, index - 1) : index + 2], speakers=True)
                try:
                    result = self._process(
                        ids[index], [utterance], utterance.source_id, utterance.occurred_at, False, context, pending
                    )
                except MemkitError as exc:
                    in_a_row += 1
                    failed.append((ids[index], str(exc)))
                    continue
                in_a_row = 0
                if result.error is not None:
                    failed.append((ids[index], result.error))
                for cell in result.cells:
                    pending.setdefault(cell.scene, []).append(as_new_cell(cell))
                    scenes[cell.scene] = None
                for scene, gone in _retired(result.superseded).items():
                    pending_retired.setdefault(scene, []).extend(gone)
                stored.extend(result.cells)
                rejected.extend(result.rejected)
                if (index + 1) % consolidate_every == 0 and (pending or pending_retired):
                    self._settle()  # what the messages since the last time owe their summaries
                    pending, pending_retired = {}, {}
            if pending or pending_retired:
                self._settle()
        if failed:
            kept = f"{len(failed)} of {len(utterances)} messages are logged but not yet in memory"
            warnings.warn(f"{kept} (first: {failed[0][1]}); call retry_failed() to process them", stacklevel=2)
        return IngestResult(len(utterances), tuple(stored), tuple(rejected), tuple(scenes), tuple(failed))

    def retry_failed(self) -> list[UpdateResult]:
        """Process again every logged exchange that failed or was interrupted, then write the summaries still owed.

        Work another program is still doing (its claim holds, see :mod:`memkit.claims`)
        is left to it; work of a program that was killed is taken over.
        """
        results = []
        with self._lock:
            for exchange_id, utterances, source_id, occurred_at in self.db.unfinished_exchanges():
                if self.db.claim_exchange(exchange_id, self.owner):
                    results.append(
                        self._process(
                            exchange_id, utterances, source_id, occurred_at, True, exchange_context(utterances)
                        )
                    )
            self._settle()
        return results


def _ids_by_scene(cells: Sequence[Cell]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = {}
    for cell in cells:
        grouped.setdefault(cell.scene, []).append(cell.id)
    return grouped


class _Taken(Exception):
    """Another program finished the exchange this manager was processing (its claim ran out)."""


def _retired(cells: Sequence[Cell]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for cell in cells:
        grouped.setdefault(cell.scene, []).append(cell.content)
    return grouped
