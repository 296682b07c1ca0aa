"""Toolset `agents`: build and change agents — create, edit the graph, duplicate, delete; tile details."""

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Resolve
from pydantic import BaseModel, Field

from ..server import consent
from ..server.agent_view import AgentView, NodeView, agent_view, node_view
from ..server.api import rules
from ..server.api.models import AgentDeleted, AgentMutation, NodeType
from ..server.api.requests import GraphOperation
from ..server.api.validation import parse_operations
from ..server.preflight import check_operations
from ..server.runtime import Runtime
from ..server.tiles import ParamDoc, docs_link, tile_doc
from ._common import ConfirmDeleting, Id
from ._registry import CREATE, DESTROY, EDIT, READ, Registrar, runtime
from .agents import AgentId

Name = Annotated[rules.AgentName | None, Field(description="Agent name.")]
Description = Annotated[rules.AgentDescription | None, Field(description="What the agent does.")]
Visibility = Annotated[rules.Visibility | None, Field(description="Who can see it.")]
Operations = Annotated[
    list[GraphOperation] | None,
    Field(
        description="Applied in order. create_node (node_type_id from list_node_types; temp_ref_id names it for "
        "later operations), update_node (params merged), delete_node, create_connection / delete_connection "
        "(one source and one target each, by agent_node_id or temp_ref_id)."
    ),
]


class NodeTypeInfo(BaseModel):
    """A tile type with what the docs say about its parameters."""

    node_type: NodeType = Field(description="The tile type.")
    docs_url: str | None = Field(description="Where its parameters are documented.")
    documented_params: list[ParamDoc] | None = Field(description="null: undocumented here; read docs_url.")
    all_params_documented: bool = Field(description="True when documented_params is the full list.")


def register(tools: Registrar) -> None:
    """Register the agent-building tools."""

    @tools.tool(toolset="agents", annotations=CREATE, title="Create an agent")
    async def create_agent(
        ctx: Context[Runtime, Any],
        name: Name = None,
        description: Description = None,
        visibility: Visibility = None,
        workspace_id: Annotated[str | None, Field(description="Default: the primary workspace.")] = None,
    ) -> AgentMutation:
        """Create an empty agent (no tiles); free. Then add tiles and connections with update_agent."""
        return await runtime(ctx).mosaic.create_agent(
            name=name, description=description, visibility=visibility, workspace_id=workspace_id
        )

    @tools.tool(toolset="agents", annotations=EDIT, title="Edit an agent's graph")
    async def update_agent(
        agent_id: AgentId,
        ctx: Context[Runtime, Any],
        operations: Operations = None,
        name: Name = None,
        description: Description = None,
        visibility: Visibility = None,
    ) -> AgentMutation:
        """Rename an agent and/or edit its graph with ordered operations; free. Tile ids and documented
        parameters are checked against the current graph first. delete_node removes a tile and its edges."""
        rt = runtime(ctx)
        ops = parse_operations(operations or [])
        if ops:
            check_operations(ops, await rt.mosaic.get_agent(agent_id))
        return await rt.mosaic.update_agent(
            agent_id, name=name, description=description, visibility=visibility, operations=ops or None
        )

    @tools.tool(toolset="agents", annotations=CREATE, title="Duplicate an agent")
    async def duplicate_agent(
        agent_id: AgentId,
        ctx: Context[Runtime, Any],
        name: Name = None,
        description: Description = None,
        visibility: Visibility = None,
    ) -> AgentView:
        """Copy an agent with its tiles and connections (default name "Copy of …"); free. Returns the copy."""
        copy = await runtime(ctx).mosaic.duplicate_agent(
            agent_id, name=name, description=description, visibility=visibility
        )
        return agent_view(copy)

    async def ask_delete(agent_id: str, ctx: Context[Runtime, Any]) -> consent.Asked:
        return consent.ask(ctx, f"Delete the Mosaic agent {agent_id}? Its tiles are detached; this cannot be undone.")

    @tools.tool(toolset="agents", annotations=DESTROY, title="Delete an agent")
    async def delete_agent(
        agent_id: AgentId,
        ctx: Context[Runtime, Any],
        approval: Annotated[consent.Answer, Resolve(ask_delete)],
        confirm: ConfirmDeleting = False,
    ) -> AgentDeleted:
        """Delete an agent (cannot be undone through the API). Asks the user first (a client that
        cannot ask: see confirm)."""
        rt = runtime(ctx)
        what = f"deleting agent {agent_id}"
        consent.require(approval, action=what, kind=consent.DELETING, confirm=confirm, settings=rt.settings)
        return await rt.mosaic.delete_agent(agent_id)

    @tools.tool(toolset="agents", annotations=READ, title="Show a tile type")
    async def get_node_type(
        node_type_id: Annotated[Id, Field(description="node_type_id from list_node_types.")],
        ctx: Context[Runtime, Any],
    ) -> NodeTypeInfo:
        """Show one tile type: name, docs link and, where the docs list them, its parameters; free."""
        node_type = await runtime(ctx).mosaic.get_node_type(node_type_id)
        doc = tile_doc(node_type)
        return NodeTypeInfo(
            node_type=node_type,
            docs_url=docs_link(node_type),
            documented_params=list(doc.params) if doc else None,
            all_params_documented=doc.complete if doc else False,
        )

    @tools.tool(toolset="agents", annotations=READ, title="Show one placed tile")
    async def get_agent_node(
        agent_node_id: Annotated[Id, Field(description="agent_node_id from get_agent.")],
        ctx: Context[Runtime, Any],
    ) -> NodeView:
        """Show one tile placed in an agent: its type, current parameters and documented ones; free."""
        return node_view(await runtime(ctx).mosaic.get_agent_node(agent_node_id))
