"""Run lifecycle and the input rules of POST /agent/{id}/run."""

from __future__ import annotations

import httpx2
import pytest

from mosaic_mcp.server.sandbox import Sandbox, seed

from .helpers import YOUTUBE, finish, start_run

pytestmark = pytest.mark.anyio


async def test_run_completes_with_outputs(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """A run is running at first and completed with one output after advancing the clock."""
    run_id = await start_run(mosaic)
    first = (await mosaic.get(f"/agent_run/{run_id}")).json()
    assert first["status"] == "running"
    assert "run_id" not in first
    assert first["node_status_counts"] == {"completed": 1, "in_progress": 2, "failed": 0}
    done = await finish(sandbox, mosaic, run_id)
    assert done["status"] == "completed"
    assert done["node_status_counts"] == {"completed": 3, "in_progress": 0, "failed": 0}
    (output,) = done["outputs"]
    assert output["original_node_id"] == seed.CAPTIONS_AGENT_REFRAME_NODE_ID
    assert output["sources"] == []
    assert output["premiere_prproj_url"].startswith(sandbox.public_base_url)


async def test_run_takes_tens_of_virtual_seconds(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """At 5 virtual seconds a run is still running; nodes pass through running."""
    run_id = await start_run(mosaic)
    sandbox.advance(5)
    nodes = (await mosaic.get(f"/agent_run/{run_id}/nodes")).json()["nodes"]
    assert {n["status"] for n in nodes} <= {"completed", "queued", "running", "not_started"}
    assert all(n["agent_node_id"] != n["original_node_id"] for n in nodes)
    assert (await mosaic.get(f"/agent_run/{run_id}")).json()["status"] == "running"


async def test_multi_input_needs_video_inputs(mosaic: httpx2.AsyncClient) -> None:
    """Top-level arrays are rejected for two Video Input tiles; one entry per tile is required."""
    url = f"/agent/{seed.PIP_AGENT_ID}/run"
    top = await mosaic.post(url, json={"video_urls": [YOUTUBE]})
    assert top.status_code == 400
    assert "video_inputs" in top.json()["detail"]
    partial = await mosaic.post(
        url, json={"video_inputs": [{"agent_node_id": seed.PIP_AGENT_MAIN_INPUT_NODE_ID, "video_urls": [YOUTUBE]}]}
    )
    assert partial.status_code == 400
    assert seed.PIP_AGENT_OVERLAY_INPUT_NODE_ID in partial.json()["detail"]
    full = await mosaic.post(
        url,
        json={
            "video_inputs": [
                {"agent_node_id": seed.PIP_AGENT_MAIN_INPUT_NODE_ID, "video_urls": [YOUTUBE]},
                {"agent_node_id": seed.PIP_AGENT_OVERLAY_INPUT_NODE_ID, "video_ids": [seed.VIDEO_IDS[0]]},
            ]
        },
    )
    assert full.status_code == 200


async def test_generation_only_takes_no_inputs(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """A generation-only agent rejects inputs and runs without them to two outputs."""
    url = f"/agent/{seed.GENERATOR_AGENT_ID}/run"
    assert (await mosaic.post(url, json={"video_urls": [YOUTUBE]})).status_code == 400
    run_id = await start_run(
        mosaic, seed.GENERATOR_AGENT_ID, update_params={seed.GENERATOR_AGENT_VIDEO_NODE_ID: {"prompt": "x"}}
    )
    done = await finish(sandbox, mosaic, run_id)
    assert done["status"] == "completed"
    assert done["inputs"] == []
    originals = {o["original_node_id"] for o in done["outputs"]}
    assert originals == {seed.GENERATOR_AGENT_MUSIC_NODE_ID, seed.GENERATOR_AGENT_IMAGE_NODE_ID}


async def test_input_rules(mosaic: httpx2.AsyncClient) -> None:
    """Unknown update_params keys, bad URLs, unknown video ids and missing inputs are 400s."""
    url = f"/agent/{seed.CAPTIONS_AGENT_ID}/run"
    cases = [
        {"video_urls": [YOUTUBE], "update_params": {"not-a-node": {"x": 1}}},
        {"video_urls": ["ftp://example.com/a.mp4"]},
        {"video_ids": ["00000000-0000-4000-8000-000000000000"]},
        {"node_render_ids": ["00000000-0000-4000-8000-000000000000"]},
        {},
        {"video_urls": [YOUTUBE], "ignore_nodes": ["nope"]},
        {"video_urls": [YOUTUBE], "callback_url": "not a url"},
    ]
    for body in cases:
        response = await mosaic.post(url, json=body)
        assert response.status_code == 400, body
        assert response.json()["detail"]


async def test_undocumented_tile_params_are_checked(mosaic: httpx2.AsyncClient) -> None:
    """Rough Cut's target_duration_seconds must be an integer, and the 400 names node and parameter."""
    node = seed.PODCAST_AGENT_ROUGH_CUT_NODE_ID
    response = await mosaic.post(
        f"/agent/{seed.PODCAST_AGENT_ID}/run",
        json={"video_urls": [YOUTUBE], "update_params": {node: {"target_duration_seconds": "60"}}},
    )
    assert response.status_code == 400
    assert node in response.json()["detail"]
    assert "target_duration_seconds" in response.json()["detail"]


async def test_image_generation_params(mosaic: httpx2.AsyncClient) -> None:
    """Image Generation enforces its documented enums and the custom size rule."""
    node = seed.GENERATOR_AGENT_IMAGE_NODE_ID
    url = f"/agent/{seed.GENERATOR_AGENT_ID}/run"
    bad_enum = await mosaic.post(url, json={"update_params": {node: {"image_size": "huge"}}})
    assert bad_enum.status_code == 400
    custom = await mosaic.post(url, json={"update_params": {node: {"image_size": "custom", "custom_width": 1280}}})
    assert "custom_height" in custom.json()["detail"]


async def test_render_ids_chain_into_new_runs(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """An output id of one run is accepted as node_render_ids of the next."""
    done = await finish(sandbox, mosaic, await start_run(mosaic))
    render_id = done["outputs"][0]["id"]
    assert await start_run(mosaic, seed.CAPTIONS_AGENT_ID, node_render_ids=[render_id])


async def test_ignore_nodes_bypasses_a_tile(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """Ignoring Reframe makes Captions the output node."""
    run_id = await start_run(
        mosaic, seed.CAPTIONS_AGENT_ID, video_urls=[YOUTUBE], ignore_nodes=[seed.CAPTIONS_AGENT_REFRAME_NODE_ID]
    )
    done = await finish(sandbox, mosaic, run_id)
    assert [o["original_node_id"] for o in done["outputs"]] == [seed.CAPTIONS_AGENT_CAPTIONS_NODE_ID]


async def test_node_failure_gives_partial_complete(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """When one of two output tiles fails the run ends partial_complete with an error."""
    sandbox.fail_next_nodes("Image Generation")
    done = await finish(sandbox, mosaic, await start_run(mosaic, seed.GENERATOR_AGENT_ID))
    assert done["status"] == "partial_complete"
    assert done["errors"][0]["original_node_id"] == seed.GENERATOR_AGENT_IMAGE_NODE_ID
    assert done["node_status_counts"]["failed"] == 1


async def test_progress_endpoint(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """Progress pages tiles but counts the whole run."""
    run_id = await start_run(mosaic)
    sandbox.advance(600)
    body = (await mosaic.get(f"/agent_run/{run_id}/progress", params={"limit": 1})).json()
    assert body["completed_node_percent"] == 100.0
    assert len(body["nodes"]) == 1
    assert body["next_cursor"] is not None
