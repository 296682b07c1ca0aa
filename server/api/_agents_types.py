"""Mosaic identity, agents and node types: responses, and the graph operations of an agent update."""

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from ._types import APIModel, RequestModel

VIDEO_INPUT_NODE_TYPE_ID = "9451e6ff-ac7f-4317-9055-a2f35f641b29"


class WhoAmI(APIModel):
    """GET /whoami: the organization the key belongs to (and its scopes; null = full access)."""

    organization_id: str | None = Field(default=None, description="The organization's id.")
    organization_name: str | None = Field(default=None, description="Its name.")
    organization_slug: str | None = Field(default=None, description="Its short name.")
    created_at: str | None = Field(default=None, description="When the key was created.")
    last_used_at: str | None = Field(default=None, description="When the key was last used.")
    scopes: list[str] | None = Field(default=None, description="The key's scopes; null means full access.")

    @model_validator(mode="before")
    @classmethod
    def _scopes_wherever_they_are(cls, data: Any) -> Any:
        """`scopes` is documented by name only: read it at the top or under `key` / `api_key`."""
        if isinstance(data, dict) and "scopes" not in data:
            for holder in ("key", "api_key"):
                nested = data.get(holder)
                if isinstance(nested, dict) and "scopes" in nested:
                    return {**data, "scopes": nested["scopes"]}
        return data


class NodeType(APIModel):
    """One tile type of the catalogue; the API gives names and docs links, never param schemas."""

    node_type_id: str = Field(description="The tile type's id.")
    node_type_name: str | None = Field(default=None, description="Its name, e.g. Captions.")
    docs_url: str | None = Field(default=None, description="Its documentation.")
    params_docs_url: str | None = Field(default=None, description="Where its parameters are documented.")


class AgentSummary(APIModel):
    """One entry of GET /agents."""

    id: str
    name: str | None = None
    description: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class AgentPage(APIModel):
    """One page of GET /agents."""

    agents: list[AgentSummary] = Field(default_factory=list)
    next_cursor: str | None = None


class AgentInfo(APIModel):
    """The `agent` object of GET /agent/{id}."""

    id: str
    name: str | None = None
    description: str | None = None
    visibility: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class AgentNode(APIModel):
    """A tile placed in an agent's graph (template node)."""

    agent_node_id: str
    node_type: NodeType
    params_used: dict[str, Any] = Field(default_factory=dict)


class Connection(APIModel):
    """A directed edge between two template nodes."""

    source_agent_node_id: str
    target_agent_node_id: str


class AgentDetail(APIModel):
    """GET /agent/{id} (and the duplicate response): metadata, nodes and edges."""

    agent: AgentInfo
    agent_nodes: list[AgentNode] = Field(default_factory=list)
    connections: list[Connection] = Field(default_factory=list)


class CreatedNode(APIModel):
    """A node created by a `create_node` operation, mapped from its `temp_ref_id`."""

    temp_ref_id: str | None = Field(default=None, description="The temp_ref_id given in create_node.")
    agent_node_id: str = Field(description="The new tile's id.")


class AgentMutation(APIModel):
    """Response of POST /agent/create and /agent/{id}/update."""

    success: bool = Field(default=True, description="True when applied.")
    agent_id: str = Field(description="The agent.")
    operations_applied: int = Field(default=0, description="How many operations were applied.")
    created_nodes: list[CreatedNode] = Field(default_factory=list, description="The tiles created, by temp_ref_id.")


class AgentDeleted(APIModel):
    """Response of POST /agent/{id}/delete."""

    success: bool = Field(default=True, description="True when deleted.")
    agent_id: str | None = Field(default=None, description="The deleted agent.")
    message: str | None = Field(default=None, description="The service's message.")


class NodeTypeList(APIModel):
    """GET /node_types."""

    node_types: list[NodeType] = Field(default_factory=list)


class NodeTypeEnvelope(APIModel):
    """GET /node_type/{id}."""

    node_type: NodeType


class AgentNodeEnvelope(APIModel):
    """GET /agent_nodes/{id}."""

    agent_node: AgentNode


class CreateNodeOp(RequestModel):
    """Add a tile; `temp_ref_id` lets later operations of the same request refer to it."""

    op: Literal["create_node"] = Field(default="create_node", description="The operation.")
    node_type_id: str = Field(description="The tile type (see list_node_types).")
    temp_ref_id: str | None = Field(
        default=None, description="A name later operations of this request may use for the tile."
    )
    params_used: dict[str, Any] | None = Field(default=None, description="The tile's parameters.")


class UpdateNodeOp(RequestModel):
    """Merge `params_used` into a tile's current params."""

    op: Literal["update_node"] = Field(default="update_node", description="The operation.")
    agent_node_id: str = Field(description="The tile to change.")
    params_used: dict[str, Any] = Field(description="Parameters merged into the tile's current ones.")


class DeleteNodeOp(RequestModel):
    """Remove a tile and every edge touching it."""

    op: Literal["delete_node"] = Field(default="delete_node", description="The operation.")
    agent_node_id: str = Field(description="The tile to remove.")


class _ConnectionOp(RequestModel):
    source_agent_node_id: str | None = Field(default=None, description="The edge's start: an existing tile.")
    source_temp_ref_id: str | None = Field(default=None, description="Or a tile created earlier in this request.")
    target_agent_node_id: str | None = Field(default=None, description="The edge's end: an existing tile.")
    target_temp_ref_id: str | None = Field(default=None, description="Or a tile created earlier in this request.")


class CreateConnectionOp(_ConnectionOp):
    """Add an edge; exactly one source field and one target field."""

    op: Literal["create_connection"] = Field(default="create_connection", description="The operation.")


class DeleteConnectionOp(_ConnectionOp):
    """Remove an edge; exactly one source field and one target field."""

    op: Literal["delete_connection"] = Field(default="delete_connection", description="The operation.")


GraphOperation = Annotated[
    CreateNodeOp | UpdateNodeOp | DeleteNodeOp | CreateConnectionOp | DeleteConnectionOp,
    Field(discriminator="op"),
]
