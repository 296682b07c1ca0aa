"""What tools/list publishes of a schema (server/schemas.py): lean, and exactly as constraining."""

from typing import Any

from pydantic import BaseModel, Field

from mosaic_mcp.server.schemas import published


class Inner(BaseModel):
    """A nested model."""

    title: str = Field(description="A field that happens to be named title.")
    count: int = Field(default=3, description="A count.")


class Outer(BaseModel):
    """The model under test."""

    name: str | None = Field(default=None, description="Optional, null by default.")
    inner: Inner | None = Field(default=None, description="An optional nested model.")
    limit: int = Field(default=20, description="A limit with a real default.")
    kinds: list[Inner] = Field(default_factory=list, description="Nested in an array.")


SCHEMA: dict[str, Any] = Outer.model_json_schema()


def test_titles_are_dropped_at_every_level_but_a_property_named_title_stays() -> None:
    """No `title` keyword is left anywhere; the `title` property of Inner is still a property."""
    lean = published(SCHEMA)
    assert "title" not in lean and "title" not in lean["$defs"]["Inner"]
    assert "title" not in lean["properties"]["limit"]
    assert lean["$defs"]["Inner"]["properties"]["title"] == {
        "description": "A field that happens to be named title.",
        "type": "string",
    }
    assert lean["$defs"]["Inner"]["required"] == ["title"]


def test_an_argument_that_defaults_to_null_is_published_as_its_type() -> None:
    """`anyOf [X, null]` with default null becomes X (with its description); other defaults stay."""
    props = published(SCHEMA)["properties"]
    assert props["name"] == {"type": "string", "description": "Optional, null by default."}
    assert props["inner"] == {"$ref": "#/$defs/Inner", "description": "An optional nested model."}
    assert props["limit"]["default"] == 20
    assert published(SCHEMA)["$defs"]["Inner"]["properties"]["count"]["default"] == 3


def test_an_output_schema_keeps_nullability_and_drops_defaults() -> None:
    """For a result, a nullable field keeps its `anyOf` with null, and no `default` is left."""
    lean = published(SCHEMA, output=True)
    props = lean["properties"]
    assert props["name"] == {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "description": "Optional, null by default.",
    }
    assert "default" not in props["limit"] and "default" not in props["kinds"]
    assert "default" not in lean["$defs"]["Inner"]["properties"]["count"]
    assert lean["$defs"]["Inner"]["required"] == ["title"]


def test_open_objects_lose_only_the_default_additional_properties() -> None:
    """`additionalProperties: true` is JSON Schema's default and goes; `false` and a schema stay."""
    schema = {
        "type": "object",
        "additionalProperties": True,
        "properties": {
            "closed": {"type": "object", "additionalProperties": False},
            "map": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": True}},
        },
    }
    assert published(schema) == {
        "type": "object",
        "properties": {
            "closed": {"type": "object", "additionalProperties": False},
            "map": {"type": "object", "additionalProperties": {"type": "object"}},
        },
    }


def test_values_inside_enums_and_constants_are_left_alone() -> None:
    """Only schema keywords are walked: an enum of objects keeps their `title` and `default` keys."""
    schema = {"enum": [{"title": "x", "default": 1}], "title": "T", "default": {"title": "kept"}}
    assert published(schema) == {"enum": [{"title": "x", "default": 1}], "default": {"title": "kept"}}
    assert published(schema, output=True) == {"enum": [{"title": "x", "default": 1}]}
