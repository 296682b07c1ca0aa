"""Where the server keeps its stores: SQLite files by default, one shared PostgreSQL pool with a database URL."""

import uuid
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client

from mosaic_mcp.server.app import create_server
from mosaic_mcp.server.config import ConfigurationError, load_settings
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID
from mosaic_mcp.server.sandbox.serve import serve_asgi
from mosaic_mcp.server.serve_http import build_http_app
from mosaic_mcp.server.storage import SharedDatabase

from ..support import FAST_POLLING, call_ok, sandbox_settings
from ..support.databases import TEST_DATABASE_URL
from ..support.processes import free_port

pytestmark = pytest.mark.anyio

VIDEO = "https://youtu.be/dQw4w9WgXcQ"


def tagged(url: str) -> tuple[str, str]:
    """`url` with an application_name of its own, so the test can count the connections it opened."""
    name = f"mosaic-test-{uuid.uuid4().hex[:8]}"
    return f"{url}&application_name={name}", name


def connections_named(name: str) -> int:
    """How many connections to the test server carry `name` (pg_stat_activity)."""
    import psycopg  # with PostgreSQL only: the tests that call this are skipped without it

    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)).fetchone()
    return int(row[0]) if row else 0


async def test_readyz_names_the_database_the_stores_use(database_url: str | None, tmp_path: Path) -> None:
    """`GET /readyz` is ready and says `sqlite` by default, `postgres` with MOSAIC_MCP_DATABASE_URL."""
    settings = load_settings(home=tmp_path, database_url=database_url)
    server = create_server(settings, poll_timing=FAST_POLLING)
    port = free_port()
    async with serve_asgi(build_http_app(server, settings, host="127.0.0.1"), port=port), httpx2.AsyncClient() as http:
        ready = await http.get(f"http://127.0.0.1:{port}/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["database"] == ("sqlite" if database_url is None else "postgres")
    assert (tmp_path / "jobs.sqlite3").exists() == (database_url is None)


async def test_a_job_outlives_the_server_in_postgresql(
    served: RunningSandbox, tmp_path: Path, postgres_url: str
) -> None:
    """A run started through one server is listed by the next server on the same database (another home), and
    no SQLite file is written; the pool is closed when the server's lifespan ends."""
    url, name = tagged(postgres_url)
    first = create_server(sandbox_settings(served, tmp_path / "a", database_url=url), poll_timing=FAST_POLLING)
    async with Client(first) as client:
        started = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
        assert connections_named(name) >= 1
    assert connections_named(name) == 0
    second = create_server(sandbox_settings(served, tmp_path / "b", database_url=url), poll_timing=FAST_POLLING)
    async with Client(second) as client:
        listed = await call_ok(client, "list_jobs", {"limit": 10})
    assert [j["job_id"] for j in listed["jobs"]] == [started["job_id"]]
    assert not any((tmp_path / home / "home" / "jobs.sqlite3").exists() for home in ("a", "b"))


async def test_one_pool_serves_every_user_until_the_last_leaves(postgres_url: str) -> None:
    """Two users of the shared handle (two in-memory connections, or the CLI and the lifespan) share one pool:
    it stays open while one remains, closes after the last, and a later query opens it again."""
    url, name = tagged(postgres_url)
    shared = SharedDatabase(url, pool_size=2)
    async with shared.use():
        with shared.hold():
            assert await shared.run(lambda sql: sql.execute("SELECT count(*) FROM jobs").fetchone()[0]) == 0
        assert connections_named(name) >= 1  # the other user still holds it
        versions = await shared.run(
            lambda sql: sql.execute("SELECT component, version FROM schema_versions").fetchall()
        )
        assert sorted(tuple(v) for v in versions) == [("journal", 2), ("keystore", 1), ("oauth", 1), ("sessions", 1)]
    assert connections_named(name) == 0
    assert await shared.run(lambda sql: sql.execute("SELECT 1").fetchone()[0]) == 1
    await shared.close()
    assert connections_named(name) == 0


def test_a_database_that_cannot_be_reached_is_a_configuration_error() -> None:
    """Holding the handle of an unreachable PostgreSQL raises one ConfigurationError naming the variable, the host
    and the database, never the password."""
    shared = SharedDatabase(f"postgresql://u:pw_canary_7373@127.0.0.1:{free_port()}/jobs_db", pool_size=1)
    with pytest.raises(ConfigurationError) as refused, shared.hold():
        pass
    [problem] = refused.value.problems
    assert problem.startswith("MOSAIC_MCP_DATABASE_URL: cannot reach PostgreSQL at 127.0.0.1:")
    assert "/jobs_db" in problem and "pw_canary" not in problem


async def test_an_oauth_store_built_before_any_lifespan_opens_the_pool_itself(postgres_url: str) -> None:
    """The OAuth store is built with the server, before its lifespan: its first query opens the shared pool."""
    settings = load_settings(
        database_url=postgres_url,
        auth_mode="oauth",
        secret_key="deployment-secret-" + "q" * 32,
        public_url="https://mosaic-mcp.example.com",
    )
    server = create_server(settings)
    assert server.oauth is not None and server.database is not None
    store = server.oauth.provider.store
    await store.save_client("c1", "{}")
    with anyio.fail_after(10):
        assert await store.client("c1") == "{}"
    await server.database.close()
