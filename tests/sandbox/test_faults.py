"""Fault injection and the request log."""

from __future__ import annotations

import time

import httpx2
import pytest

from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, seed, serve_sandbox

from .helpers import YOUTUBE, http_client

pytestmark = pytest.mark.anyio


async def test_server_error_then_recovers(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """A scripted 500 hits exactly the next matching request."""
    sandbox.faults.inject("server_error", method="GET", path="/agents")
    first = await mosaic.get("/agents")
    assert first.status_code == 500
    assert first.json()["error"] == "internal_server_error"
    assert (await mosaic.get("/agents")).status_code == 200


async def test_rate_limit_has_retry_after(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """A 429 carries Retry-After; matching works on the route template too."""
    sandbox.faults.inject("rate_limit", path="/agent_run/{run_id}", retry_after=7, times=2)
    for _ in range(2):
        response = await mosaic.get("/agent_run/abc")
        assert response.status_code == 429
        assert response.headers["retry-after"] == "7"
    assert (await mosaic.get("/agent_run/abc")).status_code == 404


async def test_arbitrary_status_and_body(
    sandbox: Sandbox, mosaic: httpx2.AsyncClient, motion: httpx2.AsyncClient
) -> None:
    """kind=status sends the given status with the given or a documented default body."""
    sandbox.faults.inject("status", path="/credits", status=402, body={"detail": "Pay up"})
    response = await mosaic.get("/credits")
    assert (response.status_code, response.json()) == (402, {"detail": "Pay up"})
    sandbox.faults.inject("status", path="/api/motion/sessions", status=402)
    motion_response = await motion.post("/sessions", json={"prompt": "x"})
    assert motion_response.json()["minimum_required_credits"] == 300


async def test_malformed_body(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """kind=malformed answers 200 with a body that is not JSON."""
    sandbox.faults.inject("malformed", path="/whoami")
    response = await mosaic.get("/whoami")
    assert response.status_code == 200
    with pytest.raises(ValueError, match="Expecting"):
        response.json()


async def test_drop_is_a_protocol_error(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """kind=drop cuts the connection mid-body; the client raises instead of seeing a status."""
    sandbox.faults.inject("drop", path="/whoami")
    with pytest.raises((httpx2.RemoteProtocolError, httpx2.ReadError)):
        await mosaic.get("/whoami")
    assert sandbox.requests.matching("GET", "/whoami")[-1].status is None
    assert (await mosaic.get("/whoami")).status_code == 200


async def test_drop_after_processing_creates_the_run(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """after=True lets the request take effect and then loses the answer."""
    sandbox.faults.inject("drop", method="POST", path="/agent/*/run", after=True)
    with pytest.raises((httpx2.RemoteProtocolError, httpx2.ReadError)):
        await mosaic.post(f"/agent/{seed.CAPTIONS_AGENT_ID}/run", json={"video_urls": [YOUTUBE]})
    runs = (await mosaic.get(f"/agent/{seed.CAPTIONS_AGENT_ID}/runs")).json()["runs"]
    assert len(runs) == 1
    assert sandbox.count("POST", "/agent/{agent_id}/run") == 1


async def test_latency(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """kind=latency delays the answer by real time."""
    sandbox.faults.inject("latency", path="/whoami", delay=0.2)
    started = time.perf_counter()
    assert (await mosaic.get("/whoami")).status_code == 200
    assert time.perf_counter() - started >= 0.2


async def test_random_faults_from_config() -> None:
    """error_rate=1 fails every API request but never the sandbox's own file routes."""
    sandbox = Sandbox(SandboxConfig(speed=0, error_rate=1.0))
    async with serve_sandbox(sandbox) as running, http_client(running.mosaic_base_url) as http:
        assert (await http.get("/whoami", headers={"Authorization": "Bearer mk_x"})).status_code == 500
        assert (await http.get("/_sandbox/files/x/video.mp4")).status_code == 403


async def test_request_log(sandbox: Sandbox, running: RunningSandbox, mosaic: httpx2.AsyncClient) -> None:
    """The log records method, route template and status of every request, without key values."""
    assert sandbox.count() == 0
    await mosaic.get(f"/agent/{seed.CAPTIONS_AGENT_ID}")
    await mosaic.get("/agent/unknown")
    assert sandbox.count("GET", "/agent/{agent_id}") == 2
    assert sandbox.count("GET", f"/agent/{seed.CAPTIONS_AGENT_ID}") == 1
    assert sandbox.count("POST", "/agent/{agent_id}/run") == 0
    assert [r.status for r in sandbox.requests.records] == [200, 404]
    assert all(r.authorization for r in sandbox.requests.records)
    assert "mk_" not in repr(sandbox.requests.records)


def test_inject_rejects_bad_arguments() -> None:
    """Unknown kinds, status without a code and zero times are programming errors."""
    faults = Sandbox().faults
    with pytest.raises(ValueError, match="kind"):
        faults.inject("explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="status"):
        faults.inject("status")
    with pytest.raises(ValueError, match="times"):
        faults.inject("drop", times=0)
