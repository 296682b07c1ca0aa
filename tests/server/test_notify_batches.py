"""Batched notifications: a cycle's changes reach every subscriber of both generations, the index is
announced once per batch, a URI named twice is sent once, and a subscriber that stops reading
delays nobody else."""

from typing import Any

import anyio
import pytest
from mcp import Client

from mosaic_mcp.server.app import MosaicServer
from mosaic_mcp.server.jobs.snapshot import JOBS_INDEX_URI
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import VIDEO, call_ok
from .test_notifications import Heard, hearing, notifier_of, settled_job

pytestmark = pytest.mark.anyio

RUNS = 6


async def start_runs(client: Client, count: int) -> list[str]:
    """Start `count` captions runs; their resource URIs."""
    uris = []
    for _ in range(count):
        run = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
        uris.append(str(run["resource_uri"]))
    return uris


async def heard_all(heard: Heard, uris: list[str]) -> None:
    for uri in uris:
        await heard.until_updated(uri)


async def test_a_cycle_of_changes_reaches_every_subscriber_with_one_index_update(
    server: MosaicServer, served: RunningSandbox, mode: str
) -> None:
    """Runs that finish in one cycle are each announced to both subscribers, and mosaic://jobs once, not per run."""
    served.sandbox.clock.speed = 0  # nothing moves until the test advances the clock
    async with Client(server, mode=mode) as starter:  # type: ignore[arg-type]
        uris = await start_runs(starter, RUNS)
    subscribed = [*uris, JOBS_INDEX_URI]
    async with hearing(server, mode, subscribed) as (_, first), hearing(server, mode, subscribed) as (_, second):
        await notifier_of(server).changed(uris)  # a marker: both subscriptions are live
        await heard_all(first, uris)
        await heard_all(second, uris)
        first.updated.clear()
        second.updated.clear()
        served.sandbox.advance(3600)  # every run finishes at once: the next cycle sees all of them
        await heard_all(first, uris)
        await heard_all(second, uris)
        await first.until_updated(JOBS_INDEX_URI)
        await second.until_updated(JOBS_INDEX_URI)
        for heard in (first, second):
            assert sorted(set(heard.updated) - {JOBS_INDEX_URI}) == sorted(uris)
            # One per cycle that changed something: all runs finish in one, so one (two if a cycle split them).
            assert heard.updated.count(JOBS_INDEX_URI) <= 2 < RUNS


async def test_a_uri_named_twice_in_a_batch_is_sent_once(server: MosaicServer, mode: str) -> None:
    """Coalescing: one batch naming a job twice and the index twice is one update each, to each subscriber."""
    quiet = await settled_job(server, mode)
    async with hearing(server, mode, [quiet, JOBS_INDEX_URI]) as (_, heard):
        notifier = notifier_of(server)
        await notifier.changed([quiet, JOBS_INDEX_URI, quiet, JOBS_INDEX_URI])
        await heard.until_updated(JOBS_INDEX_URI)
        await notifier.changed([JOBS_INDEX_URI])  # a marker: everything of the first batch has arrived
        await heard.until_updated(JOBS_INDEX_URI, times=2)
    assert heard.updated == [quiet, JOBS_INDEX_URI, JOBS_INDEX_URI]


async def test_a_subscriber_that_stops_reading_delays_nobody(server: MosaicServer) -> None:
    """A 2025-era connection stuck in its message handler neither blocks the sender nor the other subscriber."""
    quiet = await settled_job(server, "legacy")
    release = anyio.Event()
    stuck_heard: list[str] = []

    async def stuck(message: Any) -> None:
        stuck_heard.append(type(message).__name__)
        await release.wait()  # stops reading its connection

    async with Client(server, mode="legacy", message_handler=stuck) as slow:
        await slow.subscribe_resource(quiet)
        async with hearing(server, "legacy", [quiet]) as (_, fast):
            notifier = notifier_of(server)
            with anyio.fail_after(5):
                for _ in range(50):
                    await notifier.changed([quiet])
                    await fast.until_updated(quiet, times=len(fast.updated) + 1)
            release.set()
    assert len(fast.updated) == 50 and stuck_heard
