"""One bad answer, row or disk cannot stop the server: poisoned ids, undecodable journal rows, a
failing run list and a full journal disk, end to end in memory against the sandbox."""

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.subscriptions import ResourceUpdated
from mcp.types import ResourceUpdatedNotification
from pydantic import SecretStr

from mosaic_mcp.server.api.transport import RecordingSleep, RetryPolicy
from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.config import Settings, key_fingerprint
from mosaic_mcp.server.jobs.journal import JobRecord, Journal
from mosaic_mcp.server.jobs.poller import PollTiming
from mosaic_mcp.server.jobs.snapshot import QUARANTINED, pending_snapshot
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import FAST_POLLING, MOSAIC_KEY, RUN, call_error, call_ok, fill_disk, sandbox_settings, sent, small_tmpfs
from .test_core_tools import VIDEO, follow

pytestmark = pytest.mark.anyio

POISONED = "a/b"
LIST_ROUTE = "/agent_runs"


def new_server(settings: Settings, timing: PollTiming = FAST_POLLING) -> MosaicServer:
    return create_server(settings, poll_timing=timing, retry=RetryPolicy(sleep=RecordingSleep()))


async def jobs_until(client: Client, done: Callable[[dict[str, dict[str, Any]]], bool]) -> dict[str, dict[str, Any]]:
    """list_jobs (by job id) once `done` holds for it; bounded in time and in tries."""
    with anyio.fail_after(20):
        for _ in range(2000):
            listed = await call_ok(client, "list_jobs", {"limit": 100})
            jobs = {job["job_id"]: job for job in listed["jobs"]}
            if done(jobs):
                return jobs
            await anyio.sleep(0.01)
    raise AssertionError(f"list_jobs never got there: {jobs}")


def quarantined(job_id: str) -> Callable[[dict[str, dict[str, Any]]], bool]:
    return lambda jobs: job_id in jobs and jobs[job_id]["status"] == QUARANTINED


async def journal_row_before_start(settings: Settings, job_id: str) -> None:
    """A live job row in the journal, as a previous run of the server (or an older version) left it."""
    journal = Journal(settings.journal_path)
    fingerprint = key_fingerprint(SecretStr(MOSAIC_KEY))
    await journal.add(JobRecord(job_id, "mosaic_run", fingerprint, pending_snapshot("mosaic_run", job_id, "running")))
    await journal.close()


async def restart_lists(settings: Settings, mode: str, job_id: str) -> None:
    """A fresh server on the same home initializes and lists the quarantined job."""
    async with Client(new_server(settings), mode=mode) as client:  # type: ignore[arg-type]
        jobs = await jobs_until(client, quarantined(job_id))
        assert jobs[job_id]["settled"]


async def test_a_run_started_with_an_unusable_id_is_quarantined_and_the_server_keeps_serving(
    served: RunningSandbox, tmp_path: Path, mode: str
) -> None:
    """The API answers a run start with an id containing '/': the start is refused as it arrives and
    reported as quarantined (it may be charged), other runs still work, and a restart still reports it."""
    settings = sandbox_settings(served, tmp_path)
    served.sandbox.faults.inject("status", method="POST", path="/agent/*/run", status=200, body={"run_id": POISONED})
    async with Client(new_server(settings), mode=mode) as client:  # type: ignore[arg-type]
        message = await call_error(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
        assert "cannot use" in message and "do not start it again" in message
        listed = await call_ok(client, "list_jobs")
        assert [u["state"] for u in listed["unresolved"]] == ["quarantined"]
        assert POISONED not in {job["job_id"] for job in listed["jobs"]}
        good = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
        _faulted, body = sent(served, RUN)  # the fault answers the first start without reading its body
        assert body == {"video_urls": [VIDEO]}
        assert (await follow(client, good["job_id"]))["status"] == "completed"
    async with Client(new_server(settings), mode=mode) as client:  # type: ignore[arg-type]
        listed = await call_ok(client, "list_jobs")
        assert [u["state"] for u in listed["unresolved"]] == ["quarantined"]


@pytest.mark.parametrize("job_id", [POISONED, "r" * 201], ids=["slash", "too-long"])
async def test_a_journaled_unusable_id_does_not_stop_the_next_start(
    served: RunningSandbox, tmp_path: Path, mode: str, job_id: str
) -> None:
    """A live journal row with an id that cannot be polled is quarantined after start; restarts work."""
    settings = sandbox_settings(served, tmp_path)
    await journal_row_before_start(settings, job_id)
    async with Client(new_server(settings), mode=mode) as client:  # type: ignore[arg-type]
        jobs = await jobs_until(client, quarantined(job_id))
        assert "id cannot be used" in jobs[job_id]["errors"][0]
        assert (await call_ok(client, "check_credits", {}))["balance"] > 0
    await restart_lists(settings, mode, job_id)


async def test_an_undecodable_journal_row_does_not_stop_the_start(
    served: RunningSandbox, tmp_path: Path, mode: str
) -> None:
    """A live journal row whose snapshot is not valid JSON: the server starts, lists it quarantined,
    and leaves the row as it was."""
    settings = sandbox_settings(served, tmp_path)
    await journal_row_before_start(settings, "spoilt")
    with sqlite3.connect(settings.journal_path) as db:
        db.execute("UPDATE jobs SET snapshot='{not json' WHERE job_id='spoilt'")
    async with Client(new_server(settings), mode=mode) as client:  # type: ignore[arg-type]
        jobs = await jobs_until(client, quarantined("spoilt"))
        assert "cannot be read" in jobs["spoilt"]["errors"][0]
        run = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
        assert sent(served, RUN) == [{"video_urls": [VIDEO]}]
        assert (await follow(client, run["job_id"]))["status"] == "completed"
    with sqlite3.connect(settings.journal_path) as db:
        assert db.execute("SELECT snapshot FROM jobs WHERE job_id='spoilt'").fetchone() == ("{not json",)


def read_once(jobs: dict[str, dict[str, Any]], run_ids: list[str]) -> bool:
    """Every run has had its first reading from the API (progress counts appear)."""
    return all(run_id in jobs and jobs[run_id]["progress"] is not None for run_id in run_ids)


@pytest.mark.parametrize("status", [404, 500])
async def test_runs_still_settle_and_notify_when_the_run_list_fails(
    served: RunningSandbox, tmp_path: Path, mode: str, status: int
) -> None:
    """With more live runs than the sweep threshold and GET /agent_runs failing every time, each run is
    still polled: all settle, and subscribers hear about each."""
    served.sandbox.clock.speed = 0
    served.sandbox.faults.inject("status", method="GET", path=LIST_ROUTE, status=status, times=100_000)
    updated: set[str] = set()
    all_heard = anyio.Event()
    uris: set[str] = set()

    def heard(uri: str) -> None:
        updated.add(uri)
        if uris and uris <= updated:
            all_heard.set()

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            heard(str(message.params.uri))

    server = new_server(sandbox_settings(served, tmp_path))
    async with Client(server, mode=mode, message_handler=on_message) as client:  # type: ignore[arg-type]
        runs = [
            await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
            for _ in range(FAST_POLLING.sweep_threshold + 2)
        ]
        run_ids = [run["job_id"] for run in runs]
        assert sent(served, RUN) == [{"video_urls": [VIDEO]}] * len(runs)
        await jobs_until(client, lambda jobs: read_once(jobs, run_ids))
        uris.update(run["resource_uri"] for run in runs)
        if mode == "legacy":
            for uri in uris:
                await client.subscribe_resource(uri)
            served.sandbox.advance(3600)
            with anyio.fail_after(20):
                await all_heard.wait()
        else:
            async with client.listen(resource_subscriptions=sorted(uris)) as sub:
                served.sandbox.advance(3600)
                with anyio.fail_after(20):
                    async for event in sub:
                        if isinstance(event, ResourceUpdated):
                            heard(event.uri)
                            if all_heard.is_set():
                                break
        jobs = await jobs_until(client, lambda jobs: all(jobs[r]["settled"] for r in run_ids))
        assert {jobs[r]["status"] for r in run_ids} == {"completed"}
    assert served.sandbox.count("GET", LIST_ROUTE) >= 1  # the list was tried, and failed


async def test_a_full_journal_disk_does_not_stop_the_server(served: RunningSandbox, tmp_path: Path, mode: str) -> None:
    """With MOSAIC_MCP_HOME on a full disk the poller's write fails: the server keeps serving the job
    from memory, and the journal catches up once there is space again."""
    served.sandbox.clock.speed = 0
    with small_tmpfs(tmp_path / "small-home") as home:
        settings = sandbox_settings(served, tmp_path, home=home)
        timing = PollTiming(initial=0.02, cap=0.1, idle_cap=0.2, adopt_every=0.5, journal_retry=0.05)
        async with Client(new_server(settings, timing), mode=mode) as client:  # type: ignore[arg-type]
            run = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
            assert sent(served, RUN) == [{"video_urls": [VIDEO]}]
            await jobs_until(client, lambda jobs: read_once(jobs, [run["job_id"]]))
            filler = fill_disk(home)
            served.sandbox.advance(3600)
            polled = await call_ok(client, "poll_job", {"job_id": run["job_id"], "wait_seconds": 5})
            assert polled["status"] == "completed" and polled["settled"]
            listed = await call_ok(client, "list_jobs", {})  # reads still work; the journal lags behind
            assert listed["jobs"][0]["job_id"] == run["job_id"]
            filler.unlink()
            jobs = await jobs_until(client, lambda jobs: jobs[run["job_id"]]["status"] == "completed")
            assert jobs[run["job_id"]]["outputs"]
        journal = Journal(settings.journal_path)
        stored = await journal.get(run["job_id"])
        await journal.close()
        assert stored is not None and stored.snapshot.status == "completed"
