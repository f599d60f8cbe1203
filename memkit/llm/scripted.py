"""A scripted backend for tests and teaching: replies come from a queue."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable

from ..errors import BackendError
from .base import LLMRequest

__all__ = ["ScriptedBackend"]

Reply = str | Callable[[LLMRequest], str] | Exception


class ScriptedBackend:
    """Answers each request with the next queued reply and keeps every request.

    A reply may be a string (a :class:`~memkit.llm.Reply` to say more, such
    as ``finish_reason="length"``), a function of the request, or an exception
    to raise (to test failures). ``fallback`` answers when the queue is empty
    (for example an :class:`~memkit.llm.offline.OfflineEngine`); without one
    an empty queue raises :class:`BackendError`.
    """

    name = "scripted"

    def __init__(self, replies: Iterable[Reply] = (), *, fallback: object | None = None) -> None:
        self._queue: deque[Reply] = deque(replies)
        self.history: list[LLMRequest] = []
        self.fallback = fallback
        self._lock = threading.Lock()

    def enqueue(self, *replies: Reply) -> ScriptedBackend:
        """Add replies to the end of the queue; returns self for chaining."""
        with self._lock:
            self._queue.extend(replies)
        return self

    @property
    def pending(self) -> int:
        """How many queued replies are left."""
        with self._lock:
            return len(self._queue)

    def complete(self, request: LLMRequest) -> str:
        """The next queued reply (or the fallback's)."""
        with self._lock:
            self.history.append(request)
            reply = self._queue.popleft() if self._queue else None
        if reply is None:
            if self.fallback is not None:
                return self.fallback.complete(request)  # type: ignore[attr-defined,no-any-return]
            raise BackendError(f"the scripted backend has no reply queued for this {request.task} request")
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            return reply(request)
        return reply

    def describe(self) -> str:
        """One line for humans."""
        return f"scripted backend ({self.pending} replies queued)"

    def __repr__(self) -> str:
        return f"ScriptedBackend(pending={self.pending}, calls={len(self.history)})"
