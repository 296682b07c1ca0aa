"""The OAuth store: clients, pending sign-ins, codes, tokens, people and their encrypted keys.

By default its own SQLite file in the server's home (`oauth.sqlite3`), beside the journal; with
MOSAIC_MCP_DATABASE_URL, tables in the PostgreSQL database the journal uses, so a person signed in
through one replica is signed in on all. Nothing secret is stored in the clear: tokens, codes,
sign-in requests and page sessions are looked up by their keyed hash (`Vault.digest`), and a
person's keys are a Fernet blob. Calls run on a worker thread.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from ..database import Database, Schema, Sql, open_sqlite

__all__ = ["OAUTH_SCHEMA", "OAuthStore", "Pending", "StoredToken", "TokenKind"]

T = TypeVar("T")
TokenKind = Literal["access", "refresh"]

TABLES_SQL = """
CREATE TABLE IF NOT EXISTS oauth_clients (
    client_id  TEXT PRIMARY KEY,
    info       TEXT NOT NULL,
    created_at {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS oauth_pending (
    request_hash TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL,
    params       TEXT NOT NULL,
    expires_at   {real} NOT NULL,
    subject      TEXT,
    organization TEXT,
    keys         {blob}
);
CREATE TABLE IF NOT EXISTS oauth_codes (
    code_hash  TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    data       TEXT NOT NULL,
    expires_at {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS oauth_tokens (
    token_hash TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    resource   TEXT,
    expires_at {real} NOT NULL,
    grant_id   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS oauth_tokens_by_subject ON oauth_tokens (subject);
CREATE INDEX IF NOT EXISTS oauth_tokens_by_grant ON oauth_tokens (grant_id);
CREATE TABLE IF NOT EXISTS oauth_people (
    subject      TEXT PRIMARY KEY,
    keys         {blob} NOT NULL,
    organization TEXT,
    updated_at   {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS oauth_sessions (
    session_hash TEXT PRIMARY KEY,
    subject      TEXT NOT NULL,
    expires_at   {real} NOT NULL
);
"""
OAUTH_SCHEMA = Schema(
    "oauth",
    sqlite=[TABLES_SQL.format(real="REAL", blob="BLOB")],  # IF NOT EXISTS: files from before versions pass
    postgres=[TABLES_SQL.format(real="DOUBLE PRECISION", blob="BYTEA")],
)


TABLES = ("oauth_clients", "oauth_pending", "oauth_codes", "oauth_tokens", "oauth_people", "oauth_sessions")


@dataclass(frozen=True)
class Pending:
    """A sign-in the person has not finished: the client's authorization request, and who they proved to be."""

    client_id: str
    params: dict[str, Any]
    expires_at: float
    subject: str | None
    organization: str | None
    keys: bytes | None
    """The proved keys, encrypted, until the person allows the client (then they move to `oauth_people`)."""


@dataclass(frozen=True)
class StoredToken:
    """An access or refresh token's row (the token itself is never stored)."""

    kind: TokenKind
    client_id: str
    subject: str
    scopes: list[str]
    resource: str | None
    expires_at: float
    grant_id: str


class OAuthStore:
    """The OAuth tables.

    `source` is their SQLite file to open (and close with the store), or an open `Database` with the
    OAuth tables migrated, shared with the journal and left open.
    """

    def __init__(self, source: Path | Database, *, clock: Callable[[], float] = time.time) -> None:
        self._owned = isinstance(source, Path)
        self.database: Database = open_sqlite(source, schemas=[OAUTH_SCHEMA]) if isinstance(source, Path) else source
        self.now = clock

    async def close(self) -> None:
        """Close the database, when the store opened it (a shared one stays open)."""
        if self._owned:
            await self.database.close()

    async def _run(self, fn: Callable[[Sql], T]) -> T:
        return await self.database.run(fn)

    # -- clients ---------------------------------------------------------------------------------
    async def save_client(self, client_id: str, info: str) -> None:
        """Register a client (its metadata as JSON)."""
        await self._run(
            lambda sql: sql.execute(
                "INSERT INTO oauth_clients (client_id, info, created_at) VALUES (?, ?, ?) ON CONFLICT (client_id) "
                "DO UPDATE SET info=excluded.info, created_at=excluded.created_at",
                (client_id, info, self.now()),
            )
        )

    async def client(self, client_id: str) -> str | None:
        """A registered client's metadata (JSON)."""
        row = await self._run(
            lambda sql: sql.execute("SELECT info FROM oauth_clients WHERE client_id = ?", (client_id,)).fetchone()
        )
        return None if row is None else str(row[0])

    # -- pending sign-ins ------------------------------------------------------------------------
    async def add_pending(self, request_hash: str, client_id: str, params: dict[str, Any], ttl: float) -> None:
        """Remember an authorization request until the person signs in (at most `ttl` seconds).

        Every expired row of every table goes first: each sign-in sweeps what is past its time.
        """
        row = (request_hash, client_id, json.dumps(params), self.now() + ttl, None, None, None)

        def add(sql: Sql) -> None:
            for table in ("oauth_pending", "oauth_codes", "oauth_tokens", "oauth_sessions"):
                sql.execute(f"DELETE FROM {table} WHERE expires_at <= ?", (self.now(),))  # noqa: S608 - fixed names
            sql.execute(
                "INSERT INTO oauth_pending (request_hash, client_id, params, expires_at, subject, organization, keys) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                row,
            )

        await self._run(add)

    async def count(self, table: str) -> int:
        """How many rows a table holds (expired ones included)."""
        if table not in TABLES:
            raise ValueError(f"no table {table!r} in the OAuth store; choose from {', '.join(TABLES)}")
        row = await self._run(lambda sql: sql.execute(f"SELECT COUNT(*) FROM {table}").fetchone())  # noqa: S608
        return int(row[0])

    async def pending(self, request_hash: str) -> Pending | None:
        """A pending sign-in that has not expired."""
        row = await self._run(
            lambda sql: sql.execute(
                "SELECT client_id, params, expires_at, subject, organization, keys FROM oauth_pending "
                "WHERE request_hash = ? AND expires_at > ?",
                (request_hash, self.now()),
            ).fetchone()
        )
        if row is None:
            return None
        return Pending(row[0], json.loads(row[1]), row[2], row[3], row[4], None if row[5] is None else bytes(row[5]))

    async def prove_pending(self, request_hash: str, subject: str, organization: str | None, keys: bytes) -> None:
        """The person behind a pending sign-in proved their keys (encrypted)."""
        await self._run(
            lambda sql: sql.execute(
                "UPDATE oauth_pending SET subject = ?, organization = ?, keys = ? WHERE request_hash = ?",
                (subject, organization, keys, request_hash),
            )
        )

    async def drop_pending(self, request_hash: str) -> bool:
        """Forget a pending sign-in; whether it was there (so a request is answered at most once)."""
        cursor = await self._run(
            lambda sql: sql.execute("DELETE FROM oauth_pending WHERE request_hash = ?", (request_hash,))
        )
        return cursor.rowcount > 0

    # -- authorization codes ---------------------------------------------------------------------
    async def add_code(self, code_hash: str, client_id: str, subject: str, data: str, expires_at: float) -> None:
        """Store a code (its fields as JSON, without the code)."""
        row = (code_hash, client_id, subject, data, expires_at)
        await self._run(
            lambda sql: sql.execute(
                "INSERT INTO oauth_codes (code_hash, client_id, subject, data, expires_at) VALUES (?, ?, ?, ?, ?)", row
            )
        )

    async def code(self, code_hash: str, client_id: str) -> str | None:
        """A client's code's fields (JSON), expired or not: the SDK says which is refused and how."""
        row = await self._run(
            lambda sql: sql.execute(
                "SELECT data FROM oauth_codes WHERE code_hash = ? AND client_id = ?", (code_hash, client_id)
            ).fetchone()
        )
        return None if row is None else str(row[0])

    async def take_code(self, code_hash: str) -> bool:
        """Use a code up; whether it was still there (a code works once)."""
        cursor = await self._run(lambda sql: sql.execute("DELETE FROM oauth_codes WHERE code_hash = ?", (code_hash,)))
        return cursor.rowcount > 0

    # -- tokens ----------------------------------------------------------------------------------
    async def add_tokens(self, rows: list[tuple[str, StoredToken]]) -> None:
        """Store tokens by their hashes."""
        values = [
            (h, t.kind, t.client_id, t.subject, json.dumps(t.scopes), t.resource, t.expires_at, t.grant_id)
            for h, t in rows
        ]
        await self._run(
            lambda sql: sql.executemany(
                "INSERT INTO oauth_tokens (token_hash, kind, client_id, subject, scopes, resource, expires_at, "
                "grant_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
        )

    async def token(self, token_hash: str, kind: TokenKind) -> StoredToken | None:
        """A token that has not expired."""
        row = await self._run(
            lambda sql: sql.execute(
                "SELECT kind, client_id, subject, scopes, resource, expires_at, grant_id FROM oauth_tokens "
                "WHERE token_hash = ? AND kind = ? AND expires_at > ?",
                (token_hash, kind, self.now()),
            ).fetchone()
        )
        if row is None:
            return None
        return StoredToken(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6])

    async def revoke_grant(self, grant_id: str) -> None:
        """Revoke every token of one grant (an access token and its refresh token)."""
        await self._run(lambda sql: sql.execute("DELETE FROM oauth_tokens WHERE grant_id = ?", (grant_id,)))

    async def clients_of(self, subject: str) -> list[tuple[str, str | None]]:
        """The clients holding a live token of a person: (client id, client name)."""
        rows = await self._run(
            lambda sql: sql.execute(
                "SELECT DISTINCT t.client_id, c.info FROM oauth_tokens t LEFT JOIN oauth_clients c "
                "ON c.client_id = t.client_id WHERE t.subject = ? AND t.expires_at > ? ORDER BY t.client_id",
                (subject, self.now()),
            ).fetchall()
        )
        return [(r[0], json.loads(r[1]).get("client_name") if r[1] else None) for r in rows]

    # -- people ----------------------------------------------------------------------------------
    async def save_person(self, subject: str, keys: bytes, organization: str | None) -> None:
        """A person's encrypted keys and the organisation they belong to."""
        row = (subject, keys, organization, self.now())
        await self._run(
            lambda sql: sql.execute(
                "INSERT INTO oauth_people (subject, keys, organization, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (subject) DO UPDATE SET keys=excluded.keys, organization=excluded.organization, "
                "updated_at=excluded.updated_at",
                row,
            )
        )

    async def person(self, subject: str) -> tuple[bytes, str | None] | None:
        """A person's encrypted keys and organisation."""
        row = await self._run(
            lambda sql: sql.execute(
                "SELECT keys, organization FROM oauth_people WHERE subject = ?", (subject,)
            ).fetchone()
        )
        return None if row is None else (bytes(row[0]), row[1])

    async def forget(self, subject: str) -> None:
        """Sign a person out everywhere: their keys, tokens, codes, sign-ins and page sessions go."""

        def delete(sql: Sql) -> None:
            for table in ("oauth_people", "oauth_tokens", "oauth_codes", "oauth_sessions", "oauth_pending"):
                sql.execute(f"DELETE FROM {table} WHERE subject = ?", (subject,))  # noqa: S608 - fixed names

        await self._run(delete)

    # -- page sessions ---------------------------------------------------------------------------
    async def add_session(self, session_hash: str, subject: str, ttl: float) -> None:
        """A browser session on the account page."""
        row = (session_hash, subject, self.now() + ttl)
        await self._run(
            lambda sql: sql.execute(
                "INSERT INTO oauth_sessions (session_hash, subject, expires_at) VALUES (?, ?, ?)", row
            )
        )

    async def session(self, session_hash: str) -> str | None:
        """The person a live page session belongs to."""
        row = await self._run(
            lambda sql: sql.execute(
                "SELECT subject FROM oauth_sessions WHERE session_hash = ? AND expires_at > ?",
                (session_hash, self.now()),
            ).fetchone()
        )
        return None if row is None else str(row[0])
