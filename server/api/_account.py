"""Mosaic credits and plans (reference section 2.10)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ._account_types import (
    CreditPurchase,
    Credits,
    CreditSettings,
    CreditUsage,
    PlanInfo,
    PlanList,
    PlanOption,
    PlanUpgrade,
)
from ._base import ClientBase
from .validation import (
    check_limit,
    check_timestamp,
    validate_auto_topup,
    validate_credit_purchase,
    validate_plan_upgrade,
)


def _checkout_body(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


class AccountAPI(ClientBase):
    """Balance, usage, auto top-up, purchases and plans."""

    async def get_credits(self) -> Credits:
        """GET /credits: balance, plan and auto top-up settings."""
        return await self._get(Credits, "/credits")

    async def get_credit_usage(
        self,
        start_date: str | datetime | date | None = None,
        end_date: str | datetime | date | None = None,
        limit: int | None = None,
    ) -> CreditUsage:
        """GET /credits/usage: credits spent, grouped by tile and date (default: last 30 days)."""
        check_limit(limit, maximum=10_000)
        params = {
            "start_date": check_timestamp("start_date", start_date),
            "end_date": check_timestamp("end_date", end_date),
            "limit": limit,
        }
        return await self._get(CreditUsage, "/credits/usage", params)

    async def update_credit_settings(self, *, enabled: bool, threshold: float, quantity: float) -> CreditSettings:
        """POST /credits/settings: configure auto top-up (needs an eligible paid plan)."""
        validate_auto_topup(threshold, quantity)
        body = {"auto_topup": {"enabled": enabled, "threshold": threshold, "quantity": quantity}}
        # Setting the same values twice is harmless: safe to retry.
        return await self._send(CreditSettings, "POST", "/credits/settings", json=body, retry="idempotent")

    async def buy_credits(
        self, credits: float, success_url: str | None = None, cancel_url: str | None = None
    ) -> CreditPurchase:
        """POST /credits/buy: charge now, or get a checkout URL (spends money)."""
        validate_credit_purchase(credits, success_url, cancel_url)
        body = _checkout_body(credits=credits, success_url=success_url, cancel_url=cancel_url)
        return await self._send(CreditPurchase, "POST", "/credits/buy", json=body, retry="create")

    async def get_plan(self) -> PlanInfo:
        """GET /plan: the current and scheduled plan."""
        return await self._get(PlanInfo, "/plan")

    async def list_plans(self) -> list[PlanOption]:
        """GET /plan/list: the plans one can upgrade to."""
        return (await self._get(PlanList, "/plan/list")).plans

    async def upgrade_plan(
        self, plan_id: str, success_url: str | None = None, cancel_url: str | None = None
    ) -> PlanUpgrade:
        """POST /plan/upgrade: change plan now, or get a checkout URL (spends money)."""
        validate_plan_upgrade(plan_id, success_url, cancel_url)
        body = _checkout_body(plan_id=plan_id, success_url=success_url, cancel_url=cancel_url)
        return await self._send(PlanUpgrade, "POST", "/plan/upgrade", json=body, retry="create")
