"""Mosaic social publishing: responses."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from ._types import APIModel


class SocialConnectLink(APIModel):
    """POST /social/connections: a URL the user opens to connect an account."""

    platform: str | None = None
    connect_url: str


class SocialConnection(APIModel):
    """A connected social account (list entry or single-connection detail)."""

    social_connection_id: str
    platform: str | None = None
    connected: bool | None = None
    account_name: str | None = None
    account_username: str | None = None
    profile_url: str | None = None
    username: str | None = None
    display_name: str | None = None
    user_image: str | None = None


class SocialConnectionList(APIModel):
    """GET /social/connections."""

    connected_accounts: list[SocialConnection] = Field(default_factory=list)


class SocialConnectionDeleted(APIModel):
    """DELETE /social/connections/{id}."""

    success: bool = True
    platform: str | None = None
    social_connection_id: str | None = None


class SocialPostResult(APIModel):
    """POST /social/post (shape from the earlier revision)."""

    post_id: str | None = None
    status: str | None = None
    links: list[dict[str, Any]] = Field(default_factory=list)
    results: list[dict[str, Any]] = Field(default_factory=list)
    error: Any = None
    tracking_id: str | None = None
    tracked_status: str | None = None


class SocialPost(APIModel):
    """A scheduled or published post (list entry or GET /social/post/{id})."""

    post_id: str
    status: str | None = None
    description: str | None = None
    thumbnail_url: str | None = None
    scheduled_at: str | None = None
    platforms: list[Any] = Field(default_factory=list)
    destinations: list[dict[str, Any]] = Field(default_factory=list)


class SocialPostPage(APIModel):
    """One page of GET /social/posts."""

    posts: list[SocialPost] = Field(default_factory=list)
    next_cursor: str | None = None

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

    post_id: str | None = None


class SocialPostComments(APIModel):
    """GET /social/post/{id}/comments (shape not documented)."""

    post_id: str | None = None
    comments: list[dict[str, Any]] = Field(default_factory=list)


class SocialPostUpdated(APIModel):
    """PATCH /social/post/{id}."""

    post_id: str | None = None
    status: str | None = None


class SocialPostDeleted(APIModel):
    """DELETE /social/post/{id}."""

    post_id: str | None = None
    status: str | None = None
    tracking_id: str | None = None
    tracked_status: str | None = None


class SocialPostTracking(APIModel):
    """GET /social/post/track/{tracking_id}: Mosaic's own record of a post."""

    tracking_id: str | None = None
    provider_post_id: str | None = None
    status: str | None = None
    scheduled_at: str | None = None
    platforms: list[Any] = Field(default_factory=list)
    links: list[dict[str, Any]] = Field(default_factory=list)
    results: list[dict[str, Any]] = Field(default_factory=list)
    error: Any = None
    created_at: str | None = None
    updated_at: str | None = None
