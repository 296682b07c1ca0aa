"""The tool schemas built once per release (`tools/schemas.json`): current, shipped, and only ever shown.

A tool built from the file must be the tool the SDK's `Tool.from_function` builds from the code, in every
part the server uses; the file changes what `tools/list` shows, never what a call accepts.
"""

from __future__ import annotations

from typing import Any

import pytest
from mcp.server.mcpserver.resolve import Resolve
from mcp.server.mcpserver.tools import Tool
from pydantic import BaseModel, ValidationError

from mosaic_mcp.server.config import Settings
from mosaic_mcp.tools import build_tools
from mosaic_mcp.tools._registry import READ, Registrar
from mosaic_mcp.tools._schemas import SCHEMAS_FILE, build_tool, release_schemas
from mosaic_mcp.tools.catalogue import release_schemas_text

ALL = Settings(MOSAIC_MCP_TOOLSETS="all")


class Things(BaseModel):
    """A result model for the stand-in tools below."""

    count: int


def _shape(tool: Tool) -> dict[str, Any]:
    """Everything of a registered tool the SDK reads to list it, validate its arguments and call it."""
    meta = tool.fn_metadata
    return {
        "listed": (tool.name, tool.title, tool.description, tool.parameters, tool.output_schema),
        "annotations": (tool.annotations, tool.icons, tool.meta),
        "call": (tool.is_async, tool.context_kwarg, meta.output_model, meta.wrap_output),
        "arguments": {
            name: (repr(field.annotation), field.alias, field.is_required(), repr(field.default), repr(field.metadata))
            for name, field in meta.arg_model.model_fields.items()
        },
        "resolved": {name: (_named(marker), wants) for name, (marker, wants) in tool.resolved_params.items()},
        "plans": [
            (_named(plan.fn), plan.is_async, plan.wire_key, {n: _named(vars(p)) for n, p in plan.params.items()})
            for plan in tool.resolver_plans.values()
        ],
    }


def _named(value: Any) -> Any:
    """`value` with functions (and Resolve markers, which a tool module may build per registration) by name."""
    if isinstance(value, Resolve):
        return ("Resolve", _named(value.fn))
    if isinstance(value, dict):
        return {k: _named(v) for k, v in value.items()}
    return value.__qualname__ if callable(value) else value


def test_the_schema_file_is_what_the_code_derives() -> None:
    """tools/schemas.json holds exactly what the code derives (else: python -m mosaic_mcp.tools.catalogue --schemas)."""
    assert SCHEMAS_FILE.read_text(encoding="utf-8") == release_schemas_text(), (
        "tools/schemas.json is stale: run `python -m mosaic_mcp.tools.catalogue --schemas`"
    )


def test_the_installed_package_holds_every_tools_schemas() -> None:
    """The file ships with the package (the wheel's package data) and covers every tool of every toolset."""
    derived = build_tools(ALL, schemas={}).tools
    assert sorted(release_schemas()) == sorted(t.name for t in derived)


def test_a_tool_built_from_the_file_is_the_tool_the_sdk_derives() -> None:
    """Every tool built with the file's schemas equals Tool.from_function's, part by part (52 tools)."""
    from_file = build_tools(ALL).tools
    derived = build_tools(ALL, schemas={}).tools
    assert [t.name for t in from_file] == [t.name for t in derived]
    assert len(derived) > 50
    for cached, sdk in zip(from_file, derived, strict=True):
        assert _shape(cached) == _shape(sdk), cached.name
    assert any(t.resolver_plans for t in from_file)  # the consent and roots resolvers came through


def test_a_tool_the_file_does_not_hold_is_derived_from_its_code() -> None:
    """A tool missing from the file (one added since the release) gets the SDK's schemas, not none."""
    registrar = Registrar(Settings(), schemas={"another_tool": {"input": {}, "output": {}}})

    async def count_things(limit: int = 5) -> Things:
        """Count things."""
        return Things(count=limit)

    registrar.tool(toolset="core", annotations=READ, title="Count things")(count_things)
    (tool,) = registrar.tools
    assert tool.parameters["properties"]["limit"] == {"default": 5, "title": "Limit", "type": "integer"}
    assert tool.output_schema is not None
    assert tool.output_schema["properties"]["count"]["type"] == "integer"


def test_the_file_changes_what_is_shown_never_what_a_call_accepts() -> None:
    """A schema from the file is what the tool lists, but arguments are still checked by the code's model."""

    async def count_things(limit: int) -> Things:
        """Count things."""
        return Things(count=limit)

    shown = {"input": {"type": "object", "properties": {"limit": {"type": "string"}}}, "output": {"type": "object"}}
    tool = build_tool(
        count_things,
        name="count_things",
        title="Count things",
        description="Count things.",
        annotations=READ,
        meta=None,
        schemas={"count_things": shown},
    )
    assert tool.parameters == shown["input"]
    assert tool.output_schema == shown["output"]
    assert tool.fn_metadata.validate_arguments({"limit": 3}) == {"limit": 3}
    with pytest.raises(ValidationError, match="limit"):
        tool.fn_metadata.validate_arguments({"limit": "many"})


def test_every_tool_takes_its_schemas_from_the_file() -> None:
    """No tool of any toolset falls back to deriving its schemas at start-up (that is the cost the file saves)."""
    marked = {
        name: {"input": {**known["input"], "x-marked": True}, "output": {**known["output"], "x-marked": True}}
        for name, known in release_schemas().items()
    }
    tools = build_tools(ALL, schemas=marked).tools
    assert [t.name for t in tools if not t.parameters.get("x-marked")] == []
    assert [t.name for t in tools if not (t.output_schema or {}).get("x-marked")] == []


def test_two_servers_never_share_a_schema_object() -> None:
    """Each build reads the file afresh: a schema changed in one server's tool cannot leak into another's."""
    first, second = build_tools(Settings()).tools, build_tools(Settings()).tools
    first[0].parameters["properties"].clear()
    assert second[0].parameters["properties"]
    assert build_tools(Settings()).tools[0].parameters == second[0].parameters
