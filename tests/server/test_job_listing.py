"""list_jobs and the journal's retention as a client sees them: every live job listed, old settled ones pruned."""

import time
from pathlib import Path

import anyio
import pytest
from mcp import Client

from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.config import Settings, key_fingerprint
from mosaic_mcp.server.jobs.journal import JobRecord, Journal
from mosaic_mcp.server.jobs.snapshot import pending_snapshot
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import FAST_POLLING, VIDEO, call_ok, sandbox_settings

pytestmark = pytest.mark.anyio


def finished(job_id: str, fingerprint: str, *, at: float) -> JobRecord:
    """A completed run journaled at `at` (creation and last reading)."""
    done = pending_snapshot("mosaic_run", job_id, "completed").model_copy(update={"settled": True})
    return JobRecord(
        job_id=job_id, kind="mosaic_run", key_fingerprint=fingerprint, snapshot=done, created_at=at, updated_at=at
    )


async def test_active_only_lists_every_live_run(client: Client, served: RunningSandbox, settings: Settings) -> None:
    """list_jobs(active_only=true) shows all 5 live runs after 100 newer finished jobs were journaled."""
    served.sandbox.clock.speed = 0  # the runs stay running
    live = [
        (await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]}))["job_id"]
        for _ in range(5)
    ]
    journal = Journal(settings.journal_path)
    fingerprint = key_fingerprint(settings.mosaic_api_key)
    now = time.time()
    for i in range(100):
        await journal.add(finished(f"done-{i:03}", fingerprint, at=now + 60 + i))
    await journal.close()
    listed = await call_ok(client, "list_jobs", {"active_only": True})
    assert sorted(j["job_id"] for j in listed["jobs"]) == sorted(live)
    assert listed["count"] == 5
    everything = await call_ok(client, "list_jobs", {"limit": 100})
    assert everything["count"] == 100 and everything["jobs"][0]["job_id"] == "done-099"


async def _prune_on_start(settings: Settings, mode: str) -> set[str]:
    """Journal an old and a recent finished job, start a server for `settings`, return what stays listed."""
    fingerprint = key_fingerprint(settings.mosaic_api_key)
    journal = Journal(settings.journal_path)
    now = time.time()
    await journal.add(finished("ancient", fingerprint, at=now - 400 * 86400))
    await journal.add(finished("recent", fingerprint, at=now - 86400))
    await journal.close()
    server: MosaicServer = create_server(settings, poll_timing=FAST_POLLING)
    async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
        with anyio.fail_after(10):
            while True:
                jobs = {j["job_id"] for j in (await call_ok(client, "list_jobs", {"limit": 100}))["jobs"]}
                if "ancient" not in jobs:
                    return jobs
                await anyio.sleep(0.02)


async def test_start_prunes_settled_jobs_past_the_retention(served: RunningSandbox, tmp_path: Path, mode: str) -> None:
    """A server start removes a finished job older than MOSAIC_MCP_RETENTION_DAYS (default 90) and keeps a newer one."""
    assert await _prune_on_start(sandbox_settings(served, tmp_path), mode) == {"recent"}
