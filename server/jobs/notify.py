"""Tell subscribed clients that a job changed, in both protocol generations.

2026-07-28 clients listen on the SDK's subscription bus (`subscriptions/listen`); 2025-era clients
use `resources/subscribe`, which `MCPServer` does not serve, so we register that handler on the
low-level server (the SDK reference's documented workaround) and keep their sessions here.
Sending to a session whose client has gone is silently dropped by the SDK.
"""

from __future__ import annotations

import logging
from typing import Any

from mcp.server import MCPServer, NotificationOptions, ServerRequestContext
from mcp.server.session import ServerSession
from mcp.server.subscriptions import InMemorySubscriptionBus, ResourcesListChanged, ResourceUpdated
from mcp.types import EmptyResult, SubscribeRequestParams, UnsubscribeRequestParams

log = logging.getLogger("mosaic_mcp.notify")

MAX_SESSIONS = 256


class Notifier:
    """Fan-out of `resources/updated` and `resources/list_changed` to both generations."""

    def __init__(self) -> None:
        self.bus = InMemorySubscriptionBus()
        self._subscribers: dict[str, set[ServerSession]] = {}
        # Insertion-ordered and capped: nothing tells us when a connection ends (SDK reference §2).
        self._sessions: dict[ServerSession, None] = {}

    def install(self, server: MCPServer[Any]) -> None:
        """Serve 2025-era `resources/subscribe` and advertise `listChanged` on `initialize`."""
        low = server._lowlevel_server  # private, see module docstring; mcp is pinned to 2.3.x
        low.add_request_handler("resources/subscribe", SubscribeRequestParams, self._on_subscribe)
        low.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, self._on_unsubscribe)
        build = low.create_initialization_options

        def with_list_changed(notification_options: NotificationOptions | None = None, *a: Any, **kw: Any) -> Any:
            options = notification_options or NotificationOptions(resources_changed=True)
            return build(options, *a, **kw)

        low.create_initialization_options = with_list_changed  # type: ignore[method-assign]

    async def _on_subscribe(self, ctx: ServerRequestContext[Any], params: SubscribeRequestParams) -> EmptyResult:
        self._subscribers.setdefault(str(params.uri), set()).add(ctx.session)
        self.remember(ctx.session)
        return EmptyResult()

    async def _on_unsubscribe(self, ctx: ServerRequestContext[Any], params: UnsubscribeRequestParams) -> EmptyResult:
        sessions = self._subscribers.get(str(params.uri))
        if sessions is not None:
            sessions.discard(ctx.session)
            if not sessions:
                del self._subscribers[str(params.uri)]
        return EmptyResult()

    def remember(self, session: ServerSession) -> None:
        """Note a 2025-era session that should hear about new jobs (list_changed)."""
        self._sessions.pop(session, None)
        self._sessions[session] = None
        while len(self._sessions) > MAX_SESSIONS:
            del self._sessions[next(iter(self._sessions))]

    async def updated(self, uri: str) -> None:
        """A job resource changed."""
        await self.bus.publish(ResourceUpdated(uri=uri))
        for session in list(self._subscribers.get(uri, ())):
            await _quietly(session.send_resource_updated(uri))

    async def list_changed(self) -> None:
        """A job was added to the list."""
        await self.bus.publish(ResourcesListChanged())
        for session in list(self._sessions):
            await _quietly(session.send_resource_list_changed())


async def _quietly(send: Any) -> None:
    try:
        await send
    except Exception:  # a gone client must never break the poller
        log.debug("notification to a closed session dropped", exc_info=True)
