"""Pre-flight checks of run_agent: mistakes are refused before a run is created or charged."""

import pytest
from mcp import Client

from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import (
    CAPTIONS_AGENT_CAPTIONS_NODE_ID,
    CAPTIONS_AGENT_ID,
    GENERATOR_AGENT_ID,
    GENERATOR_AGENT_IMAGE_NODE_ID,
    PIP_AGENT_ID,
    PODCAST_AGENT_ID,
    PODCAST_AGENT_ROUGH_CUT_NODE_ID,
)

from ..support import RUN, VIDEO, call_error, call_ok, sent

pytestmark = pytest.mark.anyio


async def test_unknown_node_id_is_refused(client: Client, served: RunningSandbox) -> None:
    """update_params keyed by a node that is not in the graph names that key; no run is created."""
    args = {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO], "update_params": {"no-such-node": {"x": 1}}}
    message = await call_error(client, "run_agent", args)
    assert "update_params.no-such-node" in message
    assert sent(served, RUN) == []


async def test_unknown_ignore_node_is_refused(client: Client, served: RunningSandbox) -> None:
    """ignore_nodes must name tiles of the agent; no run is created."""
    args = {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO], "ignore_nodes": ["ghost"]}
    message = await call_error(client, "run_agent", args)
    assert "ignore_nodes[0]" in message
    assert sent(served, RUN) == []


async def test_unknown_parameter_of_documented_tile_is_refused(client: Client, served: RunningSandbox) -> None:
    """Image Generation's parameters are all documented: an unknown one is named with the node."""
    params = {GENERATOR_AGENT_IMAGE_NODE_ID: {"prompt": "A poster", "colour": "red"}}
    message = await call_error(client, "run_agent", {"agent_id": GENERATOR_AGENT_ID, "update_params": params})
    assert f"update_params.{GENERATOR_AGENT_IMAGE_NODE_ID}.colour" in message
    assert "Image Generation" in message
    assert "image_size" in message
    assert sent(served, RUN) == []


async def test_wrong_type_on_documented_parameter_is_refused(client: Client, served: RunningSandbox) -> None:
    """Captions' caption_font_weight must be a string: a number is refused with the node and the rule."""
    params = {CAPTIONS_AGENT_CAPTIONS_NODE_ID: {"caption_font_weight": 700}}
    args = {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO], "update_params": params}
    message = await call_error(client, "run_agent", args)
    assert f"{CAPTIONS_AGENT_CAPTIONS_NODE_ID}.caption_font_weight" in message
    assert "must be a string" in message
    assert "docs.mosaic.so" in message
    assert sent(served, RUN) == []


async def test_documented_rules_across_parameters(client: Client, served: RunningSandbox) -> None:
    """A custom image size needs custom_width/custom_height in multiples of 16."""
    node = GENERATOR_AGENT_IMAGE_NODE_ID
    missing = await call_error(
        client, "run_agent", {"agent_id": GENERATOR_AGENT_ID, "update_params": {node: {"image_size": "custom"}}}
    )
    assert f"{node}.custom_width" in missing
    assert "required" in missing
    odd = {node: {"image_size": "custom", "custom_width": 1000, "custom_height": 960}}
    message = await call_error(client, "run_agent", {"agent_id": GENERATOR_AGENT_ID, "update_params": odd})
    assert "multiple of 16" in message
    assert sent(served, RUN) == []


async def test_inputs_for_generation_only_agent_are_refused(client: Client, served: RunningSandbox) -> None:
    """A generation-only agent takes no video inputs."""
    message = await call_error(client, "run_agent", {"agent_id": GENERATOR_AGENT_ID, "video_urls": [VIDEO]})
    assert "generation-only" in message
    assert sent(served, RUN) == []


async def test_top_level_inputs_for_multi_input_agent_are_refused(client: Client, served: RunningSandbox) -> None:
    """An agent with two Video Input tiles needs video_inputs, one per tile."""
    message = await call_error(client, "run_agent", {"agent_id": PIP_AGENT_ID, "video_urls": [VIDEO]})
    assert "video_inputs" in message
    assert "2 Video Input tiles" in message
    assert sent(served, RUN) == []


async def test_run_without_inputs_is_refused_when_a_video_input_needs_one(
    client: Client, served: RunningSandbox
) -> None:
    """An agent with a Video Input tile, run with no input at all, is refused naming the inputs; no run is created."""
    message = await call_error(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID})
    assert message.startswith("Error executing tool run_agent: video_urls:")
    assert "Video Input" in message and "video_ids, files, node_render_ids or mimir_assets" in message
    assert sent(served, RUN) == []


async def test_multi_input_agent_without_inputs_is_refused(client: Client, served: RunningSandbox) -> None:
    """An agent with two Video Input tiles, run with no input, is told to send video_inputs; no run is created."""
    message = await call_error(client, "run_agent", {"agent_id": PIP_AGENT_ID})
    assert "video_inputs:" in message and "one entry per tile" in message
    assert sent(served, RUN) == []


async def test_generation_only_agent_runs_without_inputs(client: Client, served: RunningSandbox) -> None:
    """An agent with no Video Input tile still runs with no inputs."""
    handle = await call_ok(client, "run_agent", {"agent_id": GENERATOR_AGENT_ID})
    assert handle["kind"] == "mosaic_run"
    assert sent(served, RUN) == [{}]


async def test_valid_documented_parameters_start_the_run(client: Client, served: RunningSandbox) -> None:
    """Parameters that follow the docs go through and the run starts."""
    params = {GENERATOR_AGENT_IMAGE_NODE_ID: {"prompt": "A poster", "image_size": "square_hd", "quality": "low"}}
    handle = await call_ok(client, "run_agent", {"agent_id": GENERATOR_AGENT_ID, "update_params": params})
    assert handle["kind"] == "mosaic_run"
    assert handle["warnings"] == []
    assert sent(served, RUN) == [{"update_params": params}]


async def test_undocumented_tile_passes_through_and_api_refusal_is_explained(
    client: Client, served: RunningSandbox
) -> None:
    """Rough Cut's parameters are not documented: they are sent, and the API's 400 names the node."""
    params = {PODCAST_AGENT_ROUGH_CUT_NODE_ID: {"target_duration_seconds": "sixty"}}
    args = {"agent_id": PODCAST_AGENT_ID, "video_urls": [VIDEO], "update_params": params}
    message = await call_error(client, "run_agent", args)
    assert sent(served, RUN) == [{"video_urls": [VIDEO], "update_params": params}]
    assert PODCAST_AGENT_ROUGH_CUT_NODE_ID in message
    assert "Rough Cut" in message
    assert "target_duration_seconds" in message
    assert "No run was created" in message
    assert "docs.mosaic.so/tiles/rough-cut" in message


async def test_get_agent_shows_documented_parameters(client: Client) -> None:
    """get_agent lists the documented parameters of known tiles and says when a tile is undocumented."""
    view = await call_ok(client, "get_agent", {"agent_id": GENERATOR_AGENT_ID})
    image = next(n for n in view["nodes"] if n["agent_node_id"] == GENERATOR_AGENT_IMAGE_NODE_ID)
    assert image["all_params_documented"] is True
    sizes = next(p for p in image["documented_params"] if p["name"] == "image_size")
    assert "custom" in sizes["choices"]
    podcast = await call_ok(client, "get_agent", {"agent_id": PODCAST_AGENT_ID})
    rough = next(n for n in podcast["nodes"] if n["agent_node_id"] == PODCAST_AGENT_ROUGH_CUT_NODE_ID)
    assert rough["documented_params"] is None
    assert rough["docs_url"]
