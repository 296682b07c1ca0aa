"""Change notifications that mean something: one list_changed per new job per connection, unsubscribe
that stops updates, and subscriptions to URIs the server does not serve refused (both generations)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.subscriptions import ResourcesListChanged, ResourceUpdated
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, ResourceListChangedNotification, ResourceUpdatedNotification

from mosaic_mcp.server.app import MosaicServer
from mosaic_mcp.server.jobs.notify import Notifier
from mosaic_mcp.server.jobs.snapshot import JOBS_INDEX_URI
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import VIDEO, call_ok
from .test_core_tools import follow

pytestmark = pytest.mark.anyio


class Heard:
    """What one connection heard: list_changed count and updated URIs, in order."""

    def __init__(self) -> None:
        self.list_changed = 0
        self.updated: list[str] = []
        self.changed = anyio.Event()

    def note(self, event: object) -> None:
        if isinstance(event, ResourceListChangedNotification | ResourcesListChanged):
            self.list_changed += 1
        elif isinstance(event, ResourceUpdatedNotification):
            self.updated.append(str(event.params.uri))
        elif isinstance(event, ResourceUpdated):
            self.updated.append(event.uri)
        self.changed.set()

    async def until_updated(self, uri: str, times: int = 1) -> None:
        """Wait (bounded) until `uri` was announced `times` times."""
        with anyio.fail_after(10):
            while self.updated.count(uri) < times:
                self.changed = anyio.Event()
                await self.changed.wait()


@asynccontextmanager
async def hearing(server: MosaicServer, mode: str, uris: list[str]) -> AsyncIterator[tuple[Client, Heard]]:
    """A client of `mode` subscribed to `uris` and to list changes, and what it hears from then on."""
    heard = Heard()

    async def on_message(message: Any) -> None:
        if mode == "legacy":  # 2026-07-28 events are read from the listen stream below
            heard.note(message)

    async with Client(server, mode=mode, message_handler=on_message) as client:  # type: ignore[arg-type]
        if mode == "legacy":
            for uri in uris:
                await client.subscribe_resource(uri)
            yield client, heard
            return
        listening = client.listen(resources_list_changed=True, resource_subscriptions=uris)
        async with listening as sub, anyio.create_task_group() as tg:

            async def drain() -> None:
                async for event in sub:
                    heard.note(event)

            tg.start_soon(drain)
            yield client, heard
            tg.cancel_scope.cancel()


async def subscribe(client: Client, mode: str, uris: list[str]) -> None:
    """Subscribe to `uris` the way the generation does (2026: open a listen stream and close it)."""
    if mode == "legacy":
        for uri in uris:
            await client.subscribe_resource(uri)
        return
    async with client.listen(resource_subscriptions=uris) as sub:
        assert sub.honored.resource_subscriptions == uris


def notifier_of(server: MosaicServer) -> Notifier:
    """The server's notifier (one per server)."""
    runtime = server.connections.any()
    assert runtime is not None
    return runtime.notifier


async def settled_job(server: MosaicServer, mode: str) -> str:
    """The resource URI of a run that has finished: the poller announces nothing more for it."""
    async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
        run = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
        await follow(client, run["job_id"])
    return str(run["resource_uri"])


async def test_list_changed_once_per_new_job_after_many_requests(
    server: MosaicServer, served: RunningSandbox, mode: str
) -> None:
    """Three new jobs, with many requests between them, are three list_changed for the connection, not more."""
    quiet = await settled_job(server, mode)
    served.sandbox.clock.speed = 0  # the new jobs stay queued: nothing else to announce
    async with hearing(server, mode, [quiet]) as (client, heard):
        for start in (
            ("run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]}),
            ("create_video_session", {"prompt": "A short launch video"}),
            ("run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]}),
        ):
            job = await call_ok(client, *start)
            for _ in range(3):
                await call_ok(client, "poll_job", {"job_id": job["job_id"]})
                await call_ok(client, "list_jobs")
        await notifier_of(server).updated(quiet)  # a marker: everything announced before it has arrived
        await heard.until_updated(quiet)
    assert heard.list_changed == 3


async def test_each_connection_hears_a_new_job_once(server: MosaicServer, served: RunningSandbox) -> None:
    """Two 2025-era connections, one starting jobs: each hears each new job exactly once."""
    quiet = await settled_job(server, "legacy")
    served.sandbox.clock.speed = 0
    async with hearing(server, "legacy", [quiet]) as (_, other), hearing(server, "legacy", [quiet]) as (client, own):
        for _ in range(2):
            await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
            await call_ok(client, "list_jobs")
        await notifier_of(server).updated(quiet)
        await own.until_updated(quiet)
        await other.until_updated(quiet)
    assert (own.list_changed, other.list_changed) == (2, 2)


async def test_legacy_unsubscribe_stops_updates(server: MosaicServer) -> None:
    """After resources/unsubscribe (a later request than the subscribe), the URI's updates stop."""
    quiet = await settled_job(server, "legacy")
    async with hearing(server, "legacy", [quiet, JOBS_INDEX_URI]) as (client, heard):
        notifier = notifier_of(server)
        await notifier.updated(quiet)
        await heard.until_updated(quiet)
        await client.unsubscribe_resource(quiet)
        await notifier.updated(quiet)
        await notifier.updated(JOBS_INDEX_URI)  # still subscribed: arrives after anything sent before it
        await heard.until_updated(JOBS_INDEX_URI)
    assert heard.updated.count(quiet) == 1


async def test_closed_listen_stream_hears_nothing_more(server: MosaicServer) -> None:
    """2026-07-28: unsubscribing is closing the listen stream; a later stream hears only its own URIs."""
    quiet = await settled_job(server, "auto")
    async with hearing(server, "auto", [quiet]) as (_, first):
        await notifier_of(server).updated(quiet)
        await first.until_updated(quiet)
    async with hearing(server, "auto", [JOBS_INDEX_URI]) as (_, second):
        notifier = notifier_of(server)
        await notifier.updated(quiet)
        await notifier.updated(JOBS_INDEX_URI)
        await second.until_updated(JOBS_INDEX_URI)
    assert first.updated == [quiet]
    assert quiet not in second.updated


UNSERVED = [
    "mosaic://runs/00000000-0000-4000-8000-000000000000",
    "motion://sessions/never-started",
    "https://example.com/video.mp4",
    "mosaic://jobz",
]


@pytest.mark.parametrize("uri", UNSERVED)
async def test_subscribing_to_an_unserved_uri_is_an_error(client: Client, mode: str, uri: str) -> None:
    """resources/subscribe (2025) and subscriptions/listen (2026) refuse a URI the server does not serve."""
    with pytest.raises(MCPError) as refused:
        await subscribe(client, mode, [uri])
    assert refused.value.error.code == INVALID_PARAMS
    assert "mosaic://jobs" in refused.value.error.message


async def test_a_job_uri_of_the_wrong_kind_is_not_served(server: MosaicServer, mode: str) -> None:
    """A run's id under motion://sessions/ is not its resource: subscribing there is refused."""
    run_uri = await settled_job(server, mode)
    async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
        wrong = "motion://sessions/" + run_uri.removeprefix("mosaic://runs/")
        with pytest.raises(MCPError):
            await subscribe(client, mode, [wrong])
        await subscribe(client, mode, [run_uri, JOBS_INDEX_URI])  # the right URI and the index are served
