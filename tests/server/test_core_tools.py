"""The core tools, end to end in memory, in both protocol generations, against the sandbox."""

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.config import Settings
from mosaic_mcp.server.jobs.poller import PollTiming
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import (
    CAPTIONS_AGENT_CAPTIONS_NODE_ID,
    CAPTIONS_AGENT_ID,
    CAPTIONS_AGENT_REFRAME_NODE_ID,
    GENERATOR_AGENT_ID,
    PIP_AGENT_ID,
    PIP_AGENT_MAIN_INPUT_NODE_ID,
    PIP_AGENT_OVERLAY_INPUT_NODE_ID,
    VIDEO_IDS,
)

from ..support import FAST_POLLING, FOLLOWUPS, RUN, SESSIONS, VIDEO, call_error, call_ok, sandbox_settings, sent

pytestmark = pytest.mark.anyio

MP4_HEAD = b"\x00\x00\x00\x18ftypisom"
PNG_HEAD = b"\x89PNG\r\n\x1a\n"


def new_uploads(served: RunningSandbox, before: set[str]) -> list[str]:
    """Ids of the uploads made since `before` was taken."""
    return [asset_id for asset_id in served.sandbox.uploads.uploads if asset_id not in before]


def with_media(served: RunningSandbox, tmp_path: Path) -> tuple[MosaicServer, Path]:
    """A server that may read local files from a media folder, and that folder."""
    media = tmp_path / "media"
    media.mkdir()
    settings = sandbox_settings(served, tmp_path, allowed_dirs=str(media))
    return create_server(settings, poll_timing=FAST_POLLING), media


async def follow(client: Client, job_id: str, **kw: Any) -> dict[str, Any]:
    with anyio.fail_after(30):
        while True:
            snap = await call_ok(client, "poll_job", {"job_id": job_id, "wait_seconds": 5}, **kw)
            if snap["settled"]:
                return snap


async def test_run_agent_completes_with_outputs_and_progress(client: Client, served: RunningSandbox) -> None:
    """run_agent returns a handle at once; poll_job waits with progress until the run completes."""
    handle = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
    assert handle["kind"] == "mosaic_run"
    assert handle["resource_uri"] == f"mosaic://runs/{handle['job_id']}"
    assert "poll_job" in handle["next_step"]
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    final = await follow(client, handle["job_id"], progress_callback=on_progress)
    assert final["status"] == "completed"
    assert final["outputs"] and final["outputs"][0]["video_url"].startswith("http")
    assert final["outputs"][0]["render_id"]
    assert final["next_poll_after_seconds"] is None
    assert any("tiles done" in m for m in messages)
    assert sent(served, RUN) == [{"video_urls": [VIDEO]}]


async def finished_render(client: Client) -> str:
    """The render id of a finished generation-only run, to chain into another run."""
    handle = await call_ok(client, "run_agent", {"agent_id": GENERATOR_AGENT_ID})
    final = await follow(client, handle["job_id"])
    assert final["status"] == "completed"
    return str(final["outputs"][0]["render_id"])


async def test_run_agent_sends_every_single_input_argument(served: RunningSandbox, tmp_path: Path, mode: str) -> None:
    """run_agent sends each argument it is given, unchanged, with a local file as its uploaded video id."""
    server, media = with_media(served, tmp_path)
    clip = media / "launch.mp4"
    clip.write_bytes(MP4_HEAD + bytes(1000))
    args = {
        "agent_id": CAPTIONS_AGENT_ID,
        "video_urls": [VIDEO],
        "video_ids": [VIDEO_IDS[0]],
        "files": [str(clip)],
        "update_params": {CAPTIONS_AGENT_CAPTIONS_NODE_ID: {"caption_style": "plain"}},
        "ignore_nodes": [CAPTIONS_AGENT_REFRAME_NODE_ID],
        "callback_url": "https://hooks.example.com/mosaic",
    }
    async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
        render_id = await finished_render(client)
        before = set(served.sandbox.uploads.uploads)
        await call_ok(client, "run_agent", {**args, "node_render_ids": [render_id]})
    (uploaded,) = new_uploads(served, before)
    assert sent(served, RUN)[1:] == [
        {
            "video_ids": [VIDEO_IDS[0], uploaded],
            "node_render_ids": [render_id],
            "video_urls": [VIDEO],
            "callback_url": "https://hooks.example.com/mosaic",
            "update_params": {CAPTIONS_AGENT_CAPTIONS_NODE_ID: {"caption_style": "plain"}},
            "ignore_nodes": [CAPTIONS_AGENT_REFRAME_NODE_ID],
        }
    ]


async def test_run_agent_sends_every_video_inputs_field(served: RunningSandbox, tmp_path: Path, mode: str) -> None:
    """run_agent sends each video_inputs entry as given, clip bounds included, local files as upload ids."""
    server, media = with_media(served, tmp_path)
    clip = media / "overlay.mp4"
    clip.write_bytes(MP4_HEAD + bytes(1000))
    async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
        render_id = await finished_render(client)
        before = set(served.sandbox.uploads.uploads)
        inputs = [
            {
                "agent_node_id": PIP_AGENT_MAIN_INPUT_NODE_ID,
                "video_urls": [VIDEO],
                "input_clip_start_ms": 1000,
                "input_clip_end_ms": 5000,
            },
            {
                "agent_node_id": PIP_AGENT_OVERLAY_INPUT_NODE_ID,
                "video_ids": [VIDEO_IDS[1]],
                "node_render_ids": [render_id],
                "files": [str(clip)],
            },
        ]
        await call_ok(client, "run_agent", {"agent_id": PIP_AGENT_ID, "video_inputs": inputs})
    (uploaded,) = new_uploads(served, before)
    assert sent(served, RUN)[1:] == [
        {
            "video_inputs": [
                {
                    "agent_node_id": PIP_AGENT_MAIN_INPUT_NODE_ID,
                    "video_urls": [VIDEO],
                    "input_clip_start_ms": 1000,
                    "input_clip_end_ms": 5000,
                },
                {
                    "agent_node_id": PIP_AGENT_OVERLAY_INPUT_NODE_ID,
                    "video_ids": [VIDEO_IDS[1], uploaded],
                    "node_render_ids": [render_id],
                },
            ]
        }
    ]


async def test_create_video_session_sends_every_argument(served: RunningSandbox, tmp_path: Path, mode: str) -> None:
    """create_video_session sends each argument it is given, unchanged; a local file goes as its signed link."""
    server, media = with_media(served, tmp_path)
    (media / "logo.png").write_bytes(PNG_HEAD + bytes(100))
    linked = {"url": "https://cdn.example.com/brand.mp4", "name": "Brand", "type": "video", "content_type": "video/mp4"}
    args = {
        "prompt": "A launch video",
        "style_reference_url": "https://music.youtube.com/watch?v=dQw4w9WgXcQ",
        "attachments": [linked, {"path": str(media / "logo.png"), "name": "Logo"}],
        "aspect_ratio": "9:16",
        "duration": "10-30s",
        "mode": "high",
        "design_system_id": "linear",
        "design_md": "# Design\nCalm colours.",
    }
    async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
        await call_ok(client, "create_video_session", args)
    (body,) = sent(served, SESSIONS)
    (uploaded,) = served.sandbox.uploads.uploads
    local_link = body["attachments"][1].pop("url")
    assert uploaded in local_link
    assert body == {
        "prompt": "A launch video",
        "style_reference_url": "https://music.youtube.com/watch?v=dQw4w9WgXcQ",
        "attachments": [linked, {"name": "Logo", "type": "image", "content_type": "image/png"}],
        "aspect_ratio": "9:16",
        "duration": "10-30s",
        "design_system_id": "linear",
        "design_md": {"content": "# Design\nCalm colours."},
        "mode": "high",
    }


async def test_followup_sends_every_argument(client: Client, served: RunningSandbox) -> None:
    """followup_video_session sends each argument it is given, unchanged, to the completed job's follow-ups."""
    handle = await call_ok(client, "create_video_session", {"prompt": "A short launch video"})
    await follow(client, handle["job_id"])
    attachment = {"url": "https://cdn.example.com/end.png", "name": "End card", "type": "image"}
    args = {
        "job_id": handle["job_id"],
        "prompt": "Add the end card",
        "attachments": [attachment],
        "style_reference_url": "https://youtu.be/dQw4w9WgXcQ",
        "mode": "light",
    }
    await call_ok(client, "followup_video_session", args)
    assert sent(served, FOLLOWUPS) == [
        {
            "prompt": "Add the end card",
            "attachments": [attachment],
            "style_reference_url": "https://youtu.be/dQw4w9WgXcQ",
            "mode": "light",
        }
    ]
    followups = served.sandbox.requests.matching("POST", FOLLOWUPS)
    assert [r.path for r in followups] == [f"/api/motion/sessions/{handle['job_id']}/followups"]


async def test_motion_session_settles_only_when_download_is_ready(client: Client, served: RunningSandbox) -> None:
    """A Motion session is settled once completed AND its download URL exists."""
    handle = await call_ok(client, "create_video_session", {"prompt": "A short launch video", "mode": "light"})
    assert handle["kind"] == "motion_session"
    final = await follow(client, handle["job_id"])
    assert final["status"] == "completed"
    assert final["download_ready"] is True
    assert final["outputs"][0]["output_id"] == "video"
    assert sent(served, SESSIONS) == [{"prompt": "A short launch video", "mode": "light"}]


async def test_followup_before_completion_is_a_clear_error(client: Client, served: RunningSandbox) -> None:
    """A follow-up on a running session says it must complete first."""
    served.sandbox.clock.speed = 0
    handle = await call_ok(client, "create_video_session", {"prompt": "A short launch video"})
    message = await call_error(client, "followup_video_session", {"job_id": handle["job_id"], "prompt": "shorter"})
    assert "followup_requires_completed_job" in message and "completed" in message
    assert sent(served, FOLLOWUPS) == [{"prompt": "shorter"}]


async def test_followup_after_completion_starts_a_tracked_job(client: Client, served: RunningSandbox) -> None:
    """A follow-up on a completed session returns a new job handle that completes too."""
    handle = await call_ok(client, "create_video_session", {"prompt": "A short launch video"})
    await follow(client, handle["job_id"])
    revision = await call_ok(client, "followup_video_session", {"job_id": handle["job_id"], "prompt": "shorter"})
    assert (await follow(client, revision["job_id"]))["status"] == "completed"
    assert sent(served, SESSIONS) == [{"prompt": "A short launch video"}]
    assert sent(served, FOLLOWUPS) == [{"prompt": "shorter"}]


async def test_bad_motion_input_names_the_field_and_sends_nothing(client: Client, served: RunningSandbox) -> None:
    """A non-YouTube style reference is refused before any request."""
    message = await call_error(
        client, "create_video_session", {"prompt": "x", "style_reference_url": "https://vimeo.com/1"}
    )
    assert "style_reference_url" in message and "YouTube" in message
    assert sent(served, SESSIONS) == []


async def test_schema_violations_are_tool_errors(client: Client) -> None:
    """An out-of-range argument is rejected by the tool's schema with the field named."""
    message = await call_error(client, "create_video_session", {"prompt": ""})
    assert "prompt" in message


async def test_unknown_update_param_node_spends_nothing(client: Client, served: RunningSandbox) -> None:
    """update_params for a node the agent does not have is refused before the run is created."""
    message = await call_error(
        client,
        "run_agent",
        {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO], "update_params": {"not-a-node": {"x": 1}}},
    )
    assert "not-a-node" in message
    assert sent(served, RUN) == []


async def test_multi_input_agent_needs_video_inputs(client: Client, served: RunningSandbox) -> None:
    """Top-level video_urls for an agent with two Video Input tiles are refused, no run created."""
    message = await call_error(client, "run_agent", {"agent_id": PIP_AGENT_ID, "video_urls": [VIDEO]})
    assert "video_inputs" in message
    assert sent(served, RUN) == []


async def test_generation_only_agent_runs_without_inputs(client: Client, served: RunningSandbox) -> None:
    """A generation-only agent runs with no video inputs."""
    handle = await call_ok(client, "run_agent", {"agent_id": GENERATOR_AGENT_ID})
    assert (await follow(client, handle["job_id"]))["settled"]
    assert sent(served, RUN) == [{}]


async def test_upstream_failure_is_actionable(client: Client, served: RunningSandbox) -> None:
    """Persistent 500s become a message that says what happened and what to do, without secrets."""
    served.sandbox.faults.inject(method="GET", path="/agents", kind="server_error", times=10)
    message = await call_error(client, "list_agents", {})
    assert "500" in message and "try again" in message


async def test_rejected_key_points_at_the_variable(client: Client, served: RunningSandbox) -> None:
    """A 401 tells the user which variable holds the key and what it must look like."""
    served.sandbox.faults.inject(method="GET", path="/credits", kind="status", status=401, times=1)
    message = await call_error(client, "check_credits", {})
    assert "MOSAIC_API_KEY" in message and "mk_" in message


async def test_catalogue_tools_return_parsed_data(client: Client) -> None:
    """list_agents, get_agent, list_node_types and check_credits answer from the API."""
    agents = await call_ok(client, "list_agents", {"limit": 10})
    assert any(a["agent_id"] == CAPTIONS_AGENT_ID for a in agents["agents"])
    view = await call_ok(client, "get_agent", {"agent_id": CAPTIONS_AGENT_ID})
    assert view["input_mode"] == "single_input"
    assert CAPTIONS_AGENT_CAPTIONS_NODE_ID in [n["agent_node_id"] for n in view["nodes"]]
    types = await call_ok(client, "list_node_types", {})
    assert any(t["node_type_name"] == "Captions" for t in types["node_types"])
    credits = await call_ok(client, "check_credits", {})
    assert credits["balance"] > 0


async def test_list_and_cancel_jobs(client: Client, served: RunningSandbox) -> None:
    """list_jobs shows started jobs newest first; cancel_job stops a run; Motion cannot be cancelled."""
    served.sandbox.clock.speed = 0  # keep the run running until we cancel it
    run = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
    session = await call_ok(client, "create_video_session", {"prompt": "A short launch video"})
    listed = await call_ok(client, "list_jobs", {})
    assert [j["job_id"] for j in listed["jobs"]][:2] == [session["job_id"], run["job_id"]]
    cancelled = await call_ok(client, "cancel_job", {"job_id": run["job_id"]})
    assert cancelled["status"] == "cancelled" and cancelled["settled"]
    message = await call_error(client, "cancel_job", {"job_id": session["job_id"]})
    assert "Motion" in message
    assert sent(served, RUN) == [{"video_urls": [VIDEO]}]
    assert sent(served, SESSIONS) == [{"prompt": "A short launch video"}]


async def test_unknown_job_is_a_clear_error(client: Client) -> None:
    """poll_job on an id nobody knows says so and points at list_jobs."""
    message = await call_error(client, "poll_job", {"job_id": "00000000-0000-4000-8000-000000000000"})
    assert "list_jobs" in message


async def test_old_settled_job_is_read_again_for_fresh_urls(
    client: Client, server: MosaicServer, served: RunningSandbox
) -> None:
    """A finished job last read long ago is re-read, so its signed URLs are fresh, and the journal keeps them."""
    handle = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
    final = await follow(client, handle["job_id"])
    runtime = server.connections.any()
    assert runtime is not None
    journal = runtime.jobs.journal
    record = await journal.get(handle["job_id"])
    assert record is not None
    await journal.save_snapshot(
        handle["job_id"], record.snapshot.model_copy(update={"checked_at": "2000-01-01T00:00:00Z"})
    )
    served.sandbox.clock.advance(3600)  # URLs signed from now on expire later, so they differ
    again = await call_ok(client, "poll_job", {"job_id": handle["job_id"]})
    assert again["outputs"][0]["video_url"] != final["outputs"][0]["video_url"]
    stored = await journal.get(handle["job_id"])
    assert stored is not None
    assert stored.snapshot.outputs[0].video_url == again["outputs"][0]["video_url"]
    assert sent(served, RUN) == [{"video_urls": [VIDEO]}]


async def test_cancelling_a_run_that_already_finished_reports_how_it_ended(
    settings: Settings, served: RunningSandbox
) -> None:
    """cancel_job on a run that completed since our last reading returns its final state, not a 409."""
    slow = create_server(settings, poll_timing=PollTiming(initial=600, cap=600))  # we must not notice on our own
    served.sandbox.clock.speed = 0
    async with Client(slow) as client:
        handle = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
        await call_ok(client, "poll_job", {"job_id": handle["job_id"]})  # last reading: running
        served.sandbox.advance(3600)  # it finishes upstream; we have not looked since
        final = await call_ok(client, "cancel_job", {"job_id": handle["job_id"]})
    assert final["status"] == "completed"
    assert final["settled"]
    assert served.sandbox.count("POST", "/agent_run/{run_id}/cancel") == 1
    assert sent(served, RUN) == [{"video_urls": [VIDEO]}]
