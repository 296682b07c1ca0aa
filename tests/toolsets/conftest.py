"""Fixtures: the real server in memory, both protocol generations, against the sandbox over loopback."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client

from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox

from ..support import sandbox_settings


@pytest.fixture(scope="module")
async def served() -> AsyncIterator[RunningSandbox]:
    """The API emulator on a free loopback port, its clock frozen (it moves only by advance()).

    Shared by a module's tests for speed (building a server with every toolset costs ~0.3 s);
    the request log is cleared before each test, and tests only change objects they create.
    """
    async with serve_sandbox(Sandbox(SandboxConfig(speed=0))) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_request_log(request: pytest.FixtureRequest) -> None:
    """Each test counts only its own requests."""
    if "served" in request.fixturenames:
        request.getfixturevalue("served").sandbox.requests.clear()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private home (journal, downloads) for the module's server."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def server(served: RunningSandbox, home: Path) -> MosaicServer:
    """A server with every toolset, pointed at the sandbox; each test connects its own client."""
    return create_server(sandbox_settings(served, home, toolsets="all"))


@pytest.fixture(params=["auto", "legacy"], scope="module")
def mode(request: pytest.FixtureRequest) -> str:
    """Both protocol generations: 2026-07-28 (auto) and the 2025-11-25 handshake (legacy)."""
    return str(request.param)


@pytest.fixture
async def client(server: MosaicServer, mode: str) -> AsyncIterator[Client]:
    """A fresh connection to the module's server, without elicitation support."""
    async with Client(server, mode=mode) as connected:  # type: ignore[arg-type]
        yield connected
