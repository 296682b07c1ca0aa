"""Webhooks (HTTP mode): Mosaic tells us when a run changes, so it need not wait for the next poll.

With MOSAIC_MCP_PUBLIC_URL set, runs started through this server carry a `callback_url` to its own
`POST /webhooks/mosaic` (unless the caller gave one). A delivery only makes the poller look at that
run now: its payload is never trusted as state — the run is re-read from the API — so a forged
call costs at most one GET. With MOSAIC_WEBHOOK_SECRET set, a delivery must carry it as
`X-Mosaic-Signature` (the documented plain-secret header, compared in constant time).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING

from mcp.server import MCPServer
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import __version__
from .api.requests import RunRequest
from .config import Settings

if TYPE_CHECKING:
    from .app import Runtime

WEBHOOK_PATH = "/webhooks/mosaic"


def with_callback(request: RunRequest, settings: Settings) -> RunRequest:
    """The run request, pointed at this server's webhook when it has a public URL and none was given."""
    if settings.public_url is None or request.callback_url:
        return request
    return request.model_copy(update={"callback_url": settings.public_url.rstrip("/") + WEBHOOK_PATH})


def register_http_routes(app: MCPServer[Runtime], settings: Settings, runtime: Callable[[], Runtime | None]) -> None:
    """`GET /healthz` and `POST /webhooks/mosaic` on the Streamable HTTP app."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True, "version": __version__})

    async def mosaic_webhook(request: Request) -> Response:
        secret = settings.webhook_secret
        if secret is not None:
            given = request.headers.get("X-Mosaic-Signature", "")
            if not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
                return JSONResponse({"detail": "bad signature"}, status_code=401)
        try:
            payload = await request.json()
            run_id = str(payload["run_id"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"detail": "expected a JSON body with run_id"}, status_code=400)
        rt = runtime()
        if rt is not None and await rt.jobs.journal.get(run_id) is not None:
            rt.jobs.poller.wake(run_id)
        return JSONResponse({"ok": True})

    # Called, not used as decorators: the SDK's decorator is untyped.
    app.custom_route("/healthz", methods=["GET"])(healthz)
    app.custom_route(WEBHOOK_PATH, methods=["POST"])(mosaic_webhook)
