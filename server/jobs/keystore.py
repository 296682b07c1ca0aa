"""People's API keys at rest (remote modes): sealed with the deployment secret, beside the journal.

The table lives in the journal's database: its SQLite file, or PostgreSQL (MOSAIC_MCP_DATABASE_URL),
where every replica reads the keys the others sealed.

Only `serve --http` with MOSAIC_MCP_AUTH keys or oauth writes here. Each row is one person's key
for one service, sealed with AES-GCM under a key derived from MOSAIC_MCP_SECRET_KEY (HKDF-SHA256);
the row's owner and service are its associated data, so a sealed key cannot be moved to another
row. The background poller unseals a job's key only to poll it. A key whose owner has no unsettled
job left and who has not been seen for the grace period is deleted (`prune`); a key the API
rejected (401) is marked, and its jobs say to sign in again until a new key is stored.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from ..database import Database, Schema, Sql, open_sqlite
from .clock import SYSTEM_CLOCK, Clock

log = logging.getLogger("mosaic_mcp.keystore")

T = TypeVar("T")
Service = Literal["mosaic", "motion"]

KEYS_TABLE = """
CREATE TABLE IF NOT EXISTS person_keys (
    owner       TEXT NOT NULL,
    service     TEXT NOT NULL,
    sealed      {blob} NOT NULL,
    seen_at     {real} NOT NULL,
    rejected_at {real},
    PRIMARY KEY (owner, service)
)
"""
KEYSTORE_SCHEMA = Schema(
    "keystore",
    sqlite=[KEYS_TABLE.format(blob="BLOB", real="REAL")],  # IF NOT EXISTS: files from before versions pass
    postgres=[KEYS_TABLE.format(blob="BYTEA", real="DOUBLE PRECISION")],
)

NONCE_BYTES = 12


def sealing_key(secret: SecretStr) -> bytes:
    """The AES-256 key derived from MOSAIC_MCP_SECRET_KEY (never the secret itself)."""
    hkdf = HKDF(algorithm=SHA256(), length=32, salt=None, info=b"mosaic-mcp person keys at rest v1")
    return hkdf.derive(secret.get_secret_value().encode())


class KeyStore:
    """Async access to the sealed keys.

    `source` is the SQLite file to open (the journal's file; closed with the store), or an open
    `Database` with the keystore's tables migrated, shared with the journal and left open.
    """

    def __init__(self, source: Path | Database, secret: SecretStr, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self._aead = AESGCM(sealing_key(secret))
        self._owned = isinstance(source, Path)
        self.database: Database = open_sqlite(source, schemas=[KEYSTORE_SCHEMA]) if isinstance(source, Path) else source

    async def _run(self, fn: Callable[[Sql], T]) -> T:
        return await self.database.run(fn)

    async def close(self) -> None:
        """Close the database, when the store opened it (a shared one stays open)."""
        if self._owned:
            await self.database.close()

    def _seal(self, owner: str, service: Service, key: SecretStr) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, key.get_secret_value().encode(), _aad(owner, service))

    def _unseal(self, owner: str, service: Service, sealed: bytes) -> SecretStr | None:
        try:
            plain = self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _aad(owner, service))
        except InvalidTag:
            log.warning("a stored %s key cannot be unsealed (MOSAIC_MCP_SECRET_KEY changed?); ignoring it", service)
            return None
        return SecretStr(plain.decode())

    async def put(self, owner: str, service: Service, key: SecretStr) -> None:
        """Store (or replace) `owner`'s key for `service`, sealed; a new key clears a rejection."""
        sealed = self._seal(owner, service, key)
        now = self.clock.wall()
        await self._run(
            lambda sql: sql.execute(
                "INSERT INTO person_keys (owner, service, sealed, seen_at, rejected_at) VALUES (?,?,?,?,NULL) "
                "ON CONFLICT (owner, service) DO UPDATE SET sealed=excluded.sealed, seen_at=excluded.seen_at, "
                "rejected_at=NULL",
                (owner, service, sealed, now),
            )
        )

    async def get(self, owner: str, service: Service) -> SecretStr | None:
        """`owner`'s key for `service`, unsealed; None when none is stored (or it cannot be unsealed)."""
        row = await self._run(
            lambda sql: sql.execute(
                "SELECT sealed FROM person_keys WHERE owner=? AND service=?", (owner, service)
            ).fetchone()
        )
        return None if row is None else self._unseal(owner, service, bytes(row[0]))  # bytes: a memoryview on PG

    async def reject(self, owner: str, service: Service) -> None:
        """Mark `owner`'s key for `service` as refused by the API (401): their jobs wait for a new key."""
        now = self.clock.wall()
        await self._run(
            lambda sql: sql.execute(
                "UPDATE person_keys SET rejected_at=? WHERE owner=? AND service=?", (now, owner, service)
            )
        )

    async def rejected(self, owner: str, service: Service) -> bool:
        """Whether the API refused `owner`'s stored key for `service` (and no new key came since)."""
        row = await self._run(
            lambda sql: sql.execute(
                "SELECT rejected_at FROM person_keys WHERE owner=? AND service=?", (owner, service)
            ).fetchone()
        )
        return row is not None and row[0] is not None

    async def forget(self, owner: str) -> int:
        """Delete every key sealed for `owner` (the person signed out); how many."""
        return await self._run(lambda sql: sql.execute("DELETE FROM person_keys WHERE owner=?", (owner,)).rowcount)

    async def prune(self, grace_seconds: float) -> int:
        """Delete the keys of owners not seen for `grace_seconds` whose jobs have all settled; how many.

        The journal's `jobs` table is in the same database (the journal is opened first)."""
        cutoff = self.clock.wall() - grace_seconds
        return await self._run(
            lambda sql: (
                sql.execute(
                    "DELETE FROM person_keys WHERE seen_at < ? AND owner NOT IN "
                    "(SELECT key_fingerprint FROM jobs WHERE terminal=0)",
                    (cutoff,),
                ).rowcount
            )
        )


def _aad(owner: str, service: Service) -> bytes:
    return f"{owner}\n{service}".encode()
