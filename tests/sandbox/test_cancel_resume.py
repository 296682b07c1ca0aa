"""Cancel and resume."""

from __future__ import annotations

import httpx2
import pytest

from mosaic_mcp.server.sandbox import Sandbox

from .helpers import finish, start_run

pytestmark = pytest.mark.anyio


async def test_cancel_then_resume_completes(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """A cancelled run stays cancelled while time passes, and completes after resume."""
    run_id = await start_run(mosaic)
    sandbox.advance(3)
    cancelled = (await mosaic.post(f"/agent_run/{run_id}/cancel")).json()
    assert cancelled["success"] is True
    assert cancelled["run_id"] == run_id
    assert (await finish(sandbox, mosaic, run_id))["status"] == "cancelled"
    resumed = (await mosaic.post(f"/agent_run/{run_id}/resume")).json()
    assert resumed["agent_state_id"] == run_id
    assert resumed["nodes_queued"] == 2
    assert (await finish(sandbox, mosaic, run_id))["status"] == "completed"


async def test_resume_needs_failed_or_cancelled(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """Resume of a running or completed run is 409 with a detail."""
    run_id = await start_run(mosaic)
    running = await mosaic.post(f"/agent_run/{run_id}/resume")
    assert running.status_code == 409
    assert "detail" in running.json()
    await finish(sandbox, mosaic, run_id)
    assert (await mosaic.post(f"/agent_run/{run_id}/resume")).status_code == 409


async def test_cancel_of_finished_run_is_409(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """A completed run cannot be cancelled; cancelling twice is harmless."""
    done = await start_run(mosaic)
    await finish(sandbox, mosaic, done)
    assert (await mosaic.post(f"/agent_run/{done}/cancel")).status_code == 409
    other = await start_run(mosaic)
    assert (await mosaic.post(f"/agent_run/{other}/cancel")).status_code == 200
    again = await mosaic.post(f"/agent_run/{other}/cancel")
    assert again.status_code == 200
    assert again.json()["tasks_cancelled"] == 0


async def test_unknown_run_is_404(mosaic: httpx2.AsyncClient) -> None:
    """Every run endpoint answers 404 for an unknown id."""
    for path in ("/agent_run/x", "/agent_run/x/nodes", "/agent_run/x/progress"):
        assert (await mosaic.get(path)).status_code == 404
    assert (await mosaic.post("/agent_run/x/cancel")).status_code == 404
