"""Retries and reconciliation: what is resent, what never is, and how unanswered run starts end."""

from __future__ import annotations

import random
import socket

import anyio
import httpx2
import pytest
from pydantic import SecretStr

from mosaic_mcp.server.api import (
    APIConnectionError,
    APIError,
    MosaicClient,
    MotionClient,
    MotionSessionRequest,
    OutcomeUnknownError,
    RecordingSleep,
    RetryPolicy,
    RunRequest,
    ServerError,
)
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, seed

from ..support import transport

pytestmark = pytest.mark.anyio

RUN_ROUTE = "/agent/{agent_id}/run"
RUN = RunRequest(video_ids=[seed.VIDEO_IDS[0]])


async def test_get_retried_after_503(mosaic: MosaicClient, sandbox: Sandbox, sleep: RecordingSleep) -> None:
    """An idempotent GET that got a 503 is sent again and succeeds."""
    sandbox.faults.inject("status", status=503, method="GET", path="/credits")
    assert (await mosaic.get_credits()).balance > 0
    assert sandbox.count("GET", "/credits") == 2
    assert len(sleep.delays) == 1


async def test_retry_after_honoured(mosaic: MosaicClient, sandbox: Sandbox, sleep: RecordingSleep) -> None:
    """The back-off before a retry is the server's Retry-After (429 and 503 alike)."""
    sandbox.faults.inject("rate_limit", method="GET", path="/whoami", retry_after=7)
    sandbox.faults.inject("status", status=503, method="GET", path="/whoami", headers={"Retry-After": "3"})
    await mosaic.whoami()
    assert sleep.delays == [7, 3]
    assert sandbox.count("GET", "/whoami") == 3


async def test_backoff_grows_when_no_retry_after(mosaic: MosaicClient, sandbox: Sandbox, sleep: RecordingSleep) -> None:
    """Without Retry-After the delays grow exponentially (with jitter) and the attempts are capped."""
    sandbox.faults.inject("server_error", method="GET", path="/plan", times=10)
    with pytest.raises(ServerError):
        await mosaic.get_plan()
    assert sandbox.count("GET", "/plan") == 4
    assert len(sleep.delays) == 3
    assert sleep.delays[0] < sleep.delays[1] < sleep.delays[2]


async def test_timeout_then_retry(served: RunningSandbox, sandbox: Sandbox) -> None:
    """A GET that timed out is retried and the second answer is used."""
    sandbox.faults.inject("latency", method="GET", path="/whoami", delay=0.3)
    sleep = RecordingSleep()
    async with MosaicClient(
        transport=transport(),
        api_key=SecretStr("mk_test"),
        base_url=served.mosaic_base_url,
        timeout=httpx2.Timeout(0.1),
        retry=RetryPolicy(sleep=sleep),
    ) as client:
        assert (await client.whoami()).organization_id == seed.ORGANIZATION_ID
    assert len(sleep.delays) == 1
    # The timed-out request is still being answered (0.3 s late): let it land in this test's log, not the next's.
    with anyio.fail_after(5):
        while sandbox.count("GET", "/whoami") < 2:  # noqa: ASYNC110 (the sandbox signals nothing)
            await anyio.sleep(0.02)


async def test_sent_run_start_not_retried_after_500(
    mosaic: MosaicClient, sandbox: Sandbox, sleep: RecordingSleep
) -> None:
    """A job-creating POST that got a 500 is not sent again: it may have started a run."""
    sandbox.faults.inject("server_error", method="POST", path=RUN_ROUTE)
    with pytest.raises(OutcomeUnknownError, match="may exist"):
        await mosaic.run_agent(seed.CAPTIONS_AGENT_ID, RUN)
    assert sandbox.count("POST", RUN_ROUTE) == 1
    assert sleep.delays == []


async def test_run_start_429_is_retried(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """A 429 on a job-creating POST is retried: the service refused it before doing anything."""
    sandbox.faults.inject("rate_limit", method="POST", path=RUN_ROUTE, retry_after=1)
    assert (await mosaic.run_agent(seed.CAPTIONS_AGENT_ID, RUN)).run_id
    assert sandbox.count("POST", RUN_ROUTE) == 2


async def test_lost_answer_reconciled(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """A run start whose answer was lost is not resent: the one new run is found and adopted."""
    await mosaic.run_agent(seed.CAPTIONS_AGENT_ID, RUN)  # an older run the reconciliation must skip
    sandbox.faults.inject("drop", method="POST", path=RUN_ROUTE, after=True)
    created = await mosaic.run_agent(seed.CAPTIONS_AGENT_ID, RUN)
    assert sandbox.count("POST", RUN_ROUTE) == 2
    newest = (await mosaic.list_agent_runs(seed.CAPTIONS_AGENT_ID, limit=1)).runs[0]
    assert created.run_id == newest.run_id


async def test_malformed_answer_reconciled(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """A run start answered with an unreadable body is reconciled the same way."""
    sandbox.faults.inject("malformed", method="POST", path=RUN_ROUTE, after=True)
    created = await mosaic.run_agent(seed.CAPTIONS_AGENT_ID, RUN)
    assert (await mosaic.get_run(created.run_id)).agent_id == seed.CAPTIONS_AGENT_ID
    assert sandbox.count("POST", RUN_ROUTE) == 1


async def test_unknown_outcome_said_plainly(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """When no new run can be found, OutcomeUnknownError says it may exist and how to check."""
    sandbox.faults.inject("drop", method="POST", path=RUN_ROUTE)  # dropped before any run started
    with pytest.raises(OutcomeUnknownError) as caught:
        await mosaic.run_agent(seed.CAPTIONS_AGENT_ID, RUN)
    message = str(caught.value)
    assert "may exist and may be charged" in message
    assert "list_runs" in message
    assert sandbox.count("POST", RUN_ROUTE) == 1


async def test_motion_create_outcome_unknown(motion: MotionClient, sandbox: Sandbox) -> None:
    """A Motion create whose answer was lost is not resent and says how to check."""
    sandbox.faults.inject("drop", method="POST", path="/api/motion/sessions", after=True)
    with pytest.raises(OutcomeUnknownError, match="Motion web app"):
        await motion.create_session(MotionSessionRequest(prompt="A teaser"))
    assert sandbox.count("POST", "/api/motion/sessions") == 1


async def test_post_retried_on_connect_error() -> None:
    """A job-creating POST to a closed port is retried (it provably never left)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleep = RecordingSleep()
    retry = RetryPolicy(sleep=sleep)
    async with MosaicClient(
        transport=transport(), api_key=SecretStr("mk_test"), base_url=f"http://127.0.0.1:{port}", retry=retry
    ) as client:
        with pytest.raises(APIConnectionError):
            await client.create_agent(name="x")
    assert len(sleep.delays) == retry.attempts - 1


async def test_malformed_get_retried(mosaic: MosaicClient, sandbox: Sandbox, sleep: RecordingSleep) -> None:
    """A 200 on an idempotent GET whose body is not JSON is asked again, like a 5xx, and the next answer used."""
    sandbox.faults.inject("malformed", method="GET", path="/credits")
    assert (await mosaic.get_credits()).balance > 0
    assert sandbox.count("GET", "/credits") == 2
    assert len(sleep.delays) == 1


async def test_wrong_shape_get_retried(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """A 200 on a GET whose JSON lacks the documented fields is asked again and the next answer used."""
    run = await mosaic.run_agent(seed.CAPTIONS_AGENT_ID, RUN)
    sandbox.faults.inject("status", status=200, body={"unexpected": True}, method="GET", path="/agent_run/*")
    assert (await mosaic.get_run(run.run_id)).status
    assert sandbox.count("GET", "/agent_run/{run_id}") == 2


async def test_wrong_shape_run_start_not_resent(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """A run start answered 200 with the wrong shape is never sent again: the run is found instead."""
    sandbox.faults.inject("status", status=200, body={"unexpected": True}, method="POST", path=RUN_ROUTE, after=True)
    created = await mosaic.run_agent(seed.CAPTIONS_AGENT_ID, RUN)
    assert (await mosaic.get_run(created.run_id)).agent_id == seed.CAPTIONS_AGENT_ID
    assert sandbox.count("POST", RUN_ROUTE) == 1


async def test_malformed_motion_create_not_resent(motion: MotionClient, sandbox: Sandbox) -> None:
    """A Motion session create answered 200 with a body that is not JSON is not sent again."""
    sandbox.faults.inject("malformed", method="POST", path="/api/motion/sessions", after=True)
    with pytest.raises(APIError):
        await motion.create_session(MotionSessionRequest(prompt="A teaser"))
    assert sandbox.count("POST", "/api/motion/sessions") == 1


async def test_429_without_retry_after_backs_off_capped_and_jittered(
    mosaic: MosaicClient, sandbox: Sandbox, sleep: RecordingSleep, monkeypatch: pytest.MonkeyPatch
) -> None:
    """429s without Retry-After (none is documented): delays grow from rate_limit_delay, jittered, capped."""
    monkeypatch.setattr(sandbox.config, "rate_limit_without_retry_after", True)
    sandbox.faults.inject("rate_limit", method="GET", path="/whoami", times=3)
    await mosaic.whoami()
    assert sandbox.count("GET", "/whoami") == 4
    policy = RetryPolicy()
    low, high = 1 - policy.jitter, 1 + policy.jitter
    for number, delay in enumerate(sleep.delays, start=1):
        base = min(policy.rate_limit_delay * 2 ** (number - 1), policy.max_delay)
        assert base * low <= delay <= min(base * high, policy.max_delay), (number, delay)
    assert sleep.delays[0] < sleep.delays[1] < sleep.delays[2]
    assert sleep.delays != [2.0, 4.0, 8.0]  # jittered, not lock-step with every other limited client


async def test_429_back_off_stays_under_the_cap() -> None:
    """However many retries, a delay without Retry-After never exceeds max_delay, jitter included."""
    policy = RetryPolicy(rng=random.Random(3))
    delays = [policy.backoff(n, None, rate_limited=True) for n in range(1, 40)]
    assert max(delays) <= policy.max_delay
    assert len(set(delays[5:])) > 1  # at the cap the jitter still spreads clients apart


async def test_rate_limit_without_header_is_not_waited_as_one_second(
    mosaic: MosaicClient, sandbox: Sandbox, sleep: RecordingSleep, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The switch really drops the header: with it off the sandbox's Retry-After (1 s) is what the client waits."""
    sandbox.faults.inject("rate_limit", method="GET", path="/whoami")
    await mosaic.whoami()
    monkeypatch.setattr(sandbox.config, "rate_limit_without_retry_after", True)
    sandbox.faults.inject("rate_limit", method="GET", path="/whoami")
    await mosaic.whoami()
    assert sleep.delays[0] == 1
    assert sleep.delays[1] != 1
