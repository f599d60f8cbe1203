"""A backend for any OpenAI-compatible chat-completions server.

OpenAI itself, or a local server by ``base_url``: Ollama
(``http://localhost:11434/v1``), vLLM, LM Studio, a llama.cpp server.

The key comes from the ``api_key`` argument, else ``OPENAI_API_KEY``. A
custom ``base_url`` (the argument, or ``OPENAI_BASE_URL``, which the
``openai`` client would otherwise read on its own) never receives
``OPENAI_API_KEY`` unless ``use_env_key=True``: your OpenAI key is not sent
to a server you merely pointed memkit at. The key, and a password written
into ``base_url``, are never part of a repr, a log line or an error.

For JSON replies the backend asks for structured output (a JSON schema); if
the server refuses, it falls back to JSON mode, then to plain text, and
remembers the level that worked. memkit's parser copes with all three.
"""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import urlparse

from ..errors import (
    BackendAuthError,
    BackendConnectionError,
    BackendError,
    BackendTimeoutError,
    MissingKeyError,
)
from ..redact import KEY_ENV, redact_secrets, redact_url
from .base import LLMRequest

__all__ = ["BASE_URL_ENV", "DEFAULT_MODEL", "KEY_ENV", "OpenAIBackend"]

#: The environment variable the ``openai`` client reads a server address from.
BASE_URL_ENV = "OPENAI_BASE_URL"

DEFAULT_MODEL = "gpt-4o-mini"
_OPENAI_HOSTS = ("api.openai.com",)
_LOCAL_PLACEHOLDER_KEY = "not-needed"  # local servers ignore the key, the client requires one
_JSON_LEVELS = ("json_schema", "json_object", "text")


def _is_openai(base_url: str | None) -> bool:
    return base_url is None or urlparse(base_url).hostname in _OPENAI_HOSTS


class OpenAIBackend:
    """Chat completions through the ``openai`` client.

    :param model: the model name (``gpt-4o-mini`` by default; ``llama3.2`` for Ollama...).
    :param base_url: the server's ``/v1`` address; None means ``OPENAI_BASE_URL`` if set, else OpenAI.
    :param api_key: the key; defaults to ``OPENAI_API_KEY`` for OpenAI only.
    :param use_env_key: also send ``OPENAI_API_KEY`` to a custom ``base_url``.
    :param timeout: seconds to wait for a reply.
    :param max_retries: retries on connection errors and 5xx/429 replies.
    :raises MissingKeyError: OpenAI is the target and no key was found.
    """

    name = "openai"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        use_env_key: bool = False,
        timeout: float = 60.0,
        max_retries: int = 2,
    ) -> None:
        try:
            import openai
        except ImportError as exc:  # pragma: no cover - openai is a dependency
            raise BackendError("the openai package is not installed; run `pip install openai`") from exc
        if not model or not isinstance(model, str):
            raise ValueError(f"model must be a model name such as {DEFAULT_MODEL!r}, got {model!r}")
        self.model = model
        if base_url is None:
            base_url = os.environ.get(BASE_URL_ENV) or None
        #: The server address as shown (without a user name or password it may carry).
        self.base_url = None if base_url is None else redact_url(base_url)
        address = urlparse(base_url or "")
        self._url_secrets = [part for part in (address.username, address.password) if part]
        self.timeout = float(timeout)
        key = api_key
        if key is None and (_is_openai(base_url) or use_env_key):
            key = os.environ.get(KEY_ENV) or None
        if key is None and _is_openai(base_url):
            raise MissingKeyError(
                "no OpenAI API key: pass api_key=..., or set the OPENAI_API_KEY environment variable "
                "(in a notebook: os.environ['OPENAI_API_KEY'] = getpass.getpass()), "
                "or use the offline engine by passing no backend"
            )
        self._has_key = key is not None
        self._client = openai.OpenAI(
            api_key=key or _LOCAL_PLACEHOLDER_KEY,
            base_url=base_url,
            timeout=self.timeout,
            max_retries=max_retries,
        )
        self._json_level = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        where = "" if self.base_url is None else f", base_url={self.base_url!r}"
        return f"OpenAIBackend(model={self.model!r}{where}, key={'set' if self._has_key else 'none'})"

    def describe(self) -> str:
        """One line for humans (never includes the key)."""
        server = "OpenAI" if self.base_url is None else self.base_url
        return f"OpenAI-compatible model {self.model!r} at {server}"

    def _response_format(self, request: LLMRequest, level: int) -> dict[str, Any] | None:
        if request.json_schema is None:
            return None
        kind = _JSON_LEVELS[level]
        if kind == "json_schema":
            return {
                "type": "json_schema",
                "json_schema": {
                    "name": request.json_schema.get("name", "reply"),
                    "schema": dict(request.json_schema["schema"]),
                    "strict": False,
                },
            }
        if kind == "json_object":
            return {"type": "json_object"}
        return None

    def complete(self, request: LLMRequest) -> str:
        """Send the request; return the reply text.

        :raises BackendTimeoutError, BackendConnectionError, BackendAuthError, BackendError:
        """
        import openai

        while True:
            with self._lock:
                level = self._json_level
            kwargs: dict[str, Any] = {
                "model": self.model,
                "messages": [m.as_dict() for m in request.messages],
                "temperature": request.temperature,
                "max_tokens": request.max_tokens,
            }
            response_format = self._response_format(request, level)
            if response_format is not None:
                kwargs["response_format"] = response_format
            try:
                completion = self._client.chat.completions.create(**kwargs)
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                if response_format is not None and level + 1 < len(_JSON_LEVELS):
                    with self._lock:
                        self._json_level = max(self._json_level, level + 1)
                    continue
                raise BackendError(f"{self.describe()} rejected the request: {self._safe(exc)}") from self._cause(exc)
            except openai.APITimeoutError as exc:
                raise BackendTimeoutError(
                    f"{self.describe()} did not answer within {self.timeout:g} s; "
                    "raise timeout= or check the server is running"
                ) from self._cause(exc)
            except openai.APIConnectionError as exc:
                raise BackendConnectionError(
                    f"cannot reach {self.describe()}: {self._safe(exc)}; check base_url and that the server is up"
                ) from self._cause(exc)
            except openai.AuthenticationError as exc:
                raise BackendAuthError(
                    f"{self.describe()} refused the API key (401); check OPENAI_API_KEY or api_key="
                ) from self._cause(exc)
            except openai.APIStatusError as exc:
                raise BackendError(
                    f"{self.describe()} answered HTTP {exc.status_code}: {self._safe(exc)}"
                ) from self._cause(exc)
            except openai.OpenAIError as exc:
                raise BackendError(f"{self.describe()} failed: {self._safe(exc)}") from self._cause(exc)
            choices = getattr(completion, "choices", None) or []
            if not choices:
                raise BackendError(f"{self.describe()} returned no choices")
            content = choices[0].message.content
            return (content or "").strip()

    def _cause(self, exc: Exception) -> Exception | None:
        """``exc`` to chain a memkit error from, or None when its text holds the key.

        A traceback prints every exception of a chain; a server that echoes
        the key in an error body must not put it on the screen that way.
        """
        key = getattr(self._client, "api_key", None)
        secrets = [*([key] if key and key != _LOCAL_PLACEHOLDER_KEY else []), *self._url_secrets]
        if any(secret in f"{exc} {getattr(exc, 'body', '')}" for secret in secrets):
            return None
        return exc

    def _safe(self, exc: Exception) -> str:
        """An error message with any key-looking text removed."""
        key = getattr(self._client, "api_key", None)
        secrets = [key] if key and key != _LOCAL_PLACEHOLDER_KEY else []
        return redact_secrets(str(exc), [*secrets, *self._url_secrets])[:500]
