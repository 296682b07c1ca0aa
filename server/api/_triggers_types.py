"""Mosaic YouTube triggers (section 2.8) and storage-trigger observability (section 2.12): responses."""

from typing import Any

from pydantic import Field

from ._types import APIModel, ObservabilityPage


class YouTubeChannelDetail(APIModel):
    """Metadata of a watched channel; fields stay null until the service refreshes them."""

    channel_id: str | None = Field(default=None, description="The channel id.")
    channel_name: str | None = Field(default=None, description="Its name.")
    channel_handle: str | None = Field(default=None, description="Its @handle.")
    thumbnail_url: str | None = Field(default=None, description="Its picture.")
    subscriber_count: int | None = Field(default=None, description="Its subscribers.")


class Trigger(APIModel):
    """One YouTube trigger node of an agent."""

    id: str = Field(description="The trigger's id.")
    type: str | None = Field(default=None, description="The trigger's kind.")
    youtube_channels: list[str] = Field(default_factory=list, description="Watched channel ids.")
    youtube_channel_details: list[YouTubeChannelDetail] = Field(
        default_factory=list, description="Watched channels' details."
    )
    callback_url: str | None = Field(default=None, description="Where run events are sent, if set.")
    filter_options: dict[str, Any] | None = Field(default=None, description="Which new videos start a run.")


class ChannelResolution(APIModel):
    """How one given channel id or URL was resolved."""

    input: str | None = Field(default=None, description="The channel id or URL given.")
    channel_id: str | None = Field(default=None, description="The channel id it resolved to.")


class TriggerChannelsAdded(APIModel):
    """POST /agent/{id}/triggers/add_youtube_channels."""

    message: str | None = Field(default=None, description="The service's message.")
    channel_ids: list[str] = Field(default_factory=list, description="The channels now watched.")
    channels: list[ChannelResolution] = Field(default_factory=list, description="How each given channel was resolved.")
    youtube_channel_details: list[YouTubeChannelDetail] = Field(
        default_factory=list, description="Watched channels' details."
    )


class TriggerChannelsRemoved(APIModel):
    """POST /agent/{id}/triggers/remove_youtube_channels (shape known only from a third party)."""

    message: str | None = Field(default=None, description="The service's message.")
    removed_channels: list[str] = Field(default_factory=list, description="The channels no longer watched.")


class StorageTriggerPage(ObservabilityPage):
    """GET /storage_triggers."""


class WatchedFolderPage(ObservabilityPage):
    """GET /storage_trigger/{id}/folders."""


class StorageEventPage(ObservabilityPage):
    """GET /storage_trigger/{id}/events."""


class IngestBatchPage(ObservabilityPage):
    """GET /automations/ingest-batches."""
