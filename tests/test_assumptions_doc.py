"""docs/ASSUMPTIONS.md stays true: every test it points at exists, and every switch it names is a sandbox setting."""

import ast
import re
from dataclasses import fields
from pathlib import Path

from mosaic_mcp.server.sandbox import SandboxConfig

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "ASSUMPTIONS.md"
REF = re.compile(r"`((?:tests/[\w/]+\.py)?)(?:::(\w+))?[^`]*`")


def _rows() -> list[list[str]]:
    rows = []
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 4 and not set(cells[0]) <= {"-", " "} and cells[0] != "Point":
            rows.append(cells)
    return [r for r in rows if r[0] != "Open point"]


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_every_test_the_page_points_at_exists() -> None:
    """Each `tests/…py::name` (or `::name` after one) in the test column is a test function of that file."""
    checked = 0
    for row in _rows():
        current: Path | None = None
        for path, name in REF.findall(row[3]):
            if path:
                current = ROOT / path
                assert current.is_file(), f"{path} (row {row[0][:40]!r}) does not exist"
            if name:
                assert current is not None, f"::{name} has no file before it (row {row[0][:40]!r})"
                assert name in _tests_in(current), f"{current.relative_to(ROOT)}::{name} does not exist"
                checked += 1
    assert checked >= 20


def test_every_switch_the_page_names_is_a_sandbox_setting() -> None:
    """Each switch cell names a `SandboxConfig` field, so the page cannot point at a switch that is gone."""
    names = {f.name for f in fields(SandboxConfig)}
    switches = [row[2].strip("`") for row in _rows() if row[2] not in {"–", "-"}]
    assert switches
    for switch in switches:
        assert switch in names, f"{switch} is not a SandboxConfig field"
