"""The tiles whose parameters the Mosaic docs list (reference section 2.3), with their docs links.

The live API returns no parameter schemas (`/node_types` gives names and docs links only), so
this small table is all mosaic-mcp knows for certain. `complete` says whether the docs list every
parameter of the tile: only then is an unknown parameter name refused before a run. For any tile
not in the table, parameters pass through and the API's own 400 is explained instead
(DESIGN.md section 4).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from .api.models import NodeType

ParamKind = Literal["string", "integer", "number", "boolean", "object"]

IMAGE_GENERATION_ID = "18b998a0-2ea7-4676-a5d3-3ae6c8ac0b72"
CAPTIONS_ID = "cdccb204-168e-4aec-aa72-480b11e74324"
AI_AVATAR_ID = "b3b4c9e2-2a47-4fa9-8ce8-0c1fa1d7b6ef"


class ParamDoc(BaseModel):
    """One documented tile parameter."""

    name: str = Field(description="The parameter.")
    type: ParamKind = Field(description="Its JSON type.")
    required: bool = Field(default=False, description="True when the tile needs it.")
    choices: list[str] | None = Field(default=None, description="The allowed values, when the docs list them.")
    minimum: int | None = Field(default=None, description="Smallest value.")
    maximum: int | None = Field(default=None, description="Largest value.")
    multiple_of: int | None = Field(default=None, description="The value must be a multiple of this.")
    note: str | None = Field(default=None, description="What else the docs say.")


CrossCheck = Callable[[Mapping[str, Any]], tuple[str, str] | None]
"""A rule over a tile's merged parameters: (parameter, rule) when broken, else None."""


@dataclass(frozen=True)
class TileDoc:
    """What the docs say about one tile's parameters."""

    name: str
    node_type_id: str | None
    docs_url: str
    params: tuple[ParamDoc, ...]
    complete: bool
    check: CrossCheck | None = None

    def param(self, name: str) -> ParamDoc | None:
        """The documented parameter `name`, if any."""
        return next((p for p in self.params if p.name == name), None)


def _custom_size_required(params: Mapping[str, Any]) -> tuple[str, str] | None:
    if params.get("image_size") != "custom":
        return None
    for name in ("custom_width", "custom_height"):
        if name not in params:
            return name, "is required when image_size is 'custom' (a multiple of 16 from 256 to 3840)"
    return None


_IMAGE_SIZES = (
    "square_hd", "square", "portrait_4_3", "portrait_16_9", "landscape_4_3", "landscape_16_9", "auto", "custom",
)  # fmt: skip
_SIZE = {"type": "integer", "minimum": 256, "maximum": 3840, "multiple_of": 16}

TILES: tuple[TileDoc, ...] = (
    TileDoc(
        name="Image Generation",
        node_type_id=IMAGE_GENERATION_ID,
        docs_url="https://docs.mosaic.so/tiles/image-generation",
        params=(
            ParamDoc(name="prompt", type="string", required=True),
            ParamDoc(name="model", type="string", choices=["gpt-image-2"], note="default gpt-image-2"),
            ParamDoc(
                name="image_size",
                type="string",
                choices=[*_IMAGE_SIZES],
                note="default landscape_4_3",
            ),
            ParamDoc.model_validate({"name": "custom_width", **_SIZE, "note": "required when image_size is custom"}),
            ParamDoc.model_validate({"name": "custom_height", **_SIZE, "note": "required when image_size is custom"}),
            ParamDoc(name="quality", type="string", choices=["low", "medium", "high"], note="default high"),
            ParamDoc(name="output_format", type="string", choices=["jpeg", "png", "webp"], note="default png"),
            ParamDoc(name="selected_context", type="object", note='{"images": [image URLs or ids]}'),
        ),
        complete=True,
        check=_custom_size_required,
    ),
    TileDoc(
        name="Captions",
        node_type_id=CAPTIONS_ID,
        docs_url="https://docs.mosaic.so/tiles/captions",
        params=(ParamDoc(name="caption_font_weight", type="string", note='a string such as "700", not a number'),),
        complete=False,
    ),
    TileDoc(
        name="AI Avatar",
        node_type_id=AI_AVATAR_ID,
        docs_url="https://docs.mosaic.so/tiles/ai-avatar",
        params=(ParamDoc(name="avatar_profile_id", type="string", note="an avatar profile id (list_avatar_profiles)"),),
        complete=False,
    ),
    TileDoc(
        name="Motion Graphics",
        node_type_id=None,  # not in the docs' id table: matched by name
        docs_url="https://docs.mosaic.so/tiles/motion-graphics",
        params=(
            ParamDoc(name="style_video_url", type="string", note="a video whose style to follow"),
            ParamDoc(name="only_generate_full_screen_graphics", type="boolean"),
        ),
        complete=False,
    ),
)

_BY_ID = {t.node_type_id: t for t in TILES if t.node_type_id}
_BY_NAME = {t.name.casefold(): t for t in TILES}


def tile_doc(node_type: NodeType) -> TileDoc | None:
    """The documented parameters of a tile type, by id, else by name; None when undocumented."""
    found = _BY_ID.get(node_type.node_type_id)
    if found is None and node_type.node_type_name:
        found = _BY_NAME.get(node_type.node_type_name.strip().casefold())
    return found


def docs_link(node_type: NodeType) -> str | None:
    """Where the tile's parameters are documented: the API's link, else the table's."""
    doc = tile_doc(node_type)
    return node_type.params_docs_url or node_type.docs_url or (doc.docs_url if doc else None)


_PY_TYPES: dict[ParamKind, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
}


def value_problem(spec: ParamDoc, value: Any) -> str | None:
    """What is wrong with `value` for a documented parameter (None when fine)."""
    if (isinstance(value, bool) and spec.type != "boolean") or not isinstance(value, _PY_TYPES[spec.type]):
        hint = f" ({spec.note})" if spec.note else ""
        return f"must be {'an' if spec.type[0] in 'aeiou' else 'a'} {spec.type}{hint}, not {_json_type(value)}"
    if spec.choices is not None and value not in spec.choices:
        return f"must be one of {', '.join(spec.choices)}"
    low, high = spec.minimum, spec.maximum
    if isinstance(value, int) and low is not None and high is not None and not low <= value <= high:
        return f"must be from {low} to {high}"
    if isinstance(value, int) and spec.multiple_of and value % spec.multiple_of:
        return f"must be a multiple of {spec.multiple_of}"
    if spec.name == "selected_context" and isinstance(value, dict):
        images = value.get("images", [])
        if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
            return 'must be {"images": [strings]}'
    return None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"
