"""Benchmark: `list_jobs` and `resources/list` with a big journal, after a key rotation, vs the original key.

Run by hand (not a test):

    .venv/bin/python bench/bench_journal.py [--jobs 100000] [--iterations 100]

Setup: the sandbox on a free 127.0.0.1 port in this process; a journal in a temp folder filled with
`--jobs` settled runs journaled under an *old* Mosaic key (one transaction, straight SQL) and 50 runs
under a *new* key, 5 of them live (started in the sandbox, its clock frozen). Two servers share that
journal: one configured with the new key (the case of the issue: every row of the old key must be
skipped), one with the old key (the floor: the rows it lists are the newest anyway).

Timed, interleaved per iteration so machine noise hits both alike (in-memory `mcp.Client`, auto mode):
`list_jobs` (limit 20), `list_jobs active_only`, `resources/list`, for each server; and the raw SQL of
the listing before and after this change (`IN (...) ORDER BY created_at` through the creation-time
index vs one index range per fingerprint). Then the journal's size, and `prune` with half the old
rows past the retention. Target: <= 10 ms for `list_jobs` and `resources/list` whatever the key
history, and `active_only` lists every live job. Takes about a minute; ends by itself.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, p50, p90, table

from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.config import Settings, key_fingerprint, load_settings
from mosaic_mcp.server.jobs.journal import Journal
from mosaic_mcp.server.jobs.poller import PollTiming
from mosaic_mcp.server.jobs.snapshot import pending_snapshot
from mosaic_mcp.server.sandbox import Sandbox, SandboxConfig, serve_sandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

OLD_KEY, NEW_KEY, MOTION_KEY = "mk_bench_old_key", "mk_bench_new_key", "motion_bench_key"
NEW_JOBS, LIVE_JOBS = 50, 5
TARGET_MS = 10.0
VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
TIMING = PollTiming(initial=5.0, cap=30.0, idle_cap=60.0, adopt_every=3600.0)  # the poller stays quiet


def fill(path: Path, jobs: int, old: str, new: str, *, now: float) -> None:
    """`jobs` settled runs of the `old` fingerprint over 200 days up to an hour ago (over half past 90
    days), then `NEW_JOBS - LIVE_JOBS` settled runs of the `new` one in the last hour."""
    Journal(path)  # creates the schema (and its indexes) as the server would
    done = pending_snapshot("mosaic_run", "x", "completed").model_copy(update={"settled": True})
    rows = []
    for i in range(jobs):
        at = now - 200 * 86400 + i * (200 * 86400 / jobs) - 3600
        snap = done.model_copy(update={"job_id": f"old-{i:07}"}).model_dump_json()
        rows.append((f"old-{i:07}", "mosaic_run", old, at, at, at, '{"agent_id": "a"}', snap, 1, None))
    for i in range(NEW_JOBS - LIVE_JOBS):
        at = now - 3000 + i
        snap = done.model_copy(update={"job_id": f"new-{i:03}"}).model_dump_json()
        rows.append((f"new-{i:03}", "mosaic_run", new, at, at, at, '{"agent_id": "a"}', snap, 1, None))
    db = sqlite3.connect(path)
    with db:
        db.executemany("INSERT INTO jobs VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    db.close()


def settings_for(key: str, folder: Path, mosaic_url: str, motion_url: str) -> Settings:
    return load_settings(
        mosaic_api_key=key,
        motion_api_key=MOTION_KEY,
        mosaic_api_base_url=mosaic_url,
        motion_api_base_url=motion_url,
        home=folder / "home",
        download_dir=folder / "downloads",
        retention_days=0,  # the benchmark prunes by hand, at the end
    )


HANDLER: list[float] = []
"""The last server-side handler time (ms), set by the wrappers `served_for` installs."""


def served_for(server: MosaicServer) -> None:
    """Time the server's own `call_tool` and `list_resources` (the SDK's handlers call them on the instance)."""
    for name in ("call_tool", "list_resources"):
        method = getattr(server, name)

        async def wrapper(*args: Any, _method: Any = method, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await _method(*args, **kwargs)
            finally:
                HANDLER.append((time.perf_counter() - started) * 1000)

        setattr(server, name, wrapper)


async def timed(fn: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await fn()
    return (time.perf_counter() - started) * 1000


def raw_queries(path: Path, fingerprints: list[str], limit: int) -> dict[str, Callable[[], object]]:
    """The listing's SQL before this change and now, on their own connection (no decoding)."""
    db = sqlite3.connect(path, check_same_thread=False)
    marks = ",".join("?" * len(fingerprints))
    before = (  # the plan SQLite chose before the key indexes existed
        f"SELECT job_id FROM jobs INDEXED BY jobs_by_created WHERE key_fingerprint IN ({marks}) "
        "ORDER BY created_at DESC LIMIT ?"
    )
    one = "SELECT * FROM (SELECT job_id, created_at FROM jobs WHERE key_fingerprint=? ORDER BY created_at DESC LIMIT ?)"
    now = " UNION ALL ".join([one] * len(fingerprints)) + " ORDER BY created_at DESC LIMIT ?"
    args_now = [v for fp in fingerprints for v in (fp, limit)]
    return {
        "SQL before (IN + creation index)": lambda: db.execute(before, (*fingerprints, limit)).fetchall(),
        "SQL now (one range per key)": lambda: db.execute(now, (*args_now, limit)).fetchall(),
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000, help="settled jobs of the old key (default 100,000)")
    parser.add_argument("--iterations", type=int, default=100, help="timed rounds (default 100)")
    args = parser.parse_args()
    jobs, iterations = max(1, min(args.jobs, 1_000_000)), max(1, min(args.iterations, 1000))
    print("# bench_journal: listings with a big journal after a key rotation\n")
    print(machine_line())
    folder = Path(tempfile.mkdtemp(prefix="bench-journal-"))
    try:
        async with AsyncExitStack() as stack:
            running = await stack.enter_async_context(serve_sandbox(Sandbox(SandboxConfig(speed=0.0))))
            new = settings_for(NEW_KEY, folder, running.mosaic_base_url, running.motion_base_url)
            old = settings_for(OLD_KEY, folder, running.mosaic_base_url, running.motion_base_url)
            began = time.perf_counter()
            fingerprints = key_fingerprint(SecretStr(OLD_KEY)), key_fingerprint(SecretStr(NEW_KEY))
            fill(new.journal_path, jobs, *fingerprints, now=time.time())
            print(f"\nfilled {jobs:,} settled jobs of the old key in {time.perf_counter() - began:.1f} s")
            clients = {}
            for label, settings in (("new key", new), ("old key", old)):
                server = create_server(settings, poll_timing=TIMING)
                served_for(server)
                clients[label] = await stack.enter_async_context(Client(server))
            live = set()
            for _ in range(LIVE_JOBS):  # the frozen clock keeps them running
                args_run = {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]}
                handle = (await clients["new key"].call_tool("run_agent", args_run)).structured_content
                live.add(str(handle["job_id"]) if handle else "?")
            active = (await clients["new key"].call_tool("list_jobs", {"active_only": True})).structured_content
            assert active is not None
            listed = {str(j["job_id"]) for j in active["jobs"]}
            print(f"active_only lists {len(listed & live)} of {len(live)} live runs (and {len(listed - live)} others)")

            paths: dict[str, Callable[[], Awaitable[Any]]] = {}
            for label, client in clients.items():
                c = client
                paths[f"list_jobs, {label}"] = lambda c=c: c.call_tool("list_jobs", {})
                paths[f"list_jobs active_only, {label}"] = lambda c=c: c.call_tool("list_jobs", {"active_only": True})
                paths[f"resources/list, {label}"] = lambda c=c: c.list_resources()
            new_fps = sorted({key_fingerprint(SecretStr(NEW_KEY)), key_fingerprint(SecretStr(MOTION_KEY))})
            raw = raw_queries(new.journal_path, new_fps, 100)
            times: dict[str, list[float]] = {name: [] for name in [*paths, *raw]}
            handled: dict[str, list[float]] = {name: [] for name in paths}
            for fn in paths.values():  # warm-up
                await fn()
            for i in range(iterations):
                order = list(paths.items()) if i % 2 == 0 else list(paths.items())[::-1]
                for name, fn in order:
                    times[name].append(await timed(fn))
                    handled[name].append(HANDLER.pop())
                for name, query in raw.items():
                    started = time.perf_counter()
                    query()
                    times[name].append((time.perf_counter() - started) * 1000)
            rows = [
                (
                    name,
                    p50(v),
                    p90(v),
                    max(v),
                    *((p50(handled[name]), p90(handled[name])) if name in handled else ("-", "-")),
                )
                for name, v in times.items()
            ]
            print(f"\n## {iterations} rounds, interleaved (ms; in-memory client, auto mode)\n")
            print(table(["path", "p50", "p90", "max", "server handler p50", "handler p90"], rows))
            print(
                "\n(The client's column includes mcp.Client's own jsonschema check of list_jobs' structured result "
                "against its output schema, most of its cost; the handler columns time the server's call_tool / "
                "list_resources alone.)"
            )
            for column, values in (("client", times), ("server handler", handled)):
                worst = max(p50(values[n]) for n in paths if "new key" in n)
                verdict = "MET" if worst <= TARGET_MS else "MISSED"
                print(f"worst p50 with the new key, {column}: {worst:.2f} ms | target <= {TARGET_MS:.0f} ms: {verdict}")

        path = new.journal_path
        size = path.stat().st_size + sum(p.stat().st_size for p in path.parent.glob(path.name + "-*"))
        journal = Journal(path)
        started = time.perf_counter()
        removed = await journal.prune(90)
        took = time.perf_counter() - started
        left = len(await journal.recent(limit=1_000_000))
        await journal.close()
        after = path.stat().st_size + sum(p.stat().st_size for p in path.parent.glob(path.name + "-*"))
        print(f"\njournal: {size / 2**20:.1f} MiB at {jobs + NEW_JOBS:,} jobs (with WAL)")
        print(
            f"prune(90 days): removed {removed:,} settled jobs in {took:.2f} s; {left:,} left (live ones kept); "
            f"file {after / 2**20:.1f} MiB (freed pages are reused, the file does not shrink)"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(anyio.run(main))
