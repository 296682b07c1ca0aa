"""upload_file: each kind through the three-step flow, streamed, with byte progress."""

from pathlib import Path

import pytest
from mcp import Client

from mosaic_mcp.server.sandbox import RunningSandbox

from ..support import call_ok
from ..support.files import progress_recorder, write_file

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("name", "kind", "content_type", "size"),
    [
        ("launch.mov", "video", "video/quicktime", 2 * 1024 * 1024 + 123),
        ("voice.m4a", "audio", "audio/mp4", 40_000),
        ("logo.png", "image", "image/png", 5_000),
    ],
)
async def test_upload_each_kind(
    client: Client, served: RunningSandbox, media: Path, name: str, kind: str, content_type: str, size: int
) -> None:
    """A video, an audio and an image file arrive whole, finalized, under the asset id returned."""
    write_file(media / name, size, b"\x89PNG\r\n\x1a\n" if kind == "image" else b"")
    asset = await call_ok(client, "upload_file", {"path": str(media / name)})
    assert asset["kind"] == kind
    assert asset["content_type"] == content_type
    assert asset["size_bytes"] == size
    assert asset["filename"] == name
    stored = served.sandbox.uploads.uploads[asset["asset_id"]]
    assert stored.kind == kind
    assert stored.size == size
    assert stored.finalized
    assert stored.content_type == content_type
    log = served.sandbox.requests
    assert log.count("POST", f"/uploads/{kind}/get_upload_url") == 1
    assert log.count("POST", f"/uploads/{kind}/finalize_upload") == 1


async def test_upload_reports_progress_by_bytes(client: Client, media: Path) -> None:
    """Progress notifications count bytes sent, rise steadily and end at the file size."""
    size = 3 * 1024 * 1024 + 7
    write_file(media / "clip.mp4", size)
    seen, record = progress_recorder()
    await call_ok(client, "upload_file", {"path": str(media / "clip.mp4")}, progress_callback=record)
    done = [progress for progress, _, _ in seen]
    assert len(seen) >= 4
    assert done == sorted(done)
    assert done[-1] == size
    assert all(total == size for _, total, _ in seen)
    assert "clip.mp4" in (seen[-1][2] or "")


async def test_upload_content_arrives_intact(client: Client, served: RunningSandbox, media: Path) -> None:
    """The bytes the storage endpoint kept are exactly the file's."""
    content = bytes(range(256)) * 2000
    (media / "pattern.wav").write_bytes(content)
    asset = await call_ok(client, "upload_file", {"path": str(media / "pattern.wav")})
    assert bytes(served.sandbox.uploads.uploads[asset["asset_id"]].kept) == content
