"""YouTube triggers of agents (reference 2.8): channel lists merged by ``filter_options``."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from . import seed
from .errors import bad_request
from .ids import IdFactory
from .run_inputs import is_http_url

_CHANNEL_ID = re.compile(r"^UC[0-9A-Za-z_-]{22}$")


@dataclass
class Trigger:
    """One YouTube trigger node of an agent."""

    trigger_id: str
    agent_id: str
    channels: list[str] = field(default_factory=list)
    callback_url: str | None = None
    filter_options: dict[str, Any] | None = None
    handles: dict[str, str] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        """The documented trigger object."""
        return {
            "id": self.trigger_id,
            "type": "youtube",
            "youtube_channels": list(self.channels),
            "youtube_channel_details": [channel_details(c, self.handles.get(c)) for c in self.channels],
            "callback_url": self.callback_url,
            "filter_options": self.filter_options,
        }


def channel_details(channel_id: str, handle: str | None) -> dict[str, Any]:
    """Channel metadata (made up, deterministic)."""
    digest = int(hashlib.sha256(channel_id.encode()).hexdigest()[:6], 16)
    return {
        "channel_id": channel_id,
        "channel_name": f"Sandbox channel {channel_id[-4:]}",
        "channel_handle": handle,
        "thumbnail_url": None,
        "subscriber_count": digest % 5_000_000,
    }


def resolve_channel(value: Any) -> tuple[str, str | None]:
    """A channel id or URL as ``(channel_id, handle)``; 400 when it is neither."""
    if isinstance(value, str) and _CHANNEL_ID.match(value):
        return value, None
    if is_http_url(value) and "youtube.com/" in value:
        tail = value.rstrip("/").rsplit("/", 1)[-1]
        if _CHANNEL_ID.match(tail):
            return tail, None
        digest = hashlib.sha256(tail.encode()).hexdigest()
        fake = "UC" + "".join(c for c in digest if c.isalnum())[:22]
        return fake, tail if tail.startswith("@") else None
    raise bad_request(f"youtube_channels: {value!r} is neither a channel id (UC...) nor a YouTube channel URL")


def _filter(body: dict[str, Any]) -> dict[str, Any] | None:
    options = body.get("filter_options")
    if options is None:
        return None
    duration = options.get("duration") if isinstance(options, dict) else None
    if not isinstance(duration, dict) or not all(
        isinstance(duration.get(k), int) and duration[k] >= 0 for k in duration if k in ("min_seconds", "max_seconds")
    ):
        raise bad_request('filter_options must look like {"duration": {"min_seconds": int, "max_seconds": int}}')
    return {"duration": {k: duration[k] for k in ("min_seconds", "max_seconds") if k in duration}}


def _channels(body: dict[str, Any]) -> list[Any]:
    channels = body.get("youtube_channels")
    if not isinstance(channels, list) or not channels:
        raise bad_request("youtube_channels must be a non-empty array")
    return channels


class TriggerStore:
    """Triggers by id."""

    def __init__(self, ids: IdFactory) -> None:
        self._ids = ids
        self.triggers: dict[str, Trigger] = {}

    def seed(self) -> None:
        """One trigger on the captions agent."""
        self.triggers[seed.TRIGGER_ID] = Trigger(seed.TRIGGER_ID, seed.CAPTIONS_AGENT_ID, [seed.TRIGGER_CHANNEL_ID])

    def of_agent(self, agent_id: str) -> list[Trigger]:
        """The agent's triggers."""
        return [t for t in self.triggers.values() if t.agent_id == agent_id]

    def add(self, agent_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Merge channels into the trigger with the same filter (moving them from the others)."""
        resolved = [(raw, *resolve_channel(raw)) for raw in _channels(body)]
        options = _filter(body)
        target = next((t for t in self.of_agent(agent_id) if t.filter_options == options), None)
        if target is None:
            target = Trigger(self._ids.new(), agent_id, filter_options=options)
            self.triggers[target.trigger_id] = target
        for _, channel, handle in resolved:
            for other in self.of_agent(agent_id):
                if other is not target and channel in other.channels:
                    other.channels.remove(channel)
            if channel not in target.channels:
                target.channels.append(channel)
            if handle:
                target.handles[channel] = handle
        if "trigger_callback_url" in body:
            url = body["trigger_callback_url"]
            if url is not None and not is_http_url(url):
                raise bad_request("trigger_callback_url must be an http(s) URL or null")
            target.callback_url = url
        self._drop_empty(agent_id)
        return {
            "message": "YouTube channels added successfully",
            "channel_ids": [c for _, c, _ in resolved],
            "channels": [{"input": raw, "channel_id": c} for raw, c, _ in resolved],
            "youtube_channel_details": [channel_details(c, h) for _, c, h in resolved],
        }

    def remove(self, agent_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Remove channels from every trigger of the agent ([3P] response shape)."""
        channels = [resolve_channel(raw)[0] for raw in _channels(body)]
        removed = []
        for trigger in self.of_agent(agent_id):
            for channel in channels:
                if channel in trigger.channels:
                    trigger.channels.remove(channel)
                    removed.append(channel)
        self._drop_empty(agent_id)
        return {"message": "YouTube channels removed successfully", "removed_channels": sorted(set(removed))}

    def _drop_empty(self, agent_id: str) -> None:
        for trigger in self.of_agent(agent_id):
            if not trigger.channels:
                del self.triggers[trigger.trigger_id]
