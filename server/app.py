"""`create_server(settings)`: the composition root that builds the MCP server, its lifespan, its
job resources and HTTP routes, and registers the tools (docs/ARCHITECTURE.md).

The lifespan owns everything with a life of its own: the API clients, the journal, the poller and
reconciler tasks, the fan-out to other replicas (PostgreSQL deployments) and, in sandbox mode, the
in-process emulator. Tools reach its `Runtime` as the typed lifespan context; what has no request
context (`resources/list`, the jobs index, webhook deliveries) asks the server's `Connections`,
built here once per server.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
import httpx2
from mcp.server import MCPServer
from mcp.server.apps import Apps
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.types import CallToolResult, InputRequiredResult, Resource, Tool
from pydantic import AnyUrl, SecretStr

from ..tools import build_tools
from . import __version__
from .api.mosaic import MosaicClient
from .api.motion import MotionClient
from .api.transport import DEFAULT_TIMEOUT, RetryPolicy
from .arguments import closed_schema, unknown_names, unknown_names_message
from .completions import register_completions
from .config import REMOTE_NEEDS_SEAL, ConfigurationError, Settings, key_fingerprint
from .database import Database, migrate
from .jobs.clock import SYSTEM_CLOCK, Clock
from .jobs.fanout import Change, Fanout, OnWake, fanout_for
from .jobs.journal import JobRecord, Journal
from .jobs.keystore import KeyStore
from .jobs.leases import LEASES_SCHEMA, DatabaseLeases, Leases, LocalLeases
from .jobs.notify import Notifier
from .jobs.poller import Poller, PollTiming
from .jobs.reconcile import Reconciler
from .jobs.service import JobService
from .jobs.snapshot import JOBS_INDEX_URI, JobKind
from .jobs.starts import Starts
from .logbridge import LogBridge
from .oauth import OAuthMode
from .prompts import register_prompts
from .remote import Clients, People, PersonPoller, PersonReconciler
from .runtime import Connections, NoPersonError, Runtime
from .schemas import published
from .storage import SharedDatabase
from .tasks import Tasks
from .transfer.downloads import remove_stale_parts_on_start
from .usecases import CARD_URI, card_csp, card_html
from .webhooks import register_http_routes

log = logging.getLogger("mosaic_mcp")

SANDBOX_MOSAIC_KEY = "mk_sandbox_local"
SANDBOX_MOTION_KEY = "motion_sandbox_local"

INSTRUCTIONS = """\
Make and edit videos with Mosaic. Mosaic agents are saved graphs of tiles (captions, reframe, clips,
avatars, generation…) run on input videos: list_agents → get_agent (see its Video Input tiles and
parameters) → run_agent. Mosaic Motion makes a video from a prompt: create_video_session, then
followup_video_session for revisions. Jobs take minutes: every job-starting tool returns a job_id
at once; follow it with poll_job(job_id, wait_seconds=30) (repeat while it is not settled), or read
the resource mosaic://runs/{id} / motion://sessions/{id}. Starting jobs spends credits; check_credits
shows the balance."""


REMOTE_INSTRUCTIONS = """

This server runs remotely for many people, each with their own keys and jobs. Its disk is not
yours: there is no upload_file or download_output, and local paths (files=, video_inputs[].files,
attachments[].path) are refused. Pass inputs by URL (video_urls, attachments[].url); a finished
job's outputs are links to open or save. Each person may start a limited number of jobs a minute."""


class MosaicServer(MCPServer[Runtime]):
    """MCPServer whose `resources/list` also lists the tracked jobs, newest first, and whose tools
    take only the arguments their schemas name (`arguments.py`)."""

    list_limit = 100
    oauth: OAuthMode | None = None
    """MOSAIC_MCP_AUTH=oauth: the sign-in server, whose `person` resolves each HTTP request's person."""
    notifier: Notifier | None = None
    """The change notifier (`create_server` sets it): cluster mode's session streams listen to it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections = Connections()
        """The runtimes of the lifespans running now (one per in-memory `Client`)."""
        self.database: SharedDatabase | None = None
        """MOSAIC_MCP_DATABASE_URL: the one PostgreSQL pool of the journal, the key store and the OAuth store."""
        self.people: People | None = None
        """Remote modes (MOSAIC_MCP_AUTH keys or oauth), while the lifespan runs: each person's keys and runtime."""
        self._published: dict[
            str, tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any], dict[str, Any] | None]
        ] = {}
        """Per tool: its registered input and output schemas, and what tools/list publishes of them."""

    async def list_tools(self) -> list[Tool]:
        """Every tool, its input schema closed to arguments it does not name, both schemas lean (`schemas.py`).

        The lean schemas are built once per tool and kept while the tool's registered schemas stay equal."""
        return [self._lean(t) for t in await super().list_tools()]

    def _lean(self, tool: Tool) -> Tool:
        """`tool` with its published schemas, from the cache when its registered schemas have not changed."""
        cached = self._published.get(tool.name)
        if cached is None or cached[0] != tool.input_schema or cached[1] != tool.output_schema:  # C-speed compares
            lean_in = published(closed_schema(tool.input_schema))
            lean_out = None if tool.output_schema is None else published(tool.output_schema, output=True)
            cached = (tool.input_schema, tool.output_schema, lean_in, lean_out)
            self._published[tool.name] = cached
        return tool.model_copy(update={"input_schema": cached[2], "output_schema": cached[3]})

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Runtime, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """Refuse an argument the tool does not take, before the tool or any resolver runs."""
        known = await self._arguments_of(name)
        if known is not None and (unknown := unknown_names(arguments, known)):
            message = unknown_names_message(unknown, known, what="argument", owner=name)
            raise ToolError(f"Error executing tool {name}: {message}")
        return await super().call_tool(name, arguments, context)

    async def _arguments_of(self, name: str) -> list[str] | None:
        """The argument names in the tool's published schema; None for a tool that does not exist."""
        for tool in await super().list_tools():  # a fraction of a millisecond for every tool we have
            if tool.name == name:
                return list(tool.input_schema.get("properties", {}))
        return None

    async def list_resources(self) -> list[Resource]:
        """Static resources plus one resource per tracked job."""
        static = await super().list_resources()
        runtime = _scoped(self.connections.any())  # no request context reaches this hook (SDK)
        if runtime is None:
            return static
        return static + [_job_resource(r) for r in await runtime.jobs.recent(limit=self.list_limit)]

    async def read_resource(
        self, uri: AnyUrl | str, context: Context[Runtime, Any] | None = None
    ) -> Iterable[ReadResourceContents] | InputRequiredResult:
        """Resources as registered; the job card with its CSP as of now (the media origins seen so far)."""
        contents = await super().read_resource(uri, context)
        runtime = _scoped(context.request_context.lifespan_context if context is not None else self.connections.any())
        if str(uri) != CARD_URI or isinstance(contents, InputRequiredResult) or runtime is None:
            return contents
        csp = (await card_csp(runtime)).model_dump(by_alias=True, exclude_none=True)
        return [ReadResourceContents(c.content, c.mime_type, _with_csp(c.meta, csp)) for c in contents]


def _scoped(runtime: Runtime | None) -> Runtime | None:
    """The runtime of the current request's person (remote modes), else `runtime`; None for nobody."""
    try:
        return runtime.for_request() if runtime is not None else None
    except NoPersonError:
        return None


def _with_csp(meta: dict[str, Any] | None, csp: dict[str, Any]) -> dict[str, Any]:
    """`meta` with `ui.csp` set to `csp`."""
    meta = dict(meta or {})
    meta["ui"] = {**meta.get("ui", {}), "csp": csp}
    return meta


async def _serves(app: MosaicServer, uri: str) -> bool:
    """Whether `uri` is a resource of this server: a static one, or a tracked job's (subscriptions)."""
    if uri in {str(r.uri) for r in await MCPServer.list_resources(app)}:
        return True
    runtime = _scoped(app.connections.any())  # no request context reaches every caller (listen, subscribe)
    return runtime is not None and await runtime.jobs.serves(uri)


def _job_resource(record: JobRecord) -> Resource:
    snap = record.snapshot
    what = "Mosaic run" if record.kind == "mosaic_run" else "Motion session"
    return Resource(
        uri=snap.resource_uri,
        name=f"{record.kind}-{record.job_id}",
        title=f"{what} {record.job_id[:8]} ({snap.status})",
        description=f"{what} started through mosaic-mcp; JSON snapshot like poll_job returns.",
        mime_type="application/json",
    )


def create_server(
    settings: Settings,
    *,
    poll_timing: PollTiming | None = None,
    retry: RetryPolicy | None = None,
    http_timeout: httpx2.Timeout = DEFAULT_TIMEOUT,
) -> MosaicServer:
    """Build the MCP server for these settings (nothing starts until it runs).

    `poll_timing`, `retry` and `http_timeout` are the test switches: faster polling (and
    reconciliation), back-off without sleeping, short time-outs. Replicas share the journal, the
    leases and the fan-out through the settings' database URL (MOSAIC_MCP_DATABASE_URL) alone.
    """
    notifier = Notifier()
    log_bridge = LogBridge()  # log records as notifications/message (server/logbridge.py)
    database = SharedDatabase.from_settings(settings)  # None: the SQLite files in MOSAIC_MCP_HOME

    @asynccontextmanager
    async def lifespan(server: MCPServer[Runtime]) -> AsyncIterator[Runtime]:
        async with AsyncExitStack() as stack:
            effective, sandbox_url = await _effective_settings(settings, stack)
            await anyio.to_thread.run_sync(remove_stale_parts_on_start, effective)  # never raises
            mosaic = MosaicClient.from_settings(effective, retry=retry, timeout=http_timeout)
            stack.push_async_callback(mosaic.aclose)
            motion = MotionClient.from_settings(effective, retry=retry, timeout=http_timeout)
            stack.push_async_callback(motion.aclose)
            clock = SYSTEM_CLOCK  # one clock for the whole job layer
            fanout = fanout_for(_database_url(effective))  # the other replicas (or nobody)
            stack.push_async_callback(fanout.aclose)
            _hear_peers(fanout, notifier, peer_wake)
            shared = await stack.enter_async_context(database.use()) if database is not None else None
            journal = Journal(shared or effective.journal_path, clock=clock)
            stack.push_async_callback(journal.close)
            timing = poll_timing or PollTiming(initial=effective.poll_interval_seconds)
            leases = await _leases(shared, stack, clock, timing)  # no shared database: this process holds all
            people = _people(
                effective, journal, notifier, stack, clock, sandbox_url, retry, http_timeout, fanout, shared, leases
            )
            jobs, starts, reconciler = _jobs_layer(
                effective, mosaic, motion, journal, notifier, timing, clock, people, fanout, leases
            )
            for_person = people.runtime_for if people is not None else None
            runtime = Runtime(effective, mosaic, motion, jobs, starts, notifier, sandbox_url, for_person)
            if people is None:  # remote modes: one person's records never reach another's client (stderr only)
                await stack.enter_async_context(log_bridge.serving(runtime))  # before the tasks that log
            task_group = await stack.enter_async_context(anyio.create_task_group())
            await task_group.start(notifier.run)  # sends 2025-era notifications off the poller's path
            await task_group.start(fanout.run)  # hears the other replicas (listening before the poller starts)
            await task_group.start(jobs.poller.run)
            await task_group.start(reconciler.run)
            if people is not None:
                await task_group.start(people.maintain)
            app.people = people
            task_group.start_soon(_prune_journal, journal, effective.retention_days)
            try:
                with app.connections.open(runtime):
                    yield runtime
            finally:
                app.people = None
                task_group.cancel_scope.cancel()  # stop polling before the clients close

    oauth = (
        OAuthMode.from_settings(settings, lambda: _current_settings(app, settings), database=database)
        if settings.auth_mode == "oauth"
        else None
    )
    app = MosaicServer(
        "mosaic-mcp",
        title="Mosaic video editing",
        version=__version__,
        instructions=INSTRUCTIONS + (REMOTE_INSTRUCTIONS if settings.remote else ""),
        lifespan=lifespan,
        subscriptions=notifier.bus,
        log_level="WARNING",
        extensions=[Tasks(), _apps()],  # MCP tasks for job-starting tools (tasks.py); the job card (MCP Apps)
        tools=build_tools(settings).tools,
        **(oauth.server_options() if oauth else {}),
    )
    app.database = database
    app.notifier = notifier
    if oauth is not None:
        app.oauth = oauth

        async def forget_sealed_keys(person_id: str) -> None:  # sign-out also drops what the poller sealed
            if app.people is not None:
                await app.people.forget(person_id)

        oauth.pages.on_signout = forget_sealed_keys
        for route in oauth.routes():
            app.custom_route(route.path, methods=sorted(route.methods or ()))(route.endpoint)
    notifier.install(app, serves=lambda uri: _serves(app, uri))
    log_bridge.install(app)
    register_prompts(app, settings)
    register_completions(app)
    _register_resources(app)
    peer_wake = register_http_routes(app, settings, app.connections)
    return app


def _current_settings(app: MosaicServer, configured: Settings) -> Settings:
    """The settings the API clients use now: in sandbox mode, with the emulator's URLs."""
    runtime = app.connections.any()
    return runtime.settings if runtime is not None else configured


async def _prune_journal(journal: Journal, retention_days: float) -> None:
    """Remove settled jobs past the retention (MOSAIC_MCP_RETENTION_DAYS) once per start, in the background."""
    try:
        await journal.prune(retention_days)
    except journal.errors as exc:  # a busy or read-only journal: keep serving, try again on the next start
        log.warning("could not prune the job journal in %s: %s", journal.where, exc)


def _database_url(settings: Settings) -> str | None:
    """The PostgreSQL database the replicas share (MOSAIC_MCP_DATABASE_URL), if the settings name one."""
    return settings.database_url.get_secret_value() if settings.database_url is not None else None


def _hear_peers(fanout: Fanout, notifier: Notifier, peer_wake: OnWake) -> None:
    """What other replicas report reaches this one's subscribers (both generations) and pollers."""

    async def changed(uris: list[str]) -> None:
        await notifier.changed(uris)

    async def added(scope: str, job_id: str, new: bool) -> None:
        if new:
            await notifier.list_changed()

    async def reset() -> None:  # peers' messages may have been lost: the index, and the set of jobs, may have changed
        await notifier.list_changed()
        await notifier.changed([JOBS_INDEX_URI])

    fanout.on_changed.append(changed)
    fanout.on_job_added.append(added)
    fanout.on_wake.append(peer_wake)
    fanout.on_reset.append(reset)


def _jobs_layer(
    settings: Settings,
    mosaic: MosaicClient,
    motion: MotionClient,
    journal: Journal,
    notifier: Notifier,
    timing: PollTiming,
    clock: Clock,
    people: People | None = None,
    fanout: Fanout | None = None,
    leases: Leases | None = None,
) -> tuple[JobService, Starts, Reconciler]:
    """The job service (with its poller), the write-ahead starts and the reconciler, wired together.

    With `people` (remote modes) the poller reads each job with its owner's stored key. With
    `fanout`, the other replicas hear of every change and every start. With shared `leases` the
    poller follows only the scopes it holds (token mode: it claims its keys' fingerprints); a job
    added by a peer in a scope held here is adopted at once, and a job tracked here whose scope a
    peer holds is woken there.
    """
    fanout = fanout or Fanout()
    leases = leases or LocalLeases()
    fingerprints: dict[JobKind, str] = {
        "mosaic_run": key_fingerprint(settings.mosaic_api_key),
        "motion_session": key_fingerprint(settings.motion_api_key),
    }

    async def wake_holder(record: JobRecord) -> None:  # e.g. someone waits on it here: the holder polls it briskly
        await fanout.wake(record.job_id)

    async def on_changes(records: Iterable[JobRecord]) -> None:  # a cycle's changes: each job, the index once
        records = list(records)
        await notifier.changed([*(r.snapshot.resource_uri for r in records), JOBS_INDEX_URI])
        await fanout.changed([Change(r.job_id, r.snapshot.resource_uri) for r in records])

    poller: Poller
    if people is None:
        poller = Poller(
            journal,
            mosaic=mosaic,
            motion=motion,
            on_changes=on_changes,
            timing=timing,
            clock=clock,
            leases=leases,
            scopes=fingerprints.values(),
            on_not_held=wake_holder,
        )
    else:
        poller = PersonPoller(
            journal,
            people.keystore,
            people.clients,
            on_changes=on_changes,
            timing=timing,
            clock=clock,
            leases=leases,
            on_not_held=wake_holder,
        )
        people.poller = poller
    if leases.shared:

        async def adopt_if_held(scope: str, job_id: str, new: bool) -> None:  # a peer started a job of our scope
            if poller.holds(scope):
                poller.adopt_now()

        fanout.on_job_added.append(adopt_if_held)
    jobs = JobService(journal, poller, notifier, fingerprints, clock=clock, mosaic=mosaic, fanout=fanout)
    starts = Starts(journal, jobs, mosaic, motion, fingerprints, clock=clock)
    starts.replica = leases.replica if leases.shared else None
    if people is not None:  # remote modes: people's unfinished starts too, each with its owner's sealed key
        return jobs, starts, PersonReconciler(journal, jobs, starts, people, every=timing.adopt_every, clock=clock)
    return jobs, starts, Reconciler(journal, jobs, starts, every=timing.adopt_every, clock=clock, leases=leases)


async def _leases(database: Database | None, stack: AsyncExitStack, clock: Clock, timing: PollTiming) -> Leases:
    """Poll leases: in the shared database when there is one (released on a clean shutdown), else this process's."""
    if database is None:
        return LocalLeases()
    await database.run(lambda sql: migrate(sql, LEASES_SCHEMA))
    leases = DatabaseLeases(database, clock=clock, lease_seconds=timing.lease_seconds)
    stack.push_async_callback(leases.release)  # runs after the task group (entered later) stopped the poller
    return leases


def _people(
    settings: Settings,
    journal: Journal,
    notifier: Notifier,
    stack: AsyncExitStack,
    clock: Clock,
    sandbox_url: str | None,
    retry: RetryPolicy | None,
    timeout: httpx2.Timeout,
    fanout: Fanout,
    database: SharedDatabase | None = None,
    leases: Leases | None = None,
) -> People | None:
    """Remote modes only: people's sealed keys (in the journal's database), their clients and runtimes."""
    if not settings.remote:
        return None
    if settings.secret_key is None:  # serve_http refuses this before anything starts; here for in-memory use
        raise ConfigurationError(REMOTE_NEEDS_SEAL.format(mode=settings.auth_mode))
    keystore = KeyStore(database or settings.journal_path, settings.secret_key, clock=clock)
    stack.push_async_callback(keystore.close)
    clients = Clients(settings, retry=retry, timeout=timeout, clock=clock)
    return People(
        settings,
        journal,
        keystore,
        clients,
        notifier,
        clock=clock,
        sandbox_url=sandbox_url,
        fanout=fanout,
        leases=leases,
    )


async def _effective_settings(settings: Settings, stack: AsyncExitStack) -> tuple[Settings, str | None]:
    """In sandbox mode, start the emulator and point both clients (with sandbox keys) at it."""
    if not settings.sandbox:
        return settings, None
    from .sandbox import Sandbox, config_from_env, serve_sandbox  # heavy, only here: keep it off the stdio path

    config = config_from_env()  # MOSAIC_SANDBOX_* variables, as for `mosaic-mcp sandbox`
    if config.state_dir is None:  # the emulated account outlives the process, like a real one
        config.state_dir = str(settings.home.expanduser() / "sandbox")
    running = await stack.enter_async_context(serve_sandbox(Sandbox(config)))
    log.warning("sandbox mode: both APIs are emulated at %s (no real credits are used)", running.mosaic_base_url)
    effective = settings.model_copy(
        update={
            "mosaic_api_base_url": running.mosaic_base_url,
            "motion_api_base_url": running.motion_base_url,
            "mosaic_api_key": SecretStr(SANDBOX_MOSAIC_KEY),
            "motion_api_key": SecretStr(SANDBOX_MOTION_KEY),
        }
    )
    return effective, running.mosaic_base_url


def _apps() -> Apps:
    """MCP Apps: the job card view (its CSP is filled in when it is read, `MosaicServer.read_resource`)."""
    apps = Apps()
    apps.add_html_resource(
        CARD_URI,
        card_html(),
        name="job-card",
        title="Job card",
        description="A live card for a Mosaic run or Motion video: progress, preview, player, save and cancel.",
        prefers_border=True,
    )
    return apps


def _register_resources(app: MosaicServer) -> None:
    async def read_job(job_id: str, ctx: Context[Runtime, Any]) -> str:
        jobs = ctx.request_context.lifespan_context.for_request().jobs
        record = await jobs.journal.get(job_id)
        if record is None or not jobs.owns(record):
            raise ResourceNotFoundError(f"no tracked job {job_id}")
        return record.snapshot.model_dump_json(indent=2)

    @app.resource(
        "mosaic://runs/{run_id}",
        name="mosaic-run",
        title="Mosaic run",
        description="A Mosaic agent run tracked by this server: status, progress, outputs (JSON).",
        mime_type="application/json",
    )
    async def run_resource(run_id: str, ctx: Context[Runtime, Any]) -> str:
        return await read_job(run_id, ctx)

    @app.resource(
        "motion://sessions/{job_id}",
        name="motion-session",
        title="Motion session",
        description="A Motion prompt-to-video session tracked by this server: status and download (JSON).",
        mime_type="application/json",
    )
    async def session_resource(job_id: str, ctx: Context[Runtime, Any]) -> str:
        return await read_job(job_id, ctx)

    @app.resource(
        JOBS_INDEX_URI,
        name="jobs",
        title="Tracked jobs",
        description="Every job this server tracks for the configured keys, newest first (JSON).",
        mime_type="application/json",
    )
    async def jobs_index() -> str:
        runtime = _scoped(app.connections.any())  # a static resource takes no request context (SDK)
        records = await runtime.jobs.recent(limit=app.list_limit) if runtime else []
        return json.dumps([r.snapshot.model_dump(mode="json") for r in records], indent=2)
