"""Helpers every suite shares: canary keys, settings, tool calls, a small disk.

Import helpers from here (`from ..support import call_ok`); shared fixtures live in
`tests/support/fixtures.py`, registered for the whole suite by `pytest_plugins` in tests/conftest.py.
"""

import errno
import os
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.types import CallToolResult, ElicitRequestParams, ElicitResult, TextContent

from mosaic_mcp.server.app import create_server
from mosaic_mcp.server.config import Settings, load_settings
from mosaic_mcp.server.jobs.poller import PollTiming
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox

MOSAIC_KEY = "mk_test_SECRET_canary_4242"
MOTION_KEY = "motion_test_SECRET_canary_4242"
"""Recognisable fake keys: no message, result or log line may ever contain them."""

FAST_POLLING = PollTiming(initial=0.02, cap=0.1, idle_cap=0.2, adopt_every=0.5)


def sandbox_settings(sandbox: RunningSandbox, folder: Path, *, media: bool = False, **overrides: Any) -> Settings:
    """Settings pointing both clients at the sandbox, with a private home and download folder.

    The suite's one settings helper; each folder's defaults are keyword arguments: tests/toolsets passes
    `toolsets="all"`, tests/files `media=True` (allow `folder/media`, MOSAIC_MCP_ALLOWED_DIRS) and
    `max_wait_seconds=5`."""
    values: dict[str, Any] = {
        "mosaic_api_key": MOSAIC_KEY,
        "motion_api_key": MOTION_KEY,
        "mosaic_api_base_url": sandbox.mosaic_base_url,
        "motion_api_base_url": sandbox.motion_base_url,
        "home": folder / "home",
        "download_dir": folder / "downloads",
        "max_wait_seconds": 10,
    }
    if media:
        values["allowed_dirs"] = str(folder / "media")
    values.update(overrides)
    return load_settings(**values)


def text_of(result: CallToolResult) -> str:
    """The text a model reads from a tool result."""
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))


async def call_ok(client: Client, name: str, args: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    """Call a tool that must succeed; its structured content."""
    result = await client.call_tool(name, args or {}, **kw)
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content


async def call_error(client: Client, name: str, args: dict[str, Any] | None = None) -> str:
    """Call a tool that must fail cleanly; the message the model reads (never a traceback or a key)."""
    result = await client.call_tool(name, args or {})
    assert result.is_error, result.structured_content
    message = text_of(result)
    assert "Traceback" not in message
    assert MOSAIC_KEY not in message
    assert MOTION_KEY not in message
    return message


NEEDS = "needs root and `mount -t tmpfs -o size=1m tmpfs DIR` (a small tmpfs for the full-disk test)"


@contextmanager
def small_tmpfs(folder: Path, options: str = "size=1m") -> Iterator[Path]:
    """Mount an empty 1 MB tmpfs on `folder` (created), unmount it afterwards; skip the test where impossible.

    `.ci/run` runs as root, so these tests run there (and CI fails if they were skipped)."""
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip(NEEDS)
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True, text=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"{NEEDS}; mount said: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


def fill_disk(folder: Path) -> Path:
    """Write a file until the disk is full; delete it to give the space back."""
    filler = folder / "filler"
    chunk = b"\0" * 4096
    with filler.open("wb", buffering=0) as out:
        for _ in range(1024):  # bounded: the disk is 1 MB
            try:
                out.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    return filler


# Building an SSL context costs ~0.15 s; every client would build its own. The sandbox is plain
# HTTP, so one shared context only keeps the suite fast.
_SSL = ssl.create_default_context()


def transport() -> httpx2.AsyncHTTPTransport:
    """A transport for a test client (shares the SSL context)."""
    return httpx2.AsyncHTTPTransport(verify=_SSL)


INITIALIZE: dict[str, Any] = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
"""A 2025-era `initialize` as raw JSON-RPC, for HTTP tests that speak to /mcp by hand."""
MCP_ACCEPT = {"Accept": "application/json, text/event-stream"}
"""The Accept header Streamable HTTP requires of a POST to /mcp."""

VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
"""A public video URL the sandbox accepts as a job input."""

RUN = "/agent/{agent_id}/run"
RESUME = "/agent_run/{run_id}/resume"
SESSIONS = "/api/motion/sessions"
FOLLOWUPS = "/api/motion/sessions/*/followups"
BUY_CREDITS = "/credits/buy"
UPGRADE_PLAN = "/plan/upgrade"
"""The routes of the job-starting and paying requests, as `sent` reads them."""


def sent(served: RunningSandbox | Sandbox, route: str) -> list[Any]:
    """The JSON bodies of every POST to `route` the sandbox received, oldest first."""
    sandbox = served.sandbox if isinstance(served, RunningSandbox) else served
    return sandbox.requests.bodies("POST", route)


Elicitation = Callable[[Any, ElicitRequestParams], Awaitable[ElicitResult]]


@asynccontextmanager
async def connect(settings: Settings, mode: str, elicitation: Elicitation | None = None) -> AsyncIterator[Client]:
    """An in-memory MCP client of a fresh server (declaring elicitation only with a callback)."""
    async with Client(create_server(settings), mode=mode, elicitation_callback=elicitation) as client:  # type: ignore[arg-type]
        yield client
