"""Toolset `account`: identity, usage, plan, auto top-up, and buying credits or a plan (with consent)."""

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Resolve
from pydantic import BaseModel, Field

from ..server import consent
from ..server.api import rules
from ..server.api.models import (
    CreditPurchase,
    CreditSettings,
    CreditUsage,
    PlanInfo,
    PlanOption,
    PlanUpgrade,
    WhoAmI,
)
from ..server.api.validation import validate_auto_topup, validate_credit_purchase, validate_plan_upgrade
from ..server.runtime import Runtime
from ._common import ConfirmPayment
from ._registry import CHANGE, READ, SPEND, Registrar, runtime

Date = Annotated[str | None, Field(description="ISO date or date-time.")]
RedirectUrl = Annotated[str | None, Field(description="Where the checkout page returns to.")]


class PlanList(BaseModel):
    """Plans one can switch to."""

    plans: list[PlanOption] = Field(description="The plans.")


def register(tools: Registrar) -> None:
    """Register the account tools."""

    @tools.tool(toolset="account", annotations=READ, title="Check the API key")
    async def whoami(ctx: Context[Runtime, Any]) -> WhoAmI:
        """Show which organization the Mosaic key belongs to and its scopes (null = full access); free."""
        return await runtime(ctx).mosaic.whoami()

    @tools.tool(toolset="account", annotations=READ, title="Show credit usage")
    async def get_credit_usage(
        ctx: Context[Runtime, Any], start_date: Date = None, end_date: Date = None
    ) -> CreditUsage:
        """Credits used by the organization, by tile and by day (default: the last 30 days); free."""
        return await runtime(ctx).mosaic.get_credit_usage(start_date=start_date, end_date=end_date)

    async def ask_topup(enabled: bool, threshold: float, quantity: float, ctx: Context[Runtime, Any]) -> consent.Asked:
        if not enabled:
            return consent.Approval(approve=True)  # turning auto top-up off spends nothing
        question = f"Turn on auto top-up: buy {quantity:g} credits whenever the balance drops below {threshold:g}?"
        return consent.ask(ctx, question, check=lambda: validate_auto_topup(threshold, quantity))

    @tools.tool(toolset="account", annotations=CHANGE, title="Set auto top-up", spends_credits=True)
    async def update_credit_settings(
        enabled: Annotated[bool, Field(description="Turn auto top-up on (true) or off.")],
        threshold: Annotated[rules.TopupAmount, Field(description="Top up when the balance drops below.")],
        quantity: Annotated[rules.TopupAmount, Field(description="Credits bought per top-up.")],
        ctx: Context[Runtime, Any],
        approval: Annotated[consent.Answer, Resolve(ask_topup)],
        confirm: ConfirmPayment = False,
    ) -> CreditSettings:
        """Turn automatic credit purchases on or off (needs a paid plan). Turning it on SPENDS MONEY
        later, so it asks the user first (a client that cannot ask: see confirm)."""
        rt = runtime(ctx)
        what = f"turning on auto top-up ({quantity:g} credits below {threshold:g})"
        consent.require(approval, action=what, confirm=confirm, kind=consent.PAYMENTS, settings=rt.settings)
        return await rt.mosaic.update_credit_settings(enabled=enabled, threshold=threshold, quantity=quantity)

    async def ask_buy(
        credits: float, success_url: str | None, cancel_url: str | None, ctx: Context[Runtime, Any]
    ) -> consent.Asked:
        question = f"Buy {credits:g} Mosaic credits? This charges the organization's payment method."
        return consent.ask(ctx, question, check=lambda: validate_credit_purchase(credits, success_url, cancel_url))

    @tools.tool(toolset="account", annotations=SPEND, title="Buy credits", spends_credits=True)
    async def buy_credits(
        credits: Annotated[rules.CreditAmount, Field(description="How many credits.")],
        ctx: Context[Runtime, Any],
        approval: Annotated[consent.Answer, Resolve(ask_buy)],
        success_url: RedirectUrl = None,
        cancel_url: RedirectUrl = None,
        confirm: ConfirmPayment = False,
    ) -> CreditPurchase:
        """Buy Mosaic credits at the plan's rate — SPENDS MONEY (or returns a checkout_url to pay).
        Asks the user first (a client that cannot ask: see confirm)."""
        rt = runtime(ctx)
        what = f"buying {credits:g} credits"
        consent.require(approval, action=what, confirm=confirm, kind=consent.PAYMENTS, settings=rt.settings)
        return await rt.starts.buy_credits(credits, success_url, cancel_url)

    @tools.tool(toolset="account", annotations=READ, title="Show the plan")
    async def get_plan(ctx: Context[Runtime, Any]) -> PlanInfo:
        """Show the current (and scheduled) plan and its credit allowance; free."""
        return await runtime(ctx).mosaic.get_plan()

    @tools.tool(toolset="account", annotations=READ, title="List plans")
    async def list_plans(ctx: Context[Runtime, Any]) -> PlanList:
        """List the plans with price, monthly credits and top-up rate; free."""
        return PlanList(plans=await runtime(ctx).mosaic.list_plans())

    async def ask_upgrade(
        plan_id: str, success_url: str | None, cancel_url: str | None, ctx: Context[Runtime, Any]
    ) -> consent.Asked:
        question = f"Change the Mosaic plan to {plan_id}? This charges the organization's payment method."
        return consent.ask(ctx, question, check=lambda: validate_plan_upgrade(plan_id, success_url, cancel_url))

    @tools.tool(toolset="account", annotations=SPEND, title="Upgrade the plan", spends_credits=True)
    async def upgrade_plan(
        plan_id: Annotated[rules.PlanId, Field(description="The plan to switch to (an id from list_plans).")],
        ctx: Context[Runtime, Any],
        approval: Annotated[consent.Answer, Resolve(ask_upgrade)],
        success_url: RedirectUrl = None,
        cancel_url: RedirectUrl = None,
        confirm: ConfirmPayment = False,
    ) -> PlanUpgrade:
        """Switch to a paid plan (see list_plans) — SPENDS MONEY (or returns a checkout_url to pay).
        Asks the user first (a client that cannot ask: see confirm)."""
        rt = runtime(ctx)
        what = f"changing the plan to {plan_id}"
        consent.require(approval, action=what, confirm=confirm, kind=consent.PAYMENTS, settings=rt.settings)
        return await rt.starts.upgrade_plan(plan_id, success_url, cancel_url)
