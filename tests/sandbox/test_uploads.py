"""The three-step upload flow and view URLs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest

from mosaic_mcp.server.sandbox import Sandbox, seed

from .helpers import http_client, start_run, upload

pytestmark = pytest.mark.anyio


async def test_get_upload_url_shape(mosaic: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    """The slot names its id by type and points at the sandbox itself."""
    slot = (await mosaic.post("/uploads/audio/get_upload_url")).json()
    assert set(slot) == {"audio_id", "upload_url", "upload_fields", "max_file_size_bytes"}
    assert set(slot["upload_fields"]) == {"key", "policy", "x-goog-signature"}
    assert slot["upload_url"].startswith(sandbox.public_base_url)
    assert slot["max_file_size_bytes"] == 524288000


async def test_upload_roundtrip_and_use_in_run(mosaic: httpx2.AsyncClient) -> None:
    """Uploaded bytes come back from the view URL, and the video id is accepted by a run."""
    data = b"\x00\x00\x00\x18ftypmp42" + b"x" * 5000
    video_id = await upload(mosaic, "video", data)
    view = (await mosaic.post("/uploads/get_view_url", json={"asset_type": "video", "asset_id": video_id})).json()
    assert view["asset_id"] == video_id
    async with http_client() as http:
        assert (await http.get(view["signed_url"])).content == data
    assert await start_run(mosaic, seed.CAPTIONS_AGENT_ID, video_ids=[video_id])


async def test_finalize_errors(mosaic: httpx2.AsyncClient) -> None:
    """Finalize before bytes is 400, unknown id is 404, and an unfinalized id is not a run input."""
    slot = (await mosaic.post("/uploads/video/get_upload_url")).json()
    early = await mosaic.post("/uploads/video/finalize_upload", json={"video_id": slot["video_id"]})
    assert early.status_code == 400
    unknown = await mosaic.post("/uploads/video/finalize_upload", json={"video_id": "nope"})
    assert unknown.status_code == 404
    pending = await upload(mosaic, "video", b"abc", finalize=False)
    run = await mosaic.post(f"/agent/{seed.CAPTIONS_AGENT_ID}/run", json={"video_ids": [pending]})
    assert run.status_code == 400


@pytest.mark.sandbox_config(upload_max_bytes=1000)
async def test_storage_rejects_oversize_and_bad_fields(mosaic: httpx2.AsyncClient) -> None:
    """Over max_file_size_bytes is 400 (policy), a huge Content-Length is 413, wrong fields are 400."""
    slot = (await mosaic.post("/uploads/image/get_upload_url")).json()
    async with http_client() as storage:
        too_big = await storage.post(slot["upload_url"], data=slot["upload_fields"], files={"file": ("a", b"x" * 2000)})
        assert too_big.status_code == 400
        assert b"EntityTooLarge" in too_big.content
        huge = await storage.post(
            slot["upload_url"], content=b"x" * 70_000, headers={"Content-Type": "multipart/form-data; boundary=b"}
        )
        assert huge.status_code == 413
        forged = dict(slot["upload_fields"], policy="forged")
        wrong = await storage.post(slot["upload_url"], data=forged, files={"file": ("a", b"x")})
        assert wrong.status_code == 400
        missing = await storage.post(
            "http" + slot["upload_url"][4:].rsplit("/", 1)[0] + "/nope", data={}, files={"file": ("a", b"x")}
        )
        assert missing.status_code == 404


async def test_view_url_unknown_asset(mosaic: httpx2.AsyncClient) -> None:
    """get_view_url answers 404 for an unknown asset and 400 for a bad type."""
    assert (
        await mosaic.post("/uploads/get_view_url", json={"asset_type": "image", "asset_id": "x"})
    ).status_code == 404
    assert (await mosaic.post("/uploads/get_view_url", json={"asset_type": "doc", "asset_id": "x"})).status_code == 400


async def test_large_upload_streams(mosaic: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    """A 32 MB upload is counted, not buffered: only the first MiB is kept."""
    chunk = b"y" * (1 << 20)

    async def body() -> AsyncIterator[bytes]:
        for _ in range(32):
            yield chunk

    slot = (await mosaic.post("/uploads/video/get_upload_url")).json()
    boundary = "sandboxboundary"
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in slot["upload_fields"].items()
    )
    head += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n\r\n'

    async def multipart() -> AsyncIterator[bytes]:
        yield head.encode()
        async for part in body():
            yield part
        yield f"\r\n--{boundary}--\r\n".encode()

    async with http_client() as storage:
        response = await storage.post(
            slot["upload_url"],
            content=multipart(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
    assert response.status_code == 204
    stored = sandbox.uploads.uploads[slot["video_id"]]
    assert stored.size == 32 << 20
    assert len(stored.kept) == 1 << 20
