"""Mosaic credits and plans: responses."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from ._types import APIModel


class AutoTopup(APIModel):
    """Auto top-up configuration (GET /credits, POST /credits/settings)."""

    eligible: bool | None = None
    enabled: bool = False
    threshold: float | int | None = None
    quantity: float | int | None = None


class BillingCycle(APIModel):
    """The current billing period."""

    current_period_start: str | None = None
    current_period_end: str | None = None


class Credits(APIModel):
    """GET /credits: the current flat `balance`, or the older revision's nested `credits.balance`.

    `balance` has no default: a body with neither shape is an unreadable answer (retried, then
    reported), never a balance of 0.
    """

    organization_id: str | None = None
    balance: float | int
    unlimited: bool | None = None
    plan: str | None = None
    plan_id: str | None = None
    billing_cycle: BillingCycle | None = None
    auto_topup: AutoTopup | None = None

    @model_validator(mode="before")
    @classmethod
    def _older_shape(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        nested, plan = data.get("credits"), data.get("plan")
        if data.get("balance") is None and isinstance(nested, dict) and nested.get("balance") is not None:
            data = {**data, "balance": nested["balance"]}
            if data.get("unlimited") is None and isinstance(nested.get("unlimited"), bool):
                data["unlimited"] = nested["unlimited"]
        if isinstance(plan, dict):  # a plan object (as in GET /plan) instead of the family name
            data = {**data, "plan": plan.get("family"), "plan_id": data.get("plan_id") or plan.get("id")}
        return data


class DateRange(APIModel):
    """The period a usage report covers."""

    start_date: str | None = None
    end_date: str | None = None


class UsageSummary(APIModel):
    """Totals of a usage report (shape from a third-party client)."""

    total_credits_used: float | int = 0
    total_events: int | None = None
    matching_events: int | None = None
    returned_events: int | None = None
    truncated: bool = False


class CreditUsage(APIModel):
    """GET /credits/usage; `breakdown` groups by tile, date and both."""

    organization_id: str | None = None
    date_range: DateRange | None = None
    summary: UsageSummary | None = None
    breakdown: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)


class CreditSettings(APIModel):
    """POST /credits/settings."""

    auto_topup: AutoTopup


class CreditPurchase(APIModel):
    """POST /credits/buy: charged at once, or a checkout URL to finish in a browser."""

    success: bool = False
    requires_checkout: bool = False
    checkout_url: str | None = None
    credits_purchased: float | int | None = None
    amount_charged_usd: float | None = None
    credits_requested: float | int | None = None
    estimated_cost_usd: float | None = None
    plan: str | None = None


class Plan(APIModel):
    """A subscribed (or scheduled) plan."""

    id: str | None = None
    family: str | None = None
    status: str | None = None
    started_at: str | None = None
    current_period_start: str | None = None
    current_period_end: str | None = None
    canceled_at: str | None = None


class PlanCredits(APIModel):
    """The credit block of GET /plan."""

    balance: float | int | None = None
    usage: float | int | None = None
    included_usage: float | int | None = None
    unlimited: bool | None = None


class PlanInfo(APIModel):
    """GET /plan; `plan` is null when the organization has no paid plan (undocumented)."""

    organization_id: str | None = None
    plan: Plan | None = None
    scheduled_plan: Plan | None = None
    credits: PlanCredits | None = None


class PlanOption(APIModel):
    """One purchasable plan of GET /plan/list."""

    id: str
    billing: str | None = None
    price_usd: float | None = None
    credits_per_month: int | None = None
    top_up_rate_per_100_credits_usd: float | None = None
    notes: str | None = None


class PlanList(APIModel):
    """GET /plan/list; the container key is undocumented, so a bare array or any list key is accepted."""

    plans: list[PlanOption] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _find_plans(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"plans": data}
        if isinstance(data, dict) and "plans" not in data:
            for value in data.values():
                if isinstance(value, list):
                    return {**data, "plans": value}
        return data


class PlanUpgrade(APIModel):
    """POST /plan/upgrade: applied at once, or a checkout URL."""

    success: bool = False
    requires_checkout: bool = False
    checkout_url: str | None = None
    plan_id: str | None = None
    plan_family: str | None = None
