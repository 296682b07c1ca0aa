"""Poll leases: which replica follows which scope's jobs, so each live job is polled by exactly one.

A scope is what one poller's sweep covers: a key's fingerprint (token mode), a person's owner id
(remote modes) — the `key_fingerprint` every job record carries. A replica polls the jobs of the
scopes it holds and leaves the others alone; the run-list sweep of a key so happens once per cycle
across the deployment. A lease is a row (scope, holder, expires_at): a claim takes a scope that is
free or expired, or renews one the claimant already holds, in one upsert. The holder renews well
before expiry; a replica that dies stops renewing and loses its leases within `lease_seconds`; the
next claim of a survivor takes them over. Expiry is stamped from the claimant's `Clock` (wall
time), so replicas' clocks must agree to well within the lease time (NTP does).

Each holder also keeps a `replica:<id>` row while it lives: the reconciler asks `alive(replica)`
before settling a write-ahead intent another replica opened (it may still be sending it).

Two implementations: `DatabaseLeases` (a `Database`: PostgreSQL for a cluster, or an SQLite file
shared by processes on one machine) and `LocalLeases` (one process: it holds every scope, nothing
is written, so a single server behaves as it always has).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Protocol

from ..database import Database, Schema, Sql
from .clock import SYSTEM_CLOCK, Clock

LEASE_SECONDS = 20.0
"""How long a lease lasts unless renewed (`PollTiming.lease_seconds` is what the poller uses): with renewals every
5 s, a dead replica's jobs are taken over within 25 s, inside the 30 s issue 14 allows."""
FORGET_EXPIRED_SECONDS = 3600.0
"""Rows expired this long ago (dead replicas' liveness rows, scopes nobody wanted since) are deleted."""
REPLICA_PREFIX = "replica:"
CHUNK = 200
"""Scopes per claim statement (well below either engine's bound-parameter limit)."""


def _create(sql: Sql) -> None:
    when = "REAL" if sql.dialect == "sqlite" else "DOUBLE PRECISION"
    sql.execute(
        f"CREATE TABLE IF NOT EXISTS leases (scope TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at {when} NOT NULL)"
    )
    sql.execute("CREATE INDEX IF NOT EXISTS leases_by_holder ON leases (holder, expires_at)")


LEASES_SCHEMA = Schema("leases", sqlite=[_create], postgres=[_create])

CLAIM = (
    "INSERT INTO leases (scope, holder, expires_at) VALUES {values} "
    "ON CONFLICT (scope) DO UPDATE SET holder=excluded.holder, expires_at=excluded.expires_at "
    "WHERE leases.holder=excluded.holder OR leases.expires_at <= ? RETURNING scope"
)


class Leases(Protocol):
    """What the poller and the reconciler need of leases."""

    @property
    def replica(self) -> str:
        """This process's holder id (random per start; not secret)."""
        ...

    @property
    def shared(self) -> bool:
        """Whether other processes take part (False: this process holds everything)."""
        ...

    async def claim(self, scopes: Iterable[str]) -> set[str]:
        """Take or renew these scopes where free, expired or ours; the ones held now. Raises when unreachable."""
        ...

    def holds(self, scope: str) -> bool:
        """Whether this process holds `scope` now, by its last claim (no I/O; false once it would have expired)."""
        ...

    async def release(self, scopes: Iterable[str] | None = None) -> None:
        """Give these scopes up (all of them, and the liveness row, when None: a clean shutdown)."""
        ...

    async def alive(self, replica: str) -> bool:
        """Whether the replica with this holder id still renews its leases."""
        ...


class LocalLeases:
    """One process alone: it holds every scope and is the only replica alive."""

    shared = False

    def __init__(self) -> None:
        self.replica = uuid.uuid4().hex

    async def claim(self, scopes: Iterable[str]) -> set[str]:
        return set(scopes)

    def holds(self, scope: str) -> bool:
        return True

    async def release(self, scopes: Iterable[str] | None = None) -> None:
        return None

    async def alive(self, replica: str) -> bool:
        return replica == self.replica


class DatabaseLeases:
    """Leases in the `leases` table of `db` (migrate `LEASES_SCHEMA` first), stamped by `clock`."""

    shared = True

    def __init__(self, db: Database, *, clock: Clock = SYSTEM_CLOCK, lease_seconds: float = LEASE_SECONDS) -> None:
        self.db = db
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.replica = uuid.uuid4().hex
        self._held: dict[str, float] = {}  # scope -> monotonic time until which it is surely ours

    @property
    def liveness(self) -> str:
        """The row that says this replica is alive."""
        return REPLICA_PREFIX + self.replica

    async def claim(self, scopes: Iterable[str]) -> set[str]:
        wanted = sorted({*scopes, self.liveness})
        started = self.clock.monotonic()
        now = self.clock.wall()
        expires = now + self.lease_seconds
        won = await self.db.run(lambda sql: _claim(sql, wanted, self.replica, now, expires))
        for scope in wanted:
            if scope in won:
                self._held[scope] = started + self.lease_seconds
            else:
                self._held.pop(scope, None)
        won.discard(self.liveness)
        return won

    def holds(self, scope: str) -> bool:
        until = self._held.get(scope)
        return until is not None and self.clock.monotonic() < until

    async def release(self, scopes: Iterable[str] | None = None) -> None:
        if scopes is None:
            self._held.clear()
            await self.db.run(lambda sql: sql.execute("DELETE FROM leases WHERE holder=?", (self.replica,)))
            return
        gone = sorted(set(scopes) - {self.liveness})
        for scope in gone:
            self._held.pop(scope, None)
        if gone:
            await self.db.run(lambda sql: _release(sql, gone, self.replica))

    async def alive(self, replica: str) -> bool:
        if replica == self.replica:
            return True
        now = self.clock.wall()
        row = await self.db.run(
            lambda sql: sql.execute(
                "SELECT 1 FROM leases WHERE scope=? AND holder=? AND expires_at > ?",
                (REPLICA_PREFIX + replica, replica, now),
            ).fetchone()
        )
        return row is not None


def _claim(sql: Sql, scopes: list[str], holder: str, now: float, expires: float) -> set[str]:
    """Claim or renew `scopes` for `holder` in one transaction; forget rows long expired."""
    won: set[str] = set()
    with sql.transaction():
        sql.execute("DELETE FROM leases WHERE expires_at < ?", (now - FORGET_EXPIRED_SECONDS,))
        for start in range(0, len(scopes), CHUNK):
            chunk = scopes[start : start + CHUNK]
            values = ",".join(["(?,?,?)"] * len(chunk))
            args = [value for scope in chunk for value in (scope, holder, expires)]
            rows = sql.execute(CLAIM.format(values=values), [*args, now]).fetchall()
            won.update(str(row[0]) for row in rows)
    return won


def _release(sql: Sql, scopes: list[str], holder: str) -> None:
    with sql.transaction():
        for start in range(0, len(scopes), CHUNK):
            chunk = scopes[start : start + CHUNK]
            marks = ",".join("?" * len(chunk))
            sql.execute(f"DELETE FROM leases WHERE holder=? AND scope IN ({marks})", [holder, *chunk])  # noqa: S608
