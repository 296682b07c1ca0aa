"""Credits: spending, exhaustion, buying, plans, usage."""

from __future__ import annotations

import httpx2
import pytest

from mosaic_mcp.server.sandbox import Sandbox, seed

from .helpers import finish, start_run

pytestmark = pytest.mark.anyio


@pytest.mark.sandbox_config(credits=25)
async def test_exhaustion_buy_resume(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """A run that runs out of credits fails with needs_credits; buying and resuming completes it."""
    run_id = await start_run(mosaic)
    failed = await finish(sandbox, mosaic, run_id)
    assert failed["status"] == "failed"
    assert failed["needs_credits"] is True
    assert failed["status_message"] == "Insufficient credits"
    nodes = (await mosaic.get(f"/agent_run/{run_id}/nodes")).json()["nodes"]
    (starved,) = [n for n in nodes if n["needs_credits"]]
    assert starved["original_node_id"] == seed.CAPTIONS_AGENT_REFRAME_NODE_ID
    assert starved["status_message"] == "Insufficient credits"
    bought = (await mosaic.post("/credits/buy", json={"credits": 1000})).json()
    assert bought == {
        "success": True,
        "requires_checkout": False,
        "credits_purchased": 1000,
        "amount_charged_usd": 20,
        "plan": "creator",
    }
    assert (await mosaic.post(f"/agent_run/{run_id}/resume")).status_code == 200
    done = await finish(sandbox, mosaic, run_id)
    assert done["status"] == "completed"
    assert done["needs_credits"] is False


async def test_usage_reflects_spending(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """/credits/usage totals what completed tiles actually cost."""
    await finish(sandbox, mosaic, await start_run(mosaic))
    balance = (await mosaic.get("/credits")).json()["balance"]
    usage = (await mosaic.get("/credits/usage")).json()
    assert usage["summary"]["total_credits_used"] == 5000 - balance == 35
    assert {t["tile_name"] for t in usage["breakdown"]["by_tile"]} == {"Captions", "Reframe"}


@pytest.mark.sandbox_config(plan_id=None, credits=0)
async def test_without_plan(mosaic: httpx2.AsyncClient) -> None:
    """Without a paid plan buying needs checkout, auto top-up is 403, and upgrading grants credits."""
    checkout = (await mosaic.post("/credits/buy", json={"credits": 500})).json()
    assert checkout["requires_checkout"] is True
    assert checkout["checkout_url"]
    settings = {"auto_topup": {"enabled": True, "threshold": 100, "quantity": 1000}}
    assert (await mosaic.post("/credits/settings", json=settings)).status_code == 403
    assert (await mosaic.get("/plan")).json()["plan"] is None
    upgraded = (await mosaic.post("/plan/upgrade", json={"plan_id": "professional"})).json()
    assert upgraded["plan_family"] == "professional"
    assert (await mosaic.get("/credits")).json()["balance"] == 10000
    assert (await mosaic.post("/credits/settings", json=settings)).json()["auto_topup"]["enabled"] is True


async def test_plan_list_and_validation(mosaic: httpx2.AsyncClient) -> None:
    """The plan list has the four documented plans; bad amounts are 400."""
    plans = (await mosaic.get("/plan/list")).json()["plans"]
    assert [p["id"] for p in plans] == ["creator", "creator_annual", "professional", "professional_annual"]
    assert (await mosaic.post("/credits/buy", json={"credits": 5})).status_code == 400
    assert (await mosaic.post("/plan/upgrade", json={"plan_id": "gold"})).status_code == 400
