"""Remote modes of `serve --http`: a sandbox on loopback and the settings of OAuth mode."""

from collections.abc import AsyncIterator

import pytest

from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox

SECRET_KEY = "deployment-secret-" + "q" * 32
"""MOSAIC_MCP_SECRET_KEY of these tests (never a key a person pastes)."""
WRONG_MOSAIC_KEY = "mk_test_revoked_by_the_sandbox_0000"
"""A well-formed Mosaic key the sandbox refuses with 401 (revoked in `served`)."""


@pytest.fixture
async def served() -> AsyncIterator[RunningSandbox]:
    """The API emulator on a free loopback port, 60x real time, with WRONG_MOSAIC_KEY revoked."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=60.0))) as running:
        running.sandbox.revoke_key(WRONG_MOSAIC_KEY)
        yield running
