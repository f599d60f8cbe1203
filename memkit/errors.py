"""The exceptions memkit raises.

Every error derives from :class:`MemkitError`, so ``except memkit.MemkitError``
catches anything memkit raises on purpose. Messages say what went wrong *and*
what to do about it.
"""

from __future__ import annotations

__all__ = [
    "BackendAuthError",
    "BackendConnectionError",
    "BackendError",
    "BackendTimeoutError",
    "CellNotFoundError",
    "ConfigurationError",
    "DatabaseError",
    "DatasetError",
    "HistoryConflictError",
    "MemkitError",
    "MissingKeyError",
    "MissingPipelineError",
    "RecordingError",
    "ReplayMismatchError",
    "SchemaVersionError",
    "UpdateFailedError",
]


class MemkitError(Exception):
    """Base class of every error memkit raises."""


class ConfigurationError(MemkitError, ValueError):
    """A setting (an argument, an environment variable, a command-line flag) has a value memkit cannot use."""


class DatabaseError(MemkitError):
    """The memory database cannot be opened, read or written."""


class HistoryConflictError(DatabaseError):
    """Undo found a row changed around memkit's history, and changed nothing."""


class SchemaVersionError(DatabaseError):
    """The database file was written by a newer memkit than this one."""


class NotFoundError(MemkitError, KeyError):
    """The requested cell or link does not exist (in this namespace).

    The rule everywhere: a getter (``get_cell``, ``get_scene``) returns None
    for something missing; every other operation raises this.
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "not found"


class CellNotFoundError(NotFoundError):
    """No memory cell has the requested id (in this namespace)."""


class LinkNotFoundError(NotFoundError):
    """No link has the requested id (in this namespace)."""


class BackendError(MemkitError):
    """A language-model backend failed to answer."""


class BackendTimeoutError(BackendError):
    """The model server did not answer in time."""


class BackendConnectionError(BackendError):
    """The model server could not be reached."""


class BackendAuthError(BackendError):
    """The model server refused the API key."""


class MissingKeyError(BackendError):
    """An API key is needed but none was given."""


class ReplayMismatchError(BackendError):
    """A replayed recording holds no reply for the request that was made."""


class RecordingError(MemkitError):
    """A recording file cannot be written, or read back as a recording."""


class UpdateFailedError(MemkitError):
    """A background memory update failed; the exchange is kept for a retry."""


class MissingPipelineError(MemkitError):
    """spaCy or its English pipeline, which the offline engine reads text with, is not installed."""


class DatasetError(MemkitError):
    """A conversation or question file is malformed or inconsistent."""
