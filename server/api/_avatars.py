"""Mosaic avatar profiles (reference section 2.9): create one from media, list them, read one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._avatars_types import AvatarProfile, AvatarProfileList
from ._base import ClientBase
from .validation import validate_avatar_sources


class AvatarsAPI(ClientBase):
    """Avatar profiles of the organization (processed from a video, or an image plus audio)."""

    async def create_avatar_profile(self, name: str, sources: Mapping[str, str]) -> AvatarProfile:
        """POST /avatar-profiles/create: start processing an avatar (video, or image plus audio)."""
        validate_avatar_sources(name, sources)
        body: dict[str, Any] = {"name": name, "sources": dict(sources)}
        return await self._send(AvatarProfile, "POST", "/avatar-profiles/create", json=body, retry="create")

    async def list_avatar_profiles(self) -> list[AvatarProfile]:
        """GET /avatar-profiles: every avatar of the organization."""
        return (await self._get(AvatarProfileList, "/avatar-profiles")).avatar_profiles

    async def get_avatar_profile(self, avatar_profile_id: str) -> AvatarProfile:
        """GET /avatar-profiles/{id}: one avatar and its processing status."""
        path = self._path("/avatar-profiles/{avatar_profile_id}", avatar_profile_id=avatar_profile_id)
        return await self._get(AvatarProfile, path)
