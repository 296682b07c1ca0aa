"""SIGKILL at random moments during 50 job starts: every job created upstream is tracked or reported."""

import random
import signal
from collections import Counter
from typing import Any

import anyio
import pytest
from mcp import Client

from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID, PIP_AGENT_ID

from ..support.processes import http_server, wait_until_listening
from .flow import call

pytestmark = pytest.mark.anyio

STARTS = 50
PER_LIFE = 10
SLOW_CREATE = 0.8  # seconds the upstream takes before it creates a job


def start_args(rng: random.Random, n: int) -> tuple[str, dict[str, Any]]:
    """A run of one of two agents with 1-3 inputs, or a Motion session."""
    if n % 5 == 4:
        return "create_video_session", {"prompt": f"Crash test video {n}"}
    agent = CAPTIONS_AGENT_ID if rng.random() < 0.5 else PIP_AGENT_ID
    urls = [f"https://www.youtube.com/watch?v=crash{n}x{i}" for i in range(rng.randint(1, 3))]
    if agent == PIP_AGENT_ID:
        return "run_agent", {"agent_id": agent, "video_urls": urls[:1]}
    return "run_agent", {"agent_id": agent, "video_urls": urls}


async def one_life(env: dict[str, str], rng: random.Random, first: int, upstream: Sandbox) -> int:
    """Start a server, fire a few starts at once, SIGKILL it at a random moment once the first create
    reached the upstream (however slow this machine is); returns starts sent."""
    sent = 0
    with http_server(env) as (proc, url):
        await wait_until_listening(url, proc)
        with anyio.move_on_after(15):
            try:
                async with Client(url, mode="legacy") as client, anyio.create_task_group() as tg:

                    async def start(n: int) -> None:
                        tool, args = start_args(rng, n)
                        try:
                            await client.call_tool(tool, args)
                        except Exception:  # the server died under it: that is the point
                            return

                    for i in range(PER_LIFE):
                        tg.start_soon(start, first + i)
                        sent += 1
                    creates = len(upstream.faults.fired)
                    with anyio.move_on_after(10):
                        while len(upstream.faults.fired) == creates:  # noqa: ASYNC110 - the sandbox has no event
                            await anyio.sleep(0.01)
                    await anyio.sleep(rng.uniform(0.0, SLOW_CREATE * 1.6))
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(timeout=10)
                    tg.cancel_scope.cancel()
            except BaseException as exc:  # connection torn down mid-call
                if isinstance(exc, KeyboardInterrupt):
                    raise
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
    return sent


async def test_every_started_job_survives_a_kill(server_env: dict[str, str], served: RunningSandbox) -> None:
    """Kill the server during 50 slow starts, restart it: each upstream job is tracked or reported."""
    upstream = served.sandbox
    upstream.faults.inject("latency", method="POST", path="/agent/{agent_id}/run", delay=SLOW_CREATE, times=10_000)
    upstream.faults.inject("latency", method="POST", path="/api/motion/sessions", delay=SLOW_CREATE, times=10_000)
    env = {**server_env, "MOSAIC_MCP_POLL_INTERVAL": "0.2"}
    rng = random.Random(15)
    sent = 0
    while sent < STARTS:
        sent += await one_life(env, rng, sent, upstream)
    await anyio.sleep(SLOW_CREATE + 0.5)  # requests the upstream was still working on are done now

    with http_server(env) as (proc, url):
        await wait_until_listening(url, proc)
        async with Client(url, mode="auto") as client:
            with anyio.fail_after(30):
                while True:  # the reconciler's first pass runs in the background after start-up
                    listed = await call(client, "list_jobs", {"limit": 100})
                    runs = upstream.runs.runs
                    tracked = {j["job_id"] for j in listed["jobs"]}
                    if set(runs) <= tracked or len(listed["unresolved"]) > 0:
                        break
                    await anyio.sleep(0.2)
            await anyio.sleep(1.0)  # one more reconciler pass
            listed = await call(client, "list_jobs", {"limit": 100})

    tracked = {j["job_id"] for j in listed["jobs"]}
    unresolved = Counter(
        (u["action"], u["target"]) for u in listed["unresolved"] if u["state"] in ("checking", "may_exist")
    )
    untracked_runs = Counter(
        ("run_agent", run.agent_id) for run in upstream.runs.runs.values() if run.run_id not in tracked
    )
    for (action, agent), count in untracked_runs.items():
        assert unresolved[(action, agent)] >= count, f"{count} untracked runs of {agent} are not all reported"
    untracked_sessions = [s for s in upstream.motion.sessions if s not in tracked]
    assert unresolved[("create_video_session", None)] >= len(untracked_sessions)
    assert len(upstream.runs.runs) + len(upstream.motion.sessions) > 0, "some starts reached the upstream"
    assert tracked & set(upstream.runs.runs), "reconciliation adopted runs it could prove"
