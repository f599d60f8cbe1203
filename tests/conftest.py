"""Shared fixtures: databases, a fixed clock, a scripted model, an isolated environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


# -- the two stores --------------------------------------------------------------------------

#: Set (as CI does) to fail, rather than skip, the PostgreSQL tests when no server can start.
REQUIRE_POSTGRES_ENV = "MEMKIT_REQUIRE_POSTGRES"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """A throwaway PostgreSQL cluster for the test session (Unix socket in a temporary folder, no TCP port)."""
    from bench.pg_cluster import start_cluster

    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        _missing_postgres("psycopg is not installed: pip install -e '.[dev]' (or 'memkit[postgres]')")
    try:
        cluster = start_cluster()
    except RuntimeError as exc:
        _missing_postgres(str(exc))
        raise
    try:
        cluster.create_database("memkit_template")
        memkit.MemoryDB(cluster.url("memkit_template")).close()  # migrated once, copied for each test
        yield cluster
    finally:
        cluster.stop()


def _missing_postgres(why: str) -> None:
    import os

    if os.environ.get(REQUIRE_POSTGRES_ENV):
        pytest.fail(f"{REQUIRE_POSTGRES_ENV} is set but PostgreSQL cannot be used: {why}")
    pytest.skip(f"PostgreSQL store tests skipped: {why}")


_databases = iter(range(1, 10**9))


@pytest.fixture
def pg_url(pg_cluster: Any) -> str:
    """The URL of a new PostgreSQL database holding memkit's empty schema."""
    name = f"memkit_test_{next(_databases)}"
    pg_cluster.psql(f"CREATE DATABASE {name} TEMPLATE memkit_template STRATEGY FILE_COPY")
    return str(pg_cluster.url(name))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run a test marked ``sqlite_only`` (it looks at FTS5 or bm25 itself) on the SQLite store only."""
    keep, drop = [], []
    for item in items:
        on_server = "[postgres" in item.nodeid
        (drop if on_server and item.get_closest_marker("sqlite_only") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a store test's database lives: a temporary SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store_db(store_url: str, clock: memkit.ManualClock) -> Iterator[memkit.MemoryDB]:
    """A database on either store, on a fixed clock."""
    database = memkit.MemoryDB(store_url, clock=clock)
    yield database
    database.close()
