"""`mosaic-mcp serve --http`: Streamable HTTP, loopback by default, bearer token elsewhere.

Binding anything but loopback without MOSAIC_MCP_HTTP_TOKEN is refused: an open endpoint would
let anyone on the network spend the key owner's credits. The token is compared in constant time
on every request.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import sys

from mcp.server.transport_security import TransportSecuritySettings
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from .app import MosaicServer
from .config import ConfigurationError, Settings
from .webhooks import WEBHOOK_PATH, warn_if_unsigned

log = logging.getLogger("mosaic_mcp.http")

SESSION_IDLE_SECONDS = 6 * 3600.0


class BearerTokenGate:
    """ASGI middleware: every HTTP request must carry `Authorization: Bearer <token>`.

    Except the health check and Mosaic's webhook deliveries, which cannot carry our token: they
    are checked by their own X-Mosaic-Signature and never trusted as state (server/webhooks.py).
    """

    OPEN_PATHS = frozenset({"/healthz", WEBHOOK_PATH})

    def __init__(self, app: ASGIApp, token: SecretStr) -> None:
        self.app = app
        self._expected = f"Bearer {token.get_secret_value()}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") not in self.OPEN_PATHS:
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
                    }
                )
                await send({"type": "http.response.body", "body": b'{"detail": "missing or wrong bearer token"}'})
                return
        await self.app(scope, receive, send)


def build_http_app(server: MosaicServer, settings: Settings, *, host: str) -> ASGIApp:
    """The Starlette app for `serve --http`, gated by the bearer token when one is set."""
    if not is_loopback(host) and settings.http_token is None:
        raise ConfigurationError(
            f"refusing to serve HTTP on {host} without MOSAIC_MCP_HTTP_TOKEN: anyone who can reach it could "
            "spend your credits. Set MOSAIC_MCP_HTTP_TOKEN to a long random string, or bind 127.0.0.1."
        )
    security = None if is_loopback(host) else TransportSecuritySettings(enable_dns_rebinding_protection=False)
    # Legacy (2025-era) sessions that subscribe and then wait through a long render must not be
    # dropped by the SDK's 30-minute idle default.
    app: ASGIApp = server.streamable_http_app(
        host=host, transport_security=security, session_idle_timeout=SESSION_IDLE_SECONDS
    )
    if settings.http_token is not None:
        app = BearerTokenGate(app, settings.http_token)
    return app


def serve_http(server: MosaicServer, settings: Settings, *, host: str, port: int) -> int:
    """Serve Streamable HTTP until interrupted."""
    import uvicorn  # third-party, needed by `serve --http` only: kept off the stdio start-up path

    app = build_http_app(server, settings, host=host)
    print(f"mosaic-mcp: Streamable HTTP on http://{host}:{port}/mcp", file=sys.stderr)
    warn_if_unsigned(settings)
    # log_config=None: uvicorn logs through our handlers, whose filter keeps keys out (see cli.py).
    uvicorn.run(app, host=host, port=port, log_level="warning", log_config=None)
    return 0


def is_loopback(host: str) -> bool:
    """Whether a bind address only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
