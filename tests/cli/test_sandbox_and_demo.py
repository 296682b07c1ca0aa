"""`mosaic-mcp sandbox` says where it listens; `mosaic-mcp demo` ends with the next step."""

import os
import re
import select
import subprocess
import time

import httpx2

from mosaic_mcp.server.demo import installed_command

from ..support.processes import mosaic_mcp_command
from . import run


def test_sandbox_says_where_it_listens() -> None:
    """`mosaic-mcp sandbox --port 0` prints its URL on stderr (nothing on stdout), and the URL answers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOSAIC_", "MOTION_"))}
    proc = subprocess.Popen(
        [*mosaic_mcp_command(), "sandbox", "--port", "0"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None and proc.stdout is not None
        said, url = b"", None
        deadline = time.monotonic() + 30
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            if select.select([proc.stderr], [], [], 0.1)[0]:
                said += os.read(proc.stderr.fileno(), 4096)
                found = re.search(rb"on (http://127\.0\.0\.1:\d+) \(Motion at \1/api/motion\)", said)
                url = found.group(1).decode() if found else None
        assert url is not None, said.decode()
        assert "Ctrl-C stops it" in said.decode()
        answer = httpx2.get(f"{url}/whoami", headers={"Authorization": "Bearer mk_sandbox_cli"}, timeout=5)
        assert answer.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        out = proc.stdout.read() if proc.stdout is not None else b""
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert out == b""


def test_the_demo_ends_with_the_next_steps() -> None:
    """The demo's last lines say how to add the server to a host (its absolute command) and to run doctor."""
    result = run(["demo", "--speed", "300"], timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    ending = result.stdout.split("▶ next steps", 1)[1]
    command = installed_command()
    assert f"{command} doctor" in ending
    assert f"claude mcp add mosaic -e MOSAIC_API_KEY=mk_… -e MOTION_API_KEY=motion_… -- {command}" in ending
    assert "Use it from your assistant" in ending
