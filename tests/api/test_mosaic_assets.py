"""MosaicClient: the three-step upload flow, view URLs and avatar profiles against the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest

from mosaic_mcp.server.api import BadRequestError, InvalidInputError, MosaicClient, NotFoundError
from mosaic_mcp.server.sandbox import Sandbox, seed

pytestmark = pytest.mark.anyio

CHUNK = b"\x00\x01mosaic" * 10_000  # 80 kB


async def chunks(count: int) -> AsyncIterator[bytes]:
    """A file arriving as a stream, never held whole by the client."""
    for _ in range(count):
        yield CHUNK


async def test_get_upload_url(mosaic: MosaicClient) -> None:
    """get_upload_url folds the per-kind id key into asset_kind/asset_id."""
    ticket = await mosaic.get_upload_url("audio")
    assert ticket.asset_kind == "audio"
    assert ticket.asset_id
    assert ticket.upload_url.startswith("http")
    assert ticket.upload_fields
    assert ticket.max_file_size_bytes
    assert ticket.max_file_size_bytes > 0


async def test_upload_to_signed_url(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """upload_to_signed_url streams a multipart body (fields, then file) without the API key."""
    ticket = await mosaic.get_upload_url("video")
    size = len(CHUNK) * 3
    await mosaic.upload_to_signed_url(ticket, chunks(3), filename='clip "1".mp4', content_type="video/mp4", size=size)
    (record,) = sandbox.requests.matching("POST", "/_sandbox/upload/*")
    assert record.status == 204
    assert record.authorization is False
    finalized = await mosaic.finalize_upload("video", ticket.asset_id)
    view = await mosaic.get_view_url("video", finalized.asset_id)
    async with httpx2.AsyncClient() as plain:
        downloaded = (await plain.get(view.signed_url)).content
    assert downloaded == CHUNK * 3


async def test_upload_refused_by_storage(mosaic: MosaicClient) -> None:
    """A refusal of the signed URL maps to an error class with an actionable message."""
    ticket = await mosaic.get_upload_url("image")
    unknown = ticket.model_copy(update={"upload_url": ticket.upload_url.rsplit("/", 1)[0] + "/nope"})
    with pytest.raises(NotFoundError) as caught:
        await mosaic.upload_to_signed_url(unknown, b"png", filename="a.png", content_type="image/png", size=3)
    assert "request a new upload URL" in str(caught.value)


async def test_upload_size_checked_first(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """A file over max_file_size_bytes, or a stream longer than announced, is refused."""
    ticket = await mosaic.get_upload_url("image")
    small = ticket.model_copy(update={"max_file_size_bytes": 10})
    sandbox.requests.clear()
    with pytest.raises(InvalidInputError, match="size"):
        await mosaic.upload_to_signed_url(small, b"x" * 11, filename="a.png", content_type="image/png", size=11)
    assert len(sandbox.requests) == 0
    with pytest.raises(InvalidInputError, match="size"):
        await mosaic.upload_to_signed_url(ticket, chunks(2), filename="a.png", content_type="image/png", size=10)


async def test_finalize_upload(mosaic: MosaicClient) -> None:
    """finalize_upload after the bytes arrived returns the asset id; before, a 400."""
    ticket = await mosaic.get_upload_url("image")
    with pytest.raises(BadRequestError):
        await mosaic.finalize_upload("image", ticket.asset_id)
    await mosaic.upload_to_signed_url(ticket, b"\x89PNG", filename="a.png", content_type="image/png", size=4)
    finalized = await mosaic.finalize_upload("image", ticket.asset_id)
    assert finalized.asset_kind == "image"
    assert finalized.asset_id == ticket.asset_id


async def test_get_view_url(mosaic: MosaicClient) -> None:
    """get_view_url returns a signed URL for a workspace video."""
    view = await mosaic.get_view_url("video", seed.VIDEO_IDS[0])
    assert view.asset_id == seed.VIDEO_IDS[0]
    assert view.signed_url.startswith("http")


async def test_create_avatar_profile(mosaic: MosaicClient) -> None:
    """create_avatar_profile starts processing and returns the profile."""
    profile = await mosaic.create_avatar_profile("Founder", {"video_url": "https://example.com/founder.mp4"})
    assert profile.id
    assert profile.name == "Founder"
    assert profile.status in {"pending", "processing", "ready"}


async def test_list_avatar_profiles(mosaic: MosaicClient) -> None:
    """list_avatar_profiles includes the seeded ready avatar."""
    profiles = {p.id: p for p in await mosaic.list_avatar_profiles()}
    assert profiles[seed.AVATAR_PROFILE_ID].status == "ready"


async def test_get_avatar_profile(mosaic: MosaicClient) -> None:
    """get_avatar_profile returns one profile."""
    profile = await mosaic.get_avatar_profile(seed.AVATAR_PROFILE_ID)
    assert profile.id == seed.AVATAR_PROFILE_ID
    assert profile.status == "ready"
