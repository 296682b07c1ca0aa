"""Where the server keeps its state: an SQLite file (the default) or PostgreSQL (`MOSAIC_MCP_DATABASE_URL`).

The journal, the person key store, the OAuth store and the cluster's tables are written once, as
plain functions of one connection (`Sql`), and run on either backend:

- `SQLiteDatabase`: one file, one connection used from worker threads one call at a time, WAL mode
  (two processes on one machine may share it).
- `PostgresDatabase`: a bounded pool of psycopg 3 connections (the `postgres` extra); every call
  takes one connection from the pool in a worker thread, so the event loop never waits on the
  network either.

Queries are written with `?` placeholders and SQL both engines speak (`INSERT … ON CONFLICT`,
no `rowid`, no `INSERT OR IGNORE`); `Sql` turns them into psycopg's `%s` on PostgreSQL.

Schemas are versioned per component (`Schema`): each has an ordered list of steps per dialect, and
`migrate` applies the steps a database has not seen yet, recorded in `schema_versions`, under a
lock (PostgreSQL: a transaction-scoped advisory lock, so replicas starting together migrate once;
SQLite: `BEGIN IMMEDIATE`).
"""

from __future__ import annotations

import functools
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar
from urllib.parse import urlsplit

import anyio.to_thread

if TYPE_CHECKING:  # the `postgres` extra; imported when a PostgreSQL URL is used
    import psycopg
    import psycopg_pool

T = TypeVar("T")

Dialect = Literal["sqlite", "postgres"]

POSTGRES_SCHEMES = ("postgresql", "postgres")
DEFAULT_POOL_SIZE = 10
POSTGRES_EXTRA = (
    "MOSAIC_MCP_DATABASE_URL names PostgreSQL, but its driver is not installed: "
    "pip install 'mcp-server-mosaic[postgres]' (psycopg 3 and its pool)"
)
MIGRATION_LOCK = 0x6D6F7361  # "mosa": the advisory lock under which replicas migrate one at a time


class Rows(Protocol):
    """What a query returns (an `sqlite3.Cursor` or a psycopg cursor)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Sql:
    """One connection, as the functions of the stores see it: `?` placeholders on both backends."""

    def __init__(self, connection: Any, dialect: Dialect) -> None:
        self.connection = connection
        self.dialect: Dialect = dialect
        self._depth = 0

    def execute(self, query: str, args: Sequence[object] = ()) -> Rows:
        """Run one statement with bound values."""
        if self.dialect == "sqlite":
            cursor: Rows = self.connection.execute(query, tuple(args))
            return cursor
        if not args:  # psycopg reads placeholders (and `%%`) only when values are passed
            return self.connection.execute(query)  # type: ignore[no-any-return]
        return self.connection.execute(_pg(query), tuple(args))  # type: ignore[no-any-return]

    def executemany(self, query: str, rows: Sequence[Sequence[object]]) -> None:
        """Run one statement once per row."""
        if not rows:
            return
        if self.dialect == "sqlite":
            self.connection.executemany(query, [tuple(r) for r in rows])
            return
        with self.connection.cursor() as cursor:
            cursor.executemany(_pg(query), [tuple(r) for r in rows])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all (nested: part of the outer one)."""
        if self._depth:
            yield
            return
        self._depth += 1
        try:
            if self.dialect == "postgres":
                with self.connection.transaction():
                    yield
                return
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
            self.connection.execute("COMMIT")
        finally:
            self._depth -= 1


@lru_cache(maxsize=512)
def _pg(query: str) -> str:
    """`?` placeholders as psycopg's `%s` (a literal `%` doubled first)."""
    return query.replace("%", "%%").replace("?", "%s")


Step = str | Callable[[Sql], None]
"""One migration step: SQL (one or more statements) or a function of the connection."""


@dataclass(frozen=True)
class Schema:
    """A component's tables: steps in order, per dialect (step *n* brings the component to version *n*).

    Both lists must have the same length: a version means the same tables on both backends.
    """

    component: str
    sqlite: Sequence[Step]
    postgres: Sequence[Step]

    def __post_init__(self) -> None:
        if len(self.sqlite) != len(self.postgres):
            counts = f"{len(self.sqlite)} SQLite steps, {len(self.postgres)} PostgreSQL"
            raise ValueError(f"schema {self.component}: {counts}")

    def steps(self, dialect: Dialect) -> Sequence[Step]:
        """The steps for one dialect."""
        return self.sqlite if dialect == "sqlite" else self.postgres

    @property
    def version(self) -> int:
        """The version the steps lead to."""
        return len(self.sqlite)


VERSIONS_TABLE = "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"


def migrate(db: Sql, schema: Schema) -> int:
    """Bring `schema`'s component up to date in one transaction, under the migration lock; the version before."""
    with db.transaction():
        if db.dialect == "postgres":
            db.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
        db.execute(VERSIONS_TABLE)
        row = db.execute("SELECT version FROM schema_versions WHERE component=?", (schema.component,)).fetchone()
        before = int(row[0]) if row else 0
        if before > schema.version:
            raise DatabaseTooNew(schema.component, before, schema.version)
        for step in schema.steps(db.dialect)[before:]:
            if callable(step):
                step(db)
            elif db.dialect == "sqlite":
                for statement in _statements(step):
                    db.execute(statement)
            else:
                db.execute(step)
        if before != schema.version:
            db.execute(
                "INSERT INTO schema_versions (component, version) VALUES (?, ?) "
                "ON CONFLICT (component) DO UPDATE SET version=excluded.version",
                (schema.component, schema.version),
            )
    return before


def _statements(script: str) -> list[str]:
    """An SQL script's statements (ours: no `;` inside literals)."""
    return [s.strip() for s in script.split(";") if s.strip()]


class DatabaseTooNew(RuntimeError):
    """The database was migrated by a newer version of the server than this one."""

    def __init__(self, component: str, found: int, known: int) -> None:
        super().__init__(
            f"the database's {component} tables are at version {found}, newer than this server knows ({known}): "
            "upgrade mcp-server-mosaic on every replica before pointing it at this database"
        )


class Database(Protocol):
    """A backend: run functions of one connection, off the event loop."""

    @property
    def dialect(self) -> Dialect: ...

    @property
    def where(self) -> str:
        """Where it is, for messages (a folder, or PostgreSQL's host and database; never a password)."""
        ...

    async def run(self, fn: Callable[[Sql], T]) -> T:
        """`fn(connection)` in a worker thread, with a connection of its own for the call."""
        ...

    async def close(self) -> None:
        """Release the connection(s)."""
        ...


class SQLiteDatabase:
    """The SQLite file at `path` (created with its folder), WAL mode, one connection used one call at a time.

    `pragmas` run once on open (e.g. `synchronous=NORMAL` for the journal).
    """

    dialect: Dialect = "sqlite"

    def __init__(self, path: Path, *, pragmas: Sequence[str] = ()) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=10.0, check_same_thread=False, isolation_level=None)
        self._sql = Sql(self._db, "sqlite")
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            for pragma in pragmas:
                self._db.execute(f"PRAGMA {pragma}")

    @property
    def where(self) -> str:
        return str(self.path.parent)

    def run_sync(self, fn: Callable[[Sql], T]) -> T:
        """`fn(connection)` now, on this thread, alone on the connection (start-up, migrations)."""
        with self._lock:
            return fn(self._sql)

    async def run(self, fn: Callable[[Sql], T]) -> T:
        return await anyio.to_thread.run_sync(self.run_sync, fn)

    async def close(self) -> None:
        await anyio.to_thread.run_sync(self.close_sync)

    def close_sync(self) -> None:
        """Close the connection (waits for a query under way)."""
        with self._lock:
            self._db.close()


@dataclass
class PostgresDatabase:
    """A bounded pool of psycopg 3 connections to the database at `url` (autocommit; `Sql.transaction` groups)."""

    url: str
    pool_size: int = DEFAULT_POOL_SIZE
    dialect: Dialect = "postgres"
    _pool: psycopg_pool.ConnectionPool[psycopg.Connection[Any]] | None = field(default=None, repr=False)

    @property
    def where(self) -> str:
        return describe_url(self.url)

    def open_sync(self) -> None:
        """Open the pool and check one connection (raises with a message naming host and database)."""
        try:
            import psycopg  # the optional `postgres` extra, only for a PostgreSQL URL
            import psycopg_pool
        except ImportError:
            raise DatabaseUnavailable(POSTGRES_EXTRA) from None
        try:  # one direct attempt first: a refused or unknown host fails now, not after the pool's retries
            psycopg.connect(self.url, connect_timeout=10).close()
        except psycopg.Error as exc:
            raise DatabaseUnavailable(f"cannot reach {self.where} ({_first_line(exc)})") from None
        pool: psycopg_pool.ConnectionPool[Any] = psycopg_pool.ConnectionPool(
            self.url,
            min_size=1,
            max_size=max(1, self.pool_size),
            kwargs={"autocommit": True},
            open=False,
            name="mosaic-mcp",
        )
        try:
            pool.open(wait=True, timeout=15.0)
        except Exception as exc:
            pool.close()
            raise DatabaseUnavailable(f"cannot reach {self.where} ({type(exc).__name__})") from None
        self._pool = pool

    def run_sync(self, fn: Callable[[Sql], T]) -> T:
        """`fn(connection)` now, on this thread, with a connection from the pool."""
        if self._pool is None:
            raise DatabaseUnavailable(f"{self.where} is not open")
        with self._pool.connection() as connection:
            return fn(Sql(connection, "postgres"))

    async def run(self, fn: Callable[[Sql], T]) -> T:
        return await anyio.to_thread.run_sync(self.run_sync, fn)

    async def close(self) -> None:
        await anyio.to_thread.run_sync(self.close_sync)

    def close_sync(self) -> None:
        """Close the pool."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None


def _first_line(exc: BaseException) -> str:
    """The first line of a driver's message (libpq's say which host and why; they never hold a password)."""
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be used; the message says why (never with a password)."""


def is_postgres_url(url: str | None) -> bool:
    """Whether a database URL names PostgreSQL."""
    return bool(url) and urlsplit(url or "").scheme in POSTGRES_SCHEMES


def describe_url(url: str) -> str:
    """`PostgreSQL at host:port/db` — never the user's password."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    name = parts.path.lstrip("/") or "(default database)"
    return f"PostgreSQL at {host}{port}/{name}"


def database_errors() -> tuple[type[BaseException], ...]:
    """The exception classes a backend raises for a failed statement: psycopg's only once it was loaded
    (a PostgreSQL URL opened it; before that none of its errors can be raised). Importing it here
    cost every SQLite start ~55 ms."""
    psycopg = sys.modules.get("psycopg")
    return (sqlite3.Error,) if psycopg is None else (sqlite3.Error, psycopg.Error)


def open_postgres(url: str, *, pool_size: int = DEFAULT_POOL_SIZE, schemas: Sequence[Schema] = ()) -> PostgresDatabase:
    """Open a pool to `url` and migrate `schemas` (blocking: call from a worker thread or at start-up)."""
    database = PostgresDatabase(url, pool_size=pool_size)
    database.open_sync()
    return _migrated(database, schemas)


def open_sqlite(path: Path, *, schemas: Sequence[Schema] = (), pragmas: Sequence[str] = ()) -> SQLiteDatabase:
    """Open (creating) the SQLite file at `path` and migrate `schemas`."""
    return _migrated(SQLiteDatabase(path, pragmas=pragmas), schemas)


OpenDatabase = TypeVar("OpenDatabase", SQLiteDatabase, PostgresDatabase)


def _migrated(database: OpenDatabase, schemas: Sequence[Schema]) -> OpenDatabase:
    """`database` with `schemas` migrated, or closed again when a migration fails."""
    try:
        for schema in schemas:
            database.run_sync(functools.partial(migrate, schema=schema))
    except BaseException:
        database.close_sync()
        raise
    return database
