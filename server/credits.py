"""The money picture: balance, auto top-up, and what this server's jobs spent recently."""

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from .api.errors import APIError, MosaicMCPError
from .api.models import Credits
from .api.mosaic import MosaicClient
from .jobs.service import JobService

log = logging.getLogger("mosaic_mcp.credits")

LOW_BALANCE = 200
"""Below this many credits a run may stop half-way with needs_credits; run_agent warns."""

MOTION_NOTE = (
    "The Motion API does not report a balance; a new Motion session needs a minimum balance, which Motion "
    "states when it refuses a start (top up in the Motion web app). Motion credits are separate from Mosaic credits."
)

ATTRIBUTION_NOTE = (
    "Mosaic reports usage by tile and day, not per run: the usage figures are the whole organization's; "
    "the jobs_* figures are what this server started."
)


class AutoTopUpState(BaseModel):
    """Whether credits are bought automatically when the balance runs low."""

    enabled: bool = Field(description="Whether auto top-up is on.")
    threshold: float | None = Field(default=None, description="Balance below which credits are bought.")
    quantity: float | None = Field(default=None, description="Credits bought each time.")
    eligible: bool | None = Field(default=None, description="Whether the plan allows auto top-up.")


class TileSpend(BaseModel):
    """Credits one tile used in the period."""

    tile: str = Field(description="The tile.")
    credits: float = Field(description="Credits it used.")


class CreditsReport(BaseModel):
    """The Mosaic balance and recent spending."""

    balance: float = Field(description="Mosaic credits left.")
    low_balance: bool = Field(description=f"True below {LOW_BALANCE} credits: long runs may stop for credits.")
    plan: str | None = Field(description="The plan family; null without a paid plan.")
    plan_id: str | None = Field(description="The plan's id.")
    auto_topup: AutoTopUpState | None = Field(description="Auto top-up, when the service reports it.")
    used_last_30_days: float | None = Field(description="Credits the organization used (usage endpoint).")
    top_tiles_last_30_days: list[TileSpend] = Field(
        default_factory=list, description="The tiles that used most credits."
    )
    used_last_7_days: float | None = Field(default=None, description="Credits the organization used in 7 days.")
    jobs_started_here_last_7_days: int = Field(description="Runs and sessions this server started.")
    jobs_here_by_status: dict[str, int] = Field(
        default_factory=dict, description="Those jobs by their last known status."
    )
    jobs_blocked_for_credits: list[str] = Field(
        default_factory=list, description="Job ids stopped for credits: top up, then resume_run."
    )
    attribution: str = Field(default=ATTRIBUTION_NOTE, description="What the usage figures cover.")
    motion: str = Field(default=MOTION_NOTE, description="Motion's credits.")


async def credits_report(mosaic: MosaicClient, jobs: JobService) -> CreditsReport:
    """Balance and plan (required), plus usage (best effort: a failure there is left out)."""
    credits = await mosaic.get_credits()
    used: float | None = None
    used_week: float | None = None
    tiles: list[TileSpend] = []
    try:
        usage = await mosaic.get_credit_usage(start_date=(datetime.now(UTC) - timedelta(days=30)).date().isoformat())
        used = float(usage.summary.total_credits_used) if usage.summary else None
        used_week = _last_days(usage.breakdown.get("by_date", []), 7)
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
    here = [r for r in await jobs.recent(limit=500) if r.created_at >= week_ago]
    by_status: dict[str, int] = {}
    for record in here:
        by_status[record.snapshot.status] = by_status.get(record.snapshot.status, 0) + 1
    return CreditsReport(
        balance=float(credits.balance),
        low_balance=credits.balance < LOW_BALANCE and not credits.unlimited,
        plan=credits.plan,
        plan_id=credits.plan_id,
        auto_topup=_auto_topup(credits),
        used_last_30_days=used,
        top_tiles_last_30_days=tiles,
        used_last_7_days=used_week,
        jobs_started_here_last_7_days=len(here),
        jobs_here_by_status=by_status,
        jobs_blocked_for_credits=[r.job_id for r in here if r.snapshot.needs_credits],
    )


def _last_days(by_date: list[dict[str, Any]], days: int) -> float | None:
    """Credits used on the last `days` dates of a by-date breakdown (None when it has no dates)."""
    since = (datetime.now(UTC) - timedelta(days=days)).date().isoformat()
    rows = [r for r in by_date if isinstance(r.get("date"), str)]
    if not rows:
        return None
    return sum(float(r.get("credits_used") or 0) for r in rows if str(r["date"])[:10] > since)


async def low_balance_warnings(mosaic: MosaicClient) -> list[str]:
    """One cheap GET /credits: a warning when the balance is low; nothing if the check itself fails."""
    try:
        credits = await mosaic.get_credits()
    except MosaicMCPError as exc:
        log.info("balance check after a run start failed: %s", type(exc).__name__)
        return []
    if credits.balance >= LOW_BALANCE or credits.unlimited:
        return []
    topup = credits.auto_topup
    refill = (
        "auto top-up is on, so credits should be bought automatically"
        if topup is not None and topup.enabled
        else "auto top-up is off"
    )
    return [
        f"Low Mosaic balance: {float(credits.balance):g} credits ({refill}). The run may stop with "
        "needs_credits; if it does, see check_credits, then upgrade_plan or buy_credits (with the user's "
        "consent) and resume_run."
    ]


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
