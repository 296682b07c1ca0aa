"""The MCP Inspector CLI's strict lint of the tool list reports nothing, for the default toolsets and all.

`inspector --cli --method tools/list --strict` starts `mosaic-mcp serve --sandbox` over stdio and
prints each tool-schema portability problem (path, issue, fix) on stderr; it exits 6 on an error.
tests/server/test_tool_list.py checks the same points in-repo, without Node.
"""

import subprocess
from pathlib import Path

import pytest

from ..support.processes import mosaic_mcp_command
from .conftest import NODE_BIN

PROBLEM = ("Warning:", "Error:", "Schema portability")
"""How the lint's report lines start (one block per problem, and a count line)."""


@pytest.mark.parametrize("toolsets", ["core", "all"])
def test_inspector_strict_lint_reports_nothing(toolsets: str, node_env: dict[str, str], tmp_path: Path) -> None:
    """The strict lint lists the tools and finds no warning or error in any tool's schemas."""
    server = [*mosaic_mcp_command(), "serve", "--sandbox", "--toolsets", toolsets]
    folders = ["-e", f"MOSAIC_MCP_HOME={tmp_path / 'home'}", "-e", f"MOSAIC_MCP_DOWNLOAD_DIR={tmp_path / 'dl'}"]
    result = subprocess.run(
        [str(NODE_BIN / "inspector"), "--cli", "--method", "tools/list", "--strict", *folders, *server],
        env=node_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert '"tools"' in result.stdout and '"run_agent"' in result.stdout
    problems = [line for line in result.stderr.splitlines() if line.startswith(PROBLEM)]
    assert problems == [], result.stderr[-4000:]
