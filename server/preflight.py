"""Pre-flight checks of a run against the agent's graph, before anything is created or charged.

What the API lets us know for certain is checked (DESIGN.md section 4): first the request's own
rules (nothing is sent for those), then `update_params` and `ignore_nodes` keys against the graph,
inputs against its Video Input tiles (a run without inputs is refused when a tile needs one), and parameter names
and types against the tiles whose parameters the docs list (`tiles.py`). Parameters of other
tiles pass through; if the API then refuses the run, `explain_rejection` says which tiles went
unchecked and where their parameters are documented.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .api._runs import KnownIds
from .api.errors import BadRequestError, InvalidInputError, MosaicMCPError
from .api.models import AgentDetail, AgentNode, NodeType, RunCreated
from .api.mosaic import MosaicClient
from .api.requests import CreateNodeOp, DeleteNodeOp, GraphOperation, RunRequest, UpdateNodeOp
from .api.validation import validate_run_against_graph, validate_run_request
from .tiles import TileDoc, docs_link, tile_doc, value_problem


class RunRejectedError(MosaicMCPError):
    """The API refused to start a run (400/422); nothing was created or charged."""


async def prepare_run(mosaic: MosaicClient, agent_id: str, request: RunRequest) -> AgentDetail:
    """The agent, once the request passed its own rules (no request sent) and the graph's (one read)."""
    validate_run_request(request, mosaic.callbacks)
    agent = await mosaic.get_agent(agent_id)
    check_run(request, agent)
    return agent


def check_run(request: RunRequest, agent: AgentDetail) -> None:
    """Raise `InvalidInputError` naming the node and parameter for the first problem found."""
    validate_run_against_graph(request, agent)
    nodes = {n.agent_node_id: n for n in agent.agent_nodes}
    for node_id, patch in request.update_params.items():
        node = nodes[node_id]
        if node_id in request.ignore_nodes:
            rule = f"{_label(node)} is skipped by ignore_nodes in this run; drop one of the two"
            raise InvalidInputError(f"update_params.{node_id}", rule)
        doc = tile_doc(node.node_type)
        if doc is not None:
            check_params(node, doc, patch)


async def start_run(
    mosaic: MosaicClient, agent: AgentDetail, request: RunRequest, *, known: KnownIds | None = None
) -> RunCreated:
    """POST the run; a 400/422 comes back explained (which tiles went unchecked, their docs)."""
    try:
        return await mosaic.run_agent(agent.agent.id, request, known=known)
    except BadRequestError as exc:
        raise explain_rejection(exc, request, agent) from None


def check_params(
    node: AgentNode, doc: TileDoc, patch: Mapping[str, Any], where: str = "", *, cross: bool = True
) -> None:
    """A parameter patch for a documented tile: names (when the docs list all), types, rules."""
    where = where or f"update_params.{node.agent_node_id}"
    see = f" (see {docs_link(node.node_type) or doc.docs_url})"
    for name, value in patch.items():
        spec = doc.param(name)
        if spec is None:
            if doc.complete:
                known = ", ".join(p.name for p in doc.params)
                rule = f"{_label(node)} has no parameter {name!r}; it takes {known}{see}"
                raise InvalidInputError(f"{where}.{name}", rule)
            continue
        problem = value_problem(spec, value)
        if problem is not None:
            raise InvalidInputError(f"{where}.{name}", f"{_label(node)}: {problem}{see}")
    if cross and doc.check is not None:
        broken = doc.check({**node.params_used, **patch})
        if broken is not None:
            raise InvalidInputError(f"{where}.{broken[0]}", f"{_label(node)}: {broken[1]}{see}")


def check_operations(operations: Sequence[GraphOperation], agent: AgentDetail) -> None:
    """Graph edits: referenced tiles exist (or were created earlier in the list), documented params fit."""
    nodes = {n.agent_node_id: n for n in agent.agent_nodes}
    refs: set[str] = set()
    for i, op in enumerate(operations):
        where = f"operations[{i}]"
        if isinstance(op, CreateNodeOp):
            if op.temp_ref_id:
                refs.add(op.temp_ref_id)
            doc = tile_doc(NodeType(node_type_id=op.node_type_id))
            if doc is not None and op.params_used:
                kind = NodeType(node_type_id=op.node_type_id, node_type_name=doc.name)
                draft = AgentNode(agent_node_id=op.temp_ref_id or "new", node_type=kind)
                check_params(draft, doc, op.params_used, f"{where}.params_used", cross=False)
        elif isinstance(op, UpdateNodeOp | DeleteNodeOp):
            node = nodes.get(op.agent_node_id)
            if node is None:
                raise InvalidInputError(f"{where}.agent_node_id", "is not a tile of this agent (see get_agent)")
            doc = tile_doc(node.node_type)
            if isinstance(op, UpdateNodeOp) and doc is not None:
                check_params(node, doc, op.params_used, f"{where}.params_used")
        else:
            for end in ("source", "target"):
                node_id, ref = getattr(op, f"{end}_agent_node_id"), getattr(op, f"{end}_temp_ref_id")
                if node_id is not None and node_id not in nodes:
                    raise InvalidInputError(f"{where}.{end}_agent_node_id", "is not a tile of this agent")
                if ref is not None and ref not in refs:
                    raise InvalidInputError(
                        f"{where}.{end}_temp_ref_id", "must be the temp_ref_id of an earlier create_node"
                    )


def explain_rejection(error: BadRequestError, request: RunRequest, agent: AgentDetail) -> RunRejectedError:
    """The API's refusal of a run, with the tiles whose parameters could not be checked beforehand."""
    nodes = {n.agent_node_id: n for n in agent.agent_nodes}
    unchecked = [nodes[i] for i in request.update_params if i in nodes and tile_doc(nodes[i].node_type) is None]
    text = f"Mosaic refused to start the run ({error.status_code}): {error.detail or 'no reason given'}. "
    text += "No run was created and no credits were spent."
    if unchecked:
        where = "; ".join(f"{_label(n)}: {docs_link(n.node_type) or 'no docs link'}" for n in unchecked)
        text += (
            " The parameters of these tiles are not documented in a form this server can check, so they "
            f"were sent as given — compare update_params with their docs and fix the one named above: {where}."
        )
    else:
        text += " Fix the named field or value and run again."
    return RunRejectedError(text)


def _label(node: AgentNode) -> str:
    return f"node {node.agent_node_id} ({node.node_type.node_type_name or 'tile'})"
