"""Language-model backends behind one small contract, and the function that picks one.

- :class:`OfflineEngine`: deterministic rules, no network; the default.
- :class:`OpenAIBackend`: any OpenAI-compatible server (OpenAI, Ollama, vLLM,
  LM Studio, llama.cpp).
- :class:`ScriptedBackend`: queued replies, for tests.
- :class:`RecordingBackend` and :class:`ReplayBackend`: record any backend's
  calls to a file, and answer from that file with no model.
"""

from __future__ import annotations

import os

from .base import TASKS, Backend, CallLog, LLMCall, LLMRequest, estimate_tokens, invoke
from .offline import OfflineEngine
from .openai_backend import DEFAULT_MODEL, KEY_ENV, OpenAIBackend
from .recording import RecordingBackend, ReplayBackend
from .scripted import ScriptedBackend

__all__ = [
    "BACKEND_ENV",
    "BASE_URL_ENV",
    "MODEL_ENV",
    "TASKS",
    "Backend",
    "CallLog",
    "LLMCall",
    "LLMRequest",
    "OfflineEngine",
    "OpenAIBackend",
    "RecordingBackend",
    "ReplayBackend",
    "ScriptedBackend",
    "choose_backend",
    "estimate_tokens",
    "invoke",
]

BACKEND_ENV = "MEMKIT_BACKEND"
MODEL_ENV = "MEMKIT_MODEL"
BASE_URL_ENV = "MEMKIT_BASE_URL"


def choose_backend(
    backend: Backend | str | None = None,
    *,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
) -> Backend:
    """Pick the backend: the explicit argument, else the environment, else offline.

    - ``backend`` may be a backend object, ``"offline"`` or ``"openai"``.
    - With no argument, ``model``/``base_url``/``api_key`` select an
      OpenAI-compatible backend.
    - Otherwise the environment decides: ``MEMKIT_BACKEND`` (``offline`` or
      ``openai``), then ``MEMKIT_BASE_URL`` (a local server), then
      ``OPENAI_API_KEY`` (OpenAI). ``MEMKIT_MODEL`` names the model.
    - Otherwise: the offline engine.

    ``backend.describe()`` says which one is active.

    :raises ValueError: an unknown backend name.
    """
    if backend is not None and not isinstance(backend, str):
        if not isinstance(backend, Backend):
            raise TypeError(f"{backend!r} is not a backend: it needs a name, complete(request) and describe()")
        return backend
    name = backend.strip().lower() if isinstance(backend, str) else None
    if name is None and (model or base_url or api_key):
        name = "openai"
    if name is None:
        name = (os.environ.get(BACKEND_ENV) or "").strip().lower() or None
    if name is None and (os.environ.get(BASE_URL_ENV) or os.environ.get(KEY_ENV)):
        name = "openai"
    if name in (None, "offline"):
        return OfflineEngine()
    if name == "openai":
        return OpenAIBackend(
            model or os.environ.get(MODEL_ENV) or DEFAULT_MODEL,
            base_url=base_url or os.environ.get(BASE_URL_ENV) or None,
            api_key=api_key,
        )
    raise ValueError(f"unknown backend {backend or name!r}: use 'offline', 'openai' or a backend object")
