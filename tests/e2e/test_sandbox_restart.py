"""`mosaic-mcp serve --sandbox` killed and started again on the same home: the emulated account is still there."""

import contextlib
import os
import signal
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support.processes import mosaic_mcp_command
from .flow import call

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL through a POSIX shell wrapper"),
]


def sandbox_server(home: Path, pid_file: Path, speed: float) -> StdioServerParameters:
    """`serve --sandbox` over stdio behind `sh -c 'exec …'`, which leaves the server's pid in `pid_file`."""
    return StdioServerParameters(
        command="/bin/sh",
        args=["-c", f'echo $$ > "{pid_file}"; exec "$@"', "sh", *mosaic_mcp_command(), "serve", "--sandbox"],
        env={
            "PATH": os.environ.get("PATH", ""),
            "MOSAIC_MCP_HOME": str(home / "home"),
            "MOSAIC_MCP_DOWNLOAD_DIR": str(home / "downloads"),
            "MOSAIC_MCP_POLL_INTERVAL": "0.1",
            "MOSAIC_MCP_MAX_WAIT_SECONDS": "10",
            "MOSAIC_SANDBOX_SPEED": str(speed),
        },
    )


async def settle(client: Client, job_id: str) -> dict[str, Any]:
    """Poll until the job settles (bounded); its last snapshot."""
    for _ in range(12):
        snap = await call(client, "poll_job", {"job_id": job_id, "wait_seconds": 5})
        if snap["settled"]:
            return snap
    raise AssertionError(f"job {job_id} did not settle: {snap}")


async def test_jobs_survive_a_sigkill_of_the_sandbox_server(tmp_path: Path) -> None:
    """Start a run and a Motion session, SIGKILL the server, restart it: both jobs complete and download."""
    pid_file = tmp_path / "server.pid"
    with anyio.fail_after(90):
        async with AsyncExitStack() as stack:
            client = await stack.enter_async_context(Client(sandbox_server(tmp_path, pid_file, 1.0), mode="legacy"))
            try:
                run = await call(
                    client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": ["https://youtu.be/dQw4w9WgXcQ"]}
                )
                session = await call(client, "create_video_session", {"prompt": "A 10 second product teaser"})
                await anyio.sleep(1.5)  # a few seconds into the jobs: the poller has been reading them
                for handle in (run, session):
                    assert not (await call(client, "poll_job", {"job_id": handle["job_id"]}))["settled"]
            finally:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
                with contextlib.suppress(Exception):  # the transport breaks under the killed server: the point
                    await stack.aclose()

        async with Client(sandbox_server(tmp_path, pid_file, 60.0), mode="auto") as client:
            for handle in (run, session):
                snap = await settle(client, handle["job_id"])
                assert snap["status"] == "completed", snap
                saved = await call(client, "download_output", {"job_id": handle["job_id"]})
                videos = [f for f in saved["files"] if f["part"] == "video"]
                assert videos, saved
                for video in videos:
                    data = await anyio.Path(video["path"]).read_bytes()
                    assert len(data) == video["size_bytes"] > 1000
                    assert data[4:8] == b"ftyp", "an MP4 from the sandbox"
