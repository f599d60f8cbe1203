"""Language-model backends behind one small contract, and the function that picks one.

- :class:`OfflineEngine`: deterministic rules, no network; the default.
- :class:`OpenAIBackend`: any OpenAI-compatible server (OpenAI, Ollama, vLLM,
  LM Studio, llama.cpp).
- :class:`ScriptedBackend`: queued replies, for tests.
- :class:`RecordingBackend` and :class:`ReplayBackend`: record any backend's
  calls to a file, and answer from that file with no model.
"""

from __future__ import annotations

import math
import os

from ..errors import ConfigurationError
from .base import TASKS, Backend, CallLog, LLMCall, LLMRequest, Reply, estimate_tokens, invoke
from .offline import OfflineEngine
from .openai_backend import DEFAULT_TIMEOUT, KEY_ENV, OpenAIBackend
from .recording import RecordingBackend, ReplayBackend
from .scripted import ScriptedBackend

__all__ = [
    "BACKEND_ENV",
    "BASE_URL_ENV",
    "MODEL_ENV",
    "TASKS",
    "TIMEOUT_ENV",
    "Backend",
    "CallLog",
    "LLMCall",
    "LLMRequest",
    "OfflineEngine",
    "OpenAIBackend",
    "RecordingBackend",
    "ReplayBackend",
    "Reply",
    "ScriptedBackend",
    "choose_backend",
    "estimate_tokens",
    "invoke",
]

BACKEND_ENV = "MEMKIT_BACKEND"
MODEL_ENV = "MEMKIT_MODEL"
BASE_URL_ENV = "MEMKIT_BASE_URL"
TIMEOUT_ENV = "MEMKIT_TIMEOUT"


def choose_backend(
    backend: Backend | str | None = None,
    *,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    timeout: float | None = None,
) -> Backend:
    """Pick the backend: the explicit argument, else the environment, else offline.

    - ``backend`` may be a backend object, ``"offline"`` or ``"openai"``.
    - With no argument, ``model``/``base_url``/``api_key`` select an
      OpenAI-compatible backend.
    - Otherwise the environment decides: ``MEMKIT_BACKEND`` (``offline`` or
      ``openai``), then ``MEMKIT_BASE_URL`` (a local server), then
      ``OPENAI_API_KEY`` (OpenAI). ``MEMKIT_MODEL`` names the model (a local
      server without it is asked which model it serves).
    - Otherwise: the offline engine.

    ``timeout`` (else ``MEMKIT_TIMEOUT``, else 60 s) is how many seconds a model
    server is given to answer. ``backend.describe()`` says which one is active.

    :raises ConfigurationError: an unknown backend name, or a timeout that is not a positive number.
    """
    if backend is not None and not isinstance(backend, str):
        if not isinstance(backend, Backend):
            raise TypeError(f"{backend!r} is not a backend: it needs a name, complete(request) and describe()")
        return backend
    name = backend.strip().lower() if isinstance(backend, str) else None
    if name is None and (model or base_url or api_key):
        name = "openai"
    from_env = name is None
    if name is None:
        name = (os.environ.get(BACKEND_ENV) or "").strip().lower() or None
    if name is None and (os.environ.get(BASE_URL_ENV) or os.environ.get(KEY_ENV)):
        name = "openai"
    if name in (None, "offline"):
        return OfflineEngine()
    if name == "openai":
        return OpenAIBackend(
            model or os.environ.get(MODEL_ENV) or None,
            base_url=base_url or os.environ.get(BASE_URL_ENV) or None,
            api_key=api_key,
            timeout=_timeout(timeout),
        )
    where = f"{BACKEND_ENV}={name!r}" if from_env else repr(backend)
    raise ConfigurationError(f"unknown backend {where}: use 'offline', 'openai' or a backend object")


def _timeout(timeout: float | None) -> float:
    """The timeout given, else ``MEMKIT_TIMEOUT``, else the backend's default."""
    source = f"timeout={timeout!r}" if timeout is not None else f"{TIMEOUT_ENV}={os.environ.get(TIMEOUT_ENV)!r}"
    raw = str(timeout) if timeout is not None else os.environ.get(TIMEOUT_ENV) or str(DEFAULT_TIMEOUT)
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigurationError(f"{source} is not a number of seconds; use a positive number such as 120")
    return value
