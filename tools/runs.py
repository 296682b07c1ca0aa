"""Toolset `runs`: run history (per agent, all, per trigger), run nodes and progress, resume, automations."""

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from ..server.api.models import AutomationRunPage, RunNodes, RunPage, RunProgress
from ..server.runtime import Runtime
from ..server.usecases import resume_agent_run
from ._common import Cursor, Id, Limit, Since, Until, UpdatedFrom
from ._registry import READ, SPEND, Registrar, runtime
from .handles import JobHandle

RunId = Annotated[Id, Field(description="run id (job_id of a Mosaic run).")]


class ResumeHandle(JobHandle):
    """A resumed run: follow it like a new one."""

    nodes_queued: int | None = Field(default=None, description="Tiles re-queued (unfinished ones only).")


def register(tools: Registrar) -> None:
    """Register the run tools."""

    @tools.tool(toolset="runs", annotations=READ, title="List agent runs")
    async def list_runs(
        ctx: Context[Runtime, Any],
        agent_id: Annotated[str | None, Field(description="Only this agent's runs.")] = None,
        trigger_id: Annotated[str | None, Field(description="Only runs started by this trigger.")] = None,
        status: Annotated[
            str | None, Field(description="Comma list: running, completed, partial_complete, failed, cancelled.")
        ] = None,
        from_date: Since = None,
        to_date: Until = None,
        limit: Limit = 25,
        cursor: Cursor = None,
    ) -> RunPage:
        """List Mosaic runs, newest first — of one agent, one trigger, or all — including runs not
        started here; free. Summaries omit needs_credits: use poll_job(run_id) for one run."""
        mosaic = runtime(ctx).mosaic
        filters: dict[str, Any] = {"limit": limit, "cursor": cursor, "status": status}
        filters |= {"from_": from_date, "to": to_date}
        if trigger_id is not None:
            return await mosaic.list_trigger_runs(trigger_id, **filters)
        if agent_id is not None:
            return await mosaic.list_agent_runs(agent_id, **filters)
        return await mosaic.list_runs(**filters)

    @tools.tool(toolset="runs", annotations=READ, title="Show a run's tiles")
    async def get_run_nodes(run_id: RunId, ctx: Context[Runtime, Any]) -> RunNodes:
        """Per-tile state of a run: status, errors, needs_credits; original_node_id maps each runtime
        tile back to the agent's tile. Free. Use it to see which tile failed."""
        return await runtime(ctx).mosaic.get_run_nodes(run_id)

    @tools.tool(toolset="runs", annotations=READ, title="Show a run's progress")
    async def get_run_progress(
        run_id: RunId,
        ctx: Context[Runtime, Any],
        updated_from: UpdatedFrom = None,
        limit: Limit = 25,
        cursor: Cursor = None,
    ) -> RunProgress:
        """Whole-run tile counts and percent done, plus one page of tiles with their recent tasks;
        free. Not an ETA."""
        return await runtime(ctx).mosaic.get_run_progress(run_id, limit=limit, cursor=cursor, updated_from=updated_from)

    @tools.tool(toolset="runs", annotations=SPEND, title="Resume a failed run", spends_credits=True)
    async def resume_run(run_id: RunId, ctx: Context[Runtime, Any]) -> ResumeHandle:
        """Re-queue a failed or cancelled run (e.g. after topping up credits); only unfinished tiles
        run again. SPENDS credits for them. Follow it with poll_job. A run in any other state is
        refused, with what to do instead."""
        resumed = await resume_agent_run(runtime(ctx), run_id, session=ctx.session)
        handle = JobHandle.of(resumed.record)
        return ResumeHandle(**handle.model_dump(), nodes_queued=resumed.nodes_queued)

    @tools.tool(toolset="runs", annotations=READ, title="List automation runs")
    async def list_automation_runs(
        ctx: Context[Runtime, Any],
        agent_id: Annotated[str | None, Field(description="Only this agent's.")] = None,
        from_date: Since = None,
        to_date: Until = None,
        updated_from: UpdatedFrom = None,
        limit: Limit = 25,
        cursor: Cursor = None,
    ) -> AutomationRunPage:
        """List runs started by automations (watched folders, triggers) for tracing; free."""
        return await runtime(ctx).mosaic.list_automation_runs(
            agent_id=agent_id, from_=from_date, to=to_date, updated_from=updated_from, limit=limit, cursor=cursor
        )
