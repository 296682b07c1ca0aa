"""Fixtures for driving the real server in memory against the sandbox over loopback HTTP."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client

from mosaic_mcp.server.api.http import RecordingSleep, RetryPolicy
from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.config import Settings, load_settings
from mosaic_mcp.server.jobs.poller import PollTiming
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox

MOSAIC_KEY = "mk_test_SECRET_canary_4242"
MOTION_KEY = "motion_test_SECRET_canary_4242"
FAST_POLLING = PollTiming(initial=0.02, cap=0.1, idle_cap=0.2, adopt_every=0.5)


@pytest.fixture
async def sandbox() -> AsyncIterator[RunningSandbox]:
    """The API emulator on a free loopback port, its clock 300x real time."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=300.0))) as running:
        yield running


def make_settings(sandbox: RunningSandbox, tmp_path: Path, **overrides: object) -> Settings:
    """Settings pointing both clients at the sandbox, with a private home."""
    values: dict[str, object] = {
        "mosaic_api_key": MOSAIC_KEY,
        "motion_api_key": MOTION_KEY,
        "mosaic_api_base_url": sandbox.mosaic_base_url,
        "motion_api_base_url": sandbox.motion_base_url,
        "home": tmp_path / "home",
        "download_dir": tmp_path / "downloads",
        "max_wait_seconds": 10,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def settings(sandbox: RunningSandbox, tmp_path: Path) -> Settings:
    """Default settings for the core toolset."""
    return make_settings(sandbox, tmp_path)


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
