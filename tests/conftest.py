"""Shared fixtures: databases, a fixed clock, a scripted model, an isolated environment."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import memkit
from memkit.llm import ScriptedBackend

ENV_VARS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MEMKIT_BACKEND", "MEMKIT_MODEL", "MEMKIT_BASE_URL")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees a real key or server setting, or writes to the user's folders."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def db(clock: FixedClock) -> Iterator[memkit.MemoryDB]:
    """An in-memory database on a fixed clock."""
    database = memkit.MemoryDB(clock=clock)
    yield database
    database.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "memory.db"


@pytest.fixture
def file_db(db_path: Path, clock: FixedClock) -> Iterator[memkit.MemoryDB]:
    """A database in a temporary file on a fixed clock."""
    database = memkit.MemoryDB(db_path, clock=clock)
    yield database
    database.close()


@pytest.fixture
def scripted() -> ScriptedBackend:
    """A model whose replies the test queues with ``enqueue``."""
    return ScriptedBackend()
