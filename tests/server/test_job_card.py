"""The job card (MCP Apps): tools link to it, it reads as an app with a CSP of exactly the media origins
seen, the app-only tool feeds it, and clients without Apps read the same text as before."""

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.extension import ClientExtension
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.types import TextContent, TextResourceContents

from mosaic_mcp.server.app import create_server
from mosaic_mcp.server.config import ConfigurationError, Settings, load_settings
from mosaic_mcp.server.jobs.journal import JobRecord, Journal
from mosaic_mcp.server.jobs.snapshot import JobOutput, JobSnapshot, pending_snapshot
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID
from mosaic_mcp.server.usecases import CARD_NOTE, CARD_URI, card_html

from ..support import FAST_POLLING, VIDEO, call_ok, sandbox_settings

pytestmark = pytest.mark.anyio

CARD_TOOLS = ("run_agent", "create_video_session", "followup_video_session", "poll_job")


class AppsHost(ClientExtension):
    """What a host that renders MCP Apps declares."""

    identifier = EXTENSION_ID

    def settings(self) -> dict[str, Any]:
        """The one MIME type the spec defines."""
        return {"mimeTypes": [APP_MIME_TYPE]}


@asynccontextmanager
async def connect(settings: Settings, mode: str, *, apps: bool) -> AsyncIterator[Client]:
    """An in-memory client of a fresh server, declaring MCP Apps or not."""
    server = create_server(settings, poll_timing=FAST_POLLING)
    extensions = [AppsHost()] if apps else None
    async with Client(server, mode=mode, extensions=extensions) as client:  # type: ignore[arg-type]
        yield client


async def follow(client: Client, job_id: str) -> dict[str, Any]:
    """poll_job until the job is settled; its last snapshot."""
    with anyio.fail_after(30):
        while True:
            snap = await call_ok(client, "poll_job", {"job_id": job_id, "wait_seconds": 5})
            if snap["settled"]:
                return snap


async def card_resource(client: Client) -> TextResourceContents:
    """The card as `resources/read` returns it."""
    contents = (await client.read_resource(CARD_URI)).contents
    assert len(contents) == 1 and isinstance(contents[0], TextResourceContents)
    return contents[0]


async def csp_domains(client: Client) -> list[str]:
    """`_meta.ui.csp.resourceDomains` of the card."""
    meta = (await card_resource(client)).meta or {}
    return list(meta["ui"]["csp"]["resourceDomains"])


def origin(served: RunningSandbox) -> str:
    """The sandbox's origin, as a CSP lists it."""
    return served.mosaic_base_url.rstrip("/")


async def test_job_tools_link_the_card_and_the_refresh_tool_is_app_only(client: Client) -> None:
    """The four job tools carry `_meta.ui.resourceUri` and ChatGPT's alias; refresh_job_card is app-only."""
    tools = {t.name: t for t in (await client.list_tools()).tools}
    for name in CARD_TOOLS:
        meta = tools[name].meta or {}
        assert meta["ui"] == {"resourceUri": CARD_URI}, name
        assert meta["openai/outputTemplate"] == CARD_URI, name
    assert (tools["refresh_job_card"].meta or {})["ui"] == {"resourceUri": CARD_URI, "visibility": ["app"]}
    others = [n for n, t in tools.items() if "ui" in (t.meta or {}) and n not in (*CARD_TOOLS, "refresh_job_card")]
    assert others == []


async def test_card_reads_as_one_self_contained_app(client: Client) -> None:
    """The card is `text/html;profile=mcp-app`, listed, bordered, and loads no code or style from anywhere."""
    card = await card_resource(client)
    assert card.mime_type == APP_MIME_TYPE
    assert card.text == card_html()
    assert (card.meta or {})["ui"]["prefersBorder"] is True
    listed = [r for r in (await client.list_resources()).resources if r.uri == CARD_URI]
    assert listed and listed[0].mime_type == APP_MIME_TYPE
    html = card.text.lower()
    assert "<script" in html
    for outside in ("<script src", "<link", "@import", "fetch(", "xmlhttprequest", "websocket", "http://", "https://"):
        assert outside not in html, outside


async def test_csp_lists_exactly_the_media_origins_seen(client: Client, served: RunningSandbox) -> None:
    """Before any job the card allows no media origin; after a run and a video, exactly the sandbox's."""
    assert await csp_domains(client) == []
    run = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
    await follow(client, run["job_id"])
    session = await call_ok(client, "create_video_session", {"prompt": "A launch video", "mode": "light"})
    await follow(client, session["job_id"])
    assert await csp_domains(client) == [origin(served)]


async def test_csp_adds_the_configured_origins(served: RunningSandbox, tmp_path: Path, mode: str) -> None:
    """MOSAIC_MCP_MEDIA_ORIGINS is listed before any job, with the seen ones once there are some."""
    configured = "https://cdn.example.com, https://*.cloudfront.net/"
    settings = sandbox_settings(served, tmp_path, media_origins=configured)
    async with connect(settings, mode, apps=True) as client:
        assert await csp_domains(client) == ["https://*.cloudfront.net", "https://cdn.example.com"]
        run = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
        await follow(client, run["job_id"])
        assert await csp_domains(client) == [origin(served), "https://*.cloudfront.net", "https://cdn.example.com"]


async def test_seen_origins_are_known_from_the_first_read_after_a_restart(
    served: RunningSandbox, tmp_path: Path, mode: str
) -> None:
    """A new server on the same home lists the origins its journal saw, before any tool call."""
    settings = sandbox_settings(served, tmp_path)
    async with connect(settings, mode, apps=True) as client:
        run = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
        await follow(client, run["job_id"])
    async with connect(settings, mode, apps=True) as client:
        assert await csp_domains(client) == [origin(served)]


async def test_a_journal_from_before_the_origins_table_learns_its_origins(tmp_path: Path) -> None:
    """Opening a journal written before origins were kept fills them in from its snapshots."""
    journal = Journal(tmp_path / "jobs.sqlite3")
    snapshot = pending_snapshot("mosaic_run", "r1", "completed")
    snapshot.outputs = [JobOutput(output_id="o", video_url="https://Media.Example.com:443/v.mp4?sig=1")]
    await journal.add(_record("r1"))
    await journal.save_snapshot("r1", snapshot)
    await journal.close()
    with sqlite3.connect(tmp_path / "jobs.sqlite3") as db:  # as a file written before versions were recorded
        db.execute("DROP TABLE media_origins")
        db.execute("DROP TABLE schema_versions")
    reopened = Journal(tmp_path / "jobs.sqlite3")
    assert await reopened.media_origins() == ["https://media.example.com"]
    await reopened.close()


def _record(job_id: str) -> JobRecord:
    """A journaled run that has just started."""
    return JobRecord(job_id, "mosaic_run", "fp", pending_snapshot("mosaic_run", job_id, "running"))


async def test_sandbox_mode_lists_the_sandbox_origin_from_the_start(tmp_path: Path, mode: str) -> None:
    """With --sandbox, the in-process emulator's origin is in the CSP before any job exists."""
    settings = load_settings(sandbox=True, home=tmp_path / "home", download_dir=tmp_path / "downloads")
    async with connect(settings, mode, apps=True) as client:
        domains = await csp_domains(client)
    assert len(domains) == 1 and domains[0].startswith("http://127.0.0.1:")


@pytest.mark.parametrize("value", ["*", "https://*", "https://*.com", "https://cdn.example.com/videos", "ftp://x.org"])
def test_media_origins_refuse_anything_but_an_origin(value: str) -> None:
    """A wildcard for everything, a path or another scheme is refused, naming the variable."""
    with pytest.raises(ConfigurationError, match=r"MOSAIC_MCP_MEDIA_ORIGINS: .* is not an origin"):
        load_settings(media_origins=value)


async def test_clients_without_apps_read_unchanged_text(served: RunningSandbox, tmp_path: Path, mode: str) -> None:
    """Without MCP Apps the results say nothing of a card; with it, the handle and poll_job mention it once."""
    args = {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]}
    async with connect(sandbox_settings(served, tmp_path), mode, apps=False) as plain:
        handle = await call_ok(plain, "run_agent", args)
        assert (
            handle["next_step"]
            == f"Call poll_job('{handle['job_id']}', wait_seconds=30) to follow the run until it is settled."
        )
        result = await plain.call_tool("poll_job", {"job_id": handle["job_id"]})
        assert [c.text for c in result.content if isinstance(c, TextContent)] == [_json(result.structured_content)]
    async with connect(sandbox_settings(served, tmp_path), mode, apps=True) as host:
        handle = await call_ok(host, "run_agent", args)
        assert handle["next_step"].startswith(CARD_NOTE)
        result = await host.call_tool("poll_job", {"job_id": handle["job_id"]})
        texts = [c.text for c in result.content if isinstance(c, TextContent)]
        assert texts[-1] == CARD_NOTE and len(texts) == 2


def _json(structured: dict[str, Any] | None) -> str:
    """The snapshot's JSON text as poll_job writes it."""
    return JobSnapshot.model_validate(structured).model_dump_json(indent=2)


async def test_refresh_job_card_shows_a_run_tile_by_tile(client: Client, served: RunningSandbox) -> None:
    """The card's tool names the agent and its tiles and counts tiles done of all until the run settles."""
    served.sandbox.clock.speed = 0
    handle = await call_ok(client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": [VIDEO]})
    first = await call_ok(client, "refresh_job_card", {"job_id": handle["job_id"]})
    assert first["title"].startswith("Mosaic agent “") and first["tiles"]
    assert first["steps"] == len(first["tiles"]) and first["step"] < first["steps"]
    assert first["refresh_after_seconds"] is not None and first["refresh_after_seconds"] >= 0
    steps = [first["step"]]
    with anyio.fail_after(30):
        card = first
        while not card["job"]["settled"]:
            served.sandbox.advance(5)
            card = await call_ok(client, "refresh_job_card", {"job_id": handle["job_id"]})
            steps.append(card["step"])
    assert steps == sorted(steps) and steps[-1] == card["steps"]
    assert card["stage"].startswith("completed") and card["refresh_after_seconds"] is None
    assert card["job"]["outputs"][0]["video_url"].startswith(origin(served))


async def test_refresh_job_card_walks_the_motion_stages(client: Client, served: RunningSandbox) -> None:
    """A Motion card goes through the stages in order, rendering the MP4 included, to ready."""
    served.sandbox.clock.speed = 0
    handle = await call_ok(client, "create_video_session", {"prompt": "A launch video", "mode": "light"})
    stages: list[str] = []
    with anyio.fail_after(30):
        while True:
            card = await call_ok(client, "refresh_job_card", {"job_id": handle["job_id"]})
            if not stages or stages[-1] != card["stage"]:
                stages.append(card["stage"])
            if card["job"]["settled"]:
                break
            served.sandbox.advance(1)
    assert card["title"] == "Motion video: A launch video"
    assert stages[-2:] == ["rendering the MP4", "ready"]
    order = ["queued", "created", "running", "rendering the MP4", "ready"]
    assert [order.index(s) for s in stages] == sorted(order.index(s) for s in stages)
