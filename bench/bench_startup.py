"""Benchmark: spawn → `initialize` reply (and → first `tools/list` reply) over stdio, mosaic-mcp vs a bare server.

Run by hand (not a test):

    .venv/bin/python bench/bench_startup.py [--runs 11] [--time-server PATH] [--before PATH]
        [--skip-importtime] [--skip-phases]

What it does:

1. Spawns, interleaved in every round (the order reversed every other round), after one warm-up each:
   the real console script (`.venv/bin/mosaic-mcp serve`, keys `mk_x` / `motion_x`, a private
   `MOSAIC_MCP_HOME` and download dir in a temp folder) with the default toolsets (12 tools) and with
   `MOSAIC_MCP_TOOLSETS=all` (51); `bench/bare_server.py` (a one-tool `MCPServer`, the floor); and,
   when it is installed, the reference `mcp-server-time` (a peer: `--time-server`, else found on PATH
   or beside this Python; install it in its own venv, it pins its own SDK). Into each child's stdin
   go raw JSON-RPC lines: a 2025-11-25 `initialize`, `notifications/initialized` once the reply is
   read, then `tools/list`. Timed from just before the spawn until each reply line arrives on stdout;
   no MCP client library is involved. Reports median and p90 of each, and the ratios to the bare
   server, as ratio of medians and as the median of the per-round ratios (more robust on a busy
   machine). Targets: <= 1.10x with the default toolsets, <= 1.25x with `all`. `--before PATH` adds
   another install's `mosaic-mcp` (e.g. main's, `pip install`ed in its own venv) to every round.
2. `-X importtime` (PYTHONPROFILEIMPORTTIME=1) of one spawn of each: our most expensive modules on the
   stdio path, whether the sandbox / starlette / uvicorn / sqlite3 / pydantic_settings (no longer used) get imported,
   and the extra import time `serve` pays over the bare server, by top-level package.
3. An in-process phase breakdown (fresh interpreter, median of 5): imports, settings, create_server,
   lifespan enter, for both servers, so the gap can be pinned on imports or on lifespan work.

Before any of it, the package's bytecode is written (`compileall`, what `pip install` does for a wheel):
with PYTHONDONTWRITEBYTECODE=1 in the shell, every spawn would otherwise compile ~150 modules from source.

Only 127.0.0.1 is ever used (nothing here opens a socket at all); every child ends when its stdin
closes (a hung one is killed after 60 s); the whole run takes one to two minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BENCH_DIR, clean_env, compile_bytecode, machine_line, p50, p90, table

INITIALIZE = (
    json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "bench-startup", "version": "0"},
            },
        }
    )
    + "\n"
).encode()
INITIALIZED = (json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n").encode()
LIST_TOOLS = (json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}) + "\n").encode()
TARGET_RATIO = 1.10
TARGET_RATIO_ALL = 1.25
REPLY_TIMEOUT = 60.0
WATCHED = (
    "mosaic_mcp.server.sandbox",
    "starlette",
    "uvicorn",
    "sse_starlette",
    "sqlite3",
    "pydantic_settings",
    "ssl",
    "truststore",
    "httpx2",
    "cryptography",
    "opentelemetry",
)


SERVE, SERVE_ALL, BARE, PEER = "mosaic-mcp serve", "mosaic-mcp serve, all toolsets", "bare MCPServer", "mcp-server-time"


def commands() -> dict[str, list[str]]:
    """The real console script and the bare baseline."""
    script = Path(sys.executable).with_name("mosaic-mcp")
    serve = [str(script), "serve"] if script.exists() else [sys.executable, "-m", "mosaic_mcp.server.cli", "serve"]
    return {SERVE: serve, BARE: [sys.executable, str(BENCH_DIR / "bare_server.py")]}


def time_server(given: str | None) -> list[str] | None:
    """The `mcp-server-time` peer: the given path, else on PATH, else beside this Python; None if absent."""
    found = given or shutil.which("mcp-server-time") or str(Path(sys.executable).with_name("mcp-server-time"))
    return [found] if Path(found).exists() else None


def spawn_to_replies(
    cmd: list[str], env: dict[str, str], stderr_path: Path | None = None
) -> tuple[float, float, float]:
    """Seconds from just before the spawn until the `initialize` reply, and until the first `tools/list`
    reply; and the CPU seconds the child used in its whole life (less sensitive to a busy machine)."""
    stderr = stderr_path.open("wb") if stderr_path else subprocess.DEVNULL
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env)
    assert proc.stdin is not None
    assert proc.stdout is not None
    timer = threading.Timer(REPLY_TIMEOUT, proc.kill)  # bounded: a hung child is killed
    timer.start()
    try:
        proc.stdin.write(INITIALIZE)  # buffered in the pipe until the server reads it
        proc.stdin.flush()
        line = proc.stdout.readline()
        initialized = time.perf_counter() - started
        proc.stdin.write(INITIALIZED + LIST_TOOLS)
        proc.stdin.flush()
        listed_line = _reply(proc.stdout, 2)
        listed = time.perf_counter() - started
    finally:
        timer.cancel()
        try:
            proc.stdin.close()  # EOF: the server shuts down by itself
            proc.wait(timeout=15)
        except (subprocess.TimeoutExpired, BrokenPipeError):
            proc.kill()
            proc.wait()
        proc.stdout.close()
        if stderr_path:
            stderr.close()  # type: ignore[union-attr]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # children run one at a time: this one's
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    for raw, want in ((line, 1), (listed_line, 2)):
        reply = json.loads(raw) if raw else {}
        if reply.get("id") != want or "result" not in reply:
            detail = stderr_path.read_text()[-2000:] if stderr_path else ""
            raise SystemExit(f"{cmd}: no result for request {want} (got {raw[:200]!r}) {detail}")
    return initialized, listed, cpu


def _reply(stdout: IO[bytes], request_id: int) -> bytes:
    """The next line answering `request_id` (a server may send notifications first)."""
    while line := stdout.readline():
        if json.loads(line).get("id") == request_id:
            return line
    return b""


def spawn_to_reply(cmd: list[str], env: dict[str, str], stderr_path: Path | None = None) -> float:
    """Seconds from just before the spawn until the `initialize` reply line is read."""
    return spawn_to_replies(cmd, env, stderr_path)[0]


# ---------------------------------------------------------------------------------------- timing


def time_spawns(
    runs: int, servers: dict[str, tuple[list[str], dict[str, str]]]
) -> dict[str, list[tuple[float, float, float]]]:
    """(initialize, tools/list, CPU) times of each server, all interleaved in every round."""
    names = list(servers)
    for name in names:  # warm-up: page cache, .pyc files, the journal's first creation
        spawn_to_replies(*servers[name])
    times: dict[str, list[tuple[float, float, float]]] = {name: [] for name in names}
    for i in range(runs):
        order = names if i % 2 == 0 else names[::-1]  # alternate who goes first as well
        for name in order:
            times[name].append(spawn_to_replies(*servers[name]))
    return times


# ---------------------------------------------------------------------------------------- importtime

_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")


def import_profile(cmd: list[str], env: dict[str, str], folder: Path) -> dict[str, tuple[int, int, int]]:
    """module -> (self us, cumulative us, depth) for one spawn with PYTHONPROFILEIMPORTTIME=1."""
    log = folder / "importtime.txt"
    spawn_to_reply(cmd, {**env, "PYTHONPROFILEIMPORTTIME": "1"}, stderr_path=log)
    modules: dict[str, tuple[int, int, int]] = {}
    for raw in log.read_text().splitlines():
        match = _LINE.match(raw)
        if match:
            modules[match.group(4)] = (int(match.group(1)), int(match.group(2)), len(match.group(3)) // 2)
    return modules


def report_importtime(env: dict[str, str], folder: Path) -> None:
    cmds = commands()
    serve = import_profile(cmds["mosaic-mcp serve"], env, folder)
    bare = import_profile(cmds["bare MCPServer"], env, folder)
    total = {name: sum(s for s, _, _ in mods.values()) / 1000 for name, mods in (("serve", serve), ("bare", bare))}
    print("\n## -X importtime (one spawn each; importtime itself inflates times ~1.5-2x, compare relatively)\n")
    print(
        f"modules imported: serve {len(serve)}, bare {len(bare)}; summed self time: serve {total['serve']:.0f} ms, "
        f"bare {total['bare']:.0f} ms, extra {total['serve'] - total['bare']:.0f} ms\n"
    )
    ours = sorted(((n, v) for n, v in serve.items() if n.startswith("mosaic_mcp")), key=lambda kv: -kv[1][1])
    print("Our modules by cumulative import time (top 15; cumulative includes what each pulls in):\n")
    print(table(["module", "self ms", "cumulative ms"], [(n, s / 1000, c / 1000) for n, (s, c, _) in ours[:15]]))
    print("\nWatched modules (imported on the stdio path?):\n")
    rows = []
    for name in WATCHED:
        in_serve = any(m == name or m.startswith(name + ".") for m in serve)
        in_bare = any(m == name or m.startswith(name + ".") for m in bare)
        cum = serve[name][1] / 1000 if name in serve else 0.0
        rows.append((name, "yes" if in_serve else "no", "yes" if in_bare else "no", cum))
    print(table(["module", "serve", "bare", "serve cumulative ms"], rows))
    sandbox = [m for m in serve if m.startswith("mosaic_mcp.server.sandbox")]
    print(f"\nsandbox on the stdio path: {'YES (bad): ' + ', '.join(sandbox[:5]) if sandbox else 'no (good)'}")
    extra: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for name, (self_us, _, _) in serve.items():
        if name not in bare:
            top = ".".join(name.split(".")[:3]) if name.startswith("mosaic_mcp") else name.split(".")[0]
            extra[top] += self_us / 1000
            counts[top] += 1
    ranked = sorted(extra.items(), key=lambda kv: -kv[1])
    print("\nImport time serve pays that the bare server does not (self time of modules only serve imports):\n")
    print(table(["package", "modules", "self ms"], [(k, counts[k], v) for k, v in ranked[:15]]))


# ---------------------------------------------------------------------------------------- phases

PHASES_SERVE = textwrap.dedent(
    """
    import json, time
    t0 = time.perf_counter()
    from mosaic_mcp.server.cli import main  # what the console script imports (its config, pydantic)
    t1 = time.perf_counter()
    from mosaic_mcp.server.config import load_settings
    settings = load_settings()
    t2 = time.perf_counter()
    from mosaic_mcp.server.app import create_server  # mcp + our server package
    t3 = time.perf_counter()
    server = create_server(settings)  # tools imported and registered here
    t4 = time.perf_counter()
    import anyio
    marks = {}
    async def enter():
        cm = server.settings.lifespan(server)
        a = time.perf_counter()
        await cm.__aenter__()
        marks["enter"] = time.perf_counter() - a
        b = time.perf_counter()
        await cm.__aexit__(None, None, None)
        marks["exit"] = time.perf_counter() - b
    anyio.run(enter)
    print(json.dumps({"import cli + config": t1 - t0, "load_settings": t2 - t1, "import app (+mcp)": t3 - t2,
                      "create_server (+tools)": t4 - t3, "lifespan enter": marks["enter"],
                      "lifespan exit": marks["exit"]}))
    """
)

PHASES_BARE = textwrap.dedent(
    """
    import json, sys, time
    t0 = time.perf_counter()
    from mcp.server import MCPServer
    t1 = time.perf_counter()
    sys.path.insert(0, {bench!r})
    import bare_server
    t2 = time.perf_counter()
    print(json.dumps({{"import app (+mcp)": t1 - t0, "create_server (+tools)": t2 - t1}}))
    """
)


def report_phases(env: dict[str, str], repeats: int = 5) -> None:
    results: dict[str, dict[str, list[float]]] = {"serve": defaultdict(list), "bare": defaultdict(list)}
    scripts = {"serve": PHASES_SERVE, "bare": PHASES_BARE.format(bench=str(BENCH_DIR))}
    for _ in range(repeats):
        for name, code in scripts.items():
            out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=120, check=True)
            for phase, seconds in json.loads(out.stdout.splitlines()[-1]).items():
                results[name][phase].append(seconds * 1000)
    phases = list(dict.fromkeys([*results["serve"], *results["bare"]]))
    rows = []
    for phase in phases:
        serve, bare = results["serve"].get(phase), results["bare"].get(phase)
        rows.append((phase, p50(serve) if serve else "-", p50(bare) if bare else "-"))
    serve_total = sum(p50(v) for k, v in results["serve"].items() if k != "lifespan exit")
    bare_total = sum(p50(v) for v in results["bare"].values())
    rows.append(("sum before first read", serve_total, bare_total))
    print(f"\n## In-process phases (fresh interpreter each, median of {repeats}, ms)\n")
    print(table(["phase", "mosaic-mcp serve", "bare"], rows))
    print(
        "\n(`import cli + config` is what the console script loads before anything else; for the bare server "
        "the mcp import is all of its import work.)"
    )


# ---------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="rounds, one spawn of each server per round (default 11)")
    parser.add_argument("--time-server", help="the mcp-server-time executable (the peer); default: on PATH")
    parser.add_argument("--before", help="another install's mosaic-mcp executable to compare, in the same rounds")
    parser.add_argument("--skip-importtime", action="store_true")
    parser.add_argument("--skip-phases", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    try:
        env = clean_env(
            MOSAIC_API_KEY="mk_x",
            MOTION_API_KEY="motion_x",
            MOSAIC_MCP_HOME=str(folder / "home"),
            MOSAIC_MCP_DOWNLOAD_DIR=str(folder / "downloads"),
        )
        print("# bench_startup: spawn -> `initialize` reply (and first `tools/list`) over stdio\n")
        print(machine_line())
        print(compile_bytecode())
        began = time.perf_counter()
        cmds = commands()
        servers = {
            SERVE: (cmds[SERVE], env),
            SERVE_ALL: (cmds[SERVE], {**env, "MOSAIC_MCP_TOOLSETS": "all"}),
            BARE: (cmds[BARE], env),
        }
        peer = time_server(args.time_server)
        if peer:
            servers[PEER] = (peer, env)
        if args.before:  # another install of mosaic-mcp (e.g. main's), measured in the same rounds
            servers[f"before: {SERVE}"] = ([args.before, "serve"], env)
            servers[f"before: {SERVE_ALL}"] = ([args.before, "serve"], {**env, "MOSAIC_MCP_TOOLSETS": "all"})
        times = time_spawns(max(1, min(args.runs, 50)), servers)  # bounded
        bare = times[BARE]
        print(f"\n## Spawn -> reply ({args.runs} rounds, all servers in each, alternated, after 1 warm-up each; ms)\n")
        rows = []
        for name, pairs in times.items():
            init, listed, cpu = ([p[k] for p in pairs] for k in range(3))
            rows.append(
                (
                    name,
                    len(pairs),
                    p50(init) * 1000,
                    p90(init) * 1000,
                    f"{p50(init) / p50([b[0] for b in bare]):.3f}x",
                    f"{p50([s[0] / b[0] for s, b in zip(pairs, bare, strict=True)]):.3f}x",
                    p50(listed) * 1000,
                    f"{p50([s[1] / b[1] for s, b in zip(pairs, bare, strict=True)]):.3f}x",
                    p50(cpu) * 1000,
                    f"{p50(cpu) / p50([b[2] for b in bare]):.3f}x",
                )
            )
        headers = [
            "server",
            "runs",
            "initialize p50",
            "p90",
            "ratio of medians",
            "paired ratio",
            "tools/list p50",
            "paired ratio (tools/list)",
            "CPU p50 (whole life)",
            "CPU ratio",
        ]
        print(table(headers, rows))
        if not peer:
            print("\n(mcp-server-time not found: pass --time-server PATH to add the peer)")
        for name, target in ((SERVE, TARGET_RATIO), (SERVE_ALL, TARGET_RATIO_ALL)):
            pairs = times[name]
            ratio = p50([p[0] for p in pairs]) / p50([b[0] for b in bare])
            paired = p50([s[0] / b[0] for s, b in zip(pairs, bare, strict=True)])
            verdict = "MET" if max(ratio, paired) <= target else "MISSED"
            gap = (p50([p[0] for p in pairs]) - p50([b[0] for b in bare])) * 1000
            print(f"\n{name}: {max(ratio, paired):.3f}x (gap {gap:.0f} ms) | target <= {target:.2f}x: {verdict}")
        print(f"(timing took {time.perf_counter() - began:.0f} s)")
        if not args.skip_importtime:
            report_importtime(env, folder)
        if not args.skip_phases:
            report_phases(env)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
