"""Record a backend's calls to a JSON Lines file, and replay them with no model at all.

A teacher wraps a real model once::

    backend = RecordingBackend(OpenAIBackend(), "lesson.jsonl")

and students answer from the file, with no key and no network::

    backend = ReplayBackend("lesson.jsonl")

The file
--------
The first line is a header: ``{"kind": "memkit-recording", "version": 1,
"backend": ..., "description": ..., "note": ...}``, saying which backend
answered (``"offline"`` for the offline engine). Each further line is one call:
``{"kind": "call", "request": {...}, "response": "..."}``, or ``"error":
{"type": ..., "message": ...}`` instead of a response when the call failed.
A call may also hold ``"reply": {"finish_reason": ..., "json_mode": ...,
"model": ..., "prompt_tokens": ..., "completion_tokens": ...}``, what the
server said about its reply (see :class:`~memkit.llm.Reply`), so a replay
treats a reply cut off at its token limit as the live run did.
Lines end with ``\n`` only: the characters other tools take for line breaks
(U+2028, U+2029, U+0085) are written escaped. A last line cut short (the
recording program was killed while writing it) is left out when the file is
read, and dropped when the next call is recorded after it.

What "the same request" means
-----------------------------
A replay answers a request only if a recorded request is *exactly* equal to
it in everything a model is sent: the ``task``, every message (role and
content, in order), the ``json_schema`` (compared as JSON, so key order does
not matter), ``temperature`` and ``max_tokens``. The request's ``data`` (the
structured inputs only the offline engine reads, with search scores that
depend on the day) is not recorded and not compared. When one request was
recorded several times, its replies are replayed in recorded order, and the
last one again after that, so re-running a notebook cell still works.

Keys
----
A recording holds requests and replies only, never a backend's settings.
Every string written is also passed through :func:`redact_secrets`, so a key
pasted into a conversation, or echoed by a model, is replaced by
``[redacted key]`` before it reaches the file (a replay redacts the requests
it is asked in the same way, so they still match).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from .. import errors
from ..errors import BackendError, RecordingError, ReplayMismatchError
from ..redact import redact_secrets
from .base import Backend, LLMRequest, Reply

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "RecordingBackend",
    "ReplayBackend",
    "redact_secrets",
    "request_record",
]

FORMAT = "memkit-recording"
FORMAT_VERSION = 1
_FIELDS = ("task", "messages", "json_schema", "temperature", "max_tokens")
_SHOWN_CHARS = 300
#: Line breaks to other readers, but not to JSON: written as ``\u2028`` escapes so a line stays one line.
_LINE_BREAKS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})


def _redacted(value: Any, secrets: Iterable[str]) -> Any:
    if isinstance(value, str):
        return redact_secrets(value, secrets)
    if isinstance(value, Mapping):
        return {str(k): _redacted(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(v, secrets) for v in value]
    return value


def request_record(request: LLMRequest) -> dict[str, Any]:
    """The parts of ``request`` a model is sent, as plain JSON data (what a replay matches)."""
    return {
        "task": request.task,
        "messages": [m.as_dict() for m in request.messages],
        "json_schema": None if request.json_schema is None else json.loads(json.dumps(request.json_schema)),
        "temperature": float(request.temperature),
        "max_tokens": int(request.max_tokens),
    }


def _canonical(record: Mapping[str, Any]) -> str:
    """One string per distinct request: equal strings mean equal requests."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _shorten(text: str, limit: int = _SHOWN_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class RecordingBackend:
    """Passes every request to ``inner`` and appends the call to a JSON Lines file.

    :param inner: the backend that really answers (a model, or the offline engine).
    :param path: the recording file.
    :param mode: ``"x"`` start a new recording and refuse to replace an existing
        one (the default: a recording made with a paid key is not lost by
        re-running a cell), ``"a"`` add to an existing recording, ``"w"`` start over.
    :param note: a sentence for the header, e.g. who recorded it and how.
    :param secrets: more strings to keep out of the file (see :func:`redact_secrets`).
    :raises RecordingError: the file exists (mode ``"x"``), is not a recording
        (mode ``"a"``) or cannot be written.
    """

    def __init__(
        self,
        inner: Backend,
        path: str | os.PathLike[str],
        *,
        mode: Literal["x", "a", "w"] = "x",
        note: str = "",
        secrets: Iterable[str] = (),
    ) -> None:
        if not isinstance(inner, Backend):
            raise TypeError(f"{inner!r} is not a backend: it needs a name, complete(request) and describe()")
        if mode not in ("x", "a", "w"):
            raise ValueError(f"mode must be 'x' (new), 'a' (append) or 'w' (overwrite), got {mode!r}")
        self.inner = inner
        self.path = Path(path)
        self.name = f"recording:{inner.name}"
        self._secrets = tuple(secrets)
        self._lock = threading.Lock()
        self.recorded = 0
        exists = self.path.exists() and self.path.stat().st_size > 0
        if exists and mode == "x":
            raise RecordingError(
                f"{os.fspath(path)!r} already holds a recording; pass mode='a' to add to it, "
                "mode='w' to replace it, or choose another file"
            )
        if exists and mode == "a":
            _read_header(self.path)
            with open(self.path, "rb+") as handle:
                data = handle.read()
                if not data.endswith(b"\n"):  # the last call was being written when its program was killed
                    handle.truncate(data.rfind(b"\n") + 1)
            return
        header = {
            "kind": FORMAT,
            "version": FORMAT_VERSION,
            "backend": inner.name,
            "description": inner.describe(),
            "note": note,
        }
        self._write(header, "w")

    def _write(self, record: Mapping[str, Any], mode: str = "a") -> None:
        line = json.dumps(_redacted(record, self._secrets), ensure_ascii=False).translate(_LINE_BREAKS) + "\n"
        try:
            with open(self.path, mode, encoding="utf-8") as handle:
                handle.write(line)
        except OSError as exc:
            raise RecordingError(f"cannot write the recording {os.fspath(self.path)!r}: {exc}") from exc

    def complete(self, request: LLMRequest) -> str:
        """The inner backend's reply, after appending the call to the file."""
        record: dict[str, Any] = {"kind": "call", "request": request_record(request)}
        try:
            response = self.inner.complete(request)
        except Exception as exc:
            record["error"] = {"type": type(exc).__name__, "message": str(exc)}
            with self._lock:
                self._write(record)
                self.recorded += 1
            raise
        record["response"] = response
        if isinstance(response, Reply) and any(value is not None for value in response.info().values()):
            record["reply"] = response.info()
        with self._lock:
            self._write(record)
            self.recorded += 1
        return response

    def describe(self) -> str:
        """One line for humans."""
        return f"{self.inner.describe()}, recording to {os.fspath(self.path)!r}"

    def __repr__(self) -> str:
        return f"RecordingBackend({self.inner!r}, {os.fspath(self.path)!r}, recorded={self.recorded})"


def _read_header(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            first = handle.readline()
        header = json.loads(first)
    except (OSError, ValueError) as exc:
        raise RecordingError(f"{os.fspath(path)!r} is not a memkit recording: {exc}") from exc
    if not isinstance(header, dict) or header.get("kind") != FORMAT:
        raise RecordingError(
            f"{os.fspath(path)!r} is not a memkit recording: its first line is not a {FORMAT!r} header"
        )
    if not isinstance(header.get("version"), int) or header["version"] > FORMAT_VERSION:
        raise RecordingError(
            f"{os.fspath(path)!r} is a version {header.get('version')!r} recording; "
            f"this memkit reads version {FORMAT_VERSION}: upgrade memkit"
        )
    return header


class _Entry:
    """One recorded request with its replies (or errors), served in order."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.outcomes: list[tuple[str | None, dict[str, str] | None]] = []
        self.infos: list[dict[str, Any]] = []
        self.served = 0


class ReplayBackend:
    """Answers from a recording: each request gets the reply recorded for exactly that request.

    :param path: a file written by :class:`RecordingBackend`.
    :param secrets: the strings the recording was made with (see :func:`redact_secrets`).
    :param fallback: answers a request the recording does not hold (such as
        ``OfflineEngine()``), instead of raising :class:`~memkit.ReplayMismatchError`;
        its replies name it in the call log's ``model`` column, "(not recorded)".
    :raises RecordingError: the file is missing or not a recording.
    """

    name = "replay"

    def __init__(
        self, path: str | os.PathLike[str], *, secrets: Iterable[str] = (), fallback: Backend | None = None
    ) -> None:
        self.path = Path(path)
        self._secrets = tuple(secrets)
        self.fallback = fallback
        #: How many requests the fallback answered.
        self.fallbacks = 0
        if not self.path.is_file():
            raise RecordingError(
                f"no recording at {os.fspath(path)!r}; record one with memkit.RecordingBackend(backend, path)"
            )
        self.header = _read_header(self.path)
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        with open(self.path, encoding="utf-8", newline="") as handle:
            lines = handle.read().split("\n")  # not splitlines(): U+2028 and its kin may sit inside a string
        for number, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            try:
                self._load(line, number)
            except RecordingError:
                if number == len(lines):  # no line break after it: cut short while being written, so left out
                    continue
                raise

    def _load(self, line: str, number: int) -> None:
        try:
            call = json.loads(line)
            if call.get("kind") != "call":
                raise ValueError(f"unknown kind {call.get('kind')!r}")
            given = call["request"]
            record = {
                "task": str(given["task"]),
                "messages": [{"role": str(m["role"]), "content": str(m["content"])} for m in given["messages"]],
                "json_schema": given.get("json_schema"),
                "temperature": float(given.get("temperature", 0.0)),
                "max_tokens": int(given.get("max_tokens", 800)),
            }
            response = call.get("response")
            error = call.get("error")
            if not isinstance(response, str) and not isinstance(error, dict):
                raise ValueError("a call needs a 'response' text or an 'error'")
            said = call.get("reply") or {}
            info = {name: said.get(name) for name in Reply().info()}
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError) as exc:
            raise RecordingError(f"{os.fspath(self.path)!r} line {number} is not a recorded call: {exc}") from exc
        entry = self._entries.setdefault(_canonical(record), _Entry(record))
        entry.outcomes.append((response if isinstance(response, str) else None, error))
        entry.infos.append(info)

    @property
    def recorded_with(self) -> str:
        """The description of the backend that made the recording."""
        return str(self.header.get("description") or self.header.get("backend") or "an unknown backend")

    @property
    def calls(self) -> int:
        """How many calls the recording holds."""
        return sum(len(entry.outcomes) for entry in self._entries.values())

    @property
    def unused(self) -> int:
        """How many recorded calls have not been replayed yet."""
        with self._lock:
            return sum(max(0, len(e.outcomes) - e.served) for e in self._entries.values())

    def complete(self, request: LLMRequest) -> Reply:
        """The recorded reply to exactly this request (with what the server said about it, if recorded).

        :raises ReplayMismatchError: the recording holds no such request, and there is no fallback.
        """
        record = _redacted(request_record(request), self._secrets)
        with self._lock:
            entry = self._entries.get(_canonical(record))
            if entry is None:
                if self.fallback is None:
                    raise ReplayMismatchError(self._explain(request, record))
                self.fallbacks += 1
            else:
                index = min(entry.served, len(entry.outcomes) - 1)
                (response, error), info = entry.outcomes[index], entry.infos[index]
                entry.served += 1
        if entry is None:
            assert self.fallback is not None
            answered = self.fallback.complete(request)
            said = answered if isinstance(answered, Reply) else Reply(answered)
            return Reply(
                said,
                finish_reason=said.finish_reason,
                json_mode=said.json_mode,
                model=f"{self.fallback.name} (not recorded)",
                prompt_tokens=said.prompt_tokens,
                completion_tokens=said.completion_tokens,
            )
        if error is not None:
            raise _replayed_error(error)
        assert response is not None
        return Reply(response, **info)

    def _explain(self, request: LLMRequest, record: dict[str, Any]) -> str:
        asked = request.messages[-1].content if request.messages else ""
        lines = [
            f"{os.fspath(self.path)!r} holds no reply for this {request.task} request. The prompt ends with:",
            f"  [{request.messages[-1].role if request.messages else '?'}] {_shorten(asked)}",
        ]
        nearest = _nearest(record, [e.record for e in self._entries.values() if e.record["task"] == request.task])
        if nearest is None:
            lines.append(f"The recording has no {request.task} request at all.")
        else:
            where, recorded_text, asked_text = nearest
            lines += [
                f"The closest recorded {request.task} request differs in {where}:",
                f"  recorded: {recorded_text}",
                f"  asked:    {asked_text}",
            ]
        lines.append(
            "A replay answers only the requests that were recorded: run the same cells in the same order "
            "on the same data, or record again (memkit.RecordingBackend)."
        )
        return "\n".join(lines)

    def describe(self) -> str:
        """One line for humans."""
        also = f"; what it lacks, {self.fallback.describe()}" if self.fallback is not None else ""
        return f"replay of {os.fspath(self.path)!r} ({self.calls} calls recorded with {self.recorded_with}{also})"

    def __repr__(self) -> str:
        return f"ReplayBackend({os.fspath(self.path)!r}, calls={self.calls}, unused={self.unused})"


def _replayed_error(error: Mapping[str, str]) -> BackendError:
    cls = getattr(errors, str(error.get("type")), None)
    if not (isinstance(cls, type) and issubclass(cls, BackendError)):
        cls = BackendError
    return cls(f"(replayed) {error.get('message', '')}")


def _field_values(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A request as (field name, text) pairs, in the order a reader compares them."""
    values = [("task", str(record["task"]))]
    for index, message in enumerate(record["messages"]):
        values.append((f"messages[{index}] ({message['role']})", message["content"]))
    values += [(name, _canonical({name: record[name]})) for name in _FIELDS[2:]]
    return values


def _nearest(record: Mapping[str, Any], candidates: list[dict[str, Any]]) -> tuple[str, str, str] | None:
    """Where the closest candidate first differs from ``record``: (field, recorded excerpt, asked excerpt)."""
    asked = _field_values(record)
    best: tuple[tuple[int, int], tuple[str, str, str]] | None = None
    for candidate in candidates:
        recorded = _field_values(candidate)
        counts = (str(len(candidate["messages"])), str(len(record["messages"])))
        found = (len(asked), 0), ("the number of messages", *counts)
        for index, (name, text) in enumerate(asked):
            if index >= len(recorded) or recorded[index][0] != name:
                found = (index, 0), ("the number of messages", *counts)
                break
            other = recorded[index][1]
            if other != text:
                common = _common_prefix(text, other)
                start = max(0, common - 40)
                found = (index, common), (name, _excerpt(other, start), _excerpt(text, start))
                break
        if best is None or found[0] > best[0]:
            best = found
    return None if best is None else best[1]


def _common_prefix(a: str, b: str) -> int:
    """How many leading characters ``a`` and ``b`` share."""
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return min(len(a), len(b))


def _excerpt(text: str, start: int) -> str:
    piece = text[start : start + 120]
    return ("..." if start else "") + repr(piece) + ("..." if start + 120 < len(text) else "")
