"""The organisation's Mosaic credits: balance, plan, auto top-up, purchases and usage events."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import seed
from .clock import iso
from .config import PLAN_FAMILIES
from .errors import bad_request, mosaic_error

# GET /plan/list (current revision of the docs).
PLANS: tuple[dict[str, Any], ...] = (
    {
        "id": "creator",
        "billing": "monthly",
        "price_usd": 50,
        "credits_per_month": 2500,
        "top_up_rate_per_100_credits_usd": 2,
        "notes": "For individual creators.",
    },
    {
        "id": "creator_annual",
        "billing": "annual",
        "price_usd": 480,
        "credits_per_month": 2500,
        "top_up_rate_per_100_credits_usd": 2,
        "notes": "Creator, billed yearly.",
    },
    {
        "id": "professional",
        "billing": "monthly",
        "price_usd": 150,
        "credits_per_month": 10000,
        "top_up_rate_per_100_credits_usd": 1.6,
        "notes": "For teams and agencies.",
    },
    {
        "id": "professional_annual",
        "billing": "annual",
        "price_usd": 1500,
        "credits_per_month": 10000,
        "top_up_rate_per_100_credits_usd": 1.6,
        "notes": "Professional, billed yearly.",
    },
)
_PLAN_INFO = {p["id"]: p for p in PLANS} | {"pro": PLANS[2] | {"id": "pro"}}
AUTO_TOPUP_PLANS = ("creator", "creator_annual", "professional", "professional_annual")
_MONTH = 30 * 86400.0


@dataclass(frozen=True)
class UsageEvent:
    """Credits spent by one tile of one run."""

    at: float
    tile_id: str
    tile_name: str
    credits: int
    run_id: str


def _number(path: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise bad_request(f"{path} must be a number between {low:g} and {high:g}")
    return float(value)


class Billing:
    """Balance and plan of the one sandbox organisation."""

    def __init__(self, balance: int, plan_id: str | None, now: float) -> None:
        self.balance = balance
        self.plan_id = plan_id
        self.plan_started_at = now
        self.period_start = now
        self.auto_topup = {"enabled": False, "threshold": 0, "quantity": 0}
        self.events: list[UsageEvent] = []
        self.purchased = 0

    # -- spending ---------------------------------------------------------------------------
    def charge(self, cost: int, tile_id: str, tile_name: str, run_id: str, at: float) -> bool:
        """Debit ``cost`` if the balance (after any auto top-up) covers it."""
        self._maybe_auto_topup()
        if cost > self.balance:
            return False
        self.balance -= cost
        self.events.append(UsageEvent(at, tile_id, tile_name, cost, run_id))
        self._maybe_auto_topup()
        return True

    def _maybe_auto_topup(self) -> None:
        settings = self.auto_topup
        if settings["enabled"] and self.plan_id in AUTO_TOPUP_PLANS and self.balance < settings["threshold"]:
            self.balance += int(settings["quantity"])
            self.purchased += int(settings["quantity"])

    # -- views ------------------------------------------------------------------------------
    @property
    def family(self) -> str | None:
        """The plan family, or None without a paid plan."""
        return PLAN_FAMILIES.get(self.plan_id) if self.plan_id else None

    def credits_view(self, *, nested: bool = False) -> dict[str, Any]:
        """GET /credits; ``nested``: the older revision's ``{"credits": {"balance", …}, "plan"}``."""
        if nested:
            return {
                "organization_id": seed.ORGANIZATION_ID,
                "credits": {
                    "balance": self.balance,
                    "unlimited": False,
                    "usage": sum(e.credits for e in self.events),
                    "included_usage": _PLAN_INFO[self.plan_id]["credits_per_month"] if self.plan_id else 0,
                    "next_reset_at": iso(self.period_start + _MONTH),
                },
                "plan": self.family,
            }
        return {
            "organization_id": seed.ORGANIZATION_ID,
            "balance": self.balance,
            "plan": self.family,
            "plan_id": self.plan_id,
            "billing_cycle": {
                "current_period_start": iso(self.period_start),
                "current_period_end": iso(self.period_start + _MONTH),
            },
            "auto_topup": {"eligible": self.plan_id in AUTO_TOPUP_PLANS, **self.auto_topup},
        }

    def plan_view(self) -> dict[str, Any]:
        """GET /plan; without a paid plan ``plan`` is null (undocumented representation)."""
        plan = None
        if self.plan_id is not None:
            plan = {
                "id": self.plan_id,
                "family": self.family,
                "status": "active",
                "started_at": iso(self.plan_started_at),
                "current_period_start": iso(self.period_start),
                "current_period_end": iso(self.period_start + _MONTH),
                "canceled_at": None,
            }
        included = _PLAN_INFO[self.plan_id]["credits_per_month"] if self.plan_id else 0
        return {
            "organization_id": seed.ORGANIZATION_ID,
            "plan": plan,
            "scheduled_plan": None,
            "credits": {
                "balance": self.balance,
                "usage": sum(e.credits for e in self.events),
                "included_usage": included,
                "unlimited": False,
            },
        }

    def usage_view(self, start: float, end: float, limit: int) -> dict[str, Any]:
        """GET /credits/usage: totals and breakdowns of what was actually spent."""
        matching = [e for e in self.events if start <= e.at <= end]
        returned = matching[-limit:]
        by_tile: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        by_date: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        by_both: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        for event in returned:
            day = datetime.fromtimestamp(event.at, tz=UTC).date().isoformat()
            for bucket in (
                by_tile[(event.tile_id, event.tile_name)],
                by_date[day],
                by_both[(day, event.tile_id, event.tile_name)],
            ):
                bucket[0] += event.credits
                bucket[1] += 1
        return {
            "organization_id": seed.ORGANIZATION_ID,
            "date_range": {"start_date": iso(start), "end_date": iso(end)},
            # Everything below is the [3P] shape (not on a docs page).
            "summary": {
                "total_credits_used": sum(e.credits for e in returned),
                "total_events": len(self.events),
                "matching_events": len(matching),
                "returned_events": len(returned),
                "truncated": len(returned) < len(matching),
            },
            "breakdown": {
                "by_tile": [
                    {"tile_id": t, "tile_name": n, "credits_used": c, "events": k}
                    for (t, n), (c, k) in sorted(by_tile.items(), key=lambda i: -i[1][0])
                ],
                "by_date": [{"date": d, "credits_used": c, "events": k} for d, (c, k) in sorted(by_date.items())],
                "by_date_and_tile": [
                    {"date": d, "tile_id": t, "tile_name": n, "credits_used": c, "events": k}
                    for (d, t, n), (c, k) in sorted(by_both.items())
                ],
            },
        }

    # -- account actions ----------------------------------------------------------------------
    def settings(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /credits/settings (403 without an eligible plan)."""
        auto = body.get("auto_topup")
        if not isinstance(auto, dict) or not isinstance(auto.get("enabled"), bool):
            raise bad_request("auto_topup.enabled (boolean), threshold and quantity are required")
        threshold = _number("auto_topup.threshold", auto.get("threshold"), 0, 1_000_000)
        quantity = _number("auto_topup.quantity", auto.get("quantity"), 0, 1_000_000)
        if self.plan_id not in AUTO_TOPUP_PLANS:
            raise mosaic_error(403, "Auto top-up requires an active creator or professional plan")
        self.auto_topup = {"enabled": auto["enabled"], "threshold": int(threshold), "quantity": int(quantity)}
        self._maybe_auto_topup()
        return {"auto_topup": dict(self.auto_topup)}

    def buy(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /credits/buy: immediate with a paid plan, otherwise a checkout link."""
        credits = int(_number("credits", body.get("credits"), 100, 1_000_000))
        rate = _PLAN_INFO[self.plan_id]["top_up_rate_per_100_credits_usd"] if self.plan_id else 2
        cost = round(credits / 100 * rate, 2)
        if self.plan_id is None:
            return {
                "success": False,
                "requires_checkout": True,
                "checkout_url": f"https://billing.autumn.com/checkout/sandbox-{credits}",
                "credits_requested": credits,
                "estimated_cost_usd": cost,
            }
        self.balance += credits
        self.purchased += credits
        return {
            "success": True,
            "requires_checkout": False,
            "credits_purchased": credits,
            "amount_charged_usd": cost,
            "plan": self.family,
        }

    def upgrade(self, body: Mapping[str, Any], now: float) -> dict[str, Any]:
        """POST /plan/upgrade: switches at once and grants the new plan's monthly credits."""
        plan_id = body.get("plan_id")
        if plan_id not in _PLAN_INFO:
            raise bad_request(f"plan_id must be one of {', '.join(_PLAN_INFO)}")
        if plan_id != self.plan_id:
            self.plan_id = plan_id
            self.plan_started_at = self.period_start = now
            self.balance += int(_PLAN_INFO[plan_id]["credits_per_month"])
        return {"success": True, "requires_checkout": False, "plan_id": plan_id, "plan_family": self.family}


def plan_list() -> dict[str, Any]:
    """GET /plan/list (shape of the list wrapper is [INFERRED]: ``{"plans": [...]}``)."""
    return {"plans": [dict(p) for p in PLANS]}
