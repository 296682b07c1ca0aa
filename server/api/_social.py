"""Mosaic social publishing (reference section 2.11)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._base import ClientBase, page_params
from ._social_types import (
    SocialConnection,
    SocialConnectionDeleted,
    SocialConnectionList,
    SocialConnectLink,
    SocialPost,
    SocialPostAnalytics,
    SocialPostComments,
    SocialPostDeleted,
    SocialPostPage,
    SocialPostResult,
    SocialPostTracking,
    SocialPostUpdated,
)
from .errors import BadRequestError, InvalidInputError
from .validation import (
    SOCIAL_POST_STATUSES,
    check_choice,
    check_http_url,
    check_length,
    check_limit,
    check_platform,
    check_timestamp,
    validate_social_post,
)


def _other_post_form(detail: str, *, given_destinations: bool, given_platforms: bool) -> str | None:
    """When Mosaic refuses a post for the form of its targets, which form to send instead (revisions differ)."""
    said = detail.lower()
    if "platforms" in said and not given_platforms:
        return (
            "This Mosaic revision wants platforms (the older form): call create_social_post again with "
            "platforms, the platform names of those accounts (e.g. ['x'])."
        )
    if "destinations" in said and not given_destinations:
        return (
            "This Mosaic revision wants destinations: call create_social_post again with the accounts' "
            "social_connection_ids (list_social_connections)."
        )
    return None


def _compact(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


class SocialAPI(ClientBase):
    """Connected social accounts and posts."""

    async def create_social_connection(
        self, platform: str, *, connection_name: str | None = None, redirect_url: str | None = None
    ) -> SocialConnectLink:
        """POST /social/connections: a link the user opens to connect one account."""
        check_platform("platform", platform)
        if connection_name is not None:
            check_length("connection_name", connection_name, minimum=1, maximum=120)
        if redirect_url is not None:
            check_http_url("redirect_url", redirect_url)
        body = _compact(platform=platform, connection_name=connection_name, redirect_url=redirect_url)
        # Each call adds an account slot, so it is not resent blindly.
        return await self._send(SocialConnectLink, "POST", "/social/connections", json=body, retry="create")

    async def list_social_connections(self) -> list[SocialConnection]:
        """GET /social/connections: every connected account."""
        return (await self._get(SocialConnectionList, "/social/connections")).connected_accounts

    async def get_social_connection(self, social_connection_id: str) -> SocialConnection:
        """GET /social/connections/{id}: one account and whether it is still connected."""
        path = self._path("/social/connections/{cid}", cid=social_connection_id)
        return await self._get(SocialConnection, path)

    async def delete_social_connection(self, social_connection_id: str) -> SocialConnectionDeleted:
        """DELETE /social/connections/{id}: disconnect an account."""
        path = self._path("/social/connections/{cid}", cid=social_connection_id)
        return await self._send(SocialConnectionDeleted, "DELETE", path, retry="idempotent")

    async def create_social_post(
        self,
        *,
        destinations: Sequence[str] = (),
        post: str = "",
        media_urls: Sequence[str] = (),
        schedule_date: str | None = None,
        workspace_id: str | None = None,
        platforms: Sequence[str] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> SocialPostResult:
        """POST /social/post: publish now or schedule; `destinations` are social_connection_ids."""
        validate_social_post(destinations, platforms, media_urls, schedule_date)
        body: dict[str, Any] = {**(extra or {}), "post": post}
        body |= _compact(
            destinations=[{"social_connection_id": cid} for cid in destinations] or None,
            platforms=list(platforms) or None,
            media_urls=list(media_urls) or None,
            schedule_date=schedule_date,
            workspace_id=workspace_id,
        )
        try:
            return await self._send(SocialPostResult, "POST", "/social/post", json=body, retry="create")
        except BadRequestError as exc:
            hint = _other_post_form(exc.detail, given_destinations=bool(destinations), given_platforms=bool(platforms))
            raise (exc.explain(hint) if hint else exc) from None

    async def list_social_posts(
        self,
        *,
        limit: int = 20,
        cursor: str | None = None,
        status: str | None = None,
        platform: str | None = None,
        social_connection_id: str | None = None,
    ) -> SocialPostPage:
        """GET /social/posts: one page of posts, newest first."""
        check_limit(limit)
        if status is not None:
            check_choice("status", status, SOCIAL_POST_STATUSES)
        if platform is not None:
            check_platform("platform", platform)
        params = page_params(limit, cursor, status=status, platform=platform, social_connection_id=social_connection_id)
        return await self._get(SocialPostPage, "/social/posts", params)

    async def get_social_post(self, post_id: str, *, social_connection_id: str | None = None) -> SocialPost:
        """GET /social/post/{id}: one post and where it was published."""
        path = self._path("/social/post/{post_id}", post_id=post_id)
        return await self._get(SocialPost, path, _compact(social_connection_id=social_connection_id))

    async def get_social_post_analytics(self, post_id: str) -> SocialPostAnalytics:
        """GET /social/post/{id}/analytics (shape undocumented; fields kept as extras)."""
        path = self._path("/social/post/{post_id}/analytics", post_id=post_id)
        return await self._get(SocialPostAnalytics, path)

    async def get_social_post_comments(self, post_id: str) -> SocialPostComments:
        """GET /social/post/{id}/comments (shape undocumented; fields kept as extras)."""
        path = self._path("/social/post/{post_id}/comments", post_id=post_id)
        return await self._get(SocialPostComments, path)

    async def update_social_post(
        self,
        post_id: str,
        *,
        schedule_date: str | None = None,
        scheduled_pause: bool | None = None,
        notes: str | None = None,
        approve: bool | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> SocialPostUpdated:
        """PATCH /social/post/{id}: reschedule, pause, annotate or approve a scheduled post."""
        path = self._path("/social/post/{post_id}", post_id=post_id)
        check_timestamp("schedule_date", schedule_date)
        body = {**(extra or {})} | _compact(
            schedule_date=schedule_date, scheduled_pause=scheduled_pause, notes=notes, approve=approve
        )
        if not body:
            raise InvalidInputError("update", "give at least one of schedule_date, scheduled_pause, notes, approve")
        return await self._send(SocialPostUpdated, "PATCH", path, json=body, retry="idempotent")

    async def delete_social_post(self, post_id: str, *, mark_manual_deleted: bool | None = None) -> SocialPostDeleted:
        """DELETE /social/post/{id}: delete a post (or only mark it deleted by hand)."""
        path = self._path("/social/post/{post_id}", post_id=post_id)
        body = _compact(mark_manual_deleted=mark_manual_deleted) or None
        return await self._send(SocialPostDeleted, "DELETE", path, json=body, retry="idempotent")

    async def track_social_post(self, tracking_id: str) -> SocialPostTracking:
        """GET /social/post/track/{tracking_id}: Mosaic's own record of a post."""
        path = self._path("/social/post/track/{tracking_id}", tracking_id=tracking_id)
        return await self._get(SocialPostTracking, path)
