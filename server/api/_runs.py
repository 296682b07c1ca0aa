"""Mosaic agent runs (reference section 2.4), with reconciliation of unanswered run starts.

Also the automation-runs listing of section 2.12 (`list_automation_runs`): runs, wherever the reference files them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from ._base import ClientBase, Timestamp, page_params
from ._runs_types import (
    AutomationRunPage,
    CancelResult,
    ResumeResult,
    Run,
    RunCreated,
    RunNodes,
    RunPage,
    RunProgress,
    RunRequest,
    RunSummary,
)
from .errors import OutcomeUnknownError
from .pagination import paginate
from .validation import check_limit, check_status_filter, check_timestamp, validate_run_request

log = logging.getLogger("mosaic_mcp.api")

Statuses = str | Sequence[str] | None

# How far around the request the reconciliation window reaches: covers clock skew between us and
# the service, and a run stamped a little before our request finished arriving.
RECONCILE_SLACK = timedelta(seconds=30)
RECONCILE_MAX_RUNS = 500

KnownIds = Callable[[Sequence[str]], Awaitable[set[str]]]
"""Which of these run ids are already tracked (the journal): a known run is never adopted."""


class RunsAPI(ClientBase):
    """Start, watch, list, cancel and resume agent runs."""

    async def run_agent(self, agent_id: str, request: RunRequest, *, known: KnownIds | None = None) -> RunCreated:
        """POST /agent/{id}/run: start a run (spends credits). Never resent blindly; see reconciliation.

        A start whose outcome is unknown (no answer, a 5xx, an unreadable body) is reconciled: the
        agent's runs are listed and a run is adopted only when it can be proven ours — see
        `find_started_runs`. Otherwise `OutcomeUnknownError` says the run may exist and how to check.
        """
        path = self._path("/agent/{agent_id}/run", agent_id=agent_id)
        validate_run_request(request, self.callbacks)
        since = datetime.now(UTC)
        before = await self._known_run_ids(agent_id, since - RECONCILE_SLACK)
        try:
            return await self._send(RunCreated, "POST", path, json=request.to_body(), retry="create")
        except OutcomeUnknownError as exc:
            return await self._reconcile(agent_id, request, since, before, known, exc)

    async def _known_run_ids(self, agent_id: str, since: datetime) -> set[str]:
        """Runs already in the reconciliation window, so a later listing can tell ours apart.

        One page at most: this runs before every run start. A failure here only makes the later
        proof stricter (the journal and the window still apply); the run itself must not fail.
        """
        try:
            page = await self.list_agent_runs(agent_id, limit=100, from_=since)
        except Exception as exc:
            log.info("could not list recent runs before starting a run (%s)", type(exc).__name__)
            return set()
        return {run.run_id for run in page.runs}

    async def find_started_runs(
        self,
        agent_id: str,
        request: RunRequest,
        *,
        sent_at: datetime,
        until: datetime,
        exclude: set[str] | None = None,
        known: KnownIds | None = None,
        any_inputs: bool = False,
    ) -> list[RunSummary]:
        """Runs that could be the one a start sent at `sent_at` created: the proof of reconciliation.

        A candidate is a run of this agent, created between `sent_at` and `until` (each widened by
        the clock slack), started through the API (not by a trigger or the editor), with as many
        inputs as the request gave sources, and not already known (`exclude`, `known`). Exactly one
        candidate is a proof; several are none. With `any_inputs`, the input count is not compared
        (to tell "nothing was created" from "something that is not provably ours").
        """
        window_start, window_end = sent_at - RECONCILE_SLACK, until + RECONCILE_SLACK

        async def fetch(cursor: str | None) -> tuple[list[RunSummary], str | None]:
            page = await self.list_agent_runs(agent_id, limit=100, cursor=cursor, from_=window_start)
            return page.runs, page.next_cursor

        runs = [run async for run in paginate(fetch, max_items=RECONCILE_MAX_RUNS)]
        skip = exclude or set()
        pool = [
            run
            for run in runs
            if run.run_id not in skip
            and run.agent_id in (None, agent_id)
            and _started_by_api(run)
            and _within(run.started_at, window_start, window_end)
            and (any_inputs or len(run.inputs) == request.source_count)
        ]
        if known is not None and pool:
            tracked = await known([run.run_id for run in pool])
            pool = [run for run in pool if run.run_id not in tracked]
        return pool

    async def _reconcile(
        self,
        agent_id: str,
        request: RunRequest,
        since: datetime,
        before: set[str],
        known: KnownIds | None,
        cause: OutcomeUnknownError,
    ) -> RunCreated:
        try:
            pool = await self.find_started_runs(
                agent_id, request, sent_at=since, until=datetime.now(UTC), exclude=before, known=known
            )
        except Exception as exc:
            log.info("could not list runs to reconcile an unanswered start (%s)", type(exc).__name__)
            pool = None
        if pool is not None and len(pool) == 1:
            log.info("adopted run %s after an unanswered run start", pool[0].run_id)
            return RunCreated(run_id=pool[0].run_id)
        raise OutcomeUnknownError(
            unknown_run_message(agent_id, str(cause), [run.run_id for run in pool or []]), service="Mosaic"
        ) from None

    async def get_run(self, run_id: str) -> Run:
        """GET /agent_run/{id}: status, counts, outputs."""
        return await self._get(Run, self._path("/agent_run/{run_id}", run_id=run_id))

    async def get_run_nodes(self, run_id: str) -> RunNodes:
        """GET /agent_run/{id}/nodes: per-node state (runtime ids mapped to template ids)."""
        return await self._get(RunNodes, self._path("/agent_run/{run_id}/nodes", run_id=run_id))

    async def list_agent_runs(
        self,
        agent_id: str,
        *,
        limit: int = 25,
        cursor: str | None = None,
        status: Statuses = None,
        from_: Timestamp = None,
        to: Timestamp = None,
    ) -> RunPage:
        """GET /agent/{id}/runs: one page of an agent's runs."""
        path = self._path("/agent/{agent_id}/runs", agent_id=agent_id)
        return await self._get(RunPage, path, _run_filters(limit, cursor, status, from_, to))

    async def list_runs(
        self,
        *,
        agent_id: str | None = None,
        limit: int = 25,
        cursor: str | None = None,
        status: Statuses = None,
        from_: Timestamp = None,
        to: Timestamp = None,
    ) -> RunPage:
        """GET /agent_runs: one page of runs across every agent the key can see."""
        params = _run_filters(limit, cursor, status, from_, to)
        if agent_id is not None:
            params["agent_id"] = agent_id
        return await self._get(RunPage, "/agent_runs", params)

    async def iter_runs(
        self,
        *,
        agent_id: str | None = None,
        status: Statuses = None,
        from_: Timestamp = None,
        to: Timestamp = None,
        page_size: int = 100,
        max_items: int | None = None,
    ) -> AsyncIterator[RunSummary]:
        """Every matching run across agents, following cursors."""

        async def fetch(cursor: str | None) -> tuple[list[RunSummary], str | None]:
            page = await self.list_runs(
                agent_id=agent_id, limit=page_size, cursor=cursor, status=status, from_=from_, to=to
            )
            return page.runs, page.next_cursor

        async for run in paginate(fetch, max_items=max_items):
            yield run

    async def list_trigger_runs(
        self,
        trigger_id: str,
        *,
        limit: int = 25,
        cursor: str | None = None,
        status: Statuses = None,
        from_: Timestamp = None,
        to: Timestamp = None,
    ) -> RunPage:
        """GET /trigger/{id}/runs: runs started by one trigger."""
        path = self._path("/trigger/{trigger_id}/runs", trigger_id=trigger_id)
        return await self._get(RunPage, path, _run_filters(limit, cursor, status, from_, to))

    async def list_automation_runs(
        self,
        *,
        limit: int = 25,
        cursor: str | None = None,
        agent_id: str | None = None,
        workspace_id: str | None = None,
        from_: Timestamp = None,
        to: Timestamp = None,
        updated_from: Timestamp = None,
    ) -> AutomationRunPage:
        """GET /automations/runs: runs started by automations (shape undocumented)."""
        return await self._observe(
            AutomationRunPage, "/automations/runs", limit=limit, cursor=cursor, from_=from_, to=to,
            updated_from=updated_from, agent_id=agent_id, workspace_id=workspace_id,
        )  # fmt: skip

    async def cancel_run(self, run_id: str) -> CancelResult:
        """POST /agent_run/{id}/cancel: stop an active run."""
        path = self._path("/agent_run/{run_id}/cancel", run_id=run_id)
        return await self._send(CancelResult, "POST", path, retry="idempotent")

    async def resume_run(self, run_id: str) -> ResumeResult:
        """POST /agent_run/{id}/resume: re-queue a failed or cancelled run (may spend credits)."""
        path = self._path("/agent_run/{run_id}/resume", run_id=run_id)
        return await self._send(ResumeResult, "POST", path, retry="create")

    async def get_run_progress(
        self,
        run_id: str,
        *,
        limit: int = 25,
        cursor: str | None = None,
        from_: Timestamp = None,
        to: Timestamp = None,
        updated_from: Timestamp = None,
    ) -> RunProgress:
        """GET /agent_run/{id}/progress: whole-run counts plus one page of tiles."""
        check_limit(limit)
        path = self._path("/agent_run/{run_id}/progress", run_id=run_id)
        params = page_params(
            limit,
            cursor,
            **{
                "from": check_timestamp("from", from_),
                "to": check_timestamp("to", to),
                "updated_from": check_timestamp("updated_from", updated_from),
            },
        )
        return await self._get(RunProgress, path, params)


def _run_filters(
    limit: int, cursor: str | None, status: Statuses, from_: Timestamp, to: Timestamp
) -> dict[str, object]:
    check_limit(limit)
    return page_params(
        limit,
        cursor,
        status=check_status_filter(status),
        **{"from": check_timestamp("from", from_), "to": check_timestamp("to", to)},
    )


def unknown_run_message(agent_id: str, cause: str, candidates: Sequence[str]) -> str:
    """What to tell the user about a run start whose outcome could not be proven."""
    maybe = f" Runs that could be it: {', '.join(candidates[:5])}." if candidates else ""
    return (
        f"The request to start a run of agent {agent_id} was sent, but its outcome is unknown ({cause}). "
        f"A run may exist and may be charged.{maybe} Do NOT call run_agent again for this: first check "
        "the agent's runs (list_runs with agent_id, in the runs toolset, or the Mosaic editor); a run found "
        "there can be followed with poll_job(run_id)."
    )


def _started_by_api(run: RunSummary) -> bool:
    """A run started through the API: not by a trigger, not from the editor."""
    origin = run.triggered_by or {}
    return not origin.get("trigger_id") and origin.get("source") not in ("ui", "editor")


def _within(stamp: str | None, start: datetime, end: datetime) -> bool:
    if not stamp:
        return False  # no creation time: no proof
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return start <= when <= end
