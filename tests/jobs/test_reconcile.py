"""The reconciler: open intents left by a dead process are adopted, closed or reported, by action."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from mosaic_mcp.server.api.mosaic import MosaicClient
from mosaic_mcp.server.api.motion import MotionClient
from mosaic_mcp.server.api.requests import RunRequest
from mosaic_mcp.server.api.transport import RecordingSleep, RetryPolicy
from mosaic_mcp.server.jobs.clock import ManualClock
from mosaic_mcp.server.jobs.intents import Intent, IntentAction
from mosaic_mcp.server.jobs.journal import JobRecord, Journal
from mosaic_mcp.server.jobs.notify import Notifier
from mosaic_mcp.server.jobs.poller import Poller
from mosaic_mcp.server.jobs.reconcile import SETTLE_AFTER_SECONDS, Reconciler
from mosaic_mcp.server.jobs.service import JobService
from mosaic_mcp.server.jobs.starts import Starts
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import MOSAIC_KEY, MOTION_KEY

pytestmark = pytest.mark.anyio

VIDEO = "https://youtu.be/dQw4w9WgXcQ"
FINGERPRINT = "f" * 12


class Parts:
    """Journal, job service, starts and reconciler wired as the server wires them."""

    def __init__(self, journal: Journal, mosaic: MosaicClient, motion: MotionClient, clock: ManualClock) -> None:
        async def on_change(record: JobRecord) -> None:
            return None

        self.journal = journal
        self.clock = clock
        poller = Poller(journal, mosaic=mosaic, motion=motion, on_change=on_change, clock=clock)
        fingerprints: Any = {"mosaic_run": FINGERPRINT, "motion_session": FINGERPRINT}
        self.jobs = JobService(journal, poller, Notifier(), fingerprints, clock=clock)
        self.starts = Starts(journal, self.jobs, mosaic, motion, fingerprints, clock=clock)
        self.reconciler = Reconciler(journal, self.jobs, self.starts, clock=clock)

    async def intent(self, action: IntentAction, target: str | None, **details: Any) -> Intent:
        """An open intent, as a process that died mid-request leaves it."""
        intent = Intent(action, FINGERPRINT, target, details, started_at=self.clock.wall())
        await self.journal.open_intent(intent)
        return intent

    async def state(self, intent: Intent) -> tuple[str, str | None]:
        """The intent's state and outcome as journaled now."""
        found = await self.journal.intents(("open", "done", "failed", "may_exist", "quarantined"))
        mine = next(i for i in found if i.intent_id == intent.intent_id)
        return mine.state, mine.outcome


@pytest.fixture
async def served() -> AsyncIterator[RunningSandbox]:
    """A sandbox whose clock is frozen."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=0))) as running:
        yield running


@pytest.fixture
async def parts(served: RunningSandbox, tmp_path: Path) -> AsyncIterator[Parts]:
    """The job layer over a fresh journal and the sandbox."""
    retry = RetryPolicy(sleep=RecordingSleep())
    mosaic = MosaicClient(api_key=SecretStr(MOSAIC_KEY), base_url=served.mosaic_base_url, retry=retry)
    motion = MotionClient(api_key=SecretStr(MOTION_KEY), base_url=served.motion_base_url, retry=retry)
    clock = ManualClock()  # starts at the sandbox's (frozen) now; the tests move it
    journal = Journal(tmp_path / "jobs.sqlite3", clock=clock)
    yield Parts(journal, mosaic, motion, clock)
    await journal.close()
    await mosaic.aclose()
    await motion.aclose()


def run_details(urls: list[str]) -> dict[str, Any]:
    """What a run intent records."""
    return {"request": RunRequest(video_urls=urls).to_body(), "summary": {"agent_id": CAPTIONS_AGENT_ID}}


async def test_a_provable_run_is_adopted(parts: Parts, served: RunningSandbox) -> None:
    """The one run with our input count in the window becomes a tracked job; the intent is done."""
    intent = await parts.intent("run_agent", CAPTIONS_AGENT_ID, **run_details([VIDEO]))
    run = served.sandbox.start_api_run(CAPTIONS_AGENT_ID, {"video_urls": [VIDEO]})
    assert await parts.reconciler.settle() == 1
    assert await parts.state(intent) == ("done", run.run_id)
    assert await parts.journal.get(run.run_id) is not None


async def test_an_ambiguous_run_stays_checking_then_may_exist(parts: Parts, served: RunningSandbox) -> None:
    """Two look-alike runs: nothing is adopted; after the settle time both are named as possible."""
    intent = await parts.intent("run_agent", CAPTIONS_AGENT_ID, **run_details([VIDEO]))
    runs = [served.sandbox.start_api_run(CAPTIONS_AGENT_ID, {"video_urls": [VIDEO]}) for _ in range(2)]
    assert await parts.reconciler.settle() == 0
    assert (await parts.state(intent))[0] == "open"
    parts.clock.advance(SETTLE_AFTER_SECONDS + 1)
    assert await parts.reconciler.settle() == 1
    state, note = await parts.state(intent)
    assert state == "may_exist" and note is not None and all(r.run_id in note for r in runs)


async def test_a_run_that_never_appeared_is_closed_as_failed(parts: Parts) -> None:
    """No run at all in the window after the settle time: nothing was created, nothing is reported."""
    intent = await parts.intent("run_agent", CAPTIONS_AGENT_ID, **run_details([VIDEO]))
    parts.clock.advance(SETTLE_AFTER_SECONDS + 1)
    await parts.reconciler.settle()
    assert (await parts.state(intent))[0] == "failed"
    assert await parts.jobs.unresolved() == []


async def test_an_unmatched_run_is_reported_not_adopted(parts: Parts, served: RunningSandbox) -> None:
    """A run with other inputs in the window is not ours by proof, but it is named once the wait is over."""
    intent = await parts.intent("run_agent", CAPTIONS_AGENT_ID, **run_details([VIDEO]))
    other = served.sandbox.start_api_run(CAPTIONS_AGENT_ID, {"video_urls": [VIDEO, VIDEO]})
    parts.clock.advance(SETTLE_AFTER_SECONDS + 1)
    await parts.reconciler.settle()
    state, note = await parts.state(intent)
    assert state == "may_exist" and note is not None and other.run_id in note
    assert await parts.journal.get(other.run_id) is None


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
    parts: Parts, action: IntentAction, target: str | None, details: dict[str, Any], words: str
) -> None:
    """Motion starts, purchases and a plan not (yet) changed cannot be proven: reported as may_exist."""
    intent = await parts.intent(action, target, **details)
    await parts.reconciler.settle()
    state, note = await parts.state(intent)
    assert state == "may_exist" and note is not None and words in note
    assert [u.intent_id for u in await parts.jobs.unresolved()] == [intent.intent_id]


async def test_a_plan_change_that_went_through_is_done(parts: Parts, served: RunningSandbox) -> None:
    """GET /plan shows the plan asked for: the plan change is closed as done, nothing reported."""
    intent = await parts.intent("upgrade_plan", "professional", plan_id="professional")
    served.sandbox.billing.plan_id = "professional"
    await parts.reconciler.settle()
    assert (await parts.state(intent))[0] == "done"


async def test_a_request_in_flight_is_left_alone(parts: Parts) -> None:
    """An intent this process is still sending is not touched."""
    intent = await parts.intent("create_video_session", None)
    parts.starts.in_flight.add(intent.intent_id)
    assert await parts.reconciler.settle() == 0
    assert (await parts.state(intent))[0] == "open"
