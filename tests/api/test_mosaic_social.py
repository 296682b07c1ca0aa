"""MosaicClient: social connections and posts against the sandbox."""

from __future__ import annotations

import pytest

from mosaic_mcp.server.api import MosaicClient, NotFoundError

pytestmark = pytest.mark.anyio

FUTURE = "2100-01-01T12:00:00Z"


async def connect(mosaic: MosaicClient, platform: str = "linkedin") -> str:
    """Connect an account (the sandbox connects at once) and return its id."""
    link = await mosaic.create_social_connection(platform, connection_name="Brand")
    assert link.platform == platform
    accounts = [c for c in await mosaic.list_social_connections() if c.platform == platform]
    return accounts[-1].social_connection_id


async def schedule_post(mosaic: MosaicClient) -> str:
    """Schedule a post far in the future and return its id."""
    connection_id = await connect(mosaic)
    result = await mosaic.create_social_post(destinations=[connection_id], post="Hello", schedule_date=FUTURE)
    assert result.post_id
    return result.post_id


async def test_create_social_connection(mosaic: MosaicClient) -> None:
    """create_social_connection returns a connect URL for the platform."""
    link = await mosaic.create_social_connection("x", redirect_url="https://example.com/done")
    assert link.platform == "x"
    assert link.connect_url.startswith("http")


async def test_list_social_connections(mosaic: MosaicClient) -> None:
    """list_social_connections lists connected accounts."""
    connection_id = await connect(mosaic, "tiktok")
    accounts = {c.social_connection_id: c for c in await mosaic.list_social_connections()}
    assert accounts[connection_id].platform == "tiktok"
    assert accounts[connection_id].account_username


async def test_get_social_connection(mosaic: MosaicClient) -> None:
    """get_social_connection returns the detail with the connected flag."""
    connection_id = await connect(mosaic)
    detail = await mosaic.get_social_connection(connection_id)
    assert detail.social_connection_id == connection_id
    assert detail.connected is True


async def test_delete_social_connection(mosaic: MosaicClient) -> None:
    """delete_social_connection disconnects; the account is gone afterwards."""
    connection_id = await connect(mosaic)
    deleted = await mosaic.delete_social_connection(connection_id)
    assert deleted.success
    assert deleted.social_connection_id == connection_id
    with pytest.raises(NotFoundError):
        await mosaic.get_social_connection(connection_id)


async def test_create_social_post(mosaic: MosaicClient) -> None:
    """create_social_post publishes now to a destination and reports links."""
    connection_id = await connect(mosaic, "x")
    result = await mosaic.create_social_post(
        destinations=[connection_id], post="Out now", media_urls=["https://example.com/v.mp4"]
    )
    assert result.status == "success"
    assert result.tracking_id
    assert result.links


async def test_list_social_posts(mosaic: MosaicClient) -> None:
    """list_social_posts filters by status and returns a page."""
    post_id = await schedule_post(mosaic)
    page = await mosaic.list_social_posts(status="scheduled", limit=100)
    assert post_id in {p.post_id for p in page.posts}
    assert all(p.status == "scheduled" for p in page.posts)


async def test_get_social_post(mosaic: MosaicClient) -> None:
    """get_social_post returns one post with its schedule."""
    post_id = await schedule_post(mosaic)
    post = await mosaic.get_social_post(post_id)
    assert post.post_id == post_id
    assert post.status == "scheduled"
    assert post.scheduled_at


async def test_get_social_post_analytics(mosaic: MosaicClient) -> None:
    """get_social_post_analytics keeps the undocumented body as extras."""
    post_id = await schedule_post(mosaic)
    analytics = await mosaic.get_social_post_analytics(post_id)
    assert analytics.post_id == post_id
    assert analytics.model_extra


async def test_get_social_post_comments(mosaic: MosaicClient) -> None:
    """get_social_post_comments returns the (empty) comment list."""
    post_id = await schedule_post(mosaic)
    comments = await mosaic.get_social_post_comments(post_id)
    assert comments.post_id == post_id
    assert comments.comments == []


async def test_update_social_post(mosaic: MosaicClient) -> None:
    """update_social_post pauses and annotates a scheduled post."""
    post_id = await schedule_post(mosaic)
    updated = await mosaic.update_social_post(post_id, scheduled_pause=True, notes="wait")
    assert updated.post_id == post_id
    assert updated.status == "success"


async def test_delete_social_post(mosaic: MosaicClient) -> None:
    """delete_social_post deletes; the post leaves the list."""
    post_id = await schedule_post(mosaic)
    deleted = await mosaic.delete_social_post(post_id, mark_manual_deleted=False)
    assert deleted.post_id == post_id
    assert deleted.status == "deleted"
    assert post_id not in {p.post_id for p in (await mosaic.list_social_posts(limit=100)).posts}


async def test_track_social_post(mosaic: MosaicClient) -> None:
    """track_social_post reads Mosaic's tracking record of a post."""
    connection_id = await connect(mosaic)
    result = await mosaic.create_social_post(destinations=[connection_id], post="Track me")
    assert result.tracking_id
    tracking = await mosaic.track_social_post(result.tracking_id)
    assert tracking.tracking_id == result.tracking_id
    assert tracking.provider_post_id == result.post_id
