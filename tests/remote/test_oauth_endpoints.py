"""OAuth mode's endpoints one rule at a time: real HTTP against `serve --http`'s app, the sandbox behind it."""

import base64
import hashlib
import os
import re
import secrets
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from pydantic import SecretStr
from starlette.requests import Request

from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.config import ConfigurationError, load_settings
from mosaic_mcp.server.oauth import STORE_FILE, OAuthMode
from mosaic_mcp.server.oauth.signin import ATTEMPTS, CSRF_COOKIE
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.serve import serve_asgi
from mosaic_mcp.server.serve_http import build_http_app

from ..support import MOSAIC_KEY, MOTION_KEY, sandbox_settings
from ..support.processes import free_port, mosaic_mcp_command
from .conftest import SECRET_KEY, WRONG_MOSAIC_KEY

pytestmark = pytest.mark.anyio

REDIRECT = "http://127.0.0.1:9/callback"


@dataclass
class Served:
    """The oauth-mode app on loopback."""

    server: MosaicServer
    base: str
    home: Path

    @property
    def oauth(self) -> OAuthMode:
        """The sign-in server."""
        assert self.server.oauth is not None
        return self.server.oauth


@pytest.fixture
async def app(served: RunningSandbox, tmp_path: Path) -> AsyncIterator[Served]:
    """`serve --http`'s app in oauth mode, with no keys of its own."""
    port = free_port()
    settings = sandbox_settings(
        served,
        tmp_path,
        mosaic_api_key=None,
        motion_api_key=None,
        auth_mode="oauth",
        secret_key=SECRET_KEY,
        public_url=f"http://127.0.0.1:{port}",
    )
    server = create_server(settings)
    async with serve_asgi(build_http_app(server, settings, host="127.0.0.1"), port=port):
        yield Served(server, f"http://127.0.0.1:{port}", settings.home)


def pkce() -> tuple[str, str]:
    """A code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


async def register(http: httpx2.AsyncClient, base: str) -> dict[str, Any]:
    """Dynamic client registration."""
    answer = await http.post(
        f"{base}/register",
        json={
            "redirect_uris": [REDIRECT],
            "client_name": "test host",
            "grant_types": ["authorization_code", "refresh_token"],
        },
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def authorize(http: httpx2.AsyncClient, base: str, client: dict[str, Any], **params: str) -> httpx2.Response:
    """GET /authorize (not followed)."""
    query = {"client_id": client["client_id"], "response_type": "code", "redirect_uri": REDIRECT, "state": "st8"}
    return await http.get(f"{base}/authorize", params={**query, **params})


def csrf_of(page: str) -> str:
    """The CSRF token in a form."""
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def open_signin(http: httpx2.AsyncClient, base: str, client: dict[str, Any], challenge: str) -> tuple[str, str]:
    """Authorize, follow to the sign-in page: its request id and CSRF token."""
    answer = await authorize(http, base, client, code_challenge=challenge, code_challenge_method="S256")
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith(f"{base}/signin?request=")
    page = await http.get(location)
    assert page.status_code == 200
    return parse_qs(urlsplit(location).query)["request"][0], csrf_of(page.text)


async def post_signin(http: httpx2.AsyncClient, base: str, **form: str) -> httpx2.Response:
    """POST the sign-in form."""
    return await http.post(f"{base}/signin", data=form)


async def sign_in(
    http: httpx2.AsyncClient, base: str, client: dict[str, Any], challenge: str, mosaic: str = MOSAIC_KEY
) -> str:
    """The whole page flow with good keys; the code the client is redirected with."""
    request, csrf = await open_signin(http, base, client, challenge)
    checked = await post_signin(
        http, base, request=request, csrf=csrf, step="check", mosaic_api_key=mosaic, motion_api_key=MOTION_KEY
    )
    assert checked.status_code == 200, checked.text
    allowed = await post_signin(http, base, request=request, csrf=csrf, step="connect")
    assert allowed.status_code == 303, allowed.text
    target = urlsplit(allowed.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT
    query = parse_qs(target.query)
    assert query["state"] == ["st8"]
    return query["code"][0]


async def exchange(
    http: httpx2.AsyncClient, base: str, client: dict[str, Any], code: str, verifier: str, redirect: str = REDIRECT
) -> httpx2.Response:
    """POST /token with the authorization code."""
    return await http.post(
        f"{base}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": redirect,
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
    )


async def tokens(http: httpx2.AsyncClient, app: Served) -> tuple[dict[str, Any], dict[str, Any]]:
    """A registered client and its tokens after a good sign-in."""
    client = await register(http, app.base)
    verifier, challenge = pkce()
    code = await sign_in(http, app.base, client, challenge)
    answer = await exchange(http, app.base, client, code, verifier)
    assert answer.status_code == 200, answer.text
    return client, dict(answer.json())


async def mcp_status(http: httpx2.AsyncClient, base: str, token: str | None) -> httpx2.Response:
    """An `initialize` to /mcp with this bearer (or none)."""
    headers = {"Accept": "application/json, text/event-stream"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    return await http.post(f"{base}/mcp", json=body, headers=headers)


async def test_unauthenticated_mcp_request_gets_a_challenge_naming_the_metadata(app: Served) -> None:
    """401 with WWW-Authenticate pointing at RFC 9728 metadata, which names this server as its authorization server."""
    async with httpx2.AsyncClient() as http:
        answer = await mcp_status(http, app.base, None)
        assert answer.status_code == 401
        challenge = answer.headers["www-authenticate"]
        metadata_url = f"{app.base}/.well-known/oauth-protected-resource/mcp"
        assert challenge.startswith("Bearer ") and f'resource_metadata="{metadata_url}"' in challenge
        resource = (await http.get(metadata_url)).json()
        server = (await http.get(f"{app.base}/.well-known/oauth-authorization-server")).json()
    assert resource["resource"] == f"{app.base}/mcp" and resource["authorization_servers"] == [app.base]
    assert server["code_challenge_methods_supported"] == ["S256"]
    assert server["registration_endpoint"] == f"{app.base}/register"
    assert server["revocation_endpoint"] == f"{app.base}/revoke"


async def test_authorize_requires_a_pkce_s256_challenge(app: Served) -> None:
    """No code_challenge, or the plain method, is refused; nobody is sent to the sign-in page."""
    async with httpx2.AsyncClient() as http:
        client = await register(http, app.base)
        missing = await authorize(http, app.base, client)
        plain = await authorize(http, app.base, client, code_challenge="x" * 43, code_challenge_method="plain")
    for answer in (missing, plain):
        assert answer.status_code == 302
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        assert query["error"] == ["invalid_request"] and "/signin" not in answer.headers["location"]


@pytest.mark.parametrize(
    "redirect", ["http://127.0.0.1:9/callback/other", "http://127.0.0.1:10/callback", "http://evil.example/callback"]
)
async def test_redirect_uri_must_match_a_registered_one_exactly(app: Served, redirect: str) -> None:
    """An unregistered redirect URI gets a 400 on this server's page, never a redirect to it."""
    _, challenge = pkce()
    async with httpx2.AsyncClient() as http:
        client = await register(http, app.base)
        answer = await authorize(http, app.base, client, code_challenge=challenge, redirect_uri=redirect)
    assert answer.status_code == 400 and "location" not in answer.headers
    assert answer.json()["error"] == "invalid_request"


async def test_a_token_request_with_the_wrong_verifier_or_redirect_is_refused(app: Served) -> None:
    """PKCE is checked at /token: a wrong verifier (or another redirect URI) gets invalid_grant, no token."""
    async with httpx2.AsyncClient() as http:
        client = await register(http, app.base)
        verifier, challenge = pkce()
        code = await sign_in(http, app.base, client, challenge)
        wrong = await exchange(http, app.base, client, code, pkce()[0])
        elsewhere = await exchange(http, app.base, client, code, verifier, redirect="http://127.0.0.1:9/other")
        right = await exchange(http, app.base, client, code, verifier)
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    assert (elsewhere.status_code, elsewhere.json()["error"]) == (400, "invalid_request")
    assert right.status_code == 200 and right.json()["token_type"] == "Bearer"


async def test_a_code_works_once(app: Served) -> None:
    """The second exchange of the same code is refused."""
    async with httpx2.AsyncClient() as http:
        client = await register(http, app.base)
        verifier, challenge = pkce()
        code = await sign_in(http, app.base, client, challenge)
        first = await exchange(http, app.base, client, code, verifier)
        second = await exchange(http, app.base, client, code, verifier)
    assert first.status_code == 200
    assert (second.status_code, second.json()["error"]) == (400, "invalid_grant")


async def test_an_expired_code_is_refused(app: Served) -> None:
    """A code older than its five minutes gets invalid_grant."""
    app.oauth.provider.now = lambda: time.time() - 3600  # the code below was issued an hour ago
    async with httpx2.AsyncClient() as http:
        client = await register(http, app.base)
        verifier, challenge = pkce()
        code = await sign_in(http, app.base, client, challenge)
        answer = await exchange(http, app.base, client, code, verifier)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
    assert "expired" in answer.json()["error_description"]


async def test_a_form_without_the_pages_csrf_token_is_refused(app: Served) -> None:
    """A post without the page's cookie (another site's form), or with a wrong token, gets 403 and checks nothing."""
    async with httpx2.AsyncClient() as http:
        client = await register(http, app.base)
        request, csrf = await open_signin(http, app.base, client, pkce()[1])
        keys = {"mosaic_api_key": MOSAIC_KEY, "step": "check"}
        wrong = await post_signin(http, app.base, request=request, csrf="x" * 64, **keys)
        http.cookies.delete(CSRF_COOKIE)
        cross_site = await post_signin(http, app.base, request=request, csrf=csrf, **keys)
    assert wrong.status_code == 403 and cross_site.status_code == 403
    assert "CSRF" in wrong.text


async def test_a_wrong_key_is_explained_on_the_page_and_no_code_is_issued(app: Served, served: RunningSandbox) -> None:
    """Mosaic's 401 shows next to the field; allowing without checked keys is refused; no redirect happens."""
    before = served.sandbox.requests.count("GET", "/whoami")
    async with httpx2.AsyncClient() as http:
        client = await register(http, app.base)
        request, csrf = await open_signin(http, app.base, client, pkce()[1])
        refused = await post_signin(
            http, app.base, request=request, csrf=csrf, step="check", mosaic_api_key=WRONG_MOSAIC_KEY
        )
        malformed = await post_signin(
            http, app.base, request=request, csrf=csrf, step="check", motion_api_key=MOSAIC_KEY
        )
        skipped = await post_signin(http, app.base, request=request, csrf=csrf, step="connect")
    assert refused.status_code == 400 and "Mosaic refused this key (401)" in refused.text
    assert 'aria-invalid="true"' in refused.text and "No code was issued" in refused.text
    assert malformed.status_code == 400 and "looks like a key for MOSAIC_API_KEY" in malformed.text
    assert skipped.status_code == 400 and "location" not in skipped.headers
    assert served.sandbox.requests.count("GET", "/whoami") == before + 1  # the malformed key was never sent
    for answer in (refused, malformed):
        assert WRONG_MOSAIC_KEY not in answer.text and MOSAIC_KEY not in answer.text


async def test_sign_in_attempts_are_limited_per_address(app: Served) -> None:
    """After ATTEMPTS key checks from one address, the next gets 429 without asking the API."""
    async with httpx2.AsyncClient() as http:
        client = await register(http, app.base)
        request, csrf = await open_signin(http, app.base, client, pkce()[1])
        form = {"request": request, "csrf": csrf, "step": "check", "mosaic_api_key": WRONG_MOSAIC_KEY}
        statuses = [(await post_signin(http, app.base, **form)).status_code for _ in range(ATTEMPTS + 1)]
    assert statuses == [400] * ATTEMPTS + [429]


async def test_a_token_for_another_resource_is_not_issued(app: Served) -> None:
    """An RFC 8707 resource other than this server's /mcp is refused at /authorize."""
    async with httpx2.AsyncClient() as http:
        client = await register(http, app.base)
        answer = await authorize(http, app.base, client, code_challenge=pkce()[1], resource="https://other.example/mcp")
    assert parse_qs(urlsplit(answer.headers["location"]).query)["error"] == ["invalid_target"]


async def test_refresh_rotates_and_revocation_ends_both_tokens(app: Served) -> None:
    """A refresh gives a new pair and retires the old; revoking the access token also kills its refresh token."""
    async with httpx2.AsyncClient() as http:
        client, first = await tokens(http, app)
        ok = await mcp_status(http, app.base, first["access_token"])
        assert ok.status_code == 200, (ok.text, ok.headers)
        credentials = {"client_id": client["client_id"], "client_secret": client["client_secret"]}
        refreshed = await http.post(
            f"{app.base}/token",
            data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], **credentials},
        )
        assert refreshed.status_code == 200, refreshed.text
        second = refreshed.json()
        assert (await mcp_status(http, app.base, first["access_token"])).status_code == 401
        again = await http.post(
            f"{app.base}/token",
            data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], **credentials},
        )
        assert again.status_code == 400
        revoked = await http.post(f"{app.base}/revoke", data={"token": second["access_token"], **credentials})
        assert revoked.status_code == 200
        assert (await mcp_status(http, app.base, second["access_token"])).status_code == 401
        after = await http.post(
            f"{app.base}/token",
            data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"], **credentials},
        )
    assert after.status_code == 400 and after.json()["error"] == "invalid_grant"


async def test_the_store_holds_no_key_token_or_code_in_plaintext(app: Served) -> None:
    """After a sign-in, the SQLite file (and its WAL) holds neither the pasted keys nor the tokens."""
    async with httpx2.AsyncClient() as http:
        _, issued = await tokens(http, app)
    stored = b"".join(p.read_bytes() for p in app.home.iterdir() if p.name.startswith(STORE_FILE))
    assert stored
    for secret in (MOSAIC_KEY, MOTION_KEY, issued["access_token"], issued["refresh_token"], SECRET_KEY):
        assert secret.encode() not in stored


async def test_the_resolver_gives_the_token_holders_keys(app: Served) -> None:
    """access token → subject → decrypted keys → Person; an unknown or missing bearer resolves to nobody."""
    async with httpx2.AsyncClient() as http:
        _, issued = await tokens(http, app)

    def request(authorization: str | None) -> Request:
        headers = [(b"authorization", authorization.encode())] if authorization else []
        return Request({"type": "http", "method": "POST", "path": "/mcp", "headers": headers})

    person = await app.oauth.person(request(f"Bearer {issued['access_token']}"))
    assert person is not None and person.id.startswith("oauth:")
    assert person.mosaic_api_key == SecretStr(MOSAIC_KEY) and person.motion_api_key == SecretStr(MOTION_KEY)
    assert MOSAIC_KEY not in repr(person)
    assert await app.oauth.person(request("Bearer nope")) is None
    assert await app.oauth.person(request(None)) is None


async def test_signing_out_forgets_the_keys_and_revokes_every_token(app: Served) -> None:
    """The account page lists the client; signing out ends its token and the person's keys resolve to nobody."""
    async with httpx2.AsyncClient() as http:
        _, issued = await tokens(http, app)
        page = await http.get(f"{app.base}/account")
        assert page.status_code == 200 and "<li>test host</li>" in page.text
        refused = await http.post(f"{app.base}/account/signout", data={"csrf": "forged"})
        assert refused.status_code == 403
        done = await http.post(f"{app.base}/account/signout", data={"csrf": csrf_of(page.text)})
        assert done.status_code == 200 and "1 connected client(s) are disconnected" in done.text
        assert (await mcp_status(http, app.base, issued["access_token"])).status_code == 401
        assert (await http.get(f"{app.base}/account")).status_code == 401


async def test_signing_out_drops_the_keys_sealed_for_the_poller(app: Served) -> None:
    """The keys sealed at rest for the person's jobs go with the sign-out, not hours later with pruning."""

    def sealed() -> int:
        with closing(sqlite3.connect(app.home / "jobs.sqlite3")) as db:
            return int(db.execute("SELECT COUNT(*) FROM person_keys").fetchone()[0])

    async with httpx2.AsyncClient() as http:
        _, issued = await tokens(http, app)
        assert (await mcp_status(http, app.base, issued["access_token"])).status_code == 200
        assert sealed() == 2  # the Mosaic key and the Motion key the person signed in with
        page = await http.get(f"{app.base}/account")
        done = await http.post(f"{app.base}/account/signout", data={"csrf": csrf_of(page.text)})
        assert done.status_code == 200
    assert sealed() == 0


def test_oauth_mode_refuses_to_start_without_its_secret_and_public_url(tmp_path: Path) -> None:
    """Both missing settings are named, each with what to set."""

    settings = load_settings(auth_mode="oauth", home=tmp_path)
    with pytest.raises(ConfigurationError) as caught:
        create_server(settings)
    message = str(caught.value)
    assert "MOSAIC_MCP_SECRET_KEY" in message and "MOSAIC_MCP_PUBLIC_URL" in message


async def test_the_sign_in_page_needs_no_script_and_loads_nothing_from_elsewhere(app: Served) -> None:
    """A plain form: labelled fields, no <script>, a CSP allowing only its own inline style, no framing."""
    async with httpx2.AsyncClient() as http:
        client = await register(http, app.base)
        answer = await authorize(http, app.base, client, code_challenge=pkce()[1])
        page = await http.get(answer.headers["location"])
        unknown = await http.get(f"{app.base}/signin?request=made-up")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert '<label for="mosaic_api_key">' in html and '<label for="motion_api_key">' in html
    assert '<html lang="en">' in html and 'method="post" action="/signin"' in html
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    cookie = page.headers["set-cookie"]
    assert CSRF_COOKIE in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert unknown.status_code == 400 and "expired or was already used" in unknown.text


def test_serve_http_in_oauth_mode_without_its_secret_exits_with_the_reason(tmp_path: Path) -> None:
    """The real command refuses before listening (exit 2) and names MOSAIC_MCP_SECRET_KEY."""
    env = {
        **os.environ,
        "MOSAIC_MCP_AUTH": "oauth",
        "MOSAIC_MCP_HOME": str(tmp_path),
        "MOSAIC_MCP_PUBLIC_URL": "https://m.example",
    }
    done = subprocess.run(
        [*mosaic_mcp_command(), "serve", "--http", "--port", str(free_port())],
        env=env,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert b"MOSAIC_MCP_SECRET_KEY" in done.stderr and b"Traceback" not in done.stderr
