"""Triggers, avatar profiles, social publishing and observability."""

from __future__ import annotations

import httpx2
import pytest

from mosaic_mcp.server.sandbox import Sandbox, seed

from .helpers import upload

pytestmark = pytest.mark.anyio


async def test_triggers_add_and_remove(mosaic: httpx2.AsyncClient) -> None:
    """Channels merge into the trigger with the same filter; removing the last one deletes it."""
    base = f"/agent/{seed.PODCAST_AGENT_ID}/triggers"
    assert (await mosaic.get(base)).json() == []
    added = await mosaic.post(
        f"{base}/add_youtube_channels",
        json={
            "youtube_channels": ["https://www.youtube.com/@mkbhd"],
            "filter_options": {"duration": {"min_seconds": 120}},
        },
    )
    channel = added.json()["channel_ids"][0]
    assert added.json()["channels"][0]["input"] == "https://www.youtube.com/@mkbhd"
    (trigger,) = (await mosaic.get(base)).json()
    assert trigger["youtube_channels"] == [channel]
    assert trigger["youtube_channel_details"][0]["channel_handle"] == "@mkbhd"
    await mosaic.post(f"{base}/remove_youtube_channels", json={"youtube_channels": [channel]})
    assert (await mosaic.get(base)).json() == []
    assert (await mosaic.post(f"{base}/add_youtube_channels", json={"youtube_channels": ["nope"]})).status_code == 400


async def test_avatar_profiles(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """A new avatar is processing, then ready with a preview URL; bad sources are 400."""
    image_id = await upload(mosaic, "image", b"\x89PNG fake")
    created = await mosaic.post(
        "/avatar-profiles/create",
        json={"name": "Me", "sources": {"image_id": image_id, "audio_url": "https://a.example/me.mp3"}},
    )
    profile = created.json()
    assert profile["status"] in ("pending", "processing")
    assert profile["video_preview_url"] is None
    sandbox.advance(120)
    ready = (await mosaic.get(f"/avatar-profiles/{profile['id']}")).json()
    assert ready["status"] == "ready"
    assert (await mosaic.get(ready["video_preview_url"])).status_code == 200
    listed = (await mosaic.get("/avatar-profiles")).json()["avatar_profiles"]
    assert {a["id"] for a in listed} == {seed.AVATAR_PROFILE_ID, profile["id"]}
    assert (await mosaic.post("/avatar-profiles/create", json={"name": "X", "sources": {}})).status_code == 400


async def test_social_flow(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """Connect, post now and later, list, patch, track and delete."""
    connect = (await mosaic.post("/social/connections", json={"platform": "linkedin"})).json()
    assert connect["connect_url"].startswith(sandbox.public_base_url)
    (account,) = (await mosaic.get("/social/connections")).json()["connected_accounts"]
    connection_id = account["social_connection_id"]
    assert (await mosaic.get(f"/social/connections/{connection_id}")).json()["connected"] is True
    destinations = [{"social_connection_id": connection_id}]
    now = (await mosaic.post("/social/post", json={"post": "Hi", "destinations": destinations})).json()
    assert now["status"] == "success"
    later = (
        await mosaic.post(
            "/social/post", json={"post": "Soon", "destinations": destinations, "schedule_date": "2099-01-01T00:00:00Z"}
        )
    ).json()
    scheduled = (await mosaic.get("/social/posts", params={"status": "scheduled"})).json()["posts"]
    assert [p["post_id"] for p in scheduled] == [later["post_id"]]
    patched = await mosaic.patch(f"/social/post/{later['post_id']}", json={"scheduled_pause": True})
    assert patched.json() == {"post_id": later["post_id"], "status": "success"}
    assert (await mosaic.patch(f"/social/post/{now['post_id']}", json={"notes": "x"})).status_code == 409
    assert (await mosaic.get(f"/social/post/{now['post_id']}/analytics")).status_code == 200
    assert (await mosaic.get(f"/social/post/{now['post_id']}/comments")).json()["comments"] == []
    assert (await mosaic.get(f"/social/post/track/{now['tracking_id']}")).json()["status"] == "posted"
    assert (await mosaic.delete(f"/social/post/{now['post_id']}")).status_code == 200
    assert (await mosaic.get(f"/social/post/{now['post_id']}")).status_code == 404
    assert (await mosaic.delete(f"/social/connections/{connection_id}")).json()["success"] is True
    assert (await mosaic.post("/social/post", json={"platforms": ["x"]})).status_code == 400


async def test_observability_endpoints(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """Storage triggers are empty lists, unknown ones 404, automation runs list the runs."""
    assert (await mosaic.get("/storage_triggers")).json() == {"storage_triggers": [], "next_cursor": None}
    assert (await mosaic.get("/storage_trigger/x/folders")).status_code == 404
    assert (await mosaic.get("/storage_trigger/x/events")).status_code == 404
    sandbox.fire_trigger(seed.TRIGGER_ID)
    assert len((await mosaic.get("/automations/runs")).json()["runs"]) == 1
    assert (await mosaic.get("/automations/ingest-batches")).json()["batches"] == []
