"""Both database backends for tests: SQLite always, PostgreSQL when MOSAIC_MCP_TEST_DATABASE_URL names one.

Each PostgreSQL test gets a schema of its own in that database (dropped afterwards), reached through a URL
whose `options` set the `search_path`, so tests never see each other's tables and run as the server does.
"""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest

TEST_DATABASE_URL = os.environ.get("MOSAIC_MCP_TEST_DATABASE_URL", "")
"""Read at import: the suite's `clean_environ` fixture removes every MOSAIC_* variable from each test."""

POSTGRES_SKIP = (
    "needs PostgreSQL: set MOSAIC_MCP_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test "
    "and pip install -e '.[dev]' (psycopg); .ci/run sets it"
)

BACKENDS = ["sqlite", "postgres"]


def require_postgres() -> str:
    """The test database's URL, or skip the test with what to install."""
    if not TEST_DATABASE_URL:
        pytest.skip(POSTGRES_SKIP)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip(POSTGRES_SKIP)
    return TEST_DATABASE_URL


def with_search_path(url: str, schema: str) -> str:
    """`url` with libpq `options` that put `schema` first on the search path."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def postgres_schema(prefix: str = "t") -> Iterator[str]:
    """A fresh, empty schema in the test database: yields a URL that uses it; dropped on exit."""
    import psycopg  # only with PostgreSQL

    base = require_postgres()
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_search_path(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
