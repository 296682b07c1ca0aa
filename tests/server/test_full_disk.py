"""A full disk under the journal: nothing is sent or charged, the tool says why, the server keeps serving."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client

from mosaic_mcp.server.api.transport import RecordingSleep, RetryPolicy
from mosaic_mcp.server.app import create_server
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import FAST_POLLING, RUN, call_error, call_ok, fill_disk, sandbox_settings, sent, small_tmpfs

pytestmark = pytest.mark.anyio

VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs for MOSAIC_MCP_HOME (skipped where it cannot be mounted)."""
    with small_tmpfs(tmp_path / "home") as folder:
        yield folder


async def test_full_disk_sends_nothing(served: RunningSandbox, small_disk: Path, tmp_path: Path, mode: str) -> None:
    """With the journal's disk full, run_agent and create_video_session send nothing and say why."""
    settings = sandbox_settings(served, tmp_path, home=small_disk)
    server = create_server(settings, poll_timing=FAST_POLLING, retry=RetryPolicy(sleep=RecordingSleep()))
    async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
        await call_ok(client, "list_agents")
        filler = fill_disk(small_disk)
        for tool, args in (
            ("run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]}),
            ("create_video_session", {"prompt": "A launch video"}),
        ):
            message = await call_error(client, tool, args)
            assert "disk is full" in message and str(small_disk) in message, message
            assert "nothing was sent" in message.lower() or "no credits" in message.lower(), message
        assert served.sandbox.count("POST") == 0, "no job-creating request left"
        await call_ok(client, "list_agents")  # still serving
        await call_ok(client, "list_jobs")

        filler.unlink()
        handle = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
        assert sent(served, RUN) == [{"video_urls": [VIDEO]}]
        listed = await call_ok(client, "list_jobs")
        assert handle["job_id"] in [j["job_id"] for j in listed["jobs"]]
