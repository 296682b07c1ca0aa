"""The upstream carries out a job or a payment, then its answer is lost: never paid twice, never lost.

Every job-creating and money-moving tool meets every way an answer can go missing after the work
was done (500, 502, 504, an unreadable body, a time-out, a dropped connection). Whatever happens,
the request went out once, the job is tracked or reported as "may exist", and no message tells the
model to try again.
"""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.types import ElicitRequestParams, ElicitResult

from mosaic_mcp.server.api.transport import RecordingSleep, RetryPolicy
from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox
from mosaic_mcp.server.sandbox.faults import LOST_ANSWERS
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import FAST_POLLING, SESSIONS, call_ok, sandbox_settings, sent, text_of

pytestmark = pytest.mark.anyio

VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
TIMEOUT = httpx2.Timeout(0.2, connect=2.0)

FAULTS = LOST_ANSWERS


@dataclass(frozen=True)
class Case:
    """A tool, its arguments, the route it POSTs to, how to count what the upstream did, and the exact body."""

    tool: str
    args: dict[str, Any]
    route: str
    effects: Callable[[Sandbox], int]
    body: dict[str, Any]


CASES = [
    Case(
        "run_agent",
        {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]},
        "/agent/{agent_id}/run",
        lambda s: len(s.runs.runs),
        {"video_urls": [VIDEO]},
    ),
    Case(
        "create_video_session",
        {"prompt": "A launch video"},
        "/api/motion/sessions",
        lambda s: len(s.motion.sessions),
        {"prompt": "A launch video"},
    ),
    Case(
        "followup_video_session",
        {"prompt": "Shorter intro"},  # job_id of a finished session is added by the test
        "/api/motion/sessions/{job_id}/followups",
        lambda s: len(s.motion.sessions),
        {"prompt": "Shorter intro"},
    ),
    Case("buy_credits", {"credits": 500}, "/credits/buy", lambda s: s.billing.purchased // 500, {"credits": 500}),
    Case(
        "upgrade_plan",
        {"plan_id": "professional"},
        "/plan/upgrade",
        lambda s: int(s.billing.plan_id == "professional"),
        {"plan_id": "professional"},
    ),
]


async def approve(context: Any, params: ElicitRequestParams) -> ElicitResult:
    """The user approves every confirmation prompt."""
    return ElicitResult(action="accept", content={"approve": True})


@pytest.fixture(scope="module")
async def served() -> AsyncIterator[RunningSandbox]:
    """The sandbox, clock frozen (nothing finishes unless a test advances it), credits for every case."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=0, credits=10**6, motion_credits=10**7))) as running:
        yield running


@pytest.fixture(scope="module", params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    """Both protocol generations."""
    return str(request.param)


@pytest.fixture(scope="module")
def server(served: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> MosaicServer:
    """Every toolset, short HTTP time-outs, back-off without sleeping."""
    settings = sandbox_settings(served, tmp_path_factory.mktemp("faults"), toolsets="all")
    retry = RetryPolicy(sleep=RecordingSleep())
    return create_server(settings, poll_timing=FAST_POLLING, retry=retry, http_timeout=TIMEOUT)


@pytest.fixture
async def client(server: MosaicServer, served: RunningSandbox, mode: str) -> AsyncIterator[Client]:
    """A connection whose user approves every prompt; the organisation back on its first plan."""
    served.sandbox.billing.plan_id = "creator"
    async with Client(server, mode=mode, elicitation_callback=approve) as connected:  # type: ignore[arg-type]
        yield connected


async def reported(client: Client, tool: str) -> int:
    """How many unresolved starts of `tool` list_jobs reports."""
    listed = await call_ok(client, "list_jobs", {"limit": 100})
    return sum(1 for u in listed["unresolved"] if u["action"] == tool)


async def tracked(client: Client) -> set[str]:
    """The job ids list_jobs tracks."""
    listed = await call_ok(client, "list_jobs", {"limit": 100})
    return {j["job_id"] for j in listed["jobs"]}


async def finished_session(client: Client, served: RunningSandbox) -> str:
    """A Motion session that completed (a follow-up needs one)."""
    handle = await call_ok(client, "create_video_session", {"prompt": "First cut"})
    assert sent(served, SESSIONS)[-1] == {"prompt": "First cut"}
    served.sandbox.advance(3600)
    done = await call_ok(client, "poll_job", {"job_id": handle["job_id"]})
    assert done["status"] == "completed"
    return str(handle["job_id"])


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("case", CASES, ids=[c.tool for c in CASES])
async def test_lost_answer_never_pays_twice(client: Client, served: RunningSandbox, case: Case, fault: str) -> None:
    """Done upstream, answer lost: sent once, tracked or reported as "may exist", never "try again"."""
    args = dict(case.args)
    if case.tool == "followup_video_session":
        args["job_id"] = await finished_session(client, served)
    before = case.effects(served.sandbox)
    reported_before = await reported(client, case.tool)
    tracked_before = await tracked(client)
    sent_before = served.sandbox.count("POST", case.route)
    served.sandbox.faults.inject(method="POST", path=case.route, after=True, **FAULTS[fault])

    result = await client.call_tool(case.tool, args)

    assert case.effects(served.sandbox) == before + 1, "the upstream carried it out once"
    with anyio.fail_after(5):  # a late answer is logged by the sandbox once it is finally sent
        while fault == "timeout" and served.sandbox.count("POST", case.route) == sent_before:  # noqa: ASYNC110
            await anyio.sleep(0.05)
    assert served.sandbox.count("POST", case.route) == sent_before + 1, "sent once: never resent after the work"
    assert sent(served, case.route)[sent_before:] == [case.body]
    message = text_of(result)
    assert "try again" not in message.lower()
    listed = await call_ok(client, "list_jobs", {"limit": 100})
    if result.is_error:
        assert "do not" in message.lower(), message
        assert "may" in message
        if case.tool in ("run_agent", "create_video_session", "followup_video_session", "buy_credits"):
            # Reported — or, for a run, already adopted by the background reconciler since.
            adopted = case.tool == "run_agent" and bool(await tracked(client) - tracked_before)
            assert adopted or await reported(client, case.tool) == reported_before + 1, "the possible job is reported"
    elif case.tool in ("run_agent", "create_video_session", "followup_video_session"):
        job_id = result.structured_content["job_id"]  # type: ignore[index]
        assert job_id in [j["job_id"] for j in listed["jobs"]], "the job is tracked"
        assert await reported(client, case.tool) == reported_before
