"""`mosaic-mcp demo`, the README's first command: no keys, no network, both jobs completed."""

import os
import subprocess

from ..support.processes import mosaic_mcp_command


def test_demo_completes_both_jobs() -> None:
    """The demo exits 0 and its transcript shows the run and the Motion video completed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOSAIC_", "MOTION_"))}
    result = subprocess.run(
        [*mosaic_mcp_command(), "demo", "--speed", "60"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "connected to the server over stdio" in result.stdout
    assert "both jobs completed" in result.stdout
    assert result.stdout.count("output ") >= 2
