"""Tools stay thin: every tool body is short and reaches no client's or service's internals.

A tool is arguments → one call into the server layer → typed result; a flow of several steps
belongs in `server/usecases/`. This test reads the source of `tools/*.py` (no import, no server)
and finds every function decorated with `tools.tool(...)`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TOOLS_DIR = Path(__file__).resolve().parents[1] / "tools"
MAX_BODY_LINES = 25
INTERNALS = frozenset({"http", "_http", "client", "poller", "journal"})
"""Attributes a tool must not reach through: a client's HTTP layer and the job service's parts."""


def _is_tool_decorator(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "tool"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "tools"
    )


def _tool_functions(path: Path) -> list[ast.AsyncFunctionDef | ast.FunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
        and any(map(_is_tool_decorator, node.decorator_list))
    ]


def _body_lines(fn: ast.AsyncFunctionDef | ast.FunctionDef) -> int:
    """Lines from the first statement after the docstring to the end of the function."""
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if not body:
        return 0
    end = body[-1].end_lineno or body[-1].lineno
    return end - body[0].lineno + 1


def _reached_internals(fn: ast.AsyncFunctionDef | ast.FunctionDef) -> list[str]:
    """Attribute chains in the body that go through an internal part, e.g. `rt.mosaic.http.client`."""
    found = []
    for node in ast.walk(fn):
        if isinstance(node, ast.Attribute) and node.attr in INTERNALS and not isinstance(node.value, ast.Name):
            found.append(ast.unparse(node))
    return found


TOOL_FILES = sorted(p for p in TOOLS_DIR.glob("*.py") if not p.name.startswith("_"))


def test_the_shape_check_sees_the_tools() -> None:
    """The check finds the tool modules and their decorated functions (so it cannot pass vacuously)."""
    found = {fn.name for path in TOOL_FILES for fn in _tool_functions(path)}
    assert {"run_agent", "create_video_session", "followup_video_session", "download_output", "poll_job"} <= found
    assert len(found) > 40


@pytest.mark.parametrize("path", TOOL_FILES, ids=lambda p: p.name)
def test_tool_bodies_are_short(path: Path) -> None:
    """Every tool function body (after its docstring) is at most 25 lines."""
    long = {fn.name: n for fn in _tool_functions(path) if (n := _body_lines(fn)) > MAX_BODY_LINES}
    assert long == {}, (
        f"tool bodies over {MAX_BODY_LINES} lines in {path.name}: {long}; move the flow to server/usecases/"
    )


@pytest.mark.parametrize("path", TOOL_FILES, ids=lambda p: p.name)
def test_tools_reach_no_internals(path: Path) -> None:
    """No tool body reaches through a client's HTTP layer or the job service's parts (`.http.client`, `.poller`)."""
    reached = {fn.name: r for fn in _tool_functions(path) if (r := _reached_internals(fn))}
    assert reached == {}, f"tools in {path.name} reach into internals: {reached}; give the server layer a method"
