"""Run the real `mosaic-mcp` command as a subprocess against a sandbox on loopback."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox

from ..support import MOSAIC_KEY, MOTION_KEY  # the one canary pair: no message may ever hold them


@pytest.fixture
async def served() -> AsyncIterator[RunningSandbox]:
    """The API emulator on a free loopback port, 60x real time."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=60.0))) as running:
        yield running


@pytest.fixture
def server_env(served: RunningSandbox, tmp_path: Path) -> dict[str, str]:
    """Environment for a server child: keys, sandbox URLs, a private home."""
    return {
        "MOSAIC_API_KEY": MOSAIC_KEY,
        "MOTION_API_KEY": MOTION_KEY,
        "MOSAIC_API_BASE_URL": served.mosaic_base_url,
        "MOTION_API_BASE_URL": served.motion_base_url,
        "MOSAIC_MCP_HOME": str(tmp_path / "home"),
        "MOSAIC_MCP_DOWNLOAD_DIR": str(tmp_path / "downloads"),
        "MOSAIC_MCP_MAX_WAIT_SECONDS": "10",
        "MOSAIC_MCP_POLL_INTERVAL": "0.1",
    }
