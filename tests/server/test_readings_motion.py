"""Motion inputs and answers where the docs are silent or disagree (issue 9: items 4, 5, 7, 14).

Each test drives the real tools in memory against the sandbox, with the switch that plays the
reading under test (see the switch list in `mosaic_mcp.server.sandbox`).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from mosaic_mcp.server.api.models import ViewUrl
from mosaic_mcp.server.api.transport import RecordingSleep, RetryPolicy
from mosaic_mcp.server.app import create_server
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, config_from_env, serve_sandbox
from mosaic_mcp.server.sandbox.motion import MODE_COST
from mosaic_mcp.server.sandbox.seed import VIDEO_IDS
from mosaic_mcp.server.usecases.motion import link_expiry

from ..support import FAST_POLLING, MOTION_KEY, call_error, call_ok, sandbox_settings

pytestmark = pytest.mark.anyio

SESSIONS = "/api/motion/sessions"
FOLLOWUPS = "/api/motion/sessions/*/followups"
PNG_HEAD = b"\x89PNG\r\n\x1a\n"


@dataclass
class Setup:
    """A client of a fresh server, the sandbox it talks to, and a folder it may read files from."""

    client: Client
    served: RunningSandbox
    media: Path

    @property
    def sandbox(self) -> Sandbox:
        return self.served.sandbox


@asynccontextmanager
async def motion_setup(tmp_path: Path, mode: str = "auto", **config: Any) -> AsyncIterator[Setup]:
    """A sandbox with `config` (clock 300x real time) and an in-memory client of a server pointed at it."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=300.0, **config))) as served:
        media = tmp_path / "media"
        media.mkdir()
        settings = sandbox_settings(served, tmp_path, allowed_dirs=str(media))
        server = create_server(settings, poll_timing=FAST_POLLING, retry=RetryPolicy(sleep=RecordingSleep()))
        async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
            yield Setup(client, served, media)


async def follow(client: Client, job_id: str) -> dict[str, Any]:
    """poll_job until the job is settled; its last snapshot."""
    with anyio.fail_after(30):
        while True:
            snap = await call_ok(client, "poll_job", {"job_id": job_id, "wait_seconds": 5})
            if snap["settled"]:
                return snap


def routes(sandbox: Sandbox) -> list[str]:
    """The route template of every request the sandbox saw, oldest first."""
    return [f"{r.method} {r.route}" for r in sandbox.requests.records]


# --- item 4: the credit minimum comes from the 402 body -----------------------------------------


@pytest.mark.parametrize(("newer", "minimum"), [(True, "1 credit"), (False, "300 credits")])
async def test_a_refused_start_quotes_the_minimum_and_balance_motion_sent(
    tmp_path: Path, newer: bool, minimum: str
) -> None:
    """A 402 quotes the body's minimum_required_credits and current_balance, in either revision."""
    async with motion_setup(tmp_path, motion_minimum_one_credit=newer) as setup:
        setup.sandbox.set_motion_credits(MOTION_KEY, 0)
        message = await call_error(setup.client, "create_video_session", {"prompt": "A teaser"})
    assert f"Motion needs at least {minimum} to start a session; the balance is 0" in message
    assert ("300" in message) is not newer


async def test_a_402_without_numbers_says_the_balance_is_below_the_minimum(tmp_path: Path, mode: str) -> None:
    """A 402 whose body has no minimum still explains itself, and invents no number."""
    async with motion_setup(tmp_path, mode) as setup:
        body = {"error": "insufficient_credits", "message": "Not enough credits"}
        setup.sandbox.faults.inject("status", method="POST", path=SESSIONS, status=402, body=body)
        message = await call_error(setup.client, "create_video_session", {"prompt": "A teaser"})
    assert "below the minimum Motion needs" in message and "top up in the Motion web app" in message
    assert "300" not in message


async def test_an_injected_402_quotes_the_minimum_the_sandbox_plays(tmp_path: Path) -> None:
    """A scripted 402 without a body gets the default body, with the minimum of the reading switched on."""
    async with motion_setup(tmp_path, motion_minimum_one_credit=True) as setup:
        setup.sandbox.faults.inject("status", method="POST", path=SESSIONS, status=402)
        message = await call_error(setup.client, "create_video_session", {"prompt": "A teaser"})
    assert "Motion needs at least 1 credit to start a session; the balance is 0" in message


def test_the_switches_are_off_by_default_and_read_from_the_environment() -> None:
    """The three Motion-input settings default to today's behaviour and come from MOSAIC_SANDBOX_* variables."""
    default = config_from_env({})
    assert (default.motion_minimum_one_credit, default.motion_without_pro_plan) == (False, False)
    assert default.view_url_ttl_seconds == 3600.0
    env = {
        "MOSAIC_SANDBOX_MOTION_MINIMUM_ONE_CREDIT": "1",
        "MOSAIC_SANDBOX_MOTION_WITHOUT_PRO_PLAN": "true",
        "MOSAIC_SANDBOX_VIEW_URL_TTL_SECONDS": "5",
    }
    config = config_from_env(env)
    assert (config.motion_minimum_one_credit, config.motion_without_pro_plan) == (True, True)
    assert config.view_url_ttl_seconds == 5.0


async def test_no_description_or_note_hard_codes_a_minimum(tmp_path: Path) -> None:
    """Neither the Motion tools' descriptions nor check_credits' Motion note name a fixed minimum balance."""
    async with motion_setup(tmp_path) as setup:
        tools = {t.name: t for t in (await setup.client.list_tools()).tools}
        report = await call_ok(setup.client, "check_credits")
    for name in ("create_video_session", "followup_video_session"):
        assert "300" not in (tools[name].description or "")
    assert "minimum" in report["motion"] and "300" not in report["motion"]


# --- item 5: local attachments and the life of their links --------------------------------------


async def test_local_attachments_work_end_to_end_with_links_asked_for_last(tmp_path: Path, mode: str) -> None:
    """Local files are all uploaded first, their view links asked for just before the start, and the video completes."""
    async with motion_setup(tmp_path, mode) as setup:
        (setup.media / "logo.png").write_bytes(PNG_HEAD + bytes(100))
        (setup.media / "end.png").write_bytes(PNG_HEAD + bytes(200))
        attachments = [{"path": str(setup.media / "logo.png")}, {"path": str(setup.media / "end.png"), "name": "End"}]
        handle = await call_ok(setup.client, "create_video_session", {"prompt": "A teaser", "attachments": attachments})
        final = await follow(setup.client, handle["job_id"])
        seen = routes(setup.sandbox)
    assert final["status"] == "completed" and final["download_ready"] is True
    start = seen.index(f"POST {SESSIONS}")
    assert seen[start - 2 : start] == ["POST /uploads/get_view_url"] * 2
    assert seen.count("POST /uploads/{kind}/finalize_upload") == 2
    assert max(i for i, r in enumerate(seen) if r.endswith("finalize_upload")) < start - 2
    notes = [w for w in handle["warnings"] if "view link" in w]
    assert len(notes) == 2
    assert "attachments[0] (logo.png)" in notes[0] and "attachments[1] (End)" in notes[1]
    assert all("expires at" in note for note in notes)


async def test_an_expired_attachment_link_fails_the_session_visibly(tmp_path: Path, mode: str) -> None:
    """A view link that expires before the session starts running fails it, and poll_job says why."""
    async with motion_setup(tmp_path, mode, view_url_ttl_seconds=1.0) as setup:
        (setup.media / "logo.png").write_bytes(PNG_HEAD + bytes(100))
        args = {"prompt": "A teaser", "attachments": [{"path": str(setup.media / "logo.png"), "name": "Logo"}]}
        handle = await call_ok(setup.client, "create_video_session", args)
        final = await follow(setup.client, handle["job_id"])
    assert final["status"] == "failed"
    (error,) = final["errors"]
    assert "attachments[0] (Logo)" in error and "expired" in error


async def test_a_tampered_link_into_the_sandbox_fails_the_session(tmp_path: Path) -> None:
    """The sandbox's Motion really checks a link it can fetch: a forged signature fails the session."""
    async with motion_setup(tmp_path) as setup:
        good = setup.sandbox.file_url(VIDEO_IDS[0], "video.mp4", 3600)
        args = {"prompt": "A teaser", "attachments": [{"url": good.replace("sig=", "sig=0"), "name": "Clip"}]}
        handle = await call_ok(setup.client, "create_video_session", args)
        final = await follow(setup.client, handle["job_id"])
    assert final["status"] == "failed"
    assert "attachments[0] (Clip)" in final["errors"][0] and "Invalid signature" in final["errors"][0]


async def test_a_public_attachment_url_is_not_fetched_offline(tmp_path: Path) -> None:
    """A link to another host is left alone by the offline sandbox: the session completes."""
    async with motion_setup(tmp_path, view_url_ttl_seconds=1.0) as setup:
        args = {"prompt": "A teaser", "attachments": [{"url": "https://cdn.example.com/logo.png"}]}
        handle = await call_ok(setup.client, "create_video_session", args)
        final = await follow(setup.client, handle["job_id"])
    assert final["status"] == "completed"
    assert not [w for w in handle["warnings"] if "view link" in w]


NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"signed_url": "https://s.example/a.png?X-Goog-Date=20261202T060000Z&X-Goog-Expires=900"}, NOW + 900),
        ({"signed_url": "https://s.example/a.png?X-Amz-Date=20261202T060000Z&X-Amz-Expires=60"}, NOW + 60),
        ({"signed_url": f"https://s.example/a.png?Expires={int(NOW)}&Signature=x"}, NOW),
        ({"signed_url": "https://s.example/a.png", "expires_at": "2026-12-02T06:00:00Z"}, NOW),
        ({"signed_url": "https://s.example/a.png?X-Goog-Date=garbage&X-Goog-Expires=900"}, None),
        ({"signed_url": "https://s.example/a.png"}, None),
    ],
)
def test_a_links_expiry_is_read_wherever_the_answer_gives_it(answer: dict[str, Any], expected: float | None) -> None:
    """The expiry comes from the answer's own field or the signed URL's parameters; unknown stays unknown."""
    assert link_expiry(ViewUrl.model_validate(answer)) == expected


async def test_an_unknown_link_lifetime_is_said_plainly(tmp_path: Path) -> None:
    """When neither the answer nor the link says when it expires, the result says Mosaic does not say."""
    async with motion_setup(tmp_path) as setup:
        (setup.media / "logo.png").write_bytes(PNG_HEAD + bytes(100))
        body = {"asset_type": "image", "asset_id": "x", "signed_url": "https://cdn.example.com/logo.png"}
        setup.sandbox.faults.inject("status", method="POST", path="/uploads/get_view_url", status=200, body=body)
        args = {"prompt": "A teaser", "attachments": [{"path": str(setup.media / "logo.png")}]}
        handle = await call_ok(setup.client, "create_video_session", args)
    (note,) = [w for w in handle["warnings"] if "view link" in w]
    assert "does not say how long the link lives" in note


# --- item 7: follow-up mode, design_md, Pro/Max options -----------------------------------------


async def test_a_followup_without_mode_runs_at_medium(tmp_path: Path) -> None:
    """A follow-up that gives no mode is charged and run as medium, not as its parent's high."""
    async with motion_setup(tmp_path) as setup:
        handle = await call_ok(setup.client, "create_video_session", {"prompt": "A teaser", "mode": "high"})
        await follow(setup.client, handle["job_id"])
        owner = setup.sandbox.motion_owner(MOTION_KEY)
        before = setup.sandbox.motion.balance(owner)
        await call_ok(setup.client, "followup_video_session", {"job_id": handle["job_id"], "prompt": "Shorter"})
        spent = before - setup.sandbox.motion.balance(owner)
        sent = setup.sandbox.requests.bodies("POST", FOLLOWUPS)
    assert spent == MODE_COST["medium"]
    assert sent == [{"prompt": "Shorter"}]


async def test_followup_mode_description_says_the_default(tmp_path: Path) -> None:
    """followup_video_session's mode says an omitted mode is medium, whatever the original's."""
    async with motion_setup(tmp_path) as setup:
        tools = {t.name: t for t in (await setup.client.list_tools()).tools}
    described = tools["followup_video_session"].input_schema["properties"]["mode"]["description"]
    assert "medium (the default when omitted, whatever the original's mode)" in described


@pytest.mark.parametrize(
    ("given", "body"),
    [
        ({"filename": "BRAND.md", "content": "# Brand"}, {"filename": "BRAND.md", "content": "# Brand"}),
        ({"content": "# Brand"}, {"content": "# Brand"}),
        ("# Brand", {"content": "# Brand"}),
    ],
)
async def test_design_md_is_taken_as_text_or_as_the_documented_object(
    tmp_path: Path, given: Any, body: dict[str, str]
) -> None:
    """design_md accepts {filename, content} as well as plain text, and sends the documented object."""
    async with motion_setup(tmp_path) as setup:
        await call_ok(setup.client, "create_video_session", {"prompt": "A teaser", "design_md": given})
        (sent,) = setup.sandbox.requests.bodies("POST", SESSIONS)
    assert sent["design_md"] == body


@pytest.mark.parametrize(
    ("given", "field"),
    [({"filename": "", "content": "x"}, "filename"), ({"content": ""}, "content"), ("", "design_md")],
)
async def test_a_bad_design_md_names_the_field_and_sends_nothing(tmp_path: Path, given: Any, field: str) -> None:
    """An empty DESIGN.md or file name is refused before any request, naming the field."""
    async with motion_setup(tmp_path) as setup:
        message = await call_error(setup.client, "create_video_session", {"prompt": "A teaser", "design_md": given})
        assert setup.sandbox.count("POST", SESSIONS) == 0
    assert field in message


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"design_system_id": "linear"}, "design_system_id needs"),
        ({"design_system_id": "linear", "design_md": "# Brand"}, "design_system_id and design_md need"),
    ],
)
async def test_pro_options_refused_by_the_plan_say_which_plan_is_needed(
    tmp_path: Path, options: dict[str, str], named: str
) -> None:
    """motion_pro_feature_required comes back naming the options and the Pro or Max plan, with no job tracked."""
    async with motion_setup(tmp_path, motion_without_pro_plan=True) as setup:
        message = await call_error(setup.client, "create_video_session", {"prompt": "A teaser", **options})
        jobs = await call_ok(setup.client, "list_jobs")
        plain = await call_ok(setup.client, "create_video_session", {"prompt": "A teaser"})
    assert "motion_pro_feature_required" in message
    assert named in message
    assert "Motion Pro or Max plan" in message and "without" in message
    assert "balance" not in message
    assert jobs["jobs"] == []
    assert plain["kind"] == "motion_session"


# --- item 14: a refused follow-up points at a tool that exists ----------------------------------


async def test_a_followup_refused_with_409_says_to_call_poll_job(tmp_path: Path, mode: str) -> None:
    """A follow-up on an unfinished session tells the model to call poll_job, not a tool that does not exist."""
    async with motion_setup(tmp_path, mode) as setup:
        setup.sandbox.clock.speed = 0
        handle = await call_ok(setup.client, "create_video_session", {"prompt": "A teaser"})
        args = {"job_id": handle["job_id"], "prompt": "Shorter"}
        message = await call_error(setup.client, "followup_video_session", args)
    assert f"poll_job('{handle['job_id']}')" in message
    assert "get_session" not in message
