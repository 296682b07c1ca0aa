"""Remote modes (MOSAIC_MCP_AUTH keys or oauth): one runtime per person, built per request.

Each person gets their own API clients (cached, bounded), their own job scope in the shared
journal (`owner_of`: a hash of the person's id, stored where a local server stores a key's
fingerprint), and their keys sealed at rest (`jobs/keystore.py`) so the one background poller can
follow every person's jobs: `PersonPoller` unseals a job's key only to poll it, and
`PersonReconciler` settles a person's unfinished starts with their key. Job-starting tools
are rate limited per person. Nothing here runs for the local stdio server or in `token` mode.

With replicas sharing a database, a person is a lease scope (`jobs/leases.py`): the replica
holding it polls their jobs. The poller finds the people with live jobs in the journal, whether
or not they ever spoke to this replica, and claims them, so the survivors of a replica that died
take its people's jobs over with the keys sealed in the shared key store.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc
import httpx2

from . import redact
from .api.errors import AuthenticationError, MissingKeyError, MosaicMCPError
from .api.mosaic import MosaicClient
from .api.motion import MotionClient
from .api.transport import RetryPolicy
from .config import Settings, key_fingerprint
from .jobs.clock import SYSTEM_CLOCK, Clock
from .jobs.fanout import Fanout
from .jobs.intents import Intent, IntentAction
from .jobs.journal import JobRecord, Journal
from .jobs.keystore import KeyStore, Service
from .jobs.leases import Leases, LocalLeases
from .jobs.notify import Notifier
from .jobs.poller import OnChange, OnChanges, OnNotHeld, Poller, PollTiming
from .jobs.reconcile import SETTLE_AFTER_SECONDS, Reconciler
from .jobs.service import JobService
from .jobs.snapshot import JobKind, JobSnapshot, from_run, from_session
from .jobs.starts import Starts
from .people import Person
from .runtime import Runtime

log = logging.getLogger("mosaic_mcp.remote")

OWNER_PREFIX = "p-"
"""Owners of remote people's jobs start with this; a local server's key fingerprints never do."""
MAX_CLIENTS = 128
"""API clients kept open at most (one per person and service in use); the least recently used go first."""
RETIRED_CLIENT_SECONDS = 2 * 3600.0
"""An evicted client is closed this long after, once no call still in flight can be using it."""
KEY_GRACE_SECONDS = 24 * 3600.0
"""A person's sealed keys are deleted once all their jobs settled and they were not seen for this long."""
SEEN_EVERY_SECONDS = 600.0
"""A person's keys are re-sealed (and their `seen_at` renewed) at most this often."""
PRUNE_EVERY_SECONDS = 600.0
STARTS_PER_MINUTE = 10
"""Job-starting calls one person may make per minute (runs, Motion sessions, follow-ups, purchases)."""

_SERVICE_OF: dict[JobKind, Service] = {"mosaic_run": "mosaic", "motion_session": "motion"}


def owner_of(person: Person) -> str:
    """The journal's owner of a person's jobs: stable for the person, not secret, never a key."""
    return owner_of_id(person.id)


def owner_of_id(person_id: str) -> str:
    """`owner_of` from the person's id alone (a person who signs out is known by their id only)."""
    return OWNER_PREFIX + hashlib.sha256(person_id.encode()).hexdigest()[:24]


class SignInAgainError(MosaicMCPError):
    """The API rejected the key a job was started with (401)."""


class TooManyStartsError(MosaicMCPError):
    """One person started more jobs than the per-person rate limit allows."""

    def __init__(self, per_minute: int, retry_after: float) -> None:
        super().__init__(
            f"too many jobs started: this server allows {per_minute} job starts per minute per "
            f"person; try again in {max(1, round(retry_after))} s. Nothing was started or charged"
        )


def sign_in_again(kind: JobKind, previous: JobSnapshot) -> JobSnapshot:
    """The job as last read, marked: its key was rejected, the person must sign in (or send a key) again."""
    service = "Mosaic" if kind == "mosaic_run" else "Motion"
    note = (
        f"The {service} API rejected the key this job was started with (401). Sign in again (or, with "
        "X-…-Api-Key headers, send your current key) and it is followed again."
    )
    errors = previous.errors if note in previous.errors else [note, *previous.errors]
    return previous.model_copy(update={"errors": errors, "next_step": note})


@dataclass
class _Bucket:
    starts: deque[float] = field(default_factory=deque)


class StartLimiter:
    """At most `per_minute` job starts per owner in any 60 s (a sliding window, in memory)."""

    def __init__(self, per_minute: int = STARTS_PER_MINUTE, *, clock: Clock = SYSTEM_CLOCK, max_owners: int = 4096):
        self.per_minute = per_minute
        self.clock = clock
        self.max_owners = max_owners
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, owner: str) -> None:
        """Count one start for `owner`, or raise TooManyStartsError (nothing counted)."""
        now = self.clock.monotonic()
        bucket = self._buckets.pop(owner, None) or _Bucket()
        self._buckets[owner] = bucket
        while len(self._buckets) > self.max_owners:
            self._buckets.popitem(last=False)
        while bucket.starts and now - bucket.starts[0] >= 60.0:
            bucket.starts.popleft()
        if len(bucket.starts) >= self.per_minute:
            raise TooManyStartsError(self.per_minute, 60.0 - (now - bucket.starts[0]))
        bucket.starts.append(now)


class PersonStarts(Starts):
    """Write-ahead starts of one person, counted against their rate limit before anything is written."""

    def __init__(self, *args: Any, limiter: StartLimiter, owner: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limiter = limiter
        self.owner = owner

    @asynccontextmanager
    async def _intent(
        self, action: IntentAction, kind: JobKind, target: str | None, details: dict[str, Any]
    ) -> AsyncIterator[Intent]:
        if target is not None and action == "followup_video_session":
            await self.jobs.refuse_foreign(target)  # another person's session is "not found"
        self.limiter.take(self.owner)
        async with super()._intent(action, kind, target, details) as intent:
            yield intent


class Clients:
    """The API clients of the people in use, one per (service, key); bounded, least recently used evicted."""

    def __init__(
        self, settings: Settings, *, retry: RetryPolicy | None, timeout: httpx2.Timeout, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.settings = settings
        self.retry = retry
        self.timeout = timeout
        self.clock = clock
        self._open: OrderedDict[tuple[Service, str], MosaicClient | MotionClient] = OrderedDict()
        self._retired: list[tuple[float, MosaicClient | MotionClient]] = []

    def settings_for(self, mosaic_key: Any, motion_key: Any) -> Settings:
        """The deployment's settings with one person's keys (remembered for scrubbing)."""
        redact.remember(*(k.get_secret_value() for k in (mosaic_key, motion_key) if k is not None))
        return self.settings.model_copy(update={"mosaic_api_key": mosaic_key, "motion_api_key": motion_key})

    def mosaic(self, settings: Settings) -> MosaicClient:
        """The Mosaic client for the key in `settings`."""
        slot: tuple[Service, str] = ("mosaic", key_fingerprint(settings.mosaic_api_key))
        client = self._take(slot)
        if not isinstance(client, MosaicClient):
            client = MosaicClient.from_settings(settings, retry=self.retry, timeout=self.timeout)
            self._put(slot, client)
        return client

    def motion(self, settings: Settings) -> MotionClient:
        """The Motion client for the key in `settings`."""
        slot: tuple[Service, str] = ("motion", key_fingerprint(settings.motion_api_key))
        client = self._take(slot)
        if not isinstance(client, MotionClient):
            client = MotionClient.from_settings(settings, retry=self.retry, timeout=self.timeout)
            self._put(slot, client)
        return client

    def _take(self, slot: tuple[Service, str]) -> MosaicClient | MotionClient | None:
        client = self._open.pop(slot, None)
        if client is not None:
            self._open[slot] = client
        return client

    def _put(self, slot: tuple[Service, str], client: MosaicClient | MotionClient) -> None:
        self._open[slot] = client
        while len(self._open) > MAX_CLIENTS:
            _, old = self._open.popitem(last=False)
            self._retired.append((self.clock.monotonic(), old))

    async def close_retired(self, *, everything: bool = False) -> None:
        """Close evicted clients old enough that no call can still use them (all of them at shutdown)."""
        now = self.clock.monotonic()
        done = [c for at, c in self._retired if everything or now - at >= RETIRED_CLIENT_SECONDS]
        self._retired = [(at, c) for at, c in self._retired if not (everything or now - at >= RETIRED_CLIENT_SECONDS)]
        if everything:
            done += list(self._open.values())
            self._open.clear()
        for client in done:
            await client.aclose()


class PersonPoller(Poller):
    """The poller of a remote server: each job is read with its owner's key, unsealed only to poll it.

    The running list is per key, so each person's runs are swept on a list of their own, with their key.
    """

    def __init__(
        self,
        journal: Journal,
        keystore: KeyStore,
        clients: Clients,
        *,
        on_change: OnChange | None = None,
        on_changes: OnChanges | None = None,
        timing: PollTiming | None = None,
        clock: Clock = SYSTEM_CLOCK,
        leases: Leases | None = None,
        on_not_held: OnNotHeld | None = None,
    ) -> None:
        super().__init__(
            journal,
            mosaic=None,
            motion=None,
            on_change=on_change,
            on_changes=on_changes,
            timing=timing,
            clock=clock,
            leases=leases,
            on_not_held=on_not_held,
        )
        self.keystore = keystore
        self.clients = clients

    def list_group(self, record: JobRecord) -> str:
        """A person's runs share a run list: the one their key sees."""
        return record.key_fingerprint

    async def list_client(self, group: str) -> MosaicClient | None:
        """The person's client, to list their runs (None when their key is missing or was rejected)."""
        if await self.keystore.rejected(group, "mosaic"):
            return None
        key = await self.keystore.get(group, "mosaic")
        return None if key is None else self.clients.mosaic(self.clients.settings_for(key, None))

    async def list_rejected(self, group: str) -> bool:
        """The person's key was rejected while listing: mark it, and let each job say so (sign in again)."""
        await self.keystore.reject(group, "mosaic")
        log.warning("a person's mosaic key was rejected (401); their jobs wait for them to sign in again")
        return True

    async def fetch(self, record: JobRecord) -> JobSnapshot:
        """Read a job with its owner's stored key; a rejected key marks the job (sign in again)."""
        service = _SERVICE_OF[record.kind]
        owner = record.key_fingerprint
        newest = self.followed(record.job_id) or record
        if await self.keystore.rejected(owner, service):
            return sign_in_again(record.kind, newest.snapshot)
        key = await self.keystore.get(owner, service)
        if key is None:
            raise MissingKeyError("Mosaic" if service == "mosaic" else "Motion")
        settings = self.clients.settings_for(key if service == "mosaic" else None, key if service == "motion" else None)
        try:
            if record.kind == "mosaic_run":
                run = await self.clients.mosaic(settings).get_run(record.job_id)
                return from_run(record.job_id, run, clock=self.clock)
            session = await self.clients.motion(settings).get_session(record.job_id)
        except AuthenticationError:
            await self.keystore.reject(owner, service)
            log.warning("a person's %s key was rejected (401); their jobs wait for them to sign in again", service)
            return sign_in_again(record.kind, newest.snapshot)
        newest = self.followed(record.job_id) or record
        return from_session(session, replaces=newest.snapshot.replaces_render, clock=self.clock)


class People:
    """Everything per person on a remote server: keys at rest, clients, runtimes, start limits."""

    def __init__(
        self,
        settings: Settings,
        journal: Journal,
        keystore: KeyStore,
        clients: Clients,
        notifier: Notifier,
        *,
        clock: Clock = SYSTEM_CLOCK,
        sandbox_url: str | None = None,
        limiter: StartLimiter | None = None,
        fanout: Fanout | None = None,
        leases: Leases | None = None,
    ) -> None:
        self.leases: Leases = leases or LocalLeases()
        """Who polls and reconciles which person's jobs when replicas share a database."""
        self.settings = settings
        self.fanout = fanout
        """The other replicas: each person's job service tells them of starts and hears their changes."""
        self.journal = journal
        self.keystore = keystore
        self.clients = clients
        self.notifier = notifier
        self.clock = clock
        self.sandbox_url = sandbox_url
        self.limiter = limiter or StartLimiter(clock=clock)
        self.poller: Poller | None = None
        self.started_at = clock.wall()
        self.in_flight: set[str] = set()
        """Intents every person's requests are sending right now (shared, so the reconciler leaves them alone)."""
        self._sealed: OrderedDict[tuple[str, Service, str], float] = OrderedDict()

    async def remember(self, person: Person) -> None:
        """Seal the person's keys at rest (at most every SEEN_EVERY_SECONDS): the poller needs them later."""
        owner = owner_of(person)
        now = self.clock.wall()
        for service, key in (("mosaic", person.mosaic_api_key), ("motion", person.motion_api_key)):
            if key is None:
                continue
            slot: tuple[str, Service, str] = (owner, service, key_fingerprint(key))  # type: ignore[assignment]
            if now - self._sealed.get(slot, float("-inf")) < SEEN_EVERY_SECONDS:
                continue
            await self.keystore.put(owner, slot[1], key)
            self._sealed[slot] = now
            while len(self._sealed) > 4 * MAX_CLIENTS:
                self._sealed.popitem(last=False)

    async def forget(self, person_id: str) -> None:
        """The person signed out: drop the keys sealed for their jobs (their unsettled jobs wait for a new sign-in)."""
        owner = owner_of_id(person_id)
        await self.keystore.forget(owner)
        for slot in [slot for slot in self._sealed if slot[0] == owner]:
            del self._sealed[slot]

    def runtime_for(self, person: Person) -> Runtime:
        """The runtime of one person: their clients, their jobs only, their rate limit."""
        settings = self.clients.settings_for(person.mosaic_api_key, person.motion_api_key)
        jobs, starts = self._jobs_of(owner_of(person), settings)
        return Runtime(settings, starts.mosaic, starts.motion, jobs, starts, self.notifier, self.sandbox_url)

    def _jobs_of(self, owner: str, settings: Settings) -> tuple[JobService, PersonStarts]:
        """One owner's job service and starts, with the clients of the keys in `settings`."""
        assert self.poller is not None, "People.poller is set by the lifespan before any request"
        mosaic, motion = self.clients.mosaic(settings), self.clients.motion(settings)
        owners: dict[JobKind, str] = {"mosaic_run": owner, "motion_session": owner}
        jobs = JobService(
            self.journal,
            self.poller,
            self.notifier,
            owners,
            clock=self.clock,
            mosaic=mosaic,
            scoped=True,
            fanout=self.fanout,
        )
        jobs.started_at = self.started_at
        starts = PersonStarts(
            self.journal, jobs, mosaic, motion, owners, clock=self.clock, limiter=self.limiter, owner=owner
        )
        starts.in_flight = self.in_flight
        starts.replica = self.leases.replica if self.leases.shared else None
        return jobs, starts

    async def reconciler_for(self, owner: str, *, settle_after: float = SETTLE_AFTER_SECONDS) -> Reconciler:
        """A reconciler of one owner's open intents, with their sealed Mosaic key (none if gone or rejected)."""
        rejected = await self.keystore.rejected(owner, "mosaic")
        key = None if rejected else await self.keystore.get(owner, "mosaic")
        jobs, starts = self._jobs_of(owner, self.clients.settings_for(key, None))
        return _OwnerReconciler(
            self.journal,
            jobs,
            starts,
            self.keystore,
            owner,
            key is not None,
            settle_after=settle_after,
            clock=self.clock,
            leases=self.leases,
        )

    async def maintain(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Background task: drop the keys of people whose jobs settled long ago; close evicted clients."""
        task_status.started()
        try:
            while True:
                await self.prune_once()
                await anyio.sleep(PRUNE_EVERY_SECONDS)
        finally:
            with anyio.CancelScope(shield=True):
                await self.clients.close_retired(everything=True)

    async def prune_once(self) -> int:
        """One maintenance pass; how many sealed keys were deleted."""
        try:
            dropped = await self.keystore.prune(KEY_GRACE_SECONDS)
        except Exception as exc:  # the next pass tries again
            log.warning("pruning stored keys failed (%s); going on", type(exc).__name__)
            dropped = 0
        if dropped:
            self._sealed.clear()  # a person seen again is sealed again
            log.info("dropped the stored keys of %d idle person(s) whose jobs have settled", dropped)
        await self.clients.close_retired()
        return dropped


class _OwnerReconciler(Reconciler):
    """Settles one person's open intents with their key; without one, their runs wait ("checking")."""

    def __init__(
        self,
        journal: Journal,
        jobs: JobService,
        starts: Starts,
        keystore: KeyStore,
        owner: str,
        has_key: bool,
        *,
        settle_after: float,
        clock: Clock,
        leases: Leases,
    ) -> None:
        super().__init__(journal, jobs, starts, settle_after=settle_after, clock=clock, leases=leases)
        self.keystore = keystore
        self.owner = owner
        self.has_key = has_key

    async def _settle(self, intent: Intent) -> int:
        if intent.action == "run_agent" and not self.has_key:
            return 0  # signed out or key rejected: it is checked again once the person sends a key
        try:
            return await super()._settle(intent)
        except AuthenticationError:
            await self.keystore.reject(self.owner, "mosaic")
            self.has_key = False
            log.warning("a person's mosaic key was rejected (401); their unfinished starts wait for a new key")
            return 0


class PersonReconciler(Reconciler):
    """The reconciler of a remote server: also settles every person's open intents, each with their sealed key."""

    def __init__(
        self,
        journal: Journal,
        jobs: JobService,
        starts: Starts,
        people: People,
        *,
        every: float = 30.0,
        settle_after: float = SETTLE_AFTER_SECONDS,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__(
            journal, jobs, starts, every=every, settle_after=settle_after, clock=clock, leases=people.leases
        )
        self.people = people

    async def settle(self) -> int:
        """One pass over the deployment's open intents, then each person's (one owner failing stops no other)."""
        closed = await super().settle()
        by_owner: dict[str, list[Intent]] = {}
        for intent in await self.journal.intents(("open",)):
            if intent.key_fingerprint.startswith(OWNER_PREFIX) and intent.intent_id not in self.people.in_flight:
                by_owner.setdefault(intent.key_fingerprint, []).append(intent)
        for owner, intents in by_owner.items():
            try:
                reconciler = await self.people.reconciler_for(owner, settle_after=self.settle_after)
                closed += await reconciler.settle_intents(intents)
            except Exception as exc:  # the next pass tries again
                log.warning(
                    "reconciling a person's unfinished starts failed (%s); trying again later", type(exc).__name__
                )
        return closed
