"""One snapshot model for Mosaic runs and Motion sessions: what `poll_job` and the job resources show.

A job is *settled* when nothing more will change that a person waits for: a Mosaic run in a
terminal status, a Motion session that failed, or one that completed **and** has its download
URL (Motion keeps working on the file after `completed`, reference section 4). A render that ends
with an `output.status` outside the documented four settles the session as failed. A session
waiting for a person (`awaiting_user_input`) is not settled, but nothing the API offers can move
it on, so the snapshot says so. After a follow-up that kept the session's id, readings that still
show the previous render are not the revision (`revision.py`).
"""

from typing import Literal

from pydantic import BaseModel, Field

from ..api.models import RUN_TERMINAL_STATUSES, MotionSession, Run, RunSummary
from ..redact import scrub
from .clock import SYSTEM_CLOCK, Clock, iso_utc
from .provenance import MediaSource, media_sources
from .revision import PreviousRender, moved_past, video_digest

JobKind = Literal["mosaic_run", "motion_session"]

RUN_URI = "mosaic://runs/{job_id}"
SESSION_URI = "motion://sessions/{job_id}"
JOBS_INDEX_URI = "mosaic://jobs"


def resource_uri(kind: JobKind, job_id: str) -> str:
    """The MCP resource URI of a job."""
    return (RUN_URI if kind == "mosaic_run" else SESSION_URI).format(job_id=job_id)


class Progress(BaseModel):
    """Tile counts of a Mosaic run (Motion sessions report none)."""

    completed: int = Field(default=0, description="Tiles finished.")
    in_progress: int = Field(default=0, description="Tiles running.")
    failed: int = Field(default=0, description="Tiles failed.")


class JobOutput(BaseModel):
    """One finished output of a job."""

    output_id: str = Field(description="Render id of a Mosaic output, or 'video' for a Motion session.")
    video_url: str | None = Field(default=None, description="Signed URL of the video (expires).")
    thumbnail_url: str | None = Field(default=None, description="Signed URL of a still (expires).")
    premiere_url: str | None = Field(default=None, description="Premiere Pro timeline zip, when offered.")
    render_id: str | None = Field(
        default=None,
        description="Pass in run_agent's node_render_ids to chain this output into another agent.",
    )
    node_id: str | None = Field(default=None, description="Template node that produced the output.")
    completed_at: str | None = Field(default=None, description="When it was rendered.")
    sources: list[MediaSource] = Field(
        default_factory=list, description="Provenance: licensed or external media the video uses, and their rights."
    )


class JobSnapshot(BaseModel):
    """The state of one tracked job, for both kinds."""

    job_id: str = Field(description="The run or session id.")
    kind: JobKind = Field(description="A Mosaic agent run or a Motion session.")
    status: str = Field(description="The service's own status word.")
    settled: bool = Field(description="True when nothing more will change (finished, failed or cancelled).")
    status_message: str | None = Field(default=None, description="What the service says about it.")
    progress: Progress | None = Field(default=None, description="Mosaic only: tiles by state.")
    outputs: list[JobOutput] = Field(default_factory=list, description="Finished outputs.")
    errors: list[str] = Field(default_factory=list, description="What went wrong.")
    needs_credits: bool = Field(default=False, description="True when the run stopped for lack of credits.")
    download_ready: bool | None = Field(default=None, description="Motion only: whether the MP4 can be downloaded yet.")
    pending_user_input: bool = Field(
        default=False,
        description="Motion only: waiting for an answer only the Motion web app can give (the API cannot "
        "answer); poll_job does not wait.",
    )
    web_url: str | None = Field(default=None, description="Motion only: the session in its web app, when given.")
    updated_at: str | None = Field(default=None, description="Motion only: when the service last changed the job.")
    replaces_render: PreviousRender | None = Field(
        default=None,
        description="Motion only: a follow-up kept the session's id; readings that still show this previous "
        "render are not the revision.",
    )
    resource_uri: str = Field(description="Read or subscribe to follow the job.")
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
            self.pending_user_input,
            self.replaces_render is None,
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
            sources=media_sources(o.sources),
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


def from_session(
    session: MotionSession, *, replaces: PreviousRender | None = None, clock: Clock = SYSTEM_CLOCK
) -> JobSnapshot:
    """Snapshot of a Motion session; `replaces` is the render a same-id follow-up must move past."""
    if replaces is not None and moved_past(session, replaces):
        replaces = None
    stale = replaces is not None
    ready = session.download_ready and not stale
    render_failed = session.output is not None and session.output.render_failed and not stale
    failed = session.status == "failed" or render_failed
    waiting = not stale and (session.pending_user_input or session.status == "awaiting_user_input")
    outputs: list[JobOutput] = []
    if ready and session.output is not None:
        video = JobOutput(
            output_id="video",
            video_url=session.output.download_url,
            completed_at=session.completed_at,
            sources=media_sources(session.sources),
        )
        outputs.append(video)
    errors = [] if session.error in (None, "", {}) else [_error_text(session.error)]
    if render_failed and session.output is not None:
        errors.append(_render_error(session.output.status, session.output.error))
    web_url = session.web_url if session.web_url and session.web_url.startswith("https://") else None
    snapshot = JobSnapshot(
        job_id=session.job_id,
        kind="motion_session",
        status="failed" if render_failed else session.status,
        settled=failed or (session.status == "completed" and ready),
        status_message=_session_message(stale=stale, waiting=waiting, web_url=web_url),
        outputs=outputs,
        errors=errors,
        download_ready=ready,
        pending_user_input=waiting,
        web_url=web_url,
        updated_at=session.updated_at,
        replaces_render=replaces,
        resource_uri=resource_uri("motion_session", session.job_id),
        checked_at=_now(clock),
        next_step="",
    )
    snapshot.next_step = _session_next_step(snapshot)
    return snapshot


def _render_error(status: str | None, error: object) -> str:
    said = "" if error in (None, "", {}) else f": {_error_text(error)}"
    return f"The MP4 render failed after the session completed (output.status '{scrub(str(status))[:40]}'){said}"


def _session_message(*, stale: bool, waiting: bool, web_url: str | None) -> str | None:
    if stale:
        return "The follow-up was accepted; the service still shows the previous render, which is not the revision."
    if waiting:
        where = f"open {web_url}" if web_url else "open the session in the Motion web app"
        return (
            "Motion is waiting for input (awaiting_user_input). The Motion API has no way to answer it: "
            f"{where} to answer, or wait — it may go on by itself."
        )
    return None


def _session_next_step(s: JobSnapshot) -> str:
    if s.status == "failed":
        return "The session failed; read errors, adjust the prompt and create a new session."
    if s.replaces_render is not None:
        return f"Revising; call poll_job('{s.job_id}', wait_seconds=30) until the revision is settled."
    if s.status == "completed" and not s.download_ready:
        return f"Rendering the MP4; call poll_job('{s.job_id}', wait_seconds=30) until download_ready is true."
    if s.settled:
        return "Finished: share the video URL or call download_output; ask for changes with followup_video_session."
    if s.pending_user_input:
        link = f" at {s.web_url}" if s.web_url else ""
        return (
            f"Ask the user to answer Motion in its web app{link}; the API cannot. Then call "
            f"poll_job('{s.job_id}') now and then (it is polled slowly meanwhile, and poll_job does not wait)."
        )
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


NOT_FOUND = "not_found"
"""The status of a job its service no longer knows (404 on reading it)."""


def not_found_snapshot(previous: JobSnapshot, *, clock: Clock = SYSTEM_CLOCK) -> JobSnapshot:
    """A settled snapshot for a job the service answered 404 for, read now; what was known before is kept."""
    return previous.model_copy(
        update={
            "status": NOT_FOUND,
            "settled": True,
            "errors": ["The service no longer knows this job (404); it may have been deleted."],
            "pending_user_input": False,
            "replaces_render": None,
            "checked_at": _now(clock),
            "next_poll_after_seconds": None,
            "next_step": "Nothing more to follow; start a new job if needed.",
        }
    )


def previous_render(parent: JobSnapshot | None, requested_at: float) -> PreviousRender:
    """What a follow-up that kept the session's id must move past, from the session's last snapshot (if any)."""
    video = parent.outputs[0] if parent is not None and parent.outputs else None
    return PreviousRender(
        requested_at=iso_utc(requested_at),
        completed_at=video.completed_at if video else None,
        updated_at=parent.updated_at if parent is not None else None,
        video=video_digest(video.video_url) if video else None,
    )
