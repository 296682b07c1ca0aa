"""What `tools/list` publishes of a schema: everything that constrains or explains, nothing a model skips.

Pydantic's schemas are written for validators, and say some things at length:

- every property and model has a `title` ("Job Id" for `job_id`) that repeats its name: dropped;
- an optional argument is `anyOf: [X, {"type": "null"}]` with `"default": null`, where leaving it out
  says the same: published as `X` alone (sending null still works: arguments are checked by their
  pydantic model, not by this schema);
- `"additionalProperties": true` (a free-form object, or a response model that keeps unknown fields)
  is what JSON Schema assumes anyway: dropped (`false`, which closes an input, stays);
- a result's field carries the `default` a caller could omit, but a result has no caller: dropped.
  (Its nullable fields keep their `anyOf`: `"type": [T, "null"]` would be shorter, but the Inspector's
  strict lint flags it as less portable, e.g. to Gemini's single-`type` dialect.)

Types, `required`, enums, limits and descriptions stay, so structured output is checked exactly as
before. Only schema keywords are walked: a property named `title`, or a dict in an `enum`, stays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})
_SCHEMA_LISTS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})
_SCHEMAS = frozenset({"items", "additionalProperties", "not", "contains", "if", "then", "else"})
NULL = {"type": "null"}


def published(schema: Mapping[str, Any], *, output: bool = False) -> dict[str, Any]:
    """`schema` as `tools/list` shows it: an input schema, or with `output` a result's."""
    lean: dict[str, Any] = {}
    for key, value in schema.items():
        if (key == "title" and isinstance(value, str)) or (key == "default" and output):
            continue
        if key == "additionalProperties" and value is True:
            continue
        if key in _SCHEMA_MAPS and isinstance(value, Mapping):
            lean[key] = {name: _walk(sub, output) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            lean[key] = [_walk(sub, output) for sub in value]
        elif key in _SCHEMAS:
            lean[key] = _walk(value, output)
        else:
            lean[key] = value
    return lean if output else _without_null_branch(lean)


def _walk(value: Any, output: bool) -> Any:
    return published(value, output=output) if isinstance(value, Mapping) else value


def _without_null_branch(schema: dict[str, Any]) -> dict[str, Any]:
    """An argument that defaults to null as its one other type, without the default."""
    branches = schema.get("anyOf")
    if not isinstance(branches, list) or len(branches) != 2 or NULL not in branches:
        return schema
    if "default" not in schema or schema["default"] is not None:
        return schema
    (other,) = (b for b in branches if b != NULL)
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
    return {**other, **rest}
