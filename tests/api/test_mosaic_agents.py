"""MosaicClient: identity, agents and node types against the sandbox."""

from __future__ import annotations

import pytest

from mosaic_mcp.server.api import (
    VIDEO_INPUT_NODE_TYPE_ID,
    CreateConnectionOp,
    CreateNodeOp,
    MosaicClient,
    NotFoundError,
)
from mosaic_mcp.server.sandbox import Sandbox, seed

pytestmark = pytest.mark.anyio

CAPTIONS_TYPE_ID = "cdccb204-168e-4aec-aa72-480b11e74324"


async def test_whoami(mosaic: MosaicClient) -> None:
    """whoami parses the organization of the key."""
    me = await mosaic.whoami()
    assert me.organization_id == seed.ORGANIZATION_ID
    assert me.organization_name == seed.ORGANIZATION_NAME


async def test_create_agent(mosaic: MosaicClient) -> None:
    """create_agent makes a metadata-only agent and returns its id."""
    created = await mosaic.create_agent(name="Shorts", description="d", visibility="private")
    assert created.success
    assert created.operations_applied == 0
    assert created.created_nodes == []
    assert (await mosaic.get_agent(created.agent_id)).agent.name == "Shorts"


async def test_list_agents(mosaic: MosaicClient) -> None:
    """list_agents returns one page of summaries and a cursor when there are more."""
    page = await mosaic.list_agents(limit=2)
    assert len(page.agents) == 2
    assert page.next_cursor
    rest = await mosaic.list_agents(limit=100, cursor=page.next_cursor)
    ids = {a.id for a in page.agents} | {a.id for a in rest.agents}
    assert set(seed.AGENT_IDS) <= ids
    assert rest.next_cursor is None


async def test_iter_agents(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """iter_agents follows cursors across pages and stops at max_items."""
    every = [a.id async for a in mosaic.iter_agents(page_size=1)]
    assert set(seed.AGENT_IDS) <= set(every)
    assert len(set(every)) == len(every)
    assert sandbox.count("GET", "/agents") == len(every)
    first_two = [a.id async for a in mosaic.iter_agents(page_size=1, max_items=2)]
    assert first_two == every[:2]


async def test_get_agent(mosaic: MosaicClient) -> None:
    """get_agent parses nodes with their node types and the connections."""
    agent = await mosaic.get_agent(seed.CAPTIONS_AGENT_ID)
    assert agent.agent.id == seed.CAPTIONS_AGENT_ID
    types = {n.agent_node_id: n.node_type.node_type_id for n in agent.agent_nodes}
    assert types[seed.CAPTIONS_AGENT_INPUT_NODE_ID] == VIDEO_INPUT_NODE_TYPE_ID
    edge = (seed.CAPTIONS_AGENT_INPUT_NODE_ID, seed.CAPTIONS_AGENT_CAPTIONS_NODE_ID)
    assert edge in {(c.source_agent_node_id, c.target_agent_node_id) for c in agent.connections}


async def test_update_agent(mosaic: MosaicClient) -> None:
    """update_agent applies ordered graph operations and maps temp_ref_ids to new node ids."""
    agent_id = (await mosaic.create_agent(name="Graph")).agent_id
    result = await mosaic.update_agent(
        agent_id,
        name="Graph 2",
        operations=[
            CreateNodeOp(node_type_id=VIDEO_INPUT_NODE_TYPE_ID, temp_ref_id="in"),
            {"op": "create_node", "node_type_id": CAPTIONS_TYPE_ID, "temp_ref_id": "cap"},
            CreateConnectionOp(source_temp_ref_id="in", target_temp_ref_id="cap"),
        ],
    )
    assert result.operations_applied == 3
    refs = {n.temp_ref_id: n.agent_node_id for n in result.created_nodes}
    detail = await mosaic.get_agent(agent_id)
    assert detail.agent.name == "Graph 2"
    assert [(c.source_agent_node_id, c.target_agent_node_id) for c in detail.connections] == [(refs["in"], refs["cap"])]


async def test_duplicate_agent(mosaic: MosaicClient) -> None:
    """duplicate_agent returns the copy in the get_agent shape."""
    copy = await mosaic.duplicate_agent(seed.CAPTIONS_AGENT_ID, name="Copy")
    assert copy.agent.id != seed.CAPTIONS_AGENT_ID
    assert copy.agent.name == "Copy"
    assert len(copy.agent_nodes) == 3
    assert len(copy.connections) == 2


async def test_delete_agent(mosaic: MosaicClient) -> None:
    """delete_agent soft-deletes; the agent is gone afterwards."""
    agent_id = (await mosaic.create_agent(name="Doomed")).agent_id
    deleted = await mosaic.delete_agent(agent_id)
    assert deleted.success
    assert deleted.agent_id == agent_id
    with pytest.raises(NotFoundError):
        await mosaic.get_agent(agent_id)


async def test_list_node_types(mosaic: MosaicClient) -> None:
    """list_node_types returns the catalogue with names and docs links."""
    types = {t.node_type_id: t for t in await mosaic.list_node_types()}
    assert types[VIDEO_INPUT_NODE_TYPE_ID].node_type_name == "Video Input"
    assert types[CAPTIONS_TYPE_ID].docs_url


async def test_get_node_type(mosaic: MosaicClient) -> None:
    """get_node_type unwraps the node_type envelope."""
    node_type = await mosaic.get_node_type(CAPTIONS_TYPE_ID)
    assert node_type.node_type_id == CAPTIONS_TYPE_ID
    assert node_type.node_type_name == "Captions"


async def test_get_agent_node(mosaic: MosaicClient) -> None:
    """get_agent_node unwraps the agent_node envelope with its params."""
    node = await mosaic.get_agent_node(seed.CAPTIONS_AGENT_CAPTIONS_NODE_ID)
    assert node.node_type.node_type_id == CAPTIONS_TYPE_ID
    assert node.params_used["caption_style"] == "colored"
