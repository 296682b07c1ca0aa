"""Benchmark: `poll_job` latency over stdio and the server's RSS with 10,000 live runs (and 100, the floor).

Run by hand (not a test):

    .venv/bin/python bench/bench_stdio_poll.py [--sizes 100,10000] [--calls 300] [--cold-calls 100] \
        [--settle-seconds 20] [--gap-ms 20] [--mode legacy]

Per size, fresh each time:

1. The sandbox in its own process: the real `mosaic-mcp sandbox --port P` on 127.0.0.1 with a frozen
   clock (`MOSAIC_SANDBOX_SPEED=0`, so every run stays `running`) and ample credits.
2. N runs of the seeded captions agent are started over HTTP (`POST /agent/{id}/run`, 8 at a time)
   with a sandbox-style key (`mk_…`), then journaled in a fresh `MOSAIC_MCP_HOME` as `run_agent`
   journals them (the `Journal` class, a pending snapshot, the key's fingerprint).
3. The real `mosaic-mcp serve` child over stdio (the SDK's `Client`, `--mode`), pointed at the
   sandbox by `MOSAIC_API_BASE_URL` / `MOTION_API_BASE_URL`: its poller follows all N runs.
4. `poll_job(job_id)` (no wait: one upstream GET of a running run) on random journaled runs, one at a
   time with `--gap-ms` between calls: `--cold-calls` right after `initialize` (the poller's first
   look over all N runs is under way), then after `--settle-seconds` the measured `--calls`.
5. The server process's RSS (`VmRSS`) and peak (`VmHWM`) from /proc/PID/status: after `initialize`,
   after the settle window and at the end.

Reports p50 / p90 / p99 / max latency (ms) per size and window, with the RSS. Target (issue 16):
at 10,000 live runs `poll_job` p99 <= 50 ms over stdio and RSS <= 250 MB. Loopback only; every wait
is bounded (10 minutes in all; creating 10,000 runs over HTTP takes about a minute).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client, StdioServerParameters
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import clean_env, machine_line, p50, p90, percentile, table

from mosaic_mcp.server.api import MosaicClient, RunRequest
from mosaic_mcp.server.config import key_fingerprint, load_settings
from mosaic_mcp.server.jobs.journal import JobRecord, Journal
from mosaic_mcp.server.jobs.snapshot import pending_snapshot
from mosaic_mcp.server.sandbox import seed

MOSAIC_KEY = "mk_bench_stdio_poll"
MOTION_KEY = "motion_bench_stdio_poll"
CLI = Path(sys.executable).with_name("mosaic-mcp")
P99_TARGET_MS = 50.0
RSS_TARGET_MB = 250.0
TOTAL_SECONDS = 600


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def sandbox_process() -> Iterator[str]:
    """`mosaic-mcp sandbox` in its own process, frozen clock; yields its base URL; bounded start and stop."""
    port = free_port()
    env = clean_env(MOSAIC_SANDBOX_SPEED="0", MOSAIC_SANDBOX_CREDITS="1000000000")
    proc = subprocess.Popen(
        [str(CLI), "sandbox", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx2.get(f"{url}/whoami", timeout=1)
                break
            except httpx2.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the sandbox did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def start_runs(base_url: str, count: int) -> list[str]:
    """Start `count` captions runs over HTTP, 8 at a time, as a client of the sandbox would."""
    mosaic = MosaicClient(api_key=SecretStr(MOSAIC_KEY), base_url=base_url)
    request = RunRequest(video_ids=[seed.VIDEO_IDS[0]])
    limiter = anyio.CapacityLimiter(8)
    ids: list[str] = []

    async def one() -> None:
        async with limiter:
            ids.append((await mosaic.run_agent(seed.CAPTIONS_AGENT_ID, request)).run_id)

    try:
        async with anyio.create_task_group() as tg:
            for _ in range(count):
                tg.start_soon(one)
        status = (await mosaic.get_run(ids[-1])).status
        if status != "running":
            raise SystemExit(f"a fresh run is {status!r}, not running: is the sandbox clock frozen?")
    finally:
        await mosaic.aclose()
    return ids


async def journal_runs(path: Path, run_ids: list[str]) -> None:
    """Journal the runs as `run_agent` does (pending snapshot, the key's fingerprint)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    journal = Journal(path)
    fingerprint = key_fingerprint(SecretStr(MOSAIC_KEY))
    now = time.time()
    try:
        for run_id in run_ids:
            snapshot = pending_snapshot("mosaic_run", run_id, "running")
            await journal.add(
                JobRecord(run_id, "mosaic_run", fingerprint, snapshot, created_at=now, updated_at=now, viewed_at=now)
            )
    finally:
        await journal.close()


def server_pid() -> int:
    """The `mosaic-mcp serve` child of this process (the SDK spawns it; it does not expose the pid)."""
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me and b"serve" in cmdline and any(part.endswith(b"mosaic-mcp") for part in cmdline):
            return int(entry.name)
    raise SystemExit("could not find the mosaic-mcp serve child in /proc")


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of `pid` in MB, from /proc/PID/status."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


async def timed_polls(client: Client, run_ids: list[str], calls: int, gap: float, rng: random.Random) -> list[float]:
    """`calls` poll_job calls on random runs, one at a time, `gap` s apart; the latencies in ms."""
    latencies = []
    for _ in range(calls):
        run_id = rng.choice(run_ids)
        t0 = time.perf_counter()
        result = await client.call_tool("poll_job", {"job_id": run_id})
        latencies.append((time.perf_counter() - t0) * 1000)
        if result.is_error or not result.structured_content:
            raise SystemExit(f"poll_job failed: {result.content}")
        if result.structured_content.get("settled") is not False:
            raise SystemExit(f"poll_job says {result.structured_content.get('status')!r}: the run should be live")
        await anyio.sleep(gap)
    return latencies


async def one_size(count: int, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    home = folder / str(count)
    began = time.perf_counter()
    with sandbox_process() as base_url:
        run_ids = await start_runs(base_url, count)
        created = time.perf_counter() - began
        settings = load_settings(
            mosaic_api_key=MOSAIC_KEY, motion_api_key=MOTION_KEY, home=home, download_dir=home / "downloads"
        )
        await journal_runs(settings.journal_path, run_ids)
        env = clean_env(
            MOSAIC_API_KEY=MOSAIC_KEY,
            MOTION_API_KEY=MOTION_KEY,
            MOSAIC_API_BASE_URL=base_url,
            MOTION_API_BASE_URL=base_url,
            MOSAIC_MCP_HOME=str(home),
            MOSAIC_MCP_DOWNLOAD_DIR=str(home / "downloads"),
        )
        params = StdioServerParameters(command=str(CLI), args=["serve"], env=env)
        rng = random.Random(16)
        gap = args.gap_ms / 1000
        async with AsyncExitStack() as stack:
            t0 = time.perf_counter()
            client = await stack.enter_async_context(Client(params, mode=args.mode))
            init_ms = (time.perf_counter() - t0) * 1000
            pid = server_pid()
            rss_init = memory_mb(pid)
            load_cold = os.getloadavg()[0]
            cold = await timed_polls(client, run_ids, args.cold_calls, gap, rng)
            await anyio.sleep(args.settle_seconds)
            rss_settled = memory_mb(pid)
            load_warm = os.getloadavg()[0]
            warm = await timed_polls(client, run_ids, args.calls, gap, rng)
            rss_end = memory_mb(pid)
    return {
        "count": count,
        "created_s": created,
        "init_ms": init_ms,
        "cold": cold,
        "warm": warm,
        "load_cold": load_cold,
        "load_warm": load_warm,
        "rss": (rss_init, rss_settled, rss_end),
    }


def latency_row(size: dict[str, Any], window: str, values: list[float], load: float) -> tuple[Any, ...]:
    p99 = percentile(values, 99)
    verdict = ("met" if p99 <= P99_TARGET_MS else "MISSED") if size["count"] >= 10_000 and window == "settled" else "-"
    return (
        f"{size['count']:,}",
        window,
        len(values),
        f"{load:.2f}",
        f"{p50(values):.1f}",
        f"{p90(values):.1f}",
        f"{p99:.1f}",
        f"{max(values):.1f}",
        verdict,
    )


async def run(args: argparse.Namespace) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="bench-stdio-poll-"))
    results = []
    began = time.perf_counter()
    try:
        for count in sizes:
            results.append(await one_size(count, args, folder))
            print(f"... {count} runs done at {time.perf_counter() - began:.0f} s", file=sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"\n## poll_job over stdio (`mosaic-mcp serve`, mode {args.mode}; random live runs, one at a time, "
        f"{args.gap_ms:g} ms apart; ms)\n"
    )
    print(
        "`cold`: right after `initialize`, during the poller's first look; "
        f"`settled`: after {args.settle_seconds:g} s.\n"
    )
    rows = []
    for size in results:
        rows.append(latency_row(size, "cold", size["cold"], size["load_cold"]))
        rows.append(latency_row(size, "settled", size["warm"], size["load_warm"]))
    print(table(["live runs", "window", "calls", "load (1 min)", "p50", "p90", "p99", "max", "p99 <= 50 ms"], rows))
    print("\n## The server process's memory (MB, /proc/PID/status)\n")
    mem_rows = []
    for size in results:
        (rss_i, _), (rss_s, _), (rss_e, hwm) = size["rss"]
        verdict = ("met" if max(rss_e, hwm) <= RSS_TARGET_MB else "MISSED") if size["count"] >= 10_000 else "-"
        mem_rows.append((f"{size['count']:,}", f"{rss_i:.0f}", f"{rss_s:.0f}", f"{rss_e:.0f}", f"{hwm:.0f}", verdict))
    print(
        table(["live runs", "RSS after initialize", "RSS settled", "RSS at end", "peak (VmHWM)", "<= 250 MB"], mem_rows)
    )
    print("\n## Set-up\n")
    print(
        table(
            ["live runs", "runs started over HTTP in s", "spawn -> initialize ms"],
            [(f"{s['count']:,}", f"{s['created_s']:.1f}", f"{s['init_ms']:.0f}") for s in results],
        )
    )
    print(f"\n(total {time.perf_counter() - began:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,10000")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--cold-calls", type=int, default=100)
    parser.add_argument("--settle-seconds", type=float, default=20.0)
    parser.add_argument("--gap-ms", type=float, default=20.0)
    parser.add_argument("--mode", choices=("legacy", "auto"), default="legacy")
    args = parser.parse_args()
    if args.calls > 2000 or args.cold_calls > 2000 or args.settle_seconds > 120:
        parser.error("--calls / --cold-calls <= 2000 and --settle-seconds <= 120 keep the run bounded")
    print(f"# bench_stdio_poll: {args.sizes} live runs\n")
    print(machine_line())
    anyio.run(bounded, args)


async def bounded(args: argparse.Namespace) -> None:
    with anyio.fail_after(TOTAL_SECONDS):
        await run(args)


if __name__ == "__main__":
    main()
