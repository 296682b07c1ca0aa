"""The job service on one injected clock: tests move time instead of backdating journal rows."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mosaic_mcp.server.api.requests import RunRequest
from mosaic_mcp.server.jobs.clock import iso_utc
from mosaic_mcp.server.jobs.service import TOUCH_EVERY_SECONDS, URL_REFRESH_AFTER_SECONDS
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support.jobs import JobLayer, job_layer

pytestmark = pytest.mark.anyio

VIDEO = "https://youtu.be/dQw4w9WgXcQ"
GET_ROUTE = "/agent_run/{run_id}"
EPOCH = 1_000_000_000.0
"""The manual clock's start, far from the real now: a direct read of the system clock would show."""


@pytest.fixture
async def served() -> AsyncIterator[RunningSandbox]:
    """A sandbox whose clock moves only when the test advances it."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=0))) as running:
        yield running


@pytest.fixture
async def layer(served: RunningSandbox, tmp_path: Path) -> AsyncIterator[JobLayer]:
    """The job layer over a fresh journal, on a manual clock that starts at EPOCH."""
    async with job_layer(served, tmp_path, wall=EPOCH) as built:
        yield built


async def finished_run(layer: JobLayer, served: RunningSandbox) -> str:
    """A run that started, was journaled, and has finished upstream."""
    created = await layer.mosaic.run_agent(CAPTIONS_AGENT_ID, RunRequest(video_urls=[VIDEO]))
    await layer.service.started("mosaic_run", created.run_id, status="running", summary={})
    served.sandbox.advance(3600)
    record = await layer.service.refresh(created.run_id)
    assert record.snapshot.settled
    return created.run_id


async def test_a_settled_job_is_read_again_once_its_urls_may_expire(layer: JobLayer, served: RunningSandbox) -> None:
    """A settled job is served from the journal until its reading is an hour old on the clock, then re-read."""
    run_id = await finished_run(layer, served)
    served.sandbox.requests.clear()
    await layer.service.refresh(run_id)
    assert served.sandbox.count("GET", GET_ROUTE) == 0
    layer.clock.advance(URL_REFRESH_AFTER_SECONDS + 1)
    record = await layer.service.refresh(run_id)
    assert served.sandbox.count("GET", GET_ROUTE) == 1
    stored = await layer.journal.get(run_id)
    assert stored is not None
    assert stored.snapshot.checked_at == record.snapshot.checked_at == iso_utc(layer.clock.wall())
    assert stored.updated_at == layer.clock.wall()


async def test_stamps_come_from_the_injected_clock(layer: JobLayer, served: RunningSandbox) -> None:
    """Created, updated and viewed times, and a snapshot's checked_at, are read from the one clock (set in 2001)."""
    run_id = await finished_run(layer, served)
    stored = await layer.journal.get(run_id)
    assert stored is not None
    assert stored.created_at == stored.updated_at == stored.viewed_at == EPOCH
    assert stored.snapshot.checked_at == iso_utc(EPOCH) == "2001-09-09T01:46:40Z"


async def test_viewing_is_written_at_most_once_a_minute(layer: JobLayer, served: RunningSandbox) -> None:
    """Asking about a job moves its viewed_at only once TOUCH_EVERY_SECONDS have passed on the clock."""
    run_id = await finished_run(layer, served)
    start = layer.clock.wall()
    layer.clock.advance(TOUCH_EVERY_SECONDS - 1)
    await layer.service.refresh(run_id)
    assert (await _viewed_at(layer, run_id)) == start
    layer.clock.advance(1)
    await layer.service.refresh(run_id)
    assert (await _viewed_at(layer, run_id)) == start + TOUCH_EVERY_SECONDS


async def _viewed_at(layer: JobLayer, job_id: str) -> float:
    stored = await layer.journal.get(job_id)
    assert stored is not None
    return stored.viewed_at


async def test_an_older_reading_that_lands_last_never_reopens_a_settled_job(
    layer: JobLayer, served: RunningSandbox
) -> None:
    """Reads overlap: a reading taken while the run ran, applied after the one that settled it, is dropped."""
    created = await layer.mosaic.run_agent(CAPTIONS_AGENT_ID, RunRequest(video_urls=[VIDEO]))
    record = await layer.service.started("mosaic_run", created.run_id, status="running", summary={})
    older = await layer.poller.read(record)  # e.g. the poller's cycle, still in flight
    assert not older.settled
    served.sandbox.advance(3600)
    settled = await layer.service.refresh(created.run_id)  # e.g. poll_job, answered first
    assert settled.snapshot.settled and settled.snapshot.outputs
    after = await layer.poller.apply(settled, older)  # the cycle's reading arrives last
    assert after.snapshot.settled and after.snapshot.outputs
    stored = await layer.journal.get(created.run_id)
    assert stored is not None and stored.snapshot.settled and stored.snapshot.outputs
    followed = layer.poller.followed(created.run_id)
    assert followed is None or followed.snapshot.settled
