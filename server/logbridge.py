"""The server's own log records as MCP `notifications/message`, at the level each client chose.

Every record of the `mosaic_mcp` loggers (upstream failures, retries, poller and journal trouble,
refused webhook deliveries) still goes to stderr exactly as before; a copy, scrubbed of keys
(`redact.scrub`) and without a traceback above `debug`, goes to the clients that asked for it:

* a 2025-era client (`initialize` handshake) asks with `logging/setLevel`; from then on it hears
  the records of its own requests (on that request's stream) and the records that belong to no
  request — the poller's and reconciler's of the runtime it is connected to, webhook deliveries —
  on its connection's standalone stream;
* a 2026-07-28 client opts in per request (`_meta["io.modelcontextprotocol/logLevel"]`, the SDK's
  `Client(log_level=…)`) and hears only the records of that request, on its stream: the protocol
  forbids `notifications/message` anywhere else and has no `logging/setLevel`.

Which session hears a record is decided by where the record was made: a middleware marks each
request (`_REQUEST`), each lifespan marks the tasks it starts (`_RUNTIME`, inherited by the poller
and the reconciler). When a client asks for records below the logger's own level, the `mosaic_mcp`
logger is lowered for as long as someone wants them, and records below the old level stop short
of stderr, so the console says what it said before.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Final, get_args
from weakref import WeakKeyDictionary

import anyio
import anyio.from_thread
import anyio.lowlevel
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server import MCPServer, ServerRequestContext
from mcp.server.connection import Connection, allowed_log_levels
from mcp.server.context import CallNext, HandlerResult
from mcp.server.session import ServerSession
from mcp.types import (
    EmptyResult,
    LoggingLevel,
    LoggingMessageNotification,
    LoggingMessageNotificationParams,
    RequestId,
    SetLevelRequestParams,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from . import redact
from .runtime import Runtime

ROOT_LOGGER = "mosaic_mcp"
LEVELS: Final[tuple[LoggingLevel, ...]] = get_args(LoggingLevel)
"""The MCP levels, least severe first (RFC 5424 order, as the SDK declares them)."""

PYTHON_LEVEL: Final[Mapping[LoggingLevel, int]] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "notice": logging.INFO + 5,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "alert": logging.CRITICAL,
    "emergency": logging.CRITICAL,
}
"""The least severe Python level each MCP level asks for (Python has no notice, alert, emergency)."""

QUEUE_SIZE = 256
"""Records waiting to be sent, per request or per runtime; more are dropped, never waited for."""


def mcp_level(levelno: int) -> LoggingLevel:
    """The MCP level of a Python record level."""
    if levelno < logging.INFO:
        return "debug"
    if levelno < logging.WARNING:
        return "info"
    if levelno < logging.ERROR:
        return "warning"
    if levelno < logging.CRITICAL:
        return "error"
    return "critical"


def at_or_above(level: LoggingLevel) -> frozenset[LoggingLevel]:
    """The levels a client that chose `level` hears."""
    return frozenset(LEVELS[LEVELS.index(level) :])


def message_params(record: logging.LogRecord) -> LoggingMessageNotificationParams:
    """What a client reads of a record: its scrubbed text; the scrubbed traceback only at debug."""
    text = redact.scrub(record.getMessage())
    level = mcp_level(record.levelno)
    if record.exc_info and record.exc_info[1] is not None:
        if level == "debug":
            trace = record.exc_text or logging.Formatter().formatException(record.exc_info)
            text = f"{text}\n{redact.scrub(trace)}"
        else:
            text = f"{text} ({type(record.exc_info[1]).__name__})"
    return LoggingMessageNotificationParams(level=level, logger=record.name, data=text)


# --------------------------------------------------------------------------- where records go


class _Outbox:
    """A bounded queue of messages, drained by one task that owns the sending."""

    def __init__(self) -> None:
        self._send: MemoryObjectSendStream[tuple[Any, LoggingMessageNotificationParams]]
        self._receive: MemoryObjectReceiveStream[tuple[Any, LoggingMessageNotificationParams]]
        self._send, self._receive = anyio.create_memory_object_stream(QUEUE_SIZE)
        self._token = anyio.lowlevel.current_token()
        self._thread = threading.get_ident()

    def put(self, target: Any, params: LoggingMessageNotificationParams) -> None:
        """Queue a message from any thread; drop it if the queue is full or closed."""
        with suppress(Exception):  # full, closed, or the loop is gone: a log copy is never worth a failure
            if threading.get_ident() == self._thread:
                self._send.send_nowait((target, params))
            else:  # a worker thread (anyio copies the context there): hand it to the event loop
                anyio.from_thread.run_sync(self._send.send_nowait, (target, params), token=self._token)

    def close(self) -> None:
        """No more messages; the drain sends what is queued and ends."""
        self._send.close()

    async def drain(self, deliver: Any) -> None:
        """Send each queued message with `deliver(target, params)` until closed."""
        async with self._receive:
            async for target, params in self._receive:
                with suppress(Exception):  # a gone client must never break the server
                    await deliver(target, params)


@dataclass
class _RequestRoute:
    """The records made while serving one request: sent on that request's stream."""

    session: ServerSession
    request_id: RequestId | None
    levels: frozenset[LoggingLevel]
    open: bool = True
    outbox: _Outbox | None = None

    def offer(self, record: logging.LogRecord) -> bool:
        """Send the record if this request hears its level; False once the request is over (a task
        it started outlives it), so that the record takes the background route."""
        if not self.open:
            return False
        if self.outbox is not None and mcp_level(record.levelno) in self.levels:
            self.outbox.put(None, message_params(record))
        return True

    async def deliver(self, _target: Any, params: LoggingMessageNotificationParams) -> None:
        notification = LoggingMessageNotification(params=params)
        await self.session.send_notification(notification, related_request_id=self.request_id)


@dataclass
class _RuntimeRoute:
    """The records of one lifespan that belong to no request: sent to the 2025-era connections of
    that runtime that chose a level, on their standalone streams."""

    bridge: LogBridge
    runtime_id: int
    outbox: _Outbox

    def offer(self, record: logging.LogRecord) -> None:
        level = mcp_level(record.levelno)
        targets = self.bridge.listeners(self.runtime_id, level)
        if targets:
            params = message_params(record)
            for connection in targets:
                self.outbox.put(connection, params)

    @staticmethod
    async def deliver(connection: Connection, params: LoggingMessageNotificationParams) -> None:
        await connection.notify("notifications/message", params.model_dump(mode="json", exclude_none=True))


_REQUEST: ContextVar[_RequestRoute | None] = ContextVar("mosaic_mcp_log_request", default=None)
_RUNTIME: ContextVar[_RuntimeRoute | None] = ContextVar("mosaic_mcp_log_runtime", default=None)


# --------------------------------------------------------------------------- the logging side


class _Tap(logging.Handler):
    """The one handler on the `mosaic_mcp` logger while any runtime serves (shared by all servers).

    It also owns the logger's level: `want`/`unwant` count the Python levels clients ask for; while
    the lowest is below what the logger lets through on its own, the logger is lowered and stops
    propagating, and this handler passes on to the parent's handlers (stderr) only what would have
    reached them anyway.
    """

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.routes: list[_RuntimeRoute] = []
        self._wanted: Counter[int] = Counter()
        self._saved: tuple[int, bool] | None = None  # the logger's own (level, propagate) while lowered
        self._busy = threading.local()

    @property
    def logger(self) -> logging.Logger:
        return logging.getLogger(ROOT_LOGGER)

    def attach(self, route: _RuntimeRoute) -> None:
        if not self.routes:
            self.logger.addHandler(self)
        self.routes.append(route)

    def detach(self, route: _RuntimeRoute) -> None:
        self.routes.remove(route)
        if not self.routes:
            self.logger.removeHandler(self)
            self._wanted.clear()
            self._retune()

    @contextmanager
    def wanting(self, levelno: int) -> Iterator[None]:
        """Let records of `levelno` and above be made for the duration of the block."""
        self.want(levelno)
        try:
            yield
        finally:
            self.unwant(levelno)

    def want(self, levelno: int) -> None:
        self._wanted[levelno] += 1
        self._retune()

    def unwant(self, levelno: int) -> None:
        self._wanted[levelno] -= 1
        if self._wanted[levelno] <= 0:
            del self._wanted[levelno]
        self._retune()

    def _own_level(self) -> int:
        """The level the logger has without us (its own, else its parent's)."""
        logger = self.logger
        level = self._saved[0] if self._saved is not None else logger.level
        return level or (logger.parent.getEffectiveLevel() if logger.parent else logging.WARNING)

    def _retune(self) -> None:
        logger = self.logger
        lowest = min(self._wanted, default=None)
        if lowest is not None and lowest < self._own_level():
            if self._saved is None:
                self._saved = (logger.level, logger.propagate)
            logger.setLevel(lowest)
            logger.propagate = False
        elif self._saved is not None:
            level, propagate = self._saved
            self._saved = None
            logger.setLevel(level)
            logger.propagate = propagate

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._busy, "on", False):  # a record made while routing one: stderr only
            self._to_stderr(record)
            return
        self._busy.on = True
        try:
            self._to_stderr(record)
            with suppress(Exception):  # a copy for clients must never break the code that logged
                self._route(record)
        finally:
            self._busy.on = False

    def _to_stderr(self, record: logging.LogRecord) -> None:
        """While the logger is lowered, pass on what its parent's handlers would have had."""
        if self._saved is None or not self._saved[1]:
            return  # propagation does it (or was off before we came)
        if record.levelno >= self._own_level() or _enabled_below_root(record):
            parent = self.logger.parent
            if parent is not None:
                parent.callHandlers(record)

    def _route(self, record: logging.LogRecord) -> None:
        request = _REQUEST.get()
        if request is not None and request.offer(record):
            return
        runtime = _RUNTIME.get()
        for route in [runtime] if runtime is not None else list(self.routes):
            route.offer(record)


def _enabled_below_root(record: logging.LogRecord) -> bool:
    """Whether a logger between the record's and `mosaic_mcp` has a level of its own (set by
    someone else, e.g. a test's `caplog.set_level`), so that it let the record through itself."""
    name = record.name
    while name.startswith(ROOT_LOGGER + "."):
        if logging.getLogger(name).level != logging.NOTSET:
            return True
        name = name.rpartition(".")[0]
    return False


_TAP = _Tap()
redact.install(_TAP)


# --------------------------------------------------------------------------- the MCP side


@dataclass
class _Listener:
    level: LoggingLevel
    runtime_id: int


@dataclass
class LogBridge:
    """`logging/setLevel` and the routes of one server's records to its clients."""

    _listeners: WeakKeyDictionary[Connection, _Listener] = field(default_factory=WeakKeyDictionary)

    def install(self, server: MCPServer[Runtime]) -> None:
        """Serve `logging/setLevel` (which advertises `logging`) and mark every request."""
        low = server._lowlevel_server  # private: MCPServer has no public hook for it; mcp is pinned to 2.3.x
        low.add_request_handler("logging/setLevel", SetLevelRequestParams, self._on_set_level)
        server.middleware.append(self._on_request)

    @asynccontextmanager
    async def serving(self, runtime: Runtime) -> AsyncIterator[None]:
        """For the life of one lifespan: records of the tasks started inside this block (poller,
        reconciler) go to this runtime's listeners."""
        route = _RuntimeRoute(self, id(runtime), _Outbox())
        _TAP.attach(route)
        token = _RUNTIME.set(route)
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(route.outbox.drain, route.deliver)
                try:
                    yield
                finally:
                    route.outbox.close()
        finally:
            _RUNTIME.reset(token)
            _TAP.detach(route)

    def listeners(self, runtime_id: int, level: LoggingLevel) -> list[Connection]:
        """The connections of this runtime that hear `level`."""
        return [
            connection
            for connection, listener in list(self._listeners.items())
            if listener.runtime_id == runtime_id and level in at_or_above(listener.level)
        ]

    async def _on_set_level(self, ctx: ServerRequestContext[Runtime], params: SetLevelRequestParams) -> EmptyResult:
        connection = _connection_of(ctx.session)
        before = self._listeners.get(connection)
        if before is None:  # forget this connection (and what it wanted) when it closes
            connection.exit_stack.callback(self._forget, connection)
        else:
            _TAP.unwant(PYTHON_LEVEL[before.level])
        self._listeners[connection] = _Listener(params.level, id(ctx.lifespan_context))
        _TAP.want(PYTHON_LEVEL[params.level])
        return EmptyResult()

    def _forget(self, connection: Connection) -> None:
        listener = self._listeners.pop(connection, None)
        if listener is not None:
            _TAP.unwant(PYTHON_LEVEL[listener.level])

    def _levels_for(self, ctx: ServerRequestContext[Any, Any]) -> frozenset[LoggingLevel]:
        """What this request hears: its own opt-in on 2026-07-28, its connection's level before."""
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:  # its `_meta` decides
            return allowed_log_levels(ctx.protocol_version, ctx.meta)
        listener = self._listeners.get(_connection_of(ctx.session))
        return at_or_above(listener.level) if listener is not None else frozenset()

    async def _on_request(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.request_id is None or ctx.method == "logging/setLevel":
            return await call_next(ctx)
        route = _RequestRoute(ctx.session, ctx.request_id, self._levels_for(ctx))
        token = _REQUEST.set(route)
        try:
            if not route.levels:  # nobody hears this request: its records go to no one else either
                return await call_next(ctx)
            return await self._with_outbox(route, call_next, ctx)
        finally:
            route.open = False
            _REQUEST.reset(token)

    async def _with_outbox(
        self, route: _RequestRoute, call_next: CallNext, ctx: ServerRequestContext[Any, Any]
    ) -> HandlerResult:
        """Run the request while its records are sent; every one is sent before the answer."""
        lowest = PYTHON_LEVEL[min(route.levels, key=LEVELS.index)]
        outcome: HandlerResult = None
        failure: Exception | None = None
        with _TAP.wanting(lowest):
            async with anyio.create_task_group() as tasks:
                route.outbox = outbox = _Outbox()
                tasks.start_soon(outbox.drain, route.deliver)
                try:
                    outcome = await call_next(ctx)
                except Exception as exc:  # re-raised below, outside the task group, unwrapped
                    failure = exc
                finally:
                    outbox.close()
            route.outbox = None
        if failure is not None:
            raise failure
        return outcome


def _connection_of(session: ServerSession) -> Connection:
    """The connection a per-request session belongs to (the SDK keeps it private)."""
    connection: Connection = session._connection  # mcp is pinned to 2.3.x; the proxy is per request
    return connection
