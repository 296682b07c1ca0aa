"""`mosaic-mcp serve --http`: Streamable HTTP, loopback by default, bearer token elsewhere.

Binding anything but loopback without MOSAIC_MCP_HTTP_TOKEN is refused in `token` mode: an open
endpoint would let anyone on the network spend the key owner's credits. The token is compared in
constant time on every request. In `keys` mode each request to /mcp carries its person's own keys
(`X-Mosaic-Api-Key` / `X-Motion-Api-Key`), `PersonGate` resolves the person and sets
`people.current_person` for the request; keys and oauth mode refuse to start without
MOSAIC_MCP_SECRET_KEY, which seals the keys the poller needs at rest. With MOSAIC_MCP_DATABASE_URL (replicas
sharing PostgreSQL) the SDK app is stateless and 2025-era sessions live in the database (server/sessions.py).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import sys
from urllib.parse import urlsplit

from mcp.server.transport_security import TransportSecuritySettings
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .app import MosaicServer
from .config import REMOTE_NEEDS_SEAL, ConfigurationError, Settings, key_problem
from .people import Person, PersonResolver, current_person
from .sessions import SessionDirectory, SessionLayer, install, sdk_security
from .webhooks import WEBHOOK_PATH, warn_if_unsigned

log = logging.getLogger("mosaic_mcp.http")

SESSION_IDLE_SECONDS = 6 * 3600.0


class BearerTokenGate:
    """ASGI middleware: every HTTP request must carry `Authorization: Bearer <token>`.

    Except the health check and Mosaic's webhook deliveries, which cannot carry our token: they
    are checked by their own X-Mosaic-Signature and never trusted as state (server/webhooks.py).
    """

    OPEN_PATHS = frozenset({"/healthz", "/readyz", WEBHOOK_PATH})

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


MCP_PATH = "/mcp"
MOSAIC_KEY_HEADER = "x-mosaic-api-key"
MOTION_KEY_HEADER = "x-motion-api-key"


KEYS_WANTED = (
    "this server serves each person with their own keys: send X-Mosaic-Api-Key and/or X-Motion-Api-Key "
    "with every request (your keys from the Mosaic and Motion dashboards)"
)


class KeysRejected(Exception):
    """A request's key headers cannot be used; the message names the header and the rule, never the value."""


async def person_from_key_headers(request: Request) -> Person | None:
    """`keys` mode: the person whose keys the request carries; None when it carries none.

    The person's id is a hash of the keys: the same keys are the same person, across restarts.
    Raises KeysRejected for a header that does not hold a usable key.
    """
    keys: dict[str, SecretStr | None] = {}
    for header, variable in ((MOSAIC_KEY_HEADER, "MOSAIC_API_KEY"), (MOTION_KEY_HEADER, "MOTION_API_KEY")):
        value = (request.headers.get(header) or "").strip()
        problem = key_problem(variable, value) if value else None
        if problem is not None:
            raise KeysRejected(f"{_header_name(header)} {problem}")
        keys[header] = SecretStr(value) if value else None
    mosaic, motion = keys[MOSAIC_KEY_HEADER], keys[MOTION_KEY_HEADER]
    if mosaic is None and motion is None:
        return None
    both = "\0".join(k.get_secret_value() if k is not None else "" for k in (mosaic, motion))
    return Person(f"keys:{hashlib.sha256(both.encode()).hexdigest()[:24]}", mosaic, motion)


def _header_name(header: str) -> str:
    """`x-mosaic-api-key` → `X-Mosaic-Api-Key`, as the messages name it."""
    return "-".join(part.capitalize() for part in header.split("-"))


class PersonGate:
    """ASGI middleware of the remote modes: every request to /mcp acts for a person, or gets 401.

    The person is resolved (`resolver`), their keys are sealed at rest for the poller
    (`People.remember`), and `current_person` is set for the rest of the request, which the SDK
    carries into the handlers. Other paths (health, readiness, webhooks, sign-in pages) pass through.
    """

    def __init__(
        self,
        app: ASGIApp,
        server: MosaicServer,
        resolver: PersonResolver,
        *,
        challenge: str,
        detail: str = KEYS_WANTED,
    ) -> None:
        self.app = app
        self.server = server
        self.resolver = resolver
        self.challenge = challenge
        """The `WWW-Authenticate` value of a 401 (oauth mode: the resource metadata's address)."""
        self.detail = detail
        """What a request acting for nobody is told."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path") or "")
        if scope["type"] != "http" or not (path == MCP_PATH or path.startswith(MCP_PATH + "/")):
            await self.app(scope, receive, send)
            return
        try:
            person = await self.resolver(Request(scope))
        except KeysRejected as exc:
            await _unauthorized(send, str(exc), self.challenge)
            return
        if person is None:
            await _unauthorized(send, self.detail, self.challenge)
            return
        people = self.server.people
        if people is not None:
            await people.remember(person)
        token = current_person.set(person)
        try:
            await self.app(scope, receive, send)
        finally:
            current_person.reset(token)


async def _unauthorized(send: Send, detail: str, challenge: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [(b"content-type", b"application/json"), (b"www-authenticate", challenge.encode())],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps({"detail": detail}).encode()})


def register_readyz(server: MosaicServer, settings: Settings) -> None:
    """`GET /readyz`: 200 when the journal answers (and, in remote modes, the secret is set), else 503.

    The body also says which database the stores use (`sqlite` or `postgres`)."""
    if getattr(server, "_readyz_registered", False):
        return
    server._readyz_registered = True  # type: ignore[attr-defined]

    async def readyz(request: Request) -> Response:
        problems: list[str] = []
        if settings.remote and settings.secret_key is None:
            problems.append("MOSAIC_MCP_SECRET_KEY is not set")
        runtime = server.connections.any()
        if runtime is None:
            problems.append("the server is not serving yet")
        else:
            try:
                await runtime.jobs.journal.recent(limit=1, fingerprints=["readyz"])
            except Exception as exc:  # any failure means not ready; its class says enough
                problems.append(f"the job journal cannot be read ({type(exc).__name__})")
        database = "sqlite" if server.database is None else server.database.dialect
        body = {"ready": not problems, "problems": problems, "auth": settings.auth_mode, "database": database}
        return JSONResponse(body, status_code=503 if problems else 200)

    server.custom_route("/readyz", methods=["GET"])(readyz)


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


class RequestLine:
    """ASGI middleware: one INFO line per HTTP request, `<replica address> <METHOD> <path> <status>`.

    Behind a load balancer it shows which replica served what (`-v` shows INFO). Only the method, the path and
    the status: never a query string or a header, which may carry keys, tokens or sign-in codes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        bound = scope.get("server") or ("?", 0)

        async def noted(message: Message) -> None:
            if message["type"] == "http.response.start":
                log.info(
                    "%s:%s %s %s %s", bound[0], bound[1], scope.get("method"), scope.get("path"), message["status"]
                )
            await send(message)

        await self.app(scope, receive, noted)


def build_http_app(server: MosaicServer, settings: Settings, *, host: str) -> ASGIApp:
    """The Starlette app for `serve --http`, gated by the bearer token when one is set.

    In `keys` mode, by each person's keys (`PersonGate`); `oauth` mode is wired by its own module.
    """
    if settings.remote and settings.secret_key is None:
        raise ConfigurationError(REMOTE_NEEDS_SEAL.format(mode=settings.auth_mode))
    if settings.auth_mode == "token" and not is_loopback(host) and settings.http_token is None:
        raise ConfigurationError(
            f"refusing to serve HTTP on {host} without MOSAIC_MCP_HTTP_TOKEN: anyone who can reach it could "
            "spend your credits. Set MOSAIC_MCP_HTTP_TOKEN to a long random string, or bind 127.0.0.1."
        )
    register_readyz(server, settings)
    security = transport_security(settings, host)
    # Legacy (2025-era) sessions that subscribe and then wait through a long render must not be
    # dropped by the SDK's 30-minute idle default. Replicas sharing PostgreSQL keep them in the database
    # instead (server/sessions.py), in front of a stateless SDK app: any replica serves any request.
    cluster = server.database is not None
    app: ASGIApp = server.streamable_http_app(
        host=host, transport_security=security, session_idle_timeout=SESSION_IDLE_SECONDS, stateless_http=cluster
    )
    if server.database is not None and server.notifier is not None:
        install(server)
        directory = SessionDirectory(server.database, idle_seconds=SESSION_IDLE_SECONDS)
        app = SessionLayer(app, directory, server.notifier, path=MCP_PATH, security=sdk_security(server))
    app = SilentCancellation(app)
    if settings.auth_mode == "keys":
        app = PersonGate(app, server, person_from_key_headers, challenge='X-Mosaic-Api-Key realm="mosaic-mcp"')
    if settings.auth_mode == "oauth":  # the SDK's authorization server and bearer check (server/oauth/)
        if server.oauth is None:
            raise ConfigurationError("MOSAIC_MCP_AUTH=oauth: the server was built without its sign-in server")
        app = PersonGate(app, server, server.oauth.person, challenge=server.oauth.challenge, detail=server.oauth.detail)
    if settings.http_token is not None and settings.auth_mode != "oauth":
        app = BearerTokenGate(app, settings.http_token)
    return RequestLine(app)


def transport_security(settings: Settings, host: str) -> TransportSecuritySettings | None:
    """Host/Origin checks: the SDK's own on loopback; off it, the public URL's host and origin when one is set.

    Off loopback without MOSAIC_MCP_PUBLIC_URL the Host a proxy forwards cannot be known, so the checks are off
    (as before); with it, only requests for that host, from that origin or from no browser at all, are served.
    """
    if is_loopback(host):
        return None
    if settings.public_url is None:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    public = urlsplit(settings.public_url)
    origin = f"{public.scheme}://{public.netloc}"
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=[public.netloc], allowed_origins=[origin]
    )


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
