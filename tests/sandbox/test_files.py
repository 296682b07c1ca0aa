"""Signed output URLs: real bytes, expiry and fresh signatures."""

from __future__ import annotations

import io
import zipfile

import httpx2
import pytest

from mosaic_mcp.server.sandbox import Sandbox

from .helpers import finish, start_run

pytestmark = pytest.mark.anyio


async def test_outputs_serve_real_bytes(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """Video starts with an ftyp box, the thumbnail is a PNG, the timeline a zip."""
    output = (await finish(sandbox, mosaic, await start_run(mosaic)))["outputs"][0]
    video = await mosaic.get(output["video_url"])
    assert video.headers["content-type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"
    assert int(video.headers["content-length"]) == len(video.content)
    thumb = await mosaic.get(output["thumbnail_url"])
    assert thumb.content.startswith(b"\x89PNG\r\n\x1a\n")
    timeline = await mosaic.get(output["premiere_prproj_url"])
    assert zipfile.ZipFile(io.BytesIO(timeline.content)).namelist()


@pytest.mark.sandbox_config(file_url_ttl_seconds=3600)
async def test_urls_expire_and_repoll_gives_fresh_ones(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """A signed URL is 403 after its TTL; a new GET of the run signs a working one."""
    run_id = await start_run(mosaic)
    old = (await finish(sandbox, mosaic, run_id))["outputs"][0]["video_url"]
    sandbox.advance(3601)
    expired = await mosaic.get(old)
    assert expired.status_code == 403
    fresh = (await mosaic.get(f"/agent_run/{run_id}")).json()["outputs"][0]["video_url"]
    assert fresh != old
    assert (await mosaic.get(fresh)).status_code == 200


async def test_tampered_signature_is_403(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """Changing the signature or the expiry of a URL makes it invalid."""
    url = (await finish(sandbox, mosaic, await start_run(mosaic)))["outputs"][0]["video_url"]
    assert (await mosaic.get(url[:-4] + "0000")).status_code == 403
    assert (await mosaic.get(url.replace("expires=", "expires=9"))).status_code == 403
