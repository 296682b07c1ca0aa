"""The job service on one injected clock: tests move time instead of backdating journal rows."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from mosaic_mcp.server.api.mosaic import MosaicClient
from mosaic_mcp.server.api.motion import MotionClient
from mosaic_mcp.server.api.requests import RunRequest
from mosaic_mcp.server.api.transport import RecordingSleep, RetryPolicy
from mosaic_mcp.server.jobs.clock import ManualClock, iso_utc
from mosaic_mcp.server.jobs.journal import JobRecord, Journal
from mosaic_mcp.server.jobs.notify import Notifier
from mosaic_mcp.server.jobs.poller import Poller
from mosaic_mcp.server.jobs.service import TOUCH_EVERY_SECONDS, URL_REFRESH_AFTER_SECONDS, JobService
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import MOSAIC_KEY, MOTION_KEY

pytestmark = pytest.mark.anyio

VIDEO = "https://youtu.be/dQw4w9WgXcQ"
GET_ROUTE = "/agent_run/{run_id}"
EPOCH = 1_000_000_000.0
"""The manual clock's start, far from the real now: a direct read of the system clock would show."""


class Jobs:
    """Journal, poller and job service on one manual clock, over the sandbox."""

    def __init__(self, journal: Journal, mosaic: MosaicClient, motion: MotionClient, clock: ManualClock) -> None:
        async def on_change(record: JobRecord) -> None:
            return None

        self.clock = clock
        self.journal = journal
        self.mosaic = mosaic
        poller = Poller(journal, mosaic=mosaic, motion=motion, on_change=on_change, clock=clock)
        fingerprints: Any = {"mosaic_run": "f" * 12, "motion_session": "f" * 12}
        self.service = JobService(journal, poller, Notifier(), fingerprints, clock=clock)


@pytest.fixture
async def served() -> AsyncIterator[RunningSandbox]:
    """A sandbox whose clock moves only when the test advances it."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=0))) as running:
        yield running


@pytest.fixture
async def jobs(served: RunningSandbox, tmp_path: Path) -> AsyncIterator[Jobs]:
    """The job layer over a fresh journal, on a manual clock that starts at EPOCH."""
    retry = RetryPolicy(sleep=RecordingSleep())
    mosaic = MosaicClient(api_key=SecretStr(MOSAIC_KEY), base_url=served.mosaic_base_url, retry=retry)
    motion = MotionClient(api_key=SecretStr(MOTION_KEY), base_url=served.motion_base_url, retry=retry)
    clock = ManualClock(wall=EPOCH)
    journal = Journal(tmp_path / "jobs.sqlite3", clock=clock)
    yield Jobs(journal, mosaic, motion, clock)
    await journal.close()
    await mosaic.aclose()
    await motion.aclose()


async def finished_run(jobs: Jobs, served: RunningSandbox) -> str:
    """A run that started, was journaled, and has finished upstream."""
    created = await jobs.mosaic.run_agent(CAPTIONS_AGENT_ID, RunRequest(video_urls=[VIDEO]))
    await jobs.service.started("mosaic_run", created.run_id, status="running", summary={})
    served.sandbox.advance(3600)
    record = await jobs.service.refresh(created.run_id)
    assert record.snapshot.settled
    return created.run_id


async def test_a_settled_job_is_read_again_once_its_urls_may_expire(jobs: Jobs, served: RunningSandbox) -> None:
    """A settled job is served from the journal until its reading is an hour old on the clock, then re-read."""
    run_id = await finished_run(jobs, served)
    served.sandbox.requests.clear()
    await jobs.service.refresh(run_id)
    assert served.sandbox.count("GET", GET_ROUTE) == 0
    jobs.clock.advance(URL_REFRESH_AFTER_SECONDS + 1)
    record = await jobs.service.refresh(run_id)
    assert served.sandbox.count("GET", GET_ROUTE) == 1
    stored = await jobs.journal.get(run_id)
    assert stored is not None and stored.snapshot.checked_at == record.snapshot.checked_at == iso_utc(jobs.clock.wall())
    assert stored.updated_at == jobs.clock.wall()


async def test_stamps_come_from_the_injected_clock(jobs: Jobs, served: RunningSandbox) -> None:
    """Created, updated and viewed times, and a snapshot's checked_at, are read from the one clock (set in 2001)."""
    run_id = await finished_run(jobs, served)
    stored = await jobs.journal.get(run_id)
    assert stored is not None
    assert stored.created_at == stored.updated_at == stored.viewed_at == EPOCH
    assert stored.snapshot.checked_at == iso_utc(EPOCH) == "2001-09-09T01:46:40Z"


async def test_viewing_is_written_at_most_once_a_minute(jobs: Jobs, served: RunningSandbox) -> None:
    """Asking about a job moves its viewed_at only once TOUCH_EVERY_SECONDS have passed on the clock."""
    run_id = await finished_run(jobs, served)
    start = jobs.clock.wall()
    jobs.clock.advance(TOUCH_EVERY_SECONDS - 1)
    await jobs.service.refresh(run_id)
    assert (await _viewed_at(jobs, run_id)) == start
    jobs.clock.advance(1)
    await jobs.service.refresh(run_id)
    assert (await _viewed_at(jobs, run_id)) == start + TOUCH_EVERY_SECONDS


async def _viewed_at(jobs: Jobs, job_id: str) -> float:
    stored = await jobs.journal.get(job_id)
    assert stored is not None
    return stored.viewed_at
