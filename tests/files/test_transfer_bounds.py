"""Transfers at any size: at most 100 progress notifications per call, and an end check before a file is kept."""

import base64
import gzip
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mosaic_mcp.server.app import create_server
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID
from mosaic_mcp.server.transfer.progress import MAX_NOTIFICATIONS, ByteMeter

from ..support import FAST_POLLING, call_error, call_ok, sandbox_settings
from ..support.files import progress_recorder, settle

pytestmark = pytest.mark.anyio

VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
MIB = 1 << 20
GIB = 1 << 30


async def finished_run(client: Client, served: RunningSandbox) -> dict[str, Any]:
    """A completed captions run (one output: a video and a thumbnail)."""
    handle = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
    return await settle(client, served, handle["job_id"])


def serve_video(served: RunningSandbox, body: bytes, **headers: str) -> None:
    """The next GET of a video file answers `body` with these headers."""
    served.sandbox.faults.inject(
        "status", method="GET", path="/_sandbox/files/*/video.mp4", status=200, body=body, headers=headers
    )


def md5_of(data: bytes) -> str:
    """The base64 MD5 cloud storage puts in `x-goog-hash`."""
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def take(path: str) -> bytes:
    """The bytes of a saved file, which is then removed (the module's download folder is shared)."""
    file = Path(path)
    try:
        return file.read_bytes()
    finally:
        file.unlink()


def take_size(path: str) -> int:
    """The size of a saved file, which is then removed."""
    file = Path(path)
    try:
        return file.stat().st_size
    finally:
        file.unlink()


@pytest.fixture(scope="module")
async def verifying(served: RunningSandbox, workdir: Path, mode: str) -> AsyncIterator[Client]:
    """A client of a server with MOSAIC_MCP_VERIFY_DOWNLOAD_MD5 on."""
    settings = sandbox_settings(served, workdir, media=True, max_wait_seconds=5, verify_download_md5=True)
    async with Client(create_server(settings, poll_timing=FAST_POLLING), mode=mode) as connected:  # type: ignore[arg-type]
        yield connected


def leftovers(folder: Path, job_id: str) -> list[str]:
    """Files of this job, and part files, in a folder."""
    return sorted(n for n in os.listdir(folder) if n.startswith(job_id[:8]) or n.endswith(".part"))


@pytest.mark.parametrize("known", [True, False], ids=["size known", "size unknown"])
@pytest.mark.parametrize("size", [0, 1000, 5 * MIB, GIB, 200 * GIB])
async def test_progress_stays_within_the_budget_at_any_size(size: int, known: bool) -> None:
    """Whatever the size, known or not: ≤ 100 notifications, rising, from 0 to every byte."""
    seen, record = progress_recorder()
    meter = ByteMeter(record, size if known else None, "moving")
    await meter.start()
    step = max(64 * 1024, size // 20_000)  # the network's 64 KiB reads; coarser for the huge sizes
    for _ in range(size // step):
        await meter.add(step)
    await meter.add(size % step)
    await meter.finish()
    done = [p for p, _, _ in seen]
    assert 1 <= len(done) <= MAX_NOTIFICATIONS
    assert done[0] == 0 and done[-1] == size
    assert done == sorted(set(done))
    if size >= GIB:
        assert len(done) >= 30  # still a live bar, not one jump


async def test_several_pieces_share_one_budget() -> None:
    """One call moving several files (a video, then its thumbnail) still sends at most 100 notifications."""
    seen, record = progress_recorder()
    meter = ByteMeter(record, None, "downloading")
    await meter.start()
    for size in (3 * GIB, None, 50 * MIB):
        meter.expect(size)
        for _ in range(3 * GIB // (4 * MIB) if size is None else size // (4 * MIB)):
            await meter.add(4 * MIB)
    await meter.finish()
    assert len(seen) <= MAX_NOTIFICATIONS
    assert seen[-1][0] == meter.done


async def test_a_download_of_unknown_size_sends_at_most_100_notifications(
    client: Client, served: RunningSandbox, downloads: Path
) -> None:
    """120 MiB without a usable length (gzip) arrive whole, with ≤ 100 progress notifications (was one per MiB)."""
    run = await finished_run(client, served)
    serve_video(served, gzip.compress(b"\x00" * 120 * MIB, compresslevel=1), **{"Content-Encoding": "gzip"})
    seen, record = progress_recorder()
    result = await call_ok(client, "download_output", {"job_id": run["job_id"]}, progress_callback=record)
    assert take_size(result["files"][0]["path"]) == result["files"][0]["size_bytes"] == 120 * MIB
    assert len(seen) <= MAX_NOTIFICATIONS
    assert len(seen) >= 10
    assert seen[-1][0] == result["bytes_downloaded"]


async def test_a_body_of_many_batches_is_saved_byte_for_byte(
    client: Client, served: RunningSandbox, downloads: Path
) -> None:
    """A body larger than several write batches, in odd-sized pieces, lands in the file in order and whole."""
    run = await finished_run(client, served)
    body = hashlib.sha256(b"seed").digest() * (5 * MIB // 32 + 7)  # not a multiple of any read or batch
    serve_video(served, body)
    result = await call_ok(client, "download_output", {"job_id": run["job_id"]})
    assert take(result["files"][0]["path"]) == body


def md5_header(header: str, digest: str) -> dict[str, str]:
    """How the storage sends an MD5: `x-goog-hash: crc32c=…,md5=…` or `Content-MD5: …`."""
    return {header: f"crc32c=AAAAAA==,md5={digest}" if header == "x-goog-hash" else digest}


@pytest.mark.parametrize("header", ["x-goog-hash", "Content-MD5"])
async def test_a_damaged_download_is_not_kept(
    verifying: Client, served: RunningSandbox, downloads: Path, header: str
) -> None:
    """With MD5 checks on, bytes that differ from the storage's MD5 fail the call, and nothing is left on disk."""
    run = await finished_run(verifying, served)
    body = b"\x00\x00\x00\x18ftypisom" + b"\x01" * 100_000
    serve_video(served, body, **md5_header(header, md5_of(body[:-1] + b"\x02")))
    message = await call_error(verifying, "download_output", {"job_id": run["job_id"]})
    assert "arrived damaged" in message
    assert "MD5" in message
    assert leftovers(downloads, str(run["job_id"])) == []


@pytest.mark.parametrize("header", ["x-goog-hash", "Content-MD5"])
async def test_a_matching_checksum_is_kept(
    verifying: Client, served: RunningSandbox, downloads: Path, header: str
) -> None:
    """With MD5 checks on, bytes that match the storage's MD5 are saved as they came."""
    run = await finished_run(verifying, served)
    body = b"\x00\x00\x00\x18ftypisom" + os.urandom(300_000)
    serve_video(served, body, **md5_header(header, md5_of(body)))
    result = await call_ok(verifying, "download_output", {"job_id": run["job_id"]})
    assert take(result["files"][0]["path"]) == body


async def test_md5_is_not_checked_by_default(client: Client, served: RunningSandbox, downloads: Path) -> None:
    """By default (checks off: they halve the speed) the storage's MD5 is not computed; the size check still is."""
    run = await finished_run(client, served)
    body = b"\x00\x00\x00\x18ftypisom" + b"\x01" * 100_000
    serve_video(served, body, **md5_header("x-goog-hash", md5_of(b"something else")))
    result = await call_ok(client, "download_output", {"job_id": run["job_id"]})
    assert take(result["files"][0]["path"]) == body


@pytest.fixture(autouse=True)
def no_faults_left(served: RunningSandbox) -> Iterator[None]:
    """Scripted sandbox faults never leak into the next test."""
    yield
    served.sandbox.faults.clear()
