"""The official MCP conformance suite's server scenarios against the real `mosaic-mcp serve --http --sandbox`.

One server for the module, on a free loopback port (no token: loopback needs none); each scenario is
one `conformance server --scenario NAME` run, which exits non-zero when a check fails.
"""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from ..support.processes import http_server, wait_until_listening
from .conftest import NODE_BIN

SCENARIOS: dict[str, str | None] = {
    "server-initialize": None,
    "ping": None,
    "tools-list": None,
    "resources-list": None,
    "prompts-list": None,
    "server-sse-multiple-streams": None,
    "dns-rebinding-protection": None,
    "logging-set-level": None,
    "completion-complete": None,
}
"""The suite's scenarios that apply to any server → None when it must pass, else why it cannot pass yet.

A scenario with a reason is a strict xfail: the day it passes the test fails, so its reason is removed
here. Not run: scenarios that call the suite's own fixture tools, resources or prompts (`tools-call-*`,
`resources-read-*`, `prompts-get-*`, `server-sse-polling`'s `test_reconnection`, the elicitation and
JSON-schema ones), which only its reference server has.
"""


@pytest.fixture(scope="module")
def mcp_url(node_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mosaic-mcp serve --http --sandbox` on loopback for the whole module; its /mcp URL."""
    folder = tmp_path_factory.mktemp("conformance")
    env = {"MOSAIC_MCP_HOME": str(folder / "home"), "MOSAIC_MCP_DOWNLOAD_DIR": str(folder / "downloads")}
    with http_server(env, "--sandbox") as (proc, url):
        anyio.run(wait_until_listening, url, proc)
        yield url


def _marks(reason: str | None) -> list[pytest.MarkDecorator]:
    return [] if reason is None else [pytest.mark.xfail(reason=reason, strict=True)]


@pytest.mark.parametrize(
    "scenario", [pytest.param(name, marks=_marks(reason), id=name) for name, reason in SCENARIOS.items()]
)
def test_conformance_scenario_passes(scenario: str, mcp_url: str, node_env: dict[str, str], tmp_path: Path) -> None:
    """The suite's scenario runs against serve --http and every one of its checks passes."""
    result = subprocess.run(
        [str(NODE_BIN / "conformance"), "server", "--url", mcp_url, "--scenario", scenario, "-o", str(tmp_path)],
        env=node_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{scenario} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
