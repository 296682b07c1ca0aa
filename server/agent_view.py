"""What a model needs to know about an agent to run it: a compact view of its graph.

The live API returns the graph but no parameter schemas (reference section 2.3), so the view
shows each tile's current parameters, its docs link and — for tiles whose parameters the docs
list (`tiles.py`) — the documented parameters.
"""

from typing import Any, Literal

from pydantic import BaseModel, Field

from .api.models import AgentDetail, AgentNode
from .api.requests import VIDEO_INPUT_NODE_TYPE_ID
from .tiles import ParamDoc, docs_link, tile_doc

InputMode = Literal["single_input", "multi_input", "generation_only"]


class NodeView(BaseModel):
    """One tile of an agent."""

    agent_node_id: str = Field(description="Use as key in update_params / ignore_nodes / video_inputs.")
    tile: str | None = Field(description="The tile's name, e.g. 'Captions'.")
    node_type_id: str = Field(description="The tile type (see list_node_types).")
    is_video_input: bool = Field(description="True for a Video Input tile.")
    params: dict[str, Any] = Field(description="The tile's current parameters.")
    docs_url: str | None = Field(default=None, description="Where the tile's parameters are documented.")
    documented_params: list[ParamDoc] | None = Field(
        default=None, description="The parameters the docs list for this tile (null: undocumented, read docs_url)."
    )
    all_params_documented: bool = Field(
        default=False, description="True when documented_params is the tile's full list (others are refused)."
    )


class AgentView(BaseModel):
    """An agent's graph, compact, with what run_agent needs."""

    agent_id: str = Field(description="The agent's id (pass to run_agent).")
    name: str | None = Field(description="The agent's name.")
    description: str | None = Field(default=None, description="The agent's description, if any.")
    input_mode: InputMode = Field(
        description="single_input, multi_input (pass video_inputs) or generation_only (no video inputs)."
    )
    video_input_node_ids: list[str] = Field(description="The Video Input tiles, in graph order.")
    nodes: list[NodeView] = Field(description="The agent's tiles.")
    connections: list[tuple[str, str]] = Field(description="(from agent_node_id, to agent_node_id) edges.")
    how_to_run: str = Field(description="How to call run_agent for this agent.")


def video_input_ids(agent: AgentDetail) -> list[str]:
    """The agent's Video Input tiles, in graph order."""
    return [n.agent_node_id for n in agent.agent_nodes if n.node_type.node_type_id == VIDEO_INPUT_NODE_TYPE_ID]


def input_mode(agent: AgentDetail) -> InputMode:
    """How the agent takes its inputs (reference section 2.4)."""
    count = len(video_input_ids(agent))
    return "generation_only" if count == 0 else "single_input" if count == 1 else "multi_input"


def node_view(node: AgentNode) -> NodeView:
    """One tile, with its documented parameters where the docs list them (`tiles.py`)."""
    doc = tile_doc(node.node_type)
    return NodeView(
        agent_node_id=node.agent_node_id,
        tile=node.node_type.node_type_name or (doc.name if doc else None),
        node_type_id=node.node_type.node_type_id,
        is_video_input=node.node_type.node_type_id == VIDEO_INPUT_NODE_TYPE_ID,
        params=node.params_used,
        docs_url=docs_link(node.node_type),
        documented_params=list(doc.params) if doc else None,
        all_params_documented=doc.complete if doc else False,
    )


def agent_view(agent: AgentDetail) -> AgentView:
    """The compact view of an agent's graph."""
    mode = input_mode(agent)
    inputs = video_input_ids(agent)
    nodes = [node_view(n) for n in agent.agent_nodes]
    if mode == "generation_only":
        how = "Generation-only: call run_agent with no video inputs (use update_params to set e.g. the prompt)."
    elif mode == "single_input":
        how = "One Video Input tile: pass video_urls, video_ids (uploads) or node_render_ids (earlier outputs)."
    else:
        how = (
            f"{len(inputs)} Video Input tiles: pass video_inputs with one entry per tile "
            f"(agent_node_id = one of {', '.join(inputs)}), not top-level video_urls."
        )
    return AgentView(
        agent_id=agent.agent.id,
        name=agent.agent.name,
        description=agent.agent.description or None,
        input_mode=mode,
        video_input_node_ids=inputs,
        nodes=nodes,
        connections=[(c.source_agent_node_id, c.target_agent_node_id) for c in agent.connections],
        how_to_run=how,
    )
