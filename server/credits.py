"""The money picture: balance, auto top-up, and what this server's jobs spent recently."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from .api.errors import APIError
from .api.models import Credits
from .api.mosaic import MosaicClient
from .jobs.service import JobService

log = logging.getLogger("mosaic_mcp.credits")

LOW_BALANCE = 200
"""Below this many credits a run may stop half-way with needs_credits; run_agent warns."""

MOTION_NOTE = (
    "The Motion API does not report a balance; a new Motion session needs at least 300 Motion credits "
    "(top up in the Motion web app). Motion credits are separate from Mosaic credits."
)


class AutoTopUpState(BaseModel):
    """Whether credits are bought automatically when the balance runs low."""

    enabled: bool
    threshold: float | None = None
    quantity: float | None = None
    eligible: bool | None = None


class TileSpend(BaseModel):
    """Credits one tile used in the period."""

    tile: str
    credits: float


class CreditsReport(BaseModel):
    """The Mosaic balance and recent spending."""

    balance: float
    low_balance: bool = Field(description=f"True below {LOW_BALANCE} credits: long runs may stop for credits.")
    plan: str | None
    plan_id: str | None
    auto_topup: AutoTopUpState | None
    used_last_30_days: float | None = Field(description="Credits the organization used (usage endpoint).")
    top_tiles_last_30_days: list[TileSpend] = Field(default_factory=list)
    jobs_started_here_last_7_days: int = Field(description="Runs and sessions this server started.")
    motion: str = MOTION_NOTE


async def credits_report(mosaic: MosaicClient, jobs: JobService) -> CreditsReport:
    """Balance and plan (required), plus usage (best effort: a failure there is left out)."""
    credits = await mosaic.get_credits()
    used: float | None = None
    tiles: list[TileSpend] = []
    try:
        usage = await mosaic.get_credit_usage(start_date=(datetime.now(UTC) - timedelta(days=30)).date().isoformat())
        used = float(usage.summary.total_credits_used) if usage.summary else None
        for row in usage.breakdown.get("by_tile", [])[:5]:
            tiles.append(
                TileSpend(
                    tile=str(row.get("tile_name") or row.get("tile_id")),
                    credits=float(row.get("credits_used") or 0),
                )
            )
    except APIError as exc:
        log.info("credit usage unavailable: %s", exc)
    week_ago = time.time() - 7 * 86400
    started = sum(1 for r in await jobs.recent(limit=500) if r.created_at >= week_ago)
    return CreditsReport(
        balance=float(credits.balance),
        low_balance=credits.balance < LOW_BALANCE,
        plan=credits.plan,
        plan_id=credits.plan_id,
        auto_topup=_auto_topup(credits),
        used_last_30_days=used,
        top_tiles_last_30_days=tiles,
        jobs_started_here_last_7_days=started,
    )


def _auto_topup(credits: Credits) -> AutoTopUpState | None:
    a = credits.auto_topup
    if a is None:
        return None
    return AutoTopUpState(
        enabled=a.enabled,
        threshold=None if a.threshold is None else float(a.threshold),
        quantity=None if a.quantity is None else float(a.quantity),
        eligible=a.eligible,
    )
