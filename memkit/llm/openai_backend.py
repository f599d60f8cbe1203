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
the server refuses (a 400 or 422, a 5xx that names the response format, or
any 5xx before the server has accepted a JSON mode once), it falls back to
JSON mode, then to plain text, and remembers the level that worked. memkit's
parser copes with all three.

A local server given no model name is asked which model it serves
(``GET /models``) on first use.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from typing import Any
from urllib.parse import urlparse

from ..errors import (
    BackendAuthError,
    BackendConnectionError,
    BackendError,
    BackendTimeoutError,
    ConfigurationError,
    MissingKeyError,
)
from ..redact import KEY_ENV, redact_secrets, redact_url
from .base import LLMRequest, Reply

__all__ = ["BASE_URL_ENV", "CONNECT_TIMEOUT", "DEFAULT_MODEL", "DEFAULT_TIMEOUT", "KEY_ENV", "OpenAIBackend"]

#: The environment variable the ``openai`` client reads a server address from.
BASE_URL_ENV = "OPENAI_BASE_URL"

DEFAULT_MODEL = "gpt-4o-mini"
#: Seconds a server is given to answer, each attempt.
DEFAULT_TIMEOUT = 60.0
#: Seconds allowed to open a connection (with its TLS handshake); a reply gets the whole ``timeout``.
CONNECT_TIMEOUT = 10.0
_OPENAI_HOSTS = ("api.openai.com",)
_LOCAL_PLACEHOLDER_KEY = "not-needed"  # local servers ignore the key, the client requires one
_JSON_LEVELS = ("json_schema", "json_object", "text")
#: Words in a server's error that say it refused the response format.
_FORMAT_WORDS = ("response_format", "json_schema", "json_object", "schema", "grammar")


def _is_openai(base_url: str | None) -> bool:
    return base_url is None or urlparse(base_url).hostname in _OPENAI_HOSTS


def _check_base_url(base_url: str) -> None:
    """:raises ConfigurationError: ``base_url`` is not an http:// or https:// address."""
    parsed = urlparse(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        shown = base_url.rsplit("@", 1)[-1].split("://")[-1].lstrip("/")  # never echo credentials
        raise ConfigurationError(f"base_url must start with http:// (or https://), e.g. 'http://{shown}'")


class OpenAIBackend:
    """Chat completions through the ``openai`` client.

    :param model: the model name (``llama3.2`` for Ollama...); by default
        ``gpt-4o-mini`` for OpenAI, and for another server the first model it
        lists (asked on first use, with a warning when it lists none or several).
    :param base_url: the server's ``/v1`` address; None means ``OPENAI_BASE_URL`` if set, else OpenAI.
    :param api_key: the key; defaults to ``OPENAI_API_KEY`` for OpenAI only.
    :param use_env_key: also send ``OPENAI_API_KEY`` to a custom ``base_url``.
    :param timeout: seconds to wait for a reply (each attempt).
    :param max_retries: retries on connection errors, timeouts and 5xx/429 replies.
    :raises MissingKeyError: OpenAI is the target and no key was found.
    :raises ConfigurationError: ``base_url`` is not an http:// or https:// address.
    """

    name = "openai"

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        use_env_key: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 2,
    ) -> None:
        try:
            import openai
        except ImportError as exc:  # pragma: no cover - openai is a dependency
            raise BackendError("the openai package is not installed; run `pip install openai`") from exc
        if model is not None and (not model or not isinstance(model, str)):
            raise ValueError(f"model must be a model name such as {DEFAULT_MODEL!r}, got {model!r}")
        if base_url is None:
            base_url = os.environ.get(BASE_URL_ENV) or None
        if base_url is not None:
            _check_base_url(base_url)
        #: The model named in requests; None until a server that was not told one is asked.
        self.model: str | None = model or (DEFAULT_MODEL if _is_openai(base_url) else None)
        #: The server address as shown (without a user name or password it may carry).
        self.base_url = None if base_url is None else redact_url(base_url)
        address = urlparse(base_url or "")
        self._url_secrets = [part for part in (address.username, address.password) if part]
        self.timeout = float(timeout)
        self.connect_timeout = min(self.timeout, CONNECT_TIMEOUT)
        self.max_retries = max_retries
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
            timeout=openai.Timeout(self.timeout, connect=self.connect_timeout),
            max_retries=max_retries,
        )
        self._json_level = 0
        self._json_confirmed = False  # a JSON mode has worked on this server
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        where = "" if self.base_url is None else f", base_url={self.base_url!r}"
        return f"OpenAIBackend(model={self.model!r}{where}, key={'set' if self._has_key else 'none'})"

    def describe(self) -> str:
        """One line for humans (never includes the key)."""
        server = "OpenAI" if self.base_url is None else self.base_url
        if self.model is None:
            return f"OpenAI-compatible server at {server} (the model it serves, asked on first use)"
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

    def complete(self, request: LLMRequest) -> Reply:
        """Send the request; return the reply with what the server said about it.

        :raises BackendTimeoutError, BackendConnectionError, BackendAuthError, BackendError:
        """
        import openai

        model = self._served_model()
        with self._lock:
            level, confirmed = self._json_level, self._json_confirmed
        started = time.monotonic()
        while True:
            kwargs: dict[str, Any] = {
                "model": model,
                "messages": [m.as_dict() for m in request.messages],
                "temperature": request.temperature,
                "max_tokens": request.max_tokens,
            }
            response_format = self._response_format(request, level)
            if response_format is not None:
                kwargs["response_format"] = response_format
            # Until a JSON mode has worked here, an error is a refusal to step down from, not to retry.
            probing = response_format is not None and not confirmed
            client = self._client.with_options(max_retries=0) if probing else self._client
            try:
                completion = client.chat.completions.create(**kwargs)
            except openai.APIStatusError as exc:
                if response_format is not None and level + 1 < len(_JSON_LEVELS) and _refuses(exc, confirmed):
                    level += 1
                    continue
                raise self._error(exc, started, 1 if probing else self.max_retries + 1) from self._cause(exc)
            except openai.OpenAIError as exc:
                raise self._error(exc, started, 1 if probing else self.max_retries + 1) from self._cause(exc)
            if request.json_schema is not None:
                with self._lock:
                    self._json_level, self._json_confirmed = level, True
            return self._reply(completion, None if request.json_schema is None else _JSON_LEVELS[level])

    def _reply(self, completion: Any, json_mode: str | None) -> Reply:
        choices = getattr(completion, "choices", None) or []
        if not choices:
            raise BackendError(f"{self.describe()} returned no choices")
        choice = choices[0]
        usage = getattr(completion, "usage", None)
        return Reply(
            (choice.message.content or "").strip(),
            finish_reason=getattr(choice, "finish_reason", None),
            json_mode=json_mode,
            model=getattr(completion, "model", None) or None,
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
        )

    def _served_model(self) -> str:
        """The model to name: the one given, else the first the server lists (asked once)."""
        import openai

        with self._lock:
            if self.model is not None:
                return self.model
        started = time.monotonic()
        try:
            listed = [m.id for m in self._client.with_options(max_retries=0).models.list()]
        except openai.APIConnectionError as exc:
            raise self._error(exc, started, 1) from self._cause(exc)
        except openai.OpenAIError:
            listed = []
        chosen = listed[0] if listed else DEFAULT_MODEL
        if not listed:
            warnings.warn(
                f"{self.base_url} does not list its models (GET /models); memkit names the model {chosen!r}, "
                "which it may not serve: set MEMKIT_MODEL (or model=...) to the name of the model it serves",
                UserWarning,
                stacklevel=3,
            )
        elif len(listed) > 1:
            warnings.warn(
                f"{self.base_url} serves {len(listed)} models ({', '.join(listed[:5])}); memkit uses {chosen!r}: "
                "set MEMKIT_MODEL (or model=...) to choose another",
                UserWarning,
                stacklevel=3,
            )
        with self._lock:
            if self.model is None:
                self.model = chosen
            return self.model

    def _error(self, exc: Exception, started: float, attempts: int) -> BackendError:
        """The memkit error for an error of the ``openai`` client, saying what to do."""
        import openai

        waited = time.monotonic() - started
        hint = self._scheme_hint()
        if isinstance(exc, openai.APITimeoutError):
            return BackendTimeoutError(
                f"{self.describe()} did not answer within {self.timeout:g} s ({attempts} attempt"
                f"{'s' if attempts > 1 else ''}, {waited:.{0 if waited >= 10 else 1}f} s in all){hint}; "
                "if the model is only slow, allow it longer (MEMKIT_TIMEOUT=300, --timeout 300, or timeout=300), "
                "else check that the server is running"
            )
        if isinstance(exc, openai.APIConnectionError):
            return BackendConnectionError(
                f"cannot reach {self.describe()}: {self._safe(exc)}{hint}; check base_url and that the server is up"
            )
        if isinstance(exc, openai.AuthenticationError):
            return BackendAuthError(f"{self.describe()} refused the API key (401); check OPENAI_API_KEY or api_key=")
        if isinstance(exc, (openai.BadRequestError, openai.UnprocessableEntityError)):
            return BackendError(f"{self.describe()} rejected the request: {self._safe(exc)}")
        if isinstance(exc, openai.APIStatusError):
            return BackendError(f"{self.describe()} answered HTTP {exc.status_code}: {self._safe(exc)}")
        return BackendError(f"{self.describe()} failed: {self._safe(exc)}")

    def _scheme_hint(self) -> str:
        """For https:// to a server other than OpenAI: most local servers speak plain HTTP."""
        if self.base_url is None or _is_openai(self.base_url) or urlparse(self.base_url).scheme != "https":
            return ""
        plain = "http://" + self.base_url.split("://", 1)[1]
        return f" (most local servers speak plain HTTP: if this one does, use {plain!r})"

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


def _refuses(exc: Any, confirmed: bool) -> bool:
    """Whether an error status means the server refused the response format (and a lower level may work)."""
    status = getattr(exc, "status_code", 0)
    if status in (400, 422):
        return True
    if status >= 500:
        said = f"{exc} {getattr(exc, 'body', '')}".lower()
        return not confirmed or any(word in said for word in _FORMAT_WORDS)
    return False
