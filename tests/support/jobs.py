"""The job layer wired as the server wires it, over a fresh journal and the sandbox, on one manual clock.

`tests/jobs/test_service.py` and `tests/jobs/test_reconcile.py` build it with `job_layer(...)`; the server
itself builds the same parts in `server/app.py` (`_jobs_layer`).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from mosaic_mcp.server.api.mosaic import MosaicClient
from mosaic_mcp.server.api.motion import MotionClient
from mosaic_mcp.server.api.transport import RecordingSleep, RetryPolicy
from mosaic_mcp.server.jobs.clock import ManualClock
from mosaic_mcp.server.jobs.journal import JobRecord, Journal
from mosaic_mcp.server.jobs.notify import Notifier
from mosaic_mcp.server.jobs.poller import Poller
from mosaic_mcp.server.jobs.reconcile import Reconciler
from mosaic_mcp.server.jobs.service import JobService
from mosaic_mcp.server.jobs.starts import Starts
from mosaic_mcp.server.sandbox import RunningSandbox

from . import MOSAIC_KEY, MOTION_KEY

FINGERPRINT = "f" * 12
"""The key fingerprint every job and intent of the layer is filed under."""


@dataclass(frozen=True)
class JobLayer:
    """Clients, journal, poller, job service, write-ahead starts and reconciler, all on `clock`."""

    clock: ManualClock
    mosaic: MosaicClient
    motion: MotionClient
    journal: Journal
    poller: Poller
    service: JobService
    starts: Starts
    reconciler: Reconciler


async def _ignore(record: JobRecord) -> None:
    """The poller's change callback: these tests read the journal instead of notifications."""


@asynccontextmanager
async def job_layer(served: RunningSandbox, folder: Path, *, wall: float | None = None) -> AsyncIterator[JobLayer]:
    """The job layer over `folder/jobs.sqlite3` and the sandbox; the clock starts at `wall` (default: now).

    Retries never sleep; the clients and the journal are closed afterwards."""
    retry = RetryPolicy(sleep=RecordingSleep())
    clock = ManualClock(wall=wall)
    mosaic = MosaicClient(api_key=SecretStr(MOSAIC_KEY), base_url=served.mosaic_base_url, retry=retry)
    motion = MotionClient(api_key=SecretStr(MOTION_KEY), base_url=served.motion_base_url, retry=retry)
    journal = Journal(folder / "jobs.sqlite3", clock=clock)
    fingerprints: Any = {"mosaic_run": FINGERPRINT, "motion_session": FINGERPRINT}
    poller = Poller(journal, mosaic=mosaic, motion=motion, on_change=_ignore, clock=clock)
    service = JobService(journal, poller, Notifier(), fingerprints, clock=clock)
    starts = Starts(journal, service, mosaic, motion, fingerprints, clock=clock)
    reconciler = Reconciler(journal, service, starts, clock=clock)
    try:
        yield JobLayer(clock, mosaic, motion, journal, poller, service, starts, reconciler)
    finally:
        await journal.close()
        await mosaic.aclose()
        await motion.aclose()
