"""The poller: what each cycle costs upstream, how it backs off, and when it lets go of a job."""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx2
import pytest
from pydantic import SecretStr

from mosaic_mcp.server.api.mosaic import MosaicClient
from mosaic_mcp.server.api.motion import MotionClient
from mosaic_mcp.server.api.requests import MotionSessionRequest, RunRequest
from mosaic_mcp.server.api.transport import RecordingSleep, RetryPolicy
from mosaic_mcp.server.jobs.clock import ManualClock
from mosaic_mcp.server.jobs.journal import JobRecord, Journal
from mosaic_mcp.server.jobs.poller import Poller, PollTiming
from mosaic_mcp.server.jobs.snapshot import QUARANTINED, JobKind, pending_snapshot
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import MOSAIC_KEY, MOTION_KEY, fill_disk

pytestmark = pytest.mark.anyio

VIDEO = "https://youtu.be/dQw4w9WgXcQ"
LIST_ROUTE = "/agent_runs"
GET_ROUTE = "/agent_run/{run_id}"


@pytest.fixture
async def served() -> AsyncIterator[RunningSandbox]:
    """A sandbox whose clock moves only when the test advances it."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=0))) as running:
        yield running


@pytest.fixture
async def mosaic(served: RunningSandbox) -> AsyncIterator[MosaicClient]:
    """A Mosaic client whose retries never sleep."""
    client = MosaicClient(
        api_key=SecretStr(MOSAIC_KEY), base_url=served.mosaic_base_url, retry=RetryPolicy(sleep=RecordingSleep())
    )
    yield client
    await client.aclose()


@pytest.fixture
async def motion(served: RunningSandbox) -> AsyncIterator[MotionClient]:
    """A Motion client whose retries never sleep."""
    client = MotionClient(
        api_key=SecretStr(MOTION_KEY), base_url=served.motion_base_url, retry=RetryPolicy(sleep=RecordingSleep())
    )
    yield client
    await client.aclose()


class Harness:
    """A poller over a real journal and the sandbox, recording what it announces."""

    def __init__(
        self, journal: Journal, mosaic: MosaicClient, motion: MotionClient, clock: ManualClock | None = None
    ) -> None:
        self.clock = clock or ManualClock()
        self.announced: list[str] = []
        self.journal = journal

        async def on_change(record: JobRecord) -> None:
            # Journal first, then notify: the change must already be readable.
            stored = await journal.get(record.job_id)
            assert stored is not None and stored.snapshot.fingerprint() == record.snapshot.fingerprint()
            self.announced.append(record.job_id)

        self.poller = Poller(
            journal, mosaic=mosaic, motion=motion, on_change=on_change, timing=PollTiming(), clock=self.clock
        )

    async def track(self, kind: JobKind, job_id: str) -> None:
        now = self.clock.wall()
        snapshot = pending_snapshot(kind, job_id, "running", clock=self.clock)
        record = JobRecord(job_id, kind, "fp", snapshot, created_at=now, updated_at=now, viewed_at=now)
        await self.journal.add(record)
        self.poller.track(record)


@pytest.fixture
async def harness(tmp_path: Path, mosaic: MosaicClient, motion: MotionClient) -> AsyncIterator[Harness]:
    """Journal + poller wired to the sandbox, on one clock the test moves."""
    clock = ManualClock()
    journal = Journal(tmp_path / "jobs.sqlite3", clock=clock)
    yield Harness(journal, mosaic, motion, clock)
    await journal.close()


async def start_runs(mosaic: MosaicClient, harness: Harness, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        created = await mosaic.run_agent(CAPTIONS_AGENT_ID, RunRequest(video_urls=[VIDEO]))
        await harness.track("mosaic_run", created.run_id)
        ids.append(created.run_id)
    return ids


async def test_many_live_runs_cost_one_list_page_per_cycle(
    harness: Harness, mosaic: MosaicClient, served: RunningSandbox
) -> None:
    """With more than a few live runs a cycle lists them once instead of fetching each one."""
    await start_runs(mosaic, harness, 8)
    served.sandbox.requests.clear()
    stats = await harness.poller.cycle()
    assert (stats.list_pages, stats.single_fetches) == (1, 0)
    assert served.sandbox.count("GET", LIST_ROUTE) == 1
    assert served.sandbox.count("GET", GET_ROUTE) == 0


async def test_only_finished_runs_are_fetched_one_by_one(
    harness: Harness, mosaic: MosaicClient, served: RunningSandbox
) -> None:
    """Runs that left the running list are settled from one page of the completed list, not fetched one by one."""
    run_ids = await start_runs(mosaic, harness, 6)
    await harness.poller.cycle()
    served.sandbox.advance(3600)  # every run finishes
    served.sandbox.requests.clear()
    stats = await harness.poller.cycle()
    assert (stats.list_pages, stats.single_fetches) == (2, 0)
    assert served.sandbox.count("GET", LIST_ROUTE) == 2 and served.sandbox.count("GET", GET_ROUTE) == 0
    assert harness.poller.live_count == 0
    assert set(run_ids) <= set(harness.announced)
    for run_id in run_ids:
        stored = await harness.journal.get(run_id)
        assert stored is not None and stored.snapshot.status == "completed" and stored.snapshot.outputs


async def test_few_runs_are_fetched_directly(harness: Harness, mosaic: MosaicClient, served: RunningSandbox) -> None:
    """Below the sweep threshold each due run is fetched by id, without a list request."""
    await start_runs(mosaic, harness, 2)
    served.sandbox.requests.clear()
    stats = await harness.poller.cycle()
    assert (stats.list_pages, stats.single_fetches) == (0, 2)


async def test_interval_grows_while_nothing_changes_and_resets_on_change(
    harness: Harness, mosaic: MosaicClient, served: RunningSandbox
) -> None:
    """An unchanged job is polled less and less often; a change brings it back to the first interval."""
    [run_id] = await start_runs(mosaic, harness, 1)
    await harness.poller.cycle()  # first reading: a change (pending -> real snapshot)
    intervals = []
    for _ in range(4):
        await harness.poller.cycle()
        intervals.append(harness.poller.next_poll_after(run_id))
    assert intervals == sorted(intervals) and intervals[-1] > intervals[0]
    before = len(harness.announced)
    with anyio.fail_after(10):
        while len(harness.announced) == before:  # move the API's time until the run's counts change
            served.sandbox.advance(1)
            await harness.poller.cycle()
    assert harness.poller.next_poll_after(run_id) == PollTiming().initial


async def test_a_job_nobody_asks_about_slows_to_the_idle_cap(harness: Harness, mosaic: MosaicClient) -> None:
    """Unchanged and not asked about for idle_after (on the injected wall clock), a job slows past cap to idle_cap."""
    timing = PollTiming()
    [run_id] = await start_runs(mosaic, harness, 1)

    async def steady_interval() -> float | None:
        for _ in range(20):  # the sandbox's clock is frozen: nothing changes, the interval only grows
            await harness.poller.cycle()
        return harness.poller.next_poll_after(run_id)

    assert await steady_interval() == timing.cap
    harness.clock.advance(timing.idle_after + 1)
    assert await steady_interval() == timing.idle_cap


async def test_motion_session_is_followed_until_its_download_exists(
    harness: Harness, motion: MotionClient, served: RunningSandbox
) -> None:
    """A completed Motion session stays followed until output.download_url appears."""
    accepted = await motion.create_session(MotionSessionRequest(prompt="A teaser", mode="light"))
    await harness.track("motion_session", accepted.job_id)
    served.sandbox.advance(3600)
    await harness.poller.cycle()
    first = await harness.journal.get(accepted.job_id)
    assert first is not None and first.snapshot.status == "completed"
    assert not first.snapshot.settled and harness.poller.live_count == 1
    await harness.poller.cycle()
    done = await harness.journal.get(accepted.job_id)
    assert done is not None and done.snapshot.settled and done.snapshot.download_ready
    assert harness.poller.live_count == 0


async def test_unknown_job_stops_being_polled(harness: Harness) -> None:
    """A job the service answers 404 for is settled as not_found instead of polled forever."""
    await harness.track("mosaic_run", "00000000-0000-4000-8000-00000000dead")
    await harness.poller.cycle()
    stored = await harness.journal.get("00000000-0000-4000-8000-00000000dead")
    assert stored is not None and stored.snapshot.status == "not_found" and stored.snapshot.settled
    assert harness.poller.live_count == 0


async def test_rate_limit_postpones_the_job_by_retry_after(
    harness: Harness, mosaic: MosaicClient, served: RunningSandbox
) -> None:
    """A 429 that outlasts the client's retries delays that job's next poll by Retry-After."""
    [run_id] = await start_runs(mosaic, harness, 1)
    served.sandbox.faults.inject("rate_limit", method="GET", path=GET_ROUTE, times=10, retry_after=17)
    await harness.poller.cycle()
    assert harness.poller.next_poll_after(run_id) == 17.0


@asynccontextmanager
async def following(
    tmp_path: Path, answer: Callable[[httpx2.Request], httpx2.Response], run_ids: list[str]
) -> AsyncIterator[Harness]:
    """A harness following `run_ids` of a stand-in API that answers with `answer`."""
    mosaic = MosaicClient(api_key=SecretStr(MOSAIC_KEY), transport=httpx2.MockTransport(answer))
    journal = Journal(tmp_path / "jobs.sqlite3")
    harness = Harness(journal, mosaic, MotionClient(api_key=None))
    for run_id in run_ids:
        await harness.track("mosaic_run", run_id)
    try:
        yield harness
    finally:
        await journal.close()
        await mosaic.aclose()


async def test_a_finished_run_in_the_sweep_is_read_whole(tmp_path: Path) -> None:
    """If the list answers with a finished run (say the API ignored status=running), the run is
    fetched whole, so needs_credits — which summaries lack — is not lost."""
    run_ids = [f"run-{i}" for i in range(5)]

    def answer(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/agent_runs":
            summaries = [{"run_id": r, "status": "failed", "node_status_counts": {"failed": 1}} for r in run_ids]
            return httpx2.Response(200, json={"runs": summaries, "next_cursor": None})
        return httpx2.Response(200, json={"status": "failed", "needs_credits": True, "errors": []})

    async with following(tmp_path, answer, run_ids) as harness:
        stats = await harness.poller.cycle()
        assert (stats.list_pages, stats.single_fetches) == (1, len(run_ids))
        stored = await harness.journal.get("run-0")
        assert stored is not None and stored.snapshot.needs_credits and stored.snapshot.settled


OUTPUT = {"id": "out-1", "video_url": "https://cdn.example/v.mp4"}


class FinishedRuns:
    """An API listing `running` runs as running and `completed` ones as completed (those in `bare`
    without their outputs, which only GET /agent_run/{id} shows); our other runs failed for lack of
    credits (seen whole only at GET /agent_run/{id})."""

    def __init__(self, running: list[str], completed: list[str], bare: tuple[str, ...] = ()) -> None:
        self.running = running
        self.completed = completed
        self.bare = bare
        self.paths: list[str] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.paths.append(f"{request.url.path}?{request.url.params.get('status', '')}")
        if request.url.path == "/agent_runs":
            if request.url.params.get("status") != "completed":
                summaries = [{"run_id": r, "status": "running"} for r in self.running]
                return httpx2.Response(200, json={"runs": summaries, "next_cursor": None})
            summaries = [
                {"run_id": r, "status": "completed", "outputs": [] if r in self.bare else [OUTPUT]}
                for r in self.completed
            ]
            return httpx2.Response(200, json={"runs": summaries, "next_cursor": None})
        if request.url.path.rsplit("/", 1)[-1] in self.completed:
            return httpx2.Response(200, json={"status": "completed", "outputs": [OUTPUT]})
        return httpx2.Response(200, json={"status": "failed", "needs_credits": True, "errors": ["no credits"]})


@pytest.mark.parametrize(("running", "lists", "singles"), [(0, 2, 3), (5, 1, 3)], ids=["many-left", "few-left"])
async def test_runs_that_left_the_running_list(tmp_path: Path, running: int, lists: int, singles: int) -> None:
    """More than a few runs that left the running list are looked up in the completed list: the completed
    ones settle from their summary, the rest (failed: needs_credits) are fetched whole; a few are just fetched."""
    run_ids = [f"run-{i}" for i in range(8)]
    api = FinishedRuns(run_ids[:running], run_ids[running:5])
    async with following(tmp_path, api, run_ids) as harness:
        stats = await harness.poller.cycle()
        assert (stats.list_pages, stats.single_fetches) == (lists, singles)
        assert api.paths.count("/agent_runs?completed") == lists - 1
        assert harness.poller.live_count == running
        for run_id in run_ids[running:]:
            stored = await harness.journal.get(run_id)
            assert stored is not None and stored.snapshot.settled
            if run_id in api.completed:
                assert stored.snapshot.status == "completed" and stored.snapshot.outputs[0].video_url
            else:
                assert stored.snapshot.status == "failed" and stored.snapshot.needs_credits


async def test_a_completed_summary_without_outputs_is_read_whole(tmp_path: Path) -> None:
    """A completed run listed without outputs (an API whose list leaves them out) is fetched whole, never
    settled with none: only then does download_output find its video."""
    run_ids = [f"run-{i}" for i in range(8)]
    async with following(tmp_path, FinishedRuns([], run_ids, bare=("run-0", "run-1")), run_ids) as harness:
        stats = await harness.poller.cycle()
        assert (stats.list_pages, stats.single_fetches) == (2, 2)
        for run_id in run_ids:
            stored = await harness.journal.get(run_id)
            assert stored is not None and stored.snapshot.status == "completed" and stored.snapshot.outputs


@pytest.mark.parametrize("bad_id", ["a/b", "r" * 201], ids=["slash", "too-long"])
async def test_a_job_whose_id_cannot_be_used_is_quarantined(
    harness: Harness, mosaic: MosaicClient, bad_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A journaled job whose id cannot go into a URL is settled as quarantined with a note; the others go on."""
    [good] = await start_runs(mosaic, harness, 1)
    await harness.track("mosaic_run", bad_id)
    with caplog.at_level(logging.INFO, logger="mosaic_mcp"):
        await harness.poller.cycle()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("stopped following job" in r.getMessage() for r in warnings)
    assert not any(r.exc_info for r in caplog.records if r.levelno >= logging.INFO)  # no traceback at info
    stored = await harness.journal.get(bad_id)
    assert stored is not None and stored.snapshot.status == QUARANTINED and stored.snapshot.settled
    assert "id cannot be used" in stored.snapshot.errors[0]
    assert "may still exist" in stored.snapshot.next_step
    assert harness.poller.followed(good) is not None and harness.poller.live_count == 1
    assert {good, bad_id} <= set(harness.announced)


async def test_a_poisoned_row_among_many_live_runs_does_not_stop_the_sweep(
    harness: Harness, mosaic: MosaicClient, served: RunningSandbox
) -> None:
    """With enough live runs to sweep, an unusable id is quarantined and the other runs still settle."""
    run_ids = await start_runs(mosaic, harness, 4)
    await harness.track("mosaic_run", "a/b")
    served.sandbox.advance(3600)
    await harness.poller.cycle()
    assert harness.poller.live_count == 0
    for run_id in run_ids:
        stored = await harness.journal.get(run_id)
        assert stored is not None and stored.snapshot.status == "completed"
    poisoned = await harness.journal.get("a/b")
    assert poisoned is not None and poisoned.snapshot.status == QUARANTINED


async def test_a_missing_run_list_falls_back_to_polling_each_run(
    harness: Harness, mosaic: MosaicClient, served: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """When GET /agent_runs answers 404 the runs are polled one by one, and the list is not asked again."""
    run_ids = await start_runs(mosaic, harness, 5)
    echo = {"detail": f"no route for key {MOSAIC_KEY}"}  # an upstream that echoes the key
    served.sandbox.faults.inject("status", method="GET", path=LIST_ROUTE, status=404, times=100, body=echo)
    served.sandbox.requests.clear()
    with caplog.at_level(logging.DEBUG, logger="mosaic_mcp"):
        stats = await harness.poller.cycle()
    assert "not offered" in caplog.text and MOSAIC_KEY not in caplog.text
    assert (stats.list_pages, stats.single_fetches) == (0, len(run_ids))
    served.sandbox.advance(3600)
    stats = await harness.poller.cycle()
    assert (stats.list_pages, stats.single_fetches) == (0, len(run_ids))
    assert served.sandbox.count("GET", LIST_ROUTE) == 1
    assert harness.poller.live_count == 0 and set(run_ids) <= set(harness.announced)
    for run_id in run_ids:
        stored = await harness.journal.get(run_id)
        assert stored is not None and stored.snapshot.status == "completed"


@pytest.mark.parametrize("kind", ["server_error", "malformed"])
async def test_a_failing_run_list_falls_back_then_pauses_sweeping(
    harness: Harness, mosaic: MosaicClient, served: RunningSandbox, kind: str
) -> None:
    """Each failed sweep polls the due runs singly; after a few in a row the list is left alone for a while."""
    run_ids = await start_runs(mosaic, harness, 5)
    served.sandbox.faults.inject(kind, method="GET", path=LIST_ROUTE, times=1000)  # type: ignore[arg-type]
    timing = PollTiming()
    for _ in range(timing.sweep_failures_to_pause):
        stats = await harness.poller.cycle()
        assert stats.single_fetches == len(run_ids)
    served.sandbox.requests.clear()
    stats = await harness.poller.cycle()
    assert stats.single_fetches == len(run_ids) and served.sandbox.count("GET", LIST_ROUTE) == 0
    served.sandbox.faults.clear()
    harness.clock.advance(timing.sweep_pause)
    stats = await harness.poller.cycle()
    assert (stats.list_pages, stats.single_fetches) == (1, 0)


async def test_a_full_disk_keeps_changes_in_memory_until_space_is_back(
    small_disk: Path, mosaic: MosaicClient, motion: MotionClient, served: RunningSandbox
) -> None:
    """When the journal cannot be written the poller goes on, serves the change from memory, and
    writes (then announces) it on a later cycle once there is space again."""
    journal = Journal(small_disk / "jobs.sqlite3")
    harness = Harness(journal, mosaic, motion)
    run_ids = await start_runs(mosaic, harness, 2)
    served.sandbox.advance(3600)
    filler = fill_disk(small_disk)
    await harness.poller.cycle()
    assert harness.poller.unsaved_count == len(run_ids)
    assert harness.announced == []  # journal first, then notify
    for run_id in run_ids:
        stored = await journal.get(run_id)
        assert stored is not None and stored.snapshot.status == "running"
        followed = harness.poller.followed(run_id)
        assert followed is not None and followed.snapshot.status == "completed"
    await harness.poller.cycle()  # still full: tried again, still kept
    assert harness.poller.unsaved_count == len(run_ids) and harness.announced == []
    filler.unlink()
    await harness.poller.cycle()
    assert harness.poller.unsaved_count == 0 and sorted(harness.announced) == sorted(run_ids)
    for run_id in run_ids:
        stored = await journal.get(run_id)
        assert stored is not None and stored.snapshot.status == "completed" and stored.snapshot.settled
    await journal.close()


async def test_a_failing_announcement_does_not_stop_the_loop(
    tmp_path: Path, mosaic: MosaicClient, motion: MotionClient, served: RunningSandbox
) -> None:
    """An exception from the change callback is reported; the loop keeps polling and announcing."""
    journal = Journal(tmp_path / "jobs.sqlite3")
    announced: list[str] = []
    heard = {2: anyio.Event(), 4: anyio.Event()}

    async def on_change(record: JobRecord) -> None:
        announced.append(record.job_id)
        if len(announced) in heard:
            heard[len(announced)].set()
        if len(announced) == 1:
            raise RuntimeError("the first announcement fails")

    poller = Poller(
        journal, mosaic=mosaic, motion=motion, on_change=on_change, timing=PollTiming(initial=0.01, cap=0.02)
    )
    first, second = [await mosaic.run_agent(CAPTIONS_AGENT_ID, RunRequest(video_urls=[VIDEO])) for _ in range(2)]
    for created in (first, second):
        record = JobRecord(created.run_id, "mosaic_run", "fp", pending_snapshot("mosaic_run", created.run_id, "x"))
        await journal.add(record)
    async with anyio.create_task_group() as tg:
        await tg.start(poller.run)
        with anyio.fail_after(10):
            await heard[2].wait()  # both runs read; the first announcement raised
        served.sandbox.advance(3600)
        with anyio.fail_after(10):
            await heard[4].wait()  # both runs' completion announced too
        tg.cancel_scope.cancel()
    for created in (first, second):
        stored = await journal.get(created.run_id)
        assert stored is not None and stored.snapshot.status == "completed"
    await journal.close()


class RunningList:
    """A Mosaic API stand-in whose running list holds `count` runs, newest first, 100 per page (the
    finished ones are in the completed list, unless it ignores the status filter: then every list is
    the running list)."""

    def __init__(self, count: int) -> None:
        self.run_ids = [f"run-{i:05d}" for i in range(count)]
        self.finished: set[str] = set()
        self.list_fails = False
        self.ignores_status = False
        self.pages = 0
        self.gets = 0

    def answer(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path == LIST_ROUTE:
            self.pages += 1
            if self.list_fails:
                return httpx2.Response(503, json={"error": "down"})
            status = "running" if self.ignores_status else request.url.params["status"]
            listed = [r for r in reversed(self.run_ids) if (r in self.finished) == (status == "completed")]
            start = int(request.url.params.get("cursor") or 0)
            limit = int(request.url.params["limit"])
            outputs = [OUTPUT] if status == "completed" else []
            page = [
                {"run_id": r, "status": status, "node_status_counts": {"in_progress": 1}, "outputs": outputs}
                for r in listed
            ]
            more = start + limit < len(listed)
            body = {"runs": page[start : start + limit], "next_cursor": str(start + limit) if more else None}
            return httpx2.Response(200, json=body)
        self.gets += 1
        run_id = request.url.path.rsplit("/", 1)[-1]
        status = "completed" if run_id in self.finished else "running"
        return httpx2.Response(200, json={"status": status, "node_status_counts": {"in_progress": 1}})


@pytest.fixture
async def listed(tmp_path: Path) -> AsyncIterator[tuple[Harness, RunningList]]:
    """A harness following 250 live runs of a stand-in API (too many for one list page)."""
    upstream = RunningList(250)
    mosaic = MosaicClient(
        api_key=SecretStr(MOSAIC_KEY),
        transport=httpx2.MockTransport(upstream.answer),
        retry=RetryPolicy(attempts=1, sleep=RecordingSleep()),
    )
    journal = Journal(tmp_path / "jobs.sqlite3")
    harness = Harness(journal, mosaic, MotionClient(api_key=None))
    harness.poller.timing = PollTiming(sweep_max_pages=1, singles_per_cycle=20)
    for run_id in upstream.run_ids:
        await harness.track("mosaic_run", run_id)
    yield harness, upstream
    await journal.close()
    await mosaic.aclose()


async def test_the_sweep_reads_every_page_the_live_runs_fill(listed: tuple[Harness, RunningList]) -> None:
    """250 live runs are 3 list pages a cycle and no single fetches, also once nothing changes."""
    harness, upstream = listed
    first = await harness.poller.cycle()
    assert (first.list_pages, first.single_fetches, first.changed) == (3, 0, 250)
    quiet = await harness.poller.cycle()
    assert (quiet.list_pages, quiet.single_fetches, quiet.changed) == (3, 0, 0)
    assert (upstream.pages, upstream.gets) == (6, 0)


@pytest.mark.parametrize("ignores_status", [False, True], ids=["completed-list", "filter-ignored"])
async def test_only_runs_that_left_the_list_are_read_again(
    listed: tuple[Harness, RunningList], ignores_status: bool
) -> None:
    """When some runs finish, the sweep settles exactly those, from one page of the completed list
    (or, when the API ignores the status filter, from single fetches after that one page), and lets them go."""
    harness, upstream = listed
    await harness.poller.cycle()
    upstream.finished = set(upstream.run_ids[:7])
    upstream.ignores_status = ignores_status
    stats = await harness.poller.cycle()
    assert (stats.list_pages, stats.single_fetches, stats.changed) == (4, 7 if ignores_status else 0, 7)
    assert harness.poller.live_count == 243
    for run_id in upstream.run_ids[:7]:
        stored = await harness.journal.get(run_id)
        assert stored is not None and stored.snapshot.status == "completed"


async def test_one_due_run_among_many_is_fetched_alone(listed: tuple[Harness, RunningList]) -> None:
    """A woken run is one GET, not a sweep of every page, while the others are not due."""
    harness, upstream = listed
    await harness.poller.cycle()
    harness.poller.wake(upstream.run_ids[0])
    due = [e for e in harness.poller._entries.values() if e.due <= harness.clock.monotonic()]
    stats = await harness.poller.cycle(due)
    assert (stats.list_pages, stats.single_fetches) == (0, 1)


async def test_single_fetches_beyond_the_cycle_budget_are_spread(listed: tuple[Harness, RunningList]) -> None:
    """With the list down, a cycle fetches `singles_per_cycle` runs; the others wait their turn, in batches."""
    harness, upstream = listed
    upstream.list_fails = True
    stats = await harness.poller.cycle()
    assert (upstream.pages, stats.single_fetches, upstream.gets) == (1, 20, 20)
    waits = sorted(w for r in upstream.run_ids if (w := harness.poller.next_poll_after(r)) is not None)
    initial = harness.poller.timing.initial
    assert waits.count(initial) == 20 + 20  # the fetched ones, and the first batch that waits
    assert max(waits) == initial * (1 + (230 - 1) // 20)


class GatedJournal(Journal):
    """A real journal whose `live()` reads the rows, then answers only when the test lets it (an adoption in flight)."""

    def __init__(self, path: Path, clock: ManualClock) -> None:
        super().__init__(path, clock=clock)
        self.gated = False
        self.read = anyio.Event()
        self.answer = anyio.Event()

    async def live(self) -> list[JobRecord]:
        rows = await super().live()
        if self.gated:
            self.read.set()
            await self.answer.wait()
        return rows


async def test_a_job_settled_while_the_journal_is_read_is_not_adopted_again(
    tmp_path: Path, mosaic: MosaicClient, motion: MotionClient, served: RunningSandbox
) -> None:
    """A job that settles while an adoption reads the journal stays settled: its older, live row is not followed."""
    clock = ManualClock()
    journal = GatedJournal(tmp_path / "jobs.sqlite3", clock)
    harness = Harness(journal, mosaic, motion, clock)
    try:
        (run_id,) = await start_runs(mosaic, harness, 1)
        served.sandbox.advance(3600)
        journal.gated = True
        adopted = anyio.Event()
        async with anyio.create_task_group() as group:

            async def start() -> None:
                await group.start(harness.poller.run)  # started once its first adoption from the journal is done
                adopted.set()

            group.start_soon(start)
            with anyio.fail_after(10):
                await journal.read.wait()  # the live row is read ...
            record = harness.poller.followed(run_id)
            assert record is not None
            settled = await harness.poller.apply(record, await harness.poller.read(record))  # ... poll_job settles it
            assert settled.snapshot.settled
            journal.answer.set()
            with anyio.fail_after(10):
                await adopted.wait()
            assert harness.poller.followed(run_id) is None and harness.poller.live_count == 0
            group.cancel_scope.cancel()
    finally:
        await journal.close()
