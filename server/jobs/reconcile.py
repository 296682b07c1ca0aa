"""The reconciler: settles intents left open by a lost answer, a cancelled call or a dead process.

It runs at start-up and then every little while, and looks only at open intents that no request
of this process is still sending, nor of another live replica: with replicas sharing a database,
each intent names the replica that opened it, and is left to that replica while its liveness lease
is renewed (`Leases.alive`); once it died (its lease expired), any replica settles it. `settle_after`
alone would not do: Motion, credit and plan intents are settled at once, so another replica could
close an intent whose request is still on its way. Per action:

- a run is adopted when exactly one run can be proven ours (`RunsAPI.find_started_runs`: same
  agent and input count, inside the request's window, started through the API, not already known).
  While the intent is young it stays open ("checking"); after `settle_after` seconds it is closed:
  `failed` when the agent has no run at all in the window (nothing was created), else `may_exist`
  with the runs that could be it;
- Motion sessions and follow-ups cannot be looked up (no list endpoint): `may_exist` at once;
- a credit purchase cannot be told apart from other balance changes: `may_exist` at once;
- a plan change is checked with GET /plan: `done` when the plan is the one asked for, else `may_exist`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import anyio

from ..api._runs import unknown_run_message
from ..api.errors import MosaicMCPError
from ..api.motion import unknown_session_message
from ..api.requests import RunRequest
from .clock import SYSTEM_CLOCK, Clock
from .intents import Intent
from .journal import Journal, JournalWriteError
from .leases import Leases, LocalLeases
from .service import JobService
from .starts import REPLICA_DETAIL, Starts, plan_is, unknown_plan_message, unknown_purchase_message

log = logging.getLogger("mosaic_mcp.jobs")

REQUEST_WINDOW_SECONDS = 180.0
"""How long after it was sent a run created by a request can appear (time-outs, retries, queueing)."""

SETTLE_AFTER_SECONDS = 600.0
"""How long an open run intent is kept "checking" before it is closed one way or the other."""

STOPPED = "the server stopped, or the call ended, while the request was in flight"


class Reconciler:
    """Settles open intents (see the module docstring)."""

    def __init__(
        self,
        journal: Journal,
        jobs: JobService,
        starts: Starts,
        *,
        every: float = 30.0,
        settle_after: float = SETTLE_AFTER_SECONDS,
        clock: Clock = SYSTEM_CLOCK,
        leases: Leases | None = None,
    ) -> None:
        self.leases: Leases = leases or LocalLeases()
        self.journal = journal
        self.jobs = jobs
        self.starts = starts
        self.every = every
        self.settle_after = settle_after
        self.clock = clock

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Settle open intents now and then every `every` seconds (cancel the task group to stop)."""
        task_status.started()
        while True:
            try:
                await self.settle()
            except Exception as exc:  # never let one bad row or answer stop the server
                log.warning("reconciling unfinished starts failed (%s); trying again later", type(exc).__name__)
            await anyio.sleep(self.every)

    async def settle(self) -> int:
        """One pass over the open intents of the configured keys; returns how many were closed."""
        fingerprints = sorted(set(self.starts.fingerprints.values()))
        return await self.settle_intents(await self.journal.intents(("open",), fingerprints=fingerprints))

    async def settle_intents(self, open_: list[Intent]) -> int:
        """Settle these open intents (newest first, as the journal lists them); returns how many were closed."""
        closed = 0
        alive: dict[str, bool] = {}
        for intent in reversed(open_):  # oldest first
            if intent.intent_id in self.starts.in_flight or await self._sent_elsewhere(intent, alive):
                continue
            try:
                closed += await self._settle(intent)
            except (MosaicMCPError, JournalWriteError) as exc:
                log.warning("could not settle the %s start %s yet: %s", intent.action, intent.intent_id, exc)
        return closed

    async def _sent_elsewhere(self, intent: Intent, alive: dict[str, bool]) -> bool:
        """Whether another replica that is still alive opened the intent (it may be sending it now)."""
        replica = intent.details.get(REPLICA_DETAIL)
        if not isinstance(replica, str) or replica == self.leases.replica:
            return False
        if replica not in alive:
            alive[replica] = await self.leases.alive(replica)
        return alive[replica]

    async def _settle(self, intent: Intent) -> int:
        if intent.action == "run_agent":
            return await self._settle_run(intent)
        if intent.action == "create_video_session":
            note = unknown_session_message("start a Motion session", STOPPED)
        elif intent.action == "followup_video_session":
            note = unknown_session_message(f"revise Motion session {intent.target}", STOPPED)
        elif intent.action == "buy_credits":
            note = unknown_purchase_message(float(intent.details.get("credits", 0)), STOPPED)
        else:
            plan_id = str(intent.target)
            if await plan_is(self.starts.mosaic, plan_id):
                await self.journal.close_intent(intent, "done", f"the plan is now {plan_id}")
                return 1
            note = unknown_plan_message(plan_id, STOPPED)
        await self.journal.close_intent(intent, "may_exist", note)
        return 1

    async def _settle_run(self, intent: Intent) -> int:
        agent_id = str(intent.target)
        request = RunRequest.model_validate(intent.details.get("request") or {})
        sent_at = datetime.fromtimestamp(intent.started_at, UTC)
        until = datetime.fromtimestamp(intent.started_at + REQUEST_WINDOW_SECONDS, UTC)
        mosaic = self.starts.mosaic
        pool = await mosaic.find_started_runs(
            agent_id, request, sent_at=sent_at, until=until, known=self.journal.known_job_ids
        )
        if len(pool) == 1:
            summary = dict(intent.details.get("summary") or {"agent_id": agent_id})
            await self.jobs.started("mosaic_run", pool[0].run_id, status="running", summary=summary, intent=intent)
            log.info("adopted run %s for an unfinished start", pool[0].run_id)
            return 1
        if self.clock.wall() - intent.started_at < self.settle_after:
            return 0  # still checking: a slow service may list it later
        if pool:
            ids = [run.run_id for run in pool]
            await self.journal.close_intent(intent, "may_exist", unknown_run_message(agent_id, STOPPED, ids))
            return 1
        # No proven candidate: did the agent get any new run at all in the window?
        anything = await mosaic.find_started_runs(
            agent_id, request, sent_at=sent_at, until=until, known=self.journal.known_job_ids, any_inputs=True
        )
        if anything:
            ids = [run.run_id for run in anything]
            await self.journal.close_intent(intent, "may_exist", unknown_run_message(agent_id, STOPPED, ids))
        else:
            await self.journal.close_intent(intent, "failed", "no run was created")
        return 1
