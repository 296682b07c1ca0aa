"""The real `mosaic-mcp` command as a child process: its command line, a free port, an HTTP server, a sandbox."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import anyio
import httpx2


def mosaic_mcp_command() -> list[str]:
    """The installed console script (falls back to the module when not on PATH)."""
    script = Path(sys.executable).with_name("mosaic-mcp")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mosaic_mcp.server.cli"]


def free_port() -> int:
    """A port nothing listens on right now (loopback)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End a child process: terminate, and kill it if it has not gone after 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def http_server(
    env: dict[str, str], *extra: str, port: int | None = None, stderr: IO[bytes] | int = subprocess.PIPE
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`mosaic-mcp serve --http` on a (free) loopback port; yields the process and the /mcp URL.

    Its stderr is a pipe the test may read, or `stderr` (a file, to keep the server's whole log)."""
    port = port or free_port()
    proc = subprocess.Popen(
        [*mosaic_mcp_command(), "serve", "--http", "--host", "127.0.0.1", "--port", str(port), *extra],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    try:
        yield proc, f"http://127.0.0.1:{port}/mcp"
    finally:
        stop(proc)
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
def sandbox_process(*args: str, **env: str) -> Iterator[str]:
    """`mosaic-mcp sandbox --port N [args]` as its own process (MOSAIC_SANDBOX_* in `env`); yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [*mosaic_mcp_command(), "sandbox", "--port", str(port), *args],
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
        stop(proc)
