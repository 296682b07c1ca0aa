"""The job card (MCP Apps): its `ui://` view, the CSP it needs, and what it shows of one job.

One self-contained HTML document (`server/views/job-card.html`, package data) renders either kind
of job; hosts with MCP Apps show it inline for `run_agent`, `create_video_session`,
`followup_video_session` and `poll_job` (their `_meta.ui.resourceUri`), and it refreshes itself
through the app-only tool `refresh_job_card`. Hosts enforce the view's CSP, so the resource lists
every media origin the journal has seen in outputs and thumbnails, the configured
`MOSAIC_MCP_MEDIA_ORIGINS` and, in sandbox mode, the sandbox's own origin (docs/job-card.md).
"""

from datetime import UTC, datetime
from functools import lru_cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from mcp.server.apps import ResourceCsp
from pydantic import BaseModel, Field

from ..jobs.origins import origin_of
from ..jobs.snapshot import JobSnapshot
from .jobs import read_job

if TYPE_CHECKING:
    from ..runtime import Runtime

CARD_URI = "ui://mosaic-mcp/job-card.html"
"""The view's resource URI; tools link to it through `_meta.ui.resourceUri`."""

CARD_TOOL_META: dict[str, Any] = {"ui": {"resourceUri": CARD_URI}, "openai/outputTemplate": CARD_URI}
"""`_meta` of the tools whose result the card shows (ChatGPT reads `openai/outputTemplate`)."""

APP_ONLY_META: dict[str, Any] = {"ui": {"resourceUri": CARD_URI, "visibility": ["app"]}}
"""`_meta` of a tool only the card calls: hosts with MCP Apps keep it out of the model's tool list."""

CARD_NOTE = "The user sees this job in a live card (progress, preview, player); no need to repeat its links."
"""What results add for a client that shows the card, so the model does not describe it twice."""

MOTION_STAGES = ("queued", "created", "running", "rendering the MP4", "ready")


@lru_cache(maxsize=1)
def card_html() -> str:
    """The card's HTML document (about 12 KB, no external code)."""
    return files("mosaic_mcp.server").joinpath("views", "job-card.html").read_text(encoding="utf-8")


async def card_csp(rt: "Runtime") -> ResourceCsp:
    """The card's CSP: the media origins seen in the journal, the configured ones, the sandbox's."""
    origins = set(await rt.jobs.journal.media_origins()) | set(rt.settings.media_origins)
    if (sandbox := origin_of(rt.sandbox_url)) is not None:
        origins.add(sandbox)
    return ResourceCsp(resource_domains=sorted(origins))


class JobCard(BaseModel):
    """What the job card shows of one job: its snapshot, what it is, and its stage in plain words."""

    job: JobSnapshot = Field(description="The job as poll_job returns it.")
    title: str = Field(description="What the job is: the agent's name, or the Motion prompt.")
    tiles: list[str] = Field(default_factory=list, description="Mosaic: the agent's tiles, in graph order.")
    step: int = Field(description="Steps done: tiles done of a run, Motion stages reached.")
    steps: int = Field(description="Steps in all (0 when unknown).")
    stage: str = Field(description="The stage in words, e.g. 'rendering the MP4' or '2 of 5 tiles done'.")
    started_at: str | None = Field(default=None, description="When the job was started (UTC).")
    refresh_after_seconds: float | None = Field(description="When refreshing is useful; null once settled.")


async def job_card(rt: "Runtime", job_id: str) -> JobCard:
    """The card of one job, read like `poll_job(job_id, wait_seconds=0)` (no faster than the poller)."""
    snapshot = (await read_job(rt, job_id, wait_seconds=0, include_thumbnail=False, progress=_silent)).snapshot
    record = await rt.jobs.get(job_id)
    summary = record.request_summary
    tiles = [str(t) for t in summary.get("tiles", []) if isinstance(t, str)]
    step, steps, stage = _stage(snapshot, len(tiles))
    return JobCard(
        job=snapshot,
        title=_title(snapshot, summary),
        tiles=tiles,
        step=step,
        steps=steps,
        stage=stage,
        started_at=datetime.fromtimestamp(record.created_at, UTC).isoformat().replace("+00:00", "Z"),
        refresh_after_seconds=None if snapshot.settled else snapshot.next_poll_after_seconds,
    )


async def _silent(progress: float, total: float | None, message: str | None) -> None:
    """No progress notifications: the card's read does not wait."""


def _title(snapshot: JobSnapshot, summary: dict[str, Any]) -> str:
    if snapshot.kind == "mosaic_run":
        name = summary.get("agent_name")
        return f"Mosaic agent “{name}”" if isinstance(name, str) and name else "Mosaic agent run"
    prompt = summary.get("prompt")
    what = "Motion revision" if summary.get("followup_of") else "Motion video"
    return f"{what}: {prompt}" if isinstance(prompt, str) and prompt else what


def _stage(s: JobSnapshot, tiles: int) -> tuple[int, int, str]:
    """(steps done, steps in all, the stage in words) for the progress bar."""
    if s.kind == "mosaic_run":
        p = s.progress
        done = p.completed if p else 0
        total = max(tiles, (p.completed + p.in_progress + p.failed) if p else 0)
        failed = f", {p.failed} failed" if p and p.failed else ""
        words = f"{done} of {total} tiles done{failed}" if total else s.status
        if s.needs_credits:
            words = f"stopped: out of credits ({done} of {total} tiles done)"
        return done, total, words if not s.settled else f"{s.status.replace('_', ' ')}: {words}"
    if s.status == "failed":
        return 0, len(MOTION_STAGES), "failed"
    if s.pending_user_input:
        return 3, len(MOTION_STAGES), "waiting for an answer in the Motion web app"
    if s.settled:
        return len(MOTION_STAGES), len(MOTION_STAGES), "ready"
    stage = "rendering the MP4" if s.status == "completed" else s.status
    reached = MOTION_STAGES.index(stage) + 1 if stage in MOTION_STAGES else 1
    return reached, len(MOTION_STAGES), stage
