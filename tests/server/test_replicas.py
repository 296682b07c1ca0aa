"""Two server replicas on one PostgreSQL database (fan-out) and one sandbox: what one sees reaches the other's clients."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client

from mosaic_mcp.server.api.transport import RecordingSleep, RetryPolicy
from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.jobs.poller import PollTiming
from mosaic_mcp.server.jobs.snapshot import JOBS_INDEX_URI
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID
from mosaic_mcp.server.sandbox.serve import serve_asgi
from mosaic_mcp.server.serve_http import build_http_app

from ..support import FAST_POLLING, VIDEO, call_ok, sandbox_settings
from .test_notifications import Heard
from .test_webhook_route import QUIET_POLLING, Served

pytestmark = pytest.mark.anyio


@pytest.fixture
async def frozen() -> AsyncIterator[RunningSandbox]:
    """The API emulator with its clock stopped: runs stay running until the test moves it."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=0.0))) as running:
        yield running


def replica(sandbox: RunningSandbox, folder: Path, database_url: str, timing: PollTiming) -> MosaicServer:
    """A server over the journal in `folder`, telling (and hearing) the replicas on `database_url`."""
    settings = sandbox_settings(sandbox, folder)
    return create_server(
        settings, poll_timing=timing, retry=RetryPolicy(sleep=RecordingSleep()), database_url=database_url
    )


@asynccontextmanager
async def listening(
    client: Client, mode: str, uris: list[str], heard: Heard, *, list_changes: bool = True
) -> AsyncIterator[None]:
    """Subscribe `client` to `uris` (2026: and to list changes) the way its generation does; `heard` notes events."""
    if mode == "legacy":  # 2025-era notifications arrive through the client's message handler
        for uri in uris:
            await client.subscribe_resource(uri)
        yield
        return
    async with client.listen(resources_list_changed=list_changes, resource_subscriptions=uris) as sub:
        async with anyio.create_task_group() as group:

            async def drain() -> None:
                async for event in sub:
                    heard.note(event)

            group.start_soon(drain)
            yield
            group.cancel_scope.cancel()


async def test_a_job_started_and_settled_on_one_replica_is_heard_on_the_other(
    postgres_url: str, frozen: RunningSandbox, tmp_path: Path, mode: str
) -> None:
    """A client of the replica that never polls the run hears it added, then its resource and the index updated."""
    polling = replica(frozen, tmp_path, postgres_url, FAST_POLLING)
    other = replica(frozen, tmp_path, postgres_url, QUIET_POLLING)  # the same journal; it never polls this run
    heard = Heard()

    async def on_message(message: Any) -> None:
        if mode == "legacy":  # 2026-07-28 events are read from the listen streams
            heard.note(message)

    async with Client(other, mode=mode, message_handler=on_message) as client:  # type: ignore[arg-type]
        async with listening(client, mode, [JOBS_INDEX_URI], heard):
            async with Client(polling, mode=mode) as starter:  # type: ignore[arg-type]
                run = await call_ok(starter, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
                with anyio.fail_after(10):
                    while heard.list_changed < 1:
                        heard.changed = anyio.Event()
                        await heard.changed.wait()
                async with listening(client, mode, [run["resource_uri"]], heard, list_changes=False):
                    frozen.sandbox.advance(3600)
                    await heard.until_updated(run["resource_uri"])
                    await heard.until_updated(JOBS_INDEX_URI)
    assert heard.list_changed == 1


@asynccontextmanager
async def serving(sandbox: RunningSandbox, folder: Path, database_url: str) -> AsyncIterator[Served]:
    """A replica's `serve --http` app on a free loopback port (a journal of its own in `folder`)."""
    settings = sandbox_settings(sandbox, folder)
    server = create_server(
        settings, poll_timing=QUIET_POLLING, retry=RetryPolicy(sleep=RecordingSleep()), database_url=database_url
    )
    async with serve_asgi(build_http_app(server, settings, host="127.0.0.1")) as port:
        yield Served(server, f"http://127.0.0.1:{port}", sandbox.sandbox)


async def test_a_delivery_at_a_replica_that_does_not_poll_the_run_wakes_the_one_that_does(
    postgres_url: str, frozen: RunningSandbox, tmp_path: Path
) -> None:
    """A webhook delivery that lands on the other replica makes the polling one read the run once, now."""
    async with (
        serving(frozen, tmp_path / "a", postgres_url) as polling,
        serving(frozen, tmp_path / "b", postgres_url) as other,
    ):
        job_id = await polling.start_run()
        polled = polling.polls(job_id)
        async with httpx2.AsyncClient(timeout=10) as http:
            delivered = await http.post(other.hook, json={"flag": "RUN_PROGRESS", "run_id": job_id})
        assert delivered.status_code == 200
        await polling.quiet(job_id, polls=polled + 1)
        assert polling.polls(job_id) == polled + 1
