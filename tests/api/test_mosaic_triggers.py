"""MosaicClient: YouTube triggers and the storage and ingest observability endpoints against the sandbox."""

from __future__ import annotations

import pytest

from mosaic_mcp.server.api import MosaicClient, NotFoundError
from mosaic_mcp.server.sandbox import Sandbox, seed

pytestmark = pytest.mark.anyio

NEW_CHANNEL = "UC_x5XG1OV2P6uZZ5FSM9Ttw"


async def test_list_triggers(mosaic: MosaicClient) -> None:
    """list_triggers parses the bare JSON array of trigger nodes."""
    triggers = await mosaic.list_triggers(seed.CAPTIONS_AGENT_ID)
    (trigger,) = [t for t in triggers if t.id == seed.TRIGGER_ID]
    assert seed.TRIGGER_CHANNEL_ID in trigger.youtube_channels
    assert trigger.type == "youtube"
    assert await mosaic.list_triggers(seed.PIP_AGENT_ID) == []


async def test_add_youtube_channels(mosaic: MosaicClient) -> None:
    """add_youtube_channels merges channels (with a duration filter) and reports their ids."""
    added = await mosaic.add_youtube_channels(
        seed.PODCAST_AGENT_ID,
        [NEW_CHANNEL],
        trigger_callback_url="https://example.com/hook",
        min_seconds=60,
        max_seconds=3600,
    )
    assert NEW_CHANNEL in added.channel_ids
    (trigger,) = await mosaic.list_triggers(seed.PODCAST_AGENT_ID)
    assert trigger.callback_url == "https://example.com/hook"
    assert trigger.filter_options == {"duration": {"min_seconds": 60, "max_seconds": 3600}}


async def test_remove_youtube_channels(mosaic: MosaicClient) -> None:
    """remove_youtube_channels drops channels; an emptied trigger disappears."""
    await mosaic.add_youtube_channels(seed.GENERATOR_AGENT_ID, [NEW_CHANNEL])
    removed = await mosaic.remove_youtube_channels(seed.GENERATOR_AGENT_ID, [NEW_CHANNEL])
    assert removed.message
    assert await mosaic.list_triggers(seed.GENERATOR_AGENT_ID) == []


async def test_list_storage_triggers(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """list_storage_triggers finds the list under its undocumented key."""
    page = await mosaic.list_storage_triggers(limit=10, from_="2026-01-01T00:00:00Z")
    assert page.items == []
    assert page.next_cursor is None
    (record,) = sandbox.requests.matching("GET", "/storage_triggers")
    assert "limit=10" in record.query
    assert "from=2026-01-01" in record.query


async def test_list_watched_folders(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """list_watched_folders reaches its route (the sandbox has no storage trigger: 404)."""
    with pytest.raises(NotFoundError, match="Storage trigger"):
        await mosaic.list_watched_folders("no-such-trigger")
    assert sandbox.count("GET", "/storage_trigger/{trigger_id}/folders") == 1


async def test_list_storage_events(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """list_storage_events reaches its route (the sandbox has no storage trigger: 404)."""
    with pytest.raises(NotFoundError, match="Storage trigger"):
        await mosaic.list_storage_events("no-such-trigger")
    assert sandbox.count("GET", "/storage_trigger/{trigger_id}/events") == 1


async def test_list_ingest_batches(mosaic: MosaicClient) -> None:
    """list_ingest_batches parses an empty page."""
    page = await mosaic.list_ingest_batches(workspace_id=seed.WORKSPACE_ID)
    assert page.items == []
    assert page.next_cursor is None
