"""Over Streamable HTTP a cancelled request gets no response at all (MCP spec, cancellation), on the
real `mosaic-mcp serve --http`: the SDK's `-32800 Request cancelled` answer is kept off the wire."""

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx2
import pytest

from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import VIDEO
from ..support.processes import http_server, wait_until_listening

pytestmark = pytest.mark.anyio

VERSION = "2025-11-25"


class RawSession:
    """A 2025-era Streamable HTTP session spoken by hand, so the test sees every frame on the wire."""

    def __init__(self, http: httpx2.AsyncClient, url: str) -> None:
        self.http, self.url = http, url
        self.headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}

    async def frames(self, message: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """POST one message; yield each JSON-RPC message of its SSE answer until the stream ends."""
        async with self.http.stream("POST", self.url, json=message, headers=self.headers) as answer:
            assert answer.status_code in (200, 202), answer.status_code
            if session := answer.headers.get("mcp-session-id"):
                self.headers |= {"Mcp-Session-Id": session, "MCP-Protocol-Version": VERSION}
            async for line in answer.aiter_lines():
                if line.startswith("data:") and line[5:].strip():
                    yield json.loads(line[5:])

    async def request(self, request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """A request's response (the frame with its id)."""
        async for frame in self.frames({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}):
            if frame.get("id") == request_id:
                return frame
        raise AssertionError(f"no response to {method}")

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        async for _ in self.frames({"jsonrpc": "2.0", "method": method, "params": params}):
            pass


async def test_a_cancelled_request_gets_no_response(server_env: dict[str, str], served: RunningSandbox) -> None:
    """poll_job waiting on a run is cancelled by notifications/cancelled: its stream ends with no frame for its id."""
    served.sandbox.clock.speed = 0  # the run stays queued: poll_job would wait its full 30 s
    with http_server(server_env) as (proc, url):
        await wait_until_listening(url, proc)
        async with httpx2.AsyncClient(timeout=30) as http:
            wire = RawSession(http, url)
            with anyio.fail_after(30):
                hello = {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
                assert "result" in await wire.request(1, "initialize", hello)
                await wire.notify("notifications/initialized", {})
                started = await wire.request(
                    2,
                    "tools/call",
                    {"name": "run_agent", "arguments": {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]}},
                )
                job_id = started["result"]["structuredContent"]["job_id"]
                waiting = {"name": "poll_job", "arguments": {"job_id": job_id, "wait_seconds": 30}}
                waiting["_meta"] = {"progressToken": "wait"}
                seen: list[dict[str, Any]] = []
                frames = wire.frames({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": waiting})
                async for frame in frames:
                    seen.append(frame)
                    if frame.get("method") == "notifications/progress" and len(seen) == 1:
                        # the tool is running: cancel it on a second connection, keep reading this stream
                        await wire.notify("notifications/cancelled", {"requestId": 3, "reason": "user stopped it"})
            assert seen and seen[0]["method"] == "notifications/progress"
            assert [f for f in seen if f.get("id") == 3] == []
            alive = await wire.request(4, "tools/call", {"name": "list_jobs", "arguments": {}})
            assert alive["result"]["structuredContent"]["jobs"][0]["job_id"] == job_id
