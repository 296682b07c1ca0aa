"""Mosaic credits and plans: responses."""

from typing import Any

from pydantic import Field, model_validator

from ._types import APIModel


class AutoTopup(APIModel):
    """Auto top-up configuration (GET /credits, POST /credits/settings)."""

    eligible: bool | None = Field(default=None, description="Whether the plan allows auto top-up.")
    enabled: bool = Field(default=False, description="Whether auto top-up is on.")
    threshold: float | int | None = Field(default=None, description="Balance below which credits are bought.")
    quantity: float | int | None = Field(default=None, description="Credits bought each time.")


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

    start_date: str | None = Field(default=None, description="First day.")
    end_date: str | None = Field(default=None, description="Last day.")


class UsageSummary(APIModel):
    """Totals of a usage report (shape from a third-party client)."""

    total_credits_used: float | int = Field(default=0, description="Credits used in the period.")
    total_events: int | None = Field(default=None, description="Usage events in the period.")
    matching_events: int | None = Field(default=None, description="Events matching the filters.")
    returned_events: int | None = Field(default=None, description="Events in this answer.")
    truncated: bool = Field(default=False, description="True when not every event is included.")


class CreditUsage(APIModel):
    """GET /credits/usage; `breakdown` groups by tile, date and both."""

    organization_id: str | None = Field(default=None, description="The organization.")
    date_range: DateRange | None = Field(default=None, description="The period covered.")
    summary: UsageSummary | None = Field(default=None, description="Totals.")
    breakdown: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict, description="Usage rows grouped by tile, by date, and by both."
    )


class CreditSettings(APIModel):
    """POST /credits/settings."""

    auto_topup: AutoTopup = Field(description="The auto top-up settings now.")


class CreditPurchase(APIModel):
    """POST /credits/buy: charged at once, or a checkout URL to finish in a browser."""

    success: bool = Field(default=False, description="True when the purchase went through.")
    requires_checkout: bool = Field(default=False, description="True when the user must finish at checkout_url.")
    checkout_url: str | None = Field(default=None, description="Where the user pays, when checkout is needed.")
    credits_purchased: float | int | None = Field(default=None, description="Credits added.")
    amount_charged_usd: float | None = Field(default=None, description="Amount charged, USD.")
    credits_requested: float | int | None = Field(default=None, description="Credits asked for.")
    estimated_cost_usd: float | None = Field(default=None, description="Expected cost, USD.")
    plan: str | None = Field(default=None, description="The plan the price is for.")


class Plan(APIModel):
    """A subscribed (or scheduled) plan."""

    id: str | None = Field(default=None, description="Plan id.")
    family: str | None = Field(default=None, description="Plan family, e.g. creator.")
    status: str | None = Field(default=None, description="Subscription status.")
    started_at: str | None = Field(default=None, description="When it started.")
    current_period_start: str | None = Field(default=None, description="Start of the billing period.")
    current_period_end: str | None = Field(default=None, description="End of the billing period.")
    canceled_at: str | None = Field(default=None, description="When it was cancelled, if it was.")


class PlanCredits(APIModel):
    """The credit block of GET /plan."""

    balance: float | int | None = Field(default=None, description="Credits left.")
    usage: float | int | None = Field(default=None, description="Credits used this period.")
    included_usage: float | int | None = Field(default=None, description="Credits the plan includes per period.")
    unlimited: bool | None = Field(default=None, description="True when credits are unlimited.")


class PlanInfo(APIModel):
    """GET /plan; `plan` is null when the organization has no paid plan (undocumented)."""

    organization_id: str | None = Field(default=None, description="The organization.")
    plan: Plan | None = Field(default=None, description="The current plan; null without a paid plan.")
    scheduled_plan: Plan | None = Field(default=None, description="A plan that starts at the next period, if any.")
    credits: PlanCredits | None = Field(default=None, description="The plan's credits.")


class PlanOption(APIModel):
    """One purchasable plan of GET /plan/list."""

    id: str = Field(description="Pass to upgrade_plan.")
    billing: str | None = Field(default=None, description="Billing interval.")
    price_usd: float | None = Field(default=None, description="Price, USD.")
    credits_per_month: int | None = Field(default=None, description="Credits included per month.")
    top_up_rate_per_100_credits_usd: float | None = Field(default=None, description="Price of 100 extra credits, USD.")
    notes: str | None = Field(default=None, description="Anything else the service says.")


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

    success: bool = Field(default=False, description="True when the plan changed.")
    requires_checkout: bool = Field(default=False, description="True when the user must finish at checkout_url.")
    checkout_url: str | None = Field(default=None, description="Where the user pays, when checkout is needed.")
    plan_id: str | None = Field(default=None, description="The new plan.")
    plan_family: str | None = Field(default=None, description="The new plan's family.")
