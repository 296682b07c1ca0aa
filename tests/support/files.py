"""Helpers for the local-file tests: settle a job on a frozen sandbox clock, record progress, write files."""

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from mosaic_mcp.server.sandbox import RunningSandbox

from . import call_ok

HOUR = 3600.0


async def settle(client: Client, served: RunningSandbox, job_id: str) -> dict[str, Any]:
    """Move the sandbox clock until the job is settled; its snapshot."""
    with anyio.fail_after(15):
        while True:
            served.sandbox.advance(HOUR)
            snap = await call_ok(client, "poll_job", {"job_id": job_id, "wait_seconds": 0})
            if snap["settled"]:
                return snap


ProgressLog = list[tuple[float, float | None, str | None]]


def progress_recorder() -> tuple[ProgressLog, Callable[[float, float | None, str | None], Awaitable[None]]]:
    """A progress callback and the list it records into."""
    seen: ProgressLog = []

    async def record(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    return seen, record


def write_file(path: Path, size: int, head: bytes = b"") -> Path:
    """A file of `size` bytes starting with `head`."""
    path.write_bytes(head + b"\x00" * (size - len(head)))
    return path
