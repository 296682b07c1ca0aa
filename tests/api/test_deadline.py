"""One deadline per tool call: back-off, retries and time-outs stay inside it, and say so when they cannot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio.lowlevel
import pytest
from mcp import Client
from pydantic import SecretStr

from mosaic_mcp.server.api import (
    MosaicClient,
    OutcomeUnknownError,
    RateLimitedError,
    RecordingSleep,
    RetryPolicy,
    RunRequest,
)
from mosaic_mcp.server.api.deadline import MARGIN, call_deadline, paused
from mosaic_mcp.server.api.errors import DeadlineExceededError
from mosaic_mcp.server.app import create_server
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, seed

from ..support import call_error, sandbox_settings, transport

pytestmark = pytest.mark.anyio

MAX_WAIT = 45.0
LIMIT = MAX_WAIT + MARGIN
RUN_ROUTE = "/agent/{agent_id}/run"


@pytest.fixture
async def tools(
    served: RunningSandbox, sandbox: Sandbox, tmp_path: Path, sleep: RecordingSleep
) -> AsyncIterator[Client]:
    """An in-memory MCP client of a server whose back-off is recorded, with the default 45 s wait cap."""
    settings = sandbox_settings(served, tmp_path, max_wait_seconds=MAX_WAIT)
    server = create_server(settings, retry=RetryPolicy(sleep=sleep))
    async with Client(server) as client:
        yield client


async def test_long_retry_after_not_slept_past_the_deadline(
    tools: Client, sandbox: Sandbox, sleep: RecordingSleep
) -> None:
    """A 429 asking for 60 s on a read inside a tool call is not waited out: the call answers at once, saying why."""
    sandbox.faults.inject("rate_limit", method="GET", path="/credits", retry_after=60, times=10)
    message = await call_error(tools, "check_credits")
    assert sum(sleep.delays) < LIMIT
    assert "429" in message and "60 s" in message
    assert f"time limit of {LIMIT:.0f} s" in message


async def test_retries_stop_at_the_deadline(tools: Client, sandbox: Sandbox, sleep: RecordingSleep) -> None:
    """Repeated 429s asking for 20 s each are retried only while the wait still fits in the call's limit."""
    sandbox.faults.inject("rate_limit", method="GET", path="/credits", retry_after=20, times=10)
    message = await call_error(tools, "check_credits")
    assert sleep.delays == [20, 20]
    assert sum(sleep.delays) < LIMIT
    assert "Not retried here" in message and "too many requests" in message


async def test_a_retry_that_fits_still_happens(tools: Client, sandbox: Sandbox, sleep: RecordingSleep) -> None:
    """A short Retry-After inside a tool call is waited for, and the call succeeds."""
    sandbox.faults.inject("rate_limit", method="GET", path="/credits", retry_after=5)
    result = await tools.call_tool("check_credits", {})
    assert not result.is_error
    assert sleep.delays == [5]


async def test_nothing_sent_when_the_time_is_up(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """With less than a second left, neither a read nor a run start is sent, and the error says so."""
    with call_deadline(0.5):
        with pytest.raises(DeadlineExceededError, match="was not sent") as caught:
            await mosaic.get_credits()
        with pytest.raises(DeadlineExceededError, match="was not sent"):
            await mosaic.run_agent(seed.CAPTIONS_AGENT_ID, RunRequest(video_ids=[seed.VIDEO_IDS[0]]))
    assert "MOSAIC_MCP_MAX_WAIT_SECONDS" in str(caught.value)
    assert sandbox.count("GET", "/credits") == 0
    assert sandbox.count("POST", RUN_ROUTE) == 0


async def test_request_timeout_capped_by_the_deadline(served: RunningSandbox, sandbox: Sandbox) -> None:
    """A read slower than the time left is cut when the call's time runs out, with a clear error (not 30 s later)."""
    fired = len(sandbox.faults.fired)
    sandbox.faults.inject("latency", method="GET", path="/whoami", delay=2.0, times=5)
    async with MosaicClient(
        transport=transport(),
        api_key=SecretStr("mk_test_deadline"),
        base_url=served.mosaic_base_url,
        retry=RetryPolicy(sleep=RecordingSleep()),
    ) as client:
        with call_deadline(1.2), pytest.raises(DeadlineExceededError, match="ran out of time") as caught:
            await client.whoami()
    assert "did not answer GET /whoami" in str(caught.value)
    assert sandbox.faults.fired[fired:] == [("latency", "GET", "/whoami")]  # sent once, not retried


async def test_run_start_cut_by_the_deadline_is_not_called_unsent(served: RunningSandbox, sandbox: Sandbox) -> None:
    """A run start still unanswered when the time runs out may exist: it is never reported as safe to resend."""
    fired = len(sandbox.faults.fired)
    sandbox.faults.inject("latency", method="POST", path=RUN_ROUTE, delay=2.0)
    async with MosaicClient(
        transport=transport(),
        api_key=SecretStr("mk_test_deadline"),
        base_url=served.mosaic_base_url,
        retry=RetryPolicy(sleep=RecordingSleep()),
    ) as client:
        with call_deadline(1.2), pytest.raises((OutcomeUnknownError, DeadlineExceededError)) as caught:
            await client.run_agent(seed.CAPTIONS_AGENT_ID, RunRequest(video_ids=[seed.VIDEO_IDS[0]]))
    assert "was not sent" not in str(caught.value)
    assert [f[:2] for f in sandbox.faults.fired[fired:]] == [("latency", "POST")]  # sent once, never again


async def test_rate_limit_error_without_deadline_unchanged(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """Outside a tool call (no deadline) the usual retries happen and the 429 names the wait asked for."""
    sandbox.faults.inject("rate_limit", method="GET", path="/credits", retry_after=60, times=10)
    with pytest.raises(RateLimitedError, match="asks for 60 s") as caught:
        await mosaic.get_credits()
    assert sandbox.count("GET", "/credits") == 4
    assert "Not retried" not in str(caught.value)


async def test_paused_clock_stands_still() -> None:
    """While a transfer runs (paused), the call's time left does not shrink; pauses nest."""
    with call_deadline(30) as limit:
        assert limit is not None
        with paused():
            frozen = limit.remaining()
            with paused():
                await anyio.lowlevel.checkpoint()
            assert limit.remaining() == frozen
        limit.skip(10)
        assert limit.remaining() <= frozen - 10
