"""Tool schemas built once per release, not on every start.

`Tool.from_function` derives each tool's input and output JSON schema from its signature on every
start: ~4 ms a tool here, most of the SDK's cost of building 13 tools (52 with `all`). The schemas
only change when the code does, so `schemas.json` (next to this file, shipped in the wheel) keeps
them, and `build_tool` builds a tool with the SDK's own parts (its argument model, context and resolver
lookup, `FuncMetadata`, `Tool`), taking the two schemas from that file instead of deriving them.
Arguments are still validated by the live pydantic model, and results by the live result model, so
the file changes what `tools/list` shows, never what a call accepts.

A tool missing from the file, or one whose result is not a pydantic model (`Model` or
`Annotated[CallToolResult, Model]`), is built the SDK's way.
`tests/toolsets/test_schema_file.py` fails when the file differs from what the code derives;
`python -m mosaic_mcp.tools.catalogue --schemas` writes it again.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

from mcp.server.mcpserver.resolve import build_resolver_plans, find_resolved_parameters, returns_input_required
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.context_injection import find_context_parameter
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata, func_metadata
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel

SCHEMAS_FILE = Path(__file__).resolve().with_name("schemas.json")  # resolved: an editable install links this file

Schemas = Mapping[str, Mapping[str, Any]]
"""Tool name → {"input": its arguments' JSON schema, "output": its result's}."""


def release_schemas() -> Schemas:
    """The schemas in `schemas.json`; none when the file is absent or unreadable (every tool is then derived).

    Read afresh for each server built (~2 ms): its tools own their schemas, nothing is shared between servers."""
    try:
        loaded = json.loads(SCHEMAS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def build_tool(
    fn: Callable[..., Any],
    *,
    name: str,
    title: str,
    description: str,
    annotations: ToolAnnotations,
    meta: dict[str, Any] | None,
    schemas: Schemas,
) -> Tool:
    """The SDK's `Tool` for `fn`, its schemas taken from `schemas` when it holds them."""
    known = schemas.get(name)
    result = _result_model(inspect.signature(fn, eval_str=True).return_annotation)
    if known is None or result is None or returns_input_required(fn):
        return Tool.from_function(
            fn, name=name, title=title, description=description, annotations=annotations, meta=meta
        )
    context_kwarg = find_context_parameter(fn)
    resolved = find_resolved_parameters(fn)
    skipped = [*([context_kwarg] if context_kwarg is not None else []), *resolved]
    arguments = func_metadata(fn, skip_names=skipped, structured_output=False).arg_model
    names = {field.alias or field_name for field_name, field in arguments.model_fields.items()}
    return Tool(
        fn=fn,
        name=name,
        title=title,
        description=description,
        parameters=known["input"],
        fn_metadata=FuncMetadata(arg_model=arguments, output_model=result, output_schema=known["output"]),
        is_async=inspect.iscoroutinefunction(fn),
        context_kwarg=context_kwarg,
        resolved_params=dict(resolved),
        resolver_plans=build_resolver_plans(resolved, names),
        annotations=annotations,
        meta=meta,
    )


def _result_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model a tool's result is checked against, for the two forms our tools use: `Model`, and
    `Annotated[CallToolResult, Model]` (a tool that builds its own result); None for any other."""
    if get_origin(annotation) is Annotated:
        inner, *extra = get_args(annotation)
        annotation = extra[0] if inner is CallToolResult and len(extra) == 1 else None
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def derived(tools: list[Tool]) -> dict[str, dict[str, Any]]:
    """What `schemas.json` holds for `tools` (built the SDK's way): each one's input and output schema."""
    return {t.name: {"input": t.parameters, "output": t.output_schema} for t in tools if t.output_schema is not None}
