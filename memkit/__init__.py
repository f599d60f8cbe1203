"""memkit: a self-organising memory for LLM agents, in SQLite, taught in Jupyter.

>>> import memkit
>>> db = memkit.MemoryDB()                      # ":memory:", or a file path
>>> manager = memkit.MemoryManager(db)          # offline engine unless configured
>>> agent = memkit.WorkerAgent(manager)
>>> reply = agent.answer("I prefer oak cabinets over white lacquer.")
>>> [hit.content for hit in db.search("cabinets")]
['User prefers oak cabinets over white lacquer.']
"""

from __future__ import annotations

from typing import Any

from .agent import Recall, WorkerAgent
from .connection import ManualClock
from .datasets import CourseConversation, Question, load_conversation, load_course_conversation
from .db import MemoryDB
from .errors import (
    BackendAuthError,
    BackendConnectionError,
    BackendError,
    BackendTimeoutError,
    CellNotFoundError,
    ConfigurationError,
    DatabaseError,
    DatasetError,
    HistoryConflictError,
    LinkNotFoundError,
    MemkitError,
    MissingKeyError,
    NotFoundError,
    RecordingError,
    ReplayMismatchError,
    SchemaVersionError,
    UpdateFailedError,
)
from .llm import (
    CallLog,
    LLMCall,
    LLMRequest,
    OfflineEngine,
    OpenAIBackend,
    RecordingBackend,
    ReplayBackend,
    ScriptedBackend,
    choose_backend,
)
from .manager import IngestResult, MemoryManager, UpdateResult
from .parsing import parse_cells
from .retrieval import Ranking
from .transfer import ImportResult, export_jsonl, import_jsonl
from .types import (
    CELL_TYPES,
    Cell,
    Decision,
    Event,
    Hit,
    Link,
    Message,
    NewCell,
    ParsedCells,
    Rejection,
    Revision,
    Scene,
    Utterance,
)

__version__ = "0.1.0"


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext memkit``: register the ``%memkit`` and ``%%remember`` magics (see :mod:`memkit.magics`)."""
    from .magics import load_ipython_extension as load

    load(ipython)


__all__ = [
    "CELL_TYPES",
    "BackendAuthError",
    "BackendConnectionError",
    "BackendError",
    "BackendTimeoutError",
    "CallLog",
    "Cell",
    "CellNotFoundError",
    "ConfigurationError",
    "CourseConversation",
    "DatabaseError",
    "DatasetError",
    "Decision",
    "Event",
    "HistoryConflictError",
    "Hit",
    "ImportResult",
    "IngestResult",
    "LLMCall",
    "LLMRequest",
    "Link",
    "LinkNotFoundError",
    "ManualClock",
    "MemkitError",
    "MemoryDB",
    "MemoryManager",
    "Message",
    "MissingKeyError",
    "NewCell",
    "NotFoundError",
    "OfflineEngine",
    "OpenAIBackend",
    "ParsedCells",
    "Question",
    "Ranking",
    "Recall",
    "RecordingBackend",
    "RecordingError",
    "Rejection",
    "ReplayBackend",
    "ReplayMismatchError",
    "Revision",
    "Scene",
    "SchemaVersionError",
    "ScriptedBackend",
    "UpdateFailedError",
    "UpdateResult",
    "Utterance",
    "WorkerAgent",
    "__version__",
    "choose_backend",
    "export_jsonl",
    "import_jsonl",
    "load_conversation",
    "load_course_conversation",
    "load_ipython_extension",
    "parse_cells",
]
