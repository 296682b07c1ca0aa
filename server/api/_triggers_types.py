"""Mosaic YouTube triggers (section 2.8) and storage-trigger observability (section 2.12): responses."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ._types import APIModel, ObservabilityPage


class YouTubeChannelDetail(APIModel):
    """Metadata of a watched channel; fields stay null until the service refreshes them."""

    channel_id: str | None = None
    channel_name: str | None = None
    channel_handle: str | None = None
    thumbnail_url: str | None = None
    subscriber_count: int | None = None


class Trigger(APIModel):
    """One YouTube trigger node of an agent."""

    id: str
    type: str | None = None
    youtube_channels: list[str] = Field(default_factory=list)
    youtube_channel_details: list[YouTubeChannelDetail] = Field(default_factory=list)
    callback_url: str | None = None
    filter_options: dict[str, Any] | None = None


class ChannelResolution(APIModel):
    """How one given channel id or URL was resolved."""

    input: str | None = None
    channel_id: str | None = None


class TriggerChannelsAdded(APIModel):
    """POST /agent/{id}/triggers/add_youtube_channels."""

    message: str | None = None
    channel_ids: list[str] = Field(default_factory=list)
    channels: list[ChannelResolution] = Field(default_factory=list)
    youtube_channel_details: list[YouTubeChannelDetail] = Field(default_factory=list)


class TriggerChannelsRemoved(APIModel):
    """POST /agent/{id}/triggers/remove_youtube_channels (shape known only from a third party)."""

    message: str | None = None
    removed_channels: list[str] = Field(default_factory=list)


class StorageTriggerPage(ObservabilityPage):
    """GET /storage_triggers."""


class WatchedFolderPage(ObservabilityPage):
    """GET /storage_trigger/{id}/folders."""


class StorageEventPage(ObservabilityPage):
    """GET /storage_trigger/{id}/events."""


class IngestBatchPage(ObservabilityPage):
    """GET /automations/ingest-batches."""
