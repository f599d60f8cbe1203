"""The one contract every language-model backend meets, and the call log.

A backend gets an :class:`LLMRequest` (chat messages, an optional JSON
schema for the reply, and the structured data the prompt was built from) and
returns the reply text. Everything else (timing, token counts, error
wrapping, the table of calls the notebooks show) lives in :func:`invoke`, so
no backend repeats it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..errors import BackendError, MemkitError
from ..redact import redact_secrets
from ..types import Message

__all__ = ["TASKS", "Backend", "CallLog", "LLMCall", "LLMRequest", "estimate_tokens", "invoke"]

#: The jobs memkit asks a model to do.
TASKS: tuple[str, ...] = ("extract", "consolidate", "answer")

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def estimate_tokens(text: str) -> int:
    """A model-independent token count: words plus punctuation marks.

    Close to what BPE tokenizers give for English prose; used for the call
    log and the cost benchmark, where the same rule must apply to everyone.
    """
    return len(_TOKEN.findall(text))


@dataclass(frozen=True)
class LLMRequest:
    """What memkit asks of a model.

    :param task: ``"extract"``, ``"consolidate"`` or ``"answer"``.
    :param messages: the chat messages of the prompt.
    :param json_schema: ``{"name": ..., "schema": {...}}`` when a JSON reply is wanted.
    :param data: the structured inputs the prompt was rendered from. Model
        backends ignore it; the offline engine works from it, so text inside
        a conversation can never be mistaken for an instruction.
    """

    task: str
    messages: tuple[Message, ...]
    json_schema: Mapping[str, Any] | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    temperature: float = 0.0
    max_tokens: int = 800

    def prompt_text(self) -> str:
        """All message contents, one after another (for token counts and display)."""
        return "\n\n".join(f"[{m.role}]\n{m.content}" for m in self.messages)


@runtime_checkable
class Backend(Protocol):
    """A language model: request in, reply text out."""

    name: str

    def complete(self, request: LLMRequest) -> str:
        """Return the model's reply to ``request``.

        :raises BackendError: the model could not answer.
        """
        ...

    def describe(self) -> str:
        """One line saying which backend this is (never includes a key)."""
        ...


@dataclass(frozen=True)
class LLMCall:
    """One recorded model call."""

    task: str
    backend: str
    prompt: str
    response: str
    duration_s: float
    prompt_tokens: int
    response_tokens: int
    error: str | None = None


class CallLog:
    """A thread-safe record of every model call, in order."""

    def __init__(self) -> None:
        self._calls: list[LLMCall] = []
        self._lock = threading.Lock()

    def append(self, call: LLMCall) -> None:
        """Record a call."""
        with self._lock:
            self._calls.append(call)

    @property
    def calls(self) -> list[LLMCall]:
        """A copy of the calls recorded so far."""
        with self._lock:
            return list(self._calls)

    def clear(self) -> None:
        """Forget every recorded call."""
        with self._lock:
            self._calls.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)

    def __repr__(self) -> str:
        return f"CallLog({len(self)} calls)"


def invoke(backend: Backend, request: LLMRequest, log: CallLog | None = None) -> str:
    """Call ``backend`` with ``request``, time it, record it in ``log``.

    Errors that are not memkit's own are wrapped in :class:`BackendError`;
    a failed call is recorded too, with its error.
    """
    prompt = request.prompt_text()
    started = time.perf_counter()
    response = ""
    error: str | None = None
    try:
        response = backend.complete(request)
        if not isinstance(response, str):
            raise BackendError(f"backend {backend.name!r} returned {type(response).__name__}, not text")
        return response
    except MemkitError as exc:
        error = str(exc)
        raise
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise BackendError(f"backend {backend.name!r} failed on the {request.task} task: {error}") from exc
    finally:
        if log is not None:
            log.append(
                LLMCall(
                    task=request.task,
                    backend=backend.name,
                    prompt=redact_secrets(prompt),
                    response=redact_secrets(response),
                    duration_s=time.perf_counter() - started,
                    prompt_tokens=estimate_tokens(prompt),
                    response_tokens=estimate_tokens(response),
                    error=None if error is None else redact_secrets(error),
                )
            )
