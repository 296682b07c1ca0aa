"""Mosaic YouTube triggers (section 2.8) and the read-only storage-trigger observability endpoints (section 2.12).

The automation-runs listing of section 2.12 lives with the other run listings in `_runs`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._base import ClientBase, Timestamp
from ._triggers_types import (
    IngestBatchPage,
    StorageEventPage,
    StorageTriggerPage,
    Trigger,
    TriggerChannelsAdded,
    TriggerChannelsRemoved,
    WatchedFolderPage,
)
from .validation import check_callback_url, validate_duration_filter, validate_youtube_channels


class TriggersAPI(ClientBase):
    """YouTube triggers of an agent, storage-trigger observability and ingest batches."""

    async def list_triggers(self, agent_id: str) -> list[Trigger]:
        """GET /agent/{id}/triggers: the agent's YouTube trigger nodes (a bare JSON array)."""
        path = self._path("/agent/{agent_id}/triggers", agent_id=agent_id)
        data = await self._http.request_json("GET", path, retry="idempotent")
        if isinstance(data, dict) and isinstance(data.get("triggers"), list):
            data = data["triggers"]  # tolerate an object envelope as well
        if data is None:
            return []  # the older single-trigger form answered null for "none"
        if isinstance(data, dict):
            data = [data]
        return [self._http.parse(Trigger, item, "GET", path) for item in data]

    async def add_youtube_channels(
        self,
        agent_id: str,
        youtube_channels: Sequence[str],
        *,
        trigger_callback_url: str | None = None,
        clear_trigger_callback_url: bool = False,
        min_seconds: int | None = None,
        max_seconds: int | None = None,
    ) -> TriggerChannelsAdded:
        """POST …/add_youtube_channels: watch channels (additive; duration filter picks the trigger)."""
        path = self._path("/agent/{agent_id}/triggers/add_youtube_channels", agent_id=agent_id)
        validate_youtube_channels(youtube_channels)
        validate_duration_filter(min_seconds, max_seconds)
        body: dict[str, Any] = {"youtube_channels": list(youtube_channels)}
        if trigger_callback_url is not None:
            check_callback_url("trigger_callback_url", trigger_callback_url, self.callbacks)
            body["trigger_callback_url"] = trigger_callback_url
        elif clear_trigger_callback_url:
            body["trigger_callback_url"] = None  # an explicit null clears the stored URL
        duration = {k: v for k, v in (("min_seconds", min_seconds), ("max_seconds", max_seconds)) if v is not None}
        if duration:
            body["filter_options"] = {"duration": duration}
        # An additive merge: sending it twice changes nothing.
        return await self._send(TriggerChannelsAdded, "POST", path, json=body, retry="idempotent")

    async def remove_youtube_channels(self, agent_id: str, youtube_channels: Sequence[str]) -> TriggerChannelsRemoved:
        """POST …/remove_youtube_channels: stop watching channels on every trigger of the agent."""
        path = self._path("/agent/{agent_id}/triggers/remove_youtube_channels", agent_id=agent_id)
        validate_youtube_channels(youtube_channels)
        body = {"youtube_channels": list(youtube_channels)}
        return await self._send(TriggerChannelsRemoved, "POST", path, json=body, retry="idempotent")

    async def list_storage_triggers(
        self,
        *,
        limit: int = 25,
        cursor: str | None = None,
        agent_id: str | None = None,
        workspace_id: str | None = None,
        from_: Timestamp = None,
        to: Timestamp = None,
        updated_from: Timestamp = None,
    ) -> StorageTriggerPage:
        """GET /storage_triggers: Drive/Dropbox/S3 trigger configurations."""
        return await self._observe(
            StorageTriggerPage, "/storage_triggers", limit=limit, cursor=cursor, from_=from_, to=to,
            updated_from=updated_from, agent_id=agent_id, workspace_id=workspace_id,
        )  # fmt: skip

    async def list_watched_folders(
        self,
        trigger_id: str,
        *,
        limit: int = 25,
        cursor: str | None = None,
        from_: Timestamp = None,
        to: Timestamp = None,
        updated_from: Timestamp = None,
    ) -> WatchedFolderPage:
        """GET /storage_trigger/{id}/folders: the folders a storage trigger watches."""
        path = self._path("/storage_trigger/{trigger_id}/folders", trigger_id=trigger_id)
        return await self._observe(
            WatchedFolderPage, path, limit=limit, cursor=cursor, from_=from_, to=to, updated_from=updated_from
        )

    async def list_storage_events(
        self,
        trigger_id: str,
        *,
        limit: int = 25,
        cursor: str | None = None,
        from_: Timestamp = None,
        to: Timestamp = None,
        updated_from: Timestamp = None,
    ) -> StorageEventPage:
        """GET /storage_trigger/{id}/events: ingestion events and their batch ids."""
        path = self._path("/storage_trigger/{trigger_id}/events", trigger_id=trigger_id)
        return await self._observe(
            StorageEventPage, path, limit=limit, cursor=cursor, from_=from_, to=to, updated_from=updated_from
        )

    async def list_ingest_batches(
        self,
        *,
        limit: int = 25,
        cursor: str | None = None,
        agent_id: str | None = None,
        workspace_id: str | None = None,
        from_: Timestamp = None,
        to: Timestamp = None,
        updated_from: Timestamp = None,
    ) -> IngestBatchPage:
        """GET /automations/ingest-batches: storage ingestion batches (shape undocumented)."""
        return await self._observe(
            IngestBatchPage, "/automations/ingest-batches", limit=limit, cursor=cursor, from_=from_, to=to,
            updated_from=updated_from, agent_id=agent_id, workspace_id=workspace_id,
        )  # fmt: skip
