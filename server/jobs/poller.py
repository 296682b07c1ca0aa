"""The poller: one background task that follows every unsettled job and reports changes.

Each job has its own due time. The interval starts short, grows while nothing changes, and is
reset on a change; jobs nobody asked about for a while are polled more slowly still. When more
than a few Mosaic runs are live, one sweep of the list endpoint (`GET /agent_runs?status=running`,
100 per page) replaces per-run requests: runs still in the list are updated from their summary,
and only runs that left it (they finished) are fetched one by one. Motion has no list endpoint,
so its sessions are polled one by one. A change is written to the journal first, then announced.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import anyio

from ..api.errors import (
    APIError,
    AuthenticationError,
    MissingKeyError,
    NotFoundError,
    RateLimitedError,
)
from ..api.models import RUN_TERMINAL_STATUSES, RunSummary
from ..api.mosaic import MosaicClient
from ..api.motion import MotionClient
from .journal import JobRecord, Journal
from .snapshot import JobSnapshot, from_run, from_session

log = logging.getLogger("mosaic_mcp.poller")

OnChange = Callable[[JobRecord], Awaitable[None]]

SWEEP_CLOCK_SLACK_SECONDS = 3600.0
"""The sweep lists runs created since our oldest live run, by our clock; this much slack keeps a
skewed local clock from hiding our runs (the status filter keeps the pages few anyway)."""


@dataclass(frozen=True)
class PollTiming:
    """Intervals in seconds; tests shrink them, nothing else changes."""

    initial: float = 2.0
    growth: float = 1.5
    cap: float = 30.0
    idle_cap: float = 120.0
    idle_after: float = 600.0
    sweep_threshold: int = 3
    sweep_max_pages: int = 10
    concurrency: int = 8
    adopt_every: float = 30.0


@dataclass
class _Entry:
    record: JobRecord
    due: float
    interval: float
    watchers: int = 0


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
        on_change: OnChange,
        timing: PollTiming | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.journal = journal
        self.mosaic = mosaic
        self.motion = motion
        self.on_change = on_change
        self.timing = timing or PollTiming()
        self.clock = clock
        self.last_cycle = CycleStats()
        self._entries: dict[str, _Entry] = {}
        self._changed: dict[str, anyio.Event] = {}
        self._wake = anyio.Event()
        self._limiter = anyio.CapacityLimiter(self.timing.concurrency)
        self._adopted_at = float("-inf")

    # ------------------------------------------------------------------ scheduling

    def track(self, record: JobRecord) -> None:
        """Follow a job (idempotent); it is polled on the next cycle."""
        if record.snapshot.settled:
            return
        if record.job_id not in self._entries:
            self._entries[record.job_id] = _Entry(record, self.clock(), self.timing.initial)
        self.wake(record.job_id)

    def wake(self, job_id: str | None = None) -> None:
        """Poll a job (or just re-plan) now, e.g. after a webhook or when someone waits on it."""
        entry = self._entries.get(job_id) if job_id else None
        if entry is not None:
            entry.due = self.clock()
            entry.interval = self.timing.initial
        self._wake.set()

    @property
    def live_count(self) -> int:
        """How many jobs are being followed."""
        return len(self._entries)

    def followed(self, job_id: str) -> JobRecord | None:
        """The in-memory record of a job being followed (fresher than the journal), else None."""
        entry = self._entries.get(job_id)
        return None if entry is None else entry.record

    def next_poll_after(self, job_id: str) -> float | None:
        """Seconds until the poller looks at this job again (None when not followed)."""
        entry = self._entries.get(job_id)
        return None if entry is None else round(max(entry.due - self.clock(), 0.0) + 0.0, 1)

    async def wait_for_change(self, job_id: str, seconds: float) -> bool:
        """Wait until the job changes (True) or `seconds` pass (False); keeps its polling brisk."""
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
        """Poll forever (cancel the surrounding task group to stop)."""
        await self._adopt()
        task_status.started()
        while True:
            now = self.clock()
            if now - self._adopted_at >= self.timing.adopt_every:
                await self._adopt()
            due = [e for e in self._entries.values() if e.due <= now]
            if due:
                await self.cycle(due)
                continue
            wait = min((e.due for e in self._entries.values()), default=now + self.timing.adopt_every) - now
            with anyio.move_on_after(max(wait, 0.0)):
                await self._wake.wait()
            self._wake = anyio.Event()

    async def _adopt(self) -> None:
        """Pick up unsettled jobs from the journal (after a restart, or started by another process)."""
        self._adopted_at = self.clock()
        for record in await self.journal.live():
            if record.job_id not in self._entries:
                self._entries[record.job_id] = _Entry(record, self.clock(), self.timing.initial)

    async def cycle(self, due: list[_Entry] | None = None) -> CycleStats:
        """Poll the due jobs once (all followed jobs when `due` is None)."""
        due = list(self._entries.values()) if due is None else due
        stats = _Counter()
        runs = [e for e in due if e.record.kind == "mosaic_run"]
        sessions = [e for e in due if e.record.kind == "motion_session"]
        live_runs = [e for e in self._entries.values() if e.record.kind == "mosaic_run"]
        async with anyio.create_task_group() as tg:
            if runs and len(live_runs) > self.timing.sweep_threshold and self.mosaic is not None:
                tg.start_soon(self._sweep, live_runs, stats)
            else:
                for entry in runs:
                    tg.start_soon(self._poll_one, entry, stats)
            for entry in sessions:
                tg.start_soon(self._poll_one, entry, stats)
        await self._commit(stats.changed_records)
        self.last_cycle = CycleStats(stats.pages, stats.fetches, len(stats.changed_records))
        return self.last_cycle

    async def _sweep(self, entries: list[_Entry], stats: _Counter) -> None:
        assert self.mosaic is not None
        wanted = {e.record.job_id: e for e in entries}
        since = min(e.record.created_at for e in entries) - SWEEP_CLOCK_SLACK_SECONDS
        seen: dict[str, RunSummary] = {}
        cursor: str | None = None
        complete = False
        try:
            for _ in range(self.timing.sweep_max_pages):
                async with self._limiter:
                    page = await self.mosaic.list_runs(status="running", limit=100, cursor=cursor, from_=_iso(since))
                stats.pages += 1
                seen.update((s.run_id, s) for s in page.runs if s.run_id in wanted)
                cursor = page.next_cursor
                if not cursor:
                    complete = True
                    break
        except APIError as exc:
            log.warning("sweep of running runs failed: %s", exc)
            for entry in entries:
                self._backoff(entry, exc)
            return
        async with anyio.create_task_group() as tg:
            for job_id, entry in wanted.items():
                summary = seen.get(job_id)
                if summary is not None and summary.status not in RUN_TERMINAL_STATUSES:
                    self._apply(entry, from_run(job_id, summary), stats)
                elif summary is not None or complete or entry.due <= self.clock():
                    # Finished (summaries lack needs_credits and errors, so read it whole), left the
                    # running list, or lies beyond the pages we read: fetch it.
                    tg.start_soon(self._poll_one, entry, stats)

    async def _poll_one(self, entry: _Entry, stats: _Counter) -> None:
        try:
            async with self._limiter:
                snapshot = await self.fetch(entry.record)
            stats.fetches += 1
        except NotFoundError:
            snapshot = entry.record.snapshot.model_copy(
                update={
                    "status": "not_found",
                    "settled": True,
                    "errors": ["The service no longer knows this job (404); it may have been deleted."],
                    "next_step": "Nothing more to follow; start a new job if needed.",
                }
            )
        except APIError as exc:
            self._backoff(entry, exc)
            return
        except MissingKeyError as exc:
            self._backoff(entry, exc)
            return
        self._apply(entry, snapshot, stats)

    async def fetch(self, record: JobRecord) -> JobSnapshot:
        """Read a job's current state from its service."""
        if record.kind == "mosaic_run":
            if self.mosaic is None:
                raise MissingKeyError("Mosaic")
            return from_run(record.job_id, await self.mosaic.get_run(record.job_id))
        if self.motion is None:
            raise MissingKeyError("Motion")
        return from_session(await self.motion.get_session(record.job_id))

    async def apply(self, record: JobRecord, snapshot: JobSnapshot) -> JobRecord:
        """Record a freshly read snapshot of any job: journal, then notify if it changed."""
        entry = self._entries.get(record.job_id) or _Entry(record, self.clock(), self.timing.initial)
        stats = _Counter()
        self._apply(entry, snapshot, stats)
        await self._commit(stats.changed_records)
        return entry.record

    def _apply(self, entry: _Entry, snapshot: JobSnapshot, stats: _Counter) -> None:
        """Take a new reading into memory and reschedule; changed jobs are committed by the caller."""
        record = entry.record
        changed = snapshot.fingerprint() != record.snapshot.fingerprint()
        if snapshot.settled:
            self._entries.pop(record.job_id, None)
        else:
            self._reschedule(entry, changed)
            snapshot.next_poll_after_seconds = round(entry.interval, 1)
        record.snapshot = snapshot
        if changed:
            stats.changed_records.append(record)

    async def _commit(self, records: list[JobRecord]) -> None:
        """Journal every change in one transaction, then announce each (journal first, then notify)."""
        if not records:
            return
        await self.journal.save_snapshots([(r.job_id, r.snapshot) for r in records])
        for record in records:
            await self.on_change(record)
            event = self._changed.pop(record.job_id, None)
            if event is not None:
                event.set()

    def _reschedule(self, entry: _Entry, changed: bool) -> None:
        t = self.timing
        if changed or entry.watchers:
            entry.interval = t.initial
        else:
            idle = time.time() - entry.record.viewed_at > t.idle_after
            entry.interval = min(entry.interval * t.growth, t.idle_cap if idle else t.cap)
        entry.due = self.clock() + entry.interval

    def _backoff(self, entry: _Entry, exc: Exception) -> None:
        t = self.timing
        if isinstance(exc, RateLimitedError) and exc.retry_after:
            delay = exc.retry_after
        elif isinstance(exc, AuthenticationError | MissingKeyError):
            delay = t.idle_cap  # nothing will change until the key is fixed
        else:
            delay = min(entry.interval * t.growth * 2, t.cap)
        log.warning("polling %s failed (%s); next try in %.0fs", entry.record.job_id, type(exc).__name__, delay)
        entry.interval = min(max(delay, t.initial), t.idle_cap)
        entry.due = self.clock() + entry.interval


@dataclass
class _Counter:
    pages: int = 0
    fetches: int = 0
    changed_records: list[JobRecord] = field(default_factory=list)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
