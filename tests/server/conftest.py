"""Fixtures for driving the real server in memory against the sandbox over loopback HTTP."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client

from mosaic_mcp.server.api.transport import RecordingSleep, RetryPolicy
from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.config import Settings
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox

from ..support import FAST_POLLING, sandbox_settings


@pytest.fixture
async def served() -> AsyncIterator[RunningSandbox]:
    """The API emulator on a free loopback port, its clock 300x real time."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=300.0))) as running:
        yield running


@pytest.fixture
def settings(served: RunningSandbox, tmp_path: Path) -> Settings:
    """Default settings for the core toolset."""
    return sandbox_settings(served, tmp_path)


@pytest.fixture
def server(settings: Settings) -> MosaicServer:
    """A fresh server with fast polling."""
    return create_server(settings, poll_timing=FAST_POLLING, retry=RetryPolicy(sleep=RecordingSleep()))


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    """Both protocol generations: 2026-07-28 (auto) and the 2025-11-25 handshake (legacy)."""
    return str(request.param)


@pytest.fixture
async def client(server: MosaicServer, mode: str) -> AsyncIterator[Client]:
    """An in-memory MCP client connected to the server."""
    async with Client(server, mode=mode) as connected:  # type: ignore[arg-type]
        yield connected
