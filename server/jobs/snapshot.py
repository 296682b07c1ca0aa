"""One snapshot model for Mosaic runs and Motion sessions: what `poll_job` and the job resources show.

A job is *settled* when nothing more will change that a person waits for: a Mosaic run in a
terminal status, a Motion session that failed, or one that completed **and** has its download
URL (Motion keeps working on the file after `completed`, reference section 4).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ..api.models import RUN_TERMINAL_STATUSES, MotionSession, Run, RunSummary
from ..redact import scrub
from .clock import SYSTEM_CLOCK, Clock, iso_utc

JobKind = Literal["mosaic_run", "motion_session"]

RUN_URI = "mosaic://runs/{job_id}"
SESSION_URI = "motion://sessions/{job_id}"
JOBS_INDEX_URI = "mosaic://jobs"


def resource_uri(kind: JobKind, job_id: str) -> str:
    """The MCP resource URI of a job."""
    return (RUN_URI if kind == "mosaic_run" else SESSION_URI).format(job_id=job_id)


class Progress(BaseModel):
    """Tile counts of a Mosaic run (Motion sessions report none)."""

    completed: int = 0
    in_progress: int = 0
    failed: int = 0


class JobOutput(BaseModel):
    """One finished output of a job."""

    output_id: str = Field(description="Render id of a Mosaic output, or 'video' for a Motion session.")
    video_url: str | None = Field(default=None, description="Signed URL of the video (expires).")
    thumbnail_url: str | None = None
    premiere_url: str | None = Field(default=None, description="Premiere Pro timeline zip, when offered.")
    render_id: str | None = Field(
        default=None,
        description="Pass in run_agent's node_render_ids to chain this output into another agent.",
    )
    node_id: str | None = Field(default=None, description="Template node that produced the output.")
    completed_at: str | None = None


class JobSnapshot(BaseModel):
    """The state of one tracked job, for both kinds."""

    job_id: str
    kind: JobKind
    status: str = Field(description="The service's own status word.")
    settled: bool = Field(description="True when nothing more will change (finished, failed or cancelled).")
    status_message: str | None = None
    progress: Progress | None = None
    outputs: list[JobOutput] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    needs_credits: bool = False
    download_ready: bool | None = Field(default=None, description="Motion only: whether the MP4 can be downloaded yet.")
    resource_uri: str
    checked_at: str = Field(description="When this snapshot was read from the service (UTC).")
    next_poll_after_seconds: float | None = Field(
        default=None, description="When polling again is useful; null once settled."
    )
    next_step: str = Field(description="What to do next.")

    def fingerprint(self) -> tuple[object, ...]:
        """What counts as a change worth notifying about (not the re-signed URLs or the clock)."""
        counts = self.progress.model_dump() if self.progress else None
        return (
            self.status,
            self.settled,
            self.status_message,
            counts,
            tuple(o.output_id for o in self.outputs),
            tuple(self.errors),
            self.needs_credits,
            self.download_ready,
        )


def _now(clock: Clock) -> str:
    return iso_utc(clock.wall())


def _error_text(error: object) -> str:
    """An upstream error as text, scrubbed of anything that looks like a key (it reaches results)."""
    if isinstance(error, str):
        return scrub(error)
    if isinstance(error, dict):
        for key in ("message", "detail", "error", "status_message"):
            value = error.get(key)
            if isinstance(value, str) and value:
                return scrub(value)
    return scrub(str(error)[:300])


def from_run(
    run_id: str, run: Run | RunSummary, *, needs_credits: bool | None = None, clock: Clock = SYSTEM_CLOCK
) -> JobSnapshot:
    """Snapshot of a Mosaic run, from the single-run body or a list summary."""
    settled = run.status in RUN_TERMINAL_STATUSES
    credits = run.needs_credits if isinstance(run, Run) else bool(needs_credits)
    counts = run.node_status_counts
    outputs = [
        JobOutput(
            output_id=o.id or f"output-{i}",
            video_url=o.video_url,
            thumbnail_url=o.thumbnail_url,
            premiere_url=o.premiere_prproj_url,
            render_id=o.id,
            node_id=o.original_node_id,
            completed_at=o.completed_at,
        )
        for i, o in enumerate(run.outputs)
    ]
    errors = [_error_text(e) for e in getattr(run, "errors", [])]
    snapshot = JobSnapshot(
        job_id=run_id,
        kind="mosaic_run",
        status=run.status,
        settled=settled,
        status_message=scrub(run.status_message) if run.status_message else None,
        progress=Progress(completed=counts.completed, in_progress=counts.in_progress, failed=counts.failed),
        outputs=outputs,
        errors=errors,
        needs_credits=credits,
        resource_uri=resource_uri("mosaic_run", run_id),
        checked_at=_now(clock),
        next_step="",
    )
    snapshot.next_step = _run_next_step(snapshot)
    return snapshot


def _run_next_step(s: JobSnapshot) -> str:
    if s.needs_credits:
        return (
            "The run stopped for lack of credits (needs_credits); finished tiles are kept. To continue: "
            "1) check_credits for the balance and auto top-up; 2) get_plan, and if there is no paid plan, "
            "list_plans then upgrade_plan — otherwise buy_credits (both ask the user, account toolset); "
            "optionally update_credit_settings to turn on auto top-up; "
            f"3) resume_run('{s.job_id}') (runs toolset) re-queues only the unfinished tiles."
        )
    if not s.settled:
        return f"Still running; call poll_job('{s.job_id}', wait_seconds=30) to wait for it."
    if s.status == "completed":
        return "Finished: share the video URLs, or call download_output to save them to disk."
    if s.status == "partial_complete":
        return "Finished with some tiles failed: outputs that exist are listed; see errors for the rest."
    if s.status == "cancelled":
        return "The run was cancelled; start a new one with run_agent if needed."
    return "The run failed; read errors, fix the inputs or parameters, and run the agent again."


def from_session(session: MotionSession, *, clock: Clock = SYSTEM_CLOCK) -> JobSnapshot:
    """Snapshot of a Motion session."""
    ready = session.download_ready
    failed = session.status == "failed"
    settled = failed or (session.status == "completed" and ready)
    outputs: list[JobOutput] = []
    if ready and session.output is not None:
        outputs.append(
            JobOutput(output_id="video", video_url=session.output.download_url, completed_at=session.completed_at)
        )
    errors = [] if session.error in (None, "", {}) else [_error_text(session.error)]
    snapshot = JobSnapshot(
        job_id=session.job_id,
        kind="motion_session",
        status=session.status,
        settled=settled,
        status_message=None,
        outputs=outputs,
        errors=errors,
        download_ready=ready,
        resource_uri=resource_uri("motion_session", session.job_id),
        checked_at=_now(clock),
        next_step="",
    )
    snapshot.next_step = _session_next_step(snapshot, session)
    return snapshot


def _session_next_step(s: JobSnapshot, session: MotionSession) -> str:
    if s.status == "failed":
        return "The session failed; read errors, adjust the prompt and create a new session."
    if s.status == "completed" and not s.download_ready:
        return f"Rendering the MP4; call poll_job('{s.job_id}', wait_seconds=30) until download_ready is true."
    if s.settled:
        return "Finished: share the video URL or call download_output; ask for changes with followup_video_session."
    if session.pending_user_input or s.status == "awaiting_user_input":
        return "Motion is waiting for input in its web app; the API cannot answer it — open the session there."
    return f"Still generating; call poll_job('{s.job_id}', wait_seconds=30) to wait for it."


def pending_snapshot(kind: JobKind, job_id: str, status: str, *, clock: Clock = SYSTEM_CLOCK) -> JobSnapshot:
    """The snapshot of a job that was just started and not yet read back."""
    snapshot = JobSnapshot(
        job_id=job_id,
        kind=kind,
        status=status,
        settled=False,
        resource_uri=resource_uri(kind, job_id),
        checked_at=_now(clock),
        next_step=f"Started; call poll_job('{job_id}', wait_seconds=30) to follow it.",
    )
    return snapshot


QUARANTINED = "quarantined"
"""The status of a job this server stopped following because its id or its data cannot be used."""


def quarantined_snapshot(
    kind: JobKind,
    job_id: str,
    reason: str,
    *,
    previous: JobSnapshot | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> JobSnapshot:
    """A settled snapshot for a job that cannot be followed: `reason` says why, in a full sentence's middle.

    What was known before (`previous`: progress, outputs, errors) is kept, so nothing already shown is lost.
    """
    where = "the Mosaic web app (or list_runs)" if kind == "mosaic_run" else "the Motion web app"
    note = f"Quarantined: mosaic-mcp stopped following this job because {reason}."
    return JobSnapshot(
        job_id=job_id,
        kind=kind,
        status=QUARANTINED,
        settled=True,
        status_message=previous.status_message if previous else None,
        progress=previous.progress if previous else None,
        outputs=list(previous.outputs) if previous else [],
        errors=[note, *(previous.errors if previous else [])],
        needs_credits=previous.needs_credits if previous else False,
        download_ready=previous.download_ready if previous else None,
        resource_uri=resource_uri(kind, job_id),
        checked_at=_now(clock),
        next_step=(
            f"This server no longer follows the job ({reason}). It may still exist upstream and may be "
            f"charged: check it in {where}. Do not start it again before checking."
        ),
    )
