"""Core tools for following jobs: poll_job, list_jobs, cancel_job."""

from typing import Annotated, Any

from mcp.server.apps import client_supports_apps
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, ContentBlock, TextContent
from pydantic import BaseModel, Field

from ..server.jobs.intents import UnresolvedStart
from ..server.jobs.snapshot import JobSnapshot
from ..server.runtime import Runtime
from ..server.usecases import CARD_NOTE, CARD_TOOL_META, read_job, tracked_jobs
from ._registry import DESTROY, LOCAL_READ, READ, Registrar, runtime

JobId = Annotated[str, Field(min_length=1, max_length=200, description="job_id from a job-starting tool.")]


class JobList(BaseModel):
    """Tracked jobs, newest first, and starts whose outcome is not a tracked job."""

    jobs: list[JobSnapshot] = Field(description="Tracked jobs, newest first.")
    count: int = Field(description="How many jobs are listed.")
    unresolved: list[UnresolvedStart] = Field(
        default_factory=list,
        description="Job starts and payments of the last 7 days that may exist upstream but are not tracked "
        "(an answer was lost, or the server stopped mid-request): check them before starting again.",
    )


def register(tools: Registrar) -> None:
    """Register the job tools."""

    @tools.tool(toolset="core", annotations=READ, title="Check or wait for a job", meta=CARD_TOOL_META)
    async def poll_job(
        job_id: JobId,
        ctx: Context[Runtime, Any],
        wait_seconds: Annotated[
            float,
            Field(
                ge=0,
                le=3600,
                description="Wait up to this long for the job to finish (capped by the server, 45 s by "
                "default); 0 returns the current state at once.",
            ),
        ] = 0,
        include_thumbnail: Annotated[
            bool, Field(description="Also return the first output's thumbnail as a small image you can look at.")
        ] = False,
    ) -> Annotated[CallToolResult, JobSnapshot]:
        """Get the status, progress and outputs of a Mosaic run or Motion session; free (spends no
        credits). Use wait_seconds (e.g. 30) to wait for it to finish; if `settled` is still false
        afterwards, call again. Outputs carry video/thumbnail URLs and render ids for chaining;
        include_thumbnail=true shows you a small preview image of the result."""
        reading = await read_job(
            runtime(ctx),
            job_id,
            wait_seconds=wait_seconds,
            include_thumbnail=include_thumbnail,
            progress=ctx.report_progress,
        )
        snapshot, thumb = reading.snapshot, reading.thumbnail
        content: list[ContentBlock] = [TextContent(type="text", text=snapshot.model_dump_json(indent=2))]
        if thumb is not None:
            content.append(thumb.image or TextContent(type="text", text=f"Thumbnail: {thumb.note}"))
        if client_supports_apps(ctx):
            content.append(TextContent(type="text", text=CARD_NOTE))
        return CallToolResult(content=content, structured_content=snapshot.model_dump(mode="json"))

    @tools.tool(toolset="core", annotations=LOCAL_READ, title="List tracked jobs")
    async def list_jobs(
        ctx: Context[Runtime, Any],
        active_only: Annotated[bool, Field(description="Only jobs that are still running.")] = False,
        limit: Annotated[int, Field(ge=1, le=100, description="How many jobs at most.")] = 20,
    ) -> JobList:
        """List the jobs this server has started or followed (runs and Motion sessions), newest
        first, with their last known state, and any start whose outcome is unknown (`unresolved`:
        it may exist and be charged — check it before starting again); free. Use poll_job for a
        fresh reading of one."""
        tracked = await tracked_jobs(runtime(ctx), active_only=active_only, limit=limit)
        return JobList(jobs=tracked.jobs, count=len(tracked.jobs), unresolved=tracked.unresolved)

    @tools.tool(toolset="core", annotations=DESTROY, title="Cancel a Mosaic run")
    async def cancel_job(job_id: JobId, ctx: Context[Runtime, Any]) -> JobSnapshot:
        """Stop a running Mosaic run (tiles not yet finished are not charged). Motion sessions
        cannot be cancelled through the API. Returns the job's state after the cancel; a run that
        had already finished is returned as it ended (completed, failed…), not as an error."""
        record = await runtime(ctx).jobs.cancel(job_id)
        return record.snapshot
