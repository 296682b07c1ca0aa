"""Remote modes in memory: a person's runtime, their sealed keys, a rejected key, the start limit, no local paths."""

import os
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from mcp import Client
from mcp.types import LoggingMessageNotificationParams
from pydantic import SecretStr

from mosaic_mcp.server.api.requests import RunRequest
from mosaic_mcp.server.api.transport import RecordingSleep, RetryPolicy
from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.config import ConfigurationError, Settings, load_settings
from mosaic_mcp.server.database import Database
from mosaic_mcp.server.jobs.clock import ManualClock
from mosaic_mcp.server.jobs.intents import Intent
from mosaic_mcp.server.jobs.journal import JobRecord, Journal
from mosaic_mcp.server.jobs.keystore import KeyStore
from mosaic_mcp.server.jobs.snapshot import pending_snapshot
from mosaic_mcp.server.people import Person, current_person
from mosaic_mcp.server.remote import (
    STARTS_PER_MINUTE,
    Clients,
    PersonPoller,
    StartLimiter,
    TooManyStartsError,
    owner_of,
)
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID
from mosaic_mcp.server.serve_http import transport_security

from ..support import FAST_POLLING, RUN, call_error, call_ok, sandbox_settings, sent
from ..support.processes import mosaic_mcp_command

pytestmark = pytest.mark.anyio

SECRET = SecretStr("remote-test-secret-" + "z" * 32)
VIDEO = "https://youtu.be/dQw4w9WgXcQ"
CAROL = Person("oauth:carol", SecretStr("mk_carol_SECRET_canary_3333"), SecretStr("motion_carol_SECRET_canary_3333"))


def remote_settings(served: RunningSandbox, folder: Path, **overrides: Any) -> Settings:
    """keys-mode settings against the sandbox: no server-side API keys, only the secret."""
    return sandbox_settings(
        served,
        folder,
        auth_mode="keys",
        secret_key=SECRET.get_secret_value(),
        mosaic_api_key=None,
        motion_api_key=None,
        **overrides,
    )


@contextmanager
def acting_for(person: Person) -> Iterator[None]:
    """What the HTTP layer does for each request: the person it acts for, for the block."""
    token = current_person.set(person)
    try:
        yield
    finally:
        current_person.reset(token)


@asynccontextmanager
async def remote_client(
    settings: Settings, person: Person, mode: str, **client_options: Any
) -> AsyncIterator[tuple[MosaicServer, Client]]:
    """An in-memory client of a fresh remote server, acting for `person` (their keys sealed, as PersonGate does)."""
    server = create_server(settings, poll_timing=FAST_POLLING, retry=RetryPolicy(sleep=RecordingSleep()))
    with acting_for(person):
        async with Client(server, mode=mode, **client_options) as client:  # type: ignore[arg-type]
            assert server.people is not None
            await server.people.remember(person)
            yield server, client


async def test_keys_are_sealed_and_bound_to_their_row(store_source: Path | Database, tmp_path: Path) -> None:
    """A stored key is not in the database in plaintext, comes back whole, and not under another owner or secret."""
    store = KeyStore(store_source, SECRET)
    key = SecretStr("mk_sealed_SECRET_canary_5555")
    await store.put("p-alice", "mosaic", key)
    assert (await store.get("p-alice", "mosaic")) == key
    assert await store.get("p-alice", "motion") is None
    await store.database.run(
        lambda sql: sql.execute(
            "INSERT INTO person_keys SELECT 'p-mallory', service, sealed, seen_at, NULL FROM person_keys"
        )
    )
    assert await store.get("p-mallory", "mosaic") is None  # the owner is bound into the seal
    rows = await store.database.run(lambda sql: sql.execute("SELECT sealed FROM person_keys").fetchall())
    assert len(rows) == 2 and all(b"mk_sealed_SECRET_canary_5555" not in bytes(r[0]) for r in rows)
    await store.close()
    other = KeyStore(store_source, SecretStr("another-deployment-secret-" + "y" * 32))
    assert await other.get("p-alice", "mosaic") is None
    await other.close()
    if isinstance(store_source, Path):
        assert b"mk_sealed_SECRET_canary_5555" not in every_byte(tmp_path)


def every_byte(folder: Path) -> bytes:
    """All the files of `folder` (the database, its WAL and shared memory), concatenated."""
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())


async def test_prune_keeps_keys_of_people_with_live_jobs(store_source: Path | Database) -> None:
    """After the grace period an idle person's keys go, unless one of their jobs is still unsettled."""
    clock = ManualClock()
    journal = Journal(store_source)  # the key store's prune reads the journal's jobs, in the same database
    for job_id, owner, status in (("r1", "p-busy", "running"), ("r2", "p-idle", "completed")):
        snapshot = pending_snapshot("mosaic_run", job_id, status).model_copy(update={"settled": status == "completed"})
        await journal.add(JobRecord(job_id, "mosaic_run", owner, snapshot))
    store = KeyStore(store_source, SECRET, clock=clock)
    for owner in ("p-busy", "p-idle"):
        await store.put(owner, "mosaic", SecretStr("mk_prune_SECRET_canary_6666"))
    assert await store.prune(3600) == 0  # nobody is past the grace period yet
    clock.advance(3601)
    assert await store.prune(3600) == 1
    assert await store.get("p-idle", "mosaic") is None
    assert await store.get("p-busy", "mosaic") is not None
    await store.close()
    await journal.close()


def test_start_limiter_counts_per_person_in_a_sliding_minute() -> None:
    """The limit is per owner; a minute later the same person may start again."""
    clock = ManualClock()
    limiter = StartLimiter(2, clock=clock)
    limiter.take("p-a")
    limiter.take("p-a")
    limiter.take("p-b")
    with pytest.raises(TooManyStartsError, match="2 job starts per minute"):
        limiter.take("p-a")
    clock.advance(60)
    limiter.take("p-a")


async def test_too_many_starts_are_refused_before_any_request(
    served: RunningSandbox, tmp_path: Path, mode: str
) -> None:
    """The start after the per-person limit is refused with a clear message, and nothing is sent upstream."""
    async with remote_client(remote_settings(served, tmp_path), CAROL, mode) as (_, client):
        for _ in range(STARTS_PER_MINUTE):
            await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
        message = await call_error(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
    assert "too many jobs started" in message and "Nothing was started" in message
    assert len(sent(served, RUN)) == STARTS_PER_MINUTE


async def test_a_rejected_key_marks_the_job_until_a_new_key_comes(
    served: RunningSandbox, tmp_path: Path, mode: str
) -> None:
    """A 401 while polling marks the person's job "sign in again"; their new key follows it to the end."""
    settings = remote_settings(served, tmp_path)
    async with remote_client(settings, CAROL, mode) as (server, client):
        run = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
        assert CAROL.mosaic_api_key is not None
        served.sandbox.revoke_key(CAROL.mosaic_api_key.get_secret_value())
        snap = await call_ok(client, "poll_job", {"job_id": run["job_id"]})
        assert "Sign in again" in snap["next_step"] and not snap["settled"]
        assert any("rejected the key" in e for e in snap["errors"])
        renewed = Person(CAROL.id, SecretStr("mk_carol_renewed_SECRET_7777"), CAROL.motion_api_key)
        assert server.people is not None
        await server.people.remember(renewed)  # what signing in again does
        with acting_for(renewed):
            for _ in range(20):
                snap = await call_ok(client, "poll_job", {"job_id": run["job_id"], "wait_seconds": 2})
                if snap["settled"]:
                    break
    assert snap["status"] == "completed", snap


async def test_remote_servers_refuse_local_paths(served: RunningSandbox, tmp_path: Path, mode: str) -> None:
    """files= and attachment paths are refused (the server's disk is not the person's); the file tools are absent."""
    media = tmp_path / "clip.mp4"
    media.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    async with remote_client(remote_settings(served, tmp_path), CAROL, mode) as (server, client):
        tools = {t.name for t in (await client.list_tools()).tools}
        assert "run_agent" in tools and not {"upload_file", "download_output"} & tools
        instructions = server.instructions or ""
        assert "runs remotely" in instructions and "no upload_file or download_output" in instructions
        run = await call_error(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "files": [str(media)]})
        motion = await call_error(
            client, "create_video_session", {"prompt": "A teaser", "attachments": [{"path": str(media)}]}
        )
    for message in (run, motion):
        assert "runs remotely" in message and "URL" in message
    assert sent(served, RUN) == []


def test_unknown_auth_mode_and_short_secret_are_refused() -> None:
    """MOSAIC_MCP_AUTH takes token, keys or oauth; MOSAIC_MCP_SECRET_KEY must be long; each named with its rule."""
    with pytest.raises(ConfigurationError) as bad:
        load_settings(auth_mode="tokens", secret_key="short")
    text = str(bad.value)
    assert "MOSAIC_MCP_AUTH: unknown mode 'tokens'" in text
    assert "MOSAIC_MCP_SECRET_KEY: is shorter than 32 characters" in text and "short" not in text.split("'tokens'")[0]


def test_stdio_refuses_a_remote_mode(tmp_path: Path) -> None:
    """`serve` on stdio with MOSAIC_MCP_AUTH=keys exits 2: the mode is for `serve --http`."""
    proc = subprocess.run(
        [*mosaic_mcp_command(), "serve"],
        env={**os.environ, "MOSAIC_MCP_HOME": str(tmp_path), "MOSAIC_MCP_AUTH": "keys"},
        capture_output=True,
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2
    assert b"serve --http" in proc.stderr


def test_owner_is_stable_and_not_the_key() -> None:
    """A person's owner id depends on their id only: a new key keeps their jobs; no key appears in it."""
    renewed = Person(CAROL.id, SecretStr("mk_other_SECRET_8888"), None)
    assert owner_of(CAROL) == owner_of(renewed)
    assert owner_of(CAROL).startswith("p-") and "carol" not in owner_of(CAROL)


async def test_no_server_log_reaches_a_remote_client(served: RunningSandbox, tmp_path: Path) -> None:
    """A client that asks for debug logs hears none: the poller's records may be about another person's job."""
    heard: list[LoggingMessageNotificationParams] = []

    async def hear(params: LoggingMessageNotificationParams) -> None:
        heard.append(params)

    settings = remote_settings(served, tmp_path)
    async with remote_client(settings, CAROL, "legacy", logging_callback=hear) as (_, client):
        await client.set_logging_level("debug")
        run = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
        assert CAROL.mosaic_api_key is not None
        served.sandbox.revoke_key(CAROL.mosaic_api_key.get_secret_value())  # the poller warns about it
        snap = await call_ok(client, "poll_job", {"job_id": run["job_id"]})
        assert "Sign in again" in snap["next_step"]
    assert heard == []


async def test_the_poller_follows_a_persons_job_with_their_sealed_key_after_a_restart(
    served: RunningSandbox, tmp_path: Path
) -> None:
    """A restarted server, asked nothing by anyone, follows a person's run to the end with the key it sealed."""
    settings = remote_settings(served, tmp_path)
    async with remote_client(settings, CAROL, "legacy") as (_, client):
        run = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
    server = create_server(settings, poll_timing=FAST_POLLING, retry=RetryPolicy(sleep=RecordingSleep()))
    async with Client(server, mode="legacy"):  # a connection acting for nobody: only the poller works
        with anyio.fail_after(30):
            for _ in range(300):
                if await settled_in_journal(settings.journal_path, run["job_id"]):
                    break
                await anyio.sleep(0.1)
        assert await settled_in_journal(settings.journal_path, run["job_id"])


DAVE = Person("oauth:dave", SecretStr("mk_dave_SECRET_canary_4444"), SecretStr("motion_dave_SECRET_canary_4444"))


async def test_a_persons_lost_run_start_is_adopted_for_them_by_the_reconciler(
    served: RunningSandbox, tmp_path: Path, mode: str
) -> None:
    """A run created upstream whose answer was lost (and not found at once) is adopted for its person only."""
    settings = remote_settings(served, tmp_path)
    async with remote_client(settings, CAROL, mode) as (_, client):
        served.sandbox.faults.inject("server_error", method="GET", path="/agent/{agent_id}/runs", times=1000)
        served.sandbox.faults.inject("server_error", method="POST", path=RUN, after=True)
        result = await client.call_tool("run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
        assert result.is_error, "the answer was lost and the run could not be listed yet"
        listed = await call_ok(client, "list_jobs", {"limit": 100})
        assert [u["action"] for u in listed["unresolved"]] == ["run_agent"] and listed["jobs"] == []
        served.sandbox.faults.clear()  # the runs can be listed again: the reconciler can prove it
        with anyio.fail_after(20):
            for _ in range(200):
                if listed["jobs"]:
                    break
                await anyio.sleep(0.1)
                listed = await call_ok(client, "list_jobs", {"limit": 100})
        assert listed["unresolved"] == []
        job_id = listed["jobs"][0]["job_id"]
        assert served.sandbox.runs.runs[job_id].agent_id == CAPTIONS_AGENT_ID
    async with remote_client(settings, DAVE, mode) as (_, other):
        theirs = await call_ok(other, "list_jobs", {"limit": 100})
        assert theirs["jobs"] == [] and theirs["unresolved"] == []
        assert "no job" in await call_error(other, "poll_job", {"job_id": job_id})


async def test_a_signed_out_persons_run_start_waits_for_their_key(served: RunningSandbox, tmp_path: Path) -> None:
    """Without a sealed key a person's run start stays "checking" (a Motion start may exist); a new key adopts it."""
    settings = remote_settings(served, tmp_path)
    async with remote_client(settings, CAROL, "legacy") as (server, client):
        assert server.people is not None
        await server.people.forget(CAROL.id)  # signed out: no key to list their runs with
        owner, now = owner_of(CAROL), time.time()
        run_details = {"request": RunRequest(video_urls=[VIDEO]).to_body(), "summary": {}}
        await server.people.journal.open_intent(
            Intent("run_agent", owner, CAPTIONS_AGENT_ID, run_details, started_at=now)
        )
        await server.people.journal.open_intent(Intent("create_video_session", owner, None, {}, started_at=now))
        run = served.sandbox.start_api_run(CAPTIONS_AGENT_ID, {"video_urls": [VIDEO]})  # provable, given a key
        with anyio.fail_after(10):
            for _ in range(100):
                if (await unresolved_states(client)).get("create_video_session") == "may_exist":
                    break
                await anyio.sleep(0.1)
        await anyio.sleep(1.2)  # two more reconciler passes (FAST_POLLING): still no key
        assert await unresolved_states(client) == {"run_agent": "checking", "create_video_session": "may_exist"}
        await server.people.remember(CAROL)  # signed in again
        with anyio.fail_after(10):
            for _ in range(100):
                if "run_agent" not in await unresolved_states(client):
                    break
                await anyio.sleep(0.1)
        listed = await call_ok(client, "list_jobs", {"limit": 100})
        assert [j["job_id"] for j in listed["jobs"]] == [run.run_id]


async def unresolved_states(client: Client) -> dict[str, str]:
    """The state of each unresolved start list_jobs reports, by action."""
    listed = await call_ok(client, "list_jobs", {"limit": 100})
    return {u["action"]: u["state"] for u in listed["unresolved"]}


async def settled_in_journal(path: Path, job_id: str) -> bool:
    """Whether the journal's row for `job_id` is settled (read on a worker thread)."""

    def read() -> bool:
        with closing(sqlite3.connect(path)) as db:
            row = db.execute("SELECT terminal FROM jobs WHERE job_id=?", (job_id,)).fetchone()
        return bool(row and row[0])

    return await anyio.to_thread.run_sync(read)


def test_off_loopback_the_public_url_is_the_only_host_served(tmp_path: Path) -> None:
    """Host/Origin checks stay on off loopback: with MOSAIC_MCP_PUBLIC_URL, only its host and origin pass."""
    settings = load_settings(
        auth_mode="keys",
        secret_key=SECRET.get_secret_value(),
        home=tmp_path,
        public_url="https://mosaic-mcp.example.com",
    )
    security = transport_security(settings, "0.0.0.0")
    assert security is not None and security.enable_dns_rebinding_protection
    assert security.allowed_hosts == ["mosaic-mcp.example.com"]
    assert security.allowed_origins == ["https://mosaic-mcp.example.com"]
    assert transport_security(settings, "127.0.0.1") is None  # the SDK's own loopback checks


async def test_each_persons_runs_are_swept_on_their_own_list_with_their_key(tmp_path: Path) -> None:
    """The remote poller lists each person's runs with that person's key (a page each, no single fetches);
    a person whose key is rejected while listing gets "sign in again" and the other's runs go on."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=0))) as served:  # nothing finishes meanwhile
        await sweep_two_people(served, tmp_path)


async def sweep_two_people(served: RunningSandbox, tmp_path: Path) -> None:
    clock = ManualClock()
    journal = Journal(tmp_path / "jobs.sqlite3", clock=clock)
    keystore = KeyStore(tmp_path / "jobs.sqlite3", SECRET, clock=clock)
    clients = Clients(sandbox_settings(served, tmp_path), retry=RetryPolicy(sleep=RecordingSleep()), timeout=10.0)
    poller = PersonPoller(journal, keystore, clients, clock=clock)
    runs: dict[str, list[str]] = {}
    try:
        for person in (CAROL, DAVE):
            assert person.mosaic_api_key is not None
            owner = owner_of(person)
            await keystore.put(owner, "mosaic", person.mosaic_api_key)
            mosaic = clients.mosaic(clients.settings_for(person.mosaic_api_key, None))
            for _ in range(5):  # more than the sweep threshold
                run_id = (await mosaic.run_agent(CAPTIONS_AGENT_ID, RunRequest(video_urls=[VIDEO]))).run_id
                now = clock.wall()
                snapshot = pending_snapshot("mosaic_run", run_id, "running", clock=clock)
                record = JobRecord(run_id, "mosaic_run", owner, snapshot, created_at=now, updated_at=now, viewed_at=now)
                await journal.add(record)
                poller.track(record)
                runs.setdefault(owner, []).append(run_id)
        served.sandbox.requests.clear()
        stats = await poller.cycle()
        assert (stats.list_pages, stats.single_fetches, stats.changed) == (2, 0, 10)
        assert CAROL.mosaic_api_key is not None
        served.sandbox.revoke_key(CAROL.mosaic_api_key.get_secret_value())
        served.sandbox.requests.clear()
        await poller.cycle()
        assert served.sandbox.count("GET", "/agent_runs") == 2  # Carol's answered 401
        assert served.sandbox.count("GET", "/agent_run/{run_id}") == 0  # her runs are told, without a request
        assert await keystore.rejected(owner_of(CAROL), "mosaic")
        assert not await keystore.rejected(owner_of(DAVE), "mosaic")
        for run_id in runs[owner_of(CAROL)]:
            stored = await journal.get(run_id)
            assert stored is not None and "Sign in again" in stored.snapshot.next_step
        for run_id in runs[owner_of(DAVE)]:
            stored = await journal.get(run_id)
            assert stored is not None and "Sign in again" not in stored.snapshot.next_step
    finally:
        await clients.close_retired(everything=True)
        await keystore.close()
        await journal.close()
