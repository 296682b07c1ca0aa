"""Cluster mode's 2025-era HTTP sessions (server/sessions.py): two replicas on one PostgreSQL schema and one
sandbox serve the requests of one session alternately, as a round-robin load balancer sends them."""

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client

from mosaic_mcp.server.api.transport import RecordingSleep, RetryPolicy
from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.config import Settings, key_fingerprint
from mosaic_mcp.server.database import open_postgres, open_sqlite
from mosaic_mcp.server.jobs.poller import Poller
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID
from mosaic_mcp.server.sandbox.serve import serve_asgi
from mosaic_mcp.server.serve_http import build_http_app
from mosaic_mcp.server.sessions import SESSIONS_SCHEMA, SessionDirectory
from mosaic_mcp.server.usecases import CARD_NOTE

from ..support import FAST_POLLING, VIDEO, call_ok, sandbox_settings
from .test_notifications import Heard
from .test_remote import SECRET
from .test_webhook_route import QUIET_POLLING

pytestmark = pytest.mark.anyio

ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
UI = {"extensions": {"io.modelcontextprotocol/ui": {"mimeTypes": ["text/html;profile=mcp-app"]}}}
ALICE = {"X-Mosaic-Api-Key": "mk_alice_SECRET_canary_5151", "X-Motion-Api-Key": "motion_alice_SECRET_canary_5151"}
BOB = {"X-Mosaic-Api-Key": "mk_bob_SECRET_canary_6262", "X-Motion-Api-Key": "motion_bob_SECRET_canary_6262"}


@pytest.fixture
async def frozen() -> AsyncIterator[RunningSandbox]:
    """The API emulator with its clock stopped: runs stay running until the test moves it."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=0.0))) as running:
        yield running


@asynccontextmanager
async def replicas(settings: Settings, *, polling: int = 0) -> AsyncIterator[tuple[str, str]]:
    """Two `serve --http` apps with these settings (one database) on loopback: their /mcp URLs.

    Replica number `polling` (0 or 1) starts first, with FAST_POLLING; in token mode it holds the lease of the key's
    scope before the other starts, so it polls every run of the key and the other (QUIET_POLLING) never does."""
    retry = RetryPolicy(sleep=RecordingSleep())
    timings = (FAST_POLLING, QUIET_POLLING) if polling == 0 else (QUIET_POLLING, FAST_POLLING)
    servers = [create_server(settings, poll_timing=timing, retry=retry) for timing in timings]
    scope = key_fingerprint(settings.mosaic_api_key) if settings.auth_mode == "token" else None
    ports = [0, 0]
    async with AsyncExitStack() as stack:
        ports[polling] = await stack.enter_async_context(serve_asgi(_app(servers[polling], settings)))
        if scope is not None:
            await _until_holds(servers[polling], scope)
        ports[1 - polling] = await stack.enter_async_context(serve_asgi(_app(servers[1 - polling], settings)))
        if scope is not None:
            assert not _poller(servers[1 - polling]).holds(scope)
        yield f"http://127.0.0.1:{ports[0]}/mcp", f"http://127.0.0.1:{ports[1]}/mcp"


def _app(server: MosaicServer, settings: Settings) -> Any:
    return build_http_app(server, settings, host="127.0.0.1")


def _poller(server: MosaicServer) -> Poller:
    runtime = server.connections.any()
    assert runtime is not None
    return runtime.jobs.poller


async def _until_holds(server: MosaicServer, scope: str) -> None:
    """Wait (bounded) until the server's poller holds the lease of `scope`."""
    with anyio.fail_after(10):
        while True:  # claimed when the poller starts (its first adoption)
            if _poller(server).holds(scope):
                return
            await anyio.sleep(0.01)


def message_of(response: httpx2.Response) -> dict[str, Any]:
    """The JSON-RPC message of a POST's answer (JSON, or the last event of its SSE stream)."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        return dict(json.loads(data[-1]))
    return dict(response.json())


class Legacy:
    """A raw 2025-11-25 client: each call goes to the replica URL it is given."""

    def __init__(self, http: httpx2.AsyncClient, headers: dict[str, str] | None = None) -> None:
        self.http = http
        self.headers = {**ACCEPT, **(headers or {})}
        self.session_id = ""
        self._ids = 0

    async def initialize(self, url: str, capabilities: dict[str, Any] | None = None) -> httpx2.Response:
        """Open the session at `url`."""
        params = {
            "protocolVersion": "2025-11-25",
            "capabilities": capabilities or {},
            "clientInfo": {"name": "round-robin", "version": "1"},
        }
        response = await self.http.post(url, json=self._request("initialize", params), headers=self.headers)
        self.session_id = response.headers.get("mcp-session-id", "")
        if self.session_id:
            await self.post(url, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        return response

    def _request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._ids += 1
        return {"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params}

    def session_headers(self) -> dict[str, str]:
        return {**self.headers, "Mcp-Session-Id": self.session_id, "MCP-Protocol-Version": "2025-11-25"}

    async def post(self, url: str, message: dict[str, Any]) -> httpx2.Response:
        return await self.http.post(url, json=message, headers=self.session_headers())

    async def call(self, url: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """One request of the session at `url`; its result (fails on an HTTP or JSON-RPC error)."""
        response = await self.post(url, self._request(method, params))
        assert response.status_code == 200, response.text
        message = message_of(response)
        assert "result" in message, message
        return dict(message["result"])


class Stream:
    """The session's GET stream at one replica, read in the background: the notifications it carried."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.arrived = anyio.Event()

    def updated(self) -> list[str]:
        return [m["params"]["uri"] for m in self.messages if m["method"] == "notifications/resources/updated"]

    async def until_updated(self, uri: str) -> None:
        with anyio.fail_after(15):
            while uri not in self.updated():
                self.arrived = anyio.Event()
                await self.arrived.wait()


@asynccontextmanager
async def stream(client: Legacy, url: str) -> AsyncIterator[Stream]:
    """Open the session's GET stream at `url` (answered 200 before the block runs)."""
    heard = Stream()
    headers = {**client.session_headers(), "Accept": "text/event-stream"}
    async with client.http.stream("GET", url, headers=headers) as response, anyio.create_task_group() as group:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")

        async def read() -> None:
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    heard.messages.append(json.loads(line[5:]))
                    heard.arrived.set()

        group.start_soon(read)
        yield heard
        group.cancel_scope.cancel()


async def test_a_session_opened_on_one_replica_is_served_by_the_other(
    postgres_url: str, frozen: RunningSandbox, tmp_path: Path
) -> None:
    """Initialize on A; run and subscribe on B; A's GET stream hears the run's update (B polls it, A never does:
    the fan-out carries it); the UI capability survives."""
    settings = sandbox_settings(frozen, tmp_path, database_url=postgres_url)
    async with replicas(settings, polling=1) as (a, b), httpx2.AsyncClient(timeout=20) as http:
        client = Legacy(http)
        opened = await client.initialize(a, capabilities=UI)
        assert opened.status_code == 200 and client.session_id
        async with stream(client, a) as heard:
            called = await client.call(
                b,
                "tools/call",
                {"name": "run_agent", "arguments": {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]}},
            )
            handle = called["structuredContent"]
            assert CARD_NOTE in handle["next_step"]  # the job card: B read the client's UI capability from A's record
            await client.call(b, "resources/subscribe", {"uri": handle["resource_uri"]})
            frozen.sandbox.advance(3600)
            await heard.until_updated(handle["resource_uri"])


async def test_unknown_and_deleted_sessions_get_404_on_every_replica(
    postgres_url: str, frozen: RunningSandbox, tmp_path: Path
) -> None:
    """A made-up session id is not found; after DELETE on one replica the session is not found on either."""
    settings = sandbox_settings(frozen, tmp_path, database_url=postgres_url)
    async with replicas(settings) as (a, b), httpx2.AsyncClient(timeout=20) as http:
        stranger = Legacy(http)
        stranger.session_id = "made-up-session-id"
        unknown = await stranger.post(b, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert unknown.status_code == 404
        assert unknown.json()["error"]["message"] == "Session not found"
        client = Legacy(http)
        await client.initialize(a)
        assert (await client.call(b, "tools/list", {}))["tools"]
        deleted = await http.delete(b, headers=client.session_headers())
        assert deleted.status_code == 200
        for url in (a, b):
            after = await client.post(url, {"jsonrpc": "2.0", "id": 9, "method": "tools/list"})
            assert after.status_code == 404
            gone = await http.get(url, headers={**client.session_headers(), "Accept": "text/event-stream"})
            assert gone.status_code == 404


async def test_a_persons_session_cannot_be_used_with_another_persons_keys(
    postgres_url: str, frozen: RunningSandbox, tmp_path: Path
) -> None:
    """keys mode: Alice's session answers her on both replicas; Bob's keys with her session id get 404."""
    settings = sandbox_settings(
        frozen,
        tmp_path,
        database_url=postgres_url,
        auth_mode="keys",
        secret_key=SECRET.get_secret_value(),
        mosaic_api_key=None,
        motion_api_key=None,
    )
    async with replicas(settings) as (a, b), httpx2.AsyncClient(timeout=20) as http:
        alice = Legacy(http, ALICE)
        await alice.initialize(a)
        assert (await alice.call(b, "tools/list", {}))["tools"]
        bob = Legacy(http, BOB)
        bob.session_id = alice.session_id
        for url in (a, b):
            refused = await bob.post(url, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
            assert refused.status_code == 404


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_the_sdk_client_of_either_generation_works_against_a_cluster_replica(
    postgres_url: str, frozen: RunningSandbox, tmp_path: Path, mode: str
) -> None:
    """The SDK's own client (2025-era session and GET stream, or 2026-07-28 listen): a run, its update heard."""
    settings = sandbox_settings(frozen, tmp_path, database_url=postgres_url)
    heard = Heard()

    async def on_message(message: Any) -> None:
        if mode == "legacy":  # 2026-07-28 events are read from the listen stream
            heard.note(message)

    async with (
        replicas(settings) as (a, _),
        Client(a, mode=mode, message_handler=on_message) as client,  # type: ignore[arg-type]
        anyio.create_task_group() as group,
    ):
        run = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
        if mode == "legacy":
            await client.subscribe_resource(run["resource_uri"])
        else:
            await group.start(_listen, client, run["resource_uri"], heard)
        frozen.sandbox.advance(3600)
        await heard.until_updated(run["resource_uri"])
        group.cancel_scope.cancel()


async def _listen(client: Client, uri: str, heard: Heard, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
    """A 2026-07-28 `subscriptions/listen` stream for `uri`, noting each event (started once it is open)."""
    async with client.listen(resource_subscriptions=[uri]) as events:
        task_status.started()
        async for event in events:
            heard.note(event)


async def test_the_directory_expires_idle_sessions_on_both_backends(database_url: str | None, tmp_path: Path) -> None:
    """A session idle past the limit is not found and its row goes at the next opening; a used one lives on."""
    database = (
        open_sqlite(tmp_path / "s.sqlite3", schemas=[SESSIONS_SCHEMA])
        if database_url is None
        else open_postgres(database_url, pool_size=2, schemas=[SESSIONS_SCHEMA])
    )
    now = [1000.0]
    directory = SessionDirectory(database, idle_seconds=600, clock=lambda: now[0])
    try:
        idle = await directory.create("2025-11-25", {"name": "c", "version": "1"}, {}, "")
        used = await directory.create("2025-06-18", {}, {"roots": {}}, "keys:x")
        record = await directory.find(used)
        assert record is not None and record.owner == "keys:x" and record.capabilities == {"roots": {}}
        await directory.subscribe(record.key, "mosaic://jobs")
        now[0] += 500
        assert await directory.find(used) is not None
        now[0] += 200
        assert await directory.find(idle) is None
        assert await directory.find(used) is not None
        assert await directory.subscriptions(record.key) == {"mosaic://jobs"}
        await directory.delete(record.key)
        assert await directory.find(used) is None and await directory.subscriptions(record.key) == set()
    finally:
        await database.close()


async def test_consent_falls_back_to_confirm_when_the_session_cannot_be_asked(
    postgres_url: str, frozen: RunningSandbox, tmp_path: Path
) -> None:
    """A client that declared elicitation gets no prompt a stateless request cannot carry: confirm=true decides."""
    settings = sandbox_settings(
        frozen, tmp_path, database_url=postgres_url, toolsets="all", allow_without_prompt="deleting"
    )
    async with replicas(settings) as (a, b), httpx2.AsyncClient(timeout=20) as http:
        client = Legacy(http)
        await client.initialize(a, capabilities={"elicitation": {"form": {}}})
        unconfirmed = await client.call(
            b, "tools/call", {"name": "delete_agent", "arguments": {"agent_id": CAPTIONS_AGENT_ID}}
        )
        assert unconfirmed["isError"] and "confirm=true" in unconfirmed["content"][0]["text"]
        arguments = {"agent_id": CAPTIONS_AGENT_ID, "confirm": True}
        deleted = await client.call(b, "tools/call", {"name": "delete_agent", "arguments": arguments})
        assert not deleted.get("isError"), deleted
