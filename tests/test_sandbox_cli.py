"""The documented curl flows against `mosaic-mcp sandbox`, with plain HTTP requests as curl sends them."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from .support.processes import sandbox_process

MOSAIC = {"Authorization": "Bearer mk_curl_flow_key", "Content-Type": "application/json"}
MOTION = {"Authorization": "Bearer motion_curl_flow_key", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    """`mosaic-mcp sandbox --port N` as its own process, its clock 200x real time."""
    with sandbox_process(MOSAIC_SANDBOX_SPEED="200") as url:
        yield url


def poll(url: str, headers: dict[str, str], done: Any) -> dict[str, Any]:
    """GET `url` every 50 ms until `done(body)` (at most 20 s)."""
    deadline = time.monotonic() + 20
    while True:
        body: dict[str, Any] = httpx2.get(url, headers=headers).json()
        if done(body):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_run_an_agent_until_completed(base: str) -> None:
    """POST /agent/{id}/run → run_id → GET /agent_run/{id} until completed, with outputs."""
    started = httpx2.post(
        f"{base}/agent/{CAPTIONS_AGENT_ID}/run",
        headers=MOSAIC,
        json={"video_urls": ["https://www.youtube.com/watch?v=dQw4w9WgXcQ"]},
    )
    assert started.status_code == 200
    run_id = started.json()["run_id"]
    run = poll(f"{base}/agent_run/{run_id}", MOSAIC, lambda b: b["status"] != "running")
    assert run["status"] == "completed"
    assert run["outputs"][0]["video_url"].startswith(base)


def test_motion_session_download_and_followup(base: str) -> None:
    """POST /sessions → 202 + relative status_url → completed → download_url a poll later → follow-up 202."""
    created = httpx2.post(f"{base}/api/motion/sessions", headers=MOTION, json={"prompt": "A 10 second teaser"})
    assert created.status_code == 202
    status_url = created.json()["status_url"]
    assert status_url.startswith("/api/motion/sessions/")
    completed = poll(f"{base}{status_url}", MOTION, lambda b: b["status"] == "completed")
    assert completed["output"] is None or completed["output"]["download_url"] is None
    ready = poll(f"{base}{status_url}", MOTION, lambda b: (b["output"] or {}).get("download_url"))
    video = httpx2.get(ready["output"]["download_url"])
    assert video.status_code == 200 and video.content
    followup = httpx2.post(f"{base}{status_url}/followups", headers=MOTION, json={"prompt": "Make it shorter"})
    assert followup.status_code == 202


def test_followup_before_completion_is_409(base: str) -> None:
    """A follow-up on a session that is not completed answers 409 followup_requires_completed_job."""
    created = httpx2.post(f"{base}/api/motion/sessions", headers=MOTION, json={"prompt": "A 10 second teaser"})
    job_id = created.json()["job_id"]
    early = httpx2.post(f"{base}/api/motion/sessions/{job_id}/followups", headers=MOTION, json={"prompt": "x"})
    assert early.status_code == 409
    assert early.json()["error"] == "followup_requires_completed_job"


def test_wrong_key_prefix_is_401(base: str) -> None:
    """A Motion key on the Mosaic API (and vice versa) is rejected with 401."""
    assert httpx2.get(f"{base}/whoami", headers=MOTION).status_code == 401
    assert httpx2.get(f"{base}/api/motion/sessions/x", headers=MOSAIC).status_code == 401


def test_state_dir_keeps_the_account_across_restarts(tmp_path: Path) -> None:
    """`mosaic-mcp sandbox --state-dir D`: a run started before a restart is found after it, on the new port."""
    with sandbox_process("--state-dir", str(tmp_path), MOSAIC_SANDBOX_SPEED="200") as first:
        started = httpx2.post(
            f"{first}/agent/{CAPTIONS_AGENT_ID}/run",
            headers=MOSAIC,
            json={"video_urls": ["https://www.youtube.com/watch?v=dQw4w9WgXcQ"]},
        )
        run_id = started.json()["run_id"]
    with sandbox_process("--state-dir", str(tmp_path), MOSAIC_SANDBOX_SPEED="200") as second:
        run = poll(f"{second}/agent_run/{run_id}", MOSAIC, lambda b: b.get("status") != "running")
        assert run["status"] == "completed"
        assert run["outputs"][0]["video_url"].startswith(second)
