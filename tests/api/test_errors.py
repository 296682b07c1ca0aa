"""Error mapping: every failure becomes its own class with a message saying what to do."""

from __future__ import annotations

import socket
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr

from mosaic_mcp.server.api import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InsufficientCreditsError,
    InvalidResponseError,
    MissingKeyError,
    MosaicClient,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitedError,
    RecordingSleep,
    RetryPolicy,
    RunRequest,
    ServerError,
)
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, seed

from ..support import transport

pytestmark = pytest.mark.anyio

FAULTS: list[tuple[dict[str, Any], type[APIError], str]] = [
    ({"kind": "status", "status": 400}, BadRequestError, "fix the named field"),
    ({"kind": "status", "status": 402}, InsufficientCreditsError, "upgrade or buy credits"),
    ({"kind": "status", "status": 403}, PermissionDeniedError, "scope or plan"),
    ({"kind": "status", "status": 404}, NotFoundError, "check the id"),
    ({"kind": "status", "status": 409}, ConflictError, "not in a state"),
    ({"kind": "status", "status": 413}, PayloadTooLargeError, "smaller file"),
    ({"kind": "rate_limit", "times": 10, "retry_after": 3}, RateLimitedError, "wait a little"),
    ({"kind": "server_error", "times": 10}, ServerError, "try again in a minute"),
    ({"kind": "status", "status": 503, "times": 10}, ServerError, "try again in a minute"),
    ({"kind": "malformed", "times": 10}, InvalidResponseError, "not valid JSON"),
    ({"kind": "drop", "times": 10}, APIConnectionError, "check the network"),
]


@pytest.mark.parametrize(("fault", "error", "advice"), FAULTS, ids=lambda v: str(v)[:30])
async def test_fault_maps_to_error_class(
    mosaic: MosaicClient, sandbox: Sandbox, fault: dict[str, Any], error: type[APIError], advice: str
) -> None:
    """Each injected fault raises its own error class, and the message says what to do."""
    sandbox.faults.inject(method="GET", path="/credits", **fault)
    with pytest.raises(error) as caught:
        await mosaic.get_credits()
    assert advice in str(caught.value)
    assert caught.value.service == "Mosaic"


async def test_rate_limited_carries_retry_after(mosaic: MosaicClient, sandbox: Sandbox) -> None:
    """A 429 that outlasts the retries keeps the server's Retry-After on the error."""
    sandbox.faults.inject("rate_limit", method="GET", path="/credits", times=10, retry_after=4)
    with pytest.raises(RateLimitedError) as caught:
        await mosaic.get_credits()
    assert caught.value.retry_after == 4
    assert caught.value.status_code == 429


async def test_real_400_names_the_problem(mosaic: MosaicClient) -> None:
    """The service's own 400 detail (here: an unknown update_params key) reaches the message."""
    request = RunRequest(video_ids=[seed.VIDEO_IDS[0]], update_params={"not-a-node": {"x": 1}})
    with pytest.raises(BadRequestError) as caught:
        await mosaic.run_agent(seed.CAPTIONS_AGENT_ID, request)
    assert "not-a-node" in str(caught.value)
    assert caught.value.status_code == 400


async def test_401_points_at_the_variable(served: RunningSandbox, sandbox: Sandbox) -> None:
    """A rejected key is an AuthenticationError telling which variable to fix."""
    sandbox.revoke_key("mk_revoked_key")
    async with MosaicClient(
        transport=transport(), api_key=SecretStr("mk_revoked_key"), base_url=served.mosaic_base_url
    ) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.whoami()
    assert "MOSAIC_API_KEY" in str(caught.value)
    assert caught.value.status_code == 401


async def test_403_for_a_foreign_workspace(served: RunningSandbox, sandbox: Sandbox) -> None:
    """X-Workspace-Id is sent; a workspace outside the organization is PermissionDeniedError."""
    async with MosaicClient(
        transport=transport(), api_key=SecretStr("mk_test"), base_url=served.mosaic_base_url, workspace_id="not-ours"
    ) as client:
        with pytest.raises(PermissionDeniedError):
            await client.whoami()
    async with MosaicClient(
        transport=transport(),
        api_key=SecretStr("mk_test"),
        base_url=served.mosaic_base_url,
        workspace_id=seed.WORKSPACE_ID,
    ) as client:
        assert (await client.whoami()).organization_id == seed.ORGANIZATION_ID


async def test_404_for_an_unknown_agent(mosaic: MosaicClient) -> None:
    """An unknown id is a NotFoundError carrying the service's detail."""
    with pytest.raises(NotFoundError) as caught:
        await mosaic.get_agent("00000000-0000-4000-8000-000000000000")
    assert "not found" in caught.value.detail.lower()


async def test_timeout(served: RunningSandbox, sandbox: Sandbox) -> None:
    """No answer within the time-out is an APITimeoutError."""
    sandbox.faults.inject("latency", method="GET", path="/whoami", delay=0.5)
    async with MosaicClient(
        transport=transport(),
        api_key=SecretStr("mk_test"),
        base_url=served.mosaic_base_url,
        timeout=httpx2.Timeout(0.05),
        retry=RetryPolicy(attempts=1, sleep=RecordingSleep()),
    ) as client:
        with pytest.raises(APITimeoutError, match="did not answer"):
            await client.whoami()


async def test_connection_refused() -> None:
    """A closed port is an APIConnectionError that points at the network or base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    retry = RetryPolicy(sleep=RecordingSleep())
    async with MosaicClient(
        transport=transport(), api_key=SecretStr("mk_test"), base_url=f"http://127.0.0.1:{port}", retry=retry
    ) as client:
        with pytest.raises(APIConnectionError, match="base URL"):
            await client.whoami()


async def test_missing_key(served: RunningSandbox, sandbox: Sandbox) -> None:
    """No key configured raises MissingKeyError before any request."""
    async with MosaicClient(transport=transport(), api_key=None, base_url=served.mosaic_base_url) as client:
        with pytest.raises(MissingKeyError, match="MOSAIC_API_KEY"):
            await client.whoami()
    assert len(sandbox.requests) == 0


@pytest.mark.parametrize(
    ("status", "said", "advice"),
    [
        (414, "URI Too Long)", "URL is too long"),
        (431, "(Request Header Fields Too Large)", "check MOSAIC_API_KEY and MOSAIC_WORKSPACE_ID"),
        (405, "(Method Not Allowed)", "please report it"),
        (410, "(Gone)", "list the objects again"),
        (418, "(I'm a Teapot)", "without a more specific reason"),
        (302, "(Found)", "check MOSAIC_API_BASE_URL"),
    ],
)
async def test_status_without_a_class_says_what_to_do(
    mosaic: MosaicClient, sandbox: Sandbox, status: int, said: str, advice: str
) -> None:
    """A status without its own error class (414, 431, other 4xx, a redirect) says what happened and what to do."""
    sandbox.faults.inject("status", status=status, body="", method="GET", path="/credits")
    with pytest.raises(APIError) as caught:
        await mosaic.get_credits()
    message = str(caught.value)
    assert f"answered {status} (" in message and f"{said} to GET /credits" in message
    assert advice in message
    assert "check the request and try again" not in message
