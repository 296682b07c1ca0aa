"""Core, app-only: refresh_job_card, the tool the job card (MCP Apps view) calls to update itself."""

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from ..server.runtime import Runtime
from ..server.usecases import APP_ONLY_META, JobCard, job_card
from ._registry import READ, Registrar, runtime


def register(tools: Registrar) -> None:
    """Register the job card's tool."""

    @tools.tool(toolset="core", annotations=READ, title="Refresh the job card", meta=APP_ONLY_META)
    async def refresh_job_card(
        job_id: Annotated[str, Field(min_length=1, max_length=200, description="job_id the card shows.")],
        ctx: Context[Runtime, Any],
    ) -> JobCard:
        """For the job card view only (hosts with MCP Apps hide it from the model): the job's current
        state as the card shows it; free, never waits. Models use poll_job instead."""
        return await job_card(runtime(ctx), job_id)
