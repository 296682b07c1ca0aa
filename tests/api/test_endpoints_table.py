"""ENDPOINTS.md stays true: every client method is listed, every test it names exists."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from mosaic_mcp.server.api import MosaicClient, MotionClient

HERE = Path(__file__).parent
TABLE = (HERE / "ENDPOINTS.md").read_text(encoding="utf-8")
ROWS = [line for line in TABLE.splitlines() if line.startswith("| ") and "`" in line]


def client_methods(cls: type) -> set[str]:
    """Public coroutine / async-generator methods a caller uses to reach an endpoint."""
    return {
        name
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_")
        and name != "aclose"
        and (inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member))
    }


def listed_methods() -> set[str]:
    """Names in the table's method column."""
    return {re.findall(r"`([^`]+)`", row.split("|")[3])[0] for row in ROWS}


def test_every_client_method_is_listed() -> None:
    """Each public async method of MosaicClient and MotionClient has a row."""
    methods = client_methods(MosaicClient) | client_methods(MotionClient)
    assert len(methods) >= 58
    assert methods - listed_methods() == set()
    assert listed_methods() - methods == set()


def test_every_listed_test_exists() -> None:
    """Each `file.py::test_name` of the table is a test function in that file."""
    references = [ref for row in ROWS for ref in re.findall(r"`(test_\w+\.py)::(\w+)`", row.split("|")[4])]
    assert len(references) >= len(ROWS)
    defined: dict[str, set[str]] = {}
    for filename, test_name in references:
        if filename not in defined:
            tree = ast.parse((HERE / filename).read_text(encoding="utf-8"))
            functions = (ast.AsyncFunctionDef, ast.FunctionDef)
            defined[filename] = {node.name for node in tree.body if isinstance(node, functions)}
        assert test_name in defined[filename], f"{filename}::{test_name} does not exist"
