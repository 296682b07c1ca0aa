"""Mosaic identity, agents and node types: responses, and the graph operations of an agent update."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from ._types import APIModel, RequestModel

VIDEO_INPUT_NODE_TYPE_ID = "9451e6ff-ac7f-4317-9055-a2f35f641b29"


class WhoAmI(APIModel):
    """GET /whoami: the organization the key belongs to (and its scopes; null = full access)."""

    organization_id: str | None = None
    organization_name: str | None = None
    organization_slug: str | None = None
    created_at: str | None = None
    last_used_at: str | None = None
    scopes: list[str] | None = None

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

    node_type_id: str
    node_type_name: str | None = None
    docs_url: str | None = None
    params_docs_url: str | None = None


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

    temp_ref_id: str | None = None
    agent_node_id: str


class AgentMutation(APIModel):
    """Response of POST /agent/create and /agent/{id}/update."""

    success: bool = True
    agent_id: str
    operations_applied: int = 0
    created_nodes: list[CreatedNode] = Field(default_factory=list)


class AgentDeleted(APIModel):
    """Response of POST /agent/{id}/delete."""

    success: bool = True
    agent_id: str | None = None
    message: str | None = None


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
