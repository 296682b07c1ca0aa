"""The job journal: durable, ordered, shared safely between processes."""

import sqlite3
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

from mosaic_mcp.server.jobs.clock import ManualClock
from mosaic_mcp.server.jobs.journal import JobRecord, Journal
from mosaic_mcp.server.jobs.snapshot import QUARANTINED, pending_snapshot

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


async def test_add_then_get_round_trips(tmp_path: Path) -> None:
    """A journaled job comes back with its snapshot and request summary."""
    journal = Journal(tmp_path / "jobs.sqlite3")
    assert await journal.add(record("r1"))
    got = await journal.get("r1")
    assert got is not None
    assert got.snapshot.status == "running"
    assert got.request_summary == {"agent_id": "a1"}
    await journal.close()


async def test_add_twice_keeps_the_first(tmp_path: Path) -> None:
    """Adding a known job id reports False and changes nothing."""
    journal = Journal(tmp_path / "jobs.sqlite3")
    assert await journal.add(record("r1"))
    assert not await journal.add(record("r1", created=99.0))
    got = await journal.get("r1")
    assert got is not None and got.created_at == 0.0
    await journal.close()


async def test_recent_is_newest_first_and_filtered_by_key(tmp_path: Path) -> None:
    """recent() orders by creation, newest first, and keeps other keys' jobs out."""
    journal = Journal(tmp_path / "jobs.sqlite3")
    for i, fp in enumerate(["fp1", "fp2", "fp1"]):
        await journal.add(record(f"r{i}", created=float(i), fingerprint=fp))
    assert [r.job_id for r in await journal.recent()] == ["r2", "r1", "r0"]
    assert [r.job_id for r in await journal.recent(fingerprints=["fp1"])] == ["r2", "r0"]
    assert [r.job_id for r in await journal.recent(limit=1)] == ["r2"]
    await journal.close()


async def test_settled_jobs_leave_the_live_set(tmp_path: Path) -> None:
    """A snapshot marked settled takes the job out of live()."""
    journal = Journal(tmp_path / "jobs.sqlite3")
    await journal.add(record("r1"))
    await journal.add(record("r2"))
    done = pending_snapshot("mosaic_run", "r1", "completed").model_copy(update={"settled": True})
    await journal.save_snapshot("r1", done)
    assert [r.job_id for r in await journal.live()] == ["r2"]
    await journal.close()


async def test_survives_reopening(tmp_path: Path) -> None:
    """A second Journal on the same file (a restarted server) sees every job."""
    first = Journal(tmp_path / "jobs.sqlite3")
    await first.add(record("r1"))
    await first.close()
    second = Journal(tmp_path / "jobs.sqlite3")
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


async def test_save_snapshots_writes_a_batch(tmp_path: Path) -> None:
    """save_snapshots stores every snapshot of the batch, settled ones leaving live()."""
    journal = Journal(tmp_path / "jobs.sqlite3")
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


def spoil(path: Path, job_id: str, **columns: object) -> None:
    """Overwrite columns of a journaled row behind the journal's back (another version, a hand edit)."""
    with sqlite3.connect(path) as db:
        for column, value in columns.items():
            db.execute(f"UPDATE jobs SET {column}=? WHERE job_id=?", (value, job_id))


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
    tmp_path: Path, columns: dict[str, object], reason: str
) -> None:
    """A row that cannot be decoded comes back as a quarantined job saying why; the other rows are unharmed,
    the row is left as it is, and it leaves the live set so nobody polls it."""
    path = tmp_path / "jobs.sqlite3"
    journal = Journal(path)
    await journal.add(record("r1", created=1.0))
    await journal.add(record("r2", created=2.0))
    spoil(path, "r1", **columns)
    listed = await journal.recent()
    assert sorted(r.job_id for r in listed) == ["r1", "r2"]
    bad = await journal.get("r1")
    assert bad is not None and bad.snapshot.status == QUARANTINED and bad.snapshot.settled
    assert reason in bad.snapshot.errors[0]
    assert bad.key_fingerprint == "fp1"
    assert [r.job_id for r in await journal.live()] == ["r2"]
    with sqlite3.connect(path) as db:  # untouched: a newer version (or a person) can still read it
        stored = db.execute("SELECT kind, snapshot, request_summary, created_at FROM jobs WHERE job_id='r1'").fetchone()
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


async def test_active_only_filters_before_the_limit(tmp_path: Path) -> None:
    """recent(active_only=True) returns every live job even when many newer settled ones exist."""
    journal = Journal(tmp_path / "jobs.sqlite3")
    for i in range(5):
        await journal.add(record(f"live{i}", created=float(i)))
    for i in range(100):
        await journal.add(settled(f"done{i}", created=100.0 + i))
    active = await journal.recent(limit=20, fingerprints=["fp1"], active_only=True)
    assert [r.job_id for r in active] == [f"live{i}" for i in reversed(range(5))]
    assert [r.job_id for r in await journal.recent(limit=3, active_only=True)] == ["live4", "live3", "live2"]
    assert len(await journal.recent(limit=20, fingerprints=["fp1"])) == 20
    await journal.close()


async def test_recent_merges_several_keys_newest_first(tmp_path: Path) -> None:
    """With several fingerprints, recent() merges their jobs by creation time and honours the limit."""
    journal = Journal(tmp_path / "jobs.sqlite3")
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


async def test_prune_never_removes_unsettled_jobs(tmp_path: Path) -> None:
    """prune() removes settled jobs past the retention only: live, recent and unreadable rows stay."""
    clock = ManualClock(wall=1_000 * 86400.0)
    path = tmp_path / "jobs.sqlite3"
    journal = Journal(path, clock=clock)
    old = clock.wall() - 91 * 86400.0
    for job in (record("old-live", created=old), settled("old-done", created=old), settled("new-done", created=old)):
        await journal.add(job)
    await journal.add(record("spoiled", created=old))
    db = sqlite3.connect(path)
    db.execute("UPDATE jobs SET updated_at=? WHERE job_id != 'new-done'", (old,))
    db.execute("UPDATE jobs SET updated_at=? WHERE job_id = 'new-done'", (clock.wall() - 89 * 86400.0,))
    db.execute("UPDATE jobs SET snapshot='not json' WHERE job_id = 'spoiled'")
    db.commit()
    db.close()
    assert await journal.prune(0) == 0
    assert await journal.prune(90, batch=1) == 1
    left = {r.job_id for r in await journal.recent(limit=10)}
    assert left == {"old-live", "new-done", "spoiled"}
    assert [r.job_id for r in await journal.live()] == ["old-live"]
    await journal.close()
