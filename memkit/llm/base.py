"""The one contract every language-model backend meets, and the call log.

A backend gets an :class:`LLMRequest` (chat messages, an optional JSON
schema for the reply, and the structured data the prompt was built from) and
returns the reply text: a plain ``str``, or a :class:`Reply` (a ``str`` that
also carries what the server said about it: why it stopped, the JSON mode
used, the model that answered, its token counts). Everything else (timing,
token counts, error wrapping, asking again when a reply was cut off, the
table of calls the notebooks show) lives in :func:`invoke`, so no backend
repeats it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, overload, runtime_checkable

from ..errors import BackendError, MemkitError
from ..redact import redact_secrets
from ..types import Message

__all__ = ["TASKS", "Backend", "CallLog", "LLMCall", "LLMRequest", "Reply", "estimate_tokens", "invoke"]

#: The jobs memkit asks a model to do.
TASKS: tuple[str, ...] = ("extract", "consolidate", "answer")
#: A JSON reply cut off at ``max_tokens`` is asked for once more, with this many times the budget.
RETRY_BUDGET = 2

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


class Reply(str):
    """A model's reply: the text itself, and what the server said about it (None where it said nothing).

    :param finish_reason: why the model stopped: ``"stop"``, or ``"length"`` when
        ``max_tokens`` cut the reply off.
    :param json_mode: how a JSON reply was asked for: ``"json_schema"``,
        ``"json_object"``, or ``"text"`` when the server accepted neither.
    :param model: the model that answered, as the server names it.
    :param prompt_tokens: the prompt's tokens, as the server counted them.
    :param completion_tokens: the reply's tokens, as the server counted them.
    """

    finish_reason: str | None
    json_mode: str | None
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None

    def __new__(
        cls,
        text: str = "",
        *,
        finish_reason: str | None = None,
        json_mode: str | None = None,
        model: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
    ) -> Reply:
        reply = super().__new__(cls, text)
        for name, value in (
            ("finish_reason", finish_reason),
            ("json_mode", json_mode),
            ("model", model),
            ("prompt_tokens", prompt_tokens),
            ("completion_tokens", completion_tokens),
        ):
            object.__setattr__(reply, name, value)
        return reply

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a Reply cannot be changed (tried to set {name!r})")

    @property
    def cut_off(self) -> bool:
        """Whether the reply stopped at ``max_tokens`` rather than where the model meant to end."""
        return self.finish_reason == "length"

    def info(self) -> dict[str, str | int | None]:
        """What the server said about the reply, as plain data (for a recording)."""
        return {
            "finish_reason": self.finish_reason,
            "json_mode": self.json_mode,
            "model": self.model,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


@runtime_checkable
class Backend(Protocol):
    """A language model: request in, reply text out."""

    name: str

    def complete(self, request: LLMRequest) -> str:
        """Return the model's reply to ``request`` (a ``str``, or a :class:`Reply` saying more).

        :raises BackendError: the model could not answer.
        """
        ...

    def describe(self) -> str:
        """One line saying which backend this is (never includes a key)."""
        ...


@dataclass(frozen=True)
class LLMCall:
    """One recorded model call.

    ``prompt_tokens`` and ``response_tokens`` are memkit's own count (the same
    rule for every model); ``server_prompt_tokens`` and ``server_response_tokens``
    are the server's, when it said. ``finish_reason``, ``json_mode`` and
    ``model`` are as in :class:`Reply`.
    """

    task: str
    backend: str
    prompt: str
    response: str
    duration_s: float
    prompt_tokens: int
    response_tokens: int
    error: str | None = None
    finish_reason: str | None = None
    json_mode: str | None = None
    model: str | None = None
    server_prompt_tokens: int | None = None
    server_response_tokens: int | None = None


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

    def __iter__(self) -> Iterator[LLMCall]:
        return iter(self.calls)

    @overload
    def __getitem__(self, index: int) -> LLMCall: ...
    @overload
    def __getitem__(self, index: slice) -> list[LLMCall]: ...
    def __getitem__(self, index: int | slice) -> LLMCall | list[LLMCall]:
        return self.calls[index]

    def __repr__(self) -> str:
        return f"CallLog({len(self)} calls)"


def invoke(backend: Backend, request: LLMRequest, log: CallLog | None = None) -> Reply:
    """Call ``backend`` with ``request``, time it, record it in ``log``.

    A JSON reply cut off at ``max_tokens`` is asked for once more with
    :data:`RETRY_BUDGET` times the budget; if that one is cut off too, it is
    returned as it is (``reply.cut_off``), for the caller to treat as
    unfinished. (Prose cut short still reads, so an answer is not asked again.)
    Errors that are not memkit's own are wrapped in :class:`BackendError`;
    a failed call is recorded too, with its error.
    """
    reply = _call(backend, request, log)
    if reply.cut_off and request.json_schema is not None:
        reply = _call(backend, replace(request, max_tokens=request.max_tokens * RETRY_BUDGET), log)
    return reply


def _call(backend: Backend, request: LLMRequest, log: CallLog | None) -> Reply:
    """One call of ``backend``, timed and recorded."""
    prompt = request.prompt_text()
    started = time.perf_counter()
    reply = Reply()
    error: str | None = None
    try:
        response = backend.complete(request)
        if not isinstance(response, str):
            raise BackendError(f"backend {backend.name!r} returned {type(response).__name__}, not text")
        reply = response if isinstance(response, Reply) else Reply(response)
        return reply
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
                    response=redact_secrets(reply),
                    duration_s=time.perf_counter() - started,
                    prompt_tokens=estimate_tokens(prompt),
                    response_tokens=estimate_tokens(reply),
                    error=None if error is None else redact_secrets(error),
                    finish_reason=reply.finish_reason,
                    json_mode=reply.json_mode,
                    model=reply.model,
                    server_prompt_tokens=reply.prompt_tokens,
                    server_response_tokens=reply.completion_tokens,
                )
            )
