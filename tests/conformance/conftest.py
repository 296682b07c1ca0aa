"""Node 22 and the pinned npm packages of tests/conformance, or a skip that says how to install them.

`npm ci` in this folder installs Node 22 (npm's `node` package: the suite does not start on Node 20),
`@modelcontextprotocol/conformance` and `@modelcontextprotocol/inspector` at the versions pinned in
package-lock.json. .ci/run installs them and fails when these tests were skipped.
"""

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
NODE_BIN = HERE / "node_modules" / ".bin"
INSTALL = (
    "needs the conformance suite's npm packages (Node 22, @modelcontextprotocol/conformance, "
    "@modelcontextprotocol/inspector): run `npm ci` in tests/conformance (npm >= 10)"
)


@pytest.fixture(scope="session")
def node_env() -> dict[str, str]:
    """The environment a pinned npm tool runs in: Node 22 from node_modules first on PATH."""
    for tool in ("node", "conformance", "inspector"):
        if not (NODE_BIN / tool).exists():
            pytest.skip(f"{INSTALL}; missing node_modules/.bin/{tool}")
    return {**os.environ, "PATH": f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
