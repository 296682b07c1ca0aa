"""Toolset `triggers`: YouTube channel triggers, and read-only storage-trigger observability."""

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from ..server.api.models import (
    IngestBatchPage,
    StorageEventPage,
    StorageTriggerPage,
    Trigger,
    TriggerChannelsAdded,
    TriggerChannelsRemoved,
    WatchedFolderPage,
)
from ..server.runtime import Runtime
from ._common import Cursor, Id, Limit, Since, Until, UpdatedFrom
from ._registry import CHANGE, DESTROY, READ, Registrar, runtime
from .agents import AgentId

Channels = Annotated[
    list[str], Field(min_length=1, description="Channel ids (UC…) or channel URLs (https://www.youtube.com/@name).")
]
TriggerId = Annotated[Id, Field(description="Storage trigger id from list_storage_triggers.")]


class TriggerList(BaseModel):
    """An agent's YouTube triggers."""

    triggers: list[Trigger] = Field(description="The triggers.")


def register(tools: Registrar) -> None:
    """Register the trigger tools."""

    @tools.tool(toolset="triggers", annotations=READ, title="List an agent's triggers")
    async def list_triggers(agent_id: AgentId, ctx: Context[Runtime, Any]) -> TriggerList:
        """List the YouTube channels that start an agent automatically, with duration filters; free."""
        return TriggerList(triggers=await runtime(ctx).mosaic.list_triggers(agent_id))

    @tools.tool(toolset="triggers", annotations=CHANGE, title="Watch YouTube channels", spends_credits=True)
    async def add_youtube_channels(
        agent_id: AgentId,
        youtube_channels: Channels,
        ctx: Context[Runtime, Any],
        callback_url: Annotated[str | None, Field(description="Webhook URL for the runs it starts.")] = None,
        min_seconds: Annotated[int | None, Field(ge=0, description="Skip videos shorter than this.")] = None,
        max_seconds: Annotated[int | None, Field(ge=0, description="Skip videos longer than this.")] = None,
    ) -> TriggerChannelsAdded:
        """Run an agent automatically on every new video of these channels (added to existing ones).
        Free now, but each new video starts a run that SPENDS credits."""
        return await runtime(ctx).mosaic.add_youtube_channels(
            agent_id,
            youtube_channels,
            trigger_callback_url=callback_url,
            min_seconds=min_seconds,
            max_seconds=max_seconds,
        )

    @tools.tool(toolset="triggers", annotations=DESTROY, title="Stop watching YouTube channels")
    async def remove_youtube_channels(
        agent_id: AgentId, youtube_channels: Channels, ctx: Context[Runtime, Any]
    ) -> TriggerChannelsRemoved:
        """Stop running an agent on these channels' new videos (other channels stay); free."""
        return await runtime(ctx).mosaic.remove_youtube_channels(agent_id, youtube_channels)

    @tools.tool(toolset="triggers", annotations=READ, title="List storage triggers")
    async def list_storage_triggers(
        ctx: Context[Runtime, Any],
        agent_id: Annotated[str | None, Field(description="Only this agent's.")] = None,
        updated_from: UpdatedFrom = None,
        limit: Limit = 25,
        cursor: Cursor = None,
    ) -> StorageTriggerPage:
        """List Google Drive / Dropbox / S3 folder triggers (set up in the editor); free."""
        return await runtime(ctx).mosaic.list_storage_triggers(
            agent_id=agent_id, updated_from=updated_from, limit=limit, cursor=cursor
        )

    @tools.tool(toolset="triggers", annotations=READ, title="List watched folders")
    async def list_watched_folders(
        trigger_id: TriggerId, ctx: Context[Runtime, Any], limit: Limit = 25, cursor: Cursor = None
    ) -> WatchedFolderPage:
        """List the folders a storage trigger watches, with watcher status and last error; free."""
        return await runtime(ctx).mosaic.list_watched_folders(trigger_id, limit=limit, cursor=cursor)

    @tools.tool(toolset="triggers", annotations=READ, title="List storage events")
    async def list_storage_events(
        trigger_id: TriggerId,
        ctx: Context[Runtime, Any],
        from_date: Since = None,
        to_date: Until = None,
        limit: Limit = 25,
        cursor: Cursor = None,
    ) -> StorageEventPage:
        """List a storage trigger's ingestion events (files seen, batch ids); free."""
        return await runtime(ctx).mosaic.list_storage_events(
            trigger_id, from_=from_date, to=to_date, limit=limit, cursor=cursor
        )

    @tools.tool(toolset="triggers", annotations=READ, title="List ingest batches")
    async def list_ingest_batches(
        ctx: Context[Runtime, Any],
        agent_id: Annotated[str | None, Field(description="Only this agent's.")] = None,
        from_date: Since = None,
        to_date: Until = None,
        limit: Limit = 25,
        cursor: Cursor = None,
    ) -> IngestBatchPage:
        """List storage ingestion batches (files grouped into runs) for tracing; free."""
        return await runtime(ctx).mosaic.list_ingest_batches(
            agent_id=agent_id, from_=from_date, to=to_date, limit=limit, cursor=cursor
        )
