"""Motion sessions: 202, lifecycle, download_url timing, follow-ups, credits, ownership."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox

from ..support import MOTION_KEY
from .helpers import http_client

pytestmark = pytest.mark.anyio


async def _create(motion: httpx2.AsyncClient, **body: Any) -> str:
    response = await motion.post("/sessions", json={"prompt": "A launch video"} | body)
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job_id"]
    assert response.json() == {"job_id": job_id, "status": "queued", "status_url": f"/api/motion/sessions/{job_id}"}
    return job_id


async def test_lifecycle_and_download_url_a_poll_later(sandbox: Sandbox, motion: httpx2.AsyncClient) -> None:
    """queued -> created -> running -> completed; download_url appears only on a later poll."""
    job_id = await _create(motion)
    seen = []
    for _ in range(40):
        body = (await motion.get(f"/sessions/{job_id}")).json()
        seen.append(body["status"])
        if body["status"] == "completed":
            break
        assert body["output"] is None
        sandbox.advance(3)
    assert seen[0] == "queued"
    assert {"created", "running"} <= set(seen)
    assert body["output"]["download_url"] is None
    sandbox.advance(60)
    later = (await motion.get(f"/sessions/{job_id}")).json()
    assert later["output"]["status"] == "completed"
    assert later["output"]["expires_at"]
    video = await motion.get(later["output"]["download_url"])
    assert video.content[4:8] == b"ftyp"


async def test_first_completed_poll_has_no_url_even_late(sandbox: Sandbox, motion: httpx2.AsyncClient) -> None:
    """Even long after completion, the first poll that sees completed carries no URL; the next does."""
    job_id = await _create(motion)
    sandbox.advance(3600)
    first = (await motion.get(f"/sessions/{job_id}")).json()
    assert first["status"] == "completed"
    assert first["output"]["download_url"] is None
    second = (await motion.get(f"/sessions/{job_id}")).json()
    assert second["output"]["download_url"] is not None


async def test_validation_details(motion: httpx2.AsyncClient) -> None:
    """Bad bodies are 400 with zod-style details naming the path."""
    cases = [
        ({}, ["prompt"]),
        ({"prompt": ""}, ["prompt"]),
        ({"prompt": "x", "attachments": [{"url": "https://a.example/x"}] * 11}, ["attachments"]),
        ({"prompt": "x", "attachments": [{"url": "not a url"}]}, ["attachments", 0, "url"]),
        ({"prompt": "x", "style_reference_url": "https://vimeo.com/1"}, ["style_reference_url"]),
        ({"prompt": "x", "mode": "ultra"}, ["mode"]),
        ({"prompt": "x", "aspect_ratio": "3:2"}, ["aspect_ratio"]),
    ]
    for body, path in cases:
        response = await motion.post("/sessions", json=body)
        assert response.status_code == 400, body
        assert response.json()["error"] == "Invalid request"
        assert response.json()["details"][0]["path"] == path


async def test_too_many_attachments_detail(motion: httpx2.AsyncClient) -> None:
    """More than 10 attachments gives the documented too_big issue."""
    response = await motion.post("/sessions", json={"prompt": "x", "attachments": [{"url": "https://a.example"}] * 11})
    issue = response.json()["details"][0]
    assert issue["code"] == "too_big"
    assert issue["maximum"] == 10
    assert issue["type"] == "array"


async def test_insufficient_credits(sandbox: Sandbox, motion: httpx2.AsyncClient) -> None:
    """A key below 300 credits gets the documented 402 body."""
    sandbox.set_motion_credits(MOTION_KEY, 120)
    response = await motion.post("/sessions", json={"prompt": "x"})
    assert response.status_code == 402
    body = response.json()
    assert body["error"] == "insufficient_credits"
    assert body["minimum_required_credits"] == 300
    assert body["current_balance"] == 120


async def test_followups(sandbox: Sandbox, motion: httpx2.AsyncClient) -> None:
    """A follow-up needs a completed job (409 with status) and then starts a new job."""
    job_id = await _create(motion)
    early = await motion.post(f"/sessions/{job_id}/followups", json={"prompt": "Make it blue"})
    assert early.status_code == 409
    assert early.json()["error"] == "followup_requires_completed_job"
    assert early.json()["status"] == "queued"
    sandbox.advance(600)
    accepted = await motion.post(f"/sessions/{job_id}/followups", json={"prompt": "Make it blue"})
    assert accepted.status_code == 202
    new_id = accepted.json()["job_id"]
    assert new_id != job_id
    assert (await motion.get(f"/sessions/{new_id}")).json()["status"] == "queued"
    assert (await motion.get(f"/sessions/{job_id}")).json()["status"] == "completed"


async def test_sessions_belong_to_their_key(running: RunningSandbox, motion: httpx2.AsyncClient) -> None:
    """Another key's session, and an unknown one, are 404."""
    job_id = await _create(motion)
    headers = {"Authorization": "Bearer motion_other"}
    async with http_client(running.motion_base_url, headers=headers) as other:
        assert (await other.get(f"/sessions/{job_id}")).status_code == 404
    missing = await motion.get("/sessions/unknown")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


async def test_failed_session(sandbox: Sandbox, motion: httpx2.AsyncClient) -> None:
    """A scripted failure ends the job failed with an error and no output."""
    sandbox.fail_next_motion_sessions(message="Render crashed")
    job_id = await _create(motion)
    sandbox.advance(600)
    body = (await motion.get(f"/sessions/{job_id}")).json()
    assert body["status"] == "failed"
    assert body["error"] == "Render crashed"
    assert body["output"] is None
