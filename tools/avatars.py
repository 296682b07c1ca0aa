"""Toolset `avatars`: AI Avatar profiles — create one from a clip, list them, check readiness."""

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from ..server.api.models import AvatarProfile
from ..server.runtime import Runtime
from ._common import Id
from ._registry import CREATE, READ, Registrar, runtime


class AvatarView(BaseModel):
    """An avatar profile and whether an AI Avatar tile can use it."""

    avatar_profile_id: str = Field(description="Pass to an AI Avatar tile.")
    name: str | None = Field(description="The profile's name.")
    status: str | None = Field(description="pending | processing | ready | failed.")
    usable: bool = Field(description="True unless failed: pending/processing avatars can be used (the run waits).")
    status_message: str | None = Field(default=None, description="What the service says about it.")
    video_preview_url: str | None = Field(default=None, description="A preview video.")

    @classmethod
    def of(cls, profile: AvatarProfile) -> "AvatarView":
        """The view of an API avatar profile."""
        return cls(
            avatar_profile_id=profile.id,
            name=profile.name,
            status=profile.status,
            usable=profile.status != "failed",
            status_message=profile.status_message,
            video_preview_url=profile.video_preview_url,
        )


class AvatarList(BaseModel):
    """The organization's avatar profiles."""

    avatar_profiles: list[AvatarView] = Field(description="The avatar profiles.")


def register(tools: Registrar) -> None:
    """Register the avatar tools."""

    @tools.tool(toolset="avatars", annotations=CREATE, title="Create an avatar profile")
    async def create_avatar_profile(
        name: Annotated[str, Field(min_length=1, max_length=120, description="Display name.")],
        ctx: Context[Runtime, Any],
        video_url: Annotated[str | None, Field(description="4–15 s clip of one person speaking clearly.")] = None,
        video_id: Annotated[str | None, Field(description="An uploaded video id instead of video_url.")] = None,
        image_url: Annotated[str | None, Field(description="Without a video: a photo of the person.")] = None,
        image_id: Annotated[str | None, Field(description="An uploaded image id instead of image_url.")] = None,
        audio_url: Annotated[str | None, Field(description="Without a video: 4–15 s of their speech.")] = None,
    ) -> AvatarView:
        """Create an AI Avatar profile from a short video (or a photo plus audio) of one person;
        processing starts at once — use its id as avatar_profile_id in an AI Avatar tile."""
        given = {"video_url": video_url, "video_id": video_id, "image_url": image_url}
        given |= {"image_id": image_id, "audio_url": audio_url}
        sources = {key: value for key, value in given.items() if value is not None}
        return AvatarView.of(await runtime(ctx).mosaic.create_avatar_profile(name, sources))

    @tools.tool(toolset="avatars", annotations=READ, title="List avatar profiles")
    async def list_avatar_profiles(ctx: Context[Runtime, Any]) -> AvatarList:
        """List the organization's AI Avatar profiles with their readiness; free."""
        profiles = await runtime(ctx).mosaic.list_avatar_profiles()
        return AvatarList(avatar_profiles=[AvatarView.of(p) for p in profiles])

    @tools.tool(toolset="avatars", annotations=READ, title="Check an avatar profile")
    async def get_avatar_profile(
        avatar_profile_id: Annotated[Id, Field(description="Id from list_avatar_profiles.")],
        ctx: Context[Runtime, Any],
    ) -> AvatarView:
        """Check one avatar profile's status (ready to use?) and preview; free."""
        return AvatarView.of(await runtime(ctx).mosaic.get_avatar_profile(avatar_profile_id))
