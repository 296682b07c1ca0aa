"""MosaicClient: credits and plans against the sandbox."""

from __future__ import annotations

import pytest

from mosaic_mcp.server.api import MosaicClient
from mosaic_mcp.server.sandbox import seed

pytestmark = pytest.mark.anyio


async def test_get_credits(mosaic: MosaicClient) -> None:
    """get_credits parses balance, plan and auto top-up."""
    credits = await mosaic.get_credits()
    assert credits.organization_id == seed.ORGANIZATION_ID
    assert credits.balance > 0
    assert credits.plan_id == "creator"
    assert credits.auto_topup is not None
    assert credits.auto_topup.eligible is True


async def test_get_credit_usage(mosaic: MosaicClient) -> None:
    """get_credit_usage passes the date range and limit and parses the summary."""
    usage = await mosaic.get_credit_usage(start_date="2020-01-01", end_date="2100-01-01", limit=10)
    assert usage.date_range is not None
    assert usage.date_range.start_date
    assert usage.summary is not None
    assert usage.summary.total_credits_used >= 0
    assert set(usage.breakdown) >= {"by_tile", "by_date"}


async def test_update_credit_settings(mosaic: MosaicClient) -> None:
    """update_credit_settings sets auto top-up; get_credits reads it back."""
    settings = await mosaic.update_credit_settings(enabled=True, threshold=500, quantity=2000)
    assert settings.auto_topup.enabled
    assert settings.auto_topup.threshold == 500
    credits = await mosaic.get_credits()
    assert credits.auto_topup is not None
    assert credits.auto_topup.quantity == 2000


async def test_buy_credits(mosaic: MosaicClient) -> None:
    """buy_credits charges at once on a paid plan and reports the credits bought."""
    before = (await mosaic.get_credits()).balance
    purchase = await mosaic.buy_credits(1000)
    assert purchase.success
    assert not purchase.requires_checkout
    assert purchase.credits_purchased == 1000
    assert (await mosaic.get_credits()).balance == before + 1000


async def test_get_plan(mosaic: MosaicClient) -> None:
    """get_plan parses the current plan and credit block."""
    info = await mosaic.get_plan()
    assert info.plan is not None
    assert info.plan.id == "creator"
    assert info.plan.family == "creator"
    assert info.credits is not None
    assert info.credits.balance is not None


async def test_list_plans(mosaic: MosaicClient) -> None:
    """list_plans returns the purchasable plans with prices."""
    plans = {p.id: p for p in await mosaic.list_plans()}
    assert {"creator", "professional_annual"} <= set(plans)
    assert plans["creator"].credits_per_month == 2500


async def test_upgrade_plan(mosaic: MosaicClient) -> None:
    """upgrade_plan changes the plan; get_plan shows it."""
    result = await mosaic.upgrade_plan("professional")
    assert result.success
    assert result.plan_id == "professional"
    assert not result.requires_checkout
    info = await mosaic.get_plan()
    assert info.plan is not None
    assert info.plan.id == "professional"
