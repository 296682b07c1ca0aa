"""Small helpers shared by the benchmarks in bench/ (stats, tables, machine line). Not a benchmark."""

from __future__ import annotations

import compileall
import importlib.util
import math
import os
import platform
import resource
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def p50(values: Sequence[float]) -> float:
    """The median."""
    return percentile(values, 50)


def p90(values: Sequence[float]) -> float:
    """The 90th percentile."""
    return percentile(values, 90)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (it reads fine in a terminal too)."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def machine_line() -> str:
    """What the numbers were measured on: date, CPUs, Python, platform, load."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC} | nproc {os.cpu_count()} | Python {platform.python_version()} "
        f"({sys.implementation.name}) | {platform.system()} {platform.machine()} | "
        f"loadavg {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


def rss_mb() -> float:
    """Current resident set size of this process, in MB (Linux /proc; else the peak)."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return peak_rss_mb()


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


def clean_env(**extra: str) -> dict[str, str]:
    """os.environ without the developer's own MOSAIC_* / MOTION_* settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOSAIC_", "MOTION_"))}
    env.update(extra)
    return env


def compile_bytecode(package: str = "mosaic_mcp") -> str:
    """Write `package`'s .pyc files, as `pip install` does for a wheel; a line saying so, for the report.

    A cold start reads bytecode when it is there. Without it, every spawn compiles the package's ~150
    modules from source again (a checkout whose shell sets PYTHONDONTWRITEBYTECODE=1 never caches them):
    that costs ~150-200 ms per start on 2 cores and is not what an installed server pays.
    """
    spec = importlib.util.find_spec(package)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    ok = all(compileall.compile_dir(folder, quiet=1) for folder in folders)
    line = f"bytecode of {package}: {'compiled beforehand, as pip install does' if ok else 'NOT compiled'}"
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        line += " (PYTHONDONTWRITEBYTECODE is set here: without this step every spawn recompiles)"
    return line
