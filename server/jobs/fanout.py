"""Tell the other replicas what this one saw: job changes, new jobs and webhook wake-ups.

Several `serve --http` replicas share one PostgreSQL database; each polls some jobs (leases) and
serves any client. A change one replica observes must reach the subscribers and the `poll_job`
waiters connected to every other one, so each replica publishes small JSON messages on a
PostgreSQL channel (`LISTEN/NOTIFY`) and delivers what its peers publish to its own listeners.

Messages (`kind`), never with a key or a token, only job ids, resource URIs and poll scopes:

- `changed`: these jobs changed (each with its resource URI), and the jobs index with them;
- `added`: a job was started or adopted in a scope (peers announce `list_changed` when it is new,
  and the replica holding the scope's lease may follow it now: `on_job_added`);
- `wake`: a webhook delivery for a job arrived at a replica that does not poll it.

Each message names the replica that sent it (`replica`, random per process), and a replica ignores its own.
PostgreSQL caps a payload at 8000 bytes, so a batch is split into as many messages as it needs.

`Fanout` itself reaches nobody beyond this process (SQLite deployments: one process does
everything). `PostgresFanout` listens on its own connection, outside the pool, and publishes through
a second one (so a replica holds the pool's connections plus these two); when the listening
connection drops it reconnects with back-off and then tells the local listeners that anything may
have changed (`on_reset`), since messages sent meanwhile are lost: waiters re-read the journal,
subscribers are told the index changed. The channel is named after the connection's schema, so
deployments (or tests) in separate schemas of one database never hear each other.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc

from ..database import POSTGRES_EXTRA, DatabaseUnavailable, describe_url, is_postgres_url
from .snapshot import JOBS_INDEX_URI

if TYPE_CHECKING:  # the `postgres` extra; imported when a PostgreSQL URL is used
    import psycopg

log = logging.getLogger("mosaic_mcp.fanout")

MAX_PAYLOAD_BYTES = 7900
"""PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; a little room is kept."""
RECONNECT_FIRST_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 10
CHANNEL_PREFIX = "mosaic_mcp"

OnChanged = Callable[[list[str]], Awaitable[None]]
"""Resource URIs a peer changed (the jobs index included when it changed)."""
OnJobAdded = Callable[[str, str, bool], Awaitable[None]]
"""(scope, job_id, new): a peer started or adopted a job; `new` when the set of jobs grew."""
OnWake = Callable[[str], Awaitable[None]]
"""A webhook delivery for this job reached a peer that does not poll it."""
OnReset = Callable[[], Awaitable[None]]
"""Peers' messages may have been lost: anything may have changed."""


@dataclass(frozen=True)
class Change:
    """A job that changed, and its resource URI."""

    job_id: str
    uri: str


class Fanout:
    """Change fan-out within this process only: publishing reaches no peer (there is none).

    Listeners register on the hook lists; `watch` is for `poll_job` on a replica that does not
    poll the job itself.
    """

    def __init__(self, replica: str | None = None) -> None:
        self.replica = replica or uuid.uuid4().hex[:12]
        self.on_changed: list[OnChanged] = []
        self.on_job_added: list[OnJobAdded] = []
        self.on_wake: list[OnWake] = []
        self.on_reset: list[OnReset] = []
        self._watchers: dict[str, list[anyio.Event]] = {}
        self._tasks: anyio.abc.TaskGroup | None = None

    @property
    def reaches_peers(self) -> bool:
        """Whether what is published here reaches other replicas."""
        return False

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Deliver peers' messages until cancelled (here: there are none)."""
        task_status.started()

    async def aclose(self) -> None:
        """Release the connections (here: none)."""

    # ------------------------------------------------------------------ publishing

    async def changed(self, changes: Iterable[Change], *, index: bool = True) -> None:
        """These jobs changed (and, with `index`, the jobs index): tell the peers."""
        items = [[c.job_id, c.uri] for c in changes]
        if items or index:
            await self._publish("changed", items, index=index)

    async def job_added(self, scope: str, job_id: str, *, new: bool = True) -> None:
        """A job was started or adopted in `scope` (`new`: it was not journaled before): tell the peers."""
        await self._publish("added", [[scope, job_id, new]])

    async def wake(self, job_id: str) -> None:
        """A webhook delivery for `job_id` arrived here, and this replica does not poll it: tell the peers."""
        await self._publish("wake", [job_id])

    async def _publish(self, kind: str, items: list[Any], **extra: Any) -> None:
        if not self.reaches_peers:
            return
        try:
            await self._send(encode(self.replica, kind, items, **extra))
        except Exception as exc:  # fan-out is best effort: a start or a poll cycle must never fail for it
            log.warning("could not tell the other replicas about %s (%s)", kind, type(exc).__name__)
            log.debug("publishing %s failed", kind, exc_info=exc)

    async def _send(self, payloads: list[str]) -> None:
        """Send each payload to the peers."""

    # ------------------------------------------------------------------ waiting

    @contextmanager
    def watch(self, job_id: str) -> Iterator[anyio.Event]:
        """An event set when a peer reports a change of `job_id` (or anything may have changed)."""
        event = anyio.Event()
        self._watchers.setdefault(job_id, []).append(event)
        try:
            yield event
        finally:
            waiting = self._watchers.get(job_id, [])
            if event in waiting:
                waiting.remove(event)
            if not waiting:
                self._watchers.pop(job_id, None)

    # ------------------------------------------------------------------ delivering

    async def deliver(self, payload: str) -> None:
        """Take in one message from the channel: a peer's is delivered to the local listeners."""
        try:
            message = json.loads(payload)
            if not isinstance(message, dict) or message.get("replica") == self.replica:
                return
            await self._dispatch(message)
        except Exception as exc:  # one bad message or listener never stops the others
            log.warning("a message from another replica could not be delivered (%s)", type(exc).__name__)
            log.debug("delivering a peer's message failed", exc_info=exc)

    async def _dispatch(self, message: dict[str, Any]) -> None:
        kind, items = message.get("kind"), message.get("items") or []
        if kind == "changed":
            changes = [Change(str(job_id), str(uri)) for job_id, uri in items]
            self._wake_watchers(c.job_id for c in changes)
            uris = [c.uri for c in changes] + ([JOBS_INDEX_URI] if message.get("index") else [])
            for changed in list(self.on_changed):
                await changed(uris)
        elif kind == "added":
            for scope, job_id, new in items:
                for added in list(self.on_job_added):
                    await added(str(scope), str(job_id), bool(new))
        elif kind == "wake":
            for job_id in items:
                for wake in list(self.on_wake):
                    self._spawn(wake, str(job_id))  # a wake may wait (the webhook's window): never here

    def _wake_watchers(self, job_ids: Iterable[str]) -> None:
        for job_id in job_ids:
            for event in self._watchers.pop(job_id, []):
                event.set()

    async def reset(self) -> None:
        """Peers' messages may have been missed: wake every waiter and tell the listeners."""
        self._wake_watchers(list(self._watchers))
        for reset in list(self.on_reset):
            try:
                await reset()
            except Exception as exc:
                log.warning("telling listeners that anything may have changed failed (%s)", type(exc).__name__)

    def _spawn(self, fn: Callable[[str], Awaitable[None]], arg: str) -> None:
        if self._tasks is not None:
            self._tasks.start_soon(_quietly, fn, arg)


async def _quietly(fn: Callable[[str], Awaitable[None]], arg: str) -> None:
    try:
        await fn(arg)
    except Exception as exc:
        log.warning("a listener of other replicas' messages failed (%s)", type(exc).__name__)


def encode(replica: str, kind: str, items: Sequence[Any], **extra: Any) -> list[str]:
    """The messages for a batch: as few as fit, each below `MAX_PAYLOAD_BYTES`; an item too big alone is dropped."""
    head = {"replica": replica, "kind": kind, **extra}
    empty = len(_dumps({**head, "items": []}))
    payloads: list[str] = []
    chunk: list[str] = []
    size = empty
    for item in items:
        text = _dumps(item)
        if empty + len(text) > MAX_PAYLOAD_BYTES:
            log.warning("a %s message for one job is too long for the channel; the job is left out", kind)
            continue
        if chunk and size + len(text) + 1 > MAX_PAYLOAD_BYTES:
            payloads.append(_join(head, chunk))
            chunk, size = [], empty
        size += len(text) + (1 if chunk else 0)
        chunk.append(text)
    if chunk or not payloads:  # a batch of nothing (the index alone) is one message too
        payloads.append(_join(head, chunk))
    return payloads


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))  # ASCII only: one character is one byte


def _join(head: dict[str, Any], items: list[str]) -> str:
    return _dumps(head)[:-1] + ',"items":[' + ",".join(items) + "]}"


class PostgresFanout(Fanout):
    """Fan-out through PostgreSQL `LISTEN/NOTIFY` at `url` (psycopg 3, autocommit, outside the pool)."""

    def __init__(self, url: str, replica: str | None = None) -> None:
        super().__init__(replica)
        self.url = url
        self.connects = 0
        """How many times the channel was listened to (1 + reconnects)."""
        self._publisher: psycopg.AsyncConnection[Any] | None = None
        self._publishing = anyio.Lock()
        self._channel: str | None = None
        self.listener_pid: int | None = None
        """The listening connection's backend process (for `pg_terminate_backend` in tests)."""

    @property
    def reaches_peers(self) -> bool:
        return True

    @property
    def publisher_pid(self) -> int | None:
        """The publishing connection's backend process, while it is open."""
        publisher = self._publisher
        return None if publisher is None or publisher.closed else publisher.info.backend_pid

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen and deliver until cancelled; reconnect with back-off (started once listening, or after a failure)."""
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            try:
                await self._listen(task_status)
            finally:
                self._tasks = None

    async def _listen(self, task_status: anyio.abc.TaskStatus[None]) -> None:
        import psycopg

        delay, missed, started = RECONNECT_FIRST_SECONDS, False, False
        while True:
            try:
                async with await self._connect() as connection:
                    channel = await self._channel_of(connection)
                    await connection.execute(f'LISTEN "{channel}"')
                    self.listener_pid = connection.info.backend_pid
                    self.connects += 1
                    if missed:
                        log.warning("listening to the other replicas again on %s", describe_url(self.url))
                        await self.reset()
                    missed, delay = False, RECONNECT_FIRST_SECONDS
                    if not started:
                        started = True
                        task_status.started()
                    async for note in connection.notifies():
                        await self.deliver(note.payload)
            except Exception as exc:  # a dropped connection, or anything else: the server goes on without peers
                log.warning(
                    "lost the channel to the other replicas on %s (%s); trying again in %.1fs",
                    describe_url(self.url),
                    type(exc).__name__,
                    delay,
                )
                if not isinstance(exc, psycopg.Error | OSError):
                    log.debug("listening to the other replicas failed", exc_info=exc)
            missed = True  # not listening until the next connection: peers' messages are lost meanwhile
            if not started:  # never hold up the server's start: messages are best effort
                started = True
                task_status.started()
            await anyio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        import psycopg

        return await psycopg.AsyncConnection.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)

    async def _channel_of(self, connection: psycopg.AsyncConnection[Any]) -> str:
        if self._channel is None:
            row = await (await connection.execute("SELECT current_schema()")).fetchone()
            self._channel = channel_name(str(row[0]) if row and row[0] else "public")
        return self._channel

    async def _send(self, payloads: list[str]) -> None:
        """Publish on the publishing connection, opened on first use; once more on a fresh one if it dropped."""
        import psycopg

        async with self._publishing:
            for attempt in range(2):
                try:
                    if self._publisher is None or self._publisher.closed:
                        self._publisher = await self._connect()
                    channel = await self._channel_of(self._publisher)
                    async with self._publisher.cursor() as cursor:
                        await cursor.executemany("SELECT pg_notify(%s, %s)", [(channel, p) for p in payloads])
                    return
                except (psycopg.Error, OSError):
                    await self._drop_publisher()
                    if attempt:
                        raise

    async def _drop_publisher(self) -> None:
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            try:
                await publisher.close()
            except Exception:
                log.debug("closing the publishing connection failed", exc_info=True)

    async def aclose(self) -> None:
        async with self._publishing:
            await self._drop_publisher()


def channel_name(schema: str) -> str:
    """The channel of the deployment whose tables live in `schema` (an identifier of at most 63 bytes)."""
    name = f"{CHANNEL_PREFIX}_{schema}"
    if len(name.encode()) <= 63 and name.replace("_", "").isalnum() and name.isascii():
        return name
    return f"{CHANNEL_PREFIX}_{hashlib.sha256(schema.encode()).hexdigest()[:32]}"


def fanout_for(database_url: str | None) -> Fanout:
    """PostgreSQL fan-out when the deployment shares a PostgreSQL database, else in-process only."""
    if database_url and is_postgres_url(database_url):
        try:
            import psycopg  # noqa: F401  (the optional `postgres` extra)
        except ImportError:
            raise DatabaseUnavailable(POSTGRES_EXTRA) from None
        return PostgresFanout(database_url)
    return Fanout()
