"""Run the real `mosaic-mcp` command as a subprocess against a sandbox on loopback."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx2
import pytest

from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox

from ..support import MOSAIC_KEY, MOTION_KEY  # the one canary pair: no message may ever hold them


def mosaic_mcp_command() -> list[str]:
    """The installed console script (falls back to the module when not on PATH)."""
    script = Path(sys.executable).with_name("mosaic-mcp")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mosaic_mcp.server.cli"]


@pytest.fixture
async def served() -> AsyncIterator[RunningSandbox]:
    """The API emulator on a free loopback port, 60x real time."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=60.0))) as running:
        yield running


@pytest.fixture
def server_env(served: RunningSandbox, tmp_path: Path) -> dict[str, str]:
    """Environment for a server child: keys, sandbox URLs, a private home."""
    return {
        "MOSAIC_API_KEY": MOSAIC_KEY,
        "MOTION_API_KEY": MOTION_KEY,
        "MOSAIC_API_BASE_URL": served.mosaic_base_url,
        "MOTION_API_BASE_URL": served.motion_base_url,
        "MOSAIC_MCP_HOME": str(tmp_path / "home"),
        "MOSAIC_MCP_DOWNLOAD_DIR": str(tmp_path / "downloads"),
        "MOSAIC_MCP_MAX_WAIT_SECONDS": "10",
        "MOSAIC_MCP_POLL_INTERVAL": "0.1",
    }


def free_port() -> int:
    """A port nothing listens on right now (loopback)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def http_server(
    env: dict[str, str], *extra: str, port: int | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`mosaic-mcp serve --http` on a (free) loopback port; yields the process and the /mcp URL."""
    port = port or free_port()
    proc = subprocess.Popen(
        [*mosaic_mcp_command(), "serve", "--http", "--host", "127.0.0.1", "--port", str(port), *extra],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield proc, f"http://127.0.0.1:{port}/mcp"
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


async def wait_until_listening(url: str, proc: subprocess.Popen[bytes]) -> None:
    """Poll until the HTTP server accepts connections (bounded)."""
    with anyio.fail_after(20):
        async with httpx2.AsyncClient() as http:
            while True:
                assert proc.poll() is None, "server exited early"
                try:
                    await http.get(url.replace("/mcp", "/healthz"))
                    return
                except httpx2.TransportError:
                    await anyio.sleep(0.05)


@contextmanager
def sandbox_process(**env: str) -> Iterator[str]:
    """`mosaic-mcp sandbox --port N` as its own process (MOSAIC_SANDBOX_* in `env`); yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [*mosaic_mcp_command(), "sandbox", "--port", str(port)],
        env={**os.environ, **env},
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx2.get(f"{url}/whoami", timeout=1)
                break
            except httpx2.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
