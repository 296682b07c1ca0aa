"""Benchmark: upload a 1 GB sparse video through upload_file and report peak RSS and throughput.

Run by hand (not a test):

    .venv/bin/python bench/bench_upload.py [--size-mb 1024] [--runs 3]

The sandbox runs in its own process (`mosaic-mcp sandbox --port N`), so the peak RSS reported is
the MCP server's alone (in-memory client included): `resource.getrusage(RUSAGE_SELF).ru_maxrss`.
Target: under 150 MB for a 1 GB upload (the file is streamed in 1 MiB chunks, never held whole).

Each of `--runs` rounds first POSTs the same multipart body to a fresh upload slot with a plain
httpx2 client reading the file inline (the floor: what the emulator takes at best), then runs the
tool; the ratio of the two says whether the emulator or the server is the bottleneck.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import anyio
import httpx2
from mcp import Client

from mosaic_mcp.server.api.multipart import MultipartUpload
from mosaic_mcp.server.app import create_server
from mosaic_mcp.server.config import load_settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / (1024 * 1024)  # KB on Linux, bytes on macOS


def start_sandbox(port: int) -> subprocess.Popen[bytes]:
    cli = shutil.which("mosaic-mcp", path=str(Path(sys.executable).parent)) or "mosaic-mcp"
    process = subprocess.Popen([cli, "sandbox", "--port", str(port)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx2.get(f"http://127.0.0.1:{port}/whoami", timeout=1)
            return process
        except httpx2.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the sandbox did not start")


async def run(size_mb: int, runs: int, port: int, folder: Path) -> None:
    clip = folder / "big.mp4"
    with clip.open("wb") as handle:
        handle.write(b"\x00\x00\x00\x18ftypisom")
        handle.truncate(size_mb * 1024 * 1024)  # sparse: no disk space, no page cache to speak of
    settings = load_settings(
        mosaic_api_key="mk_bench_local",
        motion_api_key="motion_bench_local",
        mosaic_api_base_url=f"http://127.0.0.1:{port}",
        motion_api_base_url=f"http://127.0.0.1:{port}/api/motion",
        home=folder / "home",
        download_dir=folder / "downloads",
        allowed_dirs=str(folder),
    )
    counts: list[int] = []
    floors: list[float] = []
    tools: list[float] = []
    size = 0
    async with Client(create_server(settings)) as client:
        baseline = peak_rss_mb()
        for _ in range(runs):
            floors.append(await raw_upload(port, clip, size_mb * 2**20))
            elapsed, size, count = await tool_upload(client, clip)
            tools.append(elapsed)
            counts.append(count)
    tool, floor = statistics.median(tools), statistics.median(floors)
    print(f"date           {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, loadavg {os.getloadavg()[0]:.2f}")
    print(f"machine        {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"file           {size / 2**20:,.0f} MiB sparse video, via sandbox on 127.0.0.1 (separate process)")
    print(f"time           {tool:.1f} s (median of {len(tools)}; per run: {', '.join(f'{t:.1f}' for t in tools)})")
    print(f"throughput     {size / 2**20 / tool:,.0f} MiB/s")
    print(f"raw httpx2     {size / 2**20 / floor:,.0f} MiB/s (the same body, no MCP; tool / raw {floor / tool:.2f})")
    print(f"progress       {counts} notifications")
    print(f"peak RSS       {peak_rss_mb():.0f} MB (before the upload: {baseline:.0f} MB)")


async def tool_upload(client: Client, clip: Path) -> tuple[float, int, int]:
    notifications = 0

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        nonlocal notifications
        notifications += 1

    started = time.perf_counter()
    result = await client.call_tool("upload_file", {"path": str(clip)}, progress_callback=on_progress)
    elapsed = time.perf_counter() - started
    if result.is_error or result.structured_content is None:
        raise SystemExit(f"upload failed: {result.content}")
    return elapsed, int(result.structured_content["size_bytes"]), notifications


async def raw_upload(port: int, clip: Path, size: int) -> float:
    """The floor: a fresh upload slot, then the multipart POST read straight from the file."""
    base = f"http://127.0.0.1:{port}"
    async with httpx2.AsyncClient(timeout=120) as http:
        slot = (
            await http.post(f"{base}/uploads/video/get_upload_url", headers={"Authorization": "Bearer mk_bench_local"})
        ).json()

        async def chunks() -> AsyncIterator[bytes]:
            with clip.open("rb") as handle:  # inline reads: no thread hops
                while block := handle.read(1 << 20):
                    yield block

        body = MultipartUpload(slot["upload_fields"], chunks(), filename=clip.name, content_type="video/mp4", size=size)
        started = time.perf_counter()
        answer = await http.post(
            slot["upload_url"],
            content=body.stream(),
            headers={"Content-Type": body.content_type, "Content-Length": str(body.content_length)},
        )
        elapsed = time.perf_counter() - started
    if not answer.is_success:
        raise SystemExit(f"raw upload failed: {answer.status_code} {answer.text[:200]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    sandbox = start_sandbox(port)
    try:
        with tempfile.TemporaryDirectory() as folder:
            anyio.run(run, args.size_mb, args.runs, port, Path(folder))
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)


if __name__ == "__main__":
    main()
