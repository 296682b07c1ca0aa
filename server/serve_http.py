"""`mosaic-mcp serve --http`: Streamable HTTP, loopback by default, bearer token elsewhere.

Binding anything but loopback without MOSAIC_MCP_HTTP_TOKEN is refused: an open endpoint would
let anyone on the network spend the key owner's credits. The token is compared in constant time
on every request.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import sys

from mcp.server.transport_security import TransportSecuritySettings
from pydantic import SecretStr
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .app import MosaicServer
from .config import ConfigurationError, Settings
from .people import PersonResolver, current_person
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


REQUEST_CANCELLED = b"-32800"
"""The code `mcp` 2.3 answers a cancelled 2025-era request with over Streamable HTTP."""


class SilentCancellation:
    """ASGI middleware: a request the client cancelled gets no response, as the MCP spec says.

    On the 2025-era Streamable HTTP wire, `mcp` 2.3 ends a cancelled request's SSE stream with a
    JSON-RPC error for its id (`-32800 Request cancelled`, `_terminate_unanswered_request`), which
    strict clients report as a response for an unknown id. Here that one event is blanked, and the
    stream still ends as the SDK ends it. Nothing else is touched: other events, JSON responses
    (this server's HTTP app streams SSE) and every non-MCP route pass through unchanged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        streaming = False

        async def silenced(message: Message) -> None:
            nonlocal streaming
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers") or []).get(b"content-type", b"")
                streaming = content_type.startswith(b"text/event-stream")
            elif streaming and message["type"] == "http.response.body" and _answers_a_cancel(message.get("body", b"")):
                message = {**message, "body": b""}  # keeps `more_body`: the stream ends where it ended
            await send(message)

        await self.app(scope, receive, silenced)


def _answers_a_cancel(body: bytes) -> bool:
    """Whether an SSE chunk is exactly one event carrying the SDK's `-32800` answer to a cancelled request."""
    if REQUEST_CANCELLED not in body:
        return False
    events = [e for e in body.replace(b"\r\n", b"\n").split(b"\n\n") if e.strip()]
    if len(events) != 1:
        return False
    data = b"\n".join(line[5:].lstrip() for line in events[0].split(b"\n") if line.startswith(b"data:"))
    try:
        message = json.loads(data)
    except ValueError:
        return False
    error = message.get("error") if isinstance(message, dict) else None
    return isinstance(error, dict) and error.get("code") == -32800 and "id" in message and "result" not in message


class PersonContext:
    """ASGI middleware: resolve each HTTP request's person and set `current_person` while it is served.

    The SDK carries the contextvars of the request that sent a message into its handler, so a tool
    call reads the person of the request that made it (`people.person_of_request`).
    """

    def __init__(self, app: ASGIApp, resolve: PersonResolver) -> None:
        self.app = app
        self.resolve = resolve

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        person = await self.resolve(Request(scope))
        token = current_person.set(person)
        try:
            await self.app(scope, receive, send)
        finally:
            current_person.reset(token)


def build_http_app(server: MosaicServer, settings: Settings, *, host: str) -> ASGIApp:
    """The Starlette app for `serve --http`, gated by the bearer token when one is set."""
    if settings.auth_mode == "oauth":
        return _oauth_app(server, host=host)
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
    app = SilentCancellation(app)
    if settings.http_token is not None:
        app = BearerTokenGate(app, settings.http_token)
    return app


def _oauth_app(server: MosaicServer, *, host: str) -> ASGIApp:
    """MOSAIC_MCP_AUTH=oauth: the SDK's authorization server and bearer check, the sign-in pages, each person."""
    if server.oauth is None:
        raise ConfigurationError("MOSAIC_MCP_AUTH=oauth: the server was built without its sign-in server")
    security = None if is_loopback(host) else TransportSecuritySettings(enable_dns_rebinding_protection=False)
    app: ASGIApp = server.streamable_http_app(
        host=host, transport_security=security, session_idle_timeout=SESSION_IDLE_SECONDS
    )
    return PersonContext(SilentCancellation(app), server.oauth.person)


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
