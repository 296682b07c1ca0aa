"""download_output: atomic, idempotent saves of finished Mosaic runs and Motion sessions."""

import os
from pathlib import Path

import pytest
from mcp import Client

from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.config import DAY
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import RUN, SESSIONS, call_error, call_ok, sent
from ..support.files import progress_recorder, settle

pytestmark = pytest.mark.anyio

VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


def head(path: str | Path, count: int) -> bytes:
    """The first bytes of a file."""
    with open(path, "rb") as handle:
        return handle.read(count)


def stamp(path: str | Path) -> tuple[int, int]:
    """(size, mtime in ns) of a file."""
    info = os.stat(path)
    return info.st_size, info.st_mtime_ns


def names_in(folder: Path) -> list[str]:
    """Every entry of a folder (temporary files included), sorted."""
    return sorted(os.listdir(folder))


async def finished_run(client: Client, served: RunningSandbox) -> dict[str, object]:
    handle = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
    assert sent(served, RUN)[-1] == {"video_urls": [VIDEO]}
    return await settle(client, served, handle["job_id"])


async def test_download_mosaic_run(client: Client, served: RunningSandbox, downloads: Path) -> None:
    """Video and thumbnail land in the download folder under short, safe names, whole; nothing half-written."""
    run = await finished_run(client, served)
    seen, record = progress_recorder()
    result = await call_ok(client, "download_output", {"job_id": run["job_id"]}, progress_callback=record)
    output_id = run["outputs"][0]["output_id"]  # type: ignore[index]
    stem = f"{str(run['job_id'])[:8]}-{output_id[:8]}"
    assert [Path(f["path"]).name for f in result["files"]] == [f"{stem}.mp4", f"{stem}-thumbnail.png"]
    video = Path(result["files"][0]["path"])
    assert video.parent == downloads
    assert head(video, 8)[4:] == b"ftyp"
    assert stamp(video)[0] == result["files"][0]["size_bytes"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert os.stat(video).st_mode & 0o777 == 0o666 & ~umask  # not the owner-only mode of the temporary file
    assert result["bytes_downloaded"] == sum(f["size_bytes"] for f in result["files"])
    assert [n for n in names_in(downloads) if n.startswith(stem)] == sorted(
        Path(f["path"]).name for f in result["files"]
    )
    assert not [n for n in names_in(downloads) if n.endswith(".part")]
    done = [p for p, _, _ in seen]
    assert done == sorted(done)
    assert done[-1] == result["bytes_downloaded"]


async def test_download_again_skips_files_already_there(
    client: Client, served: RunningSandbox, downloads: Path
) -> None:
    """A second download keeps the files (same size) and transfers nothing."""
    run = await finished_run(client, served)
    first = await call_ok(client, "download_output", {"job_id": run["job_id"]})
    stamps = {f["path"]: stamp(f["path"]) for f in first["files"]}
    again = await call_ok(client, "download_output", {"job_id": run["job_id"]})
    assert all(f["skipped"] for f in again["files"])
    assert again["bytes_downloaded"] == 0
    assert stamps == {f["path"]: stamp(f["path"]) for f in again["files"]}


async def test_expired_links_are_renewed(client: Client, served: RunningSandbox) -> None:
    """When the signed URLs have expired (403), the run is re-read for fresh ones and the download succeeds."""
    run = await finished_run(client, served)
    served.sandbox.advance(8 * DAY)  # output URLs live 7 days
    reads_before = served.sandbox.requests.count("GET", "/agent_run/{run_id}")
    result = await call_ok(client, "download_output", {"job_id": run["job_id"]})
    assert [f["skipped"] for f in result["files"]] == [False, False]
    assert served.sandbox.requests.count("GET", "/agent_run/{run_id}") > reads_before
    statuses = [r.status for r in served.sandbox.requests.matching("GET", "/_sandbox/files/*")]
    assert statuses == [403, 200, 200]  # the stale video link, then both fresh links


async def test_one_output_into_a_chosen_folder_with_premiere(
    client: Client, served: RunningSandbox, media: Path
) -> None:
    """output_id picks one output, directory a folder inside the allowed ones, include_premiere the timeline."""
    run = await finished_run(client, served)
    output_id = run["outputs"][0]["output_id"]  # type: ignore[index]
    args = {
        "job_id": run["job_id"],
        "output_id": output_id[:8],
        "directory": str(media / "renders"),
        "include_premiere": True,
    }
    result = await call_ok(client, "download_output", args)
    assert [f["part"] for f in result["files"]] == ["video", "thumbnail", "premiere"]
    assert all(Path(f["path"]).parent == media / "renders" for f in result["files"])
    assert head(result["files"][2]["path"], 2) == b"PK"
    message = await call_error(client, "download_output", {"job_id": run["job_id"], "output_id": "nope"})
    assert "output_id" in message
    assert output_id in message


async def test_download_motion_session(client: Client, served: RunningSandbox, downloads: Path) -> None:
    """A finished Motion session's MP4 (output.download_url) is saved as <job>-video.mp4."""
    handle = await call_ok(client, "create_video_session", {"prompt": "A product launch teaser"})
    assert sent(served, SESSIONS) == [{"prompt": "A product launch teaser"}]
    session = await settle(client, served, handle["job_id"])
    assert session["download_ready"] is True
    result = await call_ok(client, "download_output", {"job_id": handle["job_id"]})
    [saved] = result["files"]
    assert Path(saved["path"]) == downloads / f"{handle['job_id'][:8]}-video.mp4"
    assert saved["size_bytes"] > 0
    assert head(saved["path"], 8)[4:] == b"ftyp"


async def test_unfinished_jobs_are_refused(client: Client, served: RunningSandbox, downloads: Path) -> None:
    """A job that is still running cannot be downloaded yet; the message says to poll first."""
    handle = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
    assert sent(served, RUN) == [{"video_urls": [VIDEO]}]
    message = await call_error(client, "download_output", {"job_id": handle["job_id"]})
    assert "not finished yet" in message
    assert "poll_job" in message
    assert not [n for n in names_in(downloads) if n.startswith(handle["job_id"][:8])]
