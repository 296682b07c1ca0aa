"""Jobs as resources: listing, reading, and change notifications in both protocol generations."""

import json
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.subscriptions import ResourcesListChanged, ResourceUpdated
from mcp.shared.exceptions import MCPError
from mcp.types import ResourceListChangedNotification, ResourceUpdatedNotification, TextResourceContents

from mosaic_mcp.server.app import MosaicServer
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import RUN, SESSIONS, VIDEO, call_ok, sent
from .test_core_tools import follow

pytestmark = pytest.mark.anyio


async def start_run(client: Client, served: RunningSandbox) -> dict[str, Any]:
    """Start a captions run on VIDEO; the sandbox saw exactly that input."""
    handle = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
    assert sent(served, RUN)[-1] == {"video_urls": [VIDEO]}
    return handle


async def test_templates_and_index_are_advertised(client: Client) -> None:
    """Both job templates and the jobs index are listed."""
    templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert {"mosaic://runs/{run_id}", "motion://sessions/{job_id}"} <= templates
    assert "mosaic://jobs" in {r.uri for r in (await client.list_resources()).resources}


async def test_started_jobs_are_listed_newest_first_and_readable(client: Client, served: RunningSandbox) -> None:
    """resources/list carries each tracked job, newest first; reading one gives the poll_job snapshot."""
    first = await start_run(client, served)
    second = await call_ok(client, "create_video_session", {"prompt": "A short launch video"})
    assert sent(served, RUN) == [{"video_urls": [VIDEO]}]
    assert sent(served, SESSIONS) == [{"prompt": "A short launch video"}]
    uris = [
        r.uri for r in (await client.list_resources()).resources if r.uri.startswith(("mosaic://runs/", "motion://"))
    ]
    assert uris[:2] == [second["resource_uri"], first["resource_uri"]]
    body = (await client.read_resource(first["resource_uri"])).contents[0]
    assert isinstance(body, TextResourceContents)
    assert json.loads(body.text)["job_id"] == first["job_id"]
    index = (await client.read_resource("mosaic://jobs")).contents[0]
    assert isinstance(index, TextResourceContents)
    assert {j["job_id"] for j in json.loads(index.text)} == {first["job_id"], second["job_id"]}


async def test_finished_resource_shows_outputs(client: Client, served: RunningSandbox) -> None:
    """After the run completes, its resource holds the outputs."""
    run = await start_run(client, served)
    await follow(client, run["job_id"])
    body = (await client.read_resource(run["resource_uri"])).contents[0]
    assert isinstance(body, TextResourceContents)
    snapshot = json.loads(body.text)
    assert snapshot["status"] == "completed" and snapshot["outputs"]


async def test_unknown_job_resource_is_not_found(client: Client) -> None:
    """Reading a job resource nobody tracks is a -32602 resource-not-found error."""
    with pytest.raises(MCPError):
        await client.read_resource("mosaic://runs/00000000-0000-4000-8000-000000000000")


async def test_legacy_subscription_receives_updates(server: MosaicServer, served: RunningSandbox) -> None:
    """A 2025-era client that subscribes gets resources/updated when its job changes, and list_changed."""
    updated: list[str] = []
    list_changed = anyio.Event()
    done = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            updated.append(str(message.params.uri))
            done.set()
        elif isinstance(message, ResourceListChangedNotification):
            list_changed.set()

    async with Client(server, mode="legacy", message_handler=on_message) as client:
        caps = client.server_capabilities.resources
        assert caps is not None and caps.subscribe and caps.list_changed
        served.sandbox.clock.speed = 0  # nothing changes before we subscribe
        run = await start_run(client, served)
        await client.subscribe_resource(run["resource_uri"])
        served.sandbox.clock.speed = 300
        with anyio.fail_after(20):
            await done.wait()
            await list_changed.wait()
    assert run["resource_uri"] in updated


async def test_modern_listen_receives_updates(server: MosaicServer, served: RunningSandbox) -> None:
    """A 2026-07-28 client listening on a job's URI gets ResourceUpdated, and list changes."""
    async with Client(server, mode="auto") as client:
        async with client.listen(resources_list_changed=True) as sub:
            run = await start_run(client, served)
            with anyio.fail_after(20):
                async for event in sub:
                    if isinstance(event, ResourcesListChanged):
                        break
        async with client.listen(resource_subscriptions=[run["resource_uri"]]) as sub:
            with anyio.fail_after(20):
                async for event in sub:
                    if isinstance(event, ResourceUpdated):
                        assert event.uri == run["resource_uri"]
                        break


async def test_closing_one_connection_leaves_the_others_resources(
    server: MosaicServer, served: RunningSandbox, mode: str
) -> None:
    """With two connections to one server, closing one leaves the other's resources/list and reads intact."""
    async with Client(server, mode=mode) as staying:  # type: ignore[arg-type]
        async with Client(server, mode=mode) as leaving:  # type: ignore[arg-type]
            run = await start_run(leaving, served)
        listed = {r.uri for r in (await staying.list_resources()).resources}
        assert run["resource_uri"] in listed
        index = (await staying.read_resource("mosaic://jobs")).contents[0]
        assert isinstance(index, TextResourceContents)
        assert run["job_id"] in {j["job_id"] for j in json.loads(index.text)}
        body = (await staying.read_resource(run["resource_uri"])).contents[0]
        assert isinstance(body, TextResourceContents)
        assert json.loads(body.text)["job_id"] == run["job_id"]
