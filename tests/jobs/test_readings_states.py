"""Readings of the docs about job states (issue 9: 1, 2, 3, 6, 15), each played by a sandbox switch.

The tools are driven end to end in memory, in both protocol generations, against a sandbox whose
clock moves only when a test advances it; the job service is driven directly where the test needs
to move this server's own clock.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import pytest
from mcp import Client
from pydantic import SecretStr

from mosaic_mcp.server.api.models import MotionSession
from mosaic_mcp.server.api.motion import MotionClient
from mosaic_mcp.server.api.requests import FollowupRequest, MotionSessionRequest
from mosaic_mcp.server.api.transport import RecordingSleep, RetryPolicy
from mosaic_mcp.server.app import create_server
from mosaic_mcp.server.jobs.clock import ManualClock, iso_utc
from mosaic_mcp.server.jobs.journal import JobRecord, Journal
from mosaic_mcp.server.jobs.notify import Notifier
from mosaic_mcp.server.jobs.poller import Poller, PollTiming
from mosaic_mcp.server.jobs.revision import PreviousRender, moved_past, video_digest
from mosaic_mcp.server.jobs.service import JobService
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, config_from_env, serve_sandbox
from mosaic_mcp.server.sandbox.motion import RENDER_ERROR
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import MOTION_KEY, VIDEO, call_ok, sandbox_settings

pytestmark = pytest.mark.anyio

TIMING = PollTiming(initial=0.02, cap=0.1, idle_cap=5.0, adopt_every=0.5)
"""Fast polling, with an idle cap far above the running rate so a slowed-down job shows."""
SESSION_GET = "/api/motion/sessions/{job_id}"
DONE = 600.0
"""Virtual seconds after which any sandbox session (and its MP4) is finished."""


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    """Both protocol generations: 2026-07-28 (auto) and the 2025-11-25 handshake (legacy)."""
    return str(request.param)


@asynccontextmanager
async def emulated(tmp_path: Path, mode: str, **switches: Any) -> AsyncIterator[tuple[Client, RunningSandbox]]:
    """A client of a fresh server over a frozen-clock sandbox with these switches on."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=0, **switches))) as served:
        settings = sandbox_settings(served, tmp_path, max_wait_seconds=30)
        server = create_server(settings, poll_timing=TIMING, retry=RetryPolicy(sleep=RecordingSleep()))
        async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
            yield client, served


async def settle(client: Client, job_id: str, seen: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Poll until the job is settled (bounded); every reading is appended to `seen`."""
    with anyio.fail_after(20):
        while True:
            snap = await call_ok(client, "poll_job", {"job_id": job_id, "wait_seconds": 1})
            if seen is not None:
                seen.append(snap)
            if snap["settled"]:
                return snap


async def finished_video(client: Client, served: RunningSandbox) -> dict[str, Any]:
    """A Motion session started with the tool and followed until its MP4 is ready."""
    handle = await call_ok(client, "create_video_session", {"prompt": "A short launch video"})
    served.sandbox.advance(DONE)
    final = await settle(client, handle["job_id"])
    assert final["status"] == "completed" and final["download_ready"] is True
    return final


def video_path(snapshot: dict[str, Any]) -> str | None:
    """The path of the snapshot's video URL (its signature changes on every read), if it has one."""
    urls = [o["video_url"] for o in snapshot["outputs"] if o.get("video_url")]
    return urlsplit(urls[0]).path if urls else None


# ---------------------------------------------------------------- 1. follow-up identity


async def test_a_followup_with_a_new_id_is_a_new_job_and_the_parent_keeps_its_video(tmp_path: Path, mode: str) -> None:
    """A follow-up answered with a new job_id is followed as its own job; the parent's video stays as it was."""
    async with emulated(tmp_path, mode) as (client, served):
        parent = await finished_video(client, served)
        handle = await call_ok(client, "followup_video_session", {"job_id": parent["job_id"], "prompt": "shorter"})
        assert handle["job_id"] != parent["job_id"]
        served.sandbox.advance(DONE)
        revision = await settle(client, handle["job_id"])
        assert revision["status"] == "completed" and video_path(revision) not in (None, video_path(parent))
        again = await call_ok(client, "poll_job", {"job_id": parent["job_id"]})
        assert again["settled"] and video_path(again) == video_path(parent)


async def test_a_followup_that_keeps_the_id_never_hands_out_the_previous_video(tmp_path: Path, mode: str) -> None:
    """Same job_id: readings that still show the previous render are not settled and carry no video."""
    async with emulated(tmp_path, mode, motion_followup_keeps_id=True) as (client, served):
        parent = await finished_video(client, served)
        old_path, old_done = video_path(parent), parent["outputs"][0]["completed_at"]
        handle = await call_ok(client, "followup_video_session", {"job_id": parent["job_id"], "prompt": "shorter"})
        assert handle["job_id"] == parent["job_id"]
        seen = [await call_ok(client, "poll_job", {"job_id": handle["job_id"]}) for _ in range(3)]
        assert served.sandbox.motion.sessions[handle["job_id"]].stale_polls == 0  # the old render was served
        assert not any(s["settled"] or s["outputs"] for s in seen)
        served.sandbox.advance(DONE)
        final = await settle(client, handle["job_id"], seen)
        assert all(video_path(s) != old_path for s in seen)
        assert final["status"] == "completed" and final["replaces_render"] is None
        assert video_path(final) is not None and final["outputs"][0]["completed_at"] != old_done


async def test_the_previous_render_is_recognised_while_the_service_still_shows_it(tmp_path: Path, mode: str) -> None:
    """A stale reading says the follow-up was accepted and the previous render is not the revision."""
    async with emulated(tmp_path, mode, motion_followup_keeps_id=True) as (client, served):
        parent = await finished_video(client, served)
        job_id = parent["job_id"]
        # The service keeps showing the old render: set before the follow-up, or the poller's first reads race it.
        served.sandbox.config.motion_stale_polls = 10**6
        await call_ok(client, "followup_video_session", {"job_id": job_id, "prompt": "shorter"})
        snap = await call_ok(client, "poll_job", {"job_id": job_id, "wait_seconds": 1})
        assert snap["status"] == "completed" and not snap["settled"] and snap["outputs"] == []
        assert "previous render" in (snap["status_message"] or "")
        assert snap["replaces_render"]["completed_at"] == parent["outputs"][0]["completed_at"]


OLD_URL = "https://cdn.motion.example/v/abc/video.mp4?sig=1"
BEFORE = PreviousRender(
    requested_at="2026-01-01T00:10:00Z",
    completed_at="2026-01-01T00:05:00Z",
    updated_at="2026-01-01T00:05:12Z",
    video=video_digest(OLD_URL),
)
UNKNOWN = PreviousRender(requested_at="2026-01-01T00:10:00Z")
READINGS: list[tuple[str, PreviousRender, dict[str, Any], bool]] = [
    ("the previous render, re-signed", BEFORE, {"url": OLD_URL.replace("sig=1", "sig=2")}, False),
    ("status left completed", BEFORE, {"status": "queued", "url": None, "completed_at": None}, True),
    ("a new completed_at", BEFORE, {"completed_at": "2026-01-01T00:12:00Z"}, True),
    ("a new updated_at", BEFORE, {"updated_at": "2026-01-01T00:11:00Z"}, True),
    ("another video file", BEFORE, {"url": "https://cdn.motion.example/v/def/video.mp4?sig=1"}, True),
    ("an older time is not newer", BEFORE, {"updated_at": "2026-01-01T00:01:00Z"}, False),
    ("unreadable times prove nothing", BEFORE, {"completed_at": "soon", "updated_at": "later"}, False),
    ("nothing known: times before the request", UNKNOWN, {}, False),
    ("nothing known: a time after the request", UNKNOWN, {"updated_at": "2026-01-01T00:10:30Z"}, True),
]


@pytest.mark.parametrize(("before", "change", "expected"), [r[1:] for r in READINGS], ids=[r[0] for r in READINGS])
def test_which_readings_are_past_the_previous_render(
    before: PreviousRender, change: dict[str, Any], expected: bool
) -> None:
    """A reading is the revision only once something of the previous render changed (never by our clock alone)."""
    body: dict[str, Any] = {
        "job_id": "j",
        "status": "completed",
        "completed_at": "2026-01-01T00:05:00Z",
        "updated_at": "2026-01-01T00:05:12Z",
        "url": OLD_URL,
    }
    body.update(change)
    url = body.pop("url")
    body["output"] = {"status": "completed", "download_url": url} if url else None
    assert moved_past(MotionSession.model_validate(body), before) is expected


# ---------------------------------------------------------------- 2. awaiting_user_input


async def test_a_session_waiting_for_a_person_is_polled_slowly_and_not_waited_on(tmp_path: Path, mode: str) -> None:
    """awaiting_user_input: not settled, says the API cannot answer, gives the web link, slows polling, no wait."""
    async with emulated(tmp_path, mode, motion_input_pause_seconds=3600) as (client, served):
        handle = await call_ok(client, "create_video_session", {"prompt": "A short launch video"})
        running = await call_ok(client, "poll_job", {"job_id": handle["job_id"]})
        assert running["next_poll_after_seconds"] <= TIMING.cap
        served.sandbox.advance(60)
        with anyio.fail_after(5):  # far less than the 30 s asked for
            snap = await call_ok(client, "poll_job", {"job_id": handle["job_id"], "wait_seconds": 30})
        assert snap["status"] == "awaiting_user_input" and snap["pending_user_input"] is True
        assert snap["settled"] is False
        assert snap["next_poll_after_seconds"] == TIMING.idle_cap
        assert "no way to answer" in snap["status_message"]
        assert snap["web_url"] == f"https://motion.sandbox.invalid/sessions/{handle['job_id']}"
        assert snap["web_url"] in snap["next_step"]
        served.sandbox.advance(3600 + DONE)  # the person answered in the web app; the session resumes
        final = await settle(client, handle["job_id"])
        assert final["status"] == "completed" and final["pending_user_input"] is False


# ---------------------------------------------------------------- 3. a render that fails after completed


async def test_a_render_that_fails_after_completed_settles_failed_with_its_error(tmp_path: Path, mode: str) -> None:
    """output.status 'failed' after the session completed settles the job failed, with the error text."""
    async with emulated(tmp_path, mode, motion_render_fails=True) as (client, served):
        handle = await call_ok(client, "create_video_session", {"prompt": "A short launch video"})
        served.sandbox.advance(DONE)
        final = await settle(client, handle["job_id"])
        assert final["status"] == "failed" and final["outputs"] == [] and final["download_ready"] is False
        assert any(RENDER_ERROR in e and "output.status 'failed'" in e for e in final["errors"])
        assert final["next_poll_after_seconds"] is None


# ---------------------------------------------------------------- 6. provenance


async def test_motion_sources_show_in_poll_job(tmp_path: Path, mode: str) -> None:
    """A finished session's sources[] (provider, rights status, links) come with its video."""
    async with emulated(tmp_path, mode, provenance_sources=True) as (client, served):
        final = await finished_video(client, served)
        getty, upload = final["outputs"][0]["sources"]
        assert getty["provider"] == "getty" and getty["kind"] == "stock" and getty["rights_status"] == "licensed"
        assert getty["urls"][0].startswith("https://www.gettyimages.com/")
        assert len(getty["urls"]) == 2
        assert upload["provider"] == "user_upload" and upload["rights_status"] == "user_provided"


async def test_mosaic_output_sources_show_in_poll_job(tmp_path: Path, mode: str) -> None:
    """Each Mosaic output's sources[] (nested provider and rights) come with it."""
    async with emulated(tmp_path, mode, provenance_sources=True) as (client, served):
        handle = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
        served.sandbox.advance(3600)
        final = await settle(client, handle["job_id"])
        assert final["status"] == "completed" and final["outputs"]
        for output in final["outputs"]:
            (source,) = output["sources"]
            assert source["provider"] == "pexels" and source["rights_status"] == "royalty_free"
            assert source["urls"] == ["https://www.pexels.com/video/3571264/"]


async def test_without_the_switch_sources_are_empty(tmp_path: Path, mode: str) -> None:
    """The default sandbox keeps today's empty sources[]."""
    async with emulated(tmp_path, mode) as (client, served):
        final = await finished_video(client, served)
        assert final["outputs"][0]["sources"] == []


# ---------------------------------------------------------------- 15. a job the service no longer knows


@pytest.mark.parametrize("kind", ["mosaic_run", "motion_session"])
async def test_a_job_the_service_no_longer_knows_is_settled(tmp_path: Path, mode: str, kind: str) -> None:
    """poll_job on a job that now answers 404: settled not_found, no next poll, the error says so."""
    async with emulated(tmp_path, mode) as (client, served):
        if kind == "mosaic_run":
            handle = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
            path = f"/agent_run/{handle['job_id']}"
        else:
            handle = await call_ok(client, "create_video_session", {"prompt": "A short launch video"})
            path = f"/api/motion/sessions/{handle['job_id']}"
        first = await call_ok(client, "poll_job", {"job_id": handle["job_id"]})
        assert first["next_poll_after_seconds"] is not None
        served.sandbox.faults.inject("status", method="GET", path=path, status=404, times=10**6)
        gone = await call_ok(client, "poll_job", {"job_id": handle["job_id"], "wait_seconds": 30})
        assert gone["status"] == "not_found" and gone["settled"] is True
        assert gone["next_poll_after_seconds"] is None
        assert "404" in gone["errors"][0]


class Harness:
    """The job service and its poller over one Motion session, on a manual clock."""

    def __init__(self, served: RunningSandbox, tmp_path: Path) -> None:
        async def on_change(record: JobRecord) -> None:
            return None

        self.clock = ManualClock(wall=1_000_000_000.0)
        self.journal = Journal(tmp_path / "jobs.sqlite3", clock=self.clock)
        retry = RetryPolicy(sleep=RecordingSleep())
        self.motion = MotionClient(api_key=SecretStr(MOTION_KEY), base_url=served.motion_base_url, retry=retry)
        self.poller = Poller(self.journal, mosaic=None, motion=self.motion, on_change=on_change, clock=self.clock)
        fingerprints: Any = {"mosaic_run": "f" * 12, "motion_session": "f" * 12}
        self.service = JobService(self.journal, self.poller, Notifier(), fingerprints, clock=self.clock)

    async def aclose(self) -> None:
        await self.journal.close()
        await self.motion.aclose()


@pytest.fixture
async def harness(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[tuple[Harness, RunningSandbox]]:
    """A frozen sandbox (switches by indirect parametrisation) and the job layer over it on a manual clock."""
    switches: dict[str, Any] = getattr(request, "param", {})
    async with serve_sandbox(Sandbox(SandboxConfig(speed=0, **switches))) as served:
        jobs = Harness(served, tmp_path)
        try:
            yield jobs, served
        finally:
            await jobs.aclose()


@pytest.mark.parametrize("harness", [{"motion_followup_keeps_id": True}], indirect=True, ids=["keeps-id"])
async def test_a_followup_sent_while_a_read_is_under_way_still_marks_the_previous_render(
    harness: tuple[Harness, RunningSandbox],
) -> None:
    """The poller's read answered after a same-id follow-up was sent is judged against the previous render."""
    jobs, served = harness
    accepted = await jobs.motion.create_session(MotionSessionRequest(prompt="A short launch video"))
    job_id = accepted.job_id
    await jobs.service.started("motion_session", job_id, status="queued", summary={})
    served.sandbox.advance(DONE)
    first = await jobs.service.refresh(job_id)  # completed, the MP4 not ready yet: still followed
    assert first.snapshot.status == "completed" and not first.snapshot.settled
    reading = anyio.Event()
    route = f"/api/motion/sessions/{job_id}"
    served.sandbox.faults.inject("latency", method="GET", path=route, after=True, delay=0.5, then=reading.set)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(jobs.poller.cycle)
            await reading.wait()  # the service has read the session (previous render, ready); the answer is held
            revised = await jobs.motion.create_followup(job_id, FollowupRequest(prompt="shorter"))
            assert revised.job_id == job_id
            await jobs.service.started("motion_session", job_id, status="queued", summary={}, parent_job_id=job_id)
    record = await jobs.service.get(job_id)
    assert not record.snapshot.settled and record.snapshot.outputs == []
    assert record.snapshot.replaces_render is not None


@pytest.mark.parametrize("reader", ["poller", "poll_job"])
async def test_a_404_reading_is_stamped_now(harness: tuple[Harness, RunningSandbox], reader: str) -> None:
    """Whether the poller or a poll_job reads the 404, checked_at is that reading's time and no poll is due."""
    jobs, served = harness
    accepted = await jobs.motion.create_session(MotionSessionRequest(prompt="A short launch video"))
    await jobs.service.started("motion_session", accepted.job_id, status="queued", summary={})
    await jobs.service.refresh(accepted.job_id)
    jobs.clock.advance(90)
    served.sandbox.faults.inject("status", method="GET", path=f"/api/motion/sessions/{accepted.job_id}", status=404)
    if reader == "poller":
        await jobs.poller.cycle()
        record = await jobs.service.get(accepted.job_id)
    else:
        record = await jobs.service.refresh(accepted.job_id)
    assert record.snapshot.status == "not_found" and record.snapshot.settled
    assert record.snapshot.checked_at == iso_utc(jobs.clock.wall())
    assert record.snapshot.next_poll_after_seconds is None
    assert jobs.poller.next_poll_after(accepted.job_id) is None


def test_the_switches_are_read_from_the_environment() -> None:
    """Each session-state switch has its MOSAIC_SANDBOX_ variable; all are off by default."""
    env = {
        "MOSAIC_SANDBOX_MOTION_FOLLOWUP_KEEPS_ID": "1",
        "MOSAIC_SANDBOX_MOTION_INPUT_PAUSE_SECONDS": "90",
        "MOSAIC_SANDBOX_MOTION_RENDER_FAILS": "true",
        "MOSAIC_SANDBOX_PROVENANCE_SOURCES": "yes",
    }
    on = config_from_env(env)
    assert on.motion_followup_keeps_id and on.motion_render_fails and on.provenance_sources
    assert on.motion_input_pause_seconds == 90.0
    off = config_from_env({})
    assert not (off.motion_followup_keeps_id or off.motion_render_fails or off.provenance_sources)
    assert off.motion_input_pause_seconds == 0.0
