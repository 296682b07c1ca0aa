"""`serve --sandbox` restarted on the same home: a finished job's links work again (issue 9, item 16)."""

import socket
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import pytest
from mcp import Client

from mosaic_mcp.server.app import create_server
from mosaic_mcp.server.config import load_settings
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import FAST_POLLING, VIDEO, call_ok

pytestmark = pytest.mark.anyio


async def finished(client: Client, job_id: str) -> dict[str, object]:
    """poll_job until the job settles (the sandbox runs fast)."""
    with anyio.fail_after(30):
        while True:
            snap = await call_ok(client, "poll_job", {"job_id": job_id, "wait_seconds": 5})
            if snap["settled"]:
                return snap


async def test_a_poll_after_a_restart_on_another_port_hands_out_working_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """The emulator comes back on another port (the old one is taken): poll_job gives links to the new one."""
    monkeypatch.setenv("MOSAIC_SANDBOX_SPEED", "600")
    settings = load_settings(sandbox=True, home=tmp_path / "home", download_dir=tmp_path / "downloads")
    async with Client(create_server(settings, poll_timing=FAST_POLLING), mode=mode) as first:  # type: ignore[arg-type]
        handle = await call_ok(first, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
        before = await finished(first, handle["job_id"])
    old_port = urlsplit(before["outputs"][0]["video_url"]).port  # type: ignore[index]

    with socket.socket() as squatter:  # the old port is taken by someone else now
        squatter.bind(("127.0.0.1", old_port))
        squatter.listen()
        async with Client(create_server(settings, poll_timing=FAST_POLLING), mode=mode) as second:  # type: ignore[arg-type]
            after = await call_ok(second, "poll_job", {"job_id": handle["job_id"]})
            assert urlsplit(after["outputs"][0]["video_url"]).port != old_port
            saved = await call_ok(second, "download_output", {"job_id": handle["job_id"]})
    assert saved["files"] and (await anyio.Path(saved["files"][0]["path"]).read_bytes())[4:8] == b"ftyp"
