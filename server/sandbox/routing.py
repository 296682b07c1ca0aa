"""Request helpers shared by the route modules: auth, JSON bodies, pagination, responses."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse

from . import seed
from .clock import parse_iso
from .errors import ApiError, bad_request, mosaic_error, motion_error
from .sandbox import Sandbox

T = TypeVar("T")
SortKey = tuple[float, str]
MAX_JSON_BYTES = 2 * 1024 * 1024


def sandbox_of(request: Request) -> Sandbox:
    """The sandbox serving this request."""
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def mosaic_auth(request: Request) -> Sandbox:
    """Check ``Bearer mk_...`` (401) and ``X-Workspace-Id`` (403); return the sandbox."""
    sandbox = sandbox_of(request)
    token = _bearer(request)
    if token is None:
        raise mosaic_error(401, "Missing API key: send Authorization: Bearer mk_...")
    if not token.startswith("mk_") or len(token) < 4 or token in sandbox.revoked_keys:
        raise mosaic_error(401, "Invalid API key")
    workspace = request.headers.get("x-workspace-id")
    if workspace is not None and workspace not in seed.WORKSPACE_IDS:
        raise mosaic_error(403, f"Workspace {workspace} is not part of this API key's organization")
    query_workspace = request.query_params.get("workspace_id")
    if workspace and query_workspace and query_workspace != workspace:
        raise bad_request("workspace_id query parameter must match the X-Workspace-Id header")
    return sandbox


def motion_auth(request: Request) -> tuple[Sandbox, str]:
    """Check ``Bearer motion_...`` (401 JSON); return the sandbox and the key's owner label."""
    sandbox = sandbox_of(request)
    token = _bearer(request)
    if token is None or not token.startswith("motion_") or len(token) < 8 or token in sandbox.revoked_keys:
        raise motion_error(401, "unauthorized", "Missing or invalid API key: send Authorization: Bearer motion_...")
    return sandbox, sandbox.motion_owner(token)


async def json_body(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The JSON object body (400 if absent / not JSON / not an object; 413 if huge)."""
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_JSON_BYTES:
            raise mosaic_error(413, "Request body too large")
    if not raw.strip():
        if optional:
            return {}
        raise bad_request("A JSON request body is required")
    try:
        body = json.loads(raw)
    except ValueError:
        raise bad_request("Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object")
    return body


async def motion_json(request: Request) -> Any:
    """The raw JSON body for Motion (validated later into ``details``); 400 if not JSON."""
    raw = await request.body()
    try:
        return json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise ApiError(
            400,
            {
                "error": "Invalid request",
                "details": [{"code": "invalid_json", "message": "Body is not valid JSON", "path": []}],
            },
        ) from None


def ok(data: Any, status: int = 200) -> JSONResponse:
    """A JSON response."""
    return JSONResponse(data, status_code=status)


def query_limit(request: Request, default: int = 25, maximum: int = 100) -> int:
    """``limit`` in 1..maximum (422 ``parameter_out_of_range`` otherwise)."""
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise mosaic_error(422, f"limit must be an integer between 1 and {maximum}") from None
    if not 1 <= value <= maximum:
        raise mosaic_error(422, f"limit must be between 1 and {maximum}, got {value}")
    return value


def query_time(request: Request, name: str) -> float | None:
    """An ISO-8601 query parameter as epoch seconds (400 if unparsable)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        raise bad_request(f"{name} must be an ISO-8601 date or datetime") from None


def _encode_cursor(key: SortKey) -> str:
    return base64.urlsafe_b64encode(json.dumps([key[0], key[1]]).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> SortKey:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        first, second = json.loads(raw)
        return float(first), str(second)
    except (ValueError, TypeError, binascii.Error):
        raise bad_request("Invalid cursor: pass next_cursor from the previous page verbatim") from None


def paginate(
    request: Request, items: Sequence[T], key: Callable[[T], SortKey], default: int = 25
) -> tuple[list[T], str | None]:
    """One page of ``items`` (already sorted by ``key`` descending) and the next cursor or None."""
    limit = query_limit(request, default)
    cursor = request.query_params.get("cursor")
    remaining = list(items)
    if cursor:
        after = _decode_cursor(cursor)
        remaining = [item for item in remaining if key(item) < after]
    page = remaining[:limit]
    next_cursor = _encode_cursor(key(page[-1])) if len(remaining) > limit else None
    return page, next_cursor
