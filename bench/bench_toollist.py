"""The size of `tools/list`: what every session pays in context before the model does anything.

Lists the tools through the SDK's in-memory `Client` (no network, no keys: nothing is called) for the
default toolsets and for `all`, and prints, per toolset setting, the bytes of the `tools` array as
compact JSON (what goes on the wire), its share in descriptions, input and output schemas, and an
approximate token count (bytes / 4: no tokenizer offline; JSON runs at roughly 3.5-4.5 bytes a token).
`--per-tool` adds one row per tool, largest first. Ends in a few seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
from _common import machine_line, table
from mcp import Client

from mosaic_mcp.server.app import create_server
from mosaic_mcp.server.config import load_settings

BYTES_PER_TOKEN = 4


def size(value: Any) -> int:
    """Bytes of `value` as compact JSON, as the SDK sends it."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


async def listed(toolsets: str) -> list[dict[str, Any]]:
    """The `tools` array of a `tools/list` answer, as JSON objects."""
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            mosaic_api_key="mk_bench",
            motion_api_key="motion_bench",
            home=Path(folder) / "home",
            download_dir=Path(folder) / "downloads",
            toolsets=toolsets,
        )
        async with Client(create_server(settings)) as client:
            tools = (await client.list_tools()).tools
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]


def summary_row(label: str, tools: list[dict[str, Any]]) -> list[object]:
    """One row: count, bytes, approximate tokens and where the bytes go."""
    total = size(tools)
    described = sum(size(t.get("description", "")) for t in tools)
    inputs = sum(size(t["inputSchema"]) for t in tools)
    outputs = sum(size(t.get("outputSchema", {})) for t in tools)
    return [
        label,
        len(tools),
        f"{total:,}",
        f"{total / 1024:.1f} KiB",
        f"≈ {total // BYTES_PER_TOKEN:,}",
        f"{100 * described / total:.0f} %",
        f"{100 * inputs / total:.0f} %",
        f"{100 * outputs / total:.0f} %",
    ]


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-tool", action="store_true", help="also list every tool's size")
    args = parser.parse_args()
    print(machine_line())
    print()
    settings = {"default (core)": "core", "all": "all"}
    lists = {label: await listed(value) for label, value in settings.items()}
    headers = ["toolsets", "tools", "bytes", "size", "tokens", "descriptions", "input schemas", "output schemas"]
    print(table(headers, [summary_row(label, tools) for label, tools in lists.items()]))
    if args.per_tool:
        rows = sorted(
            ([t["name"], size(t), size(t["inputSchema"]), size(t.get("outputSchema", {}))] for t in lists["all"]),
            key=lambda row: -int(str(row[1])),
        )
        print()
        print(table(["tool", "bytes", "input schema", "output schema"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(anyio.run(main))
