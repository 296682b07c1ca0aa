"""Jobs as the tools see them: start tracking, look up, refresh, wait, list.

This is where a job's life is decided once, below the tools: every started run or session is
journaled before anything else happens, then followed by the poller and announced.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import anyio
from mcp.server.session import ServerSession

from ..api.errors import APIError, APIStatusError, MissingKeyError, NotFoundError
from ..api.mosaic import MosaicClient
from .clock import SYSTEM_CLOCK, Clock
from .fanout import Fanout
from .intents import UNRESOLVED_STATES, UNRESOLVED_VISIBLE_SECONDS, Intent, UnresolvedStart
from .journal import JobRecord, Journal
from .notify import Notifier
from .poller import Poller
from .snapshot import JobKind, JobSnapshot, pending_snapshot, previous_render, resource_uri

log = logging.getLogger("mosaic_mcp.jobs")

Progress = Callable[[JobSnapshot, float], Awaitable[None]]

URL_REFRESH_AFTER_SECONDS = 3600.0
"""A settled job's stored snapshot is re-read after this long: its signed URLs may be expiring."""

HEARTBEAT_SECONDS = 5.0  # progress at least this often while waiting: some hosts reset time-outs on it

TOUCH_EVERY_SECONDS = 60.0
"""`viewed_at` only matters against the poller's 10-minute idle rule: no need to write it per call."""


class JobError(Exception):
    """A job-level request that cannot be served; the message says why and what to do."""


class UnknownJobError(JobError):
    """No tracked job (nor any run or session the keys can see) has this id."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(
            f"job_id: no job '{job_id}' is known; use list_jobs to see tracked jobs "
            "(ids come from run_agent or create_video_session)"
        )


class NotCancellableError(JobError):
    """Motion sessions have no cancel endpoint."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(
            f"job_id: '{job_id}' is a Motion session, and the Motion API offers no way to cancel one; "
            "it will finish on its own (poll_job shows when)"
        )


class JobService:
    """Journal + poller + notifier behind one small interface."""

    def __init__(
        self,
        journal: Journal,
        poller: Poller,
        notifier: Notifier,
        fingerprints: dict[JobKind, str],
        *,
        clock: Clock = SYSTEM_CLOCK,
        mosaic: MosaicClient | None = None,
        scoped: bool = False,
        fanout: Fanout | None = None,
    ) -> None:
        self.scoped = scoped
        """Remote modes: only jobs of `fingerprints` exist for this service; another owner's id is "not found"."""
        self.journal = journal
        self.clock = clock
        self.poller = poller
        self.notifier = notifier
        self.fingerprints = fingerprints
        self.mosaic = mosaic
        """The Mosaic client runs are cancelled through (none: cancelling needs a key)."""
        self.started_at = clock.wall()
        """When this service started: a reading older than that was signed by an earlier process."""
        self.fanout = fanout or Fanout()
        """The other replicas: told about jobs started here; `wait` hears their changes of jobs polled there."""

    async def started(
        self,
        kind: JobKind,
        job_id: str,
        *,
        status: str,
        summary: dict[str, Any],
        parent_job_id: str | None = None,
        session: ServerSession | None = None,
        intent: Intent | None = None,
    ) -> JobRecord:
        """Journal a job that was just created upstream, follow it, and announce it.

        With the `intent` it was started under, the job is journaled and the intent closed in one
        transaction. `session` is the caller's connection: 2025-era clients hear about later jobs
        through it. If the journal cannot be written now, the job is still followed in memory and
        the error propagates after that; its intent stays open, so a restart reconciles it.
        """
        await self.refuse_foreign(job_id)  # never let one person's start overwrite another's job
        if session is not None:
            self.notifier.remember(session)
        now = self.clock.wall()
        snapshot = pending_snapshot(kind, job_id, status, clock=self.clock)
        if parent_job_id == job_id:
            # A follow-up that kept its parent's id: the session may still show the previous render.
            parent = self.poller.followed(job_id) or await self.journal.get(job_id)
            requested_at = intent.started_at if intent is not None else now
            snapshot.replaces_render = previous_render(parent.snapshot if parent else None, requested_at)
        record = JobRecord(
            job_id=job_id,
            kind=kind,
            key_fingerprint=self.fingerprints[kind],
            snapshot=snapshot,
            request_summary=summary,
            created_at=now,
            updated_at=now,
            viewed_at=now,
            parent_job_id=parent_job_id,
        )
        added = True  # if the journal cannot say, the job may be new: announce it
        try:
            if intent is not None:
                added = await self.journal.finish_intent(intent, record)
            elif not (added := await self.journal.add(record)):
                # Already journaled: a follow-up that reuses its parent's id makes the job live again.
                await self.journal.save_snapshot(job_id, record.snapshot)
        finally:
            self.poller.track(record)
            if added:  # the set of job resources changed; a revision under the same id is `updated`
                await self.notifier.list_changed()
            await self.fanout.job_added(record.key_fingerprint, job_id, new=added)
        return record

    async def unresolved(self, limit: int = 20) -> list[UnresolvedStart]:
        """Starts of the configured keys that may have created something nobody follows."""
        since = self.clock.wall() - UNRESOLVED_VISIBLE_SECONDS
        fingerprints = sorted(set(self.fingerprints.values()))
        found = await self.journal.intents(UNRESOLVED_STATES, fingerprints=fingerprints, since=since)
        return [UnresolvedStart.of(intent) for intent in found[:limit]]

    async def get(self, job_id: str) -> JobRecord:
        """A tracked job; a run or session the keys can see but we never tracked is adopted."""
        record = self.poller.followed(job_id) or await self.journal.get(job_id)
        if record is not None:
            if not self.owns(record):
                raise UnknownJobError(job_id)  # the same answer as for a job that does not exist
            return record
        for kind in ("mosaic_run", "motion_session"):
            now = self.clock.wall()
            pending = pending_snapshot(kind, job_id, "unknown", clock=self.clock)
            fingerprint = self.fingerprints[kind]
            probe = JobRecord(job_id, kind, fingerprint, pending, created_at=now, updated_at=now, viewed_at=now)
            try:
                snapshot = await self.poller.fetch(probe)
            except (NotFoundError, MissingKeyError):
                continue
            probe.snapshot = snapshot
            probe.request_summary = {"adopted": True}
            await self.journal.add(probe)
            self.poller.track(probe)
            await self.notifier.list_changed()
            await self.fanout.job_added(fingerprint, job_id)
            return probe
        raise UnknownJobError(job_id)

    async def refresh(self, job_id: str, *, force: bool = False) -> JobRecord:
        """Read the job from its service now.

        A settled job is served from the journal while its last reading is recent; with `force`, or
        once that reading is old enough for its signed URLs to be near expiry, it is read again and
        the fresh URLs are saved.
        """
        record = await self.get(job_id)
        await self._touch(record)
        if not record.snapshot.settled:
            return await self.poller.apply(record, await self.poller.read(record))
        if not force and self._still_fresh(record):
            return record
        record.snapshot = await self.poller.read(record)
        try:
            await self.journal.save_snapshot(job_id, record.snapshot)
            record.updated_at = self.clock.wall()
        except self.journal.errors as exc:  # the fresh reading is still served; the journal keeps the older one
            log.warning("could not save a fresh reading of job %s in the journal (%s)", job_id[:40], exc)
        return record

    def _still_fresh(self, record: JobRecord) -> bool:
        """A settled reading is served as it is while it is recent and this process saved it.

        Links read before a restart may point at a service that moved (the sandbox on another port)
        or expire soon, so the first look after a restart reads the job again: one GET per job.
        """
        if record.updated_at < self.started_at:
            return False
        return _age_seconds(record.snapshot.checked_at, self.clock.wall()) < URL_REFRESH_AFTER_SECONDS

    async def _touch(self, record: JobRecord) -> None:
        """Note that someone asked about the job; written at most once a minute per job."""
        now = self.clock.wall()
        if now - record.viewed_at >= TOUCH_EVERY_SECONDS:
            record.viewed_at = now
            try:
                await self.journal.touch(record.job_id)
            except self.journal.errors as exc:  # only a polling hint: the call must not fail for it
                log.warning("could not note a view of job %s in the journal (%s)", record.job_id[:40], exc)

    async def wait(self, job_id: str, seconds: float, on_progress: Progress | None = None) -> JobRecord:
        """Refresh, then wait up to `seconds` for the job to settle, reporting each change.

        A job waiting for a person the API cannot reach (`pending_user_input`) is returned at once:
        waiting would only use up the caller's time. A job another replica polls (this one's poller does
        not follow it) is waited for through the fan-out: each change the other replica reports (or a
        heartbeat) re-reads it from the journal.
        """
        deadline = anyio.current_time() + seconds  # the refresh counts: the call's deadline is max wait + margin
        record = await self.refresh(job_id)
        if on_progress is not None:
            await on_progress(record.snapshot, 0.0)
        while not record.snapshot.settled and not record.snapshot.pending_user_input:
            remaining = deadline - anyio.current_time()
            if remaining <= 0:
                break
            self.poller.track(record)
            if self.poller.next_poll_after(job_id) is None:  # not followed here: another replica polls it
                record = await self._wait_elsewhere(record, min(remaining, HEARTBEAT_SECONDS))
            else:
                await self.poller.wait_for_change(job_id, min(remaining, HEARTBEAT_SECONDS))
                record = await self.get(job_id)
            if on_progress is not None:
                await on_progress(record.snapshot, seconds - max(deadline - anyio.current_time(), 0.0))
        return record

    async def _wait_elsewhere(self, seen: JobRecord, seconds: float) -> JobRecord:
        """The job as the journal has it once it differs from `seen`: after the next change a peer reports
        (or `seconds`). Watched before the journal is read, so a change reported in between is not missed.
        """
        with self.fanout.watch(seen.job_id) as changed:
            record = await self.get(seen.job_id)
            if record.snapshot.fingerprint() == seen.snapshot.fingerprint():
                with anyio.move_on_after(seconds):
                    await changed.wait()
                record = await self.get(seen.job_id)
        return record

    async def cancel(self, job_id: str) -> JobRecord:
        """Cancel a Mosaic run and return its refreshed state."""
        record = await self.get(job_id)
        if record.kind != "mosaic_run":
            raise NotCancellableError(job_id)
        if record.snapshot.settled:
            return record
        if self.mosaic is None:
            raise MissingKeyError("Mosaic")
        try:
            await self.mosaic.cancel_run(job_id)
        except APIStatusError as refused:
            # Which 4xx a finished run answers is undocumented (409, 400, 422…): whatever it is, a run
            # that has ended by now is reported as it ended, a normal result; anything else is the refusal.
            if not 400 <= refused.status_code < 500:
                raise
            try:
                ended = await self.refresh(job_id, force=True)
            except APIError:
                raise refused from None
            if not ended.snapshot.settled:
                raise refused
            return ended
        return await self.refresh(job_id)

    async def tracked(self, job_id: str) -> JobRecord | None:
        """A job this server tracks (never adopted from upstream), noted as looked at; None if not tracked."""
        record = self.poller.followed(job_id) or await self.journal.get(job_id)
        if record is not None and not self.owns(record):
            return None
        if record is not None:
            await self._touch(record)
        return record

    async def serves(self, uri: str) -> bool:
        """Whether `uri` is the resource URI of a tracked job."""
        for kind in ("mosaic_run", "motion_session"):
            prefix = resource_uri(kind, "")
            if uri.startswith(prefix) and len(uri) > len(prefix):
                record = self.poller.followed(uri[len(prefix) :]) or await self.journal.get(uri[len(prefix) :])
                return record is not None and self.owns(record) and record.snapshot.resource_uri == uri
        return False

    async def refuse_foreign(self, job_id: str) -> None:
        """Raise UnknownJobError when `job_id` is another owner's job (`scoped` only): before acting on it upstream."""
        if not self.scoped:
            return
        record = self.poller.followed(job_id) or await self.journal.get(job_id)
        if record is not None and not self.owns(record):
            raise UnknownJobError(job_id)

    def owns(self, record: JobRecord) -> bool:
        """Whether `record` is one of this service's jobs (always, unless `scoped`)."""
        return not self.scoped or record.key_fingerprint in self.fingerprints.values()

    async def recent(self, limit: int = 50, *, active_only: bool = False) -> list[JobRecord]:
        """Tracked jobs of the configured keys, newest first (only unsettled ones with `active_only`)."""
        fingerprints = sorted(set(self.fingerprints.values()))
        return await self.journal.recent(limit=limit, fingerprints=fingerprints, active_only=active_only)


def _age_seconds(iso_time: str, now: float) -> float:
    """Seconds from `iso_time` to `now` (epoch); unreadable times count as infinitely old."""
    try:
        then = datetime.fromisoformat(iso_time.replace("Z", "+00:00"))
    except ValueError:
        return float("inf")
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return now - then.timestamp()
