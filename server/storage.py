"""Where a server's stores keep their tables: SQLite files in MOSAIC_MCP_HOME, or one PostgreSQL pool.

Without MOSAIC_MCP_DATABASE_URL nothing here is used: the journal and the person key store open
`jobs.sqlite3` and the OAuth store `oauth.sqlite3`, as they always did. With it, the journal, the key
store and the OAuth store of one process share one `SharedDatabase`: a bounded pool
(MOSAIC_MCP_DATABASE_POOL_SIZE) opened once, with every store's tables migrated at the open (under
the migration lock, so replicas starting together migrate once).

The server object owns the handle because the OAuth store is built with the server, before any
lifespan runs: the handle opens at its first use (`use()` in the lifespan, `hold()` in the CLI
before serving, or a store's first query) and closes when the last lifespan or holder lets go.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TypeVar

import anyio.to_thread

from .config import ConfigurationError, Settings
from .database import (
    DatabaseTooNew,
    DatabaseUnavailable,
    Dialect,
    PostgresDatabase,
    Schema,
    Sql,
    database_errors,
    describe_url,
    open_postgres,
)
from .jobs.journal import JOURNAL_SCHEMA
from .jobs.keystore import KEYSTORE_SCHEMA
from .oauth.store import OAUTH_SCHEMA
from .sessions import SESSIONS_SCHEMA

T = TypeVar("T")

STORE_SCHEMAS: tuple[Schema, ...] = (JOURNAL_SCHEMA, KEYSTORE_SCHEMA, OAUTH_SCHEMA, SESSIONS_SCHEMA)
"""Every store's tables, migrated together when a PostgreSQL database is opened."""


class SharedDatabase:
    """One process's PostgreSQL pool, shared by its stores (a `Database`); opened lazily, counted by its users."""

    dialect: Dialect = "postgres"

    def __init__(self, url: str, *, pool_size: int) -> None:
        self._url = url
        self._pool_size = pool_size
        self._database: PostgresDatabase | None = None
        self._users = 0
        self._lock = threading.Lock()  # the CLI's thread and the event loop's worker threads both open it

    @classmethod
    def from_settings(cls, settings: Settings) -> SharedDatabase | None:
        """The handle MOSAIC_MCP_DATABASE_URL names; None without it (the SQLite files)."""
        if settings.database_url is None:
            return None
        return cls(settings.database_url.get_secret_value(), pool_size=settings.database_pool_size)

    @property
    def where(self) -> str:
        return describe_url(self._url)

    def open_sync(self) -> PostgresDatabase:
        """The open pool (opened and migrated now if it is not; blocking, raises DatabaseUnavailable)."""
        with self._lock:
            if self._database is None:
                self._database = open_postgres(self._url, pool_size=self._pool_size, schemas=STORE_SCHEMAS)
            return self._database

    def _run_sync(self, fn: Callable[[Sql], T]) -> T:
        database = self._database or self.open_sync()
        return database.run_sync(fn)

    async def run(self, fn: Callable[[Sql], T]) -> T:
        """`fn(connection)` in a worker thread with a connection of the pool (one thread hop, the open included)."""
        return await anyio.to_thread.run_sync(self._run_sync, fn)

    async def close(self) -> None:
        """Close the pool now, whoever still uses it (a later query opens it again)."""
        await anyio.to_thread.run_sync(self._close_sync)

    def _close_sync(self) -> None:
        with self._lock:
            database, self._database = self._database, None
        if database is not None:
            database.close_sync()

    def _enter(self) -> None:
        with self._lock:
            self._users += 1
        try:
            self.open_sync()
        except BaseException:
            self._leave()
            raise

    def _leave(self) -> None:
        with self._lock:
            self._users -= 1
            last = self._users == 0
        if last:
            self._close_sync()

    @asynccontextmanager
    async def use(self) -> AsyncIterator[SharedDatabase]:
        """The pool, open (in a worker thread) for the block; closed when the last user leaves."""
        await anyio.to_thread.run_sync(self._enter)
        try:
            yield self
        finally:
            await anyio.to_thread.run_sync(self._leave)

    @contextmanager
    def hold(self) -> Iterator[SharedDatabase]:
        """The pool, open for the block, before any event loop runs (the CLI, before serving).

        A database that cannot be reached or prepared is a ConfigurationError naming
        MOSAIC_MCP_DATABASE_URL's host and database (never its password).
        """
        try:
            self._enter()
        except (DatabaseUnavailable, DatabaseTooNew) as exc:
            raise ConfigurationError(f"MOSAIC_MCP_DATABASE_URL: {exc}") from None
        except database_errors() as exc:  # reached, but the tables could not be created or migrated
            reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            problem = f"MOSAIC_MCP_DATABASE_URL: cannot prepare the tables in {self.where} ({reason})"
            raise ConfigurationError(problem) from None
        try:
            yield self
        finally:
            self._leave()
