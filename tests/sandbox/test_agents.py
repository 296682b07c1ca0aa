"""Agents, node types and graph editing."""

from __future__ import annotations

import httpx2
import pytest

from mosaic_mcp.server.sandbox import seed
from mosaic_mcp.server.sandbox.catalog import CAPTIONS_ID, ROUGH_CUT_ID, VIDEO_INPUT_ID

pytestmark = pytest.mark.anyio


async def test_node_types_expose_no_schema(mosaic: httpx2.AsyncClient) -> None:
    """The catalogue has ids, names and docs links only."""
    types = (await mosaic.get("/node_types")).json()["node_types"]
    by_id = {t["node_type_id"]: t for t in types}
    assert by_id[VIDEO_INPUT_ID]["node_type_name"] == "Video Input"
    assert set(by_id[CAPTIONS_ID]) == {"node_type_id", "node_type_name", "docs_url", "params_docs_url"}
    assert by_id[CAPTIONS_ID]["params_docs_url"] == "https://docs.mosaic.so/tiles/captions#api-info"
    one = (await mosaic.get(f"/node_type/{ROUGH_CUT_ID}")).json()
    assert one["node_type"]["node_type_name"] == "Rough Cut"


async def test_get_agent_shows_graph(mosaic: httpx2.AsyncClient) -> None:
    """GET /agent returns agent, agent_nodes and connections."""
    body = (await mosaic.get(f"/agent/{seed.PIP_AGENT_ID}")).json()
    assert body["agent"]["name"] == "Picture in picture"
    inputs = [n for n in body["agent_nodes"] if n["node_type"]["node_type_id"] == VIDEO_INPUT_ID]
    assert len(inputs) == 2
    assert {"source_agent_node_id", "target_agent_node_id"} == set(body["connections"][0])
    node = (await mosaic.get(f"/agent_nodes/{seed.CAPTIONS_AGENT_CAPTIONS_NODE_ID}")).json()["agent_node"]
    assert node["params_used"]["caption_font_weight"] == "700"


async def test_unknown_agent_is_404(mosaic: httpx2.AsyncClient) -> None:
    """An unknown agent id is a 404 with a detail."""
    response = await mosaic.get("/agent/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert "detail" in response.json()


async def test_create_and_edit_agent(mosaic: httpx2.AsyncClient) -> None:
    """Create, add nodes with temp refs, connect them, duplicate and delete."""
    created = (await mosaic.post("/agent/create", json={"name": "Mine"})).json()
    agent_id = created["agent_id"]
    ops = [
        {"op": "create_node", "temp_ref_id": "in", "node_type_id": VIDEO_INPUT_ID},
        {"op": "create_node", "temp_ref_id": "cap", "node_type_id": CAPTIONS_ID, "params_used": {"caption_style": "x"}},
        {"op": "create_connection", "source_temp_ref_id": "in", "target_temp_ref_id": "cap"},
    ]
    updated = (await mosaic.post(f"/agent/{agent_id}/update", json={"operations": ops})).json()
    assert updated["operations_applied"] == 3
    assert [c["temp_ref_id"] for c in updated["created_nodes"]] == ["in", "cap"]
    copy = (await mosaic.post(f"/agent/{agent_id}/duplicate", json={})).json()
    assert copy["agent"]["name"] == "Copy of Mine"
    assert len(copy["connections"]) == 1
    assert (await mosaic.delete(f"/agent/{agent_id}/delete")).json()["success"] is True
    assert (await mosaic.get(f"/agent/{agent_id}")).status_code == 404


async def test_bad_params_are_rejected_naming_node_and_param(mosaic: httpx2.AsyncClient) -> None:
    """A wrongly typed parameter is a 400 naming the node and the parameter, and nothing changes."""
    ops = [
        {
            "op": "update_node",
            "agent_node_id": seed.CAPTIONS_AGENT_CAPTIONS_NODE_ID,
            "params_used": {"caption_font_weight": 700},
        }
    ]
    response = await mosaic.patch(f"/agent/{seed.CAPTIONS_AGENT_ID}/update", json={"operations": ops})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert seed.CAPTIONS_AGENT_CAPTIONS_NODE_ID in detail
    assert "caption_font_weight" in detail


async def test_cycles_are_rejected(mosaic: httpx2.AsyncClient) -> None:
    """A connection that closes a loop is a 400."""
    op = {
        "op": "create_connection",
        "source_agent_node_id": seed.CAPTIONS_AGENT_REFRAME_NODE_ID,
        "target_agent_node_id": seed.CAPTIONS_AGENT_CAPTIONS_NODE_ID,
    }
    response = await mosaic.post(f"/agent/{seed.CAPTIONS_AGENT_ID}/update", json={"operations": [op]})
    assert response.status_code == 400
    assert "cycle" in response.json()["detail"]
