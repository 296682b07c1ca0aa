"""MosaicClient: agent runs, from start to outputs, against the sandbox."""

from __future__ import annotations

import pytest

from mosaic_mcp.server.api import (
    RUN_TERMINAL_STATUSES,
    ConflictError,
    MosaicClient,
    Run,
    RunRequest,
    VideoInput,
)
from mosaic_mcp.server.sandbox import Sandbox, seed

pytestmark = pytest.mark.anyio

VIDEO_ID = seed.VIDEO_IDS[0]


async def start_captions_run(mosaic: MosaicClient) -> str:
    """Start the seeded captions agent on a seeded workspace video."""
    created = await mosaic.run_agent(seed.CAPTIONS_AGENT_ID, RunRequest(video_ids=[VIDEO_ID]))
    return created.run_id


async def poll_until_terminal(mosaic: MosaicClient, sandbox: Sandbox, run_id: str) -> Run:
    """Poll a run, moving the sandbox clock on between polls (no real waiting)."""
    for _ in range(50):
        run = await mosaic.get_run(run_id)
        if run.status in RUN_TERMINAL_STATUSES:
            return run
        sandbox.advance(30)
    raise AssertionError("the run never finished")


async def test_run_agent(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """run_agent sends the body without empty fields and returns the run id."""
    request = RunRequest(
        video_inputs=[VideoInput(agent_node_id=seed.CAPTIONS_AGENT_INPUT_NODE_ID, video_ids=[VIDEO_ID])]
    )
    assert request.to_body() == {
        "video_inputs": [{"agent_node_id": seed.CAPTIONS_AGENT_INPUT_NODE_ID, "video_ids": [VIDEO_ID]}]
    }
    created = await mosaic.run_agent(seed.CAPTIONS_AGENT_ID, request)
    assert created.run_id
    assert sandbox.count("POST", "/agent/{agent_id}/run") == 1


async def test_get_run(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """Seed flow: run an agent, poll get_run while the clock moves, get outputs when completed."""
    run_id = await start_captions_run(mosaic)
    first = await mosaic.get_run(run_id)
    assert first.status == "running"
    assert first.agent_id == seed.CAPTIONS_AGENT_ID
    assert first.node_status_counts.in_progress > 0
    assert not first.outputs
    run = await poll_until_terminal(mosaic, sandbox, run_id)
    assert run.status == "completed"
    assert not run.needs_credits
    assert run.errors == []
    assert run.node_status_counts.failed == 0
    assert run.node_status_counts.completed == 3
    (output,) = run.outputs
    assert output.id
    assert output.video_url
    assert output.video_url.startswith("http")
    assert output.original_node_id == seed.CAPTIONS_AGENT_REFRAME_NODE_ID
    assert run.inputs
    assert run.inputs[0].video_url


async def test_get_run_nodes(mosaic: MosaicClient) -> None:
    """get_run_nodes maps runtime node ids back to template ids."""
    run_id = await start_captions_run(mosaic)
    nodes = await mosaic.get_run_nodes(run_id)
    assert nodes.run_id == run_id
    templates = {n.original_node_id for n in nodes.nodes}
    assert templates == {
        seed.CAPTIONS_AGENT_INPUT_NODE_ID,
        seed.CAPTIONS_AGENT_CAPTIONS_NODE_ID,
        seed.CAPTIONS_AGENT_REFRAME_NODE_ID,
    }
    assert all(n.agent_node_id not in templates and n.node_type for n in nodes.nodes)


async def test_list_agent_runs(mosaic: MosaicClient) -> None:
    """list_agent_runs filters by status (list or comma string) and pages with a cursor."""
    ids = {await start_captions_run(mosaic) for _ in range(3)}
    page = await mosaic.list_agent_runs(seed.CAPTIONS_AGENT_ID, limit=2, status=["running"])
    assert len(page.runs) == 2
    assert page.next_cursor
    rest = await mosaic.list_agent_runs(seed.CAPTIONS_AGENT_ID, limit=100, cursor=page.next_cursor, status="running")
    listed = {r.run_id for r in page.runs + rest.runs}
    assert ids <= listed
    assert all(r.status == "running" for r in page.runs + rest.runs)


async def test_list_runs(mosaic: MosaicClient) -> None:
    """list_runs lists across agents and honours the agent and time filters."""
    run_id = await start_captions_run(mosaic)
    page = await mosaic.list_runs(agent_id=seed.CAPTIONS_AGENT_ID, limit=100, from_="2020-01-01T00:00:00Z")
    assert run_id in {r.run_id for r in page.runs}
    assert all(r.agent_id == seed.CAPTIONS_AGENT_ID for r in page.runs)
    empty = await mosaic.list_runs(to="2020-01-01T00:00:00Z")
    assert empty.runs == []
    assert empty.next_cursor is None


async def test_iter_runs(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """iter_runs follows cursors of the all-runs list."""
    for _ in range(3):
        await start_captions_run(mosaic)
    sandbox.requests.clear()
    runs = [r async for r in mosaic.iter_runs(agent_id=seed.CAPTIONS_AGENT_ID, page_size=2, max_items=3)]
    assert len(runs) == 3
    assert sandbox.count("GET", "/agent_runs") == 2


async def test_list_trigger_runs(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """list_trigger_runs lists runs started by a trigger, with triggered_by set."""
    run = sandbox.fire_trigger(seed.TRIGGER_ID)
    page = await mosaic.list_trigger_runs(seed.TRIGGER_ID)
    (summary,) = [r for r in page.runs if r.run_id == run.run_id]
    assert summary.triggered_by
    assert summary.triggered_by["trigger_id"] == seed.TRIGGER_ID


async def test_cancel_run(mosaic: MosaicClient) -> None:
    """cancel_run stops an active run; the run reads cancelled afterwards."""
    run_id = await start_captions_run(mosaic)
    result = await mosaic.cancel_run(run_id)
    assert result.success
    assert result.run_id == run_id
    assert (await mosaic.get_run(run_id)).status == "cancelled"


async def test_resume_run(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """resume_run re-queues a cancelled run; resuming a running run is a ConflictError."""
    run_id = await start_captions_run(mosaic)
    await mosaic.cancel_run(run_id)
    result = await mosaic.resume_run(run_id)
    assert result.success
    assert result.run_id == run_id
    assert (result.nodes_queued or 0) > 0
    with pytest.raises(ConflictError) as caught:
        await mosaic.resume_run(run_id)
    assert caught.value.status_code == 409
    assert "resume" in caught.value.detail.lower()
    assert (await poll_until_terminal(mosaic, sandbox, run_id)).status == "completed"


async def test_get_run_progress(mosaic: MosaicClient) -> None:
    """get_run_progress returns whole-run counts and one page of tiles."""
    run_id = await start_captions_run(mosaic)
    progress = await mosaic.get_run_progress(run_id, limit=1)
    assert progress.run_id == run_id
    assert progress.completed_node_percent is not None
    assert progress.node_status_counts is not None
    assert progress.next_cursor
    assert len(progress.model_extra["nodes"]) == 1  # type: ignore[index]


async def test_failed_run_reports_needs_credits_per_node(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """A tile that fails ends the run failed or partial, with the node's status message."""
    sandbox.fail_next_nodes(seed.CAPTIONS_AGENT_REFRAME_NODE_ID, message="Reframe broke")
    run_id = await start_captions_run(mosaic)
    run = await poll_until_terminal(mosaic, sandbox, run_id)
    assert run.status in {"failed", "partial_complete"}
    assert run.node_status_counts.failed == 1
    nodes = await mosaic.get_run_nodes(run_id)
    (failed,) = [n for n in nodes.nodes if n.status == "failed"]
    assert failed.status_message == "Reframe broke"
    assert failed.needs_credits is False


async def test_list_automation_runs(mosaic: MosaicClient) -> None:
    """list_automation_runs parses its page (items under the body's list key)."""
    run_id = await start_captions_run(mosaic)
    page = await mosaic.list_automation_runs(agent_id=seed.CAPTIONS_AGENT_ID, limit=100)
    assert run_id in {item["run_id"] for item in page.items}
