"""The deployment of issue 14 end to end: nginx round-robin, two real `serve --http` replicas, one PostgreSQL.

An MCP client of each generation talks only to nginx. Its requests land on both replicas (their request log
lines and nginx's access log say so); it starts a Mosaic run and a Motion session, hears them change and follows
them to the end; and when the replica polling them is SIGKILLed mid-job, nothing is lost: the other replica
takes the jobs over (once its lease lapses) and the client's next calls succeed.
"""

from typing import Any

import anyio
import pytest
from mcp import Client

from mosaic_mcp.server.jobs.leases import LEASE_SECONDS
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..e2e.flow import call
from ..server.test_notifications import Heard
from ..server.test_replicas import listening
from ..support import MOSAIC_KEY, MOTION_KEY, VIDEO
from .cluster import Cluster, Replica

pytestmark = pytest.mark.anyio

ADOPT_SECONDS = 30.0
"""How often a replica looks in the journal for jobs to follow (`PollTiming.adopt_every`, not settable by env)."""


async def start_jobs(client: Client) -> list[dict[str, Any]]:
    """A Mosaic run and a Motion session, started through the load balancer."""
    run = await call(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
    session = await call(client, "create_video_session", {"prompt": "A 10 second product teaser"})
    return [run, session]


async def follow(client: Client, job: dict[str, Any]) -> dict[str, Any]:
    """`poll_job` with a wait until the job settles (bounded: 12 calls); its last snapshot."""
    for _ in range(12):
        snapshot = await call(client, "poll_job", {"job_id": job["job_id"], "wait_seconds": 5})
        if snapshot["settled"]:
            break
    return snapshot


async def settled_in_journal(client: Client, jobs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Wait until `list_jobs` (the journal only, never the API) shows every job settled; their entries.

    Only a replica's background poller can settle them there, so this shows that some replica polls them.
    Bounded (a dead replica's leases expire, then the survivor's next look for jobs to follow, every 30 s, plus a
    margin), so a job nobody takes over fails the test instead of hanging it; it is no measure of speed."""
    wanted = {job["job_id"] for job in jobs}
    with anyio.fail_after(LEASE_SECONDS + ADOPT_SECONDS + 30):
        while True:
            listed = {j["job_id"]: j for j in (await call(client, "list_jobs", {}))["jobs"] if j["job_id"] in wanted}
            if set(listed) == wanted and all(j["settled"] for j in listed.values()):
                return listed
            await anyio.sleep(0.5)


async def poller_of(cluster: Cluster, job_id: str) -> Replica:
    """The replica whose background poller reads `job_id` (the client sends no `poll_job` meanwhile); bounded."""
    before = [replica.reads(job_id) for replica in cluster.replicas]
    with anyio.fail_after(30):
        while True:
            grew = [replica.reads(job_id) - was for replica, was in zip(cluster.replicas, before, strict=True)]
            if max(grew) > 0:
                return cluster.replicas[grew.index(max(grew))]
            await anyio.sleep(0.1)


def served_counts(cluster: Cluster) -> list[int]:
    """The /mcp requests each replica has answered so far."""
    return [replica.requests() for replica in cluster.replicas]


async def test_jobs_followed_through_nginx_are_served_by_both_replicas(
    cluster: Cluster, frozen: RunningSandbox, mode: str
) -> None:
    """A client of nginx starts a run and a session, hears both change and follows them to the end on both replicas."""
    heard = Heard()

    async def on_message(message: Any) -> None:
        if mode == "legacy":  # 2026-07-28 events are read from the listen stream
            heard.note(message)

    async with Client(cluster.url, mode=mode, message_handler=on_message) as client:  # type: ignore[arg-type]
        jobs = await start_jobs(client)
        uris = [job["resource_uri"] for job in jobs]
        async with listening(client, mode, uris, heard, list_changes=False):
            frozen.sandbox.advance(3600)
            for job in jobs:
                assert (await follow(client, job))["status"] == "completed", job
            for uri in uris:
                await heard.until_updated(uri)
    counts = served_counts(cluster)
    assert all(count > 0 for count in counts), f"/mcp requests per replica: {counts}"
    assert cluster.upstreams() == {f"127.0.0.1:{r.port}" for r in cluster.replicas}
    for replica in cluster.replicas:  # -v logs every request, and still no key
        log = replica.log.read_text(errors="replace")
        assert MOSAIC_KEY not in log and MOTION_KEY not in log


async def test_a_replica_killed_mid_job_loses_no_job(cluster: Cluster, frozen: RunningSandbox, mode: str) -> None:
    """SIGKILL the replica polling the run mid-way: the other takes the jobs over to the end, the client carries on."""
    async with Client(cluster.url, mode=mode) as client:
        jobs = await start_jobs(client)
        await call(client, "list_jobs", {})
        counts = served_counts(cluster)
        assert all(count > 0 for count in counts), f"/mcp requests per replica: {counts}"
        run_id = jobs[0]["job_id"]
        polling = await poller_of(cluster, run_id)
        survivor = next(r for r in cluster.replicas if r is not polling)
        polling.kill()  # the jobs are mid-way: the sandbox's clock is stopped
        mark = len(frozen.sandbox.requests.records)
        survived, read = survivor.requests(), survivor.reads(run_id)

        listed = {j["job_id"] for j in (await call(client, "list_jobs", {}))["jobs"]}
        assert {job["job_id"] for job in jobs} <= listed, "a job was lost with its replica"
        frozen.sandbox.advance(3600)
        settled = await settled_in_journal(client, jobs)
        polled = [r.path for r in frozen.sandbox.requests.records[mark:] if r.method == "GET"]
        assert polled, "the jobs settled in the journal, yet nobody read the API after the kill"
        assert survivor.reads(run_id) > read, "the survivor never polled the run it took over"
        assert [settled[job["job_id"]]["status"] for job in jobs] == ["completed", "completed"]
        for job in jobs:  # and the client reads each job's end through the survivor
            assert (await follow(client, job))["status"] == "completed"
    assert survivor.requests() > survived
