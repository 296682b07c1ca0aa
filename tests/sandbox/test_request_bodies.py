"""The request log keeps the JSON body of each request, bounded, and never a header value."""

import httpx2
import pytest

from mosaic_mcp.server.sandbox import Sandbox, seed
from mosaic_mcp.server.sandbox.requestlog import MAX_BODY

pytestmark = pytest.mark.anyio


async def test_json_body_is_kept(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """A JSON body is recorded as sent, also for a request the sandbox refuses."""
    body = {"video_urls": ["https://youtu.be/x"], "ignore_nodes": ["nope"]}
    response = await mosaic.post(f"/agent/{seed.CAPTIONS_AGENT_ID}/run", json=body)
    assert response.status_code == 400
    assert sandbox.requests.bodies("POST", "/agent/{agent_id}/run") == [body]


async def test_requests_without_a_json_body_record_none(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """A GET and a non-JSON body leave no body in the log."""
    await mosaic.get("/whoami")
    await mosaic.post("/credits/settings", content=b"enabled=1", headers={"Content-Type": "text/plain"})
    assert [r.body for r in sandbox.requests.records] == [None, None]


async def test_long_body_is_cut_and_marked(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """Only the first MAX_BODY bytes are kept; reading a cut body as JSON is refused, not guessed."""
    await mosaic.post(f"/agent/{seed.CAPTIONS_AGENT_ID}/run", json={"video_urls": ["u" * (2 * MAX_BODY)]})
    (record,) = sandbox.requests.records
    assert record.body is not None and len(record.body) == MAX_BODY
    assert record.body_truncated
    with pytest.raises(ValueError, match="longer than"):
        record.json()


async def test_authorization_is_never_recorded(sandbox: Sandbox, mosaic: httpx2.AsyncClient) -> None:
    """The key in the Authorization header appears nowhere in the log, bodies included."""
    await mosaic.post("/plan/upgrade", json={"plan_id": "creator"})
    (record,) = sandbox.requests.records
    assert record.authorization
    assert "mk_" not in repr(record) and b"mk_" not in (record.body or b"")
