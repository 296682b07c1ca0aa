"""Benchmark: the poller at 100 / 1,000 / 5,000 / 10,000 live Mosaic runs, side by side with its floor.

Run by hand (not a test):

    .venv/bin/python bench/bench_poller.py [--sizes 100,1000,5000,10000] [--idle-seconds 20] \
        [--quiet-seconds 6] [--subscribe 300] [--finish-share 0.2] [--floor-reps 2]

Setup: the sandbox (frozen clock, speed 0; ample credits) is served on a free 127.0.0.1 port from
its own thread and event loop, standing in for the remote API. Runs of the seeded captions agent
are created by driving the sandbox directly and journaled as `run_agent` journals them. CPU is the
poller thread's own CPU time (`time.thread_time`): the sandbox's thread is not counted. Per size:

A. Requests and CPU per quiet cycle, interleaved with the floor. `Poller.cycle()` by hand: one first
   look, then `--floor-reps` times a quiet cycle (nothing changed upstream) next to the floor, a
   poller that GETs every run once (8 at a time, the poller's concurrency). Requests are counted from
   the sandbox's request log. Target: <= ceil(N/100) + 1 requests per quiet cycle.
B. Idle CPU: the real background task (`Poller.run`, default timing) for `--idle-seconds` after its
   first look, nothing changing upstream: CPU seconds / wall seconds (share of one core), requests.
   Target at 5,000: <= 10 % of a core. (The window starts right after the first look, while back-off
   is still short, so it overstates the steady state, where a quiet sweep comes every 30 s.)
C. Change -> notification at a subscribed client: the whole server (`create_server`, default
   timing) over the SDK's in-memory `Client`, in both protocol generations (`legacy`: 2025-era
   `resources/subscribe`; `auto`: 2026-07-28 `subscriptions/listen`), subscribed to `--subscribe`
   sampled runs and `mosaic://jobs`. After the first look and `--quiet-seconds`, the clock is moved
   until `--finish-share` of the runs finished; the time from then to the client receiving each
   changed run's `resources/updated` is reported (p50 / p99 / max), with the time the next poll of
   those runs was due when the change happened and their poll cycle then (the interval between two
   looks at a run, the longest among them; target: p99 <= that cycle + 1 s: a change waits at most
   one cycle to be looked at, then reaches the client within a second), and how many
   `mosaic://jobs` updates the client got for the change (one per cycle that saw a change). "Next
   poll due" is 0 when a cycle is under way at the change; that cycle may have read the run's list
   page before the change, and then the next one sees it, a cycle later.

Every wait is bounded; a size ends in well under a minute except the 10,000-run floor. Also
reported: process RSS after each size (the sandbox lives in this process too).
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import Client
from mcp.client.subscriptions import ResourceUpdated
from mcp.types import ResourceUpdatedNotification
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, p50, percentile, rss_mb, table

from mosaic_mcp.server.api import MosaicClient
from mosaic_mcp.server.app import create_server
from mosaic_mcp.server.config import key_fingerprint, load_settings
from mosaic_mcp.server.jobs.journal import JobRecord, Journal
from mosaic_mcp.server.jobs.poller import Poller, PollTiming
from mosaic_mcp.server.jobs.snapshot import JOBS_INDEX_URI, pending_snapshot, resource_uri
from mosaic_mcp.server.sandbox import Sandbox, SandboxConfig, seed, serve_sandbox
from mosaic_mcp.server.sandbox.run_inputs import InputSource, RunPlan

T = TypeVar("T")
MOSAIC_KEY = "mk_bench_poller"
TERMINAL = ("completed", "partial_complete", "failed", "cancelled")
LIST = "GET /agent_runs"
SINGLE = "GET /agent_run/{run_id}"


class Upstream:
    """The sandbox in its own thread; every touch of its state goes through the portal."""

    def __init__(self, portal: BlockingPortal, sandbox: Sandbox, base_url: str) -> None:
        self.portal = portal
        self.sandbox = sandbox
        self.base_url = base_url

    def call(self, fn: Callable[[], T]) -> T:
        return self.portal.call(fn)

    def create_runs(self, count: int) -> list[str]:
        """Start `count` captions runs on a seeded video (what POST /agent/{id}/run does, minus HTTP)."""

        def create() -> list[str]:
            sandbox = self.sandbox
            agent = sandbox.agents.get(seed.CAPTIONS_AGENT_ID)
            nodes = list(agent.nodes)
            inputs = [n for n in nodes if agent.nodes[n].node_type.kind == "input"]
            ids = []
            for _ in range(count):
                plan = RunPlan(
                    nodes,
                    list(agent.edges),
                    {n: dict(agent.nodes[n].params) for n in nodes},
                    {inputs[0]: [InputSource("video_id", seed.VIDEO_IDS[0])]},
                    None,
                )
                ids.append(sandbox.runs.start(agent, plan, sandbox.now()).run_id)
            return ids

        return self.call(create)

    def state(self, run_ids: list[str]) -> dict[str, tuple[str, tuple[int, ...]]]:
        def read() -> dict[str, tuple[str, tuple[int, ...]]]:
            runs = self.sandbox.runs.runs
            return {r: (runs[r].status, tuple(runs[r].counts().values())) for r in run_ids}

        return self.call(read)

    def advance_until_finished(self, run_ids: list[str], share: float) -> float:
        """Move the clock 1 virtual second at a time until `share` of the runs ended; returns seconds moved."""

        def step() -> float:
            runs = self.sandbox.runs.runs
            moved = 0.0
            while sum(runs[r].status in TERMINAL for r in run_ids) < share * len(run_ids) and moved < 3600:
                self.sandbox.advance(1.0)
                moved += 1.0
            return moved

        return self.call(step)

    def finish_everything(self) -> None:
        self.call(lambda: self.sandbox.advance(3600))

    def mark(self) -> int:
        return self.call(lambda: len(self.sandbox.requests.records))

    def since(self, mark: int) -> Counter[str]:
        def read() -> Counter[str]:
            return Counter(f"{r.method} {r.route or r.path}" for r in self.sandbox.requests.records[mark:])

        return self.call(read)

    def forget_requests(self) -> None:
        self.call(self.sandbox.requests.clear)


@contextmanager
def upstream_in_thread(sandbox: Sandbox) -> Iterator[Upstream]:
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(serve_sandbox(sandbox)) as running:
        yield Upstream(portal, sandbox, running.mosaic_base_url)


async def journal_runs(journal: Journal, run_ids: list[str]) -> None:
    """Journal the runs as `run_agent` does (pending snapshot, the key's fingerprint)."""
    fingerprint = key_fingerprint(SecretStr(MOSAIC_KEY))
    now = time.time()
    for run_id in run_ids:
        snapshot = pending_snapshot("mosaic_run", run_id, "running")
        record = JobRecord(run_id, "mosaic_run", fingerprint, snapshot, created_at=now, updated_at=now, viewed_at=now)
        await journal.add(record)


async def _nothing(record: JobRecord) -> None:
    return None


# ------------------------------------------------------------------------------------- part A


async def floor(mosaic: MosaicClient, run_ids: list[str]) -> None:
    """One GET per run, 8 at a time: what following every run costs without a list endpoint."""
    limiter = anyio.CapacityLimiter(8)

    async def one(run_id: str) -> None:
        async with limiter:
            await mosaic.get_run(run_id)

    async with anyio.create_task_group() as tg:
        for run_id in run_ids:
            tg.start_soon(one, run_id)


async def measured(upstream: Upstream, work: Callable[[], Any]) -> tuple[int, float, float]:
    """(upstream requests, thread CPU ms, wall ms) of one awaited piece of work."""
    upstream.forget_requests()
    cpu, wall = time.thread_time(), time.perf_counter()
    await work()
    cpu, wall = (time.thread_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000
    return sum(upstream.since(0).values()), cpu, wall


async def part_a(upstream: Upstream, home: Path, run_ids: list[str], reps: int) -> list[tuple[Any, ...]]:
    count = len(run_ids)
    async with AsyncExitStack() as stack:
        mosaic = MosaicClient(api_key=SecretStr(MOSAIC_KEY), base_url=upstream.base_url)
        stack.push_async_callback(mosaic.aclose)
        journal = Journal(home / "a.sqlite3")
        stack.push_async_callback(journal.close)
        await journal_runs(journal, run_ids)
        poller = Poller(journal, mosaic=mosaic, motion=None, on_change=_nothing)
        for record in await journal.live():
            poller.track(record)
        first = await measured(upstream, poller.cycle)
        quiet: list[tuple[int, float, float]] = []
        floors: list[tuple[int, float, float]] = []
        for _ in range(reps):  # interleaved: quiet cycle, floor, quiet cycle, floor...
            quiet.append(await measured(upstream, poller.cycle))
            floors.append(await measured(upstream, lambda: floor(mosaic, run_ids)))
    budget = math.ceil(count / 100) + 1
    q_req = max(q[0] for q in quiet)
    q_cpu, f_cpu = p50([q[1] for q in quiet]), p50([f[1] for f in floors])
    return [
        (
            count,
            first[0],
            f"{first[1]:.0f}",
            q_req,
            budget,
            "met" if q_req <= budget else "MISSED",
            f"{q_cpu:.0f}",
            f"{p50([q[2] for q in quiet]):.0f}",
            floors[0][0],
            f"{f_cpu:.0f}",
            f"{f_cpu / q_cpu:.1f}x" if q_cpu else "-",
        )
    ]


# ------------------------------------------------------------------------------------- part B


async def part_b(upstream: Upstream, home: Path, run_ids: list[str], seconds: float) -> tuple[Any, ...]:
    async with AsyncExitStack() as stack:
        mosaic = MosaicClient(api_key=SecretStr(MOSAIC_KEY), base_url=upstream.base_url)
        stack.push_async_callback(mosaic.aclose)
        journal = Journal(home / "b.sqlite3")
        stack.push_async_callback(journal.close)
        await journal_runs(journal, run_ids)
        poller = Poller(journal, mosaic=mosaic, motion=None, on_change=_nothing)
        group = await stack.enter_async_context(anyio.create_task_group())
        stack.callback(group.cancel_scope.cancel)
        await group.start(poller.run)
        with anyio.fail_after(120):  # the first look: every run polled once
            while any((poller.next_poll_after(r) or 0.0) == 0.0 for r in run_ids[:: max(len(run_ids) // 50, 1)]):  # noqa: ASYNC110
                await anyio.sleep(0.05)
        upstream.forget_requests()
        cpu, wall = time.thread_time(), time.perf_counter()
        await anyio.sleep(seconds)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        seen = upstream.since(0)
    share = cpu / wall
    verdict = ("met" if share <= 0.10 else "MISSED") if len(run_ids) >= 5000 else "-"
    return (len(run_ids), f"{wall:.1f}", f"{cpu:.2f}", f"{share * 100:.1f} %", seen[LIST], seen[SINGLE], verdict)


# ------------------------------------------------------------------------------------- part C


class Listener:
    """What a subscribed client received: per URI, the receive times."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}

    def note(self, message: object) -> None:
        uri = None
        if isinstance(message, ResourceUpdatedNotification):
            uri = str(message.params.uri)
        elif isinstance(message, ResourceUpdated):
            uri = message.uri
        if uri is not None:
            self.times.setdefault(uri, []).append(time.perf_counter())


@asynccontextmanager
async def subscribed(server: Any, mode: str, uris: list[str]) -> AsyncIterator[Listener]:
    listener = Listener()

    async def on_message(message: Any) -> None:
        if mode == "legacy":
            listener.note(message)

    async with Client(server, mode=mode, message_handler=on_message) as client:  # type: ignore[arg-type]
        if mode == "legacy":
            for uri in uris:
                await client.subscribe_resource(uri)
            yield listener
            return
        async with client.listen(resource_subscriptions=uris) as sub, anyio.create_task_group() as tg:

            async def drain() -> None:
                async for event in sub:
                    listener.note(event)

            tg.start_soon(drain)
            yield listener
            tg.cancel_scope.cancel()


async def part_c(
    upstream: Upstream, home: Path, run_ids: list[str], mode: str, sample: int, quiet: float, share: float
) -> tuple[Any, ...]:
    settings = load_settings(
        mosaic_api_key=MOSAIC_KEY,
        motion_api_key="motion_bench",
        mosaic_api_base_url=upstream.base_url,
        motion_api_base_url=upstream.base_url,
        home=home / "home",
        download_dir=home / "downloads",
    )
    settings.journal_path.parent.mkdir(parents=True, exist_ok=True)
    journal = Journal(settings.journal_path)
    await journal_runs(journal, run_ids)
    await journal.close()
    server = create_server(settings)
    watched = random.Random(8).sample(run_ids, min(sample, len(run_ids)))
    uris = [resource_uri("mosaic_run", r) for r in watched]
    async with subscribed(server, mode, [*uris, JOBS_INDEX_URI]) as listener:
        runtime = server.connections.any()
        assert runtime is not None
        poller = runtime.jobs.poller
        with anyio.fail_after(120):  # the first look of every watched run
            while any((poller.next_poll_after(r) or 0.0) == 0.0 for r in watched):  # noqa: ASYNC110
                await anyio.sleep(0.05)
        await anyio.sleep(quiet)  # back-off grows as it would while nothing happens
        before = upstream.state(watched)
        due_in = max(poller.next_poll_after(r) or 0.0 for r in watched)
        period = max(_interval(poller, r) for r in watched)
        listener.times.clear()
        upstream.advance_until_finished(run_ids, share)
        changed_at = time.perf_counter()
        after = upstream.state(watched)
        changed = [r for r in watched if before[r] != after[r]]
        expected = {resource_uri("mosaic_run", r) for r in changed}
        with anyio.move_on_after(PollTiming().cap + 15):
            while not expected.issubset(listener.times):  # noqa: ASYNC110
                await anyio.sleep(0.01)
        latencies = [(listener.times[u][0] - changed_at) * 1000 for u in expected if u in listener.times]
        index_updates = len(listener.times.get(JOBS_INDEX_URI, []))
    upstream.finish_everything()
    missing = len(expected) - len(latencies)
    p99 = percentile(latencies, 99) if latencies else math.nan
    verdict = "met" if latencies and not missing and p99 <= (period + 1) * 1000 else "MISSED"
    return (
        len(run_ids),
        mode,
        len(expected),
        f"{p50(latencies):.0f}" if latencies else "-",
        f"{p99:.0f}",
        f"{max(latencies):.0f}" if latencies else "-",
        f"{due_in:.1f}",
        f"{period:.1f}",
        f"{p99 / 1000 - period:+.1f}",
        verdict,
        index_updates,
        missing,
    )


def _interval(poller: Poller, run_id: str) -> float:
    """The run's poll interval in effect: the time between two looks at it (what its snapshot tells clients)."""
    record = poller.followed(run_id)
    return (record.snapshot.next_poll_after_seconds or 0.0) if record is not None else 0.0


# ------------------------------------------------------------------------------------- main


async def run(args: argparse.Namespace) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="bench-poller-"))
    rows_a: list[tuple[Any, ...]] = []
    rows_b: list[tuple[Any, ...]] = []
    rows_c: list[tuple[Any, ...]] = []
    rss: list[tuple[Any, ...]] = []
    began = time.perf_counter()

    @contextmanager
    def fresh() -> Iterator[Upstream]:
        """A new sandbox for each part and size: its store holds only the runs being measured."""
        with upstream_in_thread(Sandbox(SandboxConfig(speed=0, credits=1_000_000_000))) as upstream:
            yield upstream

    try:
        for count in sizes:
            home = folder / str(count)
            home.mkdir()
            if "a" in args.parts:
                with fresh() as upstream:
                    rows_a.extend(await part_a(upstream, home, upstream.create_runs(count), args.floor_reps))
            if "b" in args.parts:
                with fresh() as upstream:
                    rows_b.append(await part_b(upstream, home, upstream.create_runs(count), args.idle_seconds))
            if "c" in args.parts:
                for mode in ("legacy", "auto"):
                    with fresh() as upstream:
                        sub = home / mode
                        sub.mkdir()
                        runs = upstream.create_runs(count)
                        rows_c.append(
                            await part_c(
                                upstream, sub, runs, mode, args.subscribe, args.quiet_seconds, args.finish_share
                            )
                        )
            rss.append((count, f"{rss_mb():.0f}"))
            print(f"... {count} runs done at {time.perf_counter() - began:.0f} s", file=sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if rows_a:
        print("\n## A. Requests and poller CPU per quiet cycle vs one GET per run (Poller.cycle() by hand)\n")
        headers = [
            "live runs",
            "first look: requests",
            "first look: CPU ms",
            "quiet: requests",
            "budget ceil(N/100)+1",
            "verdict",
            "quiet: CPU ms",
            "quiet: wall ms",
            "floor: requests",
            "floor: CPU ms",
            "floor / quiet CPU",
        ]
        print(table(headers, rows_a))
    if rows_b:
        print(f"\n## B. Idle poller CPU (Poller.run, default timing, {args.idle_seconds:g} s after the first look)\n")
        print(
            table(
                ["live runs", "window s", "CPU s", "share of a core", "list pages", "single GETs", "<= 10 % at 5,000"],
                rows_b,
            )
        )
    if rows_c:
        print(
            f"\n## C. Change -> resources/updated at a subscribed client ({args.subscribe} runs + mosaic://jobs; "
            f"quiet {args.quiet_seconds:g} s; {args.finish_share:g} of the runs finish)\n"
        )
        headers = [
            "live runs",
            "mode",
            "changed",
            "p50 ms",
            "p99 ms",
            "max ms",
            "next poll due s",
            "poll cycle s",
            "p99 - cycle s",
            "p99 <= cycle + 1 s",
            "mosaic://jobs updates",
            "never heard",
        ]
        print(table(headers, rows_c))
    print("\n## Process RSS after each size (MB; the sandbox lives in this process too)\n")
    print(table(["live runs", "RSS MB"], rss))
    print(f"\n(total {time.perf_counter() - began:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,5000,10000")
    parser.add_argument("--parts", default="abc", help="which parts to run (default abc)")
    parser.add_argument("--floor-reps", type=int, default=2)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--quiet-seconds", type=float, default=6.0)
    parser.add_argument("--subscribe", type=int, default=300)
    parser.add_argument("--finish-share", type=float, default=0.2)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="resources/subscribe is removed")  # the legacy client, on purpose
    print(f"# bench_poller: {args.sizes} live runs\n")
    print(machine_line())
    anyio.run(bounded, args)


async def bounded(args: argparse.Namespace) -> None:
    with anyio.fail_after(1800):
        await run(args)


if __name__ == "__main__":
    main()
