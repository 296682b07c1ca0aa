"""Path safety through the tools: every way out is refused with a clear message and no request sent."""

from pathlib import Path

import pytest
from mcp import Client
from mcp.types import ListRootsResult, Root

from mosaic_mcp.server.app import create_server
from mosaic_mcp.server.sandbox import RunningSandbox

from ..support import FAST_POLLING, RUN, SESSIONS, call_error, call_ok, sandbox_settings, sent
from ..support.files import write_file

pytestmark = pytest.mark.anyio

MP4_HEAD = b"\x00\x00\x00\x18ftypisom"


def upload_requests(served: RunningSandbox) -> int:
    """Requests that belong to the upload flow (API steps and the storage POST)."""
    log = served.sandbox.requests
    return log.count(None, "/uploads/*") + log.count(None, "/_sandbox/upload/*")


async def test_every_way_out_is_refused_before_any_request(
    client: Client, served: RunningSandbox, media: Path, tmp_path: Path
) -> None:
    """`..`, outside paths, links out, missing files, folders, oversize and unknown types: refused, nothing sent."""
    write_file(tmp_path / "secret.mp4", 100, MP4_HEAD)
    beside = write_file(media.parent.parent / f"{media.name}.mp4", 100, MP4_HEAD)  # next to the allowed folder
    (media / "link.mp4").symlink_to(tmp_path / "secret.mp4")
    (media / "clips.mp4").mkdir()
    with (media / "huge.mp4").open("wb") as handle:
        handle.truncate(5 * 1024**3 + 1)  # sparse: nothing is written
    (media / "notes.txt").write_text("hello")
    cases = {
        f"{media}/../../{beside.name}": "outside the folders",
        str(tmp_path / "secret.mp4"): "outside the folders",
        str(media / "link.mp4"): "leads to",
        str(media / "missing.mp4"): "there is no file",
        str(media / "clips.mp4"): "is a folder",
        str(media / "huge.mp4"): "up to 5 GB",
        str(media / "notes.txt"): "not a format Mosaic accepts",
    }
    for path, fragment in cases.items():
        message = await call_error(client, "upload_file", {"path": path})
        assert fragment in message, (path, message)
        assert message.startswith("Error executing tool upload_file: path:")
    assert "MOSAIC_MCP_ALLOWED_DIRS" in await call_error(client, "upload_file", {"path": str(tmp_path / "secret.mp4")})
    assert upload_requests(served) == 0


async def test_local_inputs_of_jobs_are_checked_the_same_way(
    client: Client, served: RunningSandbox, tmp_path: Path
) -> None:
    """run_agent files and Motion attachment paths go through the same check: nothing is sent."""
    outside = str(write_file(tmp_path / "secret.mp4", 100, MP4_HEAD))
    message = await call_error(client, "run_agent", {"agent_id": "any-agent", "files": [outside]})
    assert "files[0]" in message
    assert "outside the folders" in message
    args = {"prompt": "a launch video", "attachments": [{"path": outside}]}
    message = await call_error(client, "create_video_session", args)
    assert "attachments[0].path" in message
    assert "outside the folders" in message
    assert upload_requests(served) == 0
    assert sent(served, RUN) == []
    assert sent(served, SESSIONS) == []


async def test_download_folder_outside_is_refused(client: Client, tmp_path: Path) -> None:
    """download_output will not write outside the allowed folders."""
    message = await call_error(client, "download_output", {"job_id": "x", "directory": str(tmp_path / "elsewhere")})
    assert "directory:" in message
    assert "outside the folders" in message
    assert not (tmp_path / "elsewhere").exists()


async def test_client_roots_are_allowed_folders(served: RunningSandbox, tmp_path: Path, mode: str) -> None:
    """A folder the client offers as an MCP root (file:// URI) may be read; without it, it may not."""
    project = tmp_path / "my project"
    project.mkdir()
    clip = write_file(project / "clip.mp4", 1000, MP4_HEAD)

    async def list_roots(context: object) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=project.as_uri(), name="project")])  # type: ignore[arg-type]

    server = create_server(sandbox_settings(served, tmp_path, media=True, max_wait_seconds=5), poll_timing=FAST_POLLING)
    async with Client(server, mode=mode, list_roots_callback=list_roots) as client:  # type: ignore[arg-type]
        asset = await call_ok(client, "upload_file", {"path": str(clip)})
        assert asset["size_bytes"] == 1000
        relative = await call_ok(client, "upload_file", {"path": "clip.mp4"})  # the first root is the client's
        assert relative["path"] == str(clip)
    async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
        assert "outside the folders" in await call_error(client, "upload_file", {"path": str(clip)})


async def test_missing_mosaic_key_is_a_clear_error(
    served: RunningSandbox, workdir: Path, tmp_path: Path, media: Path, mode: str
) -> None:
    """Without MOSAIC_API_KEY, uploads and local Motion attachments say how to fix it and send nothing."""
    write_file(media / "clip.mp4", 1000, MP4_HEAD)
    settings = sandbox_settings(
        served, workdir, media=True, max_wait_seconds=5, mosaic_api_key="", home=tmp_path / "home"
    )
    server = create_server(settings, poll_timing=FAST_POLLING)
    async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
        message = await call_error(client, "upload_file", {"path": str(media / "clip.mp4")})
        assert "MOSAIC_API_KEY" in message
        args = {"prompt": "a launch video", "attachments": [{"path": str(media / "clip.mp4")}]}
        message = await call_error(client, "create_video_session", args)
        assert "MOSAIC_API_KEY" in message
        assert "public URL" in message
    assert upload_requests(served) == 0
    assert sent(served, SESSIONS) == []
