"""download_output on a hostile disk: a size cap, no part files left behind, I/O errors in plain words."""

import fcntl
import gzip
import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.cli import main
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import FAST_POLLING, RUN, call_error, call_ok, fill_disk, sandbox_settings, sent, small_tmpfs
from ..support.files import settle

pytestmark = pytest.mark.anyio

VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
LONG_AGO = 1_000_000_000.0
"""A modification time far in the past (2001): what a part file left by a kill days ago looks like."""


def part_name(target: str, tag: str = "k1ll3d00") -> str:
    """The name an interrupted download of `target` leaves: `.<target>.<8 random chars>.part`."""
    return f".{target}.{tag}.part"


def leftover(folder: Path, target: str, tag: str = "k1ll3d00", *, stale: bool = True) -> Path:
    """A half-written part file, untouched since long ago (stale) or just now."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / part_name(target, tag)
    path.write_bytes(b"\x00" * 4096)
    if stale:
        os.utime(path, (LONG_AGO, LONG_AGO))
    return path


def parts_in(folder: Path) -> list[str]:
    """Part files in a folder."""
    return sorted(n for n in os.listdir(folder) if n.endswith(".part"))


async def finished_run(client: Client, served: RunningSandbox) -> dict[str, Any]:
    """A completed captions run (one output: a video and a thumbnail)."""
    handle = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
    assert sent(served, RUN)[-1] == {"video_urls": [VIDEO]}
    return await settle(client, served, handle["job_id"])


def capped_server(served: RunningSandbox, workdir: Path, cap: int) -> MosaicServer:
    """A server that saves files of at most `cap` bytes."""
    return create_server(
        sandbox_settings(served, workdir, media=True, max_wait_seconds=5, max_download_bytes=cap),
        poll_timing=FAST_POLLING,
    )


@pytest.fixture
def mounts() -> Iterator[ExitStack]:
    """Mounts made by the test; unmounted afterwards."""
    with ExitStack() as stack:
        yield stack


def mount_tmpfs(mounts: ExitStack, point: Path, options: str) -> Path:
    """A 1 MB tmpfs at `point` (skips the test where this machine cannot mount one)."""
    return mounts.enter_context(small_tmpfs(point, options))


async def test_stale_parts_are_removed_on_start(served: RunningSandbox, tmp_path: Path, mode: str) -> None:
    """Starting removes part files of killed downloads from the download and allowed folders, nothing else."""
    downloads, media = tmp_path / "downloads", tmp_path / "media"
    stale = [leftover(downloads, "1a2b3c4d-5e6f7a8b.mp4"), leftover(media, "1a2b3c4d-5e6f7a8b-thumbnail.png")]
    fresh = leftover(downloads, "9f8e7d6c-5b4a3f2e.mp4", stale=False)  # another server is downloading it now
    locked = leftover(downloads, "9f8e7d6c-5b4a3f2e-premiere.zip")  # old, but a running download holds its lock
    (downloads / "holiday.mp4.part").write_bytes(b"someone else's")  # not a name mosaic-mcp makes
    outside = leftover(tmp_path / "outside", "1a2b3c4d-5e6f7a8b.mp4", "0utside0")
    (downloads / part_name("0a0b0c0d-0e0f0a0b.mp4")).symlink_to(outside)
    (tmp_path / "a-file").write_text("not a folder")
    settings = sandbox_settings(served, tmp_path, allowed_dirs=f"{media},{tmp_path / 'missing'},{tmp_path / 'a-file'}")
    with locked.open("rb") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        async with Client(create_server(settings, poll_timing=FAST_POLLING), mode=mode) as client:  # type: ignore[arg-type]
            assert (await client.list_tools()).tools
    assert not any(p.exists() for p in stale)
    assert fresh.exists() and locked.exists() and outside.exists()
    assert (downloads / "holiday.mp4.part").exists()
    assert (downloads / part_name("0a0b0c0d-0e0f0a0b.mp4")).is_symlink()


async def test_stale_parts_are_removed_after_a_download(
    client: Client, served: RunningSandbox, downloads: Path
) -> None:
    """A finished download sweeps its folder of part files left by earlier, interrupted ones."""
    run = await finished_run(client, served)
    stale = leftover(downloads, "0b0b0b0b-0c0c0c0c.mp4")
    fresh = leftover(downloads, "0d0d0d0d-0e0e0e0e.mp4", stale=False)
    result = await call_ok(client, "download_output", {"job_id": run["job_id"]})
    assert {Path(f["path"]).name for f in result["files"]} <= set(os.listdir(downloads))
    assert not stale.exists()
    assert parts_in(downloads) == [fresh.name]
    fresh.unlink()


async def test_content_length_over_the_cap_is_refused(
    served: RunningSandbox, workdir: Path, downloads: Path, mode: str
) -> None:
    """A file whose Content-Length passes MOSAIC_MCP_MAX_DOWNLOAD_BYTES is refused; nothing is written."""
    async with Client(capped_server(served, workdir, 4096), mode=mode) as client:  # type: ignore[arg-type]
        run = await finished_run(client, served)
        message = await call_error(client, "download_output", {"job_id": run["job_id"]})
    assert message.startswith("Error executing tool download_output: The video of output")
    assert "MOSAIC_MCP_MAX_DOWNLOAD_BYTES = 4,096 bytes" in message
    assert "it has 2" in message  # the sandbox's video has some 24 KB
    assert not [n for n in os.listdir(downloads) if n.startswith(str(run["job_id"])[:8]) or ".part" in n]


async def test_stream_over_the_cap_is_stopped_and_deleted(
    served: RunningSandbox, workdir: Path, downloads: Path, mode: str
) -> None:
    """A body that grows past the cap while streaming (here: 100 KB of gzip, no usable length) is cut off."""
    async with Client(capped_server(served, workdir, 50_000), mode=mode) as client:  # type: ignore[arg-type]
        run = await finished_run(client, served)
        bomb = gzip.compress(b"\x00" * 100_000)
        served.sandbox.faults.inject(
            "status",
            method="GET",
            path="/_sandbox/files/*",
            status=200,
            body=bomb,
            headers={"Content-Encoding": "gzip"},
        )
        message = await call_error(client, "download_output", {"job_id": run["job_id"]})
    assert "was stopped" in message
    assert "MOSAIC_MCP_MAX_DOWNLOAD_BYTES = 50,000 bytes" in message
    assert not [n for n in os.listdir(downloads) if n.startswith(str(run["job_id"])[:8]) or ".part" in n]


async def test_download_into_a_full_folder(
    client: Client, served: RunningSandbox, media: Path, mounts: ExitStack
) -> None:
    """A full disk is named as such, with the folder; the half-written part file is removed."""
    full = mount_tmpfs(mounts, media / "full", "size=1m")
    fill_disk(full)
    run = await finished_run(client, served)
    message = await call_error(client, "download_output", {"job_id": run["job_id"], "directory": str(full)})
    assert message.startswith("Error executing tool download_output: Could not save ")
    assert f"in the folder '{full}': the disk is full (no space left on the device)" in message
    assert os.listdir(full) == ["filler"]


async def test_download_into_a_read_only_folder(
    client: Client, served: RunningSandbox, media: Path, mounts: ExitStack
) -> None:
    """A read-only file system is named as such, with the folder (root ignores chmod, so it is a ro mount)."""
    frozen = mount_tmpfs(mounts, media / "frozen", "ro,size=1m")
    run = await finished_run(client, served)
    message = await call_error(client, "download_output", {"job_id": run["job_id"], "directory": str(frozen)})
    assert message.startswith("Error executing tool download_output: Could not save ")
    assert f"in the folder '{frozen}': it is on a read-only file system" in message
    assert os.listdir(frozen) == []


async def test_a_folder_in_the_way_is_named(client: Client, served: RunningSandbox, media: Path) -> None:
    """A folder where the video should go: the error says so (and where), and no part file stays."""
    run = await finished_run(client, served)
    name = f"{str(run['job_id'])[:8]}-{run['outputs'][0]['output_id'][:8]}.mp4"
    (media / name).mkdir()
    message = await call_error(client, "download_output", {"job_id": run["job_id"], "directory": str(media)})
    assert f"Could not save {name} in the folder '{media}': a folder with that name is in the way" in message
    assert parts_in(media) == []


def test_the_cap_is_a_serve_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`serve --max-download-bytes` sets MOSAIC_MCP_MAX_DOWNLOAD_BYTES (a bad value is a configuration error)."""
    assert main(["serve", "--home", str(tmp_path), "--max-download-bytes", "0"]) == 2
    err = capsys.readouterr().err
    assert "MOSAIC_MCP_MAX_DOWNLOAD_BYTES" in err
    assert "greater than 0" in err


@pytest.fixture(autouse=True)
def no_faults_left(served: RunningSandbox) -> Iterator[None]:
    """Scripted sandbox faults never leak into the next test."""
    yield
    served.sandbox.faults.clear()
