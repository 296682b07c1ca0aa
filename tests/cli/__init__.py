"""The `mosaic-mcp` command as a newcomer meets it: run for real, as a child process."""

import os
import subprocess

from ..support.processes import mosaic_mcp_command


def run(args: list[str], env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`mosaic-mcp ARGS` with only `env` of our variables set, stdin closed; bounded."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MOSAIC_", "MOTION_"))}
    return subprocess.run(
        [*mosaic_mcp_command(), *args],
        env={**base, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
