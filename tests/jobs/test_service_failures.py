"""The job service when things go wrong: a full journal disk never fails a read; upstream errors carry no key."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from mosaic_mcp.server.api.mosaic import MosaicClient
from mosaic_mcp.server.api.requests import RunRequest
from mosaic_mcp.server.api.transport import RecordingSleep, RetryPolicy
from mosaic_mcp.server.jobs.journal import JobRecord, Journal
from mosaic_mcp.server.jobs.notify import Notifier
from mosaic_mcp.server.jobs.poller import Poller
from mosaic_mcp.server.jobs.service import JobService
from mosaic_mcp.server.jobs.snapshot import pending_snapshot
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID, CAPTIONS_AGENT_REFRAME_NODE_ID

from ..support import MOSAIC_KEY, fill_disk

pytestmark = pytest.mark.anyio

VIDEO = "https://youtu.be/dQw4w9WgXcQ"


@pytest.fixture
async def served() -> AsyncIterator[RunningSandbox]:
    """A sandbox whose clock moves only when the test advances it."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=0))) as running:
        yield running


@pytest.fixture
async def mosaic(served: RunningSandbox) -> AsyncIterator[MosaicClient]:
    """A Mosaic client whose retries never sleep."""
    async with MosaicClient(
        api_key=SecretStr(MOSAIC_KEY), base_url=served.mosaic_base_url, retry=RetryPolicy(sleep=RecordingSleep())
    ) as client:
        yield client


async def service(journal: Journal, mosaic: MosaicClient) -> JobService:
    """The job service as the server builds it."""

    async def on_change(record: JobRecord) -> None:
        return None

    poller = Poller(journal, mosaic=mosaic, motion=None, on_change=on_change)
    return JobService(journal, poller, Notifier(), {"mosaic_run": "f", "motion_session": "f"})


async def test_reading_a_job_works_with_the_journal_disk_full(
    mosaic: MosaicClient, served: RunningSandbox, small_disk: Path
) -> None:
    """A job nobody looked at for a while is read on a full disk: the view note fails quietly, the read works."""
    journal = Journal(small_disk / "jobs.sqlite3")
    jobs = await service(journal, mosaic)
    created = await mosaic.run_agent(CAPTIONS_AGENT_ID, RunRequest(video_urls=[VIDEO]))
    record = JobRecord(created.run_id, "mosaic_run", "f", pending_snapshot("mosaic_run", created.run_id, "running"))
    record.viewed_at = 0.0  # never looked at: this read writes a view note
    await journal.add(record)
    jobs.poller.track(record)
    filler = fill_disk(small_disk)
    refreshed = await jobs.refresh(created.run_id)
    assert refreshed.snapshot.status in ("running", "completed")
    filler.unlink()
    await journal.close()


async def test_upstream_error_text_is_scrubbed(mosaic: MosaicClient, served: RunningSandbox, tmp_path: Path) -> None:
    """A tile that fails with a key in its message shows the error without the key."""
    served.sandbox.fail_next_nodes(CAPTIONS_AGENT_REFRAME_NODE_ID, message=f"upstream said Bearer {MOSAIC_KEY}")
    journal = Journal(tmp_path / "jobs.sqlite3")
    jobs = await service(journal, mosaic)
    created = await mosaic.run_agent(CAPTIONS_AGENT_ID, RunRequest(video_urls=[VIDEO]))
    served.sandbox.advance(3600)
    record = await jobs.get(created.run_id)
    snapshot = await jobs.poller.fetch(record)
    assert snapshot.errors or snapshot.status_message
    shown = " ".join([*snapshot.errors, snapshot.status_message or ""])
    assert "upstream said" in shown
    assert MOSAIC_KEY not in shown and "mk_" not in shown
    await journal.close()
