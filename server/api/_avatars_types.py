"""Mosaic avatar profiles (reference section 2.9): responses."""

from typing import Any

from pydantic import Field, model_validator

from ._types import APIModel


class AvatarProfile(APIModel):
    """An AI Avatar profile; `status` is pending | processing | ready | failed."""

    id: str
    name: str | None = None
    status: str | None = None
    status_message: str | None = None
    video_preview_url: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data: Any) -> Any:
        # The create response was never captured; accept an `{"avatar_profile": {...}}` envelope too.
        if isinstance(data, dict) and "id" not in data and isinstance(data.get("avatar_profile"), dict):
            return data["avatar_profile"]
        return data


class AvatarProfileList(APIModel):
    """GET /avatar-profiles."""

    avatar_profiles: list[AvatarProfile] = Field(default_factory=list)
