"""MotionClient: sessions, polling and follow-ups against the sandbox."""

from __future__ import annotations

import pytest

from mosaic_mcp.server.api import (
    Attachment,
    ConflictError,
    FollowupRequest,
    InsufficientCreditsError,
    MotionClient,
    MotionSession,
    MotionSessionRequest,
    NotFoundError,
)
from mosaic_mcp.server.api.errors import PlanRequiredError
from mosaic_mcp.server.sandbox import Sandbox

from ..support import MOTION_KEY

pytestmark = pytest.mark.anyio

REQUEST = MotionSessionRequest(
    prompt="A 10 second product teaser for a coffee brand",
    aspect_ratio="9:16",
    duration="<10s",
    mode="light",
    attachments=[Attachment(url="https://example.com/logo.png", name="logo", type="image")],
)


async def poll_until_downloadable(motion: MotionClient, sandbox: Sandbox, job_id: str) -> list[MotionSession]:
    """Poll a session, moving the sandbox clock between polls, until its MP4 is downloadable."""
    seen: list[MotionSession] = []
    for _ in range(60):
        session = await motion.get_session(job_id)
        seen.append(session)
        if session.download_ready or session.status == "failed":
            return seen
        sandbox.advance(5)
    raise AssertionError("the session never became downloadable")


async def test_create_session(motion: MotionClient, sandbox: Sandbox) -> None:
    """create_session gets a 202 with a queued job and a host-relative status URL."""
    accepted = await motion.create_session(REQUEST)
    assert accepted.status == "queued"
    assert accepted.job_id
    assert accepted.status_url == f"/api/motion/sessions/{accepted.job_id}"
    (record,) = sandbox.requests.matching("POST", "/api/motion/sessions")
    assert record.status == 202


async def test_get_session(motion: MotionClient, sandbox: Sandbox) -> None:
    """Seed flow: poll to completed; the download URL appears only on a later poll."""
    job_id = (await motion.create_session(REQUEST)).job_id
    polls = await poll_until_downloadable(motion, sandbox, job_id)
    statuses = [p.status for p in polls]
    assert statuses[0] in {"queued", "created"}
    assert statuses[-1] == "completed"
    first_completed = next(p for p in polls if p.status == "completed")
    assert not first_completed.download_ready
    assert first_completed is not polls[-1]
    last = polls[-1]
    assert last.output is not None
    assert last.output.download_url
    assert last.output.expires_at
    assert last.is_terminal
    assert last.completed_at


async def test_create_followup(motion: MotionClient, sandbox: Sandbox) -> None:
    """create_followup on a completed session is accepted and returns the job id to track."""
    job_id = (await motion.create_session(REQUEST)).job_id
    await poll_until_downloadable(motion, sandbox, job_id)
    accepted = await motion.create_followup(job_id, FollowupRequest(prompt="Make it blue"))
    assert accepted.job_id
    assert accepted.status == "queued"
    assert (await motion.get_session(accepted.job_id)).status in {"queued", "created"}
    (record,) = sandbox.requests.matching("POST", "/api/motion/sessions/{job_id}/followups")
    assert record.status == 202


async def test_followup_before_completion_conflicts(motion: MotionClient) -> None:
    """A follow-up on a running session is a ConflictError naming the rule and current status."""
    job_id = (await motion.create_session(REQUEST)).job_id
    with pytest.raises(ConflictError) as caught:
        await motion.create_followup(job_id, FollowupRequest(prompt="Too soon"))
    error = caught.value
    assert error.code == "followup_requires_completed_job"
    assert error.status_code == 409
    assert "must be completed first" in str(error)
    assert "queued" in str(error)


async def test_unknown_session_is_not_found(motion: MotionClient) -> None:
    """Polling an unknown job id is a NotFoundError."""
    with pytest.raises(NotFoundError):
        await motion.get_session("00000000-0000-4000-8000-000000000000")


async def test_insufficient_credits(motion: MotionClient, sandbox: Sandbox) -> None:
    """402 on create is InsufficientCreditsError with the Motion top-up advice."""
    sandbox.set_motion_credits(MOTION_KEY, 10)
    with pytest.raises(InsufficientCreditsError) as caught:
        await motion.create_session(REQUEST)
    assert "300 credits" in str(caught.value)
    assert caught.value.code == "insufficient_credits_minimum_kickoff_balance"


@pytest.mark.parametrize("status", [402, 403, 400])
async def test_pro_feature_refusal_names_the_plan_under_any_status(
    motion: MotionClient, sandbox: Sandbox, status: int
) -> None:
    """motion_pro_feature_required is a PlanRequiredError naming the option and the plan, whatever the status."""
    body = {"error": "motion_pro_feature_required", "message": "Upgrade to use this"}
    sandbox.faults.inject("status", method="POST", path="/api/motion/sessions", status=status, body=body)
    with pytest.raises(PlanRequiredError) as caught:
        await motion.create_session(MotionSessionRequest(prompt="A teaser", design_system_id="linear"))
    message = str(caught.value)
    assert "design_system_id needs a Motion Pro or Max plan" in message
    assert "Upgrade to use this" in message
    assert "balance" not in message


async def test_a_402_with_only_the_balance_quotes_it(motion: MotionClient, sandbox: Sandbox) -> None:
    """A 402 that gives the balance but no minimum quotes the balance and invents no minimum."""
    body = {"error": "insufficient_credits", "current_balance": 5}
    sandbox.faults.inject("status", method="POST", path="/api/motion/sessions", status=402, body=body)
    with pytest.raises(InsufficientCreditsError) as caught:
        await motion.create_session(REQUEST)
    assert "the Motion balance (it is 5) is below the minimum" in str(caught.value)
