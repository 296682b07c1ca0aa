"""Every request that creates a job or moves money, write-ahead: intent first, then the request.

`Starts` is the one way the tools start runs, Motion sessions and follow-ups, buy credits and
change plans. Each call journals an intent before anything leaves (a journal that cannot be written
stops it there: nothing is sent), sends the request, and closes the intent by what happened:

- a job came back → it is journaled and the intent closed in one transaction, then followed;
- the service refused (4xx, missing key, bad input) → `failed`: nothing exists, nothing is owed;
- the outcome cannot be known (no answer, a 5xx, an unreadable body, a cancelled call) → for a run,
  reconciliation adopts a run it can prove is ours; otherwise `may_exist`, and the error tells the
  user what may exist, how to check, and not to send it again;
- the service answered with an id that cannot be used → `quarantined`, with the raw answer noted.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from mcp.server.session import ServerSession

from ..api.errors import InvalidInputError, MosaicMCPError, OutcomeUnknownError
from ..api.models import AgentDetail, CreditPurchase, MotionJobAccepted, PlanUpgrade
from ..api.mosaic import MosaicClient
from ..api.motion import MotionClient
from ..api.requests import FollowupRequest, MotionSessionRequest, RunRequest
from ..api.validation import check_id
from ..preflight import start_run
from .clock import SYSTEM_CLOCK, Clock
from .intents import Intent, IntentAction, IntentState
from .journal import JobRecord, Journal, JournalWriteError
from .service import JobError, JobService
from .snapshot import JobKind

log = logging.getLogger("mosaic_mcp.jobs")

REPLICA_DETAIL = "replica"
"""The intent detail naming the replica that opened it (only when replicas share a database)."""


class UnusableAnswerError(JobError):
    """The service accepted the request but answered with an id this server cannot use."""


@dataclass
class Started:
    """A job that was created upstream and is now tracked, plus what the user should know."""

    record: JobRecord
    warnings: list[str] = field(default_factory=list)


class Starts:
    """Write-ahead starts of jobs and payments (see the module docstring)."""

    def __init__(
        self,
        journal: Journal,
        jobs: JobService,
        mosaic: MosaicClient,
        motion: MotionClient,
        fingerprints: dict[JobKind, str],
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.journal = journal
        self.clock = clock
        self.jobs = jobs
        self.mosaic = mosaic
        self.motion = motion
        self.fingerprints = fingerprints
        self.in_flight: set[str] = set()
        """Intents of requests this process is sending right now (the reconciler leaves them alone)."""
        self.replica: str | None = None
        """With replicas sharing a database: this one's lease holder id, stamped on each intent it opens
        (`details["replica"]`), so another replica's reconciler leaves it alone while this one lives."""

    # ------------------------------------------------------------------ jobs

    async def run_agent(
        self, agent: AgentDetail, request: RunRequest, *, summary: dict[str, Any], session: ServerSession | None
    ) -> Started:
        """Start a run of `agent` (pre-flight already passed); reconciled if its answer is lost."""
        details = {"request": request.to_body(), "summary": summary}
        async with self._intent("run_agent", "mosaic_run", agent.agent.id, details) as intent:
            created = await start_run(self.mosaic, agent, request, known=self.journal.known_job_ids)
            return await self._track(intent, "mosaic_run", created.run_id, "running", summary, None, session)

    async def create_session(
        self, request: MotionSessionRequest, *, summary: dict[str, Any], session: ServerSession | None
    ) -> Started:
        """Start a Motion session."""
        details = {"summary": summary}
        async with self._intent("create_video_session", "motion_session", None, details) as intent:
            accepted = await self.motion.create_session(request)
            return await self._accepted(intent, accepted, summary, None, session)

    async def followup(
        self, job_id: str, request: FollowupRequest, *, summary: dict[str, Any], session: ServerSession | None
    ) -> Started:
        """Ask Motion to revise session `job_id`."""
        details = {"summary": summary}
        async with self._intent("followup_video_session", "motion_session", job_id, details) as intent:
            accepted = await self.motion.create_followup(job_id, request)
            return await self._accepted(intent, accepted, summary, job_id, session)

    # ------------------------------------------------------------------ money

    async def buy_credits(self, credits: float, success_url: str | None, cancel_url: str | None) -> CreditPurchase:
        """Buy Mosaic credits (consent was given by the caller)."""
        details = {"credits": credits}
        async with self._intent("buy_credits", "mosaic_run", None, details) as intent:
            try:
                purchase = await self.mosaic.buy_credits(credits, success_url=success_url, cancel_url=cancel_url)
            except OutcomeUnknownError as exc:
                raise OutcomeUnknownError(unknown_purchase_message(credits, str(exc)), service="Mosaic") from None
            await self._close(intent, "done", "purchase answered")
            return purchase

    async def upgrade_plan(self, plan_id: str, success_url: str | None, cancel_url: str | None) -> PlanUpgrade:
        """Change the Mosaic plan (consent was given by the caller); a lost answer is checked with GET /plan."""
        async with self._intent("upgrade_plan", "mosaic_run", plan_id, {"plan_id": plan_id}) as intent:
            try:
                upgrade = await self.mosaic.upgrade_plan(plan_id, success_url=success_url, cancel_url=cancel_url)
            except OutcomeUnknownError as exc:
                if await plan_is(self.mosaic, plan_id):
                    await self._close(intent, "done", f"the plan is now {plan_id}")
                    return PlanUpgrade(success=True, plan_id=plan_id)
                raise OutcomeUnknownError(unknown_plan_message(plan_id, str(exc)), service="Mosaic") from None
            await self._close(intent, "done", "plan change answered")
            return upgrade

    # ------------------------------------------------------------------ the write-ahead frame

    @asynccontextmanager
    async def _intent(
        self, action: IntentAction, kind: JobKind, target: str | None, details: dict[str, Any]
    ) -> AsyncIterator[Intent]:
        """Journal the intent (nothing is sent if that fails), then close it by how the request ended."""
        fingerprint = self.fingerprints[kind]
        if self.replica is not None:
            details = {**details, REPLICA_DETAIL: self.replica}
        intent = Intent(action, fingerprint, target, details, started_at=self.clock.wall())
        try:
            await self.journal.open_intent(intent)
        except JournalWriteError as exc:
            raise JobError(f"{exc} Nothing was sent, so nothing was started or charged.") from None
        self.in_flight.add(intent.intent_id)
        try:
            yield intent
        except OutcomeUnknownError as exc:
            # A run stays open: the reconciler keeps looking for it and adopts it once it is provable.
            if action != "run_agent":
                await self._close(intent, "may_exist", str(exc))
            raise
        except UnusableAnswerError:
            raise  # closed as quarantined where it was found
        except MosaicMCPError:
            # Refused before or by the service (4xx, bad input, no key, never sent): nothing exists.
            await self._close(intent, "failed", None)
            raise
        # A cancelled call or an unexpected error leaves the intent open for the reconciler.
        finally:
            self.in_flight.discard(intent.intent_id)

    async def _close(self, intent: Intent, state: IntentState, outcome: str | None) -> None:
        if intent.state != "open":
            return
        try:
            await self.journal.close_intent(intent, state, outcome)
        except JournalWriteError as exc:  # it stays open: the reconciler settles it later
            log.warning("could not close intent %s: %s", intent.intent_id, exc)

    async def _accepted(
        self,
        intent: Intent,
        accepted: MotionJobAccepted,
        summary: dict[str, Any],
        parent: str | None,
        session: ServerSession | None,
    ) -> Started:
        return await self._track(intent, "motion_session", accepted.job_id, accepted.status, summary, parent, session)

    async def _track(
        self,
        intent: Intent,
        kind: JobKind,
        job_id: str,
        status: str,
        summary: dict[str, Any],
        parent: str | None,
        session: ServerSession | None,
    ) -> Started:
        """Journal the new job under its intent; an unusable id is quarantined, never tracked."""
        try:
            check_id("job_id", job_id)
        except InvalidInputError:
            note = unusable_id_message(kind, job_id)
            await self._close(intent, "quarantined", note)
            raise UnusableAnswerError(note) from None
        try:
            record = await self.jobs.started(
                kind, job_id, status=status, summary=summary, parent_job_id=parent, session=session, intent=intent
            )
        except JournalWriteError as exc:
            record = self.jobs.poller.followed(job_id) or await self.jobs.get(job_id)
            warning = (
                f"The job was started and is followed while this server runs, but it could not be journaled: {exc} "
                f"Note its id ({job_id}); after a restart the server finds it again once the journal can be written."
            )
            return Started(record, [warning])
        return Started(record)


async def plan_is(mosaic: MosaicClient, plan_id: str) -> bool:
    """Whether the organization's current plan is `plan_id` (False when that cannot be read)."""
    try:
        info = await mosaic.get_plan()
    except MosaicMCPError:
        return False
    return info.plan is not None and info.plan.id == plan_id


def unknown_purchase_message(credits: float, cause: str) -> str:
    """A credit purchase whose outcome is unknown: it may have been charged."""
    return (
        f"The purchase of {credits:g} credits was sent, but its outcome is unknown ({cause}). The organization "
        "may have been charged. Do NOT buy again: first check the balance (check_credits) and the billing page "
        "in the Mosaic editor."
    )


def unknown_plan_message(plan_id: str, cause: str) -> str:
    """A plan change whose outcome is unknown."""
    return (
        f"The change to plan {plan_id} was sent, but its outcome is unknown ({cause}), and the plan does not "
        "show it yet. It may still go through and be charged. Do NOT send it again: check get_plan in a "
        "minute and the billing page in the Mosaic editor."
    )


def unusable_id_message(kind: JobKind, job_id: str) -> str:
    """The service started something but its id cannot be used in a URL."""
    shown = repr(job_id[:80]) + ("…" if len(job_id) > 80 else "")
    what = "a Mosaic run" if kind == "mosaic_run" else "a Motion session"
    where = "the Mosaic editor" if kind == "mosaic_run" else "the Motion web app"
    return (
        f"The service accepted the request for {what} but answered with an id this server cannot use ({shown}). "
        f"The job probably exists and may be charged: find it in {where}; do not start it again. "
        "Please report this answer to the service."
    )
