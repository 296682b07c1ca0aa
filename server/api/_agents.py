"""Mosaic identity, agents and node types (reference sections 2.1–2.3)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from ._agents_types import (
    AgentDeleted,
    AgentDetail,
    AgentMutation,
    AgentNode,
    AgentNodeEnvelope,
    AgentPage,
    AgentSummary,
    GraphOperation,
    NodeType,
    NodeTypeEnvelope,
    NodeTypeList,
    WhoAmI,
)
from ._base import ClientBase, page_params
from .errors import InvalidInputError
from .pagination import paginate
from .validation import (
    check_limit,
    parse_operations,
    validate_agent_fields,
    validate_operations,
)


def _metadata(name: str | None, description: str | None, visibility: str | None) -> dict[str, Any]:
    validate_agent_fields(name, description, visibility)
    fields = {"name": name, "description": description, "visibility": visibility}
    return {key: value for key, value in fields.items() if value is not None}


class AgentsAPI(ClientBase):
    """Identity, agents (templates) and the node-type catalogue."""

    async def whoami(self) -> WhoAmI:
        """GET /whoami: check the key and see its organization and scopes."""
        return await self._get(WhoAmI, "/whoami")

    async def create_agent(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        visibility: str | None = None,
        workspace_id: str | None = None,
    ) -> AgentMutation:
        """POST /agent/create: a metadata-only agent (add tiles with `update_agent`)."""
        body = _metadata(name, description, visibility)
        if workspace_id is not None:
            body["workspace_id"] = workspace_id
        return await self._send(AgentMutation, "POST", "/agent/create", json=body, retry="create")

    async def list_agents(self, limit: int = 25, cursor: str | None = None) -> AgentPage:
        """GET /agents: one page of the organization's agents."""
        check_limit(limit)
        return await self._get(AgentPage, "/agents", page_params(limit, cursor))

    async def iter_agents(self, page_size: int = 100, max_items: int | None = None) -> AsyncIterator[AgentSummary]:
        """Every agent, following cursors (at most `max_items`)."""
        check_limit(page_size, field="page_size")

        async def fetch(cursor: str | None) -> tuple[list[AgentSummary], str | None]:
            page = await self.list_agents(limit=page_size, cursor=cursor)
            return page.agents, page.next_cursor

        async for agent in paginate(fetch, max_items=max_items):
            yield agent

    async def get_agent(self, agent_id: str) -> AgentDetail:
        """GET /agent/{id}: metadata, tiles and edges."""
        return await self._get(AgentDetail, self._path("/agent/{agent_id}", agent_id=agent_id))

    async def update_agent(
        self,
        agent_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        visibility: str | None = None,
        operations: Sequence[GraphOperation | Mapping[str, Any]] | None = None,
    ) -> AgentMutation:
        """POST /agent/{id}/update: metadata and/or an ordered list of graph operations."""
        path = self._path("/agent/{agent_id}/update", agent_id=agent_id)
        body = _metadata(name, description, visibility)
        if operations:
            ops = parse_operations(operations)
            validate_operations(ops)
            body["operations"] = [op.model_dump(mode="json") for op in ops]
        if not body:
            raise InvalidInputError("update", "give at least one of name, description, visibility, operations")
        # Not idempotent in general (create_node twice makes two tiles), so never resent blindly.
        return await self._send(AgentMutation, "POST", path, json=body, retry="create")

    async def duplicate_agent(
        self,
        agent_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        visibility: str | None = None,
    ) -> AgentDetail:
        """POST /agent/{id}/duplicate: a copy of the agent with its tiles and edges."""
        path = self._path("/agent/{agent_id}/duplicate", agent_id=agent_id)
        body = _metadata(name, description, visibility)
        return await self._send(AgentDetail, "POST", path, json=body, retry="create")

    async def delete_agent(self, agent_id: str) -> AgentDeleted:
        """POST /agent/{id}/delete: soft-delete the agent."""
        path = self._path("/agent/{agent_id}/delete", agent_id=agent_id)
        return await self._send(AgentDeleted, "POST", path, retry="idempotent")

    async def list_node_types(self) -> list[NodeType]:
        """GET /node_types: the tile catalogue (names and docs links; no parameter schemas)."""
        return (await self._get(NodeTypeList, "/node_types")).node_types

    async def get_node_type(self, node_type_id: str) -> NodeType:
        """GET /node_type/{id}: one catalogue entry."""
        path = self._path("/node_type/{node_type_id}", node_type_id=node_type_id)
        return (await self._get(NodeTypeEnvelope, path)).node_type

    async def get_agent_node(self, agent_node_id: str) -> AgentNode:
        """GET /agent_nodes/{id}: one placed tile with its parameters."""
        path = self._path("/agent_nodes/{agent_node_id}", agent_node_id=agent_node_id)
        return (await self._get(AgentNodeEnvelope, path)).agent_node
