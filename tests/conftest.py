"""Shared fixtures: databases, a fixed clock, a scripted model, an isolated environment."""

from __future__ import annotations

from collections.abc import Iterator
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


#: Where the tests' clock starts.
START = "2026-01-05T09:00:00"


@pytest.fixture
def clock() -> memkit.ManualClock:
    """memkit's own clock, standing at :data:`START` until a test moves it."""
    return memkit.ManualClock(START)


@pytest.fixture
def db(clock: memkit.ManualClock) -> Iterator[memkit.MemoryDB]:
    """An in-memory database on a fixed clock."""
    database = memkit.MemoryDB(clock=clock)
    yield database
    database.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "memory.db"


@pytest.fixture
def file_db(db_path: Path, clock: memkit.ManualClock) -> Iterator[memkit.MemoryDB]:
    """A database in a temporary file on a fixed clock."""
    database = memkit.MemoryDB(db_path, clock=clock)
    yield database
    database.close()


@pytest.fixture
def scripted() -> ScriptedBackend:
    """A model whose replies the test queues with ``enqueue``."""
    return ScriptedBackend()
