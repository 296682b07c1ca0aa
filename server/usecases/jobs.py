"""Read a job (waiting for it if asked, with its thumbnail if asked) and list the tracked ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..images import Preview
from ..jobs.intents import UnresolvedStart
from ..jobs.snapshot import JobSnapshot
from ..transfer import Progress, thumbnail_preview

if TYPE_CHECKING:
    from ..runtime import Runtime

DEFAULT_NEXT_POLL_SECONDS = 5.0
"""`next_poll_after_seconds` of an unsettled job the poller has no schedule for."""


@dataclass(frozen=True)
class Reading:
    """A job's state now, and its thumbnail when one was asked for."""

    snapshot: JobSnapshot
    thumbnail: Preview | None = None


@dataclass(frozen=True)
class TrackedJobs:
    """Tracked jobs, newest first, and starts whose outcome is not a tracked job."""

    jobs: list[JobSnapshot]
    unresolved: list[UnresolvedStart] = field(default_factory=list)


async def read_job(
    rt: Runtime, job_id: str, *, wait_seconds: float, include_thumbnail: bool, progress: Progress
) -> Reading:
    """Refresh the job and wait up to `wait_seconds` (capped by the settings) for it to settle.

    While waiting, each change is reported through `progress`; an unsettled job says when to ask again.
    """
    wait = min(wait_seconds, rt.settings.max_wait_seconds)

    async def report(snapshot: JobSnapshot, elapsed: float) -> None:
        await progress(elapsed, wait or None, progress_message(snapshot))

    record = await rt.jobs.wait(job_id, wait, report if wait > 0 else None)
    snapshot = record.snapshot
    if not snapshot.settled and snapshot.next_poll_after_seconds is None:
        snapshot.next_poll_after_seconds = rt.jobs.poller.next_poll_after(job_id) or DEFAULT_NEXT_POLL_SECONDS
    if not include_thumbnail:
        return Reading(snapshot)
    return Reading(snapshot, await thumbnail_preview(rt.jobs, rt.mosaic.transfers, snapshot))


async def tracked_jobs(rt: Runtime, *, active_only: bool, limit: int) -> TrackedJobs:
    """Up to `limit` tracked jobs (only unsettled ones with `active_only`) and the unresolved starts."""
    records = await rt.jobs.recent(limit=limit, active_only=active_only)  # filtered in the query, before the limit
    return TrackedJobs([r.snapshot for r in records], await rt.jobs.unresolved(limit))


def progress_message(snapshot: JobSnapshot) -> str:
    """One line for a progress notification: status and tiles done, or what a finished session still does."""
    if snapshot.progress is not None:
        p = snapshot.progress
        total = p.completed + p.in_progress + p.failed
        return f"{snapshot.status}: {p.completed}/{total} tiles done" + (f", {p.failed} failed" if p.failed else "")
    if snapshot.pending_user_input:
        return f"{snapshot.status}: waiting for an answer in the Motion web app"
    if snapshot.replaces_render is not None:
        return f"{snapshot.status}: the follow-up was accepted; the previous render is still shown"
    if snapshot.kind == "motion_session" and snapshot.status == "completed" and not snapshot.download_ready:
        return "completed: rendering the MP4"
    return snapshot.status
