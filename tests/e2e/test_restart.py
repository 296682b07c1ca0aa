"""A job survives the server being killed: after a restart it is listed and followed to the end."""

import signal

import anyio
import pytest
from mcp import Client

from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import RUN, sent
from ..support.processes import http_server, wait_until_listening
from .flow import call

pytestmark = pytest.mark.anyio


async def test_job_survives_sigkill(server_env: dict[str, str], served: RunningSandbox) -> None:
    """SIGKILL mid-run, restart on the same home: the job is listed, polling resumes, outputs arrive."""
    served.sandbox.clock.speed = 0  # freeze the API so the run is surely mid-way when we kill
    with http_server(server_env) as (proc, url):
        await wait_until_listening(url, proc)
        async with Client(url, mode="legacy") as client:
            run = await call(
                client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": ["https://youtu.be/dQw4w9WgXcQ"]}
            )
        assert sent(served, RUN) == [{"video_urls": ["https://youtu.be/dQw4w9WgXcQ"]}]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    served.sandbox.clock.speed = 60.0
    with http_server(server_env) as (proc, url):
        await wait_until_listening(url, proc)
        async with Client(url, mode="auto") as client:
            listed = [r.uri for r in (await client.list_resources()).resources]
            assert run["resource_uri"] in listed
            # Only the background poller runs now: list_jobs reads the journal, never the API.
            with anyio.fail_after(30):
                while True:
                    jobs = (await call(client, "list_jobs", {}))["jobs"]
                    mine = next(j for j in jobs if j["job_id"] == run["job_id"])
                    if mine["settled"]:
                        break
                    await anyio.sleep(0.2)
            assert mine["status"] == "completed" and mine["outputs"]
