"""Reading LoCoMo-format conversations (the benchmark file is never copied into this repository).

The format: a list of samples, each with ``sample_id``; ``conversation`` holding
``speaker_a``, ``speaker_b``, ``session_<n>`` (turns ``{speaker, dia_id, text}``,
some with ``blip_caption``, the caption of a shared photo) and
``session_<n>_date_time`` (such as ``"1:56 pm on 8 May, 2023"``); and ``qa``
(items with ``question``, ``answer``, ``evidence`` (dia_ids) and ``category``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from memkit.datasets import Question

__all__ = ["DEFAULT_LOCOMO", "Conversation", "Turn", "find_locomo", "read_locomo"]

#: Where the benchmark file is looked for: ``shared/data/`` beside the checkout or beside a folder above it.
DEFAULT_LOCOMO = Path("shared") / "data" / "locomo_dev.json"

#: Adversarial questions (no answer in the conversation); retrieval benchmarks skip them.
SKIPPED_CATEGORY = 5

_DATE_FORMATS = ("%I:%M %p on %d %B, %Y", "%I:%M %p on %d %b, %Y")


@dataclass(frozen=True)
class Turn:
    """One dialogue turn: its id, speaker, text, session number, date and shared-photo caption."""

    source_id: str
    speaker: str
    text: str
    session: int
    occurred_at: str | None
    caption: str | None = None
    date: str = ""

    def unit(self, *, captions: bool = True) -> str:
        """The turn stored verbatim as one unit, as the reference figures store it: ``[date] Speaker: text``."""
        return f"[{self.date}] {self.speaker}: {self.message(captions=captions)}"

    def message(self, *, captions: bool = True) -> str:
        """The turn's text as a reader sees it, with the shared photo described in brackets."""
        if captions and self.caption:
            return f"{self.text} [shared {self.caption}]"
        return self.text


@dataclass(frozen=True)
class Conversation:
    """A long conversation and the questions asked about it (a question's ``kind`` is its LoCoMo category)."""

    name: str
    turns: tuple[Turn, ...]
    questions: tuple[Question, ...]


def _parse_date(text: str | None) -> str | None:
    if not text:
        return None
    for form in _DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), form).isoformat(timespec="minutes")
        except ValueError:
            continue
    return None


def _evidence(items: list[str]) -> tuple[str, ...]:
    ids: dict[str, None] = {}
    for item in items:  # a few items hold several ids ("D8:6; D9:17")
        for part in re.split(r"[;,\s]+", str(item)):
            if part:
                ids.setdefault(part, None)
    return tuple(ids)


def read_locomo(path: str | Path) -> list[Conversation]:
    """Every conversation of a LoCoMo-format file, with its questions (category 5 left out).

    :raises FileNotFoundError: no file at ``path``.
    :raises ValueError: the file is not in the LoCoMo format.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path} is not a LoCoMo file: expected a list of samples")
    conversations = []
    for sample in data:
        try:
            raw = sample["conversation"]
            turns = []
            number = 1
            while f"session_{number}" in raw:
                date = str(raw.get(f"session_{number}_date_time") or "")
                when = _parse_date(date)
                for turn in raw[f"session_{number}"]:
                    turns.append(
                        Turn(
                            turn["dia_id"], turn["speaker"], turn["text"], number, when, turn.get("blip_caption"), date
                        )
                    )
                number += 1
            questions = tuple(
                Question(
                    item["question"],
                    str(item.get("answer", "")),
                    _evidence(item.get("evidence", [])),
                    str(item["category"]),
                )
                for item in sample.get("qa", [])
                if int(item["category"]) != SKIPPED_CATEGORY
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{path} is not a LoCoMo file: a sample lacks {exc}") from exc
        conversations.append(Conversation(str(sample.get("sample_id", len(conversations))), tuple(turns), questions))
    return conversations


def find_locomo(path: str | None) -> Path:
    """The LoCoMo file to read: ``path`` if given, else ``../shared/data/locomo_dev.json`` (searched upwards).

    :raises SystemExit: there is no such file (the message says how to give one).
    """
    if path:
        chosen = Path(path)
    else:
        checkout = Path(__file__).resolve().parent.parent
        places = [folder / DEFAULT_LOCOMO for folder in checkout.parents]
        chosen = next((place for place in places if place.is_file()), checkout.parent / DEFAULT_LOCOMO)
    if not chosen.is_file():
        raise SystemExit(
            f"no LoCoMo file at {chosen}; pass --locomo PATH to a LoCoMo-format JSON file "
            "(it is not shipped with memkit: its licence forbids copying it here)"
        )
    return chosen
