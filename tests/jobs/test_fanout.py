"""Fan-out across replicas on a real PostgreSQL: two `PostgresFanout`s on one database are two replicas."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from mosaic_mcp.server.api.requests import RunRequest
from mosaic_mcp.server.jobs.fanout import MAX_PAYLOAD_BYTES, Change, PostgresFanout, encode
from mosaic_mcp.server.jobs.journal import JobRecord, Journal
from mosaic_mcp.server.jobs.notify import Notifier
from mosaic_mcp.server.jobs.poller import Poller
from mosaic_mcp.server.jobs.service import JobService
from mosaic_mcp.server.jobs.snapshot import JOBS_INDEX_URI
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support.databases import TEST_DATABASE_URL, postgres_schema
from ..support.jobs import FINGERPRINT, job_layer

pytestmark = pytest.mark.anyio


class Heard:
    """What one replica's listeners were told by its peers, in order."""

    def __init__(self, fanout: PostgresFanout) -> None:
        self.uris: list[str] = []
        self.added: list[tuple[str, str, bool]] = []
        self.wakes: list[str] = []
        self.resets = 0
        self._moved = anyio.Event()
        fanout.on_changed.append(self._changed)
        fanout.on_job_added.append(self._added)
        fanout.on_wake.append(self._wake)
        fanout.on_reset.append(self._reset)

    async def _changed(self, uris: list[str]) -> None:
        self.uris.extend(uris)
        self._moved.set()

    async def _added(self, scope: str, job_id: str, new: bool) -> None:
        self.added.append((scope, job_id, new))
        self._moved.set()

    async def _wake(self, job_id: str) -> None:
        self.wakes.append(job_id)
        self._moved.set()

    async def _reset(self) -> None:
        self.resets += 1
        self._moved.set()

    async def until(self, done: Any) -> None:
        """Wait (bounded) until `done()` holds."""
        with anyio.fail_after(10):
            while not done():
                self._moved = anyio.Event()
                await self._moved.wait()


@asynccontextmanager
async def replicas(url: str, count: int = 2) -> AsyncIterator[list[PostgresFanout]]:
    """`count` fan-outs on the database at `url`, each listening (in the background) until the block ends."""
    fanouts = [PostgresFanout(url) for _ in range(count)]
    async with anyio.create_task_group() as group:
        for fanout in fanouts:
            await group.start(fanout.run)
        try:
            yield fanouts
        finally:
            group.cancel_scope.cancel()
            for fanout in fanouts:
                await fanout.aclose()


async def test_a_change_on_one_replica_reaches_the_other(postgres_url: str) -> None:
    """Changed jobs (with the index), a new job with its scope, and a wake all reach the peer; never the sender."""
    async with replicas(postgres_url) as (one, other):
        heard_one, heard_other = Heard(one), Heard(other)
        await one.changed([Change("run-1", "mosaic://runs/run-1")])
        await one.job_added("scope-a", "run-2")
        await one.wake("run-3")
        await heard_other.until(lambda: heard_other.wakes)
        await other.wake("marker")  # sent after the three above: once it is heard, theirs would have been too
        await heard_one.until(lambda: heard_one.wakes)
    assert heard_other.uris == ["mosaic://runs/run-1", JOBS_INDEX_URI]
    assert heard_other.added == [("scope-a", "run-2", True)]
    assert heard_other.wakes == ["run-3"]
    assert (heard_one.uris, heard_one.added, heard_one.wakes) == ([], [], ["marker"])


async def test_a_batch_larger_than_one_payload_arrives_whole(postgres_url: str) -> None:
    """2,000 changed jobs are split into payloads PostgreSQL accepts, and the peer hears every one once."""
    changes = [Change(f"run-{i:04d}-{'x' * 60}", f"mosaic://runs/run-{i:04d}-{'x' * 60}") for i in range(2000)]
    payloads = encode("me", "changed", [[c.job_id, c.uri] for c in changes], index=True)
    assert len(payloads) > 1
    assert all(len(p.encode()) <= MAX_PAYLOAD_BYTES for p in payloads)
    async with replicas(postgres_url) as (one, other):
        heard = Heard(other)
        await one.changed(changes)
        await heard.until(lambda: len(heard.uris) >= len(changes) + len(payloads))
    assert [u for u in heard.uris if u != JOBS_INDEX_URI] == [c.uri for c in changes]


async def test_the_listener_survives_its_connection_being_killed(postgres_url: str) -> None:
    """Its backend terminated, a replica listens again, says anything may have changed, and hears what follows."""
    import psycopg

    async with replicas(postgres_url) as (one, other):
        heard = Heard(other)
        await one.changed([Change("run-0", "mosaic://runs/run-0")])
        await heard.until(lambda: heard.uris)
        killed = other.listener_pid
        async with await psycopg.AsyncConnection.connect(TEST_DATABASE_URL, autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (killed,))
            await admin.execute("SELECT pg_terminate_backend(%s)", (one.publisher_pid,))  # the sender's side too
        await heard.until(lambda: heard.resets == 1)
        assert other.connects == 2 and other.listener_pid != killed
        await one.changed([Change("run-1", "mosaic://runs/run-1")])
        await heard.until(lambda: "mosaic://runs/run-1" in heard.uris)
    assert heard.uris == ["mosaic://runs/run-0", JOBS_INDEX_URI, "mosaic://runs/run-1", JOBS_INDEX_URI]


async def test_deployments_in_separate_schemas_never_hear_each_other() -> None:
    """Two databases' worth of replicas in two schemas of one PostgreSQL database keep their messages apart."""
    with postgres_schema() as first, postgres_schema() as second:
        async with replicas(first) as (a, a_peer), replicas(second) as (b, b_peer):
            heard_a, heard_b = Heard(a_peer), Heard(b_peer)
            await b.wake("theirs")
            await a.wake("ours")
            await heard_a.until(lambda: heard_a.wakes)
            await heard_b.until(lambda: heard_b.wakes)
    assert (heard_a.wakes, heard_b.wakes) == (["ours"], ["theirs"])


class HoldsNoLease(Poller):
    """A replica whose poller follows no job: another replica holds the scope's lease (what leases make of it)."""

    def track(self, record: JobRecord) -> None:
        """Never followed here."""


class CountingJournal(Journal):
    """The journal, counting how often a job is read from it."""

    reads = 0
    read = anyio.Event()

    async def get(self, job_id: str) -> JobRecord | None:
        self.reads += 1
        try:
            return await super().get(job_id)
        finally:
            self.read.set()


@pytest.fixture
async def frozen() -> AsyncIterator[RunningSandbox]:
    """A sandbox whose clock moves only when the test advances it."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=0))) as running:
        yield running


async def test_poll_job_on_the_replica_that_does_not_poll_returns_once_the_other_settles_it(
    postgres_url: str, frozen: RunningSandbox, tmp_path: Path
) -> None:
    """`wait` on a replica without the job waits for the peer's change, not in a loop, then reads the journal."""
    async with job_layer(frozen, tmp_path) as polling, replicas(postgres_url) as (fanout, peer_fanout):

        async def publish(records: Any) -> None:  # what server/app.py wires to the poller
            await fanout.changed([Change(r.job_id, r.snapshot.resource_uri) for r in records])

        polling.poller.on_changes = publish
        journal = CountingJournal(tmp_path / "jobs.sqlite3", clock=polling.clock)  # the shared database
        fingerprints: Any = {"mosaic_run": FINGERPRINT, "motion_session": FINGERPRINT}
        waiting = JobService(
            journal,
            HoldsNoLease(journal, mosaic=polling.mosaic, motion=polling.motion, clock=polling.clock),
            Notifier(),
            fingerprints,
            clock=polling.clock,
            fanout=peer_fanout,
        )
        created = await polling.mosaic.run_agent(CAPTIONS_AGENT_ID, RunRequest(video_urls=["https://youtu.be/x"]))
        await polling.service.started("mosaic_run", created.run_id, status="running", summary={})
        result: list[JobRecord] = []
        done = anyio.Event()
        try:
            async with anyio.create_task_group() as group:

                async def wait() -> None:
                    result.append(await waiting.wait(created.run_id, 600))
                    done.set()

                group.start_soon(wait)
                with anyio.fail_after(10):
                    while journal.reads < 2:  # the wait's refresh and its first look are done: it is waiting
                        journal.read = anyio.Event()
                        await journal.read.wait()
                frozen.sandbox.advance(3600)
                await polling.poller.cycle()  # the polling replica sees the run finish and tells its peers
                with anyio.fail_after(10):
                    await done.wait()
        finally:
            await journal.close()
    assert result[0].snapshot.settled and result[0].snapshot.outputs
    # The refresh, the look before waiting, the read after the peer's change (a 5 s heartbeat would add two):
    # a wait that re-read the journal in a loop would have read it hundreds of times.
    assert journal.reads <= 5
