"""Fixtures of the cluster test: a frozen sandbox in this process, a fresh PostgreSQL schema, both generations."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox

from ..support.databases import postgres_schema
from .cluster import Cluster, nginx_binary, running_cluster


@pytest.fixture
async def frozen() -> AsyncIterator[RunningSandbox]:
    """The API emulator on a free loopback port with its clock stopped: jobs stay mid-way until the test moves it."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=0.0))) as running:
        yield running


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    """The SDK client's mode: 2026-07-28 (`auto`) or the 2025-11-25 handshake with Mcp-Session-Id (`legacy`)."""
    return str(request.param)


@pytest.fixture
async def cluster(frozen: RunningSandbox, tmp_path: Path) -> AsyncIterator[Cluster]:
    """nginx in front of two replicas sharing a fresh PostgreSQL schema (skipped without nginx or PostgreSQL)."""
    nginx_binary()
    with postgres_schema("cluster") as url:
        async with running_cluster(frozen, tmp_path, url) as running:
            yield running
