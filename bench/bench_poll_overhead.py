"""Benchmark: what `poll_job` costs on top of the upstream `GET /agent_run/{id}` it stands for.

Run by hand (not a test):

    .venv/bin/python bench/bench_poll_overhead.py [--iterations 300] [--skip-stdio]

Setup: the sandbox on a free 127.0.0.1 port with a frozen clock (speed 0), in this process. Two
runs of the seeded captions agent: one *settled* (the clock is advanced until it completes) and
one *unsettled* (started afterwards; the frozen clock keeps it running).

Paths timed, interleaved per iteration so machine noise hits them alike:

- `direct get_run`: `MosaicClient.get_run(run_id)` straight to the sandbox (the floor);
- `service wait(0)`: the server's `JobService.wait(job_id, 0)` without MCP (journal + fetch);
- `poll_job in-memory auto`: `mcp.Client(server)` (2026-07-28 direct dispatch);
- `poll_job in-memory legacy`: `mcp.Client(server, mode="legacy")` (2025-11-25 JSON-RPC over memory streams);
- `poll_job stdio`: the real `mosaic-mcp serve` child over stdio (`mcp.Client`, legacy handshake).

Overhead = p50 (p90) of a path minus p50 (p90) of `direct get_run` for the same run. Target: <= 3 ms
p50 overhead in memory. Note a settled run is served from the journal (no upstream GET at all), so
its overhead can be negative. Takes ~30-60 s; ends by itself.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import clean_env, machine_line, p50, p90, table

from mosaic_mcp.server.api import MosaicClient, RunRequest
from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.config import load_settings
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, seed, serve_sandbox

MOSAIC_KEY = "mk_bench_poll"
MOTION_KEY = "motion_bench_poll"
TARGET_MS = 3.0


def server_for(running: RunningSandbox, home: Path) -> MosaicServer:
    settings = load_settings(
        mosaic_api_key=MOSAIC_KEY,
        motion_api_key=MOTION_KEY,
        mosaic_api_base_url=running.mosaic_base_url,
        motion_api_base_url=running.motion_base_url,
        home=home,
        download_dir=home / "downloads",
    )
    return create_server(settings)  # default PollTiming: the poller runs as in production


async def start_runs(mosaic: MosaicClient, sandbox: Sandbox) -> dict[str, str]:
    request = RunRequest(video_ids=[seed.VIDEO_IDS[0]])
    settled = (await mosaic.run_agent(seed.CAPTIONS_AGENT_ID, request)).run_id
    sandbox.advance(3600)  # far past any tile duration: it completes
    assert (await mosaic.get_run(settled)).status == "completed"
    unsettled = (await mosaic.run_agent(seed.CAPTIONS_AGENT_ID, request)).run_id
    assert (await mosaic.get_run(unsettled)).status == "running"  # and stays so: the clock is frozen
    return {"settled": settled, "unsettled": unsettled}


async def poll_via(client: Client, run_id: str) -> None:
    result = await client.call_tool("poll_job", {"job_id": run_id})
    if result.is_error or not result.structured_content:
        raise SystemExit(f"poll_job failed: {result.content}")


async def run(iterations: int, with_stdio: bool) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-poll-"))
    sandbox = Sandbox(SandboxConfig(speed=0, credits=10_000_000))
    async with AsyncExitStack() as stack:
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        running = await stack.enter_async_context(serve_sandbox(sandbox))
        mosaic = MosaicClient(api_key=SecretStr(MOSAIC_KEY), base_url=running.mosaic_base_url)
        stack.push_async_callback(mosaic.aclose)
        runs = await start_runs(mosaic, sandbox)

        auto_server = server_for(running, folder / "auto")
        legacy_server = server_for(running, folder / "legacy")
        auto = await stack.enter_async_context(Client(auto_server))
        legacy = await stack.enter_async_context(Client(legacy_server, mode="legacy"))
        auto_runtime = auto_server.connections.any()
        assert auto_runtime is not None
        service = auto_runtime.jobs

        paths: dict[str, Callable[[str], Awaitable[Any]]] = {
            "direct get_run": mosaic.get_run,
            "service wait(0)": lambda run_id: service.wait(run_id, 0),
            "poll_job in-memory auto": lambda run_id: poll_via(auto, run_id),
            "poll_job in-memory legacy": lambda run_id: poll_via(legacy, run_id),
        }
        if with_stdio:
            cli = Path(sys.executable).with_name("mosaic-mcp")
            env = clean_env(
                MOSAIC_API_KEY=MOSAIC_KEY,
                MOTION_API_KEY=MOTION_KEY,
                MOSAIC_API_BASE_URL=running.mosaic_base_url,
                MOTION_API_BASE_URL=running.motion_base_url,
                MOSAIC_MCP_HOME=str(folder / "stdio"),
                MOSAIC_MCP_DOWNLOAD_DIR=str(folder / "stdio" / "downloads"),
            )
            params = StdioServerParameters(command=str(cli), args=["serve"], env=env)
            stdio = await stack.enter_async_context(Client(params, mode="legacy"))
            paths["poll_job stdio"] = lambda run_id: poll_via(stdio, run_id)

        for call in paths.values():  # warm-up; the first poll_job adopts the run into that server's journal
            for run_id in runs.values():
                for _ in range(5):
                    await call(run_id)
        samples: dict[tuple[str, str], list[float]] = {(p, r): [] for p in paths for r in runs}
        began = time.perf_counter()
        for _ in range(iterations):
            for label, run_id in runs.items():
                for name, call in paths.items():
                    t0 = time.perf_counter()
                    await call(run_id)
                    samples[(name, label)].append((time.perf_counter() - t0) * 1000)
        elapsed = time.perf_counter() - began
        upstream = sandbox.count("GET", "/agent_run/{run_id}")

    rows = []
    verdicts = []
    for label in runs:
        floor = samples[("direct get_run", label)]
        for name in paths:
            values = samples[(name, label)]
            over50 = p50(values) - p50(floor)
            over90 = p90(values) - p90(floor)
            rows.append((label, name, len(values), p50(values), p90(values), over50, over90))
            if name.startswith("poll_job in-memory"):
                verdicts.append((label, name, over50))
    print(f"\n## poll_job vs direct get_run ({iterations} iterations per cell, interleaved; ms)\n")
    print(table(["run", "path", "n", "p50", "p90", "overhead p50", "overhead p90"], rows))
    print(f"\n(timed loop {elapsed:.1f} s; GET /agent_run/{{id}} requests seen by the sandbox overall: {upstream})")
    print(f"\nTarget: <= {TARGET_MS:.0f} ms p50 overhead, in memory:")
    for label, name, over in verdicts:
        print(f"- {label:9s} {name}: {over:+.2f} ms -> {'MET' if over <= TARGET_MS else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--skip-stdio", action="store_true")
    args = parser.parse_args()
    print("# bench_poll_overhead: poll_job round trip vs MosaicClient.get_run\n")
    print(machine_line())
    anyio.run(bounded, args.iterations, not args.skip_stdio)


async def bounded(iterations: int, with_stdio: bool) -> None:
    with anyio.fail_after(600):  # bounded, whatever happens
        await run(iterations, with_stdio)


if __name__ == "__main__":
    main()
