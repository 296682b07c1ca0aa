"""What can never be right is refused by the tools themselves, naming the tool's parameter, with nothing sent."""

from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID, GENERATOR_AGENT_ID

from ..support import RUN, VIDEO, call_error, call_ok, connect, sandbox_settings, sent

pytestmark = pytest.mark.anyio

METADATA = "http://169.254.169.254/latest/meta-data/"
CHANNEL = "UCuAXFkgsw1L7xaCfnd5JJOw"

# tool, arguments, the start of the message after the tool's prefix, and a word of the rule.
REFUSED: list[tuple[str, str, dict[str, Any], str, str]] = [
    ("agent-id-nul", "get_agent", {"agent_id": "agent\x00"}, "agent_id:", "control characters"),
    ("agent-id-crlf", "get_agent", {"agent_id": "a\r\nX-Evil: 1"}, "agent_id:", "control characters"),
    ("video-id-lf", "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_ids": ["v\n1"]}, "video_ids[0]:", "control"),
    ("video-ids-10000", "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_ids": [f"v{i}" for i in range(10_000)]},
     "video_ids:", "at most 100 items"),
    ("ignore-nodes-many", "run_agent",
     {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO], "ignore_nodes": ["n"] * 501}, "ignore_nodes:", "at most"),
    ("callback-metadata", "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO], "callback_url": METADATA},
     "callback_url:", "public address"),
    ("callback-localhost", "run_agent",
     {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO], "callback_url": "http://localhost:8080/hook"},
     "callback_url:", "MOSAIC_MCP_ALLOW_PRIVATE_CALLBACKS"),
    ("trigger-callback-private", "add_youtube_channels",
     {"agent_id": CAPTIONS_AGENT_ID, "youtube_channels": [CHANNEL], "callback_url": "http://10.0.0.7/hook"},
     "callback_url:", "public address"),
    ("cursor-1mb", "list_runs", {"cursor": "c" * 1_000_000}, "cursor:", "at most 2,048 characters"),
    ("post-id-tab", "get_social_post", {"post_id": "p\t1"}, "post_id:", "control characters"),
    # Fields the API layer names differently: the message uses the tool's parameter.
    ("from-date", "list_runs", {"from_date": "yesterday"}, "from_date:", "ISO-8601"),
    ("to-date", "list_automation_runs", {"to_date": "soon"}, "to_date:", "ISO-8601"),
    ("events-from-date", "list_storage_events", {"trigger_id": "t1", "from_date": "later"}, "from_date:", "ISO-8601"),
    ("social-connection-id", "get_social_connection", {"social_connection_id": "a/b"}, "social_connection_id:",
     "no slashes"),
    ("job-id", "poll_job", {"job_id": "run\n1"}, "job_id:", "control characters"),
    ("duration-filter", "add_youtube_channels",
     {"agent_id": CAPTIONS_AGENT_ID, "youtube_channels": [CHANNEL], "min_seconds": 60, "max_seconds": 10},
     "min_seconds:", "must not exceed max_seconds"),
    ("avatar-sources", "create_avatar_profile", {"name": "Ann", "image_url": "https://example.com/a.png"},
     "video_url:", "an image plus an audio"),
]  # fmt: skip


@pytest.mark.parametrize(("tool", "args", "starts", "rule"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
async def test_refused_with_the_tool_parameter_named_and_nothing_sent(
    client: Client, served: RunningSandbox, tool: str, args: dict[str, Any], starts: str, rule: str
) -> None:
    """The error starts with the tool's own parameter and says the rule; no request reaches the API."""
    message = await call_error(client, tool, args)
    assert message.startswith(f"Error executing tool {tool}: {starts}"), message
    assert rule in message
    for api_name in ("from:", "to:", "cid", "run_id", "trigger_callback_url", "sources", "filter_options"):
        assert api_name not in message
    assert served.sandbox.count() == 0


async def test_private_callback_allowed_by_the_setting(served: RunningSandbox, tmp_path: Path, mode: str) -> None:
    """With MOSAIC_MCP_ALLOW_PRIVATE_CALLBACKS a loopback callback_url is sent as given."""
    hook = "http://127.0.0.1:9/hook"
    async with connect(
        sandbox_settings(served, tmp_path, toolsets="all", allow_private_callbacks=True), mode
    ) as client:
        handle = await call_ok(client, "run_agent", {"agent_id": GENERATOR_AGENT_ID, "callback_url": hook})
    assert served.sandbox.runs.get(handle["job_id"]).callback_url == hook
    assert sent(served, RUN) == [{"callback_url": hook}]


async def test_own_public_url_callback_still_works(served: RunningSandbox, tmp_path: Path, mode: str) -> None:
    """MOSAIC_MCP_PUBLIC_URL on loopback: runs are still pointed at this server's own webhook."""
    settings = sandbox_settings(served, tmp_path, toolsets="all", public_url="http://127.0.0.1:8123")
    async with connect(settings, mode) as client:
        handle = await call_ok(client, "run_agent", {"agent_id": GENERATOR_AGENT_ID})
    assert served.sandbox.runs.get(handle["job_id"]).callback_url == "http://127.0.0.1:8123/webhooks/mosaic"
    assert sent(served, RUN) == [{"callback_url": "http://127.0.0.1:8123/webhooks/mosaic"}]
