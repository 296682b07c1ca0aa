"""Benchmark: replicas on one PostgreSQL database cost upstream what one server costs; changes cross replicas fast.

Run by hand (not a test), with a PostgreSQL server (the tests' database will do):

    MOSAIC_MCP_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/bench_cluster.py [--runs 1000] [--cycle 2] [--cycles 5] [--warmup 12] \\
        [--subscribe 100] [--finish-share 0.2]

Setup: the sandbox (frozen clock, ample credits) on a free 127.0.0.1 port in its own thread, standing in for the
API; `--runs` live Mosaic runs of one key, created in the sandbox and journaled in a fresh PostgreSQL schema (as
`run_agent` journals them). Each replica is a whole server (`create_server` with MOSAIC_MCP_DATABASE_URL on
that schema), its lifespan held open by one in-memory SDK client, all in this process. Every replica polls on a
fixed cycle (`--cycle` seconds: first interval, cap and idle cap alike, adoption as often), so "per cycle" means
the same thing with one replica and with two. Upstream requests are counted from the sandbox's request log, as
bench_poller.py counts them.

A. Upstream requests per quiet cycle, one replica vs two replicas on the same database: after `--warmup`
   seconds (the first look of every run), the requests of `--cycles` cycles, by route, divided by the cycles.
   Target (issue 14): two replicas <= 1.1x one replica.
B. Change -> notification at a subscriber of the *other* replica: replica A polls (the fixed cycle); replica B,
   started after A's first look, polls on a 60 s cycle, so within the measurement it reads nothing itself and
   hears every change from A over LISTEN/NOTIFY. A client of B (both generations: `legacy` resources/subscribe,
   `auto` subscriptions/listen) is subscribed to `--subscribe` sampled runs; the clock is moved until
   `--finish-share` of the runs ended; reported: the time from then to B's client receiving each changed run's
   update (p50 / p99 / max). A's next poll of a run is at most one cycle away, so the target (issue 14) is
   p99 <= one cycle + 1 s.

Each configuration gets a fresh sandbox and a fresh schema (dropped at the end). Every wait is bounded; the
whole run takes about two minutes at 1,000 runs.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
from mcp import Client

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, p50, percentile, table
from bench_poller import MOSAIC_KEY, Upstream, journal_runs, subscribed, upstream_in_thread

from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.config import load_settings
from mosaic_mcp.server.database import open_postgres
from mosaic_mcp.server.jobs.journal import Journal
from mosaic_mcp.server.jobs.poller import PollTiming
from mosaic_mcp.server.jobs.snapshot import resource_uri
from mosaic_mcp.server.sandbox import Sandbox, SandboxConfig
from mosaic_mcp.server.storage import STORE_SCHEMAS

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
QUIET = PollTiming(initial=60.0, growth=1.0, cap=60.0, idle_cap=60.0, adopt_every=60.0)
"""Replica B of part B: after its first look it reads nothing upstream within the measurement."""


def fixed(cycle: float) -> PollTiming:
    """A poll cycle of `cycle` seconds whatever happens (no back-off), adoption as often."""
    return PollTiming(initial=cycle, growth=1.0, cap=cycle, idle_cap=cycle, adopt_every=cycle)


@contextmanager
def fresh_schema(base: str) -> Iterator[str]:
    """A new, empty schema in `base`'s database: a URL whose search_path is it; dropped on exit."""
    import psycopg  # the postgres extra: this benchmark needs it, the package does not

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    joiner = "&" if "?" in base else "?"
    try:
        yield f"{base}{joiner}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def deployment(base: str, runs: int) -> Iterator[tuple[Upstream, str, list[str]]]:
    """A fresh sandbox with `runs` live runs, journaled in a fresh schema: (upstream, schema URL, run ids)."""
    with (
        upstream_in_thread(Sandbox(SandboxConfig(speed=0, credits=1_000_000_000))) as upstream,
        fresh_schema(base) as url,
    ):
        run_ids = upstream.create_runs(runs)
        database = open_postgres(url, pool_size=2, schemas=STORE_SCHEMAS)
        journal = Journal(database)
        anyio.run(journal_runs, journal, run_ids)
        database.close_sync()
        yield upstream, url, run_ids


def replica(upstream: Upstream, home: Path, url: str, timing: PollTiming) -> MosaicServer:
    """One whole server on the shared database (its own home for everything that is not in the database)."""
    settings = load_settings(
        mosaic_api_key=MOSAIC_KEY,
        motion_api_key="motion_bench",
        mosaic_api_base_url=upstream.base_url,
        motion_api_base_url=upstream.base_url,
        home=home / "home",
        download_dir=home / "downloads",
        database_url=url,
    )
    return create_server(settings, poll_timing=timing)


@asynccontextmanager
async def serving(server: MosaicServer) -> AsyncIterator[Client]:
    """The replica's lifespan (its poller, its fan-out listener) held open by one in-memory client."""
    async with Client(server, mode="auto") as client:  # type: ignore[arg-type]
        yield client


# ------------------------------------------------------------------------------------- part A


async def part_a(
    upstream: Upstream, url: str, folder: Path, replicas: int, cycle: float, cycles: int, warmup: float
) -> tuple[float, Counter[str]]:
    """Requests per cycle (and by route, over the whole window) with `replicas` servers on one database."""
    async with AsyncExitStack() as stack:
        for index in range(replicas):
            await stack.enter_async_context(serving(replica(upstream, folder / f"r{index}", url, fixed(cycle))))
        await anyio.sleep(warmup)
        mark = upstream.mark()
        await anyio.sleep(cycle * cycles)
        routes = upstream.since(mark)
    return sum(routes.values()) / cycles, routes


# ------------------------------------------------------------------------------------- part B


async def part_b(
    upstream: Upstream,
    url: str,
    folder: Path,
    run_ids: list[str],
    mode: str,
    *,
    cycle: float,
    warmup: float,
    sample: int,
    share: float,
) -> tuple[Any, ...]:
    """Change -> update at a client of the replica that does not poll (B), for `mode`."""
    watched = random.Random(8).sample(run_ids, min(sample, len(run_ids)))
    uris = [resource_uri("mosaic_run", r) for r in watched]
    polling = replica(upstream, folder / "a", url, fixed(cycle))
    other = replica(upstream, folder / "b", url, QUIET)
    async with serving(polling):
        await anyio.sleep(warmup)  # A's first look (and, with leases, A holds them all)
        async with subscribed(other, mode, uris) as listener:
            await anyio.sleep(max(cycle, 3.0))  # B's own first look is over
            before = upstream.state(watched)
            listener.times.clear()
            upstream.advance_until_finished(run_ids, share)
            changed_at = time.perf_counter()
            after = upstream.state(watched)
            expected = {resource_uri("mosaic_run", r) for r in watched if before[r] != after[r]}
            with anyio.move_on_after(cycle + 15):
                while not expected.issubset(listener.times):  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            latencies = [(listener.times[u][0] - changed_at) * 1000 for u in expected if u in listener.times]
    missing = len(expected) - len(latencies)
    p99 = percentile(latencies, 99) if latencies else math.nan
    verdict = "met" if latencies and not missing and p99 <= (cycle + 1) * 1000 else "MISSED"
    return (
        len(run_ids),
        mode,
        len(expected),
        f"{p50(latencies):.0f}" if latencies else "-",
        f"{p99:.0f}",
        f"{max(latencies):.0f}" if latencies else "-",
        f"{cycle + 1:.1f}",
        verdict,
        missing,
    )


# ------------------------------------------------------------------------------------- main


def by_route(routes: Counter[str], cycles: int) -> str:
    return ", ".join(f"{name} {count / cycles:.1f}" for name, count in routes.most_common())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("MOSAIC_MCP_TEST_DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--cycle", type=float, default=2.0, help="every replica's fixed poll cycle, seconds")
    parser.add_argument("--cycles", type=int, default=5, help="cycles counted in part A")
    parser.add_argument("--warmup", type=float, default=12.0, help="seconds for the first look of every run")
    parser.add_argument("--subscribe", type=int, default=100)
    parser.add_argument("--finish-share", type=float, default=0.2)
    parser.add_argument("--parts", default="ab")
    args = parser.parse_args()
    if not 1 <= args.runs <= 10_000 or not 1 <= args.cycles <= 50 or not 0.5 <= args.cycle <= 30:
        parser.error("--runs 1..10000, --cycles 1..50, --cycle 0.5..30")
    warnings.filterwarnings("ignore", message="resources/subscribe is removed")  # the legacy client, on purpose
    print(machine_line())
    folder = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    began = time.perf_counter()
    try:
        if "a" in args.parts:
            rows = []
            counts: dict[int, float] = {}
            for replicas in (1, 2):
                with deployment(args.database_url, args.runs) as (upstream, url, _runs):
                    home = folder / f"a{replicas}"
                    per_cycle, routes = anyio.run(
                        part_a, upstream, url, home, replicas, args.cycle, args.cycles, args.warmup
                    )
                counts[replicas] = per_cycle
                rows.append([replicas, args.runs, f"{per_cycle:.1f}", by_route(routes, args.cycles)])
                print(f"... part A, {replicas} replica(s) at {time.perf_counter() - began:.0f} s", file=sys.stderr)
            ratio = counts[2] / counts[1] if counts[1] else math.nan
            print(f"\n## A. Upstream requests per quiet cycle ({args.cycle:g} s cycle, {args.cycles} cycles counted)\n")
            print(table(["replicas", "live runs", "requests / cycle", "by route (per cycle)"], rows))
            verdict = "met" if ratio <= 1.1 else "MISSED"
            print(f"\ntwo replicas / one replica: **{ratio:.2f}x** (target <= 1.1x: {verdict})")
        if "b" in args.parts:
            rows_b = []
            for mode in ("legacy", "auto"):
                with deployment(args.database_url, args.runs) as (upstream, url, run_ids):
                    measure = partial(
                        part_b,
                        upstream,
                        url,
                        folder / f"b-{mode}",
                        run_ids,
                        mode,
                        cycle=args.cycle,
                        warmup=args.warmup,
                        sample=args.subscribe,
                        share=args.finish_share,
                    )
                    rows_b.append(anyio.run(measure))
                print(f"... part B, {mode} at {time.perf_counter() - began:.0f} s", file=sys.stderr)
            print(
                f"\n## B. Change -> update at a subscriber of the other replica ({args.subscribe} runs watched, "
                f"{args.finish_share:.0%} finish)\n"
            )
            headers = ["live runs", "mode", "changed", "p50 ms", "p99 ms", "max ms"]
            headers += ["cycle + 1 s", "p99 <= cycle + 1 s", "missing"]
            print(table(headers, rows_b))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\ntotal {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
