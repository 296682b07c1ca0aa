"""Fixtures for the API client tests: a sandbox served on loopback, clients that never sleep."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from mosaic_mcp.server.api import MosaicClient, MotionClient, RecordingSleep, RetryPolicy
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox

from ..support import MOSAIC_KEY, MOTION_KEY, transport  # the one canary pair: no message may ever hold them


@pytest.fixture
def sleep() -> RecordingSleep:
    """The back-off sleeps the clients would have done."""
    return RecordingSleep()


@pytest.fixture
def retry(sleep: RecordingSleep) -> RetryPolicy:
    """The default retry policy, recording instead of sleeping."""
    return RetryPolicy(sleep=sleep)


@pytest.fixture(scope="module")
async def served() -> AsyncIterator[RunningSandbox]:
    """One sandbox per test module, frozen clock (time moves only by `advance`), on loopback.

    Shared per module because starting and stopping uvicorn dominates a test's cost; the
    `sandbox` fixture resets what tests assert on (faults, request log, balances).
    """
    config = SandboxConfig(speed=0, credits=1_000_000, motion_credits=1_000_000)
    async with serve_sandbox(Sandbox(config)) as running:
        yield running


@pytest.fixture
def sandbox(served: RunningSandbox) -> Sandbox:
    """The served sandbox, with no pending faults and an empty request log."""
    served.sandbox.faults.clear()
    served.sandbox.requests.clear()
    served.sandbox.set_motion_credits(MOTION_KEY, 1_000_000)
    return served.sandbox


@pytest.fixture
async def mosaic(served: RunningSandbox, sandbox: Sandbox, retry: RetryPolicy) -> AsyncIterator[MosaicClient]:
    """A Mosaic client pointed at the sandbox."""
    async with MosaicClient(
        api_key=SecretStr(MOSAIC_KEY), base_url=served.mosaic_base_url, retry=retry, transport=transport()
    ) as client:
        yield client


@pytest.fixture
async def motion(served: RunningSandbox, sandbox: Sandbox, retry: RetryPolicy) -> AsyncIterator[MotionClient]:
    """A Motion client pointed at the sandbox."""
    async with MotionClient(
        api_key=SecretStr(MOTION_KEY), base_url=served.motion_base_url, retry=retry, transport=transport()
    ) as client:
        yield client
