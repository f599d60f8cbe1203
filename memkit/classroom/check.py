"""The checks of the exercises, and the data they practise on: ``from memkit.classroom import check``.

Each check takes the student's functions and returns a
:class:`~memkit.classroom.feedback.Feedback`, which shows in a notebook as
"passed" or "not yet" with one friendly line per point checked.
"""

from __future__ import annotations

from .check_capstone import capstone
from .check_cell_type import new_cell_type
from .check_debug import DIAGNOSES, QUESTION, debugging_memory, why_not_answered
from .check_decay import NOW, decay_rule, forgetting_memory
from .check_prompt import SAMPLE_UPDATES, consolidation_prompt
from .check_questions import questions_with_evidence
from .check_replay import record_and_replay
from .check_retire import cancelled_plan_memory, retire_dependents
from .check_search import practice_notes, safe_search
from .check_tweak import KS, TOP_K, course_memory, retrieval_tweak
from .feedback import Feedback

__all__ = [
    "DIAGNOSES",
    "KS",
    "NOW",
    "QUESTION",
    "SAMPLE_UPDATES",
    "TOP_K",
    "Feedback",
    "cancelled_plan_memory",
    "capstone",
    "consolidation_prompt",
    "course_memory",
    "debugging_memory",
    "decay_rule",
    "forgetting_memory",
    "new_cell_type",
    "practice_notes",
    "questions_with_evidence",
    "record_and_replay",
    "retire_dependents",
    "retrieval_tweak",
    "safe_search",
    "why_not_answered",
]
