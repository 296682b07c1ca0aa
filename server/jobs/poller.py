"""The poller: one background task that follows every unsettled job and reports changes.

Each job has its own due time. The interval starts short, grows while nothing changes, and is
reset on a change; jobs nobody asked about for a while are polled more slowly still (every number
is decided in one pure function, `policy.next_interval`; time is read from one `Clock`). When more
than a few Mosaic runs are live and sweeping costs no more than fetching the due ones singly, one
sweep of the list endpoint (`GET /agent_runs?status=running`, 100 per page, newest first, as many
pages as the live set needs) replaces per-run requests: it covers every live run, due or not. A
run whose summary is the one seen last time costs nothing more (no snapshot is rebuilt); a run
whose summary moved is updated from it. Runs that left the list finished: when more than a few
did, they are looked up in the completed list (`status=completed`, newest first, as many pages
as they fill), whose summary of a completed run is its final state; the rest (failed, cancelled:
summaries lack `needs_credits` and `errors`) and a few are fetched one by one, all at once (they
are what changed). A list covers one key's runs: the runs of each key (`list_group`, one for the
whole process here, one per person in `PersonPoller`) are swept on their own list, with that
key. When runs are polled one by one instead (the list fails or is paused), a cycle sends at
most `singles_per_cycle` fetches per list and spreads the rest over the next cycles instead of
sending one burst. Motion has no list endpoint, so its sessions are polled one by one. A change
is written to the journal first, then announced: every change of a cycle in one call of
`on_changes` (the notifier sends them in the background), and to `on_change` one by one.

Nothing one job, one row or one answer does can stop the loop: a job whose id or data cannot be
used is quarantined (settled with a note), any other failure is logged and backed off. A failed
sweep falls back to per-run polling; when the list endpoint keeps failing (or does not exist,
404) sweeping pauses for a while. When the journal cannot be written (disk full, read-only
folder), changes stay in memory, are served from there, and are written (then announced) later.

With several replicas, each job is polled by one: the poller follows only the jobs of the scopes
(a job's `key_fingerprint`: a key, or a person) whose lease it holds (`jobs/leases.py`). It claims
its own `scopes` and those with live jobs in the journal when it adopts, renews them every
`lease_renew_every` seconds on a timer of its own (claiming there too any scope whose holder let
its lease expire), lets go of every job of a scope it lost (no request is sent for them), and
releases scopes with no live job left. `track` of a job whose scope another replica holds polls
nothing and calls `on_not_held` (the holder can be told); nobody holding it, the poller claims it.
A single process (`LocalLeases`, the default) holds every scope: nothing of this changes anything.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

import anyio

from ..api.errors import (
    APIError,
    APIStatusError,
    AuthenticationError,
    InvalidInputError,
    MissingKeyError,
    NotFoundError,
    RateLimitedError,
)
from ..api.models import RUN_TERMINAL_STATUSES, RunSummary
from ..api.mosaic import MosaicClient
from ..api.motion import MotionClient
from ..database import database_errors
from .clock import SYSTEM_CLOCK, Clock, iso_utc
from .journal import JobRecord, Journal
from .leases import Leases, LocalLeases
from .policy import PollEvent, failure_outcome, next_interval, spread_delay, sweep_pages
from .policy import PollTiming as PollTiming  # re-exported: the server and tests build it from here
from .snapshot import JobSnapshot, from_run, from_session, not_found_snapshot, quarantined_snapshot

log = logging.getLogger("mosaic_mcp.poller")

OnChange = Callable[[JobRecord], Awaitable[None]]
OnChanges = Callable[[Sequence[JobRecord]], Awaitable[None]]
"""Told once per cycle (or per applied reading) with every job change the journal took."""
OnNotHeld = Callable[[JobRecord], Awaitable[None]]
"""Told of a job tracked here whose scope another replica holds (so that replica can be told to follow it)."""

PAGE_SIZE = 100
"""Runs per page of the running list (the API's maximum)."""

SummaryKey = tuple[object, ...]

SWEEP_CLOCK_SLACK_SECONDS = 3600.0
"""The sweep lists runs created since our oldest live run, by our clock; this much slack keeps a
skewed local clock from hiding our runs (the status filter keeps the pages few anyway)."""

NO_LIST_ENDPOINT_STATUSES = frozenset({404, 405, 501})
"""Answers to `GET /agent_runs` that mean this API has no list endpoint: stop sweeping at once."""

FINAL_FROM_SUMMARY = "completed"
"""The one finished status whose list summary is the whole final state (no errors, no credits needed):
when it lists outputs (`_final`). Failed, partially completed and cancelled runs are read whole
(summaries lack `needs_credits` and `errors`)."""


@dataclass
class _Entry:
    record: JobRecord
    due: float
    interval: float
    watchers: int = 0
    failures: int = 0  # unexpected failures in a row (not API errors)
    summary: SummaryKey | None = None  # what the running list said last time (None: not read from it yet)
    dropped: bool = False  # its scope's lease was lost: no request is sent for it any more


@dataclass(frozen=True)
class CycleStats:
    """What the last cycle cost: for benchmarks and tests."""

    list_pages: int = 0
    single_fetches: int = 0
    changed: int = 0


class Poller:
    """Follows unsettled jobs until they settle; `run()` is the background task."""

    def __init__(
        self,
        journal: Journal,
        *,
        mosaic: MosaicClient | None,
        motion: MotionClient | None,
        on_change: OnChange | None = None,
        on_changes: OnChanges | None = None,
        timing: PollTiming | None = None,
        clock: Clock = SYSTEM_CLOCK,
        leases: Leases | None = None,
        scopes: Iterable[str] = (),
        on_not_held: OnNotHeld | None = None,
    ) -> None:
        self.journal = journal
        self.mosaic = mosaic
        self.motion = motion
        self.on_change = on_change
        self.on_changes = on_changes
        self.timing = timing or PollTiming()
        self.clock = clock
        self.last_cycle = CycleStats()
        self._entries: dict[str, _Entry] = {}
        self._changed: dict[str, anyio.Event] = {}
        self._wake = anyio.Event()
        self._limiter = anyio.CapacityLimiter(self.timing.concurrency)
        self._adopted_at = float("-inf")
        self._sweep_failures: dict[str, int] = {}  # per run list (`list_group`): failed sweeps in a row
        self._sweep_paused_until: dict[str, float] = {}
        self._unsaved: dict[str, JobRecord] = {}  # changes the journal has not taken yet (disk full...)
        self._writing = anyio.Lock()  # one journal write of changes at a time, in order (`_flush`)
        self._settling: list[set[str]] = []  # per adoption under way: the jobs settled meanwhile (never re-adopted)
        self._journal_retry_at = float("-inf")
        self._journal_failing = False
        self.leases: Leases = leases or LocalLeases()
        self.scopes = frozenset(scopes)
        """Scopes claimed whether or not they have live jobs (token mode: the process's key fingerprints)."""
        self.on_not_held = on_not_held
        self._wanted: set[str] = set(self.scopes)  # scopes to hold: ours, and those with live jobs
        self._claims: dict[str, JobRecord] = {}  # tracked jobs of scopes not held: claimed on the next step

    # ------------------------------------------------------------------ scheduling

    def track(self, record: JobRecord) -> None:
        """Follow a job (idempotent); it is polled on the next cycle."""
        if record.snapshot.settled:
            return
        if not self.leases.holds(scope_of(record)):
            self._claims[record.job_id] = record  # claimed (or handed to its holder) on the next step
            self._wake.set()
            return
        entry = self._entries.get(record.job_id)
        if entry is None:
            self._entries[record.job_id] = _Entry(record, self.clock.monotonic(), self._first_interval())
        else:
            entry.record = record  # e.g. a follow-up that kept the id: its new record knows the previous render
        self.wake(record.job_id)

    def wake(self, job_id: str | None = None) -> None:
        """Poll a job (or just re-plan) now, e.g. after a webhook or when someone waits on it."""
        entry = self._entries.get(job_id) if job_id else None
        if entry is not None:
            entry.due = self.clock.monotonic()
            entry.interval = next_interval(PollEvent("woken"), self.timing)
        self._wake.set()

    def holds(self, scope: str) -> bool:
        """Whether this replica polls the jobs of `scope` (always, in a single process)."""
        return self.leases.holds(scope)

    def adopt_now(self) -> None:
        """Read the journal's live jobs on the next step (e.g. another replica added a job of a scope held here)."""
        self._adopted_at = float("-inf")
        self._wake.set()

    @property
    def live_count(self) -> int:
        """How many jobs are being followed."""
        return len(self._entries)

    def followed(self, job_id: str) -> JobRecord | None:
        """The in-memory record of a job being followed, or whose last change is not journaled yet
        (fresher than the journal), else None."""
        entry = self._entries.get(job_id)
        return self._unsaved.get(job_id) if entry is None else entry.record

    @property
    def unsaved_count(self) -> int:
        """How many job changes wait for the journal to take them."""
        return len(self._unsaved)

    def next_poll_after(self, job_id: str) -> float | None:
        """Seconds until the poller looks at this job again (None when not followed)."""
        entry = self._entries.get(job_id)
        return None if entry is None else round(max(entry.due - self.clock.monotonic(), 0.0) + 0.0, 1)

    async def wait_for_change(self, job_id: str, seconds: float) -> bool:
        """Wait until the job changes (True) or `seconds` pass (False); keeps its polling brisk.

        A job not followed here (settled, or another replica polls it) returns False at once."""
        entry = self._entries.get(job_id)
        if entry is None:
            return False
        event = self._changed.setdefault(job_id, anyio.Event())
        entry.watchers += 1
        if entry.interval > self.timing.initial:
            self.wake(job_id)
        try:
            with anyio.move_on_after(seconds):
                await event.wait()
                return True
            return False
        finally:
            entry.watchers -= 1

    # ------------------------------------------------------------------ the loop

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Poll forever (cancel the surrounding task group to stop); no failure ends the loop.

        Leases are not released here: a poller cancelled as if killed leaves them to expire
        (the server releases them on a clean shutdown)."""
        await self._adopt()
        async with anyio.create_task_group() as tg:
            if self.leases.shared:
                tg.start_soon(self._keep_leases)
            task_status.started()
            while True:
                try:
                    await self._step()
                except Exception as exc:  # a last guard: every part below catches its own failures
                    _report("the poller's cycle failed", exc)
                    await anyio.sleep(self.timing.initial)

    async def _keep_leases(self) -> None:
        """Renew the leases every `lease_renew_every` seconds, whatever the cycles are doing."""
        while True:
            await anyio.sleep(self.timing.lease_renew_every)
            try:
                await self.renew_leases()
            except Exception as exc:  # a last guard, as in `run`
                _report("renewing the poll leases failed", exc)

    async def renew_leases(self) -> set[str]:
        """Renew the scopes held, claim the wanted ones that are free, drop the jobs of lost ones; the scopes held."""
        before = {s for s in self._wanted if self.leases.holds(s)}
        held = await self._claim(self._wanted)
        self._let_go(held)
        if held - before:  # taken over (e.g. from a replica that died): read its jobs from the journal now
            self.adopt_now()
        return held

    async def _claim(self, scopes: Iterable[str]) -> set[str]:
        """Claim `scopes`; when the database cannot be reached, the ones still held by the last claim."""
        scopes = set(scopes)
        try:
            return await self.leases.claim(scopes)
        except Exception as exc:
            _report("claiming poll leases failed; keeping those not expired yet", exc)
            return {s for s in scopes if self.leases.holds(s)}

    def _let_go(self, held: set[str]) -> None:
        """Stop following the jobs of scopes not in `held` (no request is sent for them)."""
        for job_id, entry in list(self._entries.items()):
            if scope_of(entry.record) not in held:
                entry.dropped = True
                del self._entries[job_id]

    async def _claim_tracked(self) -> None:
        """Claim the scopes of jobs tracked while not held: follow them, or tell their holder."""
        records = list(self._claims.values())
        self._claims.clear()
        held = await self._claim({scope_of(r) for r in records})
        for record in records:
            if scope_of(record) in held:
                self._wanted.add(scope_of(record))
                self.track(record)
            elif self.on_not_held is not None:
                try:
                    await self.on_not_held(record)
                except Exception as exc:
                    _report(f"telling the holder of job {_short(record.job_id)} failed", exc)

    async def _step(self) -> None:
        if self._claims:
            await self._claim_tracked()
        now = self.clock.monotonic()
        if self._unsaved and now >= self._journal_retry_at:
            await self._flush()
        if now - self._adopted_at >= self.timing.adopt_every:
            await self._adopt()
        due = [e for e in self._entries.values() if e.due <= now]
        if due:
            try:
                await self.cycle(due)
            except Exception as exc:
                _report("a poll cycle failed", exc)
                for entry in due:  # never spin on the same failing jobs
                    self._backoff(entry, exc)
            return
        wait = min((e.due for e in self._entries.values()), default=now + self.timing.adopt_every) - now
        if self._unsaved:
            wait = min(wait, self._journal_retry_at - now)
        with anyio.move_on_after(max(wait, 0.0)):
            await self._wake.wait()
        self._wake = anyio.Event()

    async def _adopt(self) -> None:
        """Pick up unsettled jobs from the journal (after a restart, or started by another process).

        With leases: claim our scopes and those of the live jobs, follow only the jobs of scopes held,
        let go of the jobs of scopes lost, release the scopes no live job needs any more."""
        self._adopted_at = self.clock.monotonic()
        settled_meanwhile: set[str] = set()  # its live rows were read before these settled (poll_job, a webhook)
        self._settling.append(settled_meanwhile)
        try:
            await self._adopt_live(settled_meanwhile)
        finally:
            self._settling.remove(settled_meanwhile)

    async def _adopt_live(self, settled_meanwhile: set[str]) -> None:
        try:
            live = [r for r in await self.journal.live() if not r.terminal]
        except Exception as exc:
            _report(f"reading the job journal in {self.journal.where} failed; trying again later", exc)
            return
        wanted = set(self.scopes) | {scope_of(r) for r in live} | {scope_of(e.record) for e in self._entries.values()}
        unneeded = {s for s in self._wanted - wanted if self.leases.holds(s)}
        self._wanted = wanted
        held = await self._claim(wanted)
        self._let_go(held)
        if unneeded:
            try:
                await self.leases.release(unneeded)
            except Exception as exc:  # they expire on their own
                _report("releasing poll leases failed", exc)
        known = self._entries.keys() | self._unsaved.keys() | settled_meanwhile
        for record in live:
            if record.job_id not in known and scope_of(record) in held:
                self._entries[record.job_id] = _Entry(record, self.clock.monotonic(), self._first_interval())

    async def cycle(self, due: list[_Entry] | None = None) -> CycleStats:
        """Poll the due jobs once (all followed jobs when `due` is None)."""
        due = list(self._entries.values()) if due is None else due
        stats = _Counter()
        runs = _by_list(self, [e for e in due if e.record.kind == "mosaic_run"])
        live_runs = _by_list(self, [e for e in self._entries.values() if e.record.kind == "mosaic_run"])
        sessions = [e for e in due if e.record.kind == "motion_session"]
        async with anyio.create_task_group() as tg:
            for group, due_runs in runs.items():
                tg.start_soon(self._poll_runs, group, live_runs[group], due_runs, stats)
            for entry in sessions:
                tg.start_soon(self._poll_one, entry, stats)
        await self._commit(stats.changed_records)
        self.last_cycle = CycleStats(stats.pages, stats.fetches, len(stats.changed_records))
        return self.last_cycle

    def list_group(self, record: JobRecord) -> str:
        """Which run list covers a run: one for every run here (one key); `PersonPoller` keeps one per person."""
        return ""

    async def list_client(self, group: str) -> MosaicClient | None:
        """The client that lists the runs of `group` (None: poll them one by one)."""
        return self.mosaic

    async def list_rejected(self, group: str) -> bool:
        """Listing `group`'s runs met a rejected key (401): True when reading them singly says what to do."""
        return False

    async def _poll_runs(self, group: str, live: list[_Entry], due: list[_Entry], stats: _Counter) -> None:
        """The due runs of one list: swept with every live run of the list when that costs no more than
        fetching the due ones singly, else fetched one by one."""
        sweep = (
            len(live) > self.timing.sweep_threshold
            and len(due) >= sweep_pages(len(live), PAGE_SIZE)
            and self.clock.monotonic() >= self._sweep_paused_until.get(group, float("-inf"))
        )
        client = await self.list_client(group) if sweep else None
        if client is None:
            await self._poll_singly(due, stats)
        else:
            await self._sweep(client, group, live, due, stats)

    async def _sweep(
        self, client: MosaicClient, group: str, entries: list[_Entry], due: list[_Entry], stats: _Counter
    ) -> None:
        """Update every live run of a list from it; when listing fails, poll the due runs singly."""
        try:
            seen, complete = await self._list(client, "running", entries, stats)
        except Exception as exc:
            if isinstance(exc, AuthenticationError) and await self.list_rejected(group):
                await self._poll_singly(due, stats)
                return
            if isinstance(exc, RateLimitedError | AuthenticationError):
                # Per-run requests would meet the same limit or the same rejected key.
                _report("listing running runs failed", exc)
                for entry in entries:
                    self._backoff(entry, exc)
                return
            self._sweep_failed(group, exc)
            await self._poll_singly(due, stats)
            return
        self._sweep_failures.pop(group, None)
        singly, left = [], []
        now = self.clock.monotonic()
        for entry in entries:
            job_id = entry.record.job_id
            summary = seen.get(job_id)
            if summary is not None and summary.status not in RUN_TERMINAL_STATUSES:
                try:
                    self._take_summary(entry, summary, stats)
                except Exception as exc:
                    _report(f"reading run {_short(job_id)} from the running list failed", exc)
                    singly.append(entry)
            elif summary is not None and _final(summary):
                self._take_final(entry, summary, stats)
            elif summary is not None:
                singly.append(entry)  # failed or cancelled: summaries lack needs_credits and errors
            elif complete:
                left.append(entry)  # left the running list: it finished
            elif entry.due <= now:
                singly.append(entry)  # lies beyond the pages read
        if len(left) > self.timing.sweep_threshold:
            left = await self._take_finished(client, left, stats)
        await self._poll_singly(singly + left, stats, spread=False)

    async def _take_finished(self, client: MosaicClient, left: list[_Entry], stats: _Counter) -> list[_Entry]:
        """Settle runs that left the running list from the completed list; the ones still to fetch singly."""
        try:
            seen, _ = await self._list(client, FINAL_FROM_SUMMARY, left, stats)
        except Exception as exc:
            _report("listing completed runs failed; fetching the finished runs one by one", exc)
            return left
        rest = []
        for entry in left:
            summary = seen.get(entry.record.job_id)
            if summary is not None and _final(summary):
                self._take_final(entry, summary, stats)
            else:
                rest.append(entry)  # failed, cancelled, listed without outputs, or beyond the pages read
        return rest

    def _take_final(self, entry: _Entry, summary: RunSummary, stats: _Counter) -> None:
        try:
            self._apply(entry, from_run(entry.record.job_id, summary, clock=self.clock), stats)
        except Exception as exc:
            _report(f"reading run {_short(entry.record.job_id)} from the run list failed", exc)

    def _take_summary(self, entry: _Entry, summary: RunSummary, stats: _Counter) -> None:
        """Take a running run's list summary in; one equal to the last costs a comparison, not a snapshot."""
        key = _summary_key(summary)
        if key == entry.summary:
            self._reschedule(entry, False, paused=False)
            entry.record.snapshot.checked_at = iso_utc(self.clock.wall())
            entry.record.snapshot.next_poll_after_seconds = round(entry.interval, 1)
            return
        self._apply(entry, from_run(entry.record.job_id, summary, clock=self.clock), stats)
        entry.summary = key

    async def _poll_singly(self, entries: list[_Entry], stats: _Counter, *, spread: bool = True) -> None:
        """Fetch runs one by one: with `spread`, at most `singles_per_cycle` now and the rest spread over
        the next cycles (the sweep's own fetches, of runs the list shows moved, are all sent at once)."""
        limit = self.timing.singles_per_cycle
        if spread and len(entries) > limit:
            entries = sorted(entries, key=lambda e: e.due)
            now = self.clock.monotonic()
            for index, entry in enumerate(entries[limit:]):
                entry.due = now + spread_delay(index, self.timing)
            entries = entries[:limit]
        async with anyio.create_task_group() as tg:
            for entry in entries:
                tg.start_soon(self._poll_one, entry, stats)

    async def _list(
        self, client: MosaicClient, status: str, entries: list[_Entry], stats: _Counter
    ) -> tuple[dict[str, RunSummary], bool]:
        """The summaries of our runs in the `status` list, and whether every one of them was accounted for.

        Pages are read newest first, from our oldest run's creation on, until every run was seen or the
        list ends, at most as many as the runs fill plus `sweep_max_pages` (other runs of the key share
        the list).
        """
        wanted = {e.record.job_id for e in entries}
        since = min(e.record.created_at for e in entries) - SWEEP_CLOCK_SLACK_SECONDS
        seen: dict[str, RunSummary] = {}
        cursor: str | None = None
        for _ in range(sweep_pages(len(wanted), PAGE_SIZE) + self.timing.sweep_max_pages):
            async with self._limiter:
                page = await client.list_runs(status=status, limit=PAGE_SIZE, cursor=cursor, from_=iso_utc(since))
            stats.pages += 1
            seen.update((s.run_id, s) for s in page.runs if s.run_id in wanted)
            if status == FINAL_FROM_SUMMARY and any(s.status != status for s in page.runs):
                return seen, False  # the API ignored the filter (a completed run stays completed): stop here
            cursor = page.next_cursor
            if not cursor or len(seen) == len(wanted):
                return seen, True
        return seen, False

    def _sweep_failed(self, group: str, exc: Exception) -> None:
        """Count a failed sweep; pause sweeping when the endpoint is missing or keeps failing."""
        t = self.timing
        failures = self._sweep_failures[group] = self._sweep_failures.get(group, 0) + 1
        missing = isinstance(exc, APIStatusError) and exc.status_code in NO_LIST_ENDPOINT_STATUSES
        if missing or failures >= t.sweep_failures_to_pause:
            why = "is not offered by this API" if missing else f"failed {failures} times in a row"
            log.warning(
                "listing running runs (GET /agent_runs) %s (%s); polling runs one by one for the next %.0fs",
                why,
                _describe(exc),
                t.sweep_pause,
            )
            del self._sweep_failures[group]
            self._sweep_paused_until[group] = self.clock.monotonic() + t.sweep_pause
        else:
            log.warning("listing running runs failed (%s); polling the due runs one by one", _describe(exc))

    async def _poll_one(self, entry: _Entry, stats: _Counter) -> None:
        """Read one job and take the reading in; never raises (failures back off or quarantine)."""
        try:
            await self._read_one(entry, stats)
        except Exception as exc:
            entry.failures += 1
            if entry.failures >= self.timing.quarantine_after:
                reason = f"reading it failed {entry.failures} times in a row ({type(exc).__name__})"
                self._quarantine(entry, reason, stats, exc)
            else:
                self._backoff(entry, exc)

    async def _read_one(self, entry: _Entry, stats: _Counter) -> None:
        if entry.dropped:  # its lease was lost while the cycle was under way
            return
        try:
            async with self._limiter:
                snapshot = await self.fetch(entry.record)
            stats.fetches += 1
        except InvalidInputError as exc:
            # Our own check refused the id before any request: it will never work.
            self._quarantine(entry, f"its id cannot be used in a request ({exc.rule})", stats, exc)
            return
        except NotFoundError:
            snapshot = not_found_snapshot(entry.record.snapshot, clock=self.clock)
        except APIError as exc:
            self._backoff(entry, exc)
            return
        except MissingKeyError as exc:
            self._backoff(entry, exc)
            return
        self._apply(entry, snapshot, stats)
        entry.failures = 0

    def _quarantine(self, entry: _Entry, reason: str, stats: _Counter, exc: Exception) -> None:
        record = entry.record
        log.warning("stopped following job %s: %s", _short(record.job_id), reason)
        log.debug("why job %s was quarantined", _short(record.job_id), exc_info=exc)
        snapshot = quarantined_snapshot(record.kind, record.job_id, reason, previous=record.snapshot, clock=self.clock)
        self._apply(entry, snapshot, stats)

    async def fetch(self, record: JobRecord) -> JobSnapshot:
        """Read a job's current state from its service."""
        if record.kind == "mosaic_run":
            if self.mosaic is None:
                raise MissingKeyError("Mosaic")
            return from_run(record.job_id, await self.mosaic.get_run(record.job_id), clock=self.clock)
        if self.motion is None:
            raise MissingKeyError("Motion")
        session = await self.motion.get_session(record.job_id)
        # The newest record after the read: a follow-up that kept the id while this read was under way
        # has replaced it, and its mark says which render is the previous one.
        newest = self.followed(record.job_id) or record
        return from_session(session, replaces=newest.snapshot.replaces_render, clock=self.clock)

    async def read(self, record: JobRecord) -> JobSnapshot:
        """`fetch`, except that a job the service no longer knows (404) reads as settled `not_found`."""
        try:
            return await self.fetch(record)
        except NotFoundError:
            return not_found_snapshot(record.snapshot, clock=self.clock)

    async def apply(self, record: JobRecord, snapshot: JobSnapshot) -> JobRecord:
        """Record a freshly read snapshot of any job: journal, then notify if it changed."""
        entry = self._entries.get(record.job_id) or _Entry(record, self.clock.monotonic(), self._first_interval())
        stats = _Counter()
        self._apply(entry, snapshot, stats)
        await self._commit(stats.changed_records)
        return entry.record

    def _apply(self, entry: _Entry, snapshot: JobSnapshot, stats: _Counter) -> None:
        """Take a new reading into memory and reschedule; changed jobs are committed by the caller."""
        record = entry.record
        if record.snapshot.settled and not snapshot.settled:
            # Reads overlap (the cycle's and poll_job's): this one was taken before the reading that settled the
            # job and arrived after it. A job is only reopened by a new start (`JobService.started`), never here.
            return
        entry.summary = None  # a reading from elsewhere: the next list summary is compared afresh
        changed = snapshot.fingerprint() != record.snapshot.fingerprint()
        if snapshot.settled:
            self._entries.pop(record.job_id, None)
            for settled_meanwhile in self._settling:
                settled_meanwhile.add(record.job_id)
        else:
            self._reschedule(entry, changed, paused=snapshot.pending_user_input)
            snapshot.next_poll_after_seconds = round(entry.interval, 1)
        record.snapshot = snapshot
        if changed:
            stats.changed_records.append(record)

    async def _commit(self, records: list[JobRecord]) -> None:
        """Journal every change in one transaction, then announce each (journal first, then notify).

        Changes the journal cannot take stay in memory (served by `followed`) and are written again
        on the next cycle; they are announced once written. Local waiters (`wait_for_change`) read
        from memory, so they are woken at once either way.
        """
        for record in records:
            self._unsaved[record.job_id] = record
        if self._unsaved:
            await self._flush()
        for record in records:
            event = self._changed.pop(record.job_id, None)
            if event is not None:
                event.set()

    async def _flush(self) -> None:
        """Write every unsaved change in one transaction; announce the written ones.

        Writes take turns (`_writing`), each taking the newest snapshots once its turn comes: two
        overlapping flushes (a cycle's and `poll_job`'s) once raced to the database, and the older
        reading, landing last, put a settled job back to running in the journal.
        """
        async with self._writing:
            pending = await self._write_unsaved()
        if not pending:
            return
        if self.on_changes is not None:
            try:
                await self.on_changes([record for record, _ in pending])
            except Exception as exc:
                _report(f"announcing the change of {len(pending)} job(s) failed", exc)
        if self.on_change is not None:
            for record, _ in pending:
                try:
                    await self.on_change(record)
                except Exception as exc:
                    _report(f"announcing the change of job {_short(record.job_id)} failed", exc)

    async def _write_unsaved(self) -> list[tuple[JobRecord, JobSnapshot]]:
        """Journal the unsaved changes as they are now; the ones written (none when the journal failed)."""
        pending = [(r, r.snapshot) for r in self._unsaved.values()]
        if not pending:
            return []
        try:
            await self.journal.save_snapshots([(r.job_id, snap) for r, snap in pending])
        except Exception as exc:
            self._journal_retry_at = self.clock.monotonic() + self.timing.journal_retry
            if not self._journal_failing:
                self._journal_failing = True
                log.warning(
                    "could not write the job journal in %s (%s): %d job change(s) kept in memory and written again "
                    "every %.0fs; free space in (or fix the permissions of) %s",
                    self.journal.where,
                    _journal_reason(exc),
                    len(pending),
                    self.timing.journal_retry,
                    self.journal.where,
                )
            else:
                log.debug("the job journal still cannot be written (%s)", _journal_reason(exc))
            return []
        if self._journal_failing:
            self._journal_failing = False
            log.warning(
                "the job journal in %s is writable again; %d job change(s) saved", self.journal.where, len(pending)
            )
        for record, snapshot in pending:
            if self._unsaved.get(record.job_id) is record and record.snapshot is snapshot:
                del self._unsaved[record.job_id]
        return pending

    def _first_interval(self) -> float:
        return next_interval(PollEvent("first"), self.timing)

    def _reschedule(self, entry: _Entry, changed: bool, *, paused: bool) -> None:
        event = PollEvent(
            "changed" if changed else "unchanged",
            interval=entry.interval,
            watched=entry.watchers > 0,
            viewed_ago=self.clock.wall() - entry.record.viewed_at,
            paused=paused,
        )
        entry.interval = next_interval(event, self.timing)
        entry.due = self.clock.monotonic() + entry.interval

    def _backoff(self, entry: _Entry, exc: Exception) -> None:
        retry_after = exc.retry_after if isinstance(exc, RateLimitedError) else None
        event = PollEvent(failure_outcome(exc), interval=entry.interval, retry_after=retry_after)
        entry.interval = next_interval(event, self.timing)
        entry.due = self.clock.monotonic() + entry.interval
        log.warning(
            "polling %s failed (%s); next try in %.0fs", _short(entry.record.job_id), _describe(exc), entry.interval
        )
        if not isinstance(exc, APIError | MissingKeyError):  # an expected failure needs no traceback
            log.debug("polling %s failed", _short(entry.record.job_id), exc_info=exc)


def _final(summary: RunSummary) -> bool:
    """Whether a list summary is a run's whole final state: completed, with its outputs (an API whose
    list left them out must not settle a run with none)."""
    return summary.status == FINAL_FROM_SUMMARY and bool(summary.outputs)


def _by_list(poller: Poller, entries: list[_Entry]) -> dict[str, list[_Entry]]:
    groups: dict[str, list[_Entry]] = {}
    for entry in entries:
        groups.setdefault(poller.list_group(entry.record), []).append(entry)
    return groups


def scope_of(record: JobRecord) -> str:
    """The lease scope a job belongs to: the key (token mode) or the person (remote modes) it was started for."""
    return record.key_fingerprint


@dataclass
class _Counter:
    pages: int = 0
    fetches: int = 0
    changed_records: list[JobRecord] = field(default_factory=list)


def _summary_key(summary: RunSummary) -> SummaryKey:
    """What of a list summary a snapshot is built from (not the clock-like `updated_at`)."""
    counts = summary.node_status_counts
    outputs = tuple((o.id, o.video_url, o.completed_at) for o in summary.outputs)
    return (summary.status, summary.status_message, counts.completed, counts.in_progress, counts.failed, outputs)


def _short(job_id: str, limit: int = 80) -> str:
    """A job id fit for a log line: a hostile id can be long or hold line breaks."""
    shown = job_id if job_id.isprintable() else repr(job_id)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _describe(exc: BaseException) -> str:
    """What failed, without the upstream's own words (they may echo a key): class and status code."""
    if isinstance(exc, APIStatusError):
        return f"{type(exc).__name__} {exc.status_code}"
    return type(exc).__name__


def _journal_reason(exc: BaseException) -> str:
    if isinstance(exc, database_errors()):
        return str(exc) or type(exc).__name__  # the database's own words: "database or disk is full", ...
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


def _report(what: str, exc: BaseException) -> None:
    """A warning without secrets or a traceback (the traceback goes to debug)."""
    log.warning("%s (%s); going on", what, _describe(exc))
    log.debug("%s", what, exc_info=exc)
