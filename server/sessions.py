"""Cluster mode's 2025-era HTTP sessions: kept in the database, so any replica serves any request of a session.

The SDK keeps each `Mcp-Session-Id` in a dict of the process that minted it; behind a round-robin load
balancer the next request of the session lands on another replica and gets 404. With
MOSAIC_MCP_DATABASE_URL the SDK app is built stateless (each POST served by a throwaway, born-ready
connection) and `SessionLayer` sits in front of it for the 2025 leg (no `MCP-Protocol-Version` header, or
a handshake version: the SDK's own routing rule; 2026-07-28 requests are sessionless and pass untouched):

- `POST initialize` without a session id is served by the SDK; when it succeeds a new, unguessable id is
  stored here (`SessionDirectory`: protocol version, client info and capabilities, owner, times) and added
  to the response as `Mcp-Session-Id`.
- Any other request must name a session this database knows, unexpired and owned by the request's person
  (remote modes), else 404 "Session not found" exactly as the SDK answers. A known session's POST is
  served stateless with its negotiated version (the header) and its client capabilities (`SessionMiddleware`
  puts the stored ones on the throwaway connection, minus the ones needing a server→client request: there
  is no back-channel, so consent falls back to its `confirm` flow instead of a prompt that cannot arrive).
- `GET` opens this module's own SSE stream: `notifications/resources/updated` for the URIs the session
  subscribed to (read from the database, whichever replica took the subscription) and
  `notifications/resources/list_changed`, fed by the local `Notifier` (which hears the other replicas
  through the fan-out); a comment every 15 s keeps proxies from timing it out.
- `DELETE` removes the session and its subscriptions; later requests get 404.

Sessions idle for longer than `idle_seconds` (a request or an open stream counts as activity) expire.
Session ids are stored hashed: the database never holds the value a client presents.

mcp is pinned to 2.3.x: `SessionMiddleware` uses the low-level server's provisional `middleware` list and the
connection behind a request's session proxy (`session._connection`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from mcp.server import MCPServer
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from mcp.types import ClientCapabilities, Implementation, InitializeRequestParams
from mcp.types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION
from pydantic import BaseModel, ValidationError
from sse_starlette import EventSourceResponse
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .database import Database, Schema, Sql
from .jobs.notify import Notifier, directory_session
from .people import current_person

log = logging.getLogger("mosaic_mcp.sessions")
M = TypeVar("M", bound=BaseModel)

SESSION_HEADER = "mcp-session-id"
VERSION_HEADER = "mcp-protocol-version"
TOUCH_EVERY_SECONDS = 60.0
"""A session's last-seen time is written at most this often (not on every request)."""
KEEPALIVE_SECONDS = 15
MAX_OPENING_BODY = 4 * 1024 * 1024
"""The SDK's request body cap: an opening POST is read (to see whether it is `initialize`) up to this."""
NO_BACK_CHANNEL = ("elicitation", "sampling", "roots")
"""Client capabilities that need a server→client request, which a stateless POST cannot carry."""


def _create_tables(sql: Sql) -> None:
    real = "REAL" if sql.dialect == "sqlite" else "DOUBLE PRECISION"
    sql.execute(
        "CREATE TABLE IF NOT EXISTS mcp_sessions (session_key TEXT PRIMARY KEY, protocol_version TEXT NOT NULL, "
        f"client_info TEXT NOT NULL, capabilities TEXT NOT NULL, owner TEXT NOT NULL, created_at {real} NOT NULL, "
        f"last_seen {real} NOT NULL)"
    )
    sql.execute("CREATE INDEX IF NOT EXISTS mcp_sessions_last_seen ON mcp_sessions (last_seen)")
    sql.execute(
        "CREATE TABLE IF NOT EXISTS mcp_session_subscriptions (session_key TEXT NOT NULL, uri TEXT NOT NULL, "
        "PRIMARY KEY (session_key, uri))"
    )


SESSIONS_SCHEMA = Schema("sessions", sqlite=[_create_tables], postgres=[_create_tables])


@dataclass(frozen=True)
class SessionRecord:
    """A 2025-era session as the database keeps it (`key` is the hash of the id the client presents)."""

    key: str
    protocol_version: str
    client_info: dict[str, Any]
    capabilities: dict[str, Any]
    owner: str


def session_key(session_id: str) -> str:
    """What the database keeps of a session id."""
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionDirectory:
    """The sessions and their subscriptions, in the database every replica shares."""

    def __init__(self, database: Database, *, idle_seconds: float, clock: Callable[[], float] = time.time) -> None:
        self.database = database
        self.idle_seconds = idle_seconds
        self.clock = clock

    async def create(
        self, protocol_version: str, client_info: dict[str, Any], capabilities: dict[str, Any], owner: str
    ) -> str:
        """Store a new session; its id (shown once, to the client)."""
        session_id = secrets.token_urlsafe(32)
        now = self.clock()
        row = (session_key(session_id), protocol_version, json.dumps(client_info), json.dumps(capabilities), owner)

        def insert(sql: Sql) -> None:
            with sql.transaction():
                stale = now - self.idle_seconds
                sql.execute(
                    "DELETE FROM mcp_session_subscriptions WHERE session_key IN "
                    "(SELECT session_key FROM mcp_sessions WHERE last_seen < ?)",
                    (stale,),
                )
                sql.execute("DELETE FROM mcp_sessions WHERE last_seen < ?", (stale,))
                sql.execute(
                    "INSERT INTO mcp_sessions (session_key, protocol_version, client_info, capabilities, owner, "
                    "created_at, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (*row, now, now),
                )

        await self.database.run(insert)
        return session_id

    async def find(self, session_id: str) -> SessionRecord | None:
        """The live session with this id (its idle time restarts now), or None (unknown, deleted or expired)."""
        key = session_key(session_id)
        row = await self.database.run(lambda sql: self._live(sql, key, self.clock()))
        if row is None:
            return None
        return SessionRecord(key, str(row[0]), json.loads(row[1]), json.loads(row[2]), str(row[3]))

    def _live(self, sql: Sql, key: str, now: float) -> Any:
        """The session's row if it is live, its last-seen time moved to `now` (written at most once a minute)."""
        row = sql.execute(
            "SELECT protocol_version, client_info, capabilities, owner, last_seen FROM mcp_sessions "
            "WHERE session_key=? AND last_seen >= ?",
            (key, now - self.idle_seconds),
        ).fetchone()
        if row is not None and float(row[4]) < now - TOUCH_EVERY_SECONDS:
            sql.execute("UPDATE mcp_sessions SET last_seen=? WHERE session_key=?", (now, key))
        return row

    async def delete(self, key: str) -> None:
        """Forget a session and its subscriptions."""

        def remove(sql: Sql) -> None:
            with sql.transaction():
                sql.execute("DELETE FROM mcp_session_subscriptions WHERE session_key=?", (key,))
                sql.execute("DELETE FROM mcp_sessions WHERE session_key=?", (key,))

        await self.database.run(remove)

    async def exists(self, key: str) -> bool:
        """Whether the session is still live (its idle time restarts now)."""
        return await self.database.run(lambda sql: self._live(sql, key, self.clock()) is not None)

    async def subscribe(self, key: str, uri: str) -> None:
        """The session hears of `uri`'s changes from now on (on whichever replica holds its stream)."""
        await self.database.run(
            lambda sql: sql.execute(
                "INSERT INTO mcp_session_subscriptions (session_key, uri) VALUES (?, ?) "
                "ON CONFLICT (session_key, uri) DO NOTHING",
                (key, uri),
            )
        )

    async def unsubscribe(self, key: str, uri: str) -> None:
        """The session no longer hears of `uri`."""
        await self.database.run(
            lambda sql: sql.execute("DELETE FROM mcp_session_subscriptions WHERE session_key=? AND uri=?", (key, uri))
        )

    async def subscriptions(self, key: str) -> set[str]:
        """The URIs the session subscribed to."""
        rows = await self.database.run(
            lambda sql: sql.execute("SELECT uri FROM mcp_session_subscriptions WHERE session_key=?", (key,)).fetchall()
        )
        return {str(r[0]) for r in rows}


_current: ContextVar[SessionRecord | None] = ContextVar("mosaic_mcp_session", default=None)
"""The database-backed session a request belongs to (set by `SessionLayer`, read by `SessionMiddleware`)."""


def usable_capabilities(capabilities: dict[str, Any]) -> dict[str, Any]:
    """The declared capabilities a stateless request can honour: none that needs a server→client request."""
    return {name: value for name, value in capabilities.items() if name not in NO_BACK_CHANNEL}


class SessionMiddleware:
    """SDK middleware: a request of a stored session sees the session's client info and capabilities."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        record = _current.get()
        if record is not None:
            connection = ctx.session._connection  # private in mcp 2.3 (pinned): the throwaway connection
            capabilities = _valid(ClientCapabilities, usable_capabilities(record.capabilities))
            info = _valid(Implementation, record.client_info)
            if info is not None and capabilities is not None:
                connection.client_params = InitializeRequestParams(
                    protocol_version=record.protocol_version, capabilities=capabilities, client_info=info
                )
            else:  # a record the SDK would not have accepted: what can be read of it
                connection.client_capabilities = capabilities
        return await call_next(ctx)


def _valid(model: type[M], value: dict[str, Any]) -> M | None:
    """`value` as `model`, or None when it does not fit."""
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def install(server: MCPServer[Any]) -> None:
    """Let the SDK's stateless requests see their stored session (`SessionMiddleware`); once per server."""
    middleware = server._lowlevel_server.middleware
    if not any(isinstance(m, SessionMiddleware) for m in middleware):
        middleware.append(SessionMiddleware())


def sdk_security(server: MCPServer[Any]) -> TransportSecuritySettings | None:
    """The Host/Origin checks the SDK app was built with (its loopback default included), for our own answers."""
    manager = server._lowlevel_server._session_manager  # private in mcp 2.3 (pinned)
    return manager.security_settings if manager is not None else None


class SessionLayer:
    """ASGI layer in front of the stateless SDK app: 2025-era sessions from the database (module docstring).

    Built once per app; it points the notifier's `directory` at its session directory, where the subscriptions
    of database-backed sessions go."""

    def __init__(
        self,
        app: ASGIApp,
        directory: SessionDirectory,
        notifier: Notifier,
        *,
        path: str,
        security: TransportSecuritySettings | None,
    ) -> None:
        self.app = app
        self.directory = directory
        self.notifier = notifier
        self.path = path
        self.security = TransportSecurityMiddleware(security)
        notifier.directory = directory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path") or "").rstrip("/") != self.path:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        version = headers.get(VERSION_HEADER)
        if version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS:
            await self.app(scope, receive, send)  # 2026-07-28: sessionless already
            return
        session_id = headers.get(SESSION_HEADER)
        if session_id is None:
            await self._opening(scope, receive, send)
            return
        record = await self.directory.find(session_id)
        person = current_person.get()
        if record is None or record.owner != (person.id if person is not None else ""):
            await _error(send, 404, "Session not found")
            return
        method = scope["method"]
        if method in ("GET", "DELETE"):
            problem = await self.security.validate_request(Request(scope, receive), is_post=False)
            if problem is not None:
                await problem(scope, receive, send)
            elif method == "GET":
                await self._stream(record, scope, receive, send)
            else:
                await self.directory.delete(record.key)
                await Response(status_code=200)(scope, receive, send)
            return
        scope = _with_header(scope, VERSION_HEADER, record.protocol_version)
        session_token, key_token = _current.set(record), directory_session.set(record.key)
        try:
            await self.app(scope, receive, send)
        finally:
            directory_session.reset(key_token)
            _current.reset(session_token)

    async def _opening(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A request without a session id: only `POST initialize` may open one."""
        if scope["method"] != "POST":
            await _error(send, 400, "Bad Request: Missing session ID")
            return
        body, replay = await _read_body(receive)
        params = _initialize_params(body)
        if params is None:
            if len(body) > MAX_OPENING_BODY:  # the SDK answers 413
                await self.app(scope, replay, send)
            else:
                await _error(send, 400, "Bad Request: Missing session ID")
            return
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, replay, hold)  # small, and over once answered: held until the session is stored
        negotiated = _negotiated(held)
        if negotiated is not None:
            person = current_person.get()
            client_info = params.get("clientInfo")
            capabilities = params.get("capabilities")
            session_id = await self.directory.create(
                negotiated,
                client_info if isinstance(client_info, dict) else {},
                capabilities if isinstance(capabilities, dict) else {},
                person.id if person is not None else "",
            )
            start = held[0]
            held[0] = {**start, "headers": [*start.get("headers", []), (SESSION_HEADER.encode(), session_id.encode())]}
        for message in held:
            await send(message)

    async def _stream(self, record: SessionRecord, scope: Scope, receive: Receive, send: Send) -> None:
        """The session's standalone SSE stream: its subscriptions' updates and list changes, until it ends."""
        watcher = _Watcher()
        events = self._events(record.key, watcher)
        headers = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}
        response = EventSourceResponse(events, headers=headers, ping=KEEPALIVE_SECONDS)
        self.notifier.watchers.add(watcher)
        try:
            await response(scope, receive, send)
        finally:
            self.notifier.watchers.discard(watcher)

    async def _events(self, key: str, watcher: _Watcher) -> AsyncIterator[dict[str, str]]:
        """Notifications for the stream, checking every keep-alive period that the session still lives."""
        checked = anyio.current_time()
        while True:
            with anyio.move_on_after(KEEPALIVE_SECONDS):
                await watcher.arrived.wait()
            watcher.arrived = anyio.Event()
            if anyio.current_time() - checked >= KEEPALIVE_SECONDS:  # deleted elsewhere, or expired: the stream ends
                if not await self.directory.exists(key):
                    return
                checked = anyio.current_time()
            uris, listed = list(watcher.uris), watcher.listed
            watcher.uris.clear()
            watcher.listed = False
            if listed:
                yield _event("notifications/resources/list_changed", None)
            if uris:
                subscribed = await self.directory.subscriptions(key)
                for uri in uris:
                    if uri in subscribed:
                        yield _event("notifications/resources/updated", {"uri": uri})


class _Watcher:
    """What a stream has yet to send (coalesced: a URI waiting is not queued twice)."""

    def __init__(self) -> None:
        self.uris: dict[str, None] = {}
        self.listed = False
        self.arrived = anyio.Event()

    def updated(self, uris: list[str]) -> None:
        self.uris.update(dict.fromkeys(uris))
        self.arrived.set()

    def list_changed(self) -> None:
        self.listed = True
        self.arrived.set()


def _event(method: str, params: dict[str, Any] | None) -> dict[str, str]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    return {"event": "message", "data": json.dumps(message)}


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The request body (up to just past the cap), and a `receive` that replays it, then goes on."""
    chunks: list[Message] = []
    size = 0
    while size <= MAX_OPENING_BODY:
        message = await receive()
        chunks.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(m.get("body", b"") for m in chunks if m["type"] == "http.request")

    async def replay() -> Message:
        return chunks.pop(0) if chunks else await receive()

    return body, replay


def _initialize_params(body: bytes) -> dict[str, Any] | None:
    """The params of an `initialize` request (a dict), or None when the body is something else."""
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("method") != "initialize" or "id" not in message:
        return None
    params = message.get("params")
    return params if isinstance(params, dict) else {}


def _negotiated(held: list[Message]) -> str | None:
    """The protocol version a successful `initialize` answer (JSON or one SSE event) agreed on, else None."""
    if not held or held[0]["type"] != "http.response.start" or held[0]["status"] != 200:
        return None
    body = b"".join(m.get("body", b"") for m in held[1:] if m["type"] == "http.response.body")
    data = [line[5:].strip() for line in body.replace(b"\r\n", b"\n").split(b"\n") if line.startswith(b"data:")]
    for candidate in data or [body]:
        try:
            message = json.loads(candidate)
        except ValueError:
            continue
        result = message.get("result") if isinstance(message, dict) else None
        version = result.get("protocolVersion") if isinstance(result, dict) else None
        if isinstance(version, str):
            return version if version in HANDSHAKE_PROTOCOL_VERSIONS else LATEST_HANDSHAKE_VERSION
    return None


def _with_header(scope: Scope, name: str, value: str) -> Scope:
    """`scope` with header `name` set to `value` (replacing what the client sent)."""
    raw = name.encode()
    headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != raw]
    return {**scope, "headers": [*headers, (raw, value.encode())]}


async def _error(send: Send, status: int, message: str) -> None:
    """A JSON-RPC error without an id, as the SDK's session manager answers."""
    body = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})
