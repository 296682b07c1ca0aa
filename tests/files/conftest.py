"""Fixtures for the local-file tests: a frozen-clock sandbox, settings with private folders, a client."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client

from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.config import Settings
from mosaic_mcp.server.local_files import FileRoots
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox

from ..support import FAST_POLLING, sandbox_settings


@pytest.fixture(scope="module")
async def served(anyio_backend: str) -> AsyncIterator[RunningSandbox]:
    """The API emulator on a free loopback port; its clock is frozen (tests move it with advance)."""
    config = SandboxConfig(speed=0.0, credits=10**7, motion_credits=10**7)
    async with serve_sandbox(Sandbox(config)) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh_request_log(served: RunningSandbox) -> None:
    """Each test sees only its own requests in the sandbox's log."""
    served.sandbox.requests.clear()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module's folder: media/ is allowed (MOSAIC_MCP_ALLOWED_DIRS), downloads/ is the download folder."""
    folder = tmp_path_factory.mktemp("files")
    (folder / "media").mkdir()
    return folder


@pytest.fixture
def media(workdir: Path, tmp_path: Path) -> Path:
    """A fresh folder inside the allowed one, for this test's files."""
    folder = workdir / "media" / tmp_path.name
    folder.mkdir()
    return folder


@pytest.fixture
def downloads(workdir: Path) -> Path:
    """The configured download folder (shared by the module's tests; created on first use)."""
    return workdir / "downloads"


@pytest.fixture(scope="module")
def server(served: RunningSandbox, workdir: Path) -> MosaicServer:
    """One server for the module, with fast polling."""
    return create_server(sandbox_settings(served, workdir, media=True, max_wait_seconds=5), poll_timing=FAST_POLLING)


@pytest.fixture(scope="module", params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    """Both protocol generations: 2026-07-28 (auto) and the 2025-11-25 handshake (legacy)."""
    return str(request.param)


@pytest.fixture(scope="module")
async def client(server: MosaicServer, mode: str) -> AsyncIterator[Client]:
    """An in-memory MCP client connected to the server (one per module and protocol generation)."""
    async with Client(server, mode=mode) as connected:  # type: ignore[arg-type]
        yield connected


@pytest.fixture
def roots(tmp_path: Path) -> FileRoots:
    """Allowed: tmp/media (configured) and tmp/downloads (download folder)."""
    (tmp_path / "media").mkdir()
    settings = Settings(
        MOSAIC_MCP_ALLOWED_DIRS=str(tmp_path / "media"), MOSAIC_MCP_DOWNLOAD_DIR=str(tmp_path / "downloads")
    )
    return FileRoots.of(settings)
