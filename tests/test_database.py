"""The database layer: one set of store functions on SQLite and PostgreSQL, versioned migrations."""

from pathlib import Path

import anyio
import pytest

from mosaic_mcp.server.database import (
    Database,
    DatabaseTooNew,
    DatabaseUnavailable,
    Schema,
    Sql,
    describe_url,
    migrate,
    open_postgres,
    open_sqlite,
)

pytestmark = pytest.mark.anyio

NOTES = Schema(
    "notes",
    sqlite=["CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL, n INTEGER NOT NULL)"],
    postgres=["CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL, n BIGINT NOT NULL)"],
)
NOTES_V2 = Schema(
    "notes",
    sqlite=[*NOTES.sqlite, "ALTER TABLE notes ADD COLUMN tag TEXT"],
    postgres=[*NOTES.postgres, "ALTER TABLE notes ADD COLUMN tag TEXT"],
)


def _open(url: str | None, folder: Path, schema: Schema = NOTES) -> Database:
    if url is None:
        return open_sqlite(folder / "notes.sqlite3", schemas=[schema])
    return open_postgres(url, pool_size=2, schemas=[schema])


async def test_the_same_functions_run_on_both_backends(database_url: str | None, tmp_path: Path) -> None:
    """Placeholders, upserts, a percent sign in a value and row counts behave alike on SQLite and PostgreSQL."""
    db = _open(database_url, tmp_path)
    try:

        def write(sql: Sql) -> int:
            sql.executemany("INSERT INTO notes (id, body, n) VALUES (?, ?, ?)", [("a", "50%", 1), ("b", "?", 2)])
            return sql.execute(
                "INSERT INTO notes (id, body, n) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING", ("a", "x", 9)
            ).rowcount

        assert await db.run(write) == 0
        rows = await db.run(lambda sql: sql.execute("SELECT id, body, n FROM notes ORDER BY id").fetchall())
        assert [tuple(r) for r in rows] == [("a", "50%", 1), ("b", "?", 2)]
        literal = await db.run(lambda sql: sql.execute("SELECT COUNT(*) FROM notes WHERE body = '50%'").fetchone())
        assert literal[0] == 1  # a literal percent sign, no values: read as written on both backends
    finally:
        await db.close()


async def test_a_failed_transaction_leaves_nothing(database_url: str | None, tmp_path: Path) -> None:
    """A statement that fails inside `transaction()` rolls back the statements before it."""
    db = _open(database_url, tmp_path)
    try:

        def write(sql: Sql) -> None:
            with sql.transaction():
                sql.execute("INSERT INTO notes (id, body, n) VALUES (?, ?, ?)", ("a", "kept?", 1))
                sql.execute("INSERT INTO notes (id, body, n) VALUES (?, ?, ?)", ("a", "duplicate", 2))

        with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
            await db.run(write)
        assert await db.run(lambda sql: sql.execute("SELECT COUNT(*) FROM notes").fetchone()[0]) == 0
    finally:
        await db.close()


async def test_migrations_apply_once_and_in_order(database_url: str | None, tmp_path: Path) -> None:
    """Reopening applies only the new steps; a database newer than the code is refused with a clear message."""
    db = _open(database_url, tmp_path)
    await db.run(lambda sql: sql.execute("INSERT INTO notes (id, body, n) VALUES ('a', 'b', 1)"))
    await db.close()
    db = _open(database_url, tmp_path, NOTES_V2)
    try:
        assert await db.run(lambda sql: migrate(sql, NOTES_V2)) == 2  # already there: nothing re-run
        row = await db.run(lambda sql: sql.execute("SELECT id, tag FROM notes").fetchone())
        assert tuple(row) == ("a", None)
        with pytest.raises(DatabaseTooNew, match="version 2, newer than this server knows \\(1\\)"):
            await db.run(lambda sql: migrate(sql, NOTES))
    finally:
        await db.close()


async def test_replicas_starting_together_migrate_once(postgres_url: str) -> None:
    """Four replicas opening one PostgreSQL database at the same moment apply each step exactly once."""
    opened: list[Database] = []

    async def start() -> None:
        database = await anyio.to_thread.run_sync(lambda: open_postgres(postgres_url, pool_size=1, schemas=[NOTES_V2]))
        opened.append(database)

    async with anyio.create_task_group() as group:
        for _ in range(4):
            group.start_soon(start)
    try:
        version = await opened[0].run(
            lambda sql: sql.execute("SELECT version FROM schema_versions WHERE component='notes'").fetchone()[0]
        )
        assert version == 2
    finally:
        for db in opened:
            await db.close()


def test_an_unreachable_postgres_is_named_without_its_password() -> None:
    """A database that cannot be reached is reported by host and database; the password never appears."""
    url = "postgresql://mosaic:hunter2-secret@127.0.0.1:9/jobs"
    pytest.importorskip("psycopg_pool")
    with pytest.raises(DatabaseUnavailable) as caught:
        open_postgres(url, pool_size=1)
    assert "PostgreSQL at 127.0.0.1:9/jobs" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert describe_url(url) == "PostgreSQL at 127.0.0.1:9/jobs"
