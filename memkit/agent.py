"""WorkerAgent: recall, answer, then hand the exchange to the memory manager.

Reasoning and memory management are separate parts: the agent only reads
memory; the manager is the only writer (the agent tells it which cells an
answer used, which slows their decay). With ``background=True`` the
memory update runs on a worker thread, so the reply is not held back by
extraction and consolidation; :meth:`WorkerAgent.wait` waits for it.

No failure loses the user's words: the message is logged before the model
is asked, and a memory update that fails keeps its exchange for
``manager.retry_failed()`` without taking the reply away.
"""

from __future__ import annotations

import threading
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from .db import MemoryDB
from .errors import MemkitError, UpdateFailedError
from .links import Neighbour, links_of, neighbours
from .llm import Backend, CallLog, LLMRequest, choose_backend, invoke
from .manager import MemoryManager, UpdateResult
from .prompts import answer_request
from .redact import redact_secrets
from .types import Hit, Scene, clean_text

__all__ = ["LINK_SOURCES", "Recall", "WorkerAgent"]

#: Recall follows links from this many of the best matched cells (the ones an answer leans on).
LINK_SOURCES = 3


@dataclass(frozen=True)
class Recall:
    """What the agent recalled for one message: cells (with scores), scene summaries,
    and the current cells one link away from the matched cells."""

    query: str
    hits: tuple[Hit, ...]
    scenes: tuple[Scene, ...]
    linked: tuple[Neighbour, ...] = ()


class WorkerAgent:
    """Answers messages using what memory recalls, then updates memory.

    ``WorkerAgent(manager)``: the agent reads the memory its manager writes
    (``manager.db``), so the two can never point at different files.

    :param manager: the memory manager that writes the memory this agent reads.
    :param llm: the backend that answers; defaults to the manager's.
    :param recall_limit: how many cells to recall per message.
    :param max_scenes: how many scene summaries to include.
    :param background: run memory updates on a worker thread.
    :param follow_links: how many cells linked to the best matched ones to recall as well (0: none).
    """

    def __init__(
        self,
        manager: MemoryManager,
        llm: Backend | str | None = None,
        *,
        recall_limit: int = 6,
        max_scenes: int = 3,
        background: bool = False,
        follow_links: int = 2,
    ) -> None:
        if isinstance(manager, MemoryDB):  # the older form, WorkerAgent(db, manager)
            db, manager, llm = manager, llm, None  # type: ignore[assignment]
            if not isinstance(manager, MemoryManager) or manager.db is not db:
                raise TypeError(
                    "WorkerAgent takes the manager only, and reads the memory it writes: "
                    "WorkerAgent(MemoryManager(db)) instead of WorkerAgent(db, manager)"
                )
            warnings.warn(
                "WorkerAgent(db, manager) is WorkerAgent(manager) now: the agent reads manager.db",
                DeprecationWarning,
                stacklevel=2,
            )
        if not isinstance(manager, MemoryManager):
            raise TypeError(f"manager must be a MemoryManager, not {type(manager).__name__}")
        if recall_limit < 1 or max_scenes < 0 or follow_links < 0:
            raise ValueError("recall_limit must be at least 1, max_scenes and follow_links at least 0")
        self.db: MemoryDB = manager.db
        self.manager = manager
        self.llm = manager.llm if llm is None else choose_backend(llm)
        self.recall_limit = recall_limit
        self.max_scenes = max_scenes
        self.background = background
        self.follow_links = follow_links
        self.last_recall: Recall | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[Future[UpdateResult]] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"WorkerAgent(db={self.db!r}, llm={self.llm!r}, background={self.background})"

    @property
    def calls(self) -> CallLog:
        """Every model call made by this agent and its manager, in order (the manager's log)."""
        return self.manager.calls

    def recall(self, text: str) -> Recall:
        """The cells and scene summaries relevant to ``text``."""
        hits = tuple(self.db.search(text, limit=self.recall_limit))
        names = list(dict.fromkeys(hit.scene for hit in hits if hit.matched))[: self.max_scenes]
        scenes = tuple(scene for scene in (self.db.get_scene(n) for n in names) if scene and scene.summary)
        best = [hit.id for hit in hits if hit.matched][:LINK_SOURCES]
        linked = neighbours(self.db, best, limit=self.follow_links, exclude=[hit.id for hit in hits])
        return Recall(text, hits, scenes, tuple(linked))

    def answer(self, text: str) -> str:
        """Reply to ``text`` with recalled memory, then hand the exchange to the manager.

        The message is logged first: if no reply comes, the error is raised
        and ``manager.retry_failed()`` remembers the message later. If the
        memory update fails, the reply is still returned (with a warning, in
        the default synchronous mode) and :meth:`wait` reports the failure.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, not {type(text).__name__}")
        text = redact_secrets(clean_text(text))  # a key pasted by mistake is never sent or stored
        exchange_id = self.manager.log_message(text)
        try:
            recall = self.recall(text)
            self.last_recall = recall
            self.manager.recalled(
                [*(hit.id for hit in recall.hits if hit.matched), *(n.cell.id for n in recall.linked)]
            )
            reply = invoke(self.llm, self._request(text, recall), self.manager.calls)
        except MemkitError as exc:
            self.manager.no_reply(exchange_id, str(exc))
            raise
        if self.background:
            with self._lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memkit-update")
                self._pending.append(self._executor.submit(self.manager.update, text, reply, exchange_id=exchange_id))
        else:
            self._update_now(text, reply, exchange_id)
        return reply

    def _update_now(self, text: str, reply: str, exchange_id: int) -> None:
        """Update memory on this thread; keep a failure for :meth:`wait` and warn, never raise."""
        done: Future[UpdateResult] = Future()
        try:
            result = self.manager.update(text, reply, exchange_id=exchange_id)
        except MemkitError as exc:
            done.set_exception(exc)
            reason = str(exc)
        else:
            if result.error is None:
                return
            done.set_result(result)
            reason = result.error
        with self._lock:
            self._pending.append(done)
        warnings.warn(
            f"memory update failed: {reason}; the reply stands and the exchange is kept: "
            "call manager.retry_failed() to process it again",
            UserWarning,
            stacklevel=3,
        )

    def _request(self, text: str, recall: Recall) -> LLMRequest:
        """The answer request, with what each hit replaced and the words around it (for the offline engine)."""
        matched = [hit.id for hit in recall.hits if hit.matched]
        replaced = {cell_id: _replaced(self.db, cell_id) for cell_id in matched}
        updated = [cell_id for cell_id, older in replaced.items() if older]
        contexts = {cell.id: " ".join([cell.context or "", *replaced[cell.id]]) for cell in self.db.get_cells(matched)}
        return answer_request(text, recall.hits, recall.scenes, recall.linked, updated, contexts)

    @property
    def updating(self) -> bool:
        """Whether a background memory update is still running."""
        with self._lock:
            return any(not future.done() for future in self._pending)

    def wait(self, timeout: float | None = None) -> list[UpdateResult]:
        """Wait for background memory updates; return their results in order.

        :raises UpdateFailedError: an update since the last call failed, in the
            background or not (its exchange stays logged as failed;
            ``manager.retry_failed()`` processes it again).
        """
        with self._lock:
            pending, self._pending = self._pending, []
        results: list[UpdateResult] = []
        failures: list[tuple[str, BaseException | None]] = []
        for future in pending:
            error = future.exception(timeout=timeout)
            if error is not None:
                failures.append((str(error), error))
                continue
            results.append(future.result())
            if results[-1].error is not None:
                failures.append((str(results[-1].error), None))
        if failures:
            raise UpdateFailedError(
                f"{len(failures)} memory update(s) failed: {failures[0][0]}; "
                "the exchanges are kept, call manager.retry_failed() to process them again"
            ) from failures[0][1]
        return results

    def close(self) -> None:
        """Finish pending updates and stop the worker thread."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


def _replaced(db: MemoryDB, cell_id: int) -> list[str]:
    """The contents of the older cells a cell replaced (it is the source of their ``replaces`` links)."""
    older = (
        db.get_cell(link.target) for link in links_of(db, cell_id) if link.kind == "replaces" and link.source == cell_id
    )
    return [cell.content for cell in older if cell is not None]
