"""Request bodies for the Mosaic and Motion APIs.

These models carry the structure (types, which fields exist). Enum and length fields are typed
with the rule aliases of `rules.py` but not checked on construction (`SkipValidation`): `validation.py`,
which the clients run before any request, checks them against the same aliases and names the field
and the rule in its error. Bodies serialise without `None` and without empty lists/objects: the API treats an
absent field as "not given", and an empty one may not mean the same.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializationInfo, SerializerFunctionWrapHandler, SkipValidation
from pydantic import model_serializer as _model_serializer

from .rules import (
    AspectRatio,
    AttachmentName,
    AttachmentType,
    AttachmentUrl,
    DesignMdText,
    Duration,
    MotionMode,
    PromptText,
)

VIDEO_INPUT_NODE_TYPE_ID = "9451e6ff-ac7f-4317-9055-a2f35f641b29"


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, list | dict) and not value)


class RequestModel(BaseModel):
    """Base of request bodies: unknown fields are refused, empty fields are not sent."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # compiled on first use, not at import

    @_model_serializer(mode="wrap")
    def _drop_empty(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if not _is_empty(value)}
        return data

    def to_body(self) -> dict[str, Any]:
        """The JSON body to send."""
        body: dict[str, Any] = self.model_dump(mode="json")
        return body


# --- runs ------------------------------------------------------------------------------------


class MimirAsset(RequestModel):
    """An asset from a Mimir integration; `artifact` defaults to `highres` on the service."""

    id: str
    artifact: str | None = None


class VideoInput(RequestModel):
    """The sources of one Video Input tile (canonical input form; required for multi-input graphs)."""

    agent_node_id: str
    video_ids: list[str] = Field(default_factory=list)
    node_render_ids: list[str] = Field(default_factory=list)
    video_urls: list[str] = Field(default_factory=list)
    mimir_assets: list[MimirAsset] = Field(default_factory=list)
    input_clip_start_ms: int | None = None
    input_clip_end_ms: int | None = None

    @property
    def has_source(self) -> bool:
        """Whether the entry names at least one source."""
        return bool(self.video_ids or self.node_render_ids or self.video_urls or self.mimir_assets)

    @property
    def source_count(self) -> int:
        """How many sources the entry names (a run lists one `inputs[]` item per source)."""
        return len(self.video_ids) + len(self.node_render_ids) + len(self.video_urls) + len(self.mimir_assets)


class RunRequest(RequestModel):
    """Body of POST /agent/{id}/run."""

    video_inputs: list[VideoInput] = Field(default_factory=list)
    video_ids: list[str] = Field(default_factory=list)
    node_render_ids: list[str] = Field(default_factory=list)
    video_urls: list[str] = Field(default_factory=list)
    mimir_assets: list[MimirAsset] = Field(default_factory=list)
    callback_url: str | None = None
    update_params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    ignore_nodes: list[str] = Field(default_factory=list)

    @property
    def has_top_level_inputs(self) -> bool:
        """Whether the single-input shorthand arrays are used."""
        return bool(self.video_ids or self.node_render_ids or self.video_urls or self.mimir_assets)

    @property
    def has_inputs(self) -> bool:
        """Whether any video source is given at all."""
        return self.has_top_level_inputs or bool(self.video_inputs)

    @property
    def source_count(self) -> int:
        """How many sources the run is given in all (what reconciliation compares with `inputs[]`)."""
        top = len(self.video_ids) + len(self.node_render_ids) + len(self.video_urls) + len(self.mimir_assets)
        return top + sum(entry.source_count for entry in self.video_inputs)


# --- agent graph operations ------------------------------------------------------------------


class CreateNodeOp(RequestModel):
    """Add a tile; `temp_ref_id` lets later operations of the same request refer to it."""

    op: Literal["create_node"] = "create_node"
    node_type_id: str
    temp_ref_id: str | None = None
    params_used: dict[str, Any] | None = None


class UpdateNodeOp(RequestModel):
    """Merge `params_used` into a tile's current params."""

    op: Literal["update_node"] = "update_node"
    agent_node_id: str
    params_used: dict[str, Any]


class DeleteNodeOp(RequestModel):
    """Remove a tile and every edge touching it."""

    op: Literal["delete_node"] = "delete_node"
    agent_node_id: str


class _ConnectionOp(RequestModel):
    source_agent_node_id: str | None = None
    source_temp_ref_id: str | None = None
    target_agent_node_id: str | None = None
    target_temp_ref_id: str | None = None


class CreateConnectionOp(_ConnectionOp):
    """Add an edge; exactly one source field and one target field."""

    op: Literal["create_connection"] = "create_connection"


class DeleteConnectionOp(_ConnectionOp):
    """Remove an edge; exactly one source field and one target field."""

    op: Literal["delete_connection"] = "delete_connection"


GraphOperation = Annotated[
    CreateNodeOp | UpdateNodeOp | DeleteNodeOp | CreateConnectionOp | DeleteConnectionOp,
    Field(discriminator="op"),
]


# --- Motion ----------------------------------------------------------------------------------


class Attachment(RequestModel):
    """A file the Motion job may use, given as a publicly reachable URL."""

    url: SkipValidation[AttachmentUrl]
    name: SkipValidation[AttachmentName | None] = None
    type: SkipValidation[AttachmentType | None] = None
    content_type: str | None = None


class DesignMd(RequestModel):
    """A custom DESIGN.md (Pro/Max); wins over `design_system_id`."""

    filename: str | None = None
    content: SkipValidation[DesignMdText]


class MotionSessionRequest(RequestModel):
    """Body of POST /sessions."""

    prompt: SkipValidation[PromptText]
    style_reference_url: str | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    aspect_ratio: SkipValidation[AspectRatio | None] = None
    duration: SkipValidation[Duration | None] = None
    design_system_id: str | None = None  # free text in the tool; validation.py checks it against DesignSystemId
    design_md: DesignMd | str | None = None  # the text alone, or {filename?, content}
    mode: SkipValidation[MotionMode | None] = None


class FollowupRequest(RequestModel):
    """Body of POST /sessions/{id}/followups; optional fields are sent only when given."""

    prompt: SkipValidation[PromptText]
    attachments: list[Attachment] = Field(default_factory=list)
    style_reference_url: str | None = None
    mode: SkipValidation[MotionMode | None] = None
