"""Small helpers shared by the sandbox tests."""

from __future__ import annotations

import ssl
from typing import Any

import httpx2

from mosaic_mcp.server.sandbox import Sandbox, seed

YOUTUBE = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
# One TLS context for every test client: building one per client costs ~40 ms.
_TLS = ssl.create_default_context()


def http_client(base_url: str = "", **kwargs: Any) -> httpx2.AsyncClient:
    """An HTTP client for talking to a sandbox (plain http on loopback)."""
    return httpx2.AsyncClient(base_url=base_url, verify=_TLS, timeout=10, **kwargs)


async def start_run(client: httpx2.AsyncClient, agent_id: str = seed.CAPTIONS_AGENT_ID, **body: Any) -> str:
    """Start a run (default: the captions agent on a YouTube URL) and return its id."""
    if agent_id in (seed.CAPTIONS_AGENT_ID, seed.PODCAST_AGENT_ID) and not body:
        body = {"video_urls": [YOUTUBE]}
    response = await client.post(f"/agent/{agent_id}/run", json=body)
    assert response.status_code == 200, response.text
    run_id: str = response.json()["run_id"]
    return run_id


async def finish(sandbox: Sandbox, client: httpx2.AsyncClient, run_id: str, seconds: float = 600) -> dict[str, Any]:
    """Advance the clock, then return the run body."""
    sandbox.advance(seconds)
    response = await client.get(f"/agent_run/{run_id}")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def upload(client: httpx2.AsyncClient, kind: str, data: bytes, *, finalize: bool = True) -> str:
    """Run the three-step upload flow and return the asset id."""
    slot = (await client.post(f"/uploads/{kind}/get_upload_url")).json()
    async with http_client() as storage:
        response = await storage.post(slot["upload_url"], data=slot["upload_fields"], files={"file": ("f.bin", data)})
    assert response.status_code == 204, response.text
    asset_id: str = slot[f"{kind}_id"]
    if finalize:
        done = await client.post(f"/uploads/{kind}/finalize_upload", json={f"{kind}_id": asset_id})
        assert done.status_code == 200
    return asset_id
