"""Core tools for Mosaic agents: list_agents, get_agent, list_node_types, run_agent."""

from typing import Annotated, Any

from mcp.server.apps import client_supports_apps
from mcp.server.mcpserver import Context, Resolve
from mcp.types import ListRootsResult
from pydantic import BaseModel, Field

from ..server.agent_view import AgentView, agent_view
from ..server.api import rules
from ..server.api.models import NodeType
from ..server.api.requests import MimirAsset, RunRequest, VideoInput
from ..server.local_files import NO_ROOTS, RootsAnswer, client_roots
from ..server.runtime import Runtime
from ..server.usecases import CARD_TOOL_META, start_agent_run
from ._common import ClosedInput
from ._registry import READ, SPEND, Registrar, runtime
from .handles import JobHandle

AgentId = Annotated[rules.ApiId, Field(description="agent id from list_agents.")]


class AgentItem(BaseModel):
    """One agent in a list."""

    agent_id: str = Field(description="Pass to get_agent or run_agent.")
    name: str | None = Field(description="The agent's name.")
    description: str | None = Field(default=None, description="The agent's description, if any.")
    updated_at: str | None = Field(default=None, description="When it last changed.")


class AgentList(BaseModel):
    """A page of agents."""

    agents: list[AgentItem] = Field(description="The agents.")
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null at the end.")


class NodeTypeList(BaseModel):
    """The tiles agents can be built from."""

    node_types: list[NodeType] = Field(description="The tile types.")


class MimirAssetArg(ClosedInput):
    """An asset of the organization's Mimir integration."""

    id: str = Field(description="The Mimir asset id.")
    artifact: rules.MimirArtifact | None = Field(
        default=None, description="Which file to read: highres (the default), proxy or auto."
    )


MimirAssets = Annotated[
    list[MimirAssetArg] | None,
    Field(description="Assets from a Mimir integration (needs one connected in Mosaic)."),
]


class VideoInputArg(ClosedInput):
    """The sources for one Video Input tile (for agents with several)."""

    agent_node_id: str = Field(description="The Video Input tile (see get_agent).")
    video_urls: list[str] = Field(default_factory=list, description="YouTube or http(s) video URLs.")
    video_ids: list[str] = Field(default_factory=list, description="Uploaded video ids.")
    node_render_ids: list[str] = Field(default_factory=list, description="Render ids of earlier outputs.")
    mimir_assets: list[MimirAssetArg] = Field(default_factory=list, description="Assets from a Mimir integration.")
    input_clip_start_ms: int | None = Field(default=None, ge=0, description="Use the source from here (ms).")
    input_clip_end_ms: int | None = Field(default=None, ge=0, description="Use the source up to here (ms).")
    files: list[str] = Field(
        default_factory=list, description="Video files on this computer for this tile (uploaded first; no credits)."
    )


async def _roots_for_run(
    ctx: Context[Any, Any], files: list[str] | None = None, video_inputs: list[VideoInputArg] | None = None
) -> RootsAnswer:
    """The client's roots, asked for only when local files are given."""
    wanted = bool(files) or any(v.files for v in video_inputs or [])
    return await client_roots(ctx) if wanted else NO_ROOTS


def register(tools: Registrar) -> None:
    """Register the agent tools."""

    @tools.tool(toolset="core", annotations=READ, title="List Mosaic agents")
    async def list_agents(
        ctx: Context[Runtime, Any],
        limit: Annotated[int, Field(ge=1, le=100, description="Agents per page.")] = 25,
        cursor: Annotated[str | None, Field(description="next_cursor from the previous page.")] = None,
    ) -> AgentList:
        """List the organization's Mosaic agents (saved editing pipelines such as "captions + vertical
        reframe"); free. Then get_agent to see what an agent needs, and run_agent to run it."""
        page = await runtime(ctx).mosaic.list_agents(limit=limit, cursor=cursor)
        items = [
            AgentItem(agent_id=a.id, name=a.name, description=a.description, updated_at=a.updated_at)
            for a in page.agents
        ]
        return AgentList(agents=items, next_cursor=page.next_cursor)

    @tools.tool(toolset="core", annotations=READ, title="Show an agent's tiles and inputs")
    async def get_agent(agent_id: AgentId, ctx: Context[Runtime, Any]) -> AgentView:
        """Show an agent's graph compactly: its tiles, which are Video Input tiles (what run_agent
        must be given), each tile's current parameters, its documented parameters where known, and
        its docs link; free. Read it before run_agent to fill video inputs and update_params correctly."""
        return agent_view(await runtime(ctx).mosaic.get_agent(agent_id))

    @tools.tool(toolset="core", annotations=READ, title="List tile types")
    async def list_node_types(ctx: Context[Runtime, Any]) -> NodeTypeList:
        """List the tile types (node types) Mosaic agents are built from, with docs links; free."""
        return NodeTypeList(node_types=await runtime(ctx).mosaic.list_node_types())

    @tools.tool(toolset="core", annotations=SPEND, title="Run a Mosaic agent", spends_credits=True, meta=CARD_TOOL_META)
    async def run_agent(
        agent_id: AgentId,
        ctx: Context[Runtime, Any],
        roots: Annotated[ListRootsResult, Resolve(_roots_for_run)],
        video_urls: Annotated[
            list[str] | None,
            Field(description="YouTube or http(s) video URLs (agents with one Video Input)."),
        ] = None,
        video_ids: Annotated[list[str] | None, Field(description="Uploaded video ids (one Video Input).")] = None,
        files: Annotated[
            list[str] | None,
            Field(description="Video files on this computer, e.g. ~/Videos/launch.mov (one Video Input)."),
        ] = None,
        node_render_ids: Annotated[
            list[str] | None,
            Field(description="Render ids of earlier outputs, to chain runs (one Video Input)."),
        ] = None,
        mimir_assets: MimirAssets = None,
        video_inputs: Annotated[
            list[VideoInputArg] | None,
            Field(description="One entry per Video Input tile — required for agents with several."),
        ] = None,
        update_params: Annotated[
            dict[str, dict[str, Any]] | None,
            Field(description="Per-run parameter overrides: {agent_node_id: {param: value}} (see get_agent)."),
        ] = None,
        ignore_nodes: Annotated[
            list[str] | None, Field(description="agent_node_ids of tiles to skip for this run.")
        ] = None,
        callback_url: Annotated[
            str | None, Field(description="Optional https URL that receives this run's webhooks.")
        ] = None,
    ) -> JobHandle:
        """Run a Mosaic agent on input videos. SPENDS credits (per tile). Inputs and parameters are
        checked against the agent's graph first, so a mistake costs nothing. Returns at once with a
        job_id; runs take minutes — follow with poll_job. Generation-only agents take no inputs."""
        request = RunRequest(
            video_urls=video_urls or [],
            video_ids=video_ids or [],
            node_render_ids=node_render_ids or [],
            mimir_assets=[MimirAsset(**m.model_dump()) for m in mimir_assets or []],
            video_inputs=[VideoInput(**v.model_dump(exclude={"files"})) for v in video_inputs or []],
            update_params=update_params or {},
            ignore_nodes=ignore_nodes or [],
            callback_url=callback_url,
        )
        started = await start_agent_run(
            runtime(ctx),
            agent_id,
            request,
            roots=roots,
            files=files or [],
            input_files=[v.files for v in video_inputs or []],
            progress=ctx.report_progress,
            session=ctx.session,
        )
        return JobHandle.of(started.record, started.warnings, card=client_supports_apps(ctx))
