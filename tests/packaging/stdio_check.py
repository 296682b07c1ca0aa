"""Launch a server the way an MCP host does and check `initialize` + `tools/list` over stdio.

    python tests/packaging/stdio_check.py CONFIG_JSON [--allowed DIR ...] [--timeout SECONDS]

CONFIG_JSON is an `mcpServers` entry, `{"command": …, "args": […], "env": {…}}` (a file path or the JSON
text itself), e.g. what `packaging/host_config.mjs` prints for an unpacked bundle. The child gets this
process's environment plus the entry's `env`, as desktop hosts pass theirs. With `--allowed DIR`, the
check also asks `upload_file` for a file outside every folder and requires each DIR in the refusal's list
of allowed folders (an offline check: the path is refused before any request).

CI runs it with the interpreter of a clean venv that holds only the built wheel, so it needs only the
SDK (a dependency of the package) and the standard library.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from mcp.types import TextContent

OUTSIDE = os.path.join(os.sep, "mosaic-stdio-check-outside", "clip.mp4")
"""A path outside every folder the server may use: upload_file refuses it, listing the allowed folders."""
CORE_TOOLS = frozenset({"run_agent", "poll_job", "create_video_session", "upload_file", "download_output"})


async def check(config: dict[str, Any], allowed: list[str], expected: frozenset[str] = CORE_TOOLS) -> list[str]:
    """Start the server, initialize, list the tools (and check the allowed folders); the tool names.

    `allowed` holds resolved folder paths. Callers bound the whole check (`anyio.fail_after`).
    """
    params = StdioServerParameters(
        command=config["command"], args=list(config.get("args", [])), env={**os.environ, **config.get("env", {})}
    )
    async with Client(params) as client:
        names = sorted(tool.name for tool in (await client.list_tools()).tools)
        missing = expected - set(names)
        if missing:
            raise SystemExit(f"tools/list lacks {sorted(missing)}: {names}")
        if allowed:
            result = await client.call_tool("upload_file", {"path": OUTSIDE})
            text = " ".join(c.text for c in result.content if isinstance(c, TextContent))
            absent = [folder for folder in allowed if folder not in text]
            if not result.is_error or absent:
                raise SystemExit(f"allowed folders {absent} not in the refusal: {text}")
        return names


async def bounded_check(
    config: dict[str, Any], allowed: list[str], seconds: float, expected: frozenset[str] = CORE_TOOLS
) -> list[str]:
    """`check`, given `seconds` in all."""
    with anyio.fail_after(seconds):
        return await check(config, allowed, expected)


def resolved(folders: list[str]) -> list[str]:
    """Each folder as the server resolves and lists it (links and `..` followed)."""
    return [os.path.realpath(folder) for folder in folders]


def main(argv: list[str] | None = None) -> int:
    """Run the check; print what was seen on stderr (stdout stays free for callers)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="an mcpServers entry as JSON, or a file holding it")
    parser.add_argument("--allowed", nargs="*", default=[], help="folders the server must allow")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds for the whole check")
    args = parser.parse_args(argv)
    path = Path(args.config)
    config = json.loads(path.read_text() if not args.config.lstrip().startswith("{") else args.config)
    names = anyio.run(bounded_check, config, resolved(args.allowed), args.timeout)
    print(f"stdio check passed: {config['command']} answered initialize and listed {len(names)} tools", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
