"""The real `mosaic-mcp serve --http` in `keys` mode: two people, each with their own sandbox keys."""

import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult, TextContent

from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import INITIALIZE, MCP_ACCEPT
from ..support.processes import free_port, http_server, mosaic_mcp_command, wait_until_listening

pytestmark = pytest.mark.anyio

SECRET = "deployment-secret-" + "s" * 32
ALICE = {"X-Mosaic-Api-Key": "mk_alice_SECRET_canary_1111", "X-Motion-Api-Key": "motion_alice_SECRET_canary_1111"}
BOB = {"X-Mosaic-Api-Key": "mk_bob_SECRET_canary_2222", "X-Motion-Api-Key": "motion_bob_SECRET_canary_2222"}
CANARIES = [*ALICE.values(), *BOB.values(), SECRET]
VIDEO = "https://youtu.be/dQw4w9WgXcQ"


@pytest.fixture
def keys_env(served: RunningSandbox, tmp_path: Path) -> dict[str, str]:
    """A keys-mode deployment: no API key configured server-side, only the secret and the sandbox URLs."""
    env = {k: v for k, v in os.environ.items() if k not in ("MOSAIC_API_KEY", "MOTION_API_KEY")}
    return {
        **env,
        "MOSAIC_MCP_AUTH": "keys",
        "MOSAIC_MCP_SECRET_KEY": SECRET,
        "MOSAIC_API_BASE_URL": served.mosaic_base_url,
        "MOTION_API_BASE_URL": served.motion_base_url,
        "MOSAIC_MCP_HOME": str(tmp_path / "home"),
        "MOSAIC_MCP_MAX_WAIT_SECONDS": "10",
        "MOSAIC_MCP_POLL_INTERVAL": "0.1",
    }


def person(url: str, headers: dict[str, str], mode: str) -> Client:
    """An MCP client over Streamable HTTP that sends one person's key headers with every request."""
    transport = streamable_http_client(url, http_client=create_mcp_http_client(headers=headers))
    return Client(transport, mode=mode)  # type: ignore[arg-type]


class Seen:
    """Every text the server answered, to search for keys afterwards."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def result(self, result: CallToolResult) -> CallToolResult:
        self.texts.append(" ".join(c.text for c in result.content if isinstance(c, TextContent)))
        self.texts.append(json.dumps(result.structured_content))
        return result

    async def ok(self, client: Client, name: str, args: dict[str, Any]) -> dict[str, Any]:
        result = self.result(await client.call_tool(name, args))
        assert not result.is_error, self.texts[-2]
        assert result.structured_content is not None
        return result.structured_content

    async def error(self, client: Client, name: str, args: dict[str, Any]) -> str:
        result = self.result(await client.call_tool(name, args))
        assert result.is_error, result.structured_content
        return self.texts[-2]


async def start_both(client: Client, seen: Seen, who: str) -> dict[str, dict[str, Any]]:
    """Start a run and a Motion session for one person."""
    run = await seen.ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
    session = await seen.ok(client, "create_video_session", {"prompt": f"A teaser for {who}"})
    return {"run": run, "session": session}


async def own_and_others(client: Client, mode: str, seen: Seen, mine: dict[str, Any], theirs: dict[str, Any]) -> None:
    """The person sees their own jobs and nothing of the other's, by any route, tried with the real ids."""
    listed = await seen.ok(client, "list_jobs", {})
    ids = {j["job_id"] for j in listed["jobs"]}
    assert ids == {mine["run"]["job_id"], mine["session"]["job_id"]}
    resources = {str(r.uri) for r in (await client.list_resources()).resources}
    assert {mine["run"]["resource_uri"], mine["session"]["resource_uri"]} <= resources
    assert not {theirs["run"]["resource_uri"], theirs["session"]["resource_uri"]} & resources
    index = (await client.read_resource("mosaic://jobs")).contents[0]
    seen.texts.append(index.text)  # type: ignore[union-attr]
    assert {j["job_id"] for j in json.loads(index.text)} == ids  # type: ignore[union-attr]
    nowhere = "0" * len(theirs["run"]["job_id"])
    unknown = await seen.error(client, "poll_job", {"job_id": nowhere})
    for handle in theirs.values():
        other = handle["job_id"]
        answer = await seen.error(client, "poll_job", {"job_id": other})
        assert answer == unknown.replace(nowhere, other)  # the same "not found" as a job that does not exist
        assert "no job" in (await seen.error(client, "cancel_job", {"job_id": other}))
        with pytest.raises(MCPError):
            await client.read_resource(handle["resource_uri"])
        with pytest.raises(MCPError) as refused:
            await subscribe(client, mode, [handle["resource_uri"]])
        assert refused.value.error.code == INVALID_PARAMS
    await subscribe(client, mode, [handle["resource_uri"] for handle in mine.values()])


async def subscribe(client: Client, mode: str, uris: list[str]) -> None:
    """Subscribe the way the generation does (2026: open a listen stream and close it)."""
    if mode == "legacy":
        for uri in uris:
            await client.subscribe_resource(uri)
        return
    async with client.listen(resource_subscriptions=uris) as sub:
        assert sub.honored.resource_subscriptions == uris


async def follow_to_the_end(client: Client, seen: Seen, mine: dict[str, Any]) -> None:
    """Each of the person's jobs completes, read with their own keys."""
    for handle in mine.values():
        for _ in range(20):
            snap = await seen.ok(client, "poll_job", {"job_id": handle["job_id"], "wait_seconds": 5})
            if snap["settled"]:
                break
        assert snap["status"] == "completed", snap


def what_the_server_left(log_file: Path, home: Path) -> tuple[str, bytes, list[tuple[str, str, bytes]]]:
    """The server's log, every byte under its home (database, WAL…), and the sealed key rows."""
    stored = b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())
    with closing(sqlite3.connect(home / "jobs.sqlite3")) as db:
        sealed = db.execute("SELECT owner, service, sealed FROM person_keys").fetchall()
    return log_file.read_text(errors="replace"), stored, sealed


@contextmanager
def served_logging_to(env: dict[str, str], log_file: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`serve --http --verbose` on a free loopback port, its stderr (debug logging) into `log_file`."""
    with log_file.open("wb") as log, http_server(env, "--verbose", stderr=log) as served:
        yield served


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_two_people_keep_apart(keys_env: dict[str, str], served: RunningSandbox, mode: str) -> None:
    """Two people start jobs concurrently; neither can read, poll, cancel, subscribe to or list the other's."""
    seen = Seen()
    started: dict[str, dict[str, dict[str, Any]]] = {}
    log_file = Path(keys_env["MOSAIC_MCP_HOME"]).parent / "server.log"
    with served_logging_to(keys_env, log_file) as (proc, url):
        await wait_until_listening(url, proc)
        with anyio.fail_after(90):
            async with person(url, ALICE, mode) as alice, person(url, BOB, mode) as bob:

                async def start(name: str, client: Client) -> None:
                    started[name] = await start_both(client, seen, name)

                async with anyio.create_task_group() as tg:
                    tg.start_soon(start, "alice", alice)
                    tg.start_soon(start, "bob", bob)
                await own_and_others(alice, mode, seen, started["alice"], started["bob"])
                await own_and_others(bob, mode, seen, started["bob"], started["alice"])
                async with anyio.create_task_group() as tg:
                    tg.start_soon(follow_to_the_end, alice, seen, started["alice"])
                    tg.start_soon(follow_to_the_end, bob, seen, started["bob"])
                tools = {t.name for t in (await alice.list_tools()).tools}
                assert "run_agent" in tools and not {"upload_file", "download_output"} & tools
    stderr, stored, sealed = what_the_server_left(log_file, Path(keys_env["MOSAIC_MCP_HOME"]))
    assert len(sealed) == 4 and len({owner for owner, _, _ in sealed}) == 2  # both people's keys, sealed
    for canary in CANARIES:
        assert canary.encode() not in stored, "a key in plaintext under the server's home"
        assert canary not in stderr, "a key in the server's log"
        assert not any(canary in text for text in seen.texts), "a key in a response"
    assert stderr.strip(), "the server logged nothing at --verbose: the log search proves nothing"


async def test_keys_mode_asks_for_keys(keys_env: dict[str, str]) -> None:
    """Without key headers /mcp answers 401 naming the headers; a malformed key is refused naming its header."""
    initialize, accept = INITIALIZE, MCP_ACCEPT
    with http_server(keys_env) as (proc, url):
        await wait_until_listening(url, proc)
        async with httpx2.AsyncClient() as http:
            bare = await http.post(url, json=initialize, headers=accept)
            assert bare.status_code == 401 and "X-Mosaic-Api-Key" in bare.json()["detail"]
            assert bare.headers["www-authenticate"]
            wrong = await http.post(url, json=initialize, headers={**accept, "X-Mosaic-Api-Key": "motion_swapped_1234"})
            assert wrong.status_code == 401
            assert "X-Mosaic-Api-Key" in wrong.json()["detail"] and "motion_swapped_1234" not in wrong.text
            ok = await http.post(url, json=initialize, headers={**accept, **ALICE})
            assert ok.status_code == 200, ok.text
            huge = await http.post(url, content=b"x" * (5 * 1024 * 1024), headers={**accept, **ALICE})
            assert huge.status_code == 413  # the SDK's 4 MiB cap on request bodies
            ready = await http.get(url.replace("/mcp", "/readyz"))
            assert ready.status_code == 200 and ready.json()["ready"] is True


@pytest.mark.parametrize("mode", ["keys", "oauth"])
def test_remote_modes_refuse_to_start_without_the_secret(tmp_path: Path, mode: str) -> None:
    """keys/oauth mode without MOSAIC_MCP_SECRET_KEY exits with a message naming the variable."""
    env = {k: v for k, v in os.environ.items() if k != "MOSAIC_MCP_SECRET_KEY"}
    proc = subprocess.run(
        [*mosaic_mcp_command(), "serve", "--http", "--port", str(free_port())],
        env={**env, "MOSAIC_MCP_HOME": str(tmp_path), "MOSAIC_MCP_AUTH": mode},
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert b"MOSAIC_MCP_SECRET_KEY" in proc.stderr and f"MOSAIC_MCP_AUTH={mode}".encode() in proc.stderr


def test_token_mode_refuses_open_bind_with_a_clear_message(tmp_path: Path) -> None:
    """token mode off loopback without MOSAIC_MCP_HTTP_TOKEN exits 2 naming the variable and the fix."""
    proc = subprocess.run(
        [*mosaic_mcp_command(), "serve", "--http", "--host", "0.0.0.0", "--port", str(free_port())],
        env={**os.environ, "MOSAIC_MCP_HOME": str(tmp_path), "MOSAIC_MCP_AUTH": "token"},
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert b"MOSAIC_MCP_HTTP_TOKEN" in proc.stderr and b"127.0.0.1" in proc.stderr
