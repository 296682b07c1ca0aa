"""The opt-in tools reach their endpoints (checked in the sandbox's request log) and shape results."""

from pathlib import Path

import pytest
from mcp import Client

from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.catalog import CAPTIONS_ID, VIDEO_INPUT_ID
from mosaic_mcp.server.sandbox.seed import (
    AVATAR_PROFILE_ID,
    CAPTIONS_AGENT_ID,
    TRIGGER_CHANNEL_ID,
    TRIGGER_ID,
    VIDEO_IDS,
)
from mosaic_mcp.tools.catalogue import ENDPOINT_TOOLS

from ..support import RUN, VIDEO, call_error, call_ok, sandbox_settings, sent

pytestmark = pytest.mark.anyio

WEIGHT = {"caption_font_weight": "800"}
CHANNEL = "UCxxxxxxxxxxxxxxxxxxxxxx"


@pytest.fixture(scope="module")
def server(served: RunningSandbox, home: Path) -> MosaicServer:
    """Every toolset, and every kind of action allowed with confirm=true (these clients cannot ask)."""
    return create_server(
        sandbox_settings(served, home, toolsets="all", allow_without_prompt="payments,publishing,deleting")
    )


def hit(served: RunningSandbox, endpoint: str, times: int = 1) -> bool:
    """Whether the sandbox received `endpoint` ("METHOD /route") exactly `times` times."""
    method, route = endpoint.split(" ", 1)
    return served.sandbox.count(method, route) == times


async def test_agent_building(client: Client, served: RunningSandbox) -> None:
    """create_agent, update_agent with temp refs, get_agent_node, get_node_type, duplicate, delete."""
    created = await call_ok(client, "create_agent", {"name": "Shorts maker"})
    agent_id = created["agent_id"]
    operations = [
        {"op": "create_node", "temp_ref_id": "in", "node_type_id": VIDEO_INPUT_ID},
        {"op": "create_node", "temp_ref_id": "cap", "node_type_id": CAPTIONS_ID, "params_used": WEIGHT},
        {"op": "create_connection", "source_temp_ref_id": "in", "target_temp_ref_id": "cap"},
    ]  # fmt: skip
    updated = await call_ok(client, "update_agent", {"agent_id": agent_id, "operations": operations})
    captions_node = next(n["agent_node_id"] for n in updated["created_nodes"] if n["temp_ref_id"] == "cap")
    node = await call_ok(client, "get_agent_node", {"agent_node_id": captions_node})
    assert node["params"] == WEIGHT
    assert node["documented_params"]
    kind = await call_ok(client, "get_node_type", {"node_type_id": CAPTIONS_ID})
    assert kind["docs_url"]
    assert kind["all_params_documented"] is False
    copy = await call_ok(client, "duplicate_agent", {"agent_id": agent_id, "name": "Shorts maker 2"})
    assert copy["input_mode"] == "single_input"
    assert len(copy["nodes"]) == 2
    deleted = await call_ok(client, "delete_agent", {"agent_id": copy["agent_id"], "confirm": True})
    assert deleted["success"] is True
    for endpoint in [e for e, tool in ENDPOINT_TOOLS.items() if tool in {"create_agent", "duplicate_agent"}]:
        assert hit(served, endpoint)
    assert hit(served, "POST /agent/{agent_id}/update")
    assert hit(served, "GET /agent_nodes/{agent_node_id}")
    assert hit(served, "GET /node_type/{node_type_id}")
    assert hit(served, "POST /agent/{agent_id}/delete")


async def test_graph_edit_mistakes_are_refused_before_sending(client: Client, served: RunningSandbox) -> None:
    """update_agent checks tile ids, temp refs and documented parameter types first."""
    bad_type = [{"op": "update_node", "agent_node_id": "nope", "params_used": {"x": 1}}]
    message = await call_error(client, "update_agent", {"agent_id": CAPTIONS_AGENT_ID, "operations": bad_type})
    assert "operations[0].agent_node_id" in message
    dangling = [{"op": "create_connection", "source_temp_ref_id": "ghost", "target_temp_ref_id": "ghost2"}]
    message = await call_error(client, "update_agent", {"agent_id": CAPTIONS_AGENT_ID, "operations": dangling})
    assert "temp_ref_id" in message
    assert hit(served, "POST /agent/{agent_id}/update", 0)


async def test_run_history_tools(client: Client, served: RunningSandbox) -> None:
    """list_runs per agent, across agents and per trigger; run nodes, progress and automation runs."""
    handle = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
    assert sent(served, RUN) == [{"video_urls": [VIDEO]}]
    run_id = handle["job_id"]
    mine = await call_ok(client, "list_runs", {"agent_id": CAPTIONS_AGENT_ID, "status": "running"})
    assert run_id in {r["run_id"] for r in mine["runs"]}
    latest = await call_ok(client, "list_runs", {"limit": 5})
    assert 1 <= len(latest["runs"]) <= 5 and run_id in {r["run_id"] for r in latest["runs"]}
    by_trigger = await call_ok(client, "list_runs", {"trigger_id": TRIGGER_ID})
    assert run_id not in {r["run_id"] for r in by_trigger["runs"]}, "our run was not started by the trigger"
    nodes = await call_ok(client, "get_run_nodes", {"run_id": run_id})
    assert nodes["nodes"]
    assert all(n["original_node_id"] for n in nodes["nodes"])
    progress = await call_ok(client, "get_run_progress", {"run_id": run_id})
    assert progress["run_id"] == run_id and progress["total_nodes"] == len(nodes["nodes"])
    automation = await call_ok(client, "list_automation_runs", {"agent_id": CAPTIONS_AGENT_ID})
    assert run_id in {r["run_id"] for r in automation["items"]}
    for endpoint in (
        "GET /agent/{agent_id}/runs", "GET /agent_runs", "GET /trigger/{trigger_id}/runs",
        "GET /agent_run/{run_id}/nodes", "GET /agent_run/{run_id}/progress", "GET /automations/runs",
    ):  # fmt: skip
        assert served.sandbox.count(*endpoint.split(" ", 1)) >= 1, endpoint


async def test_trigger_tools(client: Client, served: RunningSandbox) -> None:
    """YouTube channels are listed, added and removed; storage observability is reachable."""
    triggers = await call_ok(client, "list_triggers", {"agent_id": CAPTIONS_AGENT_ID})
    assert TRIGGER_CHANNEL_ID in triggers["triggers"][0]["youtube_channels"]
    channels = {"agent_id": CAPTIONS_AGENT_ID, "youtube_channels": [CHANNEL]}
    added = await call_ok(client, "add_youtube_channels", channels)
    assert CHANNEL in added["channel_ids"]
    removed = await call_ok(client, "remove_youtube_channels", channels)
    assert CHANNEL in removed["removed_channels"]
    assert (await call_ok(client, "list_storage_triggers"))["storage_triggers"] == []
    assert (await call_ok(client, "list_ingest_batches"))["batches"] == []
    assert "404" in await call_error(client, "list_watched_folders", {"trigger_id": "unknown-trigger"})
    assert "404" in await call_error(client, "list_storage_events", {"trigger_id": "unknown-trigger"})
    for tool in ("list_triggers", "add_youtube_channels", "remove_youtube_channels", "list_storage_triggers",
                 "list_ingest_batches", "list_watched_folders", "list_storage_events"):  # fmt: skip
        assert all(hit(served, e) for e, t in ENDPOINT_TOOLS.items() if t == tool), tool


async def test_avatar_and_asset_tools(client: Client, served: RunningSandbox) -> None:
    """Avatars come with readiness; a view URL is signed for an uploaded asset."""
    avatars = await call_ok(client, "list_avatar_profiles")
    seeded = next(a for a in avatars["avatar_profiles"] if a["avatar_profile_id"] == AVATAR_PROFILE_ID)
    assert seeded["status"] == "ready"
    assert seeded["usable"] is True
    new = await call_ok(client, "create_avatar_profile", {"name": "Host", "video_url": "https://example.com/host.mp4"})
    assert new["status"] in {"pending", "processing"}
    assert new["usable"] is True
    again = await call_ok(client, "get_avatar_profile", {"avatar_profile_id": new["avatar_profile_id"]})
    assert again["name"] == "Host"
    view = await call_ok(client, "get_asset_view_url", {"asset_type": "video", "asset_id": VIDEO_IDS[0]})
    assert view["signed_url"].startswith("http")
    for endpoint in ("POST /avatar-profiles/create", "GET /avatar-profiles", "GET /avatar-profiles/{avatar_profile_id}",
                     "POST /uploads/get_view_url"):  # fmt: skip
        assert hit(served, endpoint), endpoint


async def test_social_tools(client: Client, served: RunningSandbox) -> None:
    """Posts: publish (confirmed), list, detail with analytics and comments, reschedule, track, delete."""
    link = await call_ok(client, "connect_social_account", {"platform": "x"})
    assert link["platform"] == "x" and link["connect_url"].startswith("http")
    accounts = (await call_ok(client, "list_social_connections"))["connected_accounts"]
    cid = accounts[-1]["social_connection_id"]
    assert (await call_ok(client, "get_social_connection", {"social_connection_id": cid}))["connected"] is True
    args = {"destinations": [cid], "post": "Soon", "schedule_date": "2099-01-01T00:00:00Z", "confirm": True}
    post = await call_ok(client, "create_social_post", args)
    listed = await call_ok(client, "list_social_posts", {"limit": 5})
    assert post["post_id"] in {p["post_id"] for p in listed["posts"]}
    detail = await call_ok(
        client, "get_social_post", {"post_id": post["post_id"], "include_analytics": True, "include_comments": True}
    )
    assert detail["post"]["post_id"] == post["post_id"]
    assert detail["analytics"] is not None
    noted = await call_ok(client, "update_social_post", {"post_id": post["post_id"], "notes": "check captions"})
    assert noted["post_id"] == post["post_id"]
    tracked = await call_ok(client, "track_social_post", {"tracking_id": post["tracking_id"]})
    assert tracked["tracking_id"] == post["tracking_id"]
    deleted = await call_ok(client, "delete_social_post", {"post_id": post["post_id"], "confirm": True})
    assert deleted["post_id"] == post["post_id"]
    gone = await call_ok(client, "delete_social_connection", {"social_connection_id": cid, "confirm": True})
    assert gone["success"]
    left = (await call_ok(client, "list_social_connections"))["connected_accounts"]
    assert cid not in {a["social_connection_id"] for a in left}
    for endpoint, tool in ENDPOINT_TOOLS.items():
        if endpoint.split(" ", 1)[1].startswith("/social/"):
            assert served.sandbox.count(*endpoint.split(" ", 1)) >= 1, (endpoint, tool)


async def test_account_tools(client: Client, served: RunningSandbox) -> None:
    """whoami, usage, plan and plan list are plain reads."""
    me = await call_ok(client, "whoami")
    assert me["organization_id"]
    usage = await call_ok(client, "get_credit_usage", {"start_date": "2026-01-01"})
    assert usage["date_range"]["start_date"].startswith("2026-01-01") and "summary" in usage
    plan = await call_ok(client, "get_plan")
    assert plan["plan"]["id"] == "creator"
    plans = await call_ok(client, "list_plans")
    assert {"creator", "professional"} <= {p["id"] for p in plans["plans"]}
    for endpoint in ("GET /whoami", "GET /credits/usage", "GET /plan", "GET /plan/list"):
        assert hit(served, endpoint), endpoint
