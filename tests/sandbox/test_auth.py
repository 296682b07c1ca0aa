"""Authentication and workspace narrowing."""

from __future__ import annotations

import httpx2
import pytest

from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, seed

from ..support import MOSAIC_KEY
from .helpers import http_client

pytestmark = pytest.mark.anyio


async def test_mosaic_rejects_missing_key(running: RunningSandbox) -> None:
    """A Mosaic request without Authorization answers 401 with a detail."""
    async with http_client(running.mosaic_base_url) as http:
        response = await http.get("/whoami")
    assert response.status_code == 401
    assert "detail" in response.json()


async def test_mosaic_rejects_motion_key(running: RunningSandbox) -> None:
    """A motion_ key is not a Mosaic key."""
    async with http_client(running.mosaic_base_url) as http:
        response = await http.get("/agents", headers={"Authorization": "Bearer motion_abc"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_api_key"


async def test_revoked_key_is_rejected(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """A well-formed key the sandbox was told to revoke answers 401."""
    sandbox.revoke_key(MOSAIC_KEY)
    assert (await mosaic.get("/whoami")).status_code == 401


async def test_whoami_reports_the_organisation(mosaic: httpx2.AsyncClient) -> None:
    """Any mk_ key maps to the seeded organisation."""
    body = (await mosaic.get("/whoami")).json()
    assert body["organization_id"] == seed.ORGANIZATION_ID
    assert body["scopes"] is None


async def test_motion_rejects_mosaic_key(running: RunningSandbox) -> None:
    """Motion answers 401 JSON to an mk_ key."""
    async with http_client(running.motion_base_url) as http:
        response = await http.get("/sessions/x", headers={"Authorization": "Bearer mk_abc"})
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


async def test_workspace_header(mosaic: httpx2.AsyncClient) -> None:
    """A known X-Workspace-Id narrows; an unknown one is 403."""
    ok = await mosaic.get("/agents", headers={"X-Workspace-Id": seed.SECOND_WORKSPACE_ID})
    assert ok.status_code == 200
    assert ok.json()["agents"] == []
    denied = await mosaic.get("/agents", headers={"X-Workspace-Id": "00000000-0000-4000-8000-000000000000"})
    assert denied.status_code == 403
