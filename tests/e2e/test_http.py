"""The real `mosaic-mcp serve --http` over Streamable HTTP on loopback."""

import os
import subprocess
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.subscriptions import ResourceUpdated

from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from .conftest import free_port, http_server, mosaic_mcp_command, wait_until_listening
from .flow import call, run_full_flow

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_http_full_flow(server_env: dict[str, str], mode: str) -> None:
    """Start a run and a Motion session, wait with progress, read the finished resources over HTTP."""
    with http_server(server_env) as (proc, url):
        await wait_until_listening(url, proc)
        with anyio.fail_after(60):
            async with Client(url, mode=mode) as client:  # type: ignore[arg-type]
                await run_full_flow(client)


async def test_http_listen_receives_updates(server_env: dict[str, str]) -> None:
    """A 2026-07-28 client listening over HTTP gets ResourceUpdated for its job."""
    with http_server(server_env) as (proc, url):
        await wait_until_listening(url, proc)
        with anyio.fail_after(60):
            async with Client(url, mode="auto") as client:
                run = await call(
                    client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": ["https://youtu.be/dQw4w9WgXcQ"]}
                )
                async with client.listen(resource_subscriptions=[run["resource_uri"]]) as sub:
                    async for event in sub:
                        if isinstance(event, ResourceUpdated):
                            break


async def test_http_token_is_required_when_set(server_env: dict[str, str]) -> None:
    """With MOSAIC_MCP_HTTP_TOKEN set, requests without the bearer token get 401."""
    env = {**server_env, "MOSAIC_MCP_HTTP_TOKEN": "tok_" + "x" * 32}
    with http_server(env) as (proc, url):
        await wait_until_listening(url, proc)
        async with httpx2.AsyncClient() as http:
            assert (await http.post(url, json={})).status_code == 401
            ok = await http.get(url.replace("/mcp", "/healthz"), headers={"Authorization": f"Bearer tok_{'x' * 32}"})
            assert ok.status_code == 200


def test_refuses_open_http_without_token(tmp_path: Path) -> None:
    """Binding a non-loopback address without a token is refused before anything listens."""
    proc = subprocess.run(
        [*mosaic_mcp_command(), "serve", "--http", "--host", "0.0.0.0", "--port", str(free_port())],
        env={**os.environ, "MOSAIC_MCP_HOME": str(tmp_path)},
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert b"MOSAIC_MCP_HTTP_TOKEN" in proc.stderr
