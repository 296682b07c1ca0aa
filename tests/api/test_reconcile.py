"""Reconciling an unanswered run start: a run is adopted only when it is provably ours."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from mosaic_mcp.server.api import MosaicClient, OutcomeUnknownError, RunRequest
from mosaic_mcp.server.sandbox import Sandbox, seed

pytestmark = pytest.mark.anyio

RUN_ROUTE = "/agent/{agent_id}/run"
VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
OURS = RunRequest(video_urls=[VIDEO])


async def test_foreign_run_is_not_adopted(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """Our POST is cut before creation while another client starts a run with other inputs: none adopted."""
    foreign: list[str] = []

    def another_client_starts() -> None:
        foreign.append(sandbox.start_api_run(seed.CAPTIONS_AGENT_ID, {"video_urls": [VIDEO, VIDEO]}).run_id)

    sandbox.faults.inject("drop", method="POST", path=RUN_ROUTE, then=another_client_starts)
    with pytest.raises(OutcomeUnknownError, match="may exist") as caught:
        await mosaic.run_agent(seed.CAPTIONS_AGENT_ID, OURS)
    assert foreign and foreign[0] not in str(caught.value)
    assert "Do NOT call run_agent again" in str(caught.value)


async def test_two_candidates_are_no_proof(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """Ours was created and lost, and a look-alike started meanwhile: neither is adopted, both are named."""
    other: list[str] = []

    def look_alike() -> None:
        other.append(sandbox.start_api_run(seed.CAPTIONS_AGENT_ID, {"video_urls": [VIDEO]}).run_id)

    sandbox.faults.inject("drop", method="POST", path=RUN_ROUTE, after=True, then=look_alike)
    with pytest.raises(OutcomeUnknownError) as caught:
        await mosaic.run_agent(seed.CAPTIONS_AGENT_ID, OURS)
    assert other[0] in str(caught.value)


async def test_known_run_is_not_adopted(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """A run the journal already tracks is never adopted as the answer to another start."""
    tracked: list[str] = []

    def tracked_run_starts() -> None:
        tracked.append(sandbox.start_api_run(seed.CAPTIONS_AGENT_ID, {"video_urls": [VIDEO]}).run_id)

    async def known(ids: Sequence[str]) -> set[str]:
        return set(ids) & set(tracked)

    sandbox.faults.inject("drop", method="POST", path=RUN_ROUTE, then=tracked_run_starts)
    with pytest.raises(OutcomeUnknownError):
        await mosaic.run_agent(seed.CAPTIONS_AGENT_ID, OURS, known=known)


async def test_only_a_provable_run_is_found(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """find_started_runs keeps runs of the window with the same input count, started through the API."""
    earlier = set(sandbox.runs.runs)  # other tests' runs, as a before-listing would exclude them
    sent_at = datetime.now(UTC)
    ours = sandbox.start_api_run(seed.CAPTIONS_AGENT_ID, {"video_urls": [VIDEO]})
    sandbox.start_api_run(seed.CAPTIONS_AGENT_ID, {"video_urls": [VIDEO, VIDEO]})  # other inputs
    trigger = next(iter(sandbox.triggers.triggers.values()), None)
    if trigger is not None and trigger.agent_id == seed.CAPTIONS_AGENT_ID:
        sandbox.fire_trigger(trigger.trigger_id)  # started by a trigger, not by a request
    found = await mosaic.find_started_runs(
        seed.CAPTIONS_AGENT_ID, OURS, sent_at=sent_at, until=datetime.now(UTC), exclude=earlier
    )
    assert [run.run_id for run in found] == [ours.run_id]
    later = await mosaic.find_started_runs(
        seed.CAPTIONS_AGENT_ID,
        OURS,
        sent_at=sent_at + timedelta(hours=1),
        until=sent_at + timedelta(hours=2),
        exclude=earlier,
    )
    assert later == []


async def test_lost_answer_of_our_run_is_adopted(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """Created, then a 502: the one run with our inputs in the window is adopted."""
    sandbox.faults.inject("status", status=502, method="POST", path=RUN_ROUTE, after=True)
    created = await mosaic.run_agent(seed.CAPTIONS_AGENT_ID, OURS)
    assert created.run_id in sandbox.runs.runs
