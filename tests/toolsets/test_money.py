"""Honest about money: the balance report, the low-balance warning, and the way back from needs_credits."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client

from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import BUY_CREDITS, RESUME, RUN, UPGRADE_PLAN, VIDEO, call_error, call_ok, sandbox_settings, sent

pytestmark = pytest.mark.anyio


@pytest.fixture
async def served() -> AsyncIterator[RunningSandbox]:
    """A sandbox per test whose organisation has 30 credits: Captions (20) runs, Reframe (15) cannot."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=0, credits=30))) as running:
        yield running


@pytest.fixture
def server(served: RunningSandbox, tmp_path: Path) -> MosaicServer:
    """A server with every toolset for this test's sandbox; payments allowed with confirm=true."""
    return create_server(sandbox_settings(served, tmp_path, toolsets="all", allow_without_prompt="payments"))


async def test_low_balance_is_reported_and_recoverable(client: Client, served: RunningSandbox) -> None:
    """run_agent warns; the run stops with needs_credits and says how to recover; buy + resume finishes it."""
    report = await call_ok(client, "check_credits")
    assert report["low_balance"] is True
    assert report["auto_topup"] is not None
    handle = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
    assert handle["warnings"]
    assert "Low Mosaic balance" in handle["warnings"][0]
    assert sent(served, RUN) == [{"video_urls": [VIDEO]}]
    served.sandbox.advance(300)
    stuck = await call_ok(client, "poll_job", {"job_id": handle["job_id"]})
    assert stuck["needs_credits"] is True
    for step in ("check_credits", "upgrade_plan", "buy_credits", f"resume_run('{handle['job_id']}')"):
        assert step in stuck["next_step"]
    report = await call_ok(client, "check_credits")
    assert handle["job_id"] in report["jobs_blocked_for_credits"]
    assert report["jobs_started_here_last_7_days"] >= 1
    assert report["used_last_30_days"] >= 20
    await call_ok(client, "buy_credits", {"credits": 1000, "confirm": True})
    assert sent(served, BUY_CREDITS) == [{"credits": 1000}]
    resumed = await call_ok(client, "resume_run", {"run_id": handle["job_id"]})
    assert sent(served, RESUME) == [None], "exactly one resume (the route takes no body)"
    assert resumed["job_id"] == handle["job_id"]
    assert resumed["nodes_queued"]
    served.sandbox.advance(300)
    done = await call_ok(client, "poll_job", {"job_id": handle["job_id"]})
    assert done["status"] == "completed"
    assert done["outputs"]


async def test_no_money_moves_without_the_persons_setting(served: RunningSandbox, tmp_path: Path, mode: str) -> None:
    """toolsets=all and confirm=true, but no MOSAIC_MCP_ALLOW_WITHOUT_PROMPT: no purchase, upgrade or top-up is sent."""
    settings = sandbox_settings(served, tmp_path / "strict", toolsets="all")
    async with Client(create_server(settings), mode=mode) as client:  # type: ignore[arg-type]
        before = (await call_ok(client, "check_credits"))["balance"]
        for tool, args in (
            ("buy_credits", {"credits": 1000}),
            ("upgrade_plan", {"plan_id": "professional"}),
            ("update_credit_settings", {"enabled": True, "threshold": 50, "quantity": 500}),
        ):
            message = await call_error(client, tool, {**args, "confirm": True})
            assert "MOSAIC_MCP_ALLOW_WITHOUT_PROMPT=payments" in message
            assert "Nothing was done" in message
        after = (await call_ok(client, "check_credits"))["balance"]
    assert after == before
    for route in (BUY_CREDITS, UPGRADE_PLAN, "/credits/settings"):
        assert sent(served, route) == []
