"""The job journal: one SQLite row per job, so nothing is lost across restarts.

SQLite in WAL mode lets two server processes (two host windows) share one home: each write is a
short transaction and readers never block writers. Calls run on a worker thread so the event
loop never waits on the disk. Keys are never stored, only a short fingerprint per job.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, get_args

import anyio.to_thread
from pydantic import ValidationError

from .snapshot import JobKind, JobSnapshot, quarantined_snapshot

log = logging.getLogger("mosaic_mcp.journal")

T = TypeVar("T")

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id          TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    key_fingerprint TEXT NOT NULL,
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL,
    viewed_at       REAL NOT NULL,
    request_summary TEXT NOT NULL,
    snapshot        TEXT NOT NULL,
    terminal        INTEGER NOT NULL DEFAULT 0,
    parent_job_id   TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_created ON jobs (created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_live ON jobs (terminal, kind);
"""

SELECT = (
    "SELECT job_id, kind, key_fingerprint, created_at, updated_at, viewed_at, request_summary, "
    "snapshot, parent_job_id FROM jobs"
)


@dataclass
class JobRecord:
    """One journaled job."""

    job_id: str
    kind: JobKind
    key_fingerprint: str
    snapshot: JobSnapshot
    request_summary: dict[str, Any] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    viewed_at: float = field(default_factory=time.time)
    parent_job_id: str | None = None

    @property
    def terminal(self) -> bool:
        """Whether the job is settled (no more polling)."""
        return self.snapshot.settled


class Journal:
    """Async access to the SQLite job journal at `path`."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # One connection, used from worker threads one call at a time (the lock).
        self._db = sqlite3.connect(path, timeout=10.0, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            with self._lock:
                return fn(self._db)

        return await anyio.to_thread.run_sync(call)

    async def close(self) -> None:
        """Close the database."""
        await self._run(lambda db: db.close())

    async def add(self, record: JobRecord) -> bool:
        """Insert a job; False when it was already journaled (e.g. by another process)."""
        row = (
            record.job_id,
            record.kind,
            record.key_fingerprint,
            record.created_at,
            record.updated_at,
            record.viewed_at,
            json.dumps(record.request_summary),
            record.snapshot.model_dump_json(),
            int(record.terminal),
            record.parent_job_id,
        )

        def insert(db: sqlite3.Connection) -> bool:
            cursor = db.execute("INSERT OR IGNORE INTO jobs VALUES (?,?,?,?,?,?,?,?,?,?)", row)
            return cursor.rowcount == 1

        return await self._run(insert)

    async def save_snapshot(self, job_id: str, snapshot: JobSnapshot) -> None:
        """Store a job's newest snapshot (and whether it is settled)."""
        data = snapshot.model_dump_json()
        now = time.time()
        await self._run(
            lambda db: db.execute(
                "UPDATE jobs SET snapshot=?, terminal=?, updated_at=? WHERE job_id=?",
                (data, int(snapshot.settled), now, job_id),
            )
        )

    async def save_snapshots(self, items: Sequence[tuple[str, JobSnapshot]]) -> None:
        """Store many jobs' newest snapshots in one transaction (one poll cycle's changes)."""
        now = time.time()
        rows = [(snap.model_dump_json(), int(snap.settled), now, job_id) for job_id, snap in items]

        def write(db: sqlite3.Connection) -> None:
            # Autocommit connection: open the transaction ourselves, so the batch costs one commit.
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("UPDATE jobs SET snapshot=?, terminal=?, updated_at=? WHERE job_id=?", rows)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

        await self._run(write)

    async def touch(self, job_id: str) -> None:
        """Note that someone asked about the job (keeps its polling brisk)."""
        now = time.time()
        await self._run(lambda db: db.execute("UPDATE jobs SET viewed_at=? WHERE job_id=?", (now, job_id)))

    async def get(self, job_id: str) -> JobRecord | None:
        """One job, or None."""
        rows = await self._select("WHERE job_id=?", (job_id,))
        return rows[0] if rows else None

    async def recent(self, *, limit: int = 50, fingerprints: Sequence[str] | None = None) -> list[JobRecord]:
        """Jobs newest first, optionally only those started with the given key fingerprints."""
        if fingerprints is None:
            return await self._select("ORDER BY created_at DESC LIMIT ?", (limit,))
        marks = ",".join("?" * len(fingerprints))
        return await self._select(
            f"WHERE key_fingerprint IN ({marks}) ORDER BY created_at DESC LIMIT ?",
            (*fingerprints, limit),
        )

    async def live(self) -> list[JobRecord]:
        """Jobs that are not settled yet, oldest first (a row that cannot be read is settled as quarantined)."""
        return [r for r in await self._select("WHERE terminal=0 ORDER BY created_at", ()) if not r.snapshot.settled]

    async def _select(self, where: str, args: Sequence[object]) -> list[JobRecord]:
        query = f"{SELECT} {where}"  # `where` is always ours; values are bound parameters
        rows = await self._run(lambda db: db.execute(query, tuple(args)).fetchall())
        return [_record(row) for row in rows]


KINDS: frozenset[str] = frozenset(get_args(JobKind))

_reported: set[str] = set()  # rows already warned about: one warning per row and process, not per read


def _record(row: Sequence[Any]) -> JobRecord:
    """A journal row as a record; a row that cannot be decoded comes back quarantined (the row is left as is)."""
    try:
        return _decode(row)
    except _Undecodable as exc:
        return _quarantined(row, exc.reason)
    except (ValueError, TypeError, KeyError) as exc:  # anything else a hand-edited or foreign row can hold
        return _quarantined(row, f"its journal row cannot be read ({type(exc).__name__})")


class _Undecodable(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _decode(row: Sequence[Any]) -> JobRecord:
    job_id, kind = row[0], row[1]
    if not isinstance(job_id, str) or not job_id:
        raise _Undecodable("its journal row has no usable job id")
    if kind not in KINDS:
        raise _Undecodable(f"its journal row has an unknown kind ({_short(kind)}; written by another version?)")
    try:
        summary = json.loads(row[6])
    except (TypeError, ValueError):
        raise _Undecodable("its journal row's request summary is not valid JSON") from None
    if not isinstance(summary, dict):
        raise _Undecodable("its journal row's request summary is not a JSON object")
    try:
        snapshot = JobSnapshot.model_validate_json(row[7])
    except (TypeError, ValidationError):
        raise _Undecodable("its journal row's snapshot cannot be read (not valid snapshot JSON)") from None
    return JobRecord(
        job_id=job_id,
        kind=kind,
        key_fingerprint=str(row[2]),
        created_at=float(row[3]),
        updated_at=float(row[4]),
        viewed_at=float(row[5]),
        request_summary=summary,
        snapshot=snapshot,
        parent_job_id=row[8] if isinstance(row[8], str) else None,
    )


def _quarantined(row: Sequence[Any], reason: str) -> JobRecord:
    job_id = row[0] if isinstance(row[0], str) else str(row[0])
    kind: JobKind = row[1] if row[1] in KINDS else _stored_kind(row[7])
    if job_id not in _reported:
        _reported.add(job_id)
        log.warning("journal row for job %s is quarantined: %s", _short(job_id), reason)
    return JobRecord(
        job_id=job_id,
        kind=kind,
        key_fingerprint=str(row[2]),
        created_at=_number(row[3]),
        updated_at=_number(row[4]),
        viewed_at=_number(row[5]),
        request_summary={},
        snapshot=quarantined_snapshot(kind, job_id, reason),
        parent_job_id=row[8] if isinstance(row[8], str) else None,
    )


def _stored_kind(snapshot_json: object) -> JobKind:
    """The kind the stored snapshot names, when it is readable and known; else a Mosaic run."""
    try:
        kind = json.loads(snapshot_json).get("kind")  # type: ignore[arg-type]
    except (TypeError, ValueError, AttributeError):
        return "mosaic_run"
    return kind if kind in KINDS else "mosaic_run"


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


def _short(value: object, limit: int = 80) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"
