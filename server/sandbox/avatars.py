"""Avatar profiles (reference 2.5): created ``pending``, ``processing`` a while, then ``ready``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import seed
from .errors import bad_request, not_found
from .run_inputs import is_http_url

PROCESSING_SECONDS = 45.0


@dataclass
class AvatarProfile:
    """One avatar profile and when it becomes ready."""

    avatar_id: str
    name: str
    created_at: float
    ready_at: float

    def status(self, now: float) -> str:
        """``pending`` briefly, then ``processing``, then ``ready``."""
        if now >= self.ready_at:
            return "ready"
        return "processing" if now >= self.created_at + 2 else "pending"


class AvatarStore:
    """Avatar profiles of the organisation's primary workspace."""

    def __init__(self) -> None:
        self.profiles: dict[str, AvatarProfile] = {}

    def seed(self, now: float) -> None:
        """A ready avatar for the seeded AI Avatar use."""
        self.profiles[seed.AVATAR_PROFILE_ID] = AvatarProfile(
            seed.AVATAR_PROFILE_ID, "Sandbox Presenter", now - 86400, now - 86000
        )

    def create(
        self, avatar_id: str, body: dict[str, Any], now: float, known_asset: Callable[[str, str], bool]
    ) -> AvatarProfile:
        """Validate sources (a video, or an image plus audio) and start processing."""
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise bad_request("name is required")
        sources = body.get("sources")
        if not isinstance(sources, dict):
            raise bad_request("sources is required: video_url / video_id, or image_url / image_id plus audio_url")
        for key in ("video_url", "image_url", "audio_url"):
            if key in sources and not is_http_url(sources[key]):
                raise bad_request(f"sources.{key} must be an http(s) URL")
        for key, kind in (("video_id", "video"), ("image_id", "image"), ("audio_id", "audio")):
            if key in sources and not known_asset(str(sources[key]), kind):
                raise bad_request(f"sources.{key} {sources[key]!r} is not a finalized {kind} upload")
        has_video = "video_url" in sources or "video_id" in sources
        has_pair = ("image_url" in sources or "image_id" in sources) and (
            "audio_url" in sources or "audio_id" in sources
        )
        if not (has_video or has_pair):
            raise bad_request("sources needs a video (video_url / video_id) or an image and an audio clip")
        profile = AvatarProfile(avatar_id, name.strip(), now, now + PROCESSING_SECONDS)
        self.profiles[avatar_id] = profile
        return profile

    def get(self, avatar_id: str) -> AvatarProfile:
        """A profile, or 404."""
        profile = self.profiles.get(avatar_id)
        if profile is None:
            raise not_found("Avatar profile", avatar_id)
        return profile


def avatar_view(profile: AvatarProfile, now: float, preview_url: str | None) -> dict[str, Any]:
    """The documented profile object; the preview URL only once ready."""
    status = profile.status(now)
    return {
        "id": profile.avatar_id,
        "video_preview_url": preview_url if status == "ready" else None,
        "name": profile.name,
        "status": status,
        "status_message": None,
    }
