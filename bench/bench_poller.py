"""Benchmark: the poller following 1,000 live Mosaic runs in the sandbox.

Run by hand (not a test):

    .venv/bin/python bench/bench_poller.py [--runs 1000] [--finish-share 0.2]

Setup: the sandbox (frozen clock, speed 0; ample credits) is served on a free 127.0.0.1 port from
its own thread and event loop, standing in for the remote API, so its request handling does not
sit on the poller's event loop. Runs of the seeded captions agent are created by driving the
sandbox directly (as its trigger does), then journaled through the server's own pieces:
`Journal`, `Poller`, `Notifier`, `JobService.started` -- exactly what `run_agent` does after the POST.

Part A -- requests per cycle (`Poller.cycle()` called by hand, no background task):
  cycle 1 = first look at all runs; cycle 2 = nothing changed; cycle 3 = after the clock moved until
  `--finish-share` of the runs finished. Upstream requests are counted from the sandbox request log
  by route, next to the poller's own `last_cycle` stats. Target (DESIGN section 5): at most 10
  list pages + 1 per changed run.

Part B -- notification latency (the real background task, `Poller.run`), once with the default
  `PollTiming()` and once with a faster one: after the first look and a quiet spell (so back-off
  has grown, as it would in real use), the clock is advanced until `--finish-share` of the runs
  finish, and the time from that state change to the poller's `on_change` callback is measured per
  changed run (p50 / p90 / max), for runs that finished and for runs whose tile counts moved.

Also reported: wall time of each cycle and the process RSS (sandbox included, with the stages
broken out). Fresh runs are used for each part; everything ends in about a minute.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, p50, p90, peak_rss_mb, rss_mb, table

from mosaic_mcp.server.api import MosaicClient
from mosaic_mcp.server.jobs.journal import JobRecord, Journal
from mosaic_mcp.server.jobs.notify import Notifier
from mosaic_mcp.server.jobs.poller import Poller, PollTiming
from mosaic_mcp.server.jobs.service import JobService
from mosaic_mcp.server.sandbox import Sandbox, SandboxConfig, seed, serve_sandbox
from mosaic_mcp.server.sandbox.run_inputs import InputSource, RunPlan

T = TypeVar("T")
MOSAIC_KEY = "mk_bench_poller"
TERMINAL = ("completed", "partial_complete", "failed", "cancelled")
DEFAULT_TIMING = PollTiming()
FAST_TIMING = PollTiming(initial=0.25, growth=1.5, cap=2.0, idle_cap=5.0)
LIST_PAGE_CAP = 10


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

    def request_count(self) -> int:
        return self.call(lambda: len(self.sandbox.requests.records))

    def requests_since(self, mark: int) -> Counter[str]:
        def read() -> Counter[str]:
            return Counter(f"{r.method} {r.route or r.path}" for r in self.sandbox.requests.records[mark:])

        return self.call(read)


@contextmanager
def upstream_in_thread(sandbox: Sandbox) -> Iterator[Upstream]:
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(serve_sandbox(sandbox)) as running:
        yield Upstream(portal, sandbox, running.mosaic_base_url)


@dataclass
class Pieces:
    journal: Journal
    poller: Poller
    jobs: JobService
    changes: dict[str, float]


async def build(stack: AsyncExitStack, upstream: Upstream, home: Path, timing: PollTiming) -> Pieces:
    """The runtime pieces `create_server`'s lifespan builds, minus MCP."""
    mosaic = MosaicClient(api_key=SecretStr(MOSAIC_KEY), base_url=upstream.base_url)
    stack.push_async_callback(mosaic.aclose)
    journal = Journal(home / "journal.sqlite3")
    stack.push_async_callback(journal.close)
    notifier = Notifier()
    changes: dict[str, float] = {}

    async def on_change(record: JobRecord) -> None:  # what the server's does, plus a timestamp
        changes.setdefault(record.job_id, time.perf_counter())
        await notifier.updated(record.snapshot.resource_uri)

    poller = Poller(journal, mosaic=mosaic, motion=None, on_change=on_change, timing=timing)
    jobs = JobService(journal, poller, notifier, {"mosaic_run": "bench", "motion_session": "bench"})
    return Pieces(journal, poller, jobs, changes)


async def journal_runs(jobs: JobService, run_ids: list[str]) -> float:
    began = time.perf_counter()
    for run_id in run_ids:
        await jobs.started("mosaic_run", run_id, status="running", summary={"agent_id": seed.CAPTIONS_AGENT_ID})
    return time.perf_counter() - began


# ------------------------------------------------------------------------------------- part A


async def part_a(upstream: Upstream, folder: Path, count: int, share: float, rss: list[tuple[str, float]]) -> None:
    run_ids = upstream.create_runs(count)
    rss.append((f"+ {count} runs in the sandbox", rss_mb()))
    async with AsyncExitStack() as stack:
        pieces = await build(stack, upstream, folder / "a", DEFAULT_TIMING)
        journaled = await journal_runs(pieces.jobs, run_ids)
        rss.append((f"+ journal + poller tracking {count} runs", rss_mb()))
        rows = []
        verdicts = []
        for label in ("1: first look", "2: nothing changed", "3: after some finished"):
            finished = 0
            if label.startswith("3"):
                before = upstream.state(run_ids)
                moved = upstream.advance_until_finished(run_ids, share)
                after = upstream.state(run_ids)
                finished = sum(after[r][0] in TERMINAL for r in run_ids)
                moved_runs = sum(before[r] != after[r] for r in run_ids)
                label += f" (+{moved:.0f} s virtual: {finished} finished, {moved_runs} changed upstream)"
            mark = upstream.request_count()
            began = time.perf_counter()
            stats = await pieces.poller.cycle()
            wall = (time.perf_counter() - began) * 1000
            seen = upstream.requests_since(mark)
            pages = seen.get("GET /agent_runs", 0)
            singles = seen.get("GET /agent_run/{run_id}", 0)
            other = sum(seen.values()) - pages - singles
            allowed = LIST_PAGE_CAP + stats.changed
            ok = pages <= LIST_PAGE_CAP and pages + singles + other <= allowed
            verdicts.append(ok)
            rows.append(
                (label, pages, singles, other, stats.list_pages, stats.single_fetches, stats.changed, allowed, wall)
            )
        rss.append(("+ 3 cycles", rss_mb()))
    print(f"\n## A. Upstream requests per cycle, {count} live runs (Poller.cycle() by hand)\n")
    print(f"journaling {count} runs through JobService.started took {journaled * 1000:.0f} ms\n")
    headers = [
        "cycle",
        "GET /agent_runs",
        "GET /agent_run/{id}",
        "other",
        "stats pages",
        "stats fetches",
        "changed",
        "budget 10+changed",
        "wall ms",
    ]
    print(table(headers, rows))
    print(f"\nTarget <= 10 list pages + 1 per changed run: {'MET' if all(verdicts) else 'MISSED'} on every cycle")
    upstream.finish_everything()


# ------------------------------------------------------------------------------------- part B


async def part_b(
    upstream: Upstream, folder: Path, count: int, share: float, name: str, timing: PollTiming, quiet: float | None
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    run_ids = upstream.create_runs(count)
    quiet = min(3 * timing.initial, 6.0) if quiet is None else quiet
    async with AsyncExitStack() as stack:
        pieces = await build(stack, upstream, folder / name, timing)
        await journal_runs(pieces.jobs, run_ids)
        group = await stack.enter_async_context(anyio.create_task_group())
        stack.callback(group.cancel_scope.cancel)  # runs before the group exits: stop polling
        mark = upstream.request_count()
        began = time.perf_counter()
        await group.start(pieces.poller.run)
        with anyio.fail_after(60):
            # Polling is fine here: latency comes from on_change's own timestamps, not from these loops.
            while len(pieces.changes) < count:  # noqa: ASYNC110  (the first look reports every run once)
                await anyio.sleep(0.01)
        first_look = time.perf_counter() - began
        await anyio.sleep(quiet)  # let back-off grow as it would while nothing happens
        before = upstream.state(run_ids)
        pieces.changes.clear()
        moved = upstream.advance_until_finished(run_ids, share)
        changed_at = time.perf_counter()
        after = upstream.state(run_ids)
        finished = [r for r in run_ids if after[r][0] in TERMINAL]
        moved_only = [r for r in run_ids if before[r] != after[r] and after[r][0] not in TERMINAL]
        expected = set(finished) | set(moved_only)
        deadline = timing.cap + 15
        with anyio.move_on_after(deadline):
            while not expected.issubset(pieces.changes):  # noqa: ASYNC110
                await anyio.sleep(0.005)
        cycles_mark = upstream.requests_since(mark)
        window = time.perf_counter() - began
        lat_finished = [(pieces.changes[r] - changed_at) * 1000 for r in finished if r in pieces.changes]
        lat_moved = [(pieces.changes[r] - changed_at) * 1000 for r in moved_only if r in pieces.changes]
        missing = len(expected - set(pieces.changes))
    upstream.finish_everything()
    t = timing
    label = f"{name} (initial {t.initial:g}s, x{t.growth:g}, cap {t.cap:g}s)"
    pages, singles = cycles_mark.get("GET /agent_runs", 0), cycles_mark.get("GET /agent_run/{run_id}", 0)
    reqs = f"{pages} list pages + {singles} single GETs in {window:.1f} s"
    info = (label, first_look, quiet, moved, reqs, missing)
    rows: list[tuple[Any, ...]] = []
    for kind, values in (("finished", lat_finished), ("counts moved", lat_moved)):
        if values:
            rows.append((label, kind, len(values), p50(values), p90(values), max(values)))
        else:
            rows.append((label, kind, 0, "-", "-", "-"))
    return info, rows


# ------------------------------------------------------------------------------------- main


async def run(count: int, share: float, quiet: float | None) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-poller-"))
    rss: list[tuple[str, float]] = [("start (imports done)", rss_mb())]
    sandbox = Sandbox(SandboxConfig(speed=0, credits=1_000_000_000))
    began = time.perf_counter()
    with upstream_in_thread(sandbox) as upstream, ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, folder, ignore_errors=True)
        rss.append(("+ sandbox serving (own thread)", rss_mb()))
        await part_a(upstream, folder, count, share, rss)
        infos, rows = [], []
        for name, timing in (("default", DEFAULT_TIMING), ("fast", FAST_TIMING)):
            info, part_rows = await part_b(upstream, folder, count, share, name, timing, quiet)
            infos.append(info)
            rows.extend(part_rows)
        total_requests = upstream.request_count()
    print(f"\n## B. Notification latency, {count} live runs (background Poller.run; ms from the change to on_change)\n")
    print(table(["timing", "runs", "n", "p50", "p90", "max"], rows))
    print()
    for label, first_look, quiet, moved, reqs, missing in infos:
        print(
            f"- {label}: first look of all runs {first_look * 1000:.0f} ms; quiet {quiet:g} s; clock +{moved:.0f} s; "
            f"{reqs}; runs never reported: {missing}"
        )
    print("\n## Memory (process RSS, MB; the sandbox lives in this process too)\n")
    print(table(["stage", "RSS MB"], [*rss, ("peak", peak_rss_mb())]))
    print(f"\n(total {time.perf_counter() - began:.0f} s, {total_requests} upstream requests)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--finish-share", type=float, default=0.2, help="share of runs to finish (default 0.2)")
    parser.add_argument(
        "--quiet-seconds",
        type=float,
        help="part B: wait this long after the first look before the change (default 3x initial, at most 6 s); "
        "longer lets back-off reach its cap, e.g. 60",
    )
    args = parser.parse_args()
    print(f"# bench_poller: {args.runs} live runs\n")
    print(machine_line())
    anyio.run(bounded, args.runs, args.finish_share, args.quiet_seconds)


async def bounded(count: int, share: float, quiet: float | None) -> Any:
    with anyio.fail_after(600):
        await run(count, share, quiet)


if __name__ == "__main__":
    main()
