"""Fixtures: a frozen-clock sandbox served on loopback, and clients for both APIs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox

from ..support import MOSAIC_KEY, MOTION_KEY  # the one canary pair: no message may ever hold them
from .helpers import http_client


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sandbox_config(**fields): SandboxConfig overrides for the sandbox fixture")


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """A sandbox with a frozen clock (time moves only by ``advance``); override with sandbox_config."""
    overrides: dict[str, Any] = {"speed": 0.0}
    marker = request.node.get_closest_marker("sandbox_config")
    if marker is not None:
        overrides.update(marker.kwargs)
    return Sandbox(SandboxConfig(**overrides))


@pytest.fixture
async def running(sandbox: Sandbox) -> AsyncIterator[RunningSandbox]:
    async with serve_sandbox(sandbox) as served:
        yield served


@pytest.fixture
async def mosaic(running: RunningSandbox) -> AsyncIterator[httpx2.AsyncClient]:
    headers = {"Authorization": f"Bearer {MOSAIC_KEY}"}
    async with http_client(running.mosaic_base_url, headers=headers) as http:
        yield http


@pytest.fixture
async def motion(running: RunningSandbox) -> AsyncIterator[httpx2.AsyncClient]:
    headers = {"Authorization": f"Bearer {MOTION_KEY}"}
    async with http_client(running.motion_base_url, headers=headers) as http:
        yield http
