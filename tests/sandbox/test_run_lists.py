"""Run list endpoints: pagination, filters, ordering."""

from __future__ import annotations

import httpx2
import pytest

from mosaic_mcp.server.sandbox import Sandbox, seed

from .helpers import start_run

pytestmark = pytest.mark.anyio


async def test_pagination_newest_first(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """Pages of 2 walk every run newest first and end with next_cursor null."""
    started = []
    for _ in range(5):
        started.append(await start_run(mosaic))
        sandbox.advance(1)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await mosaic.get(f"/agent/{seed.CAPTIONS_AGENT_ID}/runs", params=params)).json()
        seen += [r["run_id"] for r in page["runs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == started[::-1]


async def test_status_filter_and_agent_filter(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """status takes a comma list; /agent_runs filters by agent_id; summaries omit needs_credits."""
    done = await start_run(mosaic)
    sandbox.advance(600)
    running = await start_run(mosaic, seed.GENERATOR_AGENT_ID)
    only_done = (await mosaic.get("/agent_runs", params={"status": "completed"})).json()["runs"]
    assert [r["run_id"] for r in only_done] == [done]
    both = (await mosaic.get("/agent_runs", params={"status": "running,completed"})).json()["runs"]
    assert [r["run_id"] for r in both] == [running, done]
    by_agent = (await mosaic.get("/agent_runs", params={"agent_id": seed.GENERATOR_AGENT_ID})).json()["runs"]
    assert [r["run_id"] for r in by_agent] == [running]
    assert "needs_credits" not in by_agent[0]
    assert by_agent[0]["triggered_by"] is None


async def test_list_parameter_errors(mosaic: httpx2.AsyncClient) -> None:
    """limit outside 1..100 is 422; a forged cursor or unknown status is 400."""
    assert (await mosaic.get("/agent_runs", params={"limit": 0})).status_code == 422
    assert (await mosaic.get("/agent_runs", params={"limit": 101})).status_code == 422
    assert (await mosaic.get("/agent_runs", params={"cursor": "garbage!"})).status_code == 400
    assert (await mosaic.get("/agent_runs", params={"status": "done"})).status_code == 400
    assert (await mosaic.get("/agent_runs", params={"from": "yesterday"})).status_code == 400


async def test_trigger_runs(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """Runs a trigger starts are listed under it with triggered_by."""
    run = sandbox.fire_trigger(seed.TRIGGER_ID)
    await start_run(mosaic)
    runs = (await mosaic.get(f"/trigger/{seed.TRIGGER_ID}/runs")).json()["runs"]
    assert [r["run_id"] for r in runs] == [run.run_id]
    assert runs[0]["triggered_by"]["trigger_id"] == seed.TRIGGER_ID
    assert (await mosaic.get("/trigger/unknown/runs")).status_code == 404
