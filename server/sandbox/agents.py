"""Agents (templates): metadata, template nodes and edges, and the ordered graph operations.

A multi-operation update is atomic here (all or nothing) - the live API does not document it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import catalog, seed
from .clock import iso, parse_iso
from .errors import bad_request, not_found
from .ids import IdFactory

VISIBILITIES = ("public", "private")


@dataclass
class AgentNode:
    """A placed tile: its template id, type and saved params."""

    agent_node_id: str
    node_type: catalog.NodeType
    params: dict[str, Any] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        """The documented agent-node shape."""
        return {
            "agent_node_id": self.agent_node_id,
            "node_type": self.node_type.public(),
            "params_used": copy.deepcopy(self.params),
        }


@dataclass
class Agent:
    """An agent template."""

    agent_id: str
    name: str
    description: str
    visibility: str | None
    workspace_id: str
    created_at: float
    updated_at: float
    nodes: dict[str, AgentNode] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)
    deleted: bool = False

    def metadata(self) -> dict[str, Any]:
        """The ``agent`` object of GET /agent/{id}."""
        return {
            "id": self.agent_id,
            "name": self.name,
            "description": self.description,
            "visibility": self.visibility,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }

    def view(self) -> dict[str, Any]:
        """The GET /agent/{id} body."""
        return {
            "agent": self.metadata(),
            "agent_nodes": [node.view() for node in self.nodes.values()],
            "connections": [{"source_agent_node_id": s, "target_agent_node_id": t} for s, t in self.edges],
        }

    def summary(self) -> dict[str, Any]:
        """One entry of GET /agents."""
        return {
            "id": self.agent_id,
            "name": self.name,
            "description": self.description,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


def _reaches(edges: Iterable[tuple[str, str]], start: str, goal: str) -> bool:
    children: dict[str, list[str]] = {}
    for source, target in edges:
        children.setdefault(source, []).append(target)
    stack, seen = [start], set()
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(children.get(node, []))
    return False


def topo_order(node_ids: Iterable[str], edges: Iterable[tuple[str, str]]) -> list[str]:
    """Node ids in dependency order, ties kept in their given order."""
    ids = list(node_ids)
    edge_list = list(edges)
    done: list[str] = []
    placed: set[str] = set()
    while len(done) < len(ids):
        for node in ids:
            if node not in placed and all(s in placed for s, t in edge_list if t == node):
                done.append(node)
                placed.add(node)
                break
        else:
            raise ValueError("graph has a cycle")
    return done


def _string(body: Mapping[str, Any], name: str, low: int, high: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not low <= len(value) <= high:
        raise bad_request(f"{name} must be a string of {low}-{high} characters")
    return value


def _visibility(body: Mapping[str, Any]) -> str | None:
    value = body.get("visibility")
    if value is not None and value not in VISIBILITIES:
        raise bad_request("visibility must be 'public' or 'private'")
    return value


class _Editor:
    """Applies ordered operations to a working copy of an agent's graph."""

    def __init__(self, agent: Agent, ids: IdFactory) -> None:
        self.nodes = {
            k: AgentNode(v.agent_node_id, v.node_type, copy.deepcopy(v.params)) for k, v in agent.nodes.items()
        }
        self.edges = list(agent.edges)
        self.refs: dict[str, str] = {}
        self.created: list[dict[str, Any]] = []
        self._ids = ids

    def apply(self, op: Any) -> None:
        if not isinstance(op, dict) or not isinstance(op.get("op"), str):
            raise ValueError("each operation must be an object with an 'op' field")
        handler = {
            "create_node": self._create_node,
            "update_node": self._update_node,
            "delete_node": self._delete_node,
            "create_connection": self._create_connection,
            "delete_connection": self._delete_connection,
        }.get(op["op"])
        if handler is None:
            raise ValueError(f"unknown op {op['op']!r}")
        handler(op)

    def _params(self, node_type: catalog.NodeType, params: Any, node_label: str) -> dict[str, Any]:
        if not isinstance(params, dict):
            raise ValueError("params_used must be an object")
        problem = catalog.params_problem(node_type, params, complete=False)
        if problem is not None:
            raise ValueError(f"node {node_label} ({node_type.name}): {problem}")
        return params

    def _create_node(self, op: dict[str, Any]) -> None:
        node_type = catalog.BY_ID.get(str(op.get("node_type_id")))
        if node_type is None:
            raise ValueError(f"unknown node_type_id {op.get('node_type_id')!r}")
        ref = op.get("temp_ref_id")
        if ref is not None and (not isinstance(ref, str) or ref in self.refs):
            raise ValueError(f"temp_ref_id {ref!r} must be a string unique within the request")
        node_id = self._ids.new()
        params = self._params(node_type, op.get("params_used", {}), ref or node_id)
        self.nodes[node_id] = AgentNode(node_id, node_type, copy.deepcopy(params))
        if ref is not None:
            self.refs[ref] = node_id
        self.created.append({"temp_ref_id": ref, "agent_node_id": node_id})

    def _node(self, op: dict[str, Any], key: str = "agent_node_id") -> str:
        node_id = op.get(key)
        if not isinstance(node_id, str) or node_id not in self.nodes:
            raise ValueError(f"{key} {node_id!r} is not a node of this agent")
        return node_id

    def _update_node(self, op: dict[str, Any]) -> None:
        node = self.nodes[self._node(op)]
        if "params_used" not in op:
            raise ValueError("update_node requires params_used")
        node.params.update(copy.deepcopy(self._params(node.node_type, op["params_used"], node.agent_node_id)))

    def _delete_node(self, op: dict[str, Any]) -> None:
        node_id = self._node(op)
        del self.nodes[node_id]
        self.edges = [(s, t) for s, t in self.edges if node_id not in (s, t)]

    def _endpoint(self, op: dict[str, Any], side: str) -> str:
        by_id, by_ref = op.get(f"{side}_agent_node_id"), op.get(f"{side}_temp_ref_id")
        if (by_id is None) == (by_ref is None):
            raise ValueError(f"give exactly one of {side}_agent_node_id and {side}_temp_ref_id")
        if by_ref is not None:
            if by_ref not in self.refs:
                raise ValueError(f"{side}_temp_ref_id {by_ref!r} was not created earlier in this request")
            return self.refs[by_ref]
        return self._node(op, f"{side}_agent_node_id")

    def _create_connection(self, op: dict[str, Any]) -> None:
        source, target = self._endpoint(op, "source"), self._endpoint(op, "target")
        if self.nodes[target].node_type.kind == "input":
            raise ValueError("a Video Input tile cannot have incoming connections")
        if source == target or _reaches(self.edges, target, source):
            raise ValueError("connection would create a cycle")
        if (source, target) in self.edges:
            raise ValueError("connection already exists")
        self.edges.append((source, target))

    def _delete_connection(self, op: dict[str, Any]) -> None:
        edge = (self._endpoint(op, "source"), self._endpoint(op, "target"))
        if edge not in self.edges:
            raise ValueError("no such connection")
        self.edges.remove(edge)


class AgentStore:
    """All agents of the organisation (deleted ones are kept, hidden)."""

    def __init__(self, ids: IdFactory) -> None:
        self._ids = ids
        self._agents: dict[str, Agent] = {}

    def seed(self) -> None:
        """Install the seeded agents."""
        for spec in seed.SEED_AGENTS:
            stamp = parse_iso(spec.created_at)
            agent = Agent(spec.agent_id, spec.name, spec.description, "private", seed.WORKSPACE_ID, stamp, stamp)
            for node in spec.nodes:
                agent.nodes[node.agent_node_id] = AgentNode(
                    node.agent_node_id, catalog.BY_ID[node.node_type_id], copy.deepcopy(node.params)
                )
            agent.edges = list(spec.edges)
            self._agents[agent.agent_id] = agent

    def get(self, agent_id: str) -> Agent:
        """A live agent, or 404."""
        agent = self._agents.get(agent_id)
        if agent is None or agent.deleted:
            raise not_found("Agent", agent_id)
        return agent

    def listing(self, workspace_id: str | None) -> list[Agent]:
        """Live agents, newest first, optionally of one workspace."""
        agents = [a for a in self._agents.values() if not a.deleted]
        if workspace_id is not None:
            agents = [a for a in agents if a.workspace_id == workspace_id]
        return sorted(agents, key=lambda a: (a.created_at, a.agent_id), reverse=True)

    def find_node(self, agent_node_id: str) -> AgentNode:
        """A template node of any live agent, or 404."""
        for agent in self._agents.values():
            if not agent.deleted and agent_node_id in agent.nodes:
                return agent.nodes[agent_node_id]
        raise not_found("Agent node", agent_node_id)

    def create(self, body: Mapping[str, Any], now: float, default_workspace: str) -> Agent:
        """POST /agent/create: metadata only (graph fields are rejected, as documented)."""
        for legacy in ("graph", "nodes", "connections", "create_video_input_node"):
            if legacy in body:
                raise bad_request(f"'{legacy}' is not accepted; add nodes with POST /agent/{{id}}/update operations")
        workspace = body.get("workspace_id", default_workspace)
        if workspace not in seed.WORKSPACE_IDS:
            raise bad_request(f"workspace_id {workspace!r} is not a workspace of this organization")
        agent = Agent(
            self._ids.new(),
            _string(body, "name", 1, 120) or "Untitled agent",
            _string(body, "description", 0, 5000) or "",
            _visibility(body) or "private",
            workspace,
            now,
            now,
        )
        self._agents[agent.agent_id] = agent
        return agent

    def update(self, agent: Agent, body: Mapping[str, Any], now: float) -> tuple[int, list[dict[str, Any]]]:
        """POST /agent/{id}/update: metadata and/or ordered operations; returns (applied, created)."""
        if not any(k in body for k in ("name", "description", "visibility", "operations")):
            raise bad_request("send at least one of name, description, visibility, operations")
        name, description = _string(body, "name", 1, 120), _string(body, "description", 0, 5000)
        visibility = _visibility(body)
        operations = body.get("operations", [])
        if not isinstance(operations, list):
            raise bad_request("operations must be an array")
        editor = _Editor(agent, self._ids)
        for index, op in enumerate(operations):
            try:
                editor.apply(op)
            except ValueError as exc:
                raise bad_request(f"operations[{index}]: {exc}") from None
        agent.nodes, agent.edges = editor.nodes, editor.edges
        agent.name = name if name is not None else agent.name
        agent.description = description if description is not None else agent.description
        agent.visibility = visibility if visibility is not None else agent.visibility
        agent.updated_at = now
        return len(operations), editor.created

    def duplicate(self, agent: Agent, body: Mapping[str, Any], now: float) -> Agent:
        """POST /agent/{id}/duplicate: a copy with fresh node ids."""
        mapping = {node_id: self._ids.new() for node_id in agent.nodes}
        clone = Agent(
            self._ids.new(),
            _string(body, "name", 1, 120) or f"Copy of {agent.name}"[:120],
            _string(body, "description", 0, 5000) or agent.description,
            _visibility(body) or agent.visibility,
            agent.workspace_id,
            now,
            now,
        )
        for old, new in mapping.items():
            node = agent.nodes[old]
            clone.nodes[new] = AgentNode(new, node.node_type, copy.deepcopy(node.params))
        clone.edges = [(mapping[s], mapping[t]) for s, t in agent.edges]
        self._agents[clone.agent_id] = clone
        return clone

    def delete(self, agent: Agent, now: float) -> None:
        """Soft delete."""
        agent.deleted = True
        agent.updated_at = now
