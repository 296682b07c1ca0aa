"""Poll leases: each live job is polled by one replica, the run list swept once, a dead holder taken over."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import pytest
from mcp import Client
from pydantic import SecretStr

from mosaic_mcp.server.api.mosaic import MosaicClient
from mosaic_mcp.server.api.motion import MotionClient
from mosaic_mcp.server.api.requests import MotionSessionRequest, RunRequest
from mosaic_mcp.server.api.transport import DEFAULT_TIMEOUT, RecordingSleep, RetryPolicy
from mosaic_mcp.server.app import create_server
from mosaic_mcp.server.config import key_fingerprint
from mosaic_mcp.server.database import Database, open_postgres, open_sqlite
from mosaic_mcp.server.jobs.clock import ManualClock
from mosaic_mcp.server.jobs.intents import Intent
from mosaic_mcp.server.jobs.journal import JOURNAL_SCHEMA, JobRecord, Journal
from mosaic_mcp.server.jobs.keystore import KEYSTORE_SCHEMA, KeyStore
from mosaic_mcp.server.jobs.leases import LEASES_SCHEMA, DatabaseLeases
from mosaic_mcp.server.jobs.notify import Notifier
from mosaic_mcp.server.jobs.poller import Poller, PollTiming
from mosaic_mcp.server.jobs.reconcile import Reconciler
from mosaic_mcp.server.jobs.service import JobService
from mosaic_mcp.server.jobs.snapshot import JobKind, pending_snapshot
from mosaic_mcp.server.jobs.starts import REPLICA_DETAIL, Starts
from mosaic_mcp.server.remote import Clients, PersonPoller
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import MOSAIC_KEY, MOTION_KEY, sandbox_settings

pytestmark = pytest.mark.anyio

VIDEO = "https://youtu.be/dQw4w9WgXcQ"
RUNS, SESSIONS = 8, 2  # more runs than the sweep threshold: one list page covers them
MOSAIC_SCOPE, MOTION_SCOPE = "fp-mosaic", "fp-motion"
TIMING = PollTiming(lease_seconds=30.0, lease_renew_every=3600.0)  # renewals are called by the tests


@pytest.fixture
async def served() -> AsyncIterator[RunningSandbox]:
    """A sandbox whose clock moves only when the test advances it."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=0))) as running:
        yield running


@pytest.fixture
async def clients(served: RunningSandbox) -> AsyncIterator[tuple[MosaicClient, MotionClient]]:
    """Mosaic and Motion clients of the sandbox whose retries never sleep."""
    retry = RetryPolicy(sleep=RecordingSleep())
    mosaic = MosaicClient(api_key=SecretStr(MOSAIC_KEY), base_url=served.mosaic_base_url, retry=retry)
    motion = MotionClient(api_key=SecretStr(MOTION_KEY), base_url=served.motion_base_url, retry=retry)
    yield mosaic, motion
    await mosaic.aclose()
    await motion.aclose()


def _open(url: str | None, folder: Path) -> Database:
    """One replica's connection to the shared database (each replica opens its own): on PostgreSQL the
    journal and the key store live there too; on SQLite they keep the shared `jobs.sqlite3` file."""
    if url is None:
        return open_sqlite(folder / "leases.sqlite3", schemas=[LEASES_SCHEMA])
    return open_postgres(url, pool_size=4, schemas=[LEASES_SCHEMA, JOURNAL_SCHEMA, KEYSTORE_SCHEMA])


@dataclass
class Replica:
    """One "replica": its own database connection, journal connection, leases and poller."""

    db: Database
    journal: Journal
    leases: DatabaseLeases
    poller: Poller
    announced: list[str] = field(default_factory=list)
    not_held: list[str] = field(default_factory=list)
    heard: anyio.Event = field(default_factory=anyio.Event)


@asynccontextmanager
async def replicas(
    url: str | None, folder: Path, clock: ManualClock, make: Callable[[Journal, DatabaseLeases], Poller], count: int = 2
) -> AsyncIterator[list[Replica]]:
    """`count` replicas sharing one database and one journal file."""
    made: list[Replica] = []
    try:
        for _ in range(count):
            db = _open(url, folder)
            journal = Journal(folder / "jobs.sqlite3" if url is None else db, clock=clock)
            leases = DatabaseLeases(db, clock=clock, lease_seconds=TIMING.lease_seconds)
            replica = Replica(db, journal, leases, make(journal, leases))

            async def on_change(record: JobRecord, replica: Replica = replica) -> None:
                replica.announced.append(record.job_id)
                replica.heard.set()

            async def on_not_held(record: JobRecord, replica: Replica = replica) -> None:
                replica.not_held.append(record.job_id)
                replica.heard.set()

            replica.poller.on_change, replica.poller.on_not_held = on_change, on_not_held
            made.append(replica)
        yield made
    finally:
        for replica in made:
            await replica.journal.close()
            await replica.db.close()


def token_poller(clients: tuple[MosaicClient, MotionClient], clock: ManualClock) -> Callable[..., Poller]:
    """A token-mode poller factory: both keys' scopes are its own."""

    def make(journal: Journal, leases: DatabaseLeases) -> Poller:
        mosaic, motion = clients
        scopes = (MOSAIC_SCOPE, MOTION_SCOPE)
        return Poller(journal, mosaic=mosaic, motion=motion, timing=TIMING, clock=clock, leases=leases, scopes=scopes)

    return make


async def journal_jobs(
    journal: Journal, clients: tuple[MosaicClient, MotionClient], clock: ManualClock, owner: str | None = None
) -> list[str]:
    """Start RUNS runs and SESSIONS Motion sessions in the sandbox and journal them (as a tool would)."""
    mosaic, motion = clients
    started: list[tuple[JobKind, str]] = []
    for _ in range(RUNS):
        started.append(
            ("mosaic_run", (await mosaic.run_agent(CAPTIONS_AGENT_ID, RunRequest(video_urls=[VIDEO]))).run_id)
        )
    for _ in range(SESSIONS if owner is None else 0):
        started.append(
            ("motion_session", (await motion.create_session(MotionSessionRequest(prompt="A teaser"))).job_id)
        )
    now = clock.wall()
    for kind, job_id in started:
        scope = owner or (MOSAIC_SCOPE if kind == "mosaic_run" else MOTION_SCOPE)
        snapshot = pending_snapshot(kind, job_id, "running", clock=clock)
        await journal.add(JobRecord(job_id, kind, scope, snapshot, created_at=now, updated_at=now, viewed_at=now))
    return [job_id for _, job_id in started]


async def wait_until(replica: Replica, done: Callable[[], bool]) -> None:
    """Wait (bounded) until `done()` holds, woken by the replica's announcements."""
    with anyio.fail_after(10):
        while not done():
            await replica.heard.wait()
            replica.heard = anyio.Event()


async def test_a_scope_is_held_by_one_replica_until_its_lease_expires(database_url: str | None, tmp_path: Path) -> None:
    """A claim wins a free scope, loses a held one, renews its own, and takes an expired one over."""
    clock = ManualClock()
    first_db, second_db = _open(database_url, tmp_path), _open(database_url, tmp_path)
    try:
        first = DatabaseLeases(first_db, clock=clock, lease_seconds=30)
        second = DatabaseLeases(second_db, clock=clock, lease_seconds=30)
        assert await first.claim(["a", "b"]) == {"a", "b"}
        assert await second.claim(["a", "c"]) == {"c"}
        assert first.holds("a") and not second.holds("a")
        assert await second.alive(first.replica)
        clock.advance(20)
        assert await first.claim(["a"]) == {"a"}  # renewed: b is left to expire
        clock.advance(15)
        assert not first.holds("b")
        assert await second.claim(["a", "b"]) == {"b"}
        await first.release()  # a clean shutdown frees everything at once
        assert not await second.alive(first.replica)
        assert await second.claim(["a"]) == {"a"}
    finally:
        await first_db.close()
        await second_db.close()


async def test_two_replicas_poll_each_live_job_once_and_sweep_once(
    database_url: str | None, tmp_path: Path, served: RunningSandbox, clients: tuple[MosaicClient, MotionClient]
) -> None:
    """Two pollers on one database: each live job is read by one of them, the run list listed once, not twice."""
    clock = ManualClock()
    async with replicas(database_url, tmp_path, clock, token_poller(clients, clock)) as (first, second):
        job_ids = await journal_jobs(first.journal, clients, clock)
        served.sandbox.requests.clear()
        async with anyio.create_task_group() as tg:
            await tg.start(first.poller.run)
            await tg.start(second.poller.run)
            await wait_until(first, lambda: set(first.announced) == set(job_ids))
            assert second.poller.live_count == 0 and second.announced == []
            assert served.sandbox.count("GET", "/agent_runs") == 1
            assert served.sandbox.count("GET", "/agent_run/{run_id}") == 0
            assert served.sandbox.count("GET", "/api/motion/sessions/{job_id}") == SESSIONS
            tg.cancel_scope.cancel()


async def test_a_killed_holder_is_taken_over_within_the_lease_time(
    database_url: str | None, tmp_path: Path, served: RunningSandbox, clients: tuple[MosaicClient, MotionClient]
) -> None:
    """The holder dies without releasing: the other replica takes its jobs over once the lease expires, not before."""
    clock = ManualClock()
    async with replicas(database_url, tmp_path, clock, token_poller(clients, clock)) as (first, second):
        job_ids = await journal_jobs(first.journal, clients, clock)
        async with anyio.create_task_group() as survivor:
            async with anyio.create_task_group() as doomed:
                await doomed.start(first.poller.run)
                await survivor.start(second.poller.run)
                await wait_until(first, lambda: set(first.announced) == set(job_ids))
                doomed.cancel_scope.cancel()  # killed: its leases stay in the table until they expire
            served.sandbox.advance(3600)  # every job finishes upstream; nobody polls them now
            clock.advance(TIMING.lease_seconds - 1)
            assert await second.poller.renew_leases() == set()
            assert second.poller.live_count == 0
            clock.advance(2)
            assert await second.poller.renew_leases() == {MOSAIC_SCOPE, MOTION_SCOPE}
            await wait_until(second, lambda: set(second.announced) == set(job_ids))
            survivor.cancel_scope.cancel()
        for job_id in job_ids:
            stored = await second.journal.get(job_id)
            assert stored is not None and stored.snapshot.status == "completed"  # read by the survivor


async def test_a_replica_that_lost_its_scope_lets_go_of_its_jobs(
    database_url: str | None, tmp_path: Path, served: RunningSandbox, clients: tuple[MosaicClient, MotionClient]
) -> None:
    """A holder that could not renew in time and finds its scope taken drops those jobs and sends nothing for them."""
    clock = ManualClock()
    async with replicas(database_url, tmp_path, clock, token_poller(clients, clock)) as (first, second):
        job_ids = await journal_jobs(first.journal, clients, clock)
        async with anyio.create_task_group() as tg:
            await tg.start(first.poller.run)
            await wait_until(first, lambda: set(first.announced) == set(job_ids))
            clock.advance(TIMING.lease_seconds + 1)  # first stalled past its lease
            assert await second.poller.renew_leases() == {MOSAIC_SCOPE, MOTION_SCOPE}
            assert await first.poller.renew_leases() == set()
            assert first.poller.live_count == 0
            served.sandbox.requests.clear()
            await first.poller.cycle()
            assert served.sandbox.requests.records == []
            tg.cancel_scope.cancel()


async def test_tracking_a_job_held_elsewhere_tells_the_hook_and_a_free_scope_is_claimed(
    database_url: str | None, tmp_path: Path, served: RunningSandbox, clients: tuple[MosaicClient, MotionClient]
) -> None:
    """`track` of a job whose scope another replica holds polls nothing and calls `on_not_held`; nobody
    holding the scope, the replica claims it and follows the job."""
    clock = ManualClock()
    mosaic, _ = clients
    async with (
        replicas(database_url, tmp_path, clock, token_poller(clients, clock)) as (first, second),
        anyio.create_task_group() as tg,
    ):
        await tg.start(first.poller.run)
        await tg.start(second.poller.run)
        held, free = [await mosaic.run_agent(CAPTIONS_AGENT_ID, RunRequest(video_urls=[VIDEO])) for _ in range(2)]
        now = clock.wall()
        records = [
            JobRecord(run.run_id, "mosaic_run", scope, pending_snapshot("mosaic_run", run.run_id, "running"))
            for run, scope in ((held, MOSAIC_SCOPE), (free, "fp-another-key"))
        ]
        for record in records:
            record.created_at = record.updated_at = record.viewed_at = now
            await second.journal.add(record)
        served.sandbox.requests.clear()
        second.poller.track(records[0])
        await wait_until(second, lambda: second.not_held == [held.run_id])
        assert second.poller.followed(held.run_id) is None
        assert served.sandbox.count("GET", f"/agent_run/{held.run_id}") == 0
        second.poller.track(records[1])
        await wait_until(second, lambda: free.run_id in second.announced)
        assert second.poller.holds("fp-another-key") and not first.poller.holds("fp-another-key")
        assert served.sandbox.count("GET", f"/agent_run/{held.run_id}") == 0
        tg.cancel_scope.cancel()


async def test_the_reconciler_leaves_a_live_replicas_intent_alone(
    database_url: str | None, tmp_path: Path, clients: tuple[MosaicClient, MotionClient]
) -> None:
    """An open intent another replica opened stays open while that replica lives, and is settled once it died."""
    clock = ManualClock()
    mosaic, motion = clients
    async with replicas(database_url, tmp_path, clock, token_poller(clients, clock)) as (sender, other):
        await sender.leases.claim([])  # alive: its liveness row is renewed with its leases
        fingerprints: dict[JobKind, str] = {"mosaic_run": MOSAIC_SCOPE, "motion_session": MOTION_SCOPE}
        jobs = JobService(other.journal, other.poller, Notifier(), fingerprints, clock=clock)
        starts = Starts(other.journal, jobs, mosaic, motion, fingerprints, clock=clock)
        reconciler = Reconciler(other.journal, jobs, starts, clock=clock, leases=other.leases)
        details = {"summary": {}, REPLICA_DETAIL: sender.leases.replica}
        intent = Intent("create_video_session", MOTION_SCOPE, None, details, started_at=clock.wall())
        await sender.journal.open_intent(intent)
        assert await reconciler.settle() == 0
        assert [i.intent_id for i in await other.journal.intents(("open",))] == [intent.intent_id]
        clock.advance(TIMING.lease_seconds + 1)  # the sender died: its liveness lease expired
        assert await reconciler.settle() == 1
        assert [i.intent_id for i in await other.journal.intents(("may_exist",))] == [intent.intent_id]


async def test_survivors_poll_the_people_of_a_dead_replica(
    database_url: str | None, tmp_path: Path, served: RunningSandbox, clients: tuple[MosaicClient, MotionClient]
) -> None:
    """Remote modes: a person's jobs are taken over, with their sealed key, by a replica they never spoke to."""
    clock = ManualClock()
    owner = "p-" + "a" * 24
    secret = SecretStr("s" * 32)
    settings = sandbox_settings(served, tmp_path)
    keystores: list[KeyStore] = []
    people: list[Clients] = []

    def make(journal: Journal, leases: DatabaseLeases) -> Poller:
        keystore = KeyStore(
            tmp_path / "jobs.sqlite3" if database_url is None else journal.database, secret, clock=clock
        )
        keystores.append(keystore)
        people.append(Clients(settings, retry=RetryPolicy(sleep=RecordingSleep()), timeout=DEFAULT_TIMEOUT))
        return PersonPoller(journal, keystore, people[-1], timing=TIMING, clock=clock, leases=leases)

    try:
        async with replicas(database_url, tmp_path, clock, make) as (first, second):
            await keystores[0].put(owner, "mosaic", SecretStr(MOSAIC_KEY))  # the person spoke to `first` only
            job_ids = await journal_jobs(first.journal, clients, clock, owner=owner)
            async with anyio.create_task_group() as survivor:
                async with anyio.create_task_group() as doomed:
                    await doomed.start(first.poller.run)
                    await survivor.start(second.poller.run)
                    await wait_until(first, lambda: set(first.announced) == set(job_ids))
                    assert second.poller.live_count == 0
                    doomed.cancel_scope.cancel()
                served.sandbox.advance(3600)
                clock.advance(TIMING.lease_seconds + 1)
                assert await second.poller.renew_leases() == {owner}
                await wait_until(second, lambda: set(second.announced) == set(job_ids))
                survivor.cancel_scope.cancel()
    finally:
        for keystore in keystores:
            await keystore.close()
        for pool in people:
            await pool.close_retired(everything=True)


async def test_a_replica_names_itself_on_the_intents_it_opens(
    tmp_path: Path, clients: tuple[MosaicClient, MotionClient]
) -> None:
    """With shared leases each intent records the replica that sends it (what other replicas' reconcilers read)."""
    clock = ManualClock()
    mosaic, motion = clients
    async with replicas(None, tmp_path, clock, token_poller(clients, clock), count=1) as (replica,):
        fingerprints: dict[JobKind, str] = {"mosaic_run": MOSAIC_SCOPE, "motion_session": MOTION_SCOPE}
        jobs = JobService(replica.journal, replica.poller, Notifier(), fingerprints, clock=clock)
        starts = Starts(replica.journal, jobs, mosaic, motion, fingerprints, clock=clock)
        starts.replica = replica.leases.replica
        await starts.create_session(MotionSessionRequest(prompt="A teaser"), summary={}, session=None)
        (intent,) = await replica.journal.intents(("done",))
        assert intent.details[REPLICA_DETAIL] == replica.leases.replica


async def test_a_server_on_the_shared_database_holds_its_keys_and_releases_them_on_a_clean_stop(
    postgres_url: str, served: RunningSandbox, tmp_path: Path
) -> None:
    """With MOSAIC_MCP_DATABASE_URL a server claims its keys' scopes while it runs and frees them when it stops."""
    settings = sandbox_settings(served, tmp_path, database_url=postgres_url)
    server = create_server(settings, poll_timing=PollTiming(), retry=RetryPolicy(sleep=RecordingSleep()))
    held = "SELECT scope FROM leases WHERE scope NOT LIKE 'replica:%' ORDER BY scope"
    watcher = _open(postgres_url, tmp_path)
    try:
        async with Client(server):
            scopes = [row[0] for row in await watcher.run(lambda sql: sql.execute(held).fetchall())]
            assert scopes == sorted({key_fingerprint(SecretStr(MOSAIC_KEY)), key_fingerprint(SecretStr(MOTION_KEY))})
        assert await watcher.run(lambda sql: sql.execute("SELECT COUNT(*) FROM leases").fetchone()[0]) == 0
    finally:
        await watcher.close()
