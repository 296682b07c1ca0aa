"""What models see is deliberate: the tool list is pinned, and every core tool fails well.

Regenerate the snapshot after an intended change with `UPDATE_SNAPSHOTS=1 pytest tests/server`.
"""

import json
import os
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import FAST_POLLING, RUN, SESSIONS, call_error, call_ok, sandbox_settings, sent

pytestmark = pytest.mark.anyio

SNAPSHOT = Path(__file__).with_name("snapshots") / "core_tools.json"
VIDEO = "https://youtu.be/dQw4w9WgXcQ"
JOB = "00000000-0000-4000-8000-000000000000"


async def test_tool_list_matches_the_snapshot(client: Client) -> None:
    """Names, descriptions, schemas and annotations of the default tools are exactly the pinned ones."""
    tools = (await client.list_tools()).tools
    current = {
        t.name: {
            "title": t.title,
            "description": t.description,
            "input_schema": t.input_schema,
            "output_schema": t.output_schema,
            "annotations": t.annotations.model_dump(exclude_none=True) if t.annotations else None,
        }
        for t in sorted(tools, key=lambda t: t.name)
    }
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert current == json.loads(SNAPSHOT.read_text()), "tool list changed: review, then UPDATE_SNAPSHOTS=1"


# Bad input: each is refused with the field named and nothing sent upstream.
BAD_INPUT: list[tuple[str, dict[str, Any], str]] = [
    ("create_video_session", {"prompt": "x" * 12_001}, "prompt"),
    ("create_video_session", {"prompt": "x", "attachments": [{"url": "ftp://a/b.png"}]}, "url"),
    ("create_video_session", {"prompt": "x", "aspect_ratio": "2:1"}, "aspect_ratio"),
    ("followup_video_session", {"job_id": JOB, "prompt": ""}, "prompt"),
    ("run_agent", {"agent_id": ""}, "agent_id"),
    ("run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": ["file:///etc/passwd"]}, "video_urls"),
    ("poll_job", {"job_id": JOB, "wait_seconds": -1}, "wait_seconds"),
    ("list_jobs", {"limit": 0}, "limit"),
    ("cancel_job", {"job_id": ""}, "job_id"),
    ("list_agents", {"limit": 101}, "limit"),
    ("get_agent", {"agent_id": ""}, "agent_id"),
]


@pytest.mark.parametrize(("tool", "args", "field"), BAD_INPUT, ids=[f"{t}-{f}" for t, _, f in BAD_INPUT])
async def test_bad_input_names_the_field_and_sends_nothing(
    client: Client, served: RunningSandbox, tool: str, args: dict[str, Any], field: str
) -> None:
    """Invalid arguments give an error naming the field, before any API request (run_agent may read the graph)."""
    before = served.sandbox.count()
    message = await call_error(client, tool, args)
    assert field in message
    changes = [r for r in served.sandbox.requests.records[before:] if r.method != "GET"]
    assert changes == []


# Upstream failure: every API call answers 503 (retried, then given up) — the message says what to do.
UPSTREAM: list[tuple[str, dict[str, Any]]] = [
    ("create_video_session", {"prompt": "A launch video"}),
    ("run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]}),
    ("list_agents", {}),
    ("get_agent", {"agent_id": CAPTIONS_AGENT_ID}),
    ("list_node_types", {}),
    ("check_credits", {}),
    ("poll_job", {"job_id": JOB}),
]


@pytest.mark.parametrize(("tool", "args"), UPSTREAM, ids=[t for t, _ in UPSTREAM])
async def test_upstream_failure_is_actionable(
    client: Client, served: RunningSandbox, tool: str, args: dict[str, Any]
) -> None:
    """A failing service yields a readable error with a next step: no traceback, no key."""
    served.sandbox.faults.inject("server_error", times=1000)
    message = await call_error(client, tool, args)
    assert "500" in message or "no job" in message
    if tool == "create_video_session":  # sent, then 500: it may exist, so never "try again"
        assert "may have started" in message and "do NOT send it again" in message
        assert "try again" not in message
    else:
        assert "try again" in message or "list_jobs" in message


async def test_missing_motion_key_says_how_to_fix(served: RunningSandbox, tmp_path: Path) -> None:
    """Without MOTION_API_KEY, Motion tools say which variable to set; Mosaic tools still work."""
    settings = sandbox_settings(served, tmp_path, motion_api_key=None)
    server: MosaicServer = create_server(settings, poll_timing=FAST_POLLING)
    async with Client(server) as client:
        message = await call_error(client, "create_video_session", {"prompt": "A launch video"})
        assert "MOTION_API_KEY" in message and "motion_" in message
        assert sent(served, SESSIONS) == []
        assert not (await client.call_tool("list_agents", {})).is_error


# Unknown arguments: the SDK would drop them; we refuse them before anything runs or is sent.
MISSPELT: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_url": [VIDEO]}, "video_url", "video_urls"),
    ("run_agent", {"agent_id": CAPTIONS_AGENT_ID, "mimir_asset": [{"id": "a"}]}, "mimir_asset", "mimir_assets"),
    ("run_agent", {"agentId": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]}, "agentId", "agent_id"),
    ("run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO], "roots": []}, "roots", None),
    ("create_video_session", {"prompt": "A launch video", "aspectRatio": "9:16"}, "aspectRatio", "aspect_ratio"),
    ("poll_job", {"job_id": JOB, "wait": 5}, "wait", None),
]


@pytest.mark.parametrize(("tool", "args", "unknown", "meant"), MISSPELT, ids=[f"{t}-{u}" for t, _, u, _ in MISSPELT])
async def test_unknown_argument_is_refused_before_any_request(
    client: Client, served: RunningSandbox, tool: str, args: dict[str, Any], unknown: str, meant: str | None
) -> None:
    """An argument the tool does not take is named (with the closest valid one); no request leaves at all."""
    before = served.sandbox.count()
    message = await call_error(client, tool, args)
    assert f"unknown argument {unknown!r}" in message
    if meant is not None:
        assert f"did you mean {meant!r}" in message
    assert served.sandbox.count() == before


async def test_unknown_field_in_a_video_input_is_refused(client: Client, served: RunningSandbox) -> None:
    """A misspelt field inside video_inputs is named with its place and the right name; nothing is sent."""
    entry = {"agent_node_id": "input", "video_url": [VIDEO]}
    message = await call_error(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_inputs": [entry]})
    assert "video_inputs.0" in message
    assert "unknown field 'video_url'" in message and "did you mean 'video_urls'" in message
    assert served.sandbox.count() == 0


async def test_resolver_and_context_parameters_are_not_arguments(client: Client, served: RunningSandbox) -> None:
    """run_agent's Context and Resolve(...) parameters are neither listed as arguments nor required."""
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools["run_agent"].input_schema["properties"]).isdisjoint({"ctx", "roots"})
    await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
    assert sent(served, RUN) == [{"video_urls": [VIDEO]}]


async def test_every_tool_schema_is_closed(served: RunningSandbox, tmp_path: Path) -> None:
    """With every toolset on, each tool's input schema (and each object model in it) says additionalProperties false."""
    server = create_server(sandbox_settings(served, tmp_path, toolsets="all"), poll_timing=FAST_POLLING)
    async with Client(server) as client:
        tools = (await client.list_tools()).tools
    assert len(tools) > 40
    for tool in tools:
        assert tool.input_schema.get("additionalProperties") is False, tool.name
        for name, model in tool.input_schema.get("$defs", {}).items():
            if "properties" in model:
                assert model.get("additionalProperties") is False, f"{tool.name}: {name}"
