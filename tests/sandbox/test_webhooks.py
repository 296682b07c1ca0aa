"""Run webhooks delivered to a real loopback receiver."""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mosaic_mcp.server.sandbox import Sandbox, seed
from mosaic_mcp.server.sandbox.serve import serve_asgi

from .helpers import YOUTUBE

pytestmark = pytest.mark.anyio


class Receiver:
    """Collects webhook deliveries; fails the first ``fail_first`` of them with 500."""

    def __init__(self, fail_first: int = 0) -> None:
        self.events: list[tuple[dict[str, Any], str | None]] = []
        self.fail_first = fail_first
        self.arrived: dict[str, anyio.Event] = {}
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        if self.fail_first > 0:
            self.fail_first -= 1
            return Response(status_code=500)
        event = await request.json()
        self.events.append((event, request.headers.get("x-mosaic-signature")))
        self.arrived.setdefault(event["flag"], anyio.Event()).set()
        return Response(status_code=204)

    async def wait_for(self, flag: str) -> None:
        with anyio.fail_after(5):
            await self.arrived.setdefault(flag, anyio.Event()).wait()


@pytest.mark.sandbox_config(webhook_secret="s3cret", webhook_backoff_seconds=0.01)
async def test_webhooks_in_order_with_signature(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """RUN_STARTED, RUN_PROGRESS..., RUN_FINISHED arrive in order carrying the plain secret; a 500 is retried."""
    receiver = Receiver(fail_first=1)
    async with serve_asgi(receiver.app) as port:
        body = {"video_urls": [YOUTUBE], "callback_url": f"http://127.0.0.1:{port}/hook"}
        run_id = (await mosaic.post(f"/agent/{seed.CAPTIONS_AGENT_ID}/run", json=body)).json()["run_id"]
        sandbox.advance(600)
        await receiver.wait_for("RUN_FINISHED")
    flags = [e["flag"] for e, _ in receiver.events]
    assert flags[0] == "RUN_STARTED"
    assert flags[-1] == "RUN_FINISHED"
    assert "RUN_PROGRESS" in flags
    assert {signature for _, signature in receiver.events} == {"s3cret"}
    assert all(e["run_id"] == run_id for e, _ in receiver.events)
    finished = receiver.events[-1][0]
    assert finished["status"] == "completed"
    assert finished["outputs"][0]["original_node_id"] == seed.CAPTIONS_AGENT_REFRAME_NODE_ID
    assert sandbox.outbox.history[0].attempts == 2


async def test_no_secret_no_header_and_dead_receiver_is_harmless(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """Without a secret there is no signature header; an unreachable callback never breaks the API."""
    receiver = Receiver()
    async with serve_asgi(receiver.app) as port:
        hook = f"http://127.0.0.1:{port}/hook"
        await mosaic.post(f"/agent/{seed.GENERATOR_AGENT_ID}/run", json={"callback_url": hook})
        await receiver.wait_for("RUN_STARTED")
    assert receiver.events[0][1] is None
    body = {"video_urls": [YOUTUBE], "callback_url": "http://127.0.0.1:9/unreachable"}
    assert (await mosaic.post(f"/agent/{seed.CAPTIONS_AGENT_ID}/run", json=body)).status_code == 200
    sandbox.advance(600)
    assert (await mosaic.get("/whoami")).status_code == 200
