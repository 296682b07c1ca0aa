"""The real `mosaic-mcp serve --http` over Streamable HTTP on loopback."""

import os
import subprocess
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.subscriptions import ResourceUpdated

from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import INITIALIZE, MCP_ACCEPT, RUN, sent
from ..support.processes import free_port, http_server, mosaic_mcp_command, wait_until_listening
from .flow import call, run_full_flow

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_http_full_flow(server_env: dict[str, str], served: RunningSandbox, mode: str) -> None:
    """Start a run and a Motion session, wait with progress, read the finished resources over HTTP."""
    with http_server(server_env) as (proc, url):
        await wait_until_listening(url, proc)
        with anyio.fail_after(60):
            async with Client(url, mode=mode) as client:  # type: ignore[arg-type]
                await run_full_flow(client, served)


async def test_http_listen_receives_updates(server_env: dict[str, str], served: RunningSandbox) -> None:
    """A 2026-07-28 client listening over HTTP gets ResourceUpdated for its job."""
    with http_server(server_env) as (proc, url):
        await wait_until_listening(url, proc)
        with anyio.fail_after(60):
            async with Client(url, mode="auto") as client:
                run = await call(
                    client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": ["https://youtu.be/dQw4w9WgXcQ"]}
                )
                assert sent(served, RUN) == [{"video_urls": ["https://youtu.be/dQw4w9WgXcQ"]}]
                async with client.listen(resource_subscriptions=[run["resource_uri"]]) as sub:
                    async for event in sub:
                        if isinstance(event, ResourceUpdated):
                            break


async def test_http_token_is_required_when_set(server_env: dict[str, str]) -> None:
    """With MOSAIC_MCP_HTTP_TOKEN set, /mcp answers 401 without or with a wrong token, and serves the right one."""
    token = "tok_" + "x" * 32
    env = {**server_env, "MOSAIC_MCP_HTTP_TOKEN": token}
    initialize, accept = INITIALIZE, MCP_ACCEPT
    with http_server(env) as (proc, url):
        await wait_until_listening(url, proc)
        async with httpx2.AsyncClient() as http:
            assert (await http.post(url, json=initialize, headers=accept)).status_code == 401
            wrong = {**accept, "Authorization": "Bearer tok_" + "y" * 32}
            assert (await http.post(url, json=initialize, headers=wrong)).status_code == 401
            ok = await http.post(url, json=initialize, headers={**accept, "Authorization": f"Bearer {token}"})
            assert ok.status_code == 200, ok.text
            assert "serverInfo" in ok.text


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


async def test_webhook_settles_a_run_before_the_next_poll(server_env: dict[str, str], served: RunningSandbox) -> None:
    """With MOSAIC_MCP_PUBLIC_URL, a run reports by signed webhook: it settles long before the next poll."""
    port = free_port()
    secret = "whsec_e2e_" + "y" * 24
    served.sandbox.outbox.secret = secret
    env = {
        **server_env,
        "MOSAIC_MCP_POLL_INTERVAL": "30",  # without the webhook, nothing would be seen for 30 s
        "MOSAIC_MCP_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "MOSAIC_WEBHOOK_SECRET": secret,
    }
    with http_server(env, port=port) as (proc, url):
        await wait_until_listening(url, proc)
        async with Client(url, mode="legacy") as client:
            run = await call(
                client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": ["https://youtu.be/dQw4w9WgXcQ"]}
            )
            with anyio.fail_after(15):
                while True:  # list_jobs reads the journal only: it never polls the API itself
                    jobs = (await call(client, "list_jobs", {}))["jobs"]
                    if jobs[0]["settled"]:
                        break
                    await anyio.sleep(0.2)
    assert jobs[0]["job_id"] == run["job_id"] and jobs[0]["status"] == "completed"
    hook = f"http://127.0.0.1:{port}/webhooks/mosaic"
    assert served.sandbox.runs.get(run["job_id"]).callback_url == hook
    assert sent(served, RUN) == [{"video_urls": ["https://youtu.be/dQw4w9WgXcQ"], "callback_url": hook}]


async def test_webhook_with_a_wrong_signature_is_refused(server_env: dict[str, str]) -> None:
    """A delivery without the configured X-Mosaic-Signature gets 401; the bearer gate does not block Mosaic's."""
    env = {**server_env, "MOSAIC_WEBHOOK_SECRET": "whsec_right", "MOSAIC_MCP_HTTP_TOKEN": "tok_" + "z" * 32}
    with http_server(env) as (proc, url):
        await wait_until_listening(url, proc)
        hook = url.replace("/mcp", "/webhooks/mosaic")
        async with httpx2.AsyncClient() as http:
            wrong = await http.post(hook, json={"run_id": "x"}, headers={"X-Mosaic-Signature": "whsec_wrong"})
            right = await http.post(hook, json={"run_id": "x"}, headers={"X-Mosaic-Signature": "whsec_right"})
    assert (wrong.status_code, right.status_code) == (401, 200)
