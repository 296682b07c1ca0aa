"""Mosaic agent runs (reference section 2.4), with reconciliation of unanswered run starts."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta

from ._base import ClientBase, page_params
from .errors import InvalidResponseError, OutcomeUnknownError
from .models import CancelResult, ResumeResult, Run, RunCreated, RunNodes, RunPage, RunProgress, RunSummary
from .pagination import paginate
from .requests import RunRequest
from .validation import check_limit, check_status_filter, check_timestamp, validate_run_request

log = logging.getLogger("mosaic_mcp.api")

Timestamp = str | datetime | date | None
Statuses = str | Sequence[str] | None

# How far before the call the reconciliation window starts: covers clock skew between us and the
# service, and a run stamped a little before our request finished arriving.
RECONCILE_SLACK = timedelta(seconds=30)
RECONCILE_MAX_RUNS = 500


class RunsAPI(ClientBase):
    """Start, watch, list, cancel and resume agent runs."""

    async def run_agent(self, agent_id: str, request: RunRequest) -> RunCreated:
        """POST /agent/{id}/run: start a run (spends credits). Never resent blindly; see reconciliation."""
        path = self._path("/agent/{agent_id}/run", agent_id=agent_id)
        validate_run_request(request, self.callbacks)
        since = datetime.now(UTC) - RECONCILE_SLACK
        before = await self._known_run_ids(agent_id, since)
        try:
            return await self._send(RunCreated, "POST", path, json=request.to_body(), retry="create")
        except (OutcomeUnknownError, InvalidResponseError) as exc:
            # Sent but unanswered (or answered unreadably): the run may exist and be charged.
            return await self._reconcile(agent_id, since, before, exc)

    async def _known_run_ids(self, agent_id: str, since: datetime) -> set[str] | None:
        """Runs already in the reconciliation window, so a later listing can tell ours apart.

        One page at most: this runs before every run start. When the window holds more than a page
        the answer is None, and an unanswered start is then reported as unknown, never guessed.
        """
        try:
            page = await self.list_agent_runs(agent_id, limit=100, from_=since)
        except Exception as exc:  # best effort: the run itself must not fail because of this
            log.info("could not list recent runs before starting a run (%s)", type(exc).__name__)
            return None
        return None if page.next_cursor else {run.run_id for run in page.runs}

    async def _run_ids_since(self, agent_id: str, since: datetime) -> set[str]:
        async def fetch(cursor: str | None) -> tuple[list[RunSummary], str | None]:
            page = await self.list_agent_runs(agent_id, limit=100, cursor=cursor, from_=since)
            return page.runs, page.next_cursor

        return {run.run_id async for run in paginate(fetch, max_items=RECONCILE_MAX_RUNS)}

    async def _reconcile(self, agent_id: str, since: datetime, before: set[str] | None, cause: Exception) -> RunCreated:
        try:
            after = await self._run_ids_since(agent_id, since)
        except Exception:
            after = None
        if after is not None and before is not None and len(new := after - before) == 1:
            run_id = new.pop()
            log.info("adopted run %s after an unanswered run start", run_id)
            return RunCreated(run_id=run_id)
        raise OutcomeUnknownError(
            f"The request to start a run of agent {agent_id} was sent but no usable answer came back "
            f"({type(cause).__name__}), and the run could not be identified afterwards. A run may exist and "
            "may be charged: check with list_runs (agent_id filter) or the agent's runs in the Mosaic "
            "editor before starting it again.",
            service="Mosaic",
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
