"""Core account tool: check_credits."""

from typing import Any

from mcp.server.mcpserver import Context

from ..server.credits import CreditsReport, credits_report
from ..server.runtime import Runtime
from ._registry import READ, Registrar, runtime


def register(tools: Registrar) -> None:
    """Register the account tools."""

    @tools.tool(toolset="core", annotations=READ, title="Check the credit balance")
    async def check_credits(ctx: Context[Runtime, Any]) -> CreditsReport:
        """Show the Mosaic credit balance, plan, auto top-up state and recent spending (by tile, and
        how many jobs this server started); free. Check before starting large runs."""
        rt = runtime(ctx)
        return await credits_report(rt.mosaic, rt.jobs)
