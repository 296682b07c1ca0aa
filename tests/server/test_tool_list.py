"""The tool list reads well to a model: the points the Inspector CLI's strict lint checks, in-repo.

With every toolset on: each tool has a title, a clean-text description and all four annotation
hints; every property of every input and output schema (nested models and array items included)
has a description; no schema accepts anything (`{}`), none has a `type` array (less portable), and
none carries the titles `server/schemas.py` drops. tests/conformance/test_inspector.py runs the
Inspector itself where its npm packages are installed.
"""

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import Tool

from mosaic_mcp.server.app import create_server
from mosaic_mcp.server.sandbox import RunningSandbox

from ..support import FAST_POLLING, sandbox_settings

pytestmark = pytest.mark.anyio

VALIDATION = frozenset(
    {"type", "enum", "const", "$ref", "anyOf", "oneOf", "allOf", "not", "properties", "items", "additionalProperties"}
)
"""A schema with none of these accepts any value (the Inspector's "no validation keyword" warning)."""


@pytest.fixture
async def tools(served: RunningSandbox, tmp_path: Path, mode: str) -> list[Tool]:
    """Every tool of every toolset, as tools/list gives them."""
    server = create_server(sandbox_settings(served, tmp_path, toolsets="all"), poll_timing=FAST_POLLING)
    async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
        listed = (await client.list_tools()).tools
    assert len(listed) > 40
    return listed


def schemas(schema: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every sub-schema with its path, the root included (properties, $defs, items, branches)."""
    if not isinstance(schema, dict):
        return
    yield path, schema
    for keyword in ("properties", "$defs", "patternProperties"):
        for name, sub in (schema.get(keyword) or {}).items():
            yield from schemas(sub, f"{path}.{keyword}.{name}")
    for keyword in ("items", "additionalProperties", "not"):
        yield from schemas(schema.get(keyword), f"{path}.{keyword}")
    for keyword in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for i, sub in enumerate(schema.get(keyword) or []):
            yield from schemas(sub, f"{path}.{keyword}[{i}]")


def tool_schemas(tool: Tool) -> Iterator[tuple[str, dict[str, Any]]]:
    """The sub-schemas of a tool's input and output schemas."""
    yield from schemas(tool.input_schema, f"{tool.name}.inputSchema")
    yield from schemas(tool.output_schema, f"{tool.name}.outputSchema")


async def test_every_tool_has_a_title_clean_description_and_annotations(tools: list[Tool]) -> None:
    """Each tool has a title, a description without docstring indentation, and every annotation hint set."""
    for tool in tools:
        assert tool.title, tool.name
        assert tool.description, tool.name
        assert tool.description == inspect.cleandoc(tool.description), f"{tool.name}: description is not clean text"
        assert "\n " not in tool.description, f"{tool.name}: indented line in the description"
        hints = tool.annotations.model_dump() if tool.annotations else {}
        for hint in ("read_only_hint", "destructive_hint", "idempotent_hint", "open_world_hint"):
            assert isinstance(hints.get(hint), bool), f"{tool.name}: {hint} not set"


async def test_every_property_has_a_description(tools: list[Tool]) -> None:
    """Every property of every input and output schema, at any depth, says what it is."""
    undescribed = [
        f"{path}.properties.{name}"
        for tool in tools
        for path, schema in tool_schemas(tool)
        for name, prop in (schema.get("properties") or {}).items()
        if not (isinstance(prop, dict) and str(prop.get("description", "")).strip())
    ]
    assert undescribed == [], f"{len(undescribed)} properties without a description: {undescribed}"


async def test_every_schema_constrains_and_is_portable(tools: list[Tool]) -> None:
    """No sub-schema accepts any value or uses a `type` array, and none repeats its name as a title."""
    loose = [path for tool in tools for path, s in tool_schemas(tool) if VALIDATION.isdisjoint(s)]
    arrays = [path for tool in tools for path, s in tool_schemas(tool) if isinstance(s.get("type"), list)]
    titled = [path for tool in tools for path, s in tool_schemas(tool) if isinstance(s.get("title"), str)]
    assert loose == [], f"schemas that accept any value: {loose}"
    assert arrays == [], f"type arrays (use anyOf): {arrays}"
    assert titled == [], f"titles left in: {titled[:5]}"


async def test_output_schemas_carry_no_defaults(tools: list[Tool]) -> None:
    """A result's schema has no `default` (a result has no caller), while input defaults stay."""
    defaults = [path for t in tools for path, s in schemas(t.output_schema, f"{t.name}.outputSchema") if "default" in s]
    assert defaults == []
    limit = next(t for t in tools if t.name == "list_agents").input_schema["properties"]["limit"]
    assert isinstance(limit["default"], int)
