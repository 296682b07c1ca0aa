"""Benchmark: `download_output` of a 1 GiB video vs curl and a raw httpx2 stream on the same URL.

Run by hand (not a test):

    .venv/bin/python bench/bench_download.py [--size-mb 1024] [--runs 3] [--no-length] [--md5] [--dir D]

- A file server in its own process (this script with `--serve`, a threaded `http.server` on
  127.0.0.1 that answers every GET with one sparse file by `sendfile`) stands in for cloud storage,
  so the server of the bytes is never the bottleneck. `--no-length` sends no Content-Length (the body
  ends when the connection closes): the path where the size is unknown. `--md5` adds the
  `x-goog-hash: md5=…` header cloud storage sends and turns `MOSAIC_MCP_VERIFY_DOWNLOAD_MD5` on, so
  the download checks it. `--dir /dev/shm` writes every file to memory: the disk's write-back, which
  makes a round of any of the three take from 1.2 to 3 s on this machine, is then out of the way.
- The sandbox (frozen clock) runs in its own thread for the API calls. One captions run is made and
  settled; its `video.mp4` link is pointed at the file server (the bench swaps the sandbox's URL
  signer; its thumbnail stays on the sandbox).
- Each round, interleaved: `curl -o`, a raw httpx2 stream (httpx2's defaults) written with `os.write`
  (the floors), then
  the `download_output` tool through the SDK's in-memory `Client`, counting its progress
  notifications. Files are deleted after each step. Bounded: `--runs` rounds, at most 10 minutes.
- Reports per path the median wall time, MiB/s, CPU of this process (curl: its own), the ratio of
  throughput to curl's (median of per-round ratios), and the notifications of each tool call.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.server
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpcore2
import httpx2
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import Client

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, table

from mosaic_mcp.server.app import create_server
from mosaic_mcp.server.config import load_settings
from mosaic_mcp.server.sandbox import Sandbox, SandboxConfig, seed, serve_sandbox

TIME_LIMIT = 600.0
VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


# -- the file server (a child process) -----------------------------------------------------------


def serve(path: Path, port: int, with_length: bool, md5: str | None) -> None:
    """Answer every GET with the file at `path`, by sendfile; until killed."""
    size = path.stat().st_size

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1" if with_length else "HTTP/1.0"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            if with_length:
                self.send_header("Content-Length", str(size))
            if md5:
                self.send_header("x-goog-hash", f"crc32c=AAAAAA==,md5={md5}")
            self.end_headers()
            with path.open("rb") as handle:
                self.wfile.flush()
                self.connection.sendfile(handle)
            if not with_length:
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def file_server(path: Path, with_length: bool, md5: str | None) -> Iterator[str]:
    port = free_port()
    args = [sys.executable, __file__, "--serve", str(path), "--port", str(port)]
    args += [] if with_length else ["--no-length"]
    args += ["--md5-value", md5] if md5 else []
    process = subprocess.Popen(args)
    url = f"http://127.0.0.1:{port}/big/video.mp4"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the file server did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


HTTPCORE_DEFAULT_READ = 64 * 1024

# -- the three paths -------------------------------------------------------------------------------


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_curl(url: str, target: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(["curl", "-sS", "-o", str(target), url], check=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


async def run_httpx(url: str, target: Path) -> tuple[float, float]:
    """A raw httpx2 stream with httpx2's defaults: the server raises httpcore's read size for the whole
    process (`server/api/transport.py`), so it is put back to the default for this path."""
    tuned = httpcore2.AsyncHTTP11Connection.READ_NUM_BYTES
    httpcore2.AsyncHTTP11Connection.READ_NUM_BYTES = HTTPCORE_DEFAULT_READ
    try:
        return await _run_httpx(url, target)
    finally:
        httpcore2.AsyncHTTP11Connection.READ_NUM_BYTES = tuned


async def _run_httpx(url: str, target: Path) -> tuple[float, float]:
    started, used = time.perf_counter(), cpu()
    async with httpx2.AsyncClient(timeout=60) as client, client.stream("GET", url) as response:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            async for chunk in response.aiter_raw():
                os.write(fd, chunk)
        finally:
            os.close(fd)
    return time.perf_counter() - started, cpu() - used


def remove(*paths: str) -> None:
    for path in paths:
        os.unlink(path)


async def run_tool(client: Client, job_id: str, folder: Path) -> tuple[float, float, int, int]:
    notifications = 0

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        nonlocal notifications
        notifications += 1

    started, used = time.perf_counter(), cpu()
    result = await client.call_tool(
        "download_output", {"job_id": job_id, "directory": str(folder)}, progress_callback=on_progress
    )
    elapsed, spent = time.perf_counter() - started, cpu() - used
    if result.is_error or result.structured_content is None:
        raise SystemExit(f"download_output failed: {result.content}")
    files = result.structured_content["files"]
    remove(*(entry["path"] for entry in files))
    return elapsed, spent, notifications, int(files[0]["size_bytes"])


# -- the run ---------------------------------------------------------------------------------------


async def settled_job(client: Client, portal: BlockingPortal, sandbox: Sandbox) -> str:
    started = await client.call_tool("run_agent", {"agent_id": seed.CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
    assert started.structured_content is not None, started.content
    job_id = str(started.structured_content["job_id"])
    for _ in range(50):
        portal.call(sandbox.advance, 3600.0)
        polled = await client.call_tool("poll_job", {"job_id": job_id, "wait_seconds": 0})
        if polled.structured_content and polled.structured_content["settled"]:
            return job_id
    raise SystemExit("the run did not settle")


async def measure(args: argparse.Namespace, url: str, portal: BlockingPortal, sandbox: Sandbox, base: str) -> None:
    work = Path(args.work)
    settings = load_settings(
        mosaic_api_key="mk_bench_download",
        motion_api_key="motion_bench_download",
        mosaic_api_base_url=base,
        motion_api_base_url=f"{base}/api/motion",
        home=work / "home",
        download_dir=work / "downloads",
        allowed_dirs=str(work),
        verify_download_md5=args.md5,
    )
    sign = sandbox.runs.sign
    sandbox.runs.sign = lambda blob_id, name: url if name == "video.mp4" else sign(blob_id, name)
    rows: dict[str, list[tuple[float, float]]] = {"curl": [], "httpx2 raw stream": [], "download_output": []}
    ratios: list[float] = []
    notes: list[int] = []
    size = 0
    deadline = time.monotonic() + TIME_LIMIT
    async with Client(create_server(settings)) as client:
        job_id = await settled_job(client, portal, sandbox)
        out = work / "out"
        out.mkdir()
        for _ in range(args.runs):
            if time.monotonic() > deadline:
                break
            curl = run_curl(url, out / "curl.mp4")
            (out / "curl.mp4").unlink()
            rows["curl"].append(curl)
            rows["httpx2 raw stream"].append(await run_httpx(url, out / "raw.mp4"))
            (out / "raw.mp4").unlink()
            elapsed, spent, count, size = await run_tool(client, job_id, out)
            rows["download_output"].append((elapsed, spent))
            notes.append(count)
            ratios.append(curl[0] / elapsed)
    mib = size / 2**20
    print(machine_line())
    print()
    what = "no Content-Length" if args.no_length else "Content-Length"
    print(f"{mib:,.0f} MiB, {what}{', x-goog-hash md5' if args.md5 else ''}, {len(ratios)} interleaved rounds")
    print()
    body = []
    for name, values in rows.items():
        wall = statistics.median(v[0] for v in values)
        body.append([name, wall, mib / wall, statistics.median(v[1] for v in values)])
    print(table(["path", "median s", "MiB/s", "CPU s"], body))
    print()
    print(
        f"download_output throughput / curl's: median {statistics.median(ratios):.2f} (per round: "
        + ", ".join(f"{r:.2f}" for r in ratios)
        + ")"
    )
    print(f"progress notifications per download_output: {notes}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-length", action="store_true", help="send no Content-Length")
    parser.add_argument("--md5", action="store_true", help="send x-goog-hash md5 and check it")
    parser.add_argument(
        "--dir", default=None, help="where the files are written (default: a temporary folder; /dev/shm: no disk)"
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--md5-value", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve), args.port, not args.no_length, args.md5_value)
        return
    if shutil.which("curl") is None:
        raise SystemExit("curl is needed (it is the floor)")
    with tempfile.TemporaryDirectory(dir=args.dir) as work:
        args.work = work
        big = Path(work) / "big.mp4"
        with big.open("wb") as handle:
            handle.write(b"\x00\x00\x00\x18ftypisom")
            handle.truncate(args.size_mb * 2**20)  # sparse: reads are cheap for the file server
        md5 = None
        if args.md5:
            digest = hashlib.md5()
            with big.open("rb") as handle:
                while block := handle.read(1 << 22):
                    digest.update(block)
            md5 = base64.b64encode(digest.digest()).decode()
        sandbox = Sandbox(SandboxConfig(speed=0.0))
        with (
            file_server(big, not args.no_length, md5) as url,
            start_blocking_portal() as portal,
            portal.wrap_async_context_manager(serve_sandbox(sandbox)) as running,
        ):
            anyio.run(measure, args, url, portal, sandbox, running.mosaic_base_url)


if __name__ == "__main__":
    main()
