"""The offline engine: memkit's three model jobs done by transparent rules.

No network, no key, the same output for the same input. It reads the
structured ``data`` of each request (never the prompt text), so nothing in
a conversation can steer it. See the modules for the rules of each job:
:mod:`.extract`, :mod:`.summarise`, :mod:`.answer`.
"""

from __future__ import annotations

import json

from ...errors import BackendError
from ..base import LLMRequest
from .answer import compose_answer
from .extract import extract_cells
from .summarise import consolidate

__all__ = ["OfflineEngine"]


class OfflineEngine:
    """A deterministic stand-in for a language model (the default backend)."""

    name = "offline"

    def complete(self, request: LLMRequest) -> str:
        """Do the request's task from its structured ``data``."""
        data = request.data
        try:
            if request.task == "extract":
                return extract_cells(
                    data["utterances"], data.get("scenes", ()), data.get("cell_types"), data.get("cells", ())
                )
            if request.task == "consolidate":
                summaries = [
                    {"scene": scene, "summary": consolidate(entry["summary"], entry["cells"], entry.get("retired", ()))}
                    for scene, entry in data["scenes"].items()
                ]
                return json.dumps({"summaries": summaries}, ensure_ascii=False)
            if request.task == "answer":
                return compose_answer(
                    data["text"], data.get("hits", ()), data.get("scenes", ()), data.get("linked", ())
                )
        except KeyError as exc:
            raise BackendError(
                f"the offline engine needs the request's data[{exc.args[0]!r}]; build requests with memkit.prompts"
            ) from exc
        raise BackendError(f"the offline engine does not know the task {request.task!r}")

    def describe(self) -> str:
        """One line for humans."""
        return "offline engine (deterministic rules, no network, no key)"

    def __repr__(self) -> str:
        return "OfflineEngine()"
