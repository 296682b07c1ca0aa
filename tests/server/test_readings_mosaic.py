"""Mosaic answers the docs leave open or give in two revisions: every reading is handled (issue 9, items 8–13).

Each test drives the real tools against the sandbox with the switch that plays one reading on
(`served.sandbox.config`, see server/sandbox/config.py under "Mosaic answers"), and most run both
readings, so a regression in either fails here.
"""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client

from mosaic_mcp.server.api.transport import RecordingSleep, RetryPolicy
from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.jobs.poller import PollTiming
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox
from mosaic_mcp.server.sandbox.seed import (
    CAPTIONS_AGENT_ID,
    CAPTIONS_AGENT_INPUT_NODE_ID,
    CAPTIONS_AGENT_REFRAME_NODE_ID,
)

from ..support import FAST_POLLING, MOSAIC_KEY, VIDEO, call_error, call_ok, sandbox_settings, transport

pytestmark = pytest.mark.anyio

RUN_ROUTE = "/agent/{agent_id}/run"
RESUME_ROUTE = "/agent_run/{run_id}/resume"
CANCEL_ROUTE = "/agent_run/{run_id}/cancel"
SLOW_POLLING = PollTiming(initial=600.0, cap=600.0, idle_cap=600.0, adopt_every=600.0)
"""A poller that never reads a job during a test: only the tool call under test does."""


@pytest.fixture
async def served() -> AsyncIterator[RunningSandbox]:
    """A sandbox per test (its switches are flipped per test), clock frozen: time moves only by advance()."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=0))) as running:
        yield running


@pytest.fixture
def sleep() -> RecordingSleep:
    """The server's back-off sleeps, recorded instead of slept."""
    return RecordingSleep()


def _server(served: RunningSandbox, folder: Path, sleep: RecordingSleep, timing: PollTiming) -> MosaicServer:
    settings = sandbox_settings(served, folder, toolsets="all", allow_without_prompt="publishing")
    return create_server(settings, poll_timing=timing, retry=RetryPolicy(sleep=sleep))


@pytest.fixture
def server(served: RunningSandbox, tmp_path: Path, sleep: RecordingSleep) -> MosaicServer:
    """Every toolset, publishing allowed with confirm=true, fast polling, no real back-off sleeps."""
    return _server(served, tmp_path, sleep, FAST_POLLING)


@pytest.fixture
async def quiet_client(
    served: RunningSandbox, tmp_path: Path, sleep: RecordingSleep, mode: str
) -> AsyncIterator[Client]:
    """A client of a server whose poller stays quiet, so the server's last reading of a job is kept."""
    async with Client(_server(served, tmp_path, sleep, SLOW_POLLING), mode=mode) as connected:  # type: ignore[arg-type]
        yield connected


async def _raw(served: RunningSandbox, path: str) -> dict[str, Any]:
    """A Mosaic body exactly as the sandbox answers it (to see which reading a switch plays)."""
    headers = {"Authorization": f"Bearer {MOSAIC_KEY}"}
    async with httpx2.AsyncClient(base_url=served.mosaic_base_url, transport=transport()) as http:
        response = await http.get(path, headers=headers)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


async def _run_captions(client: Client, served: RunningSandbox, **extra: Any) -> str:
    """Start the captions agent on one video; the body the sandbox saw is exactly the one asked for."""
    args = {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO], **extra}
    handle = await call_ok(client, "run_agent", args)
    assert served.sandbox.requests.bodies("POST", RUN_ROUTE)[-1] == {"video_urls": [VIDEO], **extra}
    return str(handle["job_id"])


# -- 8. needs_credits or needsCredits ---------------------------------------------------------


@pytest.mark.parametrize("camel", [False, True], ids=["needs_credits", "needsCredits"])
async def test_either_credit_flag_blocks_the_run_and_shows_the_way_back(
    client: Client, served: RunningSandbox, camel: bool
) -> None:
    """A run starved of credits is blocked for credits, with the recovery path, whichever spelling the API uses."""
    served.sandbox.config.needs_credits_camel = camel
    served.sandbox.billing.balance = 20  # Captions (20) runs, Reframe (15) cannot
    job_id = await _run_captions(client, served)
    served.sandbox.advance(300)
    raw = await _raw(served, f"/agent_run/{job_id}")
    assert ("needsCredits" in raw, "needs_credits" in raw) == (camel, not camel)  # the reading under test
    stuck = await call_ok(client, "poll_job", {"job_id": job_id})
    assert stuck["settled"] is True and stuck["needs_credits"] is True
    for step in ("check_credits", "upgrade_plan", "buy_credits", f"resume_run('{job_id}')"):
        assert step in stuck["next_step"]
    nodes = (await call_ok(client, "get_run_nodes", {"run_id": job_id}))["nodes"]
    starved = [n for n in nodes if n["needs_credits"]]
    assert [n["original_node_id"] for n in starved] == [CAPTIONS_AGENT_REFRAME_NODE_ID]
    assert all("needsCredits" not in n for n in nodes)
    report = await call_ok(client, "check_credits")
    assert job_id in report["jobs_blocked_for_credits"]


# -- 9. GET /credits: flat balance or nested credits.balance ------------------------------------


@pytest.mark.parametrize("nested", [False, True], ids=["flat", "nested"])
async def test_the_balance_is_read_from_either_credits_shape(
    client: Client, served: RunningSandbox, nested: bool
) -> None:
    """check_credits and run_agent's balance check read the real balance from either shape, never 0."""
    served.sandbox.config.credits_nested = nested
    served.sandbox.billing.balance = 4321
    raw = await _raw(served, "/credits")
    assert ("balance" in raw, "credits" in raw) == (not nested, nested)  # the reading under test
    report = await call_ok(client, "check_credits")
    assert report["balance"] == 4321
    assert report["low_balance"] is False
    handle = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
    assert not handle["warnings"], handle  # no "Low Mosaic balance: 0 credits" from an unread shape
    assert served.sandbox.requests.bodies("POST", RUN_ROUTE) == [{"video_urls": [VIDEO]}]


async def test_a_credits_answer_without_any_balance_is_an_error_not_zero(
    client: Client, served: RunningSandbox
) -> None:
    """A GET /credits body with neither shape is reported as unreadable, never as a balance of 0."""
    served.sandbox.faults.inject(
        "status", status=200, body={"organization_id": "org", "plan": "creator"}, method="GET", path="/credits", times=9
    )
    message = await call_error(client, "check_credits")
    assert "balance" in message and "documented shape" in message
    assert '"balance": 0' not in message


# -- 10. social posts: destinations (newer) or platforms (older) ---------------------------------


async def test_a_post_goes_to_destinations_as_given(client: Client, served: RunningSandbox) -> None:
    """The newer form: destinations are sent as social_connection_ids, and nothing else is added."""
    cid = served.sandbox.social.connect({"platform": "linkedin"}).connection_id
    args = {"destinations": [cid], "post": "Launch day", "confirm": True}
    result = await call_ok(client, "create_social_post", args)
    assert result["links"][0]["platform"] == "linkedin"
    sent = served.sandbox.requests.bodies("POST", "/social/post")
    assert sent == [{"post": "Launch day", "destinations": [{"social_connection_id": cid}]}]


async def test_the_older_revision_gets_the_platforms_it_requires(client: Client, served: RunningSandbox) -> None:
    """With platforms required (older revision), platforms go out as given and the post is published."""
    served.sandbox.config.social_requires_platforms = True
    served.sandbox.social.connect({"platform": "x"})
    result = await call_ok(client, "create_social_post", {"platforms": ["x"], "post": "Launch day", "confirm": True})
    assert result["links"][0]["platform"] == "x"
    assert served.sandbox.requests.bodies("POST", "/social/post") == [{"post": "Launch day", "platforms": ["x"]}]


async def test_a_refusal_for_the_other_form_says_which_to_send(client: Client, served: RunningSandbox) -> None:
    """When the older revision refuses destinations-only, the message says to send platforms instead."""
    served.sandbox.config.social_requires_platforms = True
    cid = served.sandbox.social.connect({"platform": "x"}).connection_id
    message = await call_error(client, "create_social_post", {"destinations": [cid], "post": "Hi", "confirm": True})
    assert "platforms is required" in message
    assert "call create_social_post again with platforms" in message


async def test_a_post_without_any_target_is_refused_before_sending(client: Client, served: RunningSandbox) -> None:
    """Neither destinations nor platforms: refused naming both forms, nothing sent."""
    message = await call_error(client, "create_social_post", {"post": "Hi", "confirm": True})
    assert "destinations" in message and "platforms" in message
    assert served.sandbox.count("POST", "/social/post") == 0


# -- 11. mimir_assets; errors[] as strings or objects --------------------------------------------


async def test_run_agent_sends_mimir_assets(client: Client, served: RunningSandbox) -> None:
    """mimir_assets go from the tool into the run body as given, and the sandbox runs them."""
    assets = [{"id": "mimir-4f1c", "artifact": "proxy"}, {"id": "mimir-77aa"}]
    handle = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "mimir_assets": assets})
    assert served.sandbox.requests.bodies("POST", RUN_ROUTE) == [{"mimir_assets": assets}]
    run = served.sandbox.runs.get(handle["job_id"])
    assert len(run.inputs) == 2


async def test_mimir_assets_per_video_input(client: Client, served: RunningSandbox) -> None:
    """A video_inputs entry takes mimir_assets too, sent inside the entry."""
    entry = {"agent_node_id": CAPTIONS_AGENT_INPUT_NODE_ID, "mimir_assets": [{"id": "mimir-1", "artifact": "auto"}]}
    await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_inputs": [entry]})
    assert served.sandbox.requests.bodies("POST", RUN_ROUTE) == [{"video_inputs": [entry]}]


@pytest.mark.parametrize(
    ("asset", "field"),
    [({"id": "m", "artifact": "original"}, "artifact"), ({"id": " "}, "mimir_assets[0].id")],
    ids=["artifact", "blank-id"],
)
async def test_bad_mimir_assets_are_refused_before_any_request(
    client: Client, served: RunningSandbox, asset: dict[str, str], field: str
) -> None:
    """An undocumented artifact or a blank id is refused naming the field; nothing is sent or charged."""
    message = await call_error(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "mimir_assets": [asset]})
    assert field in message
    assert served.sandbox.count("POST", RUN_ROUTE) == 0


@pytest.mark.parametrize("strings", [False, True], ids=["objects", "strings"])
async def test_errors_are_read_as_strings_or_objects(client: Client, served: RunningSandbox, strings: bool) -> None:
    """A failed tile's error text reaches poll_job and get_run_nodes as text, whatever the entries' shape."""
    served.sandbox.config.string_errors = strings
    served.sandbox.fail_next_nodes(CAPTIONS_AGENT_REFRAME_NODE_ID, message="Audio transcription timed out after 300s")
    job_id = await _run_captions(client, served)
    served.sandbox.advance(300)
    raw = await _raw(served, f"/agent_run/{job_id}/nodes")
    shapes = {type(e) for n in raw["nodes"] for e in n["errors"]}
    assert shapes == ({str} if strings else {dict})  # the reading under test
    done = await call_ok(client, "poll_job", {"job_id": job_id})
    assert done["settled"] is True
    assert len(done["errors"]) == 1 and done["errors"][0].endswith("Audio transcription timed out after 300s")
    nodes = (await call_ok(client, "get_run_nodes", {"run_id": job_id}))["nodes"]
    failed = [n for n in nodes if n["status"] == "failed"]
    assert [n["errors"] for n in failed] == [["Audio transcription timed out after 300s"]]


# -- 12. cancel of a finished run; resume of a run that cannot be resumed -------------------------


@pytest.mark.parametrize("status", [409, 400, 422])
async def test_cancel_of_a_run_that_already_finished_reports_how_it_ended(
    quiet_client: Client, served: RunningSandbox, status: int
) -> None:
    """Whatever 4xx the API answers, a cancel of a run that finished meanwhile is a normal result with its end."""
    served.sandbox.config.cancel_finished_status = status
    job_id = await _run_captions(quiet_client, served)
    served.sandbox.advance(600)  # it completes upstream; the server still has it as running
    ended = await call_ok(quiet_client, "cancel_job", {"job_id": job_id})
    (cancel,) = served.sandbox.requests.matching("POST", CANCEL_ROUTE)
    assert cancel.status == status  # the reading under test: the API refused the cancel with this 4xx
    assert ended["status"] == "completed" and ended["settled"] is True
    assert ended["outputs"]


async def test_cancel_refused_while_running_is_still_an_error(quiet_client: Client, served: RunningSandbox) -> None:
    """A 4xx to the cancel of a run that is still running is the refusal, not a made-up ending."""
    job_id = await _run_captions(quiet_client, served)
    served.sandbox.faults.inject("status", status=422, method="POST", path=CANCEL_ROUTE, body={"detail": "nope"})
    message = await call_error(quiet_client, "cancel_job", {"job_id": job_id})
    assert "422" in message and "nope" in message


async def test_resume_of_a_completed_run_says_why_and_what_instead(client: Client, served: RunningSandbox) -> None:
    """resume_run on a completed run says it completed and to use its outputs or run_agent; never "retry"."""
    job_id = await _run_captions(client, served)
    served.sandbox.advance(600)
    message = await call_error(client, "resume_run", {"run_id": job_id})
    assert served.sandbox.requests.bodies("POST", RESUME_ROUTE) == [None]
    assert f"run {job_id} is completed" in message
    assert "only failed or cancelled runs can be resumed" in message
    assert f"poll_job('{job_id}')" in message and "run_agent" in message
    assert "retry when it is" not in message


async def test_resume_of_a_running_run_says_to_follow_it(client: Client, served: RunningSandbox) -> None:
    """resume_run on a run that is still going says to follow it with poll_job instead."""
    job_id = await _run_captions(client, served)
    message = await call_error(client, "resume_run", {"run_id": job_id})
    assert served.sandbox.requests.bodies("POST", RESUME_ROUTE) == [None]
    assert f"run {job_id} is running" in message
    assert f"poll_job('{job_id}', wait_seconds=30)" in message
    assert "retry when it is" not in message


async def test_resume_of_a_failed_run_still_resumes(client: Client, served: RunningSandbox) -> None:
    """The documented case is unchanged: a run stopped for credits resumes, with no body, and completes."""
    served.sandbox.billing.balance = 20
    job_id = await _run_captions(client, served)
    served.sandbox.advance(300)
    await call_ok(client, "poll_job", {"job_id": job_id})
    served.sandbox.billing.balance = 1000
    resumed = await call_ok(client, "resume_run", {"run_id": job_id})
    assert served.sandbox.requests.bodies("POST", RESUME_ROUTE) == [None]
    assert resumed["job_id"] == job_id and resumed["nodes_queued"] == 1
    served.sandbox.advance(300)
    assert (await call_ok(client, "poll_job", {"job_id": job_id}))["status"] == "completed"


# -- 13. 429 without Retry-After --------------------------------------------------------------


async def test_rate_limits_without_retry_after_are_waited_out(
    client: Client, served: RunningSandbox, sleep: RecordingSleep
) -> None:
    """Two 429s without Retry-After on a tool's GET: backed off (growing, capped, jittered) and then answered."""
    served.sandbox.config.rate_limit_without_retry_after = True
    served.sandbox.faults.inject("rate_limit", method="GET", path="/credits", times=2)
    report = await call_ok(client, "check_credits")
    assert report["balance"] == served.sandbox.billing.balance
    assert served.sandbox.count("GET", "/credits") == 3
    policy = RetryPolicy()
    first, second = sleep.delays[:2]
    assert policy.rate_limit_delay * (1 - policy.jitter) <= first <= policy.rate_limit_delay * (1 + policy.jitter)
    assert first < second <= policy.max_delay


# -- /social/posts cursor name and /whoami scopes placement (reference §8, still open)


@pytest.mark.parametrize("field", ["next_cursor", "cursor", "nextCursor"])
async def test_every_page_of_social_posts_is_reached_whatever_the_cursor_is_called(
    client: Client, served: RunningSandbox, field: str
) -> None:
    """Three posts read two at a time: the second page is reached with the cursor the API named its way."""
    served.sandbox.config.social_posts_cursor_field = field
    cid = served.sandbox.social.connect({"platform": "linkedin"}).connection_id
    for n in range(3):
        await call_ok(client, "create_social_post", {"destinations": [cid], "post": f"post {n}", "confirm": True})
    first = await call_ok(client, "list_social_posts", {"limit": 2})
    assert len(first["posts"]) == 2 and first["next_cursor"]
    second = await call_ok(client, "list_social_posts", {"limit": 2, "cursor": first["next_cursor"]})
    assert [p["description"] for p in first["posts"] + second["posts"]] == ["post 2", "post 1", "post 0"]
    assert second["next_cursor"] is None


@pytest.mark.parametrize("nested", [False, True], ids=["top-level", "under-key"])
async def test_whoami_reports_the_scopes_wherever_they_are(
    client: Client, served: RunningSandbox, nested: bool
) -> None:
    """A restricted key's scopes reach the model whether /whoami gives them at the top or under `key`."""
    served.sandbox.config.whoami_scopes = ("agents:read", "agent_runs:read")
    served.sandbox.config.whoami_scopes_nested = nested
    me = await call_ok(client, "whoami")
    assert me["scopes"] == ["agents:read", "agent_runs:read"]
