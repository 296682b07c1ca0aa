"""The job journal: one row per job (and per write-ahead intent), so nothing is lost across restarts.

It lives in the server's database (`server/database.py`): by default the SQLite file `jobs.sqlite3`
in MOSAIC_MCP_HOME, in WAL mode, so two server processes (two host windows) share one home; with
MOSAIC_MCP_DATABASE_URL, PostgreSQL, shared by every replica. Each query is written once, as a
function of one connection (`Sql`), and runs in a worker thread so the event loop never waits on
the disk or the network. Each write is one short transaction; a poll cycle's batch is one. Keys are
never stored, only a short fingerprint per job.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast, get_args

from pydantic import ValidationError

from ..api.errors import MosaicMCPError
from ..database import Database, Schema, Sql, database_errors, open_sqlite
from .clock import SYSTEM_CLOCK, Clock
from .intents import Intent, IntentAction, IntentState
from .origins import all_origins, snapshot_origins
from .snapshot import JobKind, JobSnapshot, quarantined_snapshot

log = logging.getLogger("mosaic_mcp.journal")

T = TypeVar("T")

SCHEMA_VERSION = 2
"""SQLite's `user_version` of the journal file (kept for tools that read it; `schema_versions` rules)."""
SQLITE_TABLES = """
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
CREATE INDEX IF NOT EXISTS jobs_by_key ON jobs (key_fingerprint, created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_by_key_state ON jobs (key_fingerprint, terminal, created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (terminal, created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_settled_by_update ON jobs (terminal, updated_at);
CREATE TABLE IF NOT EXISTS intents (
    intent_id       TEXT PRIMARY KEY,
    action          TEXT NOT NULL,
    key_fingerprint TEXT NOT NULL,
    target          TEXT,
    details         TEXT NOT NULL,
    started_at      REAL NOT NULL,
    state           TEXT NOT NULL,
    outcome         TEXT,
    closed_at       REAL
);
CREATE INDEX IF NOT EXISTS intents_by_state ON intents (state, started_at);
"""
"""The journal's tables as every SQLite file since version 1 has them (`IF NOT EXISTS`: older files pass)."""

POSTGRES_TABLES = """
CREATE TABLE jobs (
    job_id          TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    key_fingerprint TEXT NOT NULL,
    created_at      DOUBLE PRECISION NOT NULL,
    updated_at      DOUBLE PRECISION NOT NULL,
    viewed_at       DOUBLE PRECISION NOT NULL,
    request_summary TEXT NOT NULL,
    snapshot        TEXT NOT NULL,
    terminal        INTEGER NOT NULL DEFAULT 0,
    parent_job_id   TEXT
);
CREATE INDEX jobs_by_created ON jobs (created_at DESC);
CREATE INDEX jobs_live ON jobs (terminal, kind);
CREATE INDEX jobs_by_key ON jobs (key_fingerprint, created_at DESC);
CREATE INDEX jobs_by_key_state ON jobs (key_fingerprint, terminal, created_at DESC);
CREATE INDEX jobs_by_state ON jobs (terminal, created_at DESC);
CREATE INDEX jobs_settled_by_update ON jobs (terminal, updated_at);
CREATE TABLE intents (
    intent_id       TEXT PRIMARY KEY,
    action          TEXT NOT NULL,
    key_fingerprint TEXT NOT NULL,
    target          TEXT,
    details         TEXT NOT NULL,
    started_at      DOUBLE PRECISION NOT NULL,
    state           TEXT NOT NULL,
    outcome         TEXT,
    closed_at       DOUBLE PRECISION
);
CREATE INDEX intents_by_state ON intents (state, started_at);
"""

ORIGINS_TABLE = "CREATE TABLE IF NOT EXISTS media_origins (origin TEXT PRIMARY KEY, first_seen {real} NOT NULL)"

JOB_COLUMNS = (
    "job_id, kind, key_fingerprint, created_at, updated_at, viewed_at, request_summary, snapshot, terminal, "
    "parent_job_id"
)
INSERT_JOB = f"INSERT INTO jobs ({JOB_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (job_id) DO NOTHING"  # noqa: S608 - ours
SAVE_SNAPSHOT = "UPDATE jobs SET snapshot=?, terminal=?, updated_at=? WHERE job_id=?"
SAVE_READING = f"{SAVE_SNAPSHOT} AND (terminal=0 OR ?=1)"
"""A poll's reading: it never turns a settled row back into a live one (only a new start reopens a job)."""
INTENT_COLUMNS = "intent_id, action, key_fingerprint, target, details, started_at, state, outcome, closed_at"
INTENT_SELECT = f"SELECT {INTENT_COLUMNS} FROM intents"  # noqa: S608 - our own columns

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


class JournalWriteError(MosaicMCPError):
    """The journal could not be written (disk full, read-only folder, database down…); the message says where."""

    def __init__(self, database: Database, exc: BaseException) -> None:
        self.where = database.where
        if database.dialect == "sqlite":
            advice = "Free some space or fix the folder's permissions (or point MOSAIC_MCP_HOME at another folder)."
        else:
            advice = "Check that the database is up, has space and lets this server write (MOSAIC_MCP_DATABASE_URL)."
        super().__init__(f"The job journal in {database.where} cannot be written ({_reason(exc)}). {advice}")


POSTGRES_REASONS = {
    "53100": "the disk is full",
    "25006": "the database is read-only",
    "42501": "this server's database user may not write it",
    "57P03": "the database is starting up or shutting down",
}
"""PostgreSQL error codes (SQLSTATE) a person can act on, in their words."""


def _reason(exc: BaseException) -> str:
    """Why a write failed, for a person: SQLite's and PostgreSQL's errors in plain words (never a password)."""
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate in POSTGRES_REASONS:
        return POSTGRES_REASONS[str(sqlstate)]
    if type(exc).__module__.startswith(("psycopg", "psycopg_pool")):
        if sqlstate is None or str(sqlstate).startswith("08"):  # no answer, or a connection exception
            return "the database cannot be reached"
        return f"PostgreSQL error {sqlstate}: {_first_line(exc)}"
    text = str(exc).lower()
    if "full" in text:
        return "the disk is full"
    if "readonly" in text or "read-only" in text:
        return "the folder or file is read-only"
    if "unable to open" in text:
        return "the file cannot be opened"
    if "locked" in text or "busy" in text:
        return "another process holds it locked"
    return f"SQLite error: {exc}"


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__


class Journal:
    """Async access to the job journal; `clock` stamps what it writes.

    `source` is the SQLite file to open (and close with the journal), or an open `Database` whose
    journal tables are migrated (`storage.STORE_SCHEMAS`), shared with other stores and left open.
    """

    def __init__(self, source: Path | Database, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self._owned = isinstance(source, Path)
        self.database: Database = (
            open_sqlite(source, schemas=[JOURNAL_SCHEMA], pragmas=SQLITE_PRAGMAS)
            if isinstance(source, Path)
            else source
        )
        self._errors = database_errors()

    @property
    def where(self) -> str:
        """Where the journal is, for messages: its folder, or PostgreSQL's host and database."""
        return self.database.where

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        """The exception classes a failed statement raises on this journal's backend."""
        return self._errors

    async def _run(self, fn: Callable[[Sql], T]) -> T:
        return await self.database.run(fn)

    async def _write(self, fn: Callable[[Sql], T]) -> T:
        """A write that must succeed before anything is sent upstream: errors say where the journal is."""
        try:
            return await self._run(fn)
        except self._errors as exc:
            raise JournalWriteError(self.database, exc) from None

    async def close(self) -> None:
        """Close the database, when the journal opened it (a shared one stays open)."""
        if self._owned:
            await self.database.close()

    async def add(self, record: JobRecord) -> bool:
        """Insert a job; False when it was already journaled (e.g. by another process)."""
        row = _job_row(record)
        return await self._run(lambda sql: sql.execute(INSERT_JOB, row).rowcount == 1)

    async def save_snapshot(self, job_id: str, snapshot: JobSnapshot) -> None:
        """Store a job's newest snapshot (and whether it is settled)."""
        data = snapshot.model_dump_json()
        now = self.clock.wall()

        def write(sql: Sql) -> None:
            sql.execute(SAVE_SNAPSHOT, (data, int(snapshot.settled), now, job_id))
            _note_origins(sql, snapshot_origins(snapshot), now)

        await self._run(write)

    async def save_snapshots(self, items: Sequence[tuple[str, JobSnapshot]]) -> None:
        """Store many jobs' newest readings in one transaction (one poll cycle's changes).

        A reading that is not settled leaves a row already settled as it is: reads overlap, and one taken
        before the job settled may arrive after (a job is reopened only by `save_snapshot`, a new start)."""
        now = self.clock.wall()
        rows = [(snap.model_dump_json(), int(snap.settled), now, job_id, int(snap.settled)) for job_id, snap in items]

        def write(sql: Sql) -> None:
            with sql.transaction():  # the batch costs one commit
                sql.executemany(SAVE_READING, rows)
                _note_origins(sql, all_origins(snap for _, snap in items), now)

        await self._run(write)

    async def touch(self, job_id: str) -> None:
        """Note that someone asked about the job (keeps its polling brisk)."""
        now = self.clock.wall()
        await self._run(lambda sql: sql.execute("UPDATE jobs SET viewed_at=? WHERE job_id=?", (now, job_id)))

    async def get(self, job_id: str) -> JobRecord | None:
        """One job, or None."""
        rows = await self._select("WHERE job_id=?", (job_id,))
        return rows[0] if rows else None

    async def recent(
        self, *, limit: int = 50, fingerprints: Sequence[str] | None = None, active_only: bool = False
    ) -> list[JobRecord]:
        """Jobs newest first, optionally only those started with the given key fingerprints, and
        with `active_only` only unsettled ones (filtered before the limit, so no live job is hidden).

        Each fingerprint is read through its own index range and the ranges merged in SQL: the cost
        follows `limit`, not how many jobs older keys left in the journal.
        """
        state = "terminal=0" if active_only else ""
        if fingerprints is None:
            where = f"WHERE {state} " if state else ""
            records = await self._select(f"{where}ORDER BY created_at DESC LIMIT ?", (limit,))
        elif not fingerprints:
            return []
        else:
            one = f"SELECT * FROM ({SELECT} WHERE key_fingerprint=?{' AND ' + state if state else ''} "  # noqa: S608 - ours
            ranges = " UNION ALL ".join(
                one + f"ORDER BY created_at DESC LIMIT ?) AS r{i}" for i in range(len(fingerprints))
            )
            args = [value for fp in fingerprints for value in (fp, limit)]
            records = await self._query(f"{ranges} ORDER BY created_at DESC LIMIT ?", (*args, limit))
        # A row that cannot be read is quarantined (settled) even when its column says live.
        return [r for r in records if not r.snapshot.settled] if active_only else records

    async def live(self) -> list[JobRecord]:
        """Jobs that are not settled yet, oldest first (a row that cannot be read is settled as quarantined)."""
        return [r for r in await self._select("WHERE terminal=0 ORDER BY created_at", ()) if not r.snapshot.settled]

    async def prune(self, retention_days: float, *, batch: int = 1000) -> int:
        """Delete settled jobs whose last reading is older than `retention_days`; returns how many.

        Only rows stored as settled are candidates (`terminal=1`): an unsettled job, or a row that
        cannot be read, is never removed. Deletes run in batches, each its own short transaction,
        so other calls (and other processes) interleave. `retention_days` 0 keeps everything.
        """
        if retention_days <= 0:
            return 0
        cutoff = self.clock.wall() - retention_days * 86400.0
        removed = 0
        while True:
            count = await self._run(
                lambda sql: (
                    sql.execute(
                        "DELETE FROM jobs WHERE job_id IN "
                        "(SELECT job_id FROM jobs WHERE terminal=1 AND updated_at < ? LIMIT ?)",
                        (cutoff, batch),
                    ).rowcount
                )
            )
            removed += count
            if count < batch:
                break
        if removed:
            log.info("journal: removed %d settled job(s) older than %g days", removed, retention_days)
        return removed

    async def media_origins(self) -> list[str]:
        """Every media origin seen in a journaled snapshot's outputs and thumbnails, sorted (the card's CSP)."""
        rows = await self._run(lambda sql: sql.execute("SELECT origin FROM media_origins").fetchall())
        return sorted(row[0] for row in rows)  # in Python: the same order whatever the database's collation

    # ------------------------------------------------------------------ write-ahead intents

    async def open_intent(self, intent: Intent) -> None:
        """Record that a job-creating or paying request is about to be sent (raises JournalWriteError)."""
        row = (
            intent.intent_id,
            intent.action,
            intent.key_fingerprint,
            intent.target,
            json.dumps(intent.details),
            intent.started_at,
            intent.state,
            intent.outcome,
            intent.closed_at,
        )
        query = f"INSERT INTO intents ({INTENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)"  # noqa: S608 - our columns
        await self._write(lambda sql: sql.execute(query, row))

    async def close_intent(self, intent: Intent, state: IntentState, outcome: str | None) -> None:
        """Close (or re-label) an intent: it became nothing (`failed`), or may exist (`may_exist`)."""
        intent.state, intent.outcome, intent.closed_at = state, outcome, self.clock.wall()
        await self._write(
            lambda sql: sql.execute(
                "UPDATE intents SET state=?, outcome=?, closed_at=? WHERE intent_id=?",
                (state, outcome, intent.closed_at, intent.intent_id),
            )
        )

    async def finish_intent(self, intent: Intent, record: JobRecord) -> bool:
        """The intent became a job: journal the job and close the intent in one transaction.

        True when the job is new to the journal (a follow-up that kept its parent's id is not)."""
        intent.state, intent.outcome, intent.closed_at = "done", record.job_id, self.clock.wall()
        row = _job_row(record)

        def write(sql: Sql) -> bool:
            with sql.transaction():
                inserted = sql.execute(INSERT_JOB, row).rowcount
                if not inserted:  # a follow-up that reuses its parent's id makes the job live again
                    sql.execute(SAVE_SNAPSHOT, (row[7], row[8], row[4], row[0]))
                sql.execute(
                    "UPDATE intents SET state='done', outcome=?, closed_at=? WHERE intent_id=?",
                    (record.job_id, intent.closed_at, intent.intent_id),
                )
            return bool(inserted)

        return await self._write(write)

    async def intents(
        self,
        states: Sequence[IntentState],
        *,
        fingerprints: Sequence[str] | None = None,
        since: float = 0.0,
        actions: Sequence[IntentAction] | None = None,
    ) -> list[Intent]:
        """Intents in the given states started after `since`, newest first."""
        where = [f"state IN ({','.join('?' * len(states))})", "started_at >= ?"]
        args: list[object] = [*states, since]
        if fingerprints is not None:
            where.append(f"key_fingerprint IN ({','.join('?' * len(fingerprints))})")
            args.extend(fingerprints)
        if actions is not None:
            where.append(f"action IN ({','.join('?' * len(actions))})")
            args.extend(actions)
        query = f"{INTENT_SELECT} WHERE {' AND '.join(where)} ORDER BY started_at DESC"
        rows = await self._run(lambda sql: sql.execute(query, tuple(args)).fetchall())
        return [_intent(row) for row in rows]

    async def known_job_ids(self, job_ids: Sequence[str]) -> set[str]:
        """Which of these ids this journal already tracks."""
        if not job_ids:
            return set()
        query = f"SELECT job_id FROM jobs WHERE job_id IN ({','.join('?' * len(job_ids))})"  # noqa: S608 - marks only
        rows = await self._run(lambda sql: sql.execute(query, tuple(job_ids)).fetchall())
        return {row[0] for row in rows}

    async def _select(self, where: str, args: Sequence[object]) -> list[JobRecord]:
        return await self._query(f"{SELECT} {where}", args)  # `where` is always ours; values are bound

    async def _query(self, query: str, args: Sequence[object]) -> list[JobRecord]:
        """Records from a query of ours that returns `SELECT`'s columns; values are bound parameters."""
        rows = await self._run(lambda sql: sql.execute(query, tuple(args)).fetchall())
        return [_record(row, self.clock) for row in rows]


def _note_origins(sql: Sql, origins: set[str], now: float) -> None:
    """Remember media origins (inside the caller's statement or transaction)."""
    if origins:
        sql.executemany(
            "INSERT INTO media_origins (origin, first_seen) VALUES (?, ?) ON CONFLICT (origin) DO NOTHING",
            [(o, now) for o in sorted(origins)],
        )


def _ensure_origins(sql: Sql) -> None:
    """SQLite: create the media-origins table; a journal file from before it learns the origins its snapshots show."""
    if sql.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='media_origins'").fetchone():
        return  # a file of the last version without `schema_versions`: its table is complete
    sql.execute(ORIGINS_TABLE.format(real="REAL"))
    seen: set[str] = set()
    for (text,) in sql.execute("SELECT snapshot FROM jobs").fetchall():
        try:
            seen |= snapshot_origins(JobSnapshot.model_validate_json(text))
        except ValidationError:
            continue  # an unreadable row is quarantined when it is read; it shows no media
    _note_origins(sql, seen, time.time())


JOURNAL_SCHEMA = Schema(
    "journal",
    sqlite=[SQLITE_TABLES, _ensure_origins],
    postgres=[POSTGRES_TABLES, ORIGINS_TABLE.format(real="DOUBLE PRECISION")],
)
"""The jobs, intents and media-origins tables. SQLite's steps accept every file written before versions
were recorded (their `IF NOT EXISTS` and the back-fill's check make them no-ops on what is there)."""
SQLITE_PRAGMAS = ("synchronous=NORMAL", f"user_version={SCHEMA_VERSION}")
"""The journal file's own pragmas: WAL makes NORMAL durable across crashes of the process."""


def _job_row(record: JobRecord) -> tuple[object, ...]:
    return (
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


def _intent(row: Sequence[Any]) -> Intent:
    return Intent(
        intent_id=row[0],
        action=cast(IntentAction, row[1]),
        key_fingerprint=row[2],
        target=row[3],
        details=json.loads(row[4]),
        started_at=row[5],
        state=cast(IntentState, row[6]),
        outcome=row[7],
        closed_at=row[8],
    )


KINDS: frozenset[str] = frozenset(get_args(JobKind))

_reported: set[str] = set()  # rows already warned about: one warning per row and process, not per read


def _record(row: Sequence[Any], clock: Clock) -> JobRecord:
    """A journal row as a record; a row that cannot be decoded comes back quarantined (the row is left as is)."""
    try:
        return _decode(row)
    except _Undecodable as exc:
        return _quarantined(row, exc.reason, clock)
    except (ValueError, TypeError, KeyError) as exc:  # anything else a hand-edited or foreign row can hold
        return _quarantined(row, f"its journal row cannot be read ({type(exc).__name__})", clock)


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


def _quarantined(row: Sequence[Any], reason: str, clock: Clock) -> JobRecord:
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
        snapshot=quarantined_snapshot(kind, job_id, reason, clock=clock),
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
