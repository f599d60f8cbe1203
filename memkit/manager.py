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
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from .claims import new_owner
from .db import MemoryDB, to_iso
from .decisions import Plan, resolve
from .errors import MemkitError
from .forgetting import Forgetting, forget, mark_recalled
from .lifecycle import reinforce, supersede
from .links import link
from .llm import Backend, CallLog, choose_backend, invoke
from .parsing import parse_cells
from .prompts import MAX_CELLS_IN_PROMPT, extract_request
from .redact import redact_secrets
from .summaries import as_new_cell, owe, settle, summarise
from .types import Cell, Decision, NewCell, Rejection, Revision, Scene, Utterance, clean_text

__all__ = [
    "MAX_CANDIDATE_SCENES",
    "MAX_SLOT_CELLS",
    "PROGRESS_FROM",
    "RECENT_CELLS",
    "IngestResult",
    "MemoryManager",
    "UpdateResult",
]

#: How many existing scenes the extraction step is shown (the last active one
#: plus those whose cells best match the exchange).
MAX_CANDIDATE_SCENES = 5
#: How many of a candidate scene's newest cells describe it to the extraction step.
_PROFILE_CELLS = 15
#: Of those, how many are simply the most recently active (a topic can return
#: in words its earlier cells never used).
_RECENT_SCENES = 3
#: How many of the cells shown to extraction are the newest of the last
#: active scene (the rest are the best matches of the exchange).
RECENT_CELLS = 3
#: ``ingest`` shows a progress bar, unless told otherwise, from this many messages on.
PROGRESS_FROM = 50

#: How many further current cells the offline engine reads for facts an exchange changes.
MAX_SLOT_CELLS = 60
_SLOT_MATCHES = 20
#: After this many backend errors in a row, ``ingest`` stops calling the backend
#: (a server that is down); the messages left wait, logged, for ``retry_failed``.
MAX_FAILURES_IN_A_ROW = 3
#: How many messages of a transcript a backend that reads ahead (``prepare``) is given at once.
_READ_AHEAD = 64


@dataclass(frozen=True)
class UpdateResult:
    """What one exchange did to memory.

    ``cells`` are the cells it stored, ``superseded`` the stored cells it
    replaced, ``revisions`` what was done with each extracted cell. ``error``
    says why nothing could be taken from the model's reply (cut off, or no
    usable JSON): the exchange is then kept, failed, for
    :meth:`MemoryManager.retry_failed`; None when it was processed.
    """

    exchange_id: int
    cells: tuple[Cell, ...]
    rejected: tuple[Rejection, ...]
    scenes: tuple[str, ...]
    revisions: tuple[Revision, ...] = ()
    superseded: tuple[Cell, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class IngestResult:
    """What importing a transcript added to memory.

    ``cells`` are the cells it stored (later messages of the transcript may
    have replaced some since, as in :class:`UpdateResult`). ``failed`` holds
    (exchange id, why) for each message that is logged but not yet in memory;
    :meth:`MemoryManager.retry_failed` processes them.
    """

    messages: int
    cells: tuple[Cell, ...]
    rejected: tuple[Rejection, ...]
    scenes: tuple[str, ...]
    failed: tuple[tuple[int, str], ...] = ()


def _as_utterance(item: Any) -> Utterance:
    if isinstance(item, Utterance):
        return item
    if isinstance(item, Mapping):
        speaker = item.get("speaker", item.get("role"))
        text = item.get("text", item.get("content"))
        source_id = item.get("id", item.get("source_id", item.get("dia_id")))
        occurred_at = item.get("time", item.get("occurred_at"))
    elif isinstance(item, (tuple, list)) and len(item) in (2, 3, 4):
        speaker, text, source_id, occurred_at = (*item, None, None)[:4]
    else:
        raise TypeError(f"a message must be an Utterance, a dict or a (speaker, text) tuple; got {item!r:.80}")
    if not isinstance(speaker, str) or not isinstance(text, str):
        raise TypeError(f"a message needs a speaker and a text as strings; got {item!r:.80}")
    if isinstance(occurred_at, datetime):
        occurred_at = occurred_at.isoformat(timespec="seconds")
    return Utterance(speaker, text, None if source_id is None else str(source_id), occurred_at)


def _context(utterances: Sequence[Utterance], *, speakers: bool = False) -> str:
    """What a cell keeps of the conversation around it: the words of the exchange it came from.

    :param speakers: prefix each message with who said it (for transcripts
        between named people, where "who" is part of what a question asks).
    """
    if speakers:
        return " ".join(f"{u.speaker}: {u.text}" for u in utterances)
    return " ".join(u.text for u in utterances)


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
            return self._process(exchange_id, utterances, source_id, when, True, _context(utterances))

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
            return self._process(exchange_id, list(utterances), source_id, when, consolidate, _context(utterances))

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
            related = self._related_cells(utterances, scenes)
            candidates = self._candidate_scenes(utterances, scenes, pending)
            on_slot = self._slot_cells(utterances, candidates, related)
            request = extract_request(
                utterances,
                candidates,
                cell_types=self.db.cell_types,
                related=related,
                profiles=self._scene_profiles(candidates),
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
        now = {cell.id: self.db.get_cell(cell.id) for cell in shown}
        return {cell_id for cell_id, cell in now.items() if cell is None or cell.status != "current"}

    def _outcome(
        self, revisions: Sequence[Revision], plans: Sequence[Plan]
    ) -> tuple[tuple[Cell, ...], tuple[Cell, ...]]:
        """The cells an exchange stored, and the cells it superseded (those it also retired included)."""
        stored = [r.cell_id for r in revisions if r.action in ("add", "update", "supersede") and r.cell_id]
        replaced = [r.target_id for r in revisions if r.action in ("update", "supersede") and r.target_id]
        replaced += [i for plan in plans if plan.action in ("update", "supersede") for i in plan.retire_ids]
        found = [tuple(cell for cell in map(self.db.get_cell, ids) if cell is not None) for ids in (stored, replaced)]
        return found[0], found[1]

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

    def _related_cells(self, utterances: Sequence[Utterance], scenes: Sequence[Scene]) -> list[Cell]:
        """The stored cells extraction is shown: best matches of the exchange and the newest of the last scene."""
        text = " ".join(u.text for u in utterances)[:2000]
        matches = [hit.id for hit in self.db.search(text, limit=MAX_CELLS_IN_PROMPT) if hit.matched]
        recent = (
            [c.id for c in self.db.list_cells(scenes[0].scene, limit=RECENT_CELLS, newest_first=True)] if scenes else []
        )
        head = matches[: MAX_CELLS_IN_PROMPT - len(recent)]
        ids = list(dict.fromkeys([*head, *recent, *matches]))[:MAX_CELLS_IN_PROMPT]
        return [cell for cell in (self.db.get_cell(i) for i in ids) if cell is not None]

    def _candidate_scenes(
        self,
        utterances: Sequence[Utterance],
        scenes: Sequence[Scene],
        pending: Mapping[str, Sequence[NewCell]] | None = None,
    ) -> list[Scene]:
        """The most recently active scenes, then those whose cells best match the exchange."""
        if not scenes:
            return []
        chosen = [scene.scene for scene in scenes[:_RECENT_SCENES]]
        text = " ".join(u.text for u in utterances)[:2000]
        by_name = {s.scene: s for s in scenes}
        for hit in self.db.search(text, limit=3 * MAX_CANDIDATE_SCENES):
            # a scene another program made since the scenes were read is not offered this time
            if hit.matched and hit.scene not in chosen and hit.scene in by_name:
                chosen.append(hit.scene)
            if len(chosen) == MAX_CANDIDATE_SCENES:
                break
        result = []
        for name in chosen:
            scene = by_name[name]
            extra = pending.get(name) if pending else None
            if extra:  # cells not yet folded into the summary still describe the scene
                summary = " ".join([scene.summary, *(c.content for c in extra)])
                scene = replace(scene, summary=summary)
            result.append(scene)
        return result

    def _scene_profiles(self, scenes: Sequence[Scene]) -> dict[str, list[str]]:
        """The contents of the newest current cells of each scene.

        A summary stays under 100 words however large its scene grows; the
        scene's own recent cells say more about which words belong to it.
        """
        return {
            scene.scene: [
                cell.content for cell in self.db.list_cells(scene.scene, limit=_PROFILE_CELLS, newest_first=True)
            ]
            for scene in scenes
        }

    def _slot_cells(
        self, utterances: Sequence[Utterance], scenes: Sequence[Scene], shown: Sequence[Cell]
    ) -> list[Cell]:
        """More current cells that may hold a fact this exchange changes (listed after the shown ones).

        A changed fact may sit in any cell of its scene, not only among the best matches of
        the exchange: every current cell of the candidate scenes (the newest first), then the
        further matches of the exchange, up to :data:`MAX_SLOT_CELLS`.
        """
        seen = {cell.id for cell in shown}
        found: list[Cell] = []
        text = " ".join(u.text for u in utterances)[:2000]
        matches = [hit.id for hit in self.db.search(text, limit=_SLOT_MATCHES) if hit.matched]
        for cell_id in matches:
            cell = self.db.get_cell(cell_id)
            if cell is not None and cell.id not in seen:
                seen.add(cell.id)
                found.append(cell)
        for scene in scenes:
            for cell in self.db.list_cells(scene.scene, limit=MAX_SLOT_CELLS, newest_first=True):
                if cell.id not in seen:
                    seen.add(cell.id)
                    found.append(cell)
        return found[:MAX_SLOT_CELLS]

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
        utterances = [_as_utterance(item) for item in items]
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
                context = _context(utterances[max(0, index - 1) : index + 2], speakers=True)
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
                        self._process(exchange_id, utterances, source_id, occurred_at, True, _context(utterances))
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
