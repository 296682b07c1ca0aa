"""OAuth sign-in end to end: the real `serve --http` in oauth mode, the SDK's OAuth client, a real Chromium.

The server has no keys of its own (none in its environment): the person pastes theirs on the sign-in
page, so a run that starts proves the tool call used the signed-in person's keys. Needs Node.js 20+,
Debian's `chromium` and the pinned npm packages of tests/browser (`npm ci` there); skips without them.
"""

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx2
import pytest
from anyio.abc import Process
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from mosaic_mcp.server.oauth import STORE_FILE
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID, ORGANIZATION_NAME

from ..browser.test_job_card_browser import chromium
from ..support import INITIALIZE, MCP_ACCEPT, MOSAIC_KEY, MOTION_KEY
from ..support.processes import free_port, http_server, wait_until_listening
from .conftest import SECRET_KEY, WRONG_MOSAIC_KEY

pytestmark = pytest.mark.anyio

BROWSER = Path(__file__).parent.parent / "browser"
CALLBACK = "http://127.0.0.1:9/oauth/callback"
"""The client's redirect URI: nothing listens there, the browser script catches the redirect."""
ACCEPT = MCP_ACCEPT


class Memory:
    """The SDK client's token storage, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        """The stored tokens."""
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        """Store tokens."""
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        """The registration."""
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        """Store the registration."""
        self.client = client_info


class Browser:
    """signin.mjs in headless Chromium: started by the client's redirect handler, then driven by lines."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: Process | None = None
        self.lines: Any = None
        self.report: dict[str, Any] = {}

    async def open(self, authorization_url: str) -> None:
        """The SDK's redirect handler: the person's browser opens the authorization URL."""
        env = {**self.env, "AUTH_URL": authorization_url}
        self.process = await anyio.open_process(["node", str(BROWSER / "signin.mjs")], env=env)
        assert self.process.stdout is not None
        self.lines = _lines(self.process.stdout)

    async def callback(self) -> AuthorizationCodeResult:
        """The SDK's callback handler: the code and state the browser was redirected with."""
        self.report = await self.next()
        assert self.report["callback"], self.report
        query = parse_qs(urlsplit(self.report["callback"]).query)
        return AuthorizationCodeResult(code=query["code"][0], state=query.get("state", [None])[0])

    async def tell(self, command: str) -> dict[str, Any]:
        """One command to the script; its answer."""
        assert self.process is not None and self.process.stdin is not None
        await self.process.stdin.send(command.encode() + b"\n")
        return await self.next()

    async def next(self) -> dict[str, Any]:
        """The script's next JSON line."""
        with anyio.fail_after(60):
            try:
                line = await anext(self.lines)
            except StopAsyncIteration:
                assert self.process is not None and self.process.stderr is not None
                problem = (await self.process.stderr.receive(65536)).decode(errors="replace")
                raise AssertionError(f"signin.mjs ended early: {problem[-2000:]}") from None
        return dict(json.loads(line))


async def _lines(stream: Any) -> Any:
    buffer = b""
    async for chunk in stream:
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line.decode()


def oauth_env(served: RunningSandbox, home: Path, port: int) -> dict[str, str]:
    """A server child in oauth mode: no keys of its own, the sandbox's URLs, a private home."""
    return {
        "MOSAIC_MCP_AUTH": "oauth",
        "MOSAIC_MCP_SECRET_KEY": SECRET_KEY,
        "MOSAIC_MCP_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "MOSAIC_API_BASE_URL": served.mosaic_base_url,
        "MOTION_API_BASE_URL": served.motion_base_url,
        "MOSAIC_MCP_HOME": str(home),
        "MOSAIC_MCP_MAX_WAIT_SECONDS": "10",
        "MOSAIC_MCP_POLL_INTERVAL": "0.1",
    }


async def test_a_host_signs_in_with_a_browser_and_runs_a_job(served: RunningSandbox, tmp_path: Path) -> None:
    """Register, sign in in Chromium (a wrong key first), list tools, run a job, refresh, sign out."""
    browser_path = chromium()
    if browser_path is None or not (BROWSER / "node_modules" / "puppeteer-core").is_dir():
        pytest.skip("needs Node.js 20+, Chromium and `npm ci` in tests/browser")
    port = free_port()
    home = tmp_path / "home"
    env = oauth_env(served, home, port)
    browser = Browser(
        {
            "PATH": os.environ.get("PATH", ""),
            "CHROMIUM": browser_path,
            "REDIRECT_PREFIX": CALLBACK,
            "WRONG_MOSAIC_KEY": WRONG_MOSAIC_KEY,
            "MOSAIC_KEY": MOSAIC_KEY,
            "MOTION_KEY": MOTION_KEY,
        }
    )
    storage = Memory()
    with http_server(env, port=port) as (proc, url):
        await wait_until_listening(url, proc)
        oauth = OAuthClientProvider(
            server_url=url,
            client_metadata=OAuthClientMetadata(
                client_name="e2e host",
                redirect_uris=[CALLBACK],  # type: ignore[list-item]
                grant_types=["authorization_code", "refresh_token"],
            ),
            storage=storage,
            redirect_handler=browser.open,
            callback_handler=browser.callback,
        )
        try:
            with anyio.fail_after(120):
                async with (
                    httpx2.AsyncClient(auth=oauth, timeout=30) as http,
                    Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
                ):
                    tools = {t.name for t in (await client.list_tools()).tools}
                    assert {"run_agent", "poll_job", "list_jobs"} <= tools
                    await _run_to_completion(client)
                report = browser.report
                # The page: the sign-in form behind /authorize, a wrong key refused on the page, no code sent.
                assert (report["signinPage"]["status"], report["signinPage"]["path"]) == (200, "/signin")
                assert report["wrong"]["status"] == 400 and report["wrong"]["redirects"] == 0
                assert any("Mosaic refused this key (401)" in a for a in report["wrong"]["alerts"])
                assert report["wrong"]["invalid"] == "true"
                assert f"belongs to the organisation {ORGANIZATION_NAME}" in report["consent"]["text"]
                assert urlsplit(report["callback"]).path == "/oauth/callback"

                await _refresh_rotates(url, storage)
                account = await browser.tell("account")
                assert account["status"] == 200 and account["clients"] == ["e2e host"]
                signed_out = await browser.tell("signout")
                assert signed_out["status"] == 200 and "keys are forgotten" in signed_out["text"]
                assert storage.tokens is not None
                assert await _status_with(url, storage.tokens.access_token) == 401
        finally:
            if browser.process is not None:
                assert browser.process.stdin is not None
                await browser.process.stdin.aclose()
                with anyio.fail_after(20):
                    await browser.process.wait()
        proc.terminate()
        proc.wait(timeout=10)
        assert proc.stderr is not None
        logs = proc.stderr.read()
    stored = b"".join(p.read_bytes() for p in home.iterdir() if p.is_file())
    assert STORE_FILE in {p.name for p in home.iterdir()}
    for canary in (MOSAIC_KEY, MOTION_KEY):
        assert canary.encode() not in stored, "a key is stored in plaintext"
        assert canary.encode() not in logs, "a key is in the server's log"


async def _run_to_completion(client: Client) -> None:
    """run_agent with the person's keys (the server has none), followed to completion."""
    started = await client.call_tool(
        "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": ["https://youtu.be/dQw4w9WgXcQ"]}
    )
    assert not started.is_error, started.content
    assert started.structured_content is not None
    job_id = started.structured_content["job_id"]
    for _ in range(12):
        polled = await client.call_tool("poll_job", {"job_id": job_id, "wait_seconds": 5})
        assert polled.structured_content is not None, polled.content
        if polled.structured_content["settled"]:
            break
    assert polled.structured_content["status"] == "completed"


async def _refresh_rotates(url: str, storage: Memory) -> None:
    """A refresh token gets new tokens; the old access token stops working, the new one works."""
    assert storage.tokens is not None and storage.client is not None
    old = storage.tokens
    base = url.removesuffix("/mcp")
    async with httpx2.AsyncClient() as http:
        answer = await http.post(
            f"{base}/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": old.refresh_token or "",
                "client_id": storage.client.client_id or "",
                "client_secret": storage.client.client_secret or "",
            },
        )
    assert answer.status_code == 200, answer.text
    storage.tokens = OAuthToken.model_validate(answer.json())
    assert storage.tokens.access_token != old.access_token
    assert await _status_with(url, old.access_token) == 401
    assert await _status_with(url, storage.tokens.access_token) == 200


async def _status_with(url: str, token: str) -> int:
    """The status of an `initialize` sent with this bearer token."""
    async with httpx2.AsyncClient() as http:
        answer = await http.post(url, json=INITIALIZE, headers={**ACCEPT, "Authorization": f"Bearer {token}"})
    return answer.status_code
