"""Tell subscribed clients that a job changed, in both protocol generations.

2026-07-28 clients listen on the SDK's subscription bus (`subscriptions/listen`); 2025-era clients
use `resources/subscribe`, which `MCPServer` does not serve, so we register that handler on the
low-level server (the SDK reference's documented workaround) and keep their connections here.

A 2025-era client is one *connection*, but the SDK hands every request its own `ServerSession`
proxy: keyed by the proxy, a client that made twenty requests heard every new job twenty times
and could never unsubscribe (the proxy of `resources/unsubscribe` is not the one that
subscribed). So connections are the key, each with the newest proxy to send through (they all
send on the connection's standalone channel), and each is forgotten when its connection closes.
Sending to a client that has gone is silently dropped by the SDK.

Subscribing to a URI the server does not serve is refused in both generations (`serves`).

Cluster mode (server/sessions.py) keeps 2025-era sessions in the database instead: a request of such a
session names it in `directory_session`, its subscriptions go to the `directory`, and the sessions' own
streams hear every change as `watchers` (each filters by the session's subscriptions).

Changes come in batches (`changed`: every job a poll cycle changed, plus the index once). The
2026-07-28 bus takes each event without waiting (the SDK buffers per listen stream). A 2025-era
connection gets its own outbox and sender task while `run` serves: a URI already waiting in an
outbox is not queued twice (coalesced), and a connection that reads slowly delays only itself,
never the poller or the other connections. Without `run` (tests, scripts) a batch is sent at once,
each connection's in parallel.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from typing import Any, Protocol

import anyio
import anyio.abc
from mcp.server import MCPServer, NotificationOptions, ServerRequestContext
from mcp.server.connection import Connection
from mcp.server.session import ServerSession
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ResourcesListChanged, ResourceUpdated
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INVALID_PARAMS,
    EmptyResult,
    SubscribeRequestParams,
    SubscriptionsListenRequestParams,
    SubscriptionsListenResult,
    UnsubscribeRequestParams,
)
from mcp.types.version import MODERN_PROTOCOL_VERSIONS

log = logging.getLogger("mosaic_mcp.notify")

MAX_SESSIONS = 256

Serves = Callable[[str], Awaitable[bool]]
"""Whether the server serves a resource URI (a subscription to anything else is refused)."""


async def _serves_anything(uri: str) -> bool:
    return True


directory_session: ContextVar[str | None] = ContextVar("mosaic_mcp_directory_session", default=None)
"""The database-backed 2025-era session the current request belongs to (cluster mode), else None."""


class SessionSubscriptions(Protocol):
    """Where database-backed sessions keep their subscriptions (server/sessions.py)."""

    async def subscribe(self, key: str, uri: str) -> None: ...

    async def unsubscribe(self, key: str, uri: str) -> None: ...


class Watcher(Protocol):
    """A local listener told of every change at once; it must not block (it queues)."""

    def updated(self, uris: list[str]) -> None: ...

    def list_changed(self) -> None: ...


class Notifier:
    """Fan-out of `resources/updated` and `resources/list_changed` to both generations."""

    def __init__(self) -> None:
        self.bus = InMemorySubscriptionBus()
        self._serves: Serves = _serves_anything
        self._subscribers: dict[str, set[Connection]] = {}
        # Insertion-ordered and capped: a connection that never closes cleanly must not pile up.
        self._sessions: dict[Connection, ServerSession] = {}
        self._outboxes: dict[Connection, dict[str, None]] = {}  # URIs waiting for each connection's sender
        self._senders: anyio.abc.TaskGroup | None = None
        self.directory: SessionSubscriptions | None = None
        """Cluster mode: the subscriptions of database-backed sessions."""
        self.watchers: set[Watcher] = set()
        """Cluster mode: the open streams of database-backed sessions."""

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Send 2025-era notifications in the background, one sender per connection, until cancelled."""
        try:
            async with anyio.create_task_group() as group:
                self._senders = group
                task_status.started()
                await anyio.sleep_forever()
        finally:
            self._senders = None
            self._outboxes.clear()

    def install(self, server: MCPServer[Any], serves: Serves | None = None) -> None:
        """Serve 2025-era `resources/subscribe`, check `subscriptions/listen` URIs, advertise `listChanged`."""
        if serves is not None:
            self._serves = serves
        low = server._lowlevel_server  # private, see module docstring; mcp is pinned to 2.3.x
        low.add_request_handler("resources/subscribe", SubscribeRequestParams, self._on_subscribe)
        low.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, self._on_unsubscribe)
        listen = ListenHandler(self.bus)  # the SDK's own handler, behind our URI check

        async def on_listen(
            ctx: ServerRequestContext[Any], params: SubscriptionsListenRequestParams
        ) -> SubscriptionsListenResult:
            for uri in params.notifications.resource_subscriptions or ():
                await self._check_served(uri)
            return await listen(ctx, params)

        low.add_request_handler("subscriptions/listen", SubscriptionsListenRequestParams, on_listen)
        build = low.create_initialization_options

        def with_list_changed(notification_options: NotificationOptions | None = None, *a: Any, **kw: Any) -> Any:
            options = notification_options or NotificationOptions(resources_changed=True)
            return build(options, *a, **kw)

        low.create_initialization_options = with_list_changed  # type: ignore[method-assign]

    async def _check_served(self, uri: str) -> None:
        if not await self._serves(uri):
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"uri: '{uri[:200]}' is not a resource this server serves; subscribe to mosaic://jobs "
                "or to a job's resource_uri (run_agent and create_video_session return it)",
                data={"uri": uri},
            )

    async def _on_subscribe(self, ctx: ServerRequestContext[Any], params: SubscribeRequestParams) -> EmptyResult:
        uri = str(params.uri)
        await self._check_served(uri)
        key = directory_session.get()
        if key is not None and self.directory is not None:
            await self.directory.subscribe(key, uri)
            return EmptyResult()
        connection = self.remember(ctx.session)
        if connection is not None:
            self._subscribers.setdefault(uri, set()).add(connection)
        return EmptyResult()

    async def _on_unsubscribe(self, ctx: ServerRequestContext[Any], params: UnsubscribeRequestParams) -> EmptyResult:
        key = directory_session.get()
        if key is not None and self.directory is not None:
            await self.directory.unsubscribe(key, str(params.uri))
            return EmptyResult()
        self._unsubscribe(str(params.uri), _connection_of(ctx.session))
        return EmptyResult()

    def _unsubscribe(self, uri: str, connection: Connection) -> None:
        connections = self._subscribers.get(uri)
        if connections is not None:
            connections.discard(connection)
            if not connections:
                del self._subscribers[uri]

    def remember(self, session: ServerSession) -> Connection | None:
        """Note the 2025-era connection of `session`: it hears about new jobs (list_changed) from now on.

        2026-07-28 requests are not remembered: they hear about changes only on a listen stream.
        """
        if session.protocol_version in MODERN_PROTOCOL_VERSIONS:
            return None
        connection = _connection_of(session)
        if connection not in self._sessions:
            connection.exit_stack.callback(self._forget, connection)
        self._sessions.pop(connection, None)
        self._sessions[connection] = session
        while len(self._sessions) > MAX_SESSIONS:
            self._forget(next(iter(self._sessions)))
        return connection

    def _forget(self, connection: Connection) -> None:
        """A closed (or evicted) connection hears nothing more."""
        self._sessions.pop(connection, None)
        self._outboxes.pop(connection, None)
        for uri in [u for u, subscribed in self._subscribers.items() if connection in subscribed]:
            self._unsubscribe(uri, connection)

    async def updated(self, uri: str) -> None:
        """A job resource changed."""
        await self.changed([uri])

    async def changed(self, uris: Iterable[str]) -> None:
        """These resources changed (each named once however often it is listed): tell their subscribers."""
        unique = list(dict.fromkeys(uris))
        for watcher in list(self.watchers):
            watcher.updated(unique)
        waiting: dict[Connection, list[str]] = {}
        for uri in unique:
            await self.bus.publish(ResourceUpdated(uri=uri))
            for connection in self._subscribers.get(uri, ()):
                waiting.setdefault(connection, []).append(uri)
        if self._senders is not None:
            for connection, pending in waiting.items():
                self._enqueue(self._senders, connection, pending)
            return
        async with anyio.create_task_group() as group:  # not running: send now, connections in parallel
            for connection, pending in waiting.items():
                group.start_soon(self._send_all, connection, pending)

    def _enqueue(self, group: anyio.abc.TaskGroup, connection: Connection, uris: list[str]) -> None:
        outbox = self._outboxes.get(connection)
        if outbox is None:
            outbox = self._outboxes[connection] = {}
            group.start_soon(self._drain, connection)
        outbox.update(dict.fromkeys(uris))

    async def _drain(self, connection: Connection) -> None:
        """Send a connection's outbox until it is empty (or the connection is forgotten)."""
        outbox = self._outboxes.get(connection)
        try:
            while outbox and self._outboxes.get(connection) is outbox:
                uri = next(iter(outbox))
                del outbox[uri]
                session = self._sessions.get(connection)
                if session is None:
                    return
                await _quietly(session.send_resource_updated(uri))
        finally:
            if self._outboxes.get(connection) is outbox:
                del self._outboxes[connection]

    async def _send_all(self, connection: Connection, uris: list[str]) -> None:
        for uri in uris:
            session = self._sessions.get(connection)
            if session is None:
                return
            await _quietly(session.send_resource_updated(uri))

    async def list_changed(self) -> None:
        """The set of job resources changed (a job was added): once to each listener and connection."""
        await self.bus.publish(ResourcesListChanged())
        for watcher in list(self.watchers):
            watcher.list_changed()
        for session in list(self._sessions.values()):
            await _quietly(session.send_resource_list_changed())


def _connection_of(session: ServerSession) -> Connection:
    """The connection behind a per-request session proxy (private in mcp 2.3, which is pinned)."""
    connection: Connection = session._connection
    return connection


async def _quietly(send: Any) -> None:
    try:
        await send
    except Exception:  # a gone client must never break the poller
        log.debug("notification to a closed session dropped", exc_info=True)
