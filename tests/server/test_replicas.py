"""Two server replicas sharing one PostgreSQL database (journal, leases, fan-out) and one sandbox: what one sees
reaches the other.

The replicas are configured as in production (MOSAIC_MCP_DATABASE_URL in their settings), so the poll leases decide
which one polls a job: the one that holds its scope. Each test starts or checks that arrangement first."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from pydantic import SecretStr

from mosaic_mcp.server.api.transport import RecordingSleep, RetryPolicy
from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.config import key_fingerprint
from mosaic_mcp.server.jobs.fanout import PostgresFanout, channel_name
from mosaic_mcp.server.jobs.poller import Poller, PollTiming, scope_of
from mosaic_mcp.server.jobs.snapshot import JOBS_INDEX_URI
from mosaic_mcp.server.people import Person
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID
from mosaic_mcp.server.sandbox.serve import serve_asgi
from mosaic_mcp.server.serve_http import build_http_app

from ..support import FAST_POLLING, MOSAIC_KEY, VIDEO, call_ok, sandbox_settings
from ..support.databases import TEST_DATABASE_URL
from .test_notifications import Heard
from .test_remote import CAROL, acting_for, remote_settings
from .test_webhook_route import QUIET_POLLING, Served

pytestmark = pytest.mark.anyio


@pytest.fixture
async def frozen() -> AsyncIterator[RunningSandbox]:
    """The API emulator with its clock stopped: runs stay running until the test moves it."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=0.0))) as running:
        yield running


def replica(sandbox: RunningSandbox, folder: Path, database_url: str, timing: PollTiming) -> MosaicServer:
    """A token-mode server whose stores (journal, leases, fan-out) are in `database_url`; its home in `folder`."""
    settings = sandbox_settings(sandbox, folder, database_url=database_url)
    return create_server(settings, poll_timing=timing, retry=RetryPolicy(sleep=RecordingSleep()))


def poller_of(server: MosaicServer) -> Poller:
    """The poller of a running server (a client is connected)."""
    runtime = server.connections.any()
    assert runtime is not None
    return runtime.jobs.poller


MOSAIC_SCOPE = key_fingerprint(SecretStr(MOSAIC_KEY))
"""The lease scope of the suite's Mosaic key: whoever holds it polls every run started in token mode."""


async def until_polled_by(polling: MosaicServer, other: MosaicServer, job_id: str) -> None:
    """Wait (bounded) until `polling` follows the job, having claimed its scope (remote modes: its person's);
    `other` does not hold that scope."""
    with anyio.fail_after(10):
        while True:  # the poller claims the scope of a job tracked while not held on its next step
            record = poller_of(polling).followed(job_id)
            if record is not None:
                break
            await anyio.sleep(0.01)
    assert poller_of(polling).holds(scope_of(record)) and not poller_of(other).holds(scope_of(record))


async def until_holds(server: MosaicServer, scope: str) -> None:
    """Wait (bounded) until `server`'s poller holds the lease of `scope`."""
    with anyio.fail_after(10):
        while True:  # claimed when the poller starts (its first adoption)
            if poller_of(server).holds(scope):
                return
            await anyio.sleep(0.01)


@asynccontextmanager
async def listening(
    client: Client, mode: str, uris: list[str], heard: Heard, *, list_changes: bool = True
) -> AsyncIterator[None]:
    """Subscribe `client` to `uris` (2026: and to list changes) the way its generation does; `heard` notes events."""
    if mode == "legacy":  # 2025-era notifications arrive through the client's message handler
        for uri in uris:
            await client.subscribe_resource(uri)
        yield
        return
    listen = client.listen(resources_list_changed=list_changes, resource_subscriptions=uris)
    async with listen as sub, anyio.create_task_group() as group:

        async def drain() -> None:
            async for event in sub:
                heard.note(event)

        group.start_soon(drain)
        yield
        group.cancel_scope.cancel()


async def test_a_job_started_and_settled_on_one_replica_is_heard_on_the_other(
    postgres_url: str, frozen: RunningSandbox, tmp_path: Path, mode: str
) -> None:
    """A client of the replica that never polls the run hears it added, then its resource and the index updated."""
    polling = replica(frozen, tmp_path / "a", postgres_url, FAST_POLLING)
    other = replica(frozen, tmp_path / "b", postgres_url, QUIET_POLLING)  # the same journal; it never polls this run
    heard = Heard()

    async def on_message(message: Any) -> None:
        if mode == "legacy":  # 2026-07-28 events are read from the listen streams
            heard.note(message)

    async with Client(polling, mode=mode) as starter:  # type: ignore[arg-type]
        await until_holds(polling, MOSAIC_SCOPE)  # started first: it holds the key's scope, so it polls the run
        async with (
            Client(other, mode=mode, message_handler=on_message) as client,  # type: ignore[arg-type]
            listening(client, mode, [JOBS_INDEX_URI], heard),
        ):
            assert not poller_of(other).holds(MOSAIC_SCOPE)
            run = await call_ok(starter, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
            with anyio.fail_after(10):
                while heard.list_changed < 1:
                    heard.changed = anyio.Event()
                    await heard.changed.wait()
            async with listening(client, mode, [run["resource_uri"]], heard, list_changes=False):
                frozen.sandbox.advance(3600)
                await heard.until_updated(run["resource_uri"])
                await heard.until_updated(JOBS_INDEX_URI)
            assert poller_of(other).followed(run["job_id"]) is None  # it heard everything from the polling one
    assert heard.list_changed == 1


async def test_after_its_channel_dropped_a_replica_tells_its_clients_anything_may_have_changed(
    postgres_url: str, frozen: RunningSandbox, tmp_path: Path, mode: str
) -> None:
    """Messages may have been lost while a replica's listener reconnected: its clients hear of the jobs and index."""
    import psycopg

    server = replica(frozen, tmp_path, postgres_url, QUIET_POLLING)
    heard = Heard()

    async def on_message(message: Any) -> None:
        if mode == "legacy":
            heard.note(message)

    async with (
        Client(server, mode=mode, message_handler=on_message) as client,  # type: ignore[arg-type]
        listening(client, mode, [JOBS_INDEX_URI], heard),
    ):
        runtime = server.connections.any()
        assert runtime is not None and isinstance(runtime.jobs.fanout, PostgresFanout)
        async with await psycopg.AsyncConnection.connect(TEST_DATABASE_URL, autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (runtime.jobs.fanout.listener_pid,))
        await heard.until_updated(JOBS_INDEX_URI)
    assert heard.list_changed == 1


@asynccontextmanager
async def serving(sandbox: RunningSandbox, folder: Path, database_url: str) -> AsyncIterator[Served]:
    """A replica's `serve --http` app on a free loopback port (its stores in `database_url`, its home in `folder`)."""
    settings = sandbox_settings(sandbox, folder, database_url=database_url)
    server = create_server(settings, poll_timing=QUIET_POLLING, retry=RetryPolicy(sleep=RecordingSleep()))
    async with serve_asgi(build_http_app(server, settings, host="127.0.0.1")) as port:
        yield Served(server, f"http://127.0.0.1:{port}", sandbox.sandbox)


async def test_a_delivery_at_a_replica_that_does_not_poll_the_run_wakes_the_one_that_does(
    postgres_url: str, frozen: RunningSandbox, tmp_path: Path
) -> None:
    """A webhook delivery that lands on the other replica makes the polling one read the run once, now."""
    async with serving(frozen, tmp_path / "a", postgres_url) as polling:
        await until_holds(polling.server, MOSAIC_SCOPE)  # started first: it polls the key's runs
        async with serving(frozen, tmp_path / "b", postgres_url) as other:
            assert not poller_of(other.server).holds(MOSAIC_SCOPE)
            job_id = await polling.start_run()
            polled = polling.polls(job_id)  # the sandbox's count: the reads of both replicas
            async with httpx2.AsyncClient(timeout=10) as http:
                delivered = await http.post(other.hook, json={"flag": "RUN_PROGRESS", "run_id": job_id})
            assert delivered.status_code == 200
            await polling.quiet(job_id, polls=polled + 1)
            assert polling.polls(job_id) == polled + 1
            assert poller_of(other.server).followed(job_id) is None


DAVE = Person("oauth:dave", SecretStr("mk_dave_SECRET_canary_4444"), SecretStr("motion_dave_SECRET_canary_4444"))


@asynccontextmanager
async def person_client(server: MosaicServer, person: Person, mode: str, heard: Heard) -> AsyncIterator[Client]:
    """An in-memory client of a remote server for `person` (keys sealed, as PersonGate does).

    In memory a request acts for the person current where it is sent: wrap each call in `acting_for`."""

    async def on_message(message: Any) -> None:
        if mode == "legacy":
            heard.note(message)

    async with Client(server, mode=mode, message_handler=on_message) as client:  # type: ignore[arg-type]
        assert server.people is not None
        await server.people.remember(person)
        yield client


async def test_a_persons_job_reaches_them_on_the_other_replica_and_nobody_else(
    postgres_url: str, frozen: RunningSandbox, tmp_path: Path, mode: str
) -> None:
    """Remote mode: Carol hears her run on the replica that does not poll it; Dave there cannot subscribe to it."""
    settings = remote_settings(frozen, tmp_path, database_url=postgres_url)
    retry = RetryPolicy(sleep=RecordingSleep())
    polling = create_server(settings, poll_timing=FAST_POLLING, retry=retry)
    other = create_server(settings, poll_timing=QUIET_POLLING, retry=retry)
    carol_heard, dave_heard = Heard(), Heard()
    async with (
        person_client(other, CAROL, mode, carol_heard) as carol,
        person_client(other, DAVE, mode, dave_heard) as dave,
        person_client(polling, CAROL, mode, Heard()) as starter,
    ):
        with acting_for(DAVE):
            async with listening(dave, mode, [JOBS_INDEX_URI], dave_heard):
                with acting_for(CAROL):
                    run = await call_ok(starter, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
                uri = run["resource_uri"]
                await until_polled_by(polling, other, run["job_id"])
                with pytest.raises(MCPError, match="not a resource this server serves"):
                    async with listening(dave, mode, [uri], dave_heard, list_changes=False):
                        pass
                with acting_for(CAROL):
                    async with listening(carol, mode, [uri], carol_heard, list_changes=False):
                        frozen.sandbox.advance(3600)
                        await carol_heard.until_updated(uri)
                        await dave_heard.until_updated(JOBS_INDEX_URI)
    assert uri not in dave_heard.updated


class Overheard:
    """Payloads heard on the replicas' channel, in order."""

    def __init__(self) -> None:
        self.payloads: list[str] = []
        self.arrived = anyio.Event()

    async def until(self, text: str) -> None:
        """Wait (bounded) until a payload holds `text`."""
        with anyio.fail_after(10):
            while not any(text in p for p in self.payloads):
                self.arrived = anyio.Event()
                await self.arrived.wait()


@asynccontextmanager
async def channel_of(database_url: str) -> AsyncIterator[Overheard]:
    """Every payload sent on the replicas' channel of `database_url` while the block runs, as a third listener."""
    import psycopg

    heard = Overheard()
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as connection:
        row = await (await connection.execute("SELECT current_schema()")).fetchone()
        assert row is not None
        await connection.execute(f'LISTEN "{channel_name(row[0])}"')
        async with anyio.create_task_group() as group:

            async def collect() -> None:
                async for note in connection.notifies():
                    heard.payloads.append(note.payload)
                    heard.arrived.set()

            group.start_soon(collect)
            yield heard
            group.cancel_scope.cancel()


async def test_messages_between_replicas_carry_no_key(
    postgres_url: str, frozen: RunningSandbox, tmp_path: Path
) -> None:
    """Remote mode: what one replica tells the others of a person's started and settled run holds no key of theirs."""
    settings = remote_settings(frozen, tmp_path, database_url=postgres_url)
    polling = create_server(settings, poll_timing=FAST_POLLING, retry=RetryPolicy(sleep=RecordingSleep()))
    async with channel_of(postgres_url) as overheard, person_client(polling, CAROL, "auto", Heard()) as carol:
        with acting_for(CAROL):
            run = await call_ok(carol, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
            frozen.sandbox.advance(3600)
            settled = await call_ok(carol, "poll_job", {"job_id": run["job_id"], "wait_seconds": 10})
        assert settled["settled"]
        await overheard.until(f'"{run["resource_uri"]}"')
    payloads = overheard.payloads
    kinds = {json.loads(p)["kind"] for p in payloads}
    assert kinds == {"added", "changed"}
    secrets = [CAROL.mosaic_api_key, CAROL.motion_api_key, settings.secret_key]
    for secret in secrets:
        assert secret is not None
        assert not any(secret.get_secret_value() in p for p in payloads)
