"""The reconciler: open intents left by a dead process are adopted, closed or reported, by action."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mosaic_mcp.server.api.requests import RunRequest
from mosaic_mcp.server.jobs.intents import Intent, IntentAction
from mosaic_mcp.server.jobs.reconcile import SETTLE_AFTER_SECONDS
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support.jobs import FINGERPRINT, JobLayer, job_layer

pytestmark = pytest.mark.anyio

VIDEO = "https://youtu.be/dQw4w9WgXcQ"


async def open_intent(layer: JobLayer, action: IntentAction, target: str | None, **details: Any) -> Intent:
    """An open intent, as a process that died mid-request leaves it."""
    intent = Intent(action, FINGERPRINT, target, details, started_at=layer.clock.wall())
    await layer.journal.open_intent(intent)
    return intent


async def state_of(layer: JobLayer, intent: Intent) -> tuple[str, str | None]:
    """The intent's state and outcome as journaled now."""
    found = await layer.journal.intents(("open", "done", "failed", "may_exist", "quarantined"))
    mine = next(i for i in found if i.intent_id == intent.intent_id)
    return mine.state, mine.outcome


@pytest.fixture
async def served() -> AsyncIterator[RunningSandbox]:
    """A sandbox whose clock is frozen."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=0))) as running:
        yield running


@pytest.fixture
async def layer(served: RunningSandbox, tmp_path: Path) -> AsyncIterator[JobLayer]:
    """The job layer over a fresh journal and the sandbox; its clock starts at the sandbox's (frozen) now."""
    async with job_layer(served, tmp_path) as built:
        yield built


def run_details(urls: list[str]) -> dict[str, Any]:
    """What a run intent records."""
    return {"request": RunRequest(video_urls=urls).to_body(), "summary": {"agent_id": CAPTIONS_AGENT_ID}}


async def test_a_provable_run_is_adopted(layer: JobLayer, served: RunningSandbox) -> None:
    """The one run with our input count in the window becomes a tracked job; the intent is done."""
    intent = await open_intent(layer, "run_agent", CAPTIONS_AGENT_ID, **run_details([VIDEO]))
    run = served.sandbox.start_api_run(CAPTIONS_AGENT_ID, {"video_urls": [VIDEO]})
    assert await layer.reconciler.settle() == 1
    assert await state_of(layer, intent) == ("done", run.run_id)
    assert await layer.journal.get(run.run_id) is not None


async def test_an_ambiguous_run_stays_checking_then_may_exist(layer: JobLayer, served: RunningSandbox) -> None:
    """Two look-alike runs: nothing is adopted; after the settle time both are named as possible."""
    intent = await open_intent(layer, "run_agent", CAPTIONS_AGENT_ID, **run_details([VIDEO]))
    runs = [served.sandbox.start_api_run(CAPTIONS_AGENT_ID, {"video_urls": [VIDEO]}) for _ in range(2)]
    assert await layer.reconciler.settle() == 0
    assert (await state_of(layer, intent))[0] == "open"
    layer.clock.advance(SETTLE_AFTER_SECONDS + 1)
    assert await layer.reconciler.settle() == 1
    state, note = await state_of(layer, intent)
    assert state == "may_exist" and note is not None and all(r.run_id in note for r in runs)


async def test_a_run_that_never_appeared_is_closed_as_failed(layer: JobLayer) -> None:
    """No run at all in the window after the settle time: nothing was created, nothing is reported."""
    intent = await open_intent(layer, "run_agent", CAPTIONS_AGENT_ID, **run_details([VIDEO]))
    layer.clock.advance(SETTLE_AFTER_SECONDS + 1)
    await layer.reconciler.settle()
    assert (await state_of(layer, intent))[0] == "failed"
    assert await layer.service.unresolved() == []


async def test_an_unmatched_run_is_reported_not_adopted(layer: JobLayer, served: RunningSandbox) -> None:
    """A run with other inputs in the window is not ours by proof, but it is named once the wait is over."""
    intent = await open_intent(layer, "run_agent", CAPTIONS_AGENT_ID, **run_details([VIDEO]))
    other = served.sandbox.start_api_run(CAPTIONS_AGENT_ID, {"video_urls": [VIDEO, VIDEO]})
    layer.clock.advance(SETTLE_AFTER_SECONDS + 1)
    await layer.reconciler.settle()
    state, note = await state_of(layer, intent)
    assert state == "may_exist" and note is not None and other.run_id in note
    assert await layer.journal.get(other.run_id) is None


@pytest.mark.parametrize(
    ("action", "target", "details", "words"),
    [
        ("create_video_session", None, {}, "Motion web app"),
        ("followup_video_session", "job-1", {}, "revise Motion session job-1"),
        ("buy_credits", None, {"credits": 500}, "Do NOT buy again"),
        ("upgrade_plan", "professional", {"plan_id": "professional"}, "Do NOT send it again"),
    ],
)
async def test_unlistable_starts_are_reported_at_once(
    layer: JobLayer, action: IntentAction, target: str | None, details: dict[str, Any], words: str
) -> None:
    """Motion starts, purchases and a plan not (yet) changed cannot be proven: reported as may_exist."""
    intent = await open_intent(layer, action, target, **details)
    await layer.reconciler.settle()
    state, note = await state_of(layer, intent)
    assert state == "may_exist" and note is not None and words in note
    assert [u.intent_id for u in await layer.service.unresolved()] == [intent.intent_id]


async def test_a_plan_change_that_went_through_is_done(layer: JobLayer, served: RunningSandbox) -> None:
    """GET /plan shows the plan asked for: the plan change is closed as done, nothing reported."""
    intent = await open_intent(layer, "upgrade_plan", "professional", plan_id="professional")
    served.sandbox.billing.plan_id = "professional"
    await layer.reconciler.settle()
    assert (await state_of(layer, intent))[0] == "done"


async def test_a_request_in_flight_is_left_alone(layer: JobLayer) -> None:
    """An intent this process is still sending is not touched."""
    intent = await open_intent(layer, "create_video_session", None)
    layer.starts.in_flight.add(intent.intent_id)
    assert await layer.reconciler.settle() == 0
    assert (await state_of(layer, intent))[0] == "open"
