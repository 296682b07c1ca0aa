"""Local paths as job inputs: run_agent files / video_inputs[].files, Motion attachment paths."""

from pathlib import Path

import httpx2
import pytest
from mcp import Client

from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import (
    CAPTIONS_AGENT_ID,
    PIP_AGENT_ID,
    PIP_AGENT_MAIN_INPUT_NODE_ID,
    PIP_AGENT_OVERLAY_INPUT_NODE_ID,
)

from ..support import RUN, SESSIONS, call_error, call_ok, sent
from ..support.files import progress_recorder, settle, write_file

pytestmark = pytest.mark.anyio

MP4_HEAD = b"\x00\x00\x00\x18ftypisom"


async def test_run_agent_on_a_local_file(client: Client, served: RunningSandbox, media: Path) -> None:
    """A local video is uploaded, passed as video_ids, and the run completes with outputs."""
    clip = write_file(media / "launch.mov", 200_000, MP4_HEAD)
    before = set(served.sandbox.uploads.uploads)
    seen, record = progress_recorder()
    handle = await call_ok(
        client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "files": [str(clip)]}, progress_callback=record
    )
    assert seen
    assert seen[-1][0] == 200_000
    uploads = [(i, u) for i, u in served.sandbox.uploads.uploads.items() if i not in before]
    assert len(uploads) == 1
    [(asset_id, upload)] = uploads
    assert upload.finalized
    assert upload.size == 200_000
    assert sent(served, RUN) == [{"video_ids": [asset_id]}]
    snapshot = await settle(client, served, handle["job_id"])
    assert snapshot["status"] == "completed"
    assert snapshot["outputs"]


async def test_multi_input_agent_takes_files_per_tile(client: Client, served: RunningSandbox, media: Path) -> None:
    """video_inputs[].files feed each Video Input tile of a multi-input agent."""
    main = write_file(media / "main.mp4", 10_000, MP4_HEAD)
    overlay = write_file(media / "overlay.webm", 12_000, b"\x1a\x45\xdf\xa3")
    inputs = [
        {"agent_node_id": PIP_AGENT_MAIN_INPUT_NODE_ID, "files": [str(main)]},
        {"agent_node_id": PIP_AGENT_OVERLAY_INPUT_NODE_ID, "files": [str(overlay)]},
    ]
    before = set(served.sandbox.uploads.uploads)
    handle = await call_ok(client, "run_agent", {"agent_id": PIP_AGENT_ID, "video_inputs": inputs})
    assert served.sandbox.requests.count("POST", "/uploads/video/finalize_upload") == 2
    by_size = {u.size: i for i, u in served.sandbox.uploads.uploads.items() if i not in before}
    assert sent(served, RUN) == [
        {
            "video_inputs": [
                {"agent_node_id": PIP_AGENT_MAIN_INPUT_NODE_ID, "video_ids": [by_size[10_000]]},
                {"agent_node_id": PIP_AGENT_OVERLAY_INPUT_NODE_ID, "video_ids": [by_size[12_000]]},
            ]
        }
    ]
    assert (await settle(client, served, handle["job_id"]))["status"] == "completed"


async def test_run_pre_flight_happens_before_uploading(client: Client, served: RunningSandbox, media: Path) -> None:
    """A run that fails its checks (two inputs given as one) uploads nothing."""
    clip = write_file(media / "main.mp4", 10_000, MP4_HEAD)
    message = await call_error(client, "run_agent", {"agent_id": PIP_AGENT_ID, "files": [str(clip)]})
    assert "video_inputs" in message
    assert served.sandbox.requests.count(None, "/uploads/*") == 0
    assert sent(served, RUN) == []


async def test_agent_inputs_must_be_videos(client: Client, served: RunningSandbox, media: Path) -> None:
    """An image given as an agent input is refused before anything is sent."""
    (media / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    message = await call_error(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "files": [str(media / "logo.png")]})
    assert "must be videos" in message
    assert served.sandbox.requests.count(None, "/uploads/*") == 0
    assert sent(served, RUN) == []


async def test_motion_session_with_a_local_attachment(client: Client, served: RunningSandbox, media: Path) -> None:
    """A local attachment is uploaded to Mosaic; Motion gets a signed view URL that serves the same bytes."""
    content = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    (media / "logo.png").write_bytes(content)
    args = {"prompt": "A launch video with our logo", "attachments": [{"path": str(media / "logo.png")}]}
    handle = await call_ok(client, "create_video_session", args)
    session = served.sandbox.motion.sessions[handle["job_id"]]
    [attachment] = session.request["attachments"]
    expected = {"url": attachment["url"], "name": "logo.png", "type": "image", "content_type": "image/png"}
    assert sent(served, SESSIONS) == [{"prompt": "A launch video with our logo", "attachments": [expected]}]
    async with httpx2.AsyncClient() as http:
        response = await http.get(attachment["url"])
    assert response.status_code == 200
    assert response.content == content


async def test_attachment_needs_exactly_one_of_url_or_path(client: Client, served: RunningSandbox, media: Path) -> None:
    """An attachment gives a url or a path, not both and not neither."""
    both = {"url": "https://example.com/a.png", "path": str(media / "a.png")}
    for attachment in (both, {"name": "nothing"}):
        message = await call_error(client, "create_video_session", {"prompt": "x", "attachments": [attachment]})
        assert "exactly one of url or path" in message
    assert sent(served, SESSIONS) == []


async def test_motion_request_is_checked_before_uploading(client: Client, served: RunningSandbox, media: Path) -> None:
    """A Motion request that breaks a rule (non-YouTube style reference) uploads nothing."""
    (media / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    args = {
        "prompt": "A launch video",
        "style_reference_url": "https://vimeo.com/1",
        "attachments": [{"path": str(media / "logo.png")}],
    }
    message = await call_error(client, "create_video_session", args)
    assert "style_reference_url" in message
    assert served.sandbox.requests.count(None, "/uploads/*") == 0
    assert sent(served, SESSIONS) == []
