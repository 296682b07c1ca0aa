"""The job journal: durable, ordered, shared safely between processes, alike on SQLite and PostgreSQL."""

import sqlite3
import sys
import textwrap
from contextlib import closing
from pathlib import Path
from urllib.parse import quote

import anyio
import pytest

from mosaic_mcp.server.database import Database, Sql, describe_url, open_postgres
from mosaic_mcp.server.jobs.clock import ManualClock
from mosaic_mcp.server.jobs.intents import Intent
from mosaic_mcp.server.jobs.journal import JobRecord, Journal, JournalWriteError
from mosaic_mcp.server.jobs.snapshot import QUARANTINED, JobOutput, pending_snapshot
from mosaic_mcp.server.storage import STORE_SCHEMAS

pytestmark = pytest.mark.anyio


def record(job_id: str, *, created: float = 0.0, fingerprint: str = "fp1") -> JobRecord:
    return JobRecord(
        job_id=job_id,
        kind="mosaic_run",
        key_fingerprint=fingerprint,
        snapshot=pending_snapshot("mosaic_run", job_id, "running"),
        request_summary={"agent_id": "a1"},
        created_at=created,
    )


async def test_add_then_get_round_trips(store_source: Path | Database) -> None:
    """A journaled job comes back with its snapshot and request summary."""
    journal = Journal(store_source)
    assert await journal.add(record("r1"))
    got = await journal.get("r1")
    assert got is not None
    assert got.snapshot.status == "running"
    assert got.request_summary == {"agent_id": "a1"}
    await journal.close()


async def test_add_twice_keeps_the_first(store_source: Path | Database) -> None:
    """Adding a known job id reports False and changes nothing."""
    journal = Journal(store_source)
    assert await journal.add(record("r1"))
    assert not await journal.add(record("r1", created=99.0))
    got = await journal.get("r1")
    assert got is not None and got.created_at == 0.0
    await journal.close()


async def test_recent_is_newest_first_and_filtered_by_key(store_source: Path | Database) -> None:
    """recent() orders by creation, newest first, and keeps other keys' jobs out."""
    journal = Journal(store_source)
    for i, fp in enumerate(["fp1", "fp2", "fp1"]):
        await journal.add(record(f"r{i}", created=float(i), fingerprint=fp))
    assert [r.job_id for r in await journal.recent()] == ["r2", "r1", "r0"]
    assert [r.job_id for r in await journal.recent(fingerprints=["fp1"])] == ["r2", "r0"]
    assert [r.job_id for r in await journal.recent(limit=1)] == ["r2"]
    await journal.close()


async def test_settled_jobs_leave_the_live_set(store_source: Path | Database) -> None:
    """A snapshot marked settled takes the job out of live()."""
    journal = Journal(store_source)
    await journal.add(record("r1"))
    await journal.add(record("r2"))
    done = pending_snapshot("mosaic_run", "r1", "completed").model_copy(update={"settled": True})
    await journal.save_snapshot("r1", done)
    assert [r.job_id for r in await journal.live()] == ["r2"]
    await journal.close()


async def test_survives_reopening(store_source: Path | Database) -> None:
    """A second Journal on the same database (a restarted server) sees every job."""
    first = Journal(store_source)
    await first.add(record("r1"))
    await first.close()
    second = Journal(store_source)
    assert [r.job_id for r in await second.live()] == ["r1"]
    await second.close()


async def test_two_processes_share_one_home(tmp_path: Path) -> None:
    """Two processes writing at once (two host windows) lose nothing and corrupt nothing."""
    path = tmp_path / "jobs.sqlite3"
    journal = Journal(path)
    writer = textwrap.dedent(
        f"""
        import anyio
        from pathlib import Path
        from mosaic_mcp.server.jobs.journal import JobRecord, Journal
        from mosaic_mcp.server.jobs.snapshot import QUARANTINED, pending_snapshot
        async def main():
            j = Journal(Path({str(path)!r}))
            for i in range(150):
                snap = pending_snapshot("motion_session", f"other-{{i}}", "queued")
                await j.add(JobRecord(f"other-{{i}}", "motion_session", "fp2", snap))
                await j.save_snapshot(f"other-{{i}}", snap)
            await j.close()
        anyio.run(main)
        """
    )
    proc = await anyio.open_process([sys.executable, "-c", writer], stdout=None, stderr=None)
    for i in range(150):
        await journal.add(record(f"mine-{i}", created=float(i)))
        await journal.touch(f"mine-{i}")
    with anyio.fail_after(60):
        assert await proc.wait() == 0
    assert len(await journal.recent(limit=1000)) == 300
    await journal.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def test_save_snapshots_writes_a_batch(store_source: Path | Database) -> None:
    """save_snapshots stores every snapshot of the batch, settled ones leaving live()."""
    journal = Journal(store_source)
    for i in range(3):
        await journal.add(record(f"r{i}", created=float(i)))
    done = [
        (f"r{i}", pending_snapshot("mosaic_run", f"r{i}", "completed").model_copy(update={"settled": True}))
        for i in range(2)
    ]
    await journal.save_snapshots(done)
    assert [r.job_id for r in await journal.live()] == ["r2"]
    stored = await journal.get("r0")
    assert stored is not None and stored.snapshot.status == "completed"
    await journal.close()


async def test_a_late_reading_never_reopens_a_settled_job(store_source: Path | Database) -> None:
    """A poll's reading taken before the job settled and written after leaves the settled row as it is."""
    journal = Journal(store_source)
    await journal.add(record("r1"))
    done = pending_snapshot("mosaic_run", "r1", "completed").model_copy(update={"settled": True})
    await journal.save_snapshots([("r1", done)])
    await journal.save_snapshots([("r1", pending_snapshot("mosaic_run", "r1", "running"))])
    stored = await journal.get("r1")
    assert stored is not None and stored.snapshot.status == "completed" and stored.snapshot.settled
    assert await journal.live() == []
    await journal.close()


async def spoil(journal: Journal, job_id: str, **columns: object) -> None:
    """Overwrite columns of a journaled row behind the journal's back (another version, a hand edit)."""

    def write(sql: Sql) -> None:
        for column, value in columns.items():
            sql.execute(f"UPDATE jobs SET {column}=? WHERE job_id=?", (value, job_id))

    await journal.database.run(write)


@pytest.mark.parametrize(
    ("columns", "reason"),
    [
        ({"snapshot": "{not json"}, "snapshot cannot be read"),
        ({"snapshot": '{"job_id": "r1"}'}, "snapshot cannot be read"),
        ({"kind": "future_job"}, "unknown kind"),
        ({"request_summary": "[oops"}, "request summary"),
        ({"created_at": "yesterday"}, "cannot be read"),
    ],
    ids=["bad-json", "bad-snapshot", "unknown-kind", "bad-summary", "bad-number"],
)
async def test_an_undecodable_row_is_quarantined_not_raised(
    store_source: Path | Database, columns: dict[str, object], reason: str
) -> None:
    """A row that cannot be decoded comes back as a quarantined job saying why; the other rows are unharmed,
    the row is left as it is, and it leaves the live set so nobody polls it."""
    journal = Journal(store_source)
    await journal.add(record("r1", created=1.0))
    await journal.add(record("r2", created=2.0))
    if journal.database.dialect == "postgres" and "created_at" in columns:
        # PostgreSQL's typed column refuses such a number at the door: the row cannot come to exist there.
        with pytest.raises(journal.errors):
            await spoil(journal, "r1", **columns)
        await journal.close()
        return
    await spoil(journal, "r1", **columns)
    listed = await journal.recent()
    assert sorted(r.job_id for r in listed) == ["r1", "r2"]
    bad = await journal.get("r1")
    assert bad is not None and bad.snapshot.status == QUARANTINED and bad.snapshot.settled
    assert reason in bad.snapshot.errors[0]
    assert bad.key_fingerprint == "fp1"
    assert [r.job_id for r in await journal.live()] == ["r2"]
    stored = await journal.database.run(  # untouched: a newer version (or a person) can still read it
        lambda sql: sql.execute(
            "SELECT kind, snapshot, request_summary, created_at FROM jobs WHERE job_id='r1'"
        ).fetchone()
    )
    expected = {"kind": "mosaic_run", "request_summary": '{"agent_id": "a1"}', "created_at": 1.0} | columns
    assert stored[0] == expected["kind"] and stored[2] == expected["request_summary"]
    assert stored[3] == expected["created_at"]
    if "snapshot" in columns:
        assert stored[1] == columns["snapshot"]
    await journal.close()


def settled(job_id: str, *, created: float = 0.0, fingerprint: str = "fp1") -> JobRecord:
    """A settled (completed) job record."""
    done = pending_snapshot("mosaic_run", job_id, "completed").model_copy(update={"settled": True})
    return JobRecord(job_id=job_id, kind="mosaic_run", key_fingerprint=fingerprint, snapshot=done, created_at=created)


async def test_active_only_filters_before_the_limit(store_source: Path | Database) -> None:
    """recent(active_only=True) returns every live job even when many newer settled ones exist."""
    journal = Journal(store_source)
    for i in range(5):
        await journal.add(record(f"live{i}", created=float(i)))
    for i in range(100):
        await journal.add(settled(f"done{i}", created=100.0 + i))
    active = await journal.recent(limit=20, fingerprints=["fp1"], active_only=True)
    assert [r.job_id for r in active] == [f"live{i}" for i in reversed(range(5))]
    assert [r.job_id for r in await journal.recent(limit=3, active_only=True)] == ["live4", "live3", "live2"]
    assert len(await journal.recent(limit=20, fingerprints=["fp1"])) == 20
    await journal.close()


async def test_recent_merges_several_keys_newest_first(store_source: Path | Database) -> None:
    """With several fingerprints, recent() merges their jobs by creation time and honours the limit."""
    journal = Journal(store_source)
    for i, fp in enumerate(["a", "b", "old", "a", "b", "old", "a"]):
        await journal.add(record(f"r{i}", created=float(i), fingerprint=fp))
    assert [r.job_id for r in await journal.recent(fingerprints=["a", "b"])] == ["r6", "r4", "r3", "r1", "r0"]
    assert [r.job_id for r in await journal.recent(limit=2, fingerprints=["b", "a"])] == ["r6", "r4"]
    assert await journal.recent(fingerprints=[]) == []
    await journal.close()


async def test_listing_by_key_uses_an_index(tmp_path: Path) -> None:
    """The queries recent() and prune() make are served by an index, never a full scan of the jobs."""
    journal = Journal(tmp_path / "jobs.sqlite3")
    db = sqlite3.connect(tmp_path / "jobs.sqlite3")
    for query, args in (
        ("SELECT * FROM jobs WHERE key_fingerprint=? ORDER BY created_at DESC LIMIT 5", ("fp",)),
        ("SELECT * FROM jobs WHERE key_fingerprint=? AND terminal=0 ORDER BY created_at DESC LIMIT 5", ("fp",)),
        ("SELECT job_id FROM jobs WHERE terminal=1 AND updated_at < ? LIMIT 5", (1.0,)),
    ):
        plan = " ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {query}", args))
        assert plan.startswith("SEARCH jobs USING") and "INDEX jobs_" in plan, (query, plan)
        assert "TEMP B-TREE" not in plan, (query, plan)
    db.close()
    await journal.close()


async def test_prune_never_removes_unsettled_jobs(store_source: Path | Database) -> None:
    """prune() removes settled jobs past the retention only: live, recent and unreadable rows stay."""
    clock = ManualClock(wall=1_000 * 86400.0)
    journal = Journal(store_source, clock=clock)
    old = clock.wall() - 91 * 86400.0
    for job in (record("old-live", created=old), settled("old-done", created=old), settled("new-done", created=old)):
        await journal.add(job)
    await journal.add(record("spoiled", created=old))

    def age(sql: Sql) -> None:
        sql.execute("UPDATE jobs SET updated_at=? WHERE job_id != 'new-done'", (old,))
        sql.execute("UPDATE jobs SET updated_at=? WHERE job_id = 'new-done'", (clock.wall() - 89 * 86400.0,))
        sql.execute("UPDATE jobs SET snapshot='not json' WHERE job_id = 'spoiled'")

    await journal.database.run(age)
    assert await journal.prune(0) == 0
    assert await journal.prune(90, batch=1) == 1
    left = {r.job_id for r in await journal.recent(limit=10)}
    assert left == {"old-live", "new-done", "spoiled"}
    assert [r.job_id for r in await journal.live()] == ["old-live"]
    await journal.close()


async def test_two_replicas_on_one_database_see_each_others_jobs_and_intents(postgres_url: str) -> None:
    """Two journals, each with its own pool on one PostgreSQL database (two replicas): a job, a reading and an
    intent written by either are read by the other, and a start one opened the other can finish."""
    pools = [open_postgres(postgres_url, pool_size=2, schemas=STORE_SCHEMAS) for _ in range(2)]
    first, second = (Journal(pool) for pool in pools)
    try:
        assert await first.add(record("r1", created=1.0))
        assert not await second.add(record("r1", created=5.0))  # the other replica already journaled it
        assert [r.job_id for r in await second.live()] == ["r1"]
        done = pending_snapshot("mosaic_run", "r1", "completed").model_copy(update={"settled": True})
        await second.save_snapshots([("r1", done)])
        assert await first.live() == []
        seen = await first.get("r1")
        assert seen is not None and seen.snapshot.status == "completed" and seen.created_at == 1.0
        intent = Intent("run_agent", "fp1", "agent-1", {"video_urls": 1}, started_at=10.0)
        await first.open_intent(intent)
        [open_there] = await second.intents(["open"], fingerprints=["fp1"])
        assert open_there.intent_id == intent.intent_id and open_there.details == {"video_urls": 1}
        assert await second.finish_intent(open_there, record("r2", created=2.0))
        assert await first.intents(["open"]) == []
        assert await first.known_job_ids(["r1", "r2", "r3"]) == {"r1", "r2"}
    finally:
        for pool in pools:
            pool.close_sync()


TODAYS_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY, kind TEXT NOT NULL, key_fingerprint TEXT NOT NULL, created_at REAL NOT NULL,
    updated_at REAL NOT NULL, viewed_at REAL NOT NULL, request_summary TEXT NOT NULL, snapshot TEXT NOT NULL,
    terminal INTEGER NOT NULL DEFAULT 0, parent_job_id TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_created ON jobs (created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_live ON jobs (terminal, kind);
CREATE INDEX IF NOT EXISTS jobs_by_key ON jobs (key_fingerprint, created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_by_key_state ON jobs (key_fingerprint, terminal, created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (terminal, created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_settled_by_update ON jobs (terminal, updated_at);
CREATE TABLE IF NOT EXISTS intents (
    intent_id TEXT PRIMARY KEY, action TEXT NOT NULL, key_fingerprint TEXT NOT NULL, target TEXT,
    details TEXT NOT NULL, started_at REAL NOT NULL, state TEXT NOT NULL, outcome TEXT, closed_at REAL
);
CREATE INDEX IF NOT EXISTS intents_by_state ON intents (state, started_at);
"""
"""The journal's tables as the server wrote them before versions were recorded (`user_version` 2)."""


@pytest.mark.parametrize("origins_table", [True, False], ids=["with-media-origins", "before-media-origins"])
async def test_a_journal_file_from_before_opens_and_keeps_its_rows(tmp_path: Path, origins_table: bool) -> None:
    """An SQLite journal written before schema versions opens: its jobs, intents and media origins are kept
    (an older file without the origins table learns them from its snapshots), and it is recorded as current."""
    path = tmp_path / "jobs.sqlite3"
    shown = JobOutput(output_id="o1", video_url="https://cdn.example.com/a.mp4?sig=1")
    snapshot = pending_snapshot("mosaic_run", "old-1", "completed").model_copy(
        update={"settled": True, "outputs": [shown]}
    )
    with closing(sqlite3.connect(path)) as db:
        db.executescript(TODAYS_SQLITE_SCHEMA)
        if origins_table:
            db.execute("CREATE TABLE media_origins (origin TEXT PRIMARY KEY, first_seen REAL NOT NULL)")
            db.execute("INSERT INTO media_origins VALUES ('https://kept.example.com', 1.0)")
        db.execute("PRAGMA user_version=2")
        db.execute(
            "INSERT INTO jobs VALUES ('old-1', 'mosaic_run', 'fp1', 1.0, 2.0, 3.0, '{}', ?, 1, NULL)",
            (snapshot.model_dump_json(),),
        )
        db.execute("INSERT INTO intents VALUES ('i1', 'run_agent', 'fp1', 'a1', '{}', 4.0, 'open', NULL, NULL)")
        db.commit()
    journal = Journal(path)
    try:
        kept = await journal.get("old-1")
        assert kept is not None and kept.snapshot.outputs == [shown] and kept.viewed_at == 3.0
        assert [i.intent_id for i in await journal.intents(["open"])] == ["i1"]
        expected = ["https://kept.example.com"] if origins_table else ["https://cdn.example.com"]
        assert await journal.media_origins() == expected
        assert await journal.add(record("new-1"))
    finally:
        await journal.close()
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT version FROM schema_versions WHERE component='journal'").fetchone() == (2,)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def test_a_write_postgresql_refuses_names_the_database_and_the_reason(postgres_url: str) -> None:
    """An intent the database will not take (a read-only PostgreSQL) is a JournalWriteError naming the host and
    database and saying why in plain words."""
    open_postgres(postgres_url, pool_size=1, schemas=STORE_SCHEMAS).close_sync()
    read_only = postgres_url + quote(" -cdefault_transaction_read_only=on")  # `options` is the URL's last parameter
    database = open_postgres(read_only, pool_size=1)
    journal = Journal(database)
    try:
        with pytest.raises(JournalWriteError) as refused:
            await journal.open_intent(Intent("run_agent", "fp1", "agent-1", {}))
    finally:
        database.close_sync()
    message = str(refused.value)
    assert message.startswith(f"The job journal in {describe_url(postgres_url)} cannot be written")
    assert "(the database is read-only)" in message and "MOSAIC_MCP_DATABASE_URL" in message
