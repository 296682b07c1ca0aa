"""Fixtures every suite shares (a pytest plugin, registered in tests/conftest.py)."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mosaic_mcp.server.database import Database, open_postgres
from mosaic_mcp.server.storage import STORE_SCHEMAS

from .databases import BACKENDS, postgres_schema


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Run async tests on asyncio (the backend MCP hosts use); the suite's only definition.

    Module-scoped so that module-scoped async fixtures (one sandbox or server per module) may use it;
    a test using only function-scoped fixtures still gets its own event loop (a loop lives as long as its users).
    """
    return "asyncio"


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's own keys and settings out of every test."""
    for name in list(os.environ):
        if name.startswith(("MOSAIC_", "MOTION_")):
            monkeypatch.delenv(name)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Each test twice: None (SQLite, the default) and a PostgreSQL URL with a schema of its own (or skipped)."""
    if request.param == "sqlite":
        yield None
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL with a fresh schema of its own (the test is skipped without the test database)."""
    with postgres_schema() as url:
        yield url


@pytest.fixture
def store_source(database_url: str | None, tmp_path: Path) -> Iterator[Path | Database]:
    """What a store under test opens, on each backend: the journal's SQLite file in `tmp_path` (as the server
    opens it), or a PostgreSQL pool on a fresh schema with every store's tables (closed afterwards)."""
    if database_url is None:
        yield tmp_path / "jobs.sqlite3"
        return
    database = open_postgres(database_url, pool_size=4, schemas=STORE_SCHEMAS)
    try:
        yield database
    finally:
        database.close_sync()
