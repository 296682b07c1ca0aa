"""Mosaic social publishing: responses."""

from typing import Any

from pydantic import Field, model_validator

from ._types import APIModel


class SocialConnectLink(APIModel):
    """POST /social/connections: a URL the user opens to connect an account."""

    platform: str | None = Field(default=None, description="The platform.")
    connect_url: str = Field(description="The user opens this to connect the account.")


class SocialConnection(APIModel):
    """A connected social account (list entry or single-connection detail)."""

    social_connection_id: str = Field(description="The connection's id.")
    platform: str | None = Field(default=None, description="The platform.")
    connected: bool | None = Field(default=None, description="True while the account is connected.")
    account_name: str | None = Field(default=None, description="The account's name.")
    account_username: str | None = Field(default=None, description="The account's handle.")
    profile_url: str | None = Field(default=None, description="The account's profile page.")
    username: str | None = Field(default=None, description="The account's handle (single-connection answer).")
    display_name: str | None = Field(default=None, description="The account's name (single-connection answer).")
    user_image: str | None = Field(default=None, description="The account's picture.")


class SocialConnectionList(APIModel):
    """GET /social/connections."""

    connected_accounts: list[SocialConnection] = Field(default_factory=list)


class SocialConnectionDeleted(APIModel):
    """DELETE /social/connections/{id}."""

    success: bool = Field(default=True, description="True when disconnected.")
    platform: str | None = Field(default=None, description="The platform.")
    social_connection_id: str | None = Field(default=None, description="The removed connection.")


class SocialPostResult(APIModel):
    """POST /social/post (shape from the earlier revision)."""

    post_id: str | None = Field(default=None, description="The new post.")
    status: str | None = Field(default=None, description="Its status.")
    links: list[dict[str, Any]] = Field(default_factory=list, description="Links to the published posts.")
    results: list[dict[str, Any]] = Field(default_factory=list, description="Per-platform results.")
    error: str | dict[str, Any] | None = Field(default=None, description="What went wrong, as the service says it.")
    tracking_id: str | None = Field(default=None, description="Pass to track_social_post.")
    tracked_status: str | None = Field(default=None, description="The tracking record's status.")


class SocialPost(APIModel):
    """A scheduled or published post (list entry or GET /social/post/{id})."""

    post_id: str = Field(description="The post's id.")
    status: str | None = Field(default=None, description="The post's status.")
    description: str | None = Field(default=None, description="The post's text.")
    thumbnail_url: str | None = Field(default=None, description="A still of its video.")
    scheduled_at: str | None = Field(default=None, description="When it is (or was) to be published.")
    platforms: list[str | dict[str, Any]] = Field(
        default_factory=list, description="Where it goes: platform names (or objects), as the service lists them."
    )
    destinations: list[dict[str, Any]] = Field(
        default_factory=list, description="Per-account destinations and their state."
    )


class SocialPostPage(APIModel):
    """One page of GET /social/posts."""

    posts: list[SocialPost] = Field(default_factory=list, description="The posts.")
    next_cursor: str | None = Field(default=None, description="Pass as cursor for the next page; null on the last.")

    @model_validator(mode="before")
    @classmethod
    def _cursor_by_any_name(cls, data: Any) -> Any:
        """The cursor's field name is undocumented here (`next_cursor` is inferred): take `cursor` or
        `nextCursor` too, so a second page is never lost to the name."""
        if isinstance(data, dict) and data.get("next_cursor") is None:
            for name in ("nextCursor", "cursor"):
                if isinstance(data.get(name), str):
                    return {**data, "next_cursor": data[name]}
        return data


class SocialPostAnalytics(APIModel):
    """GET /social/post/{id}/analytics (shape not documented)."""

    post_id: str | None = Field(default=None, description="The post.")


class SocialPostComments(APIModel):
    """GET /social/post/{id}/comments (shape not documented)."""

    post_id: str | None = Field(default=None, description="The post.")
    comments: list[dict[str, Any]] = Field(default_factory=list, description="Comments, as the service gives them.")


class SocialPostUpdated(APIModel):
    """PATCH /social/post/{id}."""

    post_id: str | None = Field(default=None, description="The post.")
    status: str | None = Field(default=None, description="Its status now.")


class SocialPostDeleted(APIModel):
    """DELETE /social/post/{id}."""

    post_id: str | None = Field(default=None, description="The post.")
    status: str | None = Field(default=None, description="Its status now.")
    tracking_id: str | None = Field(default=None, description="Mosaic's tracking record.")
    tracked_status: str | None = Field(default=None, description="The tracking record's status.")


class SocialPostTracking(APIModel):
    """GET /social/post/track/{tracking_id}: Mosaic's own record of a post."""

    tracking_id: str | None = Field(default=None, description="Mosaic's tracking record.")
    provider_post_id: str | None = Field(default=None, description="The post's id at the publishing provider.")
    status: str | None = Field(default=None, description="Its status.")
    scheduled_at: str | None = Field(default=None, description="When it is (or was) to be published.")
    platforms: list[str | dict[str, Any]] = Field(
        default_factory=list, description="Where it goes: platform names (or objects), as the service lists them."
    )
    links: list[dict[str, Any]] = Field(default_factory=list, description="Links to the published posts.")
    results: list[dict[str, Any]] = Field(default_factory=list, description="Per-platform results.")
    error: str | dict[str, Any] | None = Field(default=None, description="What went wrong, as the service says it.")
    created_at: str | None = Field(default=None, description="When it was created.")
    updated_at: str | None = Field(default=None, description="When it last changed.")
