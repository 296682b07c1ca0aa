"""`POST /webhooks/mosaic` as a public surface: real HTTP against the server's app, the sandbox behind it."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client

from mosaic_mcp.server.api.transport import RecordingSleep, RetryPolicy
from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.config import load_settings
from mosaic_mcp.server.jobs.poller import PollTiming
from mosaic_mcp.server.sandbox import RunningSandbox, Sandbox, SandboxConfig, serve_sandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID
from mosaic_mcp.server.sandbox.serve import serve_asgi
from mosaic_mcp.server.serve_http import build_http_app
from mosaic_mcp.server.webhooks import (
    MAX_BODY_BYTES,
    MAX_CONCURRENT_BODIES,
    MAX_JSON_DEPTH,
    RATE_BURST,
    WAKE_WINDOW_SECONDS,
    WEBHOOK_PATH,
    SourceLimiter,
    WakeDeduper,
    unsigned_public_url_warning,
)

from ..support import RUN, call_ok, sandbox_settings, sent
from ..support.processes import free_port, http_server, wait_until_listening

pytestmark = pytest.mark.anyio

QUIET_POLLING = PollTiming(initial=60.0, cap=60.0, idle_cap=60.0, adopt_every=600.0)
"""After its first poll a job is not polled again during a test unless something wakes it."""


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Served:
    """The server's HTTP app on loopback, and the sandbox it talks to."""

    server: MosaicServer
    base_url: str
    sandbox: Sandbox

    @property
    def hook(self) -> str:
        """The webhook URL."""
        return self.base_url + WEBHOOK_PATH

    def polls(self, job_id: str) -> int:
        """How many times the run has been read from the API."""
        return self.sandbox.requests.count("GET", f"/agent_run/{job_id}")

    async def start_run(self) -> str:
        """Start a run through the MCP endpoint; its job id once its first poll is done."""
        async with Client(self.base_url + "/mcp", mode="legacy") as client:
            run = await call_ok(
                client, "run_agent", {"agent_id": CAPTIONS_AGENT_ID, "video_urls": ["https://youtu.be/x"]}
            )
        assert sent(self.sandbox, RUN)[-1] == {"video_urls": ["https://youtu.be/x"]}
        await self.quiet(run["job_id"])
        return str(run["job_id"])

    async def quiet(self, job_id: str, *, polls: int = 0) -> None:
        """Wait (bounded) until the run was read `polls` times in all and no poll is due or under way."""
        runtime = self.server.connections.any()
        assert runtime is not None
        poller = runtime.jobs.poller
        with anyio.fail_after(10 + WAKE_WINDOW_SECONDS):
            while True:  # a served wake leaves the job due in a minute (QUIET_POLLING)
                if self.polls(job_id) >= polls and (poller.next_poll_after(job_id) or 0.0) >= 1.0:
                    return
                await anyio.sleep(0.01)


@pytest.fixture
async def frozen_sandbox() -> AsyncIterator[RunningSandbox]:
    """The API emulator with its clock stopped: runs stay running."""
    async with serve_sandbox(Sandbox(SandboxConfig(speed=0.0))) as running:
        yield running


@asynccontextmanager
async def serving(sandbox: RunningSandbox, folder: Path, **overrides: Any) -> AsyncIterator[Served]:
    """`serve --http`'s app, in this process on a free loopback port."""
    settings = sandbox_settings(sandbox, folder, **overrides)
    server = create_server(settings, poll_timing=QUIET_POLLING, retry=RetryPolicy(sleep=RecordingSleep()))
    async with serve_asgi(build_http_app(server, settings, host="127.0.0.1")) as port:
        yield Served(server, f"http://127.0.0.1:{port}", sandbox.sandbox)


def from_address(address: str) -> httpx2.AsyncClient:
    """An HTTP client whose connections leave from `address` (any 127.x.y.z is loopback on Linux)."""
    return httpx2.AsyncClient(transport=httpx2.AsyncHTTPTransport(local_address=address), timeout=10)


def nested(depth: int) -> bytes:
    """A delivery whose extra field nests arrays `depth` deep in all (the object itself is level 1)."""
    inner = depth - 1
    return b'{"run_id": "r-1", "x": ' + b"[" * inner + b"]" * inner + b"}"


async def test_a_flood_of_deliveries_polls_the_job_once_per_window(
    frozen_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """25 deliveries for a job in one window poll it once now and once at the window's end; others' ids never."""
    async with serving(frozen_sandbox, tmp_path) as served:
        job_id = await served.start_run()
        before, polled = len(served.sandbox.requests), served.polls(job_id)
        async with from_address("127.0.0.1") as http:
            for i in range(25):  # 50 deliveries in all: inside one source's burst, and well inside one window
                for run_id in (job_id, f"not-ours-{i}"):
                    response = await http.post(served.hook, json={"flag": "RUN_PROGRESS", "run_id": run_id})
                    assert response.status_code == 200
            await served.quiet(job_id)
            now = [r.path for r in served.sandbox.requests.records[before:]]
            await served.quiet(job_id, polls=polled + 2)  # the window is WAKE_WINDOW_SECONDS of real time
        after_window = [r.path for r in served.sandbox.requests.records[before:]]
    assert now == [f"/agent_run/{job_id}"]
    assert after_window == [f"/agent_run/{job_id}"] * 2


async def test_a_streamed_oversize_body_is_refused_unread(frozen_sandbox: RunningSandbox, tmp_path: Path) -> None:
    """A 64 MiB chunked body is refused (413, or the connection cut) after a small part of it was sent."""
    chunk = b" " * 65536
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1024):
            sent += len(chunk)
            yield chunk

    async with serving(frozen_sandbox, tmp_path) as served, from_address("127.0.0.1") as http:
        try:
            status = (await http.post(served.hook, content=body())).status_code
        except httpx2.TransportError:  # the refusal closed the connection before the client read it
            status = 413
        healthy = await http.get(served.base_url + "/healthz")
    assert status == 413
    assert sent < 16 * 1024 * 1024
    assert healthy.status_code == 200


async def test_a_declared_oversize_body_is_refused_before_it_arrives(
    frozen_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """A request declaring a 1 GB body is answered 413 at once, while none of the body has been sent."""
    async with serving(frozen_sandbox, tmp_path) as served:
        port = int(served.base_url.rsplit(":", 1)[1])
        with anyio.fail_after(5):
            async with await anyio.connect_tcp("127.0.0.1", port) as stream:
                await stream.send(
                    f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    "Content-Length: 1000000000\r\n\r\n".encode()
                )
                head = await stream.receive()
    assert head.startswith(b"HTTP/1.1 413 ")


async def test_a_chunked_body_one_byte_over_the_limit_is_refused(
    frozen_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """Sent in chunks (no Content-Length), MAX_BODY_BYTES are read and one byte more gets 413."""
    padding = b'{"run_id": "r-1", "pad": "'
    at_limit = padding + b"x" * (MAX_BODY_BYTES - len(padding) - 2) + b'"}'
    over = padding + b"x" * (MAX_BODY_BYTES - len(padding) - 1) + b'"}'

    async def chunked(body: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(body), 10_000):
            yield body[start : start + 10_000]

    async with serving(frozen_sandbox, tmp_path) as served, from_address("127.0.0.1") as http:
        ok = await http.post(served.hook, content=chunked(at_limit))
        refused = await http.post(served.hook, content=chunked(over))
    assert (len(at_limit), ok.status_code, refused.status_code) == (MAX_BODY_BYTES, 200, 413)
    assert refused.json() == {"detail": f"body larger than {MAX_BODY_BYTES} bytes"}


async def test_json_nested_10000_deep_is_a_400(
    frozen_sandbox: RunningSandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Arrays nested 10,000 deep get a short JSON 400, and nothing is logged with a traceback."""
    async with serving(frozen_sandbox, tmp_path) as served, from_address("127.0.0.1") as http:
        with caplog.at_level(logging.DEBUG):
            response = await http.post(served.hook, content=nested(10_000))
    assert response.status_code == 400
    assert response.json() == {"detail": f"JSON unbalanced or nested deeper than {MAX_JSON_DEPTH} levels"}
    assert "Traceback" not in response.text
    assert not [record for record in caplog.records if record.exc_info]


async def test_the_depth_limit_is_exact(frozen_sandbox: RunningSandbox, tmp_path: Path) -> None:
    """MAX_JSON_DEPTH levels are accepted, one more is refused (brackets inside strings do not count)."""
    deep_string = b'{"run_id": "r-1", "s": "' + b"[" * 100 + b'\\"{"}'
    async with serving(frozen_sandbox, tmp_path) as served, from_address("127.0.0.1") as http:
        statuses = [
            (await http.post(served.hook, content=body)).status_code
            for body in (nested(MAX_JSON_DEPTH), nested(MAX_JSON_DEPTH + 1), deep_string)
        ]
    assert statuses == [200, 400, 200]


@pytest.mark.parametrize(
    "body",
    [
        b'{"run_id": ["r-1"]}',
        b'{"run_id": ""}',
        b'{"run_id": "' + b"r" * 201 + b'"}',
        '{"run_id": "r-1"}'.encode("utf-16"),
    ],
    ids=["not-a-string", "empty", "too-long", "utf-16"],
)
async def test_unusable_run_ids_are_a_400(frozen_sandbox: RunningSandbox, tmp_path: Path, body: bytes) -> None:
    """A run_id that is not a string of 1-200 characters, or a body that is not UTF-8, is a 400."""
    async with serving(frozen_sandbox, tmp_path) as served, from_address("127.0.0.1") as http:
        response = await http.post(served.hook, content=body)
    assert response.status_code == 400
    assert set(response.json()) == {"detail"}


async def test_one_source_is_rate_limited_others_are_not(frozen_sandbox: RunningSandbox, tmp_path: Path) -> None:
    """Past the burst, one address gets 429 with Retry-After; another address is still served."""
    async with serving(frozen_sandbox, tmp_path) as served:
        async with from_address("127.0.0.1") as http:
            responses = [await http.post(served.hook, json={"run_id": "r-1"}) for _ in range(RATE_BURST)]
            for _ in range(RATE_BURST * 2):  # the bucket refills meanwhile: how soon it runs dry depends on speed
                responses.append(await http.post(served.hook, json={"run_id": "r-1"}))
                if responses[-1].status_code == 429:
                    break
        async with from_address("127.0.0.2") as other:
            elsewhere = await other.post(served.hook, json={"run_id": "r-1"})
    assert [r.status_code for r in responses[:RATE_BURST]] == [200] * RATE_BURST
    assert responses[-1].status_code == 429
    assert int(responses[-1].headers["Retry-After"]) >= 1
    assert elsewhere.status_code == 200


async def test_bodies_read_at_once_are_capped(frozen_sandbox: RunningSandbox, tmp_path: Path) -> None:
    """While MAX_CONCURRENT_BODIES bodies trickle in, one more delivery gets 503; then all complete."""
    release = anyio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield b'{"run_id": '
        await release.wait()
        yield b'"r-1"}'

    statuses: list[int] = []

    async def post_slowly(http: httpx2.AsyncClient, url: str) -> None:
        statuses.append((await http.post(url, content=slow_body())).status_code)

    async with (
        serving(frozen_sandbox, tmp_path) as served,
        from_address("127.0.0.1") as http,
        from_address("127.0.0.2") as probe,
        anyio.create_task_group() as tg,
    ):
        for _ in range(MAX_CONCURRENT_BODIES):
            tg.start_soon(post_slowly, http, served.hook)
        with anyio.fail_after(10):
            while True:  # until every slow body is being read
                busy = await probe.post(served.hook, json={"run_id": "r-1"})
                if busy.status_code == 503:
                    break
                await anyio.sleep(0.01)
        release.set()
    assert busy.headers["Retry-After"] == "1"
    assert statuses == [200] * MAX_CONCURRENT_BODIES


@pytest.mark.parametrize(
    "secret", ["whsec_" + "k" * 24, "  whsec_padded\n", "sécret-ü"], ids=["plain", "padded", "utf8"]
)
async def test_signature_is_required_and_checked_byte_for_byte(
    frozen_sandbox: RunningSandbox, tmp_path: Path, secret: str
) -> None:
    """With a secret, missing and wrong signatures get 401; the secret's UTF-8 bytes are accepted."""
    async with serving(frozen_sandbox, tmp_path, webhook_secret=secret) as served, from_address("127.0.0.1") as http:
        missing = await http.post(served.hook, json={"run_id": "r-1"})
        wrong = await http.post(served.hook, json={"run_id": "r-1"}, headers={"X-Mosaic-Signature": "whsec_wrong"})
        right = await http.post(
            served.hook, json={"run_id": "r-1"}, headers={"X-Mosaic-Signature": secret.strip().encode()}
        )
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)


async def test_signature_guesses_are_rate_limited(frozen_sandbox: RunningSandbox, tmp_path: Path) -> None:
    """Wrong signatures count against the source's budget: guessing runs into 429."""
    statuses: list[int] = []
    async with (
        serving(frozen_sandbox, tmp_path, webhook_secret="whsec_right") as served,
        from_address("127.0.0.1") as http,
    ):
        for guess in range(RATE_BURST * 3):
            response = await http.post(served.hook, json={"run_id": "r-1"}, headers={"X-Mosaic-Signature": f"g{guess}"})
            statuses.append(response.status_code)
            if response.status_code == 429:
                break
    assert set(statuses[:RATE_BURST]) == {401}
    assert statuses[-1] == 429


def test_wakes_are_once_per_window_per_job() -> None:
    """A job is woken now, then once at the window's end however many deliveries; other jobs are independent."""
    clock = Clock()
    deduper = WakeDeduper(window=5.0, clock=clock)
    assert [deduper.claim("a"), deduper.claim("b")] == [0.0, 0.0]
    clock.now += 1.0
    assert [deduper.claim("a"), deduper.claim("a"), deduper.claim("a")] == [4.0, None, None]
    clock.now += 4.0
    deduper.woken("a")  # the planned wake happens and opens the next window
    clock.now += 1.0
    assert [deduper.claim("a"), deduper.claim("b")] == [4.0, 0.0]


def test_a_quiet_window_plans_nothing() -> None:
    """After a window without further deliveries, the next delivery wakes the job at once again."""
    clock = Clock()
    deduper = WakeDeduper(window=5.0, clock=clock)
    assert deduper.claim("a") == 0.0
    clock.now += 5.0
    assert deduper.claim("a") == 0.0


def test_the_wake_table_is_bounded() -> None:
    """However many jobs are delivered within a window, at most max_entries are remembered."""
    deduper = WakeDeduper(window=5.0, max_entries=100, clock=Clock())
    assert all(deduper.claim(f"job-{i}") == 0.0 for i in range(1000))
    assert all(deduper.claim(f"job-{i}") == 5.0 for i in range(900, 1000))
    assert len(deduper) == 100


def test_buckets_refill_and_the_source_table_is_bounded() -> None:
    """A source spends its burst, waits what it is told, and the table keeps at most max_sources."""
    clock = Clock()
    limiter = SourceLimiter(burst=3, per_second=2.0, max_sources=10, clock=clock)
    waits = [limiter.take("10.0.0.1") for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0] and waits[3] == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.take("10.0.0.1") == 0.0
    for i in range(100):
        limiter.take(f"10.1.0.{i}")
    assert len(limiter) == 10


def test_serve_http_warns_once_about_an_unsigned_public_url(tmp_path: Path) -> None:
    """`serve --http` with a public URL and no webhook secret says so once, on stderr."""
    port = free_port()
    env = {
        "MOSAIC_MCP_HOME": str(tmp_path),
        "MOSAIC_MCP_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "MOSAIC_WEBHOOK_SECRET": "",
    }
    with http_server(env, "--sandbox", port=port) as (proc, url):
        anyio.run(wait_until_listening, url, proc)
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    assert stderr.decode().count("MOSAIC_MCP_PUBLIC_URL is set but MOSAIC_WEBHOOK_SECRET is not") == 1


def test_no_warning_with_a_secret_or_without_a_public_url(tmp_path: Path) -> None:
    """The warning is only for a public URL without a secret."""
    public = "https://mcp.example.com"
    assert unsigned_public_url_warning(load_settings(home=tmp_path, public_url=public, webhook_secret="s")) is None
    assert unsigned_public_url_warning(load_settings(home=tmp_path)) is None
    warning = unsigned_public_url_warning(load_settings(home=tmp_path, public_url=public + "/"))
    assert warning is not None and "https://mcp.example.com/webhooks/mosaic" in warning
