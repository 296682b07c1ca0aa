"""Toolset `social`: connected accounts and posts (publish, schedule, edit, delete, analytics)."""

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Resolve
from pydantic import BaseModel, Field

from ..server import consent
from ..server.api import rules
from ..server.api.models import (
    SocialConnection,
    SocialConnectionDeleted,
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
from ..server.api.validation import MAX_NOTES, MAX_POST, check_timestamp, validate_social_post
from ..server.runtime import Runtime
from ._common import ConfirmDeleting, ConfirmPublishing, Cursor, Id, Limit
from ._registry import CHANGE, CREATE, DESTROY, READ, Registrar, runtime

Platform = rules.SocialPlatform
ConnectionId = Annotated[Id, Field(description="social_connection_id from list_social_connections.")]
PostId = Annotated[Id, Field(description="post_id from create_social_post or list_social_posts.")]
Schedule = Annotated[str | None, Field(description="ISO date-time to publish at; omit to publish now.")]


class ConnectionList(BaseModel):
    """Connected social accounts."""

    connected_accounts: list[SocialConnection] = Field(description="The connected accounts.")


class PostDetail(BaseModel):
    """A post, optionally with its analytics and comments."""

    post: SocialPost = Field(description="The post.")
    analytics: SocialPostAnalytics | None = Field(default=None, description="Its analytics, when asked for.")
    comments: SocialPostComments | None = Field(default=None, description="Its comments, when asked for.")


def publishing_changes(schedule_date: str | None, scheduled_pause: bool | None, approve: bool | None) -> list[str]:
    """What an update of a scheduled post changes about what gets published when (empty: nothing)."""
    changes = []
    if approve:
        changes.append("approve it, which publishes it")
    if scheduled_pause is False:
        changes.append("unpause it, so it publishes as scheduled")
    if schedule_date is not None:
        changes.append(f"publish it at {schedule_date} instead")
    return changes


def register(tools: Registrar) -> None:
    """Register the social tools."""

    @tools.tool(toolset="social", annotations=CREATE, title="Connect a social account")
    async def connect_social_account(
        platform: Annotated[Platform, Field(description="The platform to connect.")],
        ctx: Context[Runtime, Any],
        connection_name: Annotated[str | None, Field(max_length=120, description="A label for it.")] = None,
        redirect_url: Annotated[str | None, Field(description="Where to land after connecting.")] = None,
    ) -> SocialConnectLink:
        """Get a link the user opens to connect one social account (several per platform allowed); free."""
        return await runtime(ctx).mosaic.create_social_connection(
            platform, connection_name=connection_name, redirect_url=redirect_url
        )

    @tools.tool(toolset="social", annotations=READ, title="List connected social accounts")
    async def list_social_connections(ctx: Context[Runtime, Any]) -> ConnectionList:
        """List connected social accounts and their social_connection_ids (post destinations); free."""
        return ConnectionList(connected_accounts=await runtime(ctx).mosaic.list_social_connections())

    @tools.tool(toolset="social", annotations=READ, title="Check a social account")
    async def get_social_connection(social_connection_id: ConnectionId, ctx: Context[Runtime, Any]) -> SocialConnection:
        """Check one connected account (still connected? which profile?); free."""
        return await runtime(ctx).mosaic.get_social_connection(social_connection_id)

    async def ask_disconnect(social_connection_id: str, ctx: Context[Runtime, Any]) -> consent.Asked:
        return consent.ask(ctx, f"Disconnect the social account {social_connection_id} from Mosaic?")

    @tools.tool(toolset="social", annotations=DESTROY, title="Disconnect a social account")
    async def delete_social_connection(
        social_connection_id: ConnectionId,
        ctx: Context[Runtime, Any],
        approval: Annotated[consent.Answer, Resolve(ask_disconnect)],
        confirm: ConfirmDeleting = False,
    ) -> SocialConnectionDeleted:
        """Disconnect a social account. Asks the user first (a client that cannot ask: see confirm)."""
        rt = runtime(ctx)
        what = f"disconnecting social account {social_connection_id}"
        consent.require(approval, action=what, kind=consent.DELETING, confirm=confirm, settings=rt.settings)
        return await rt.mosaic.delete_social_connection(social_connection_id)

    async def ask_post(
        destinations: list[str] | None,
        platforms: list[Platform] | None,
        post: str,
        media_urls: list[str] | None,
        schedule_date: str | None,
        ctx: Context[Runtime, Any],
    ) -> consent.Asked:
        media_urls, ids, names = media_urls or [], destinations or [], platforms or []
        when = f"at {schedule_date}" if schedule_date else "now"
        media = f" with {len(media_urls)} media file(s)" if media_urls else ""
        where = " and ".join(
            ([f"{len(ids)} account(s)"] if ids else []) + ([f"the {', '.join(names)} account(s)"] if names else [])
        )
        question = f"Publish {when} to {where or 'no account'}{media}: {post[:300]!r}?"
        return consent.ask(ctx, question, check=lambda: validate_social_post(ids, names, media_urls, schedule_date))

    @tools.tool(toolset="social", annotations=CREATE, title="Publish a social post")
    async def create_social_post(
        ctx: Context[Runtime, Any],
        approval: Annotated[consent.Answer, Resolve(ask_post)],
        destinations: Annotated[
            list[str] | None,
            Field(description="social_connection_ids to post to (list_social_connections); the current API form."),
        ] = None,
        platforms: Annotated[
            list[Platform] | None,
            Field(description="Platform names, e.g. ['x']: the older API form, which requires it."),
        ] = None,
        post: Annotated[str, Field(max_length=MAX_POST, description="The text.")] = "",
        media_urls: Annotated[list[str] | None, Field(description="Public video/image URLs (run outputs).")] = None,
        schedule_date: Schedule = None,
        confirm: ConfirmPublishing = False,
    ) -> SocialPostResult:
        """PUBLISHES publicly to the user's social accounts, now or scheduled. Asks the user first
        (a client that cannot ask: see confirm; the user must have agreed to this exact post).
        Give destinations (the current API revision) or platforms (the older one requires it); both
        are sent as given. If Mosaic says one is required, call again with that one."""
        rt = runtime(ctx)
        what = "publishing this post"
        consent.require(approval, action=what, kind=consent.PUBLISHING, confirm=confirm, settings=rt.settings)
        return await rt.mosaic.create_social_post(
            destinations=destinations or (),
            platforms=platforms or (),
            post=post,
            media_urls=media_urls or (),
            schedule_date=schedule_date,
        )

    @tools.tool(toolset="social", annotations=READ, title="List social posts")
    async def list_social_posts(
        ctx: Context[Runtime, Any],
        status: Annotated[
            rules.SocialPostStatus | None,
            Field(description="Only posts in this state."),
        ] = None,
        platform: Annotated[Platform | None, Field(description="Only posts to this platform.")] = None,
        social_connection_id: Annotated[str | None, Field(description="Only this account's.")] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> SocialPostPage:
        """List published and scheduled posts, newest first; free."""
        return await runtime(ctx).mosaic.list_social_posts(
            limit=limit, cursor=cursor, status=status, platform=platform, social_connection_id=social_connection_id
        )

    @tools.tool(toolset="social", annotations=READ, title="Show a social post")
    async def get_social_post(
        post_id: PostId,
        ctx: Context[Runtime, Any],
        include_analytics: Annotated[bool, Field(description="Also fetch views, likes etc.")] = False,
        include_comments: Annotated[bool, Field(description="Also fetch its comments.")] = False,
    ) -> PostDetail:
        """Show a post's status (scheduled → posted) and links, optionally with analytics and comments; free."""
        mosaic = runtime(ctx).mosaic
        detail = PostDetail(post=await mosaic.get_social_post(post_id))
        if include_analytics:
            detail.analytics = await mosaic.get_social_post_analytics(post_id)
        if include_comments:
            detail.comments = await mosaic.get_social_post_comments(post_id)
        return detail

    async def ask_update(
        post_id: str,
        schedule_date: str | None,
        scheduled_pause: bool | None,
        approve: bool | None,
        ctx: Context[Runtime, Any],
    ) -> consent.Asked:
        changes = publishing_changes(schedule_date, scheduled_pause, approve)
        if not changes:
            return consent.Approval(approve=True)  # pausing, rejecting or notes publish nothing

        def check() -> None:
            check_timestamp("schedule_date", schedule_date)

        return consent.ask(ctx, f"Change the scheduled post {post_id}: {'; '.join(changes)}?", check=check)

    @tools.tool(toolset="social", annotations=CHANGE, title="Change a scheduled post")
    async def update_social_post(
        post_id: PostId,
        ctx: Context[Runtime, Any],
        approval: Annotated[consent.Answer, Resolve(ask_update)],
        schedule_date: Schedule = None,
        scheduled_pause: Annotated[bool | None, Field(description="true pauses, false unpauses.")] = None,
        notes: Annotated[str | None, Field(max_length=MAX_NOTES, description="Internal notes.")] = None,
        approve: Annotated[bool | None, Field(description="Approve a post awaiting approval (publishes it).")] = None,
        confirm: ConfirmPublishing = False,
    ) -> SocialPostUpdated:
        """Reschedule, pause, annotate or approve a scheduled post; free. Approving, unpausing and
        rescheduling decide what gets published when, so they ask the user first (a client that cannot
        ask: see confirm); pausing and notes do not."""
        rt = runtime(ctx)
        what = f"changing post {post_id} ({'; '.join(publishing_changes(schedule_date, scheduled_pause, approve))})"
        consent.require(approval, action=what, kind=consent.PUBLISHING, confirm=confirm, settings=rt.settings)
        return await rt.mosaic.update_social_post(
            post_id, schedule_date=schedule_date, scheduled_pause=scheduled_pause, notes=notes, approve=approve
        )

    async def ask_delete_post(post_id: str, ctx: Context[Runtime, Any]) -> consent.Asked:
        return consent.ask(ctx, f"Delete the social post {post_id} from the platforms it was published to?")

    @tools.tool(toolset="social", annotations=DESTROY, title="Delete a social post")
    async def delete_social_post(
        post_id: PostId,
        ctx: Context[Runtime, Any],
        approval: Annotated[consent.Answer, Resolve(ask_delete_post)],
        mark_manual_deleted: Annotated[
            bool | None, Field(description="Only record it as deleted by hand elsewhere.")
        ] = None,
        confirm: ConfirmDeleting = False,
    ) -> SocialPostDeleted:
        """Delete a published or scheduled post. Asks the user first (a client that cannot ask: see
        confirm)."""
        rt = runtime(ctx)
        what = f"deleting post {post_id}"
        consent.require(approval, action=what, kind=consent.DELETING, confirm=confirm, settings=rt.settings)
        return await rt.mosaic.delete_social_post(post_id, mark_manual_deleted=mark_manual_deleted)

    @tools.tool(toolset="social", annotations=READ, title="Track a social post")
    async def track_social_post(
        tracking_id: Annotated[Id, Field(description="tracking_id from create_social_post.")],
        ctx: Context[Runtime, Any],
    ) -> SocialPostTracking:
        """Mosaic's own record of a post: per-platform results, links and errors; free."""
        return await runtime(ctx).mosaic.track_social_post(tracking_id)
